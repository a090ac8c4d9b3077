package peers_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/credential/internal/peers"
)

// accountsNoting keeps the NoteSecurityChange request and answers err.
type accountsNoting struct {
	accountinternalv1.AccountInternalServiceClient
	got *accountinternalv1.NoteSecurityChangeRequest
	err error
}

func (a *accountsNoting) NoteSecurityChange(_ context.Context, req *accountinternalv1.NoteSecurityChangeRequest, _ ...grpc.CallOption) (*accountinternalv1.NoteSecurityChangeResponse, error) {
	a.got = req
	if a.err != nil {
		return nil, a.err
	}
	return &accountinternalv1.NoteSecurityChangeResponse{}, nil
}

// NoteSecurityChange names the account, and the account service's
// refusals come back in the errs vocabulary, as its other calls do.
func TestAccounts_NoteSecurityChange(t *testing.T) {
	ctx := context.Background()
	c := &accountsNoting{}
	if err := peers.NewAccounts(c).NoteSecurityChange(ctx, "tenant-1", "account-1"); err != nil {
		t.Fatal(err)
	}
	if c.got.GetTenantId() != "tenant-1" || c.got.GetAccountId() != "account-1" {
		t.Fatalf("request %v, want tenant-1/account-1", c.got)
	}
	for code, kind := range map[codes.Code]errs.Kind{
		codes.NotFound:         errs.KindNotFound,
		codes.PermissionDenied: errs.KindPermissionDenied,
		codes.Unavailable:      errs.KindUnavailable,
	} {
		c := &accountsNoting{err: status.Error(code, "no")}
		if err := peers.NewAccounts(c).NoteSecurityChange(ctx, "tenant-1", "account-1"); !errs.Is(err, kind) {
			t.Errorf("%v answered as %v, want kind %v", code, err, kind)
		}
	}
}
