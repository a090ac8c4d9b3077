package app_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// A row without a legacy hash is imported (as a PENDING account, which
// the account service invites) and gets no password here: the activation
// link sets the first one. A row with a hash keeps it.
func TestImportAccounts_RowWithoutHashGetsNoPassword(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tenantID := w.dir.tenantID("acme")
	admin := &authn.Principal{Kind: authn.KindAccount, TenantID: tenantID, AccountID: ids.New(), Roles: []string{authn.RoleAdmin}}
	const bcrypt = "$2a$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	rows := []credential.ImportRow{
		{Username: "dik", Email: "dik@acme.example", DisplayName: "Dik", LegacyPasswordHash: bcrypt},
		{Username: "eva", Email: "eva@acme.example", DisplayName: "Eva"},
	}
	outcomes, created, err := w.app.ImportAccounts(ctx, admin, rows, idempotency.Request{})
	if err != nil || !created {
		t.Fatalf("import: %v %v %+v", created, err, outcomes)
	}
	if len(w.dir.imported) != 2 {
		t.Fatalf("%d rows sent to the account service, want 2", len(w.dir.imported))
	}
	if pw, err := w.store.GetPassword(ctx, tenantID, w.dir.imported[0].AccountID); err != nil || pw.Hash != bcrypt {
		t.Fatalf("row with a hash: %+v %v", pw, err)
	}
	if _, err := w.store.GetPassword(ctx, tenantID, w.dir.imported[1].AccountID); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("row without a hash has a password: %v", err)
	}
}
