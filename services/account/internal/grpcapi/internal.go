package grpcapi

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/idempotency"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

// internal serves the other Latchkey services; the edge never routes to it.
type internal struct {
	accountinternalv1.UnimplementedAccountInternalServiceServer
	app *app.App
}

func (h *internal) ResolveLogin(ctx context.Context, req *accountinternalv1.ResolveLoginRequest) (*accountinternalv1.ResolveLoginResponse, error) {
	t, a, err := h.app.ResolveLogin(ctx, req.GetTenantCode(), req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.ResolveLoginResponse{Tenant: convert.Tenant(t), Account: convert.Account(a)}, nil
}

func (h *internal) LookupAccount(ctx context.Context, req *accountinternalv1.LookupAccountRequest) (*accountinternalv1.LookupAccountResponse, error) {
	a, err := h.app.LookupAccount(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.LookupAccountResponse{Account: convert.Account(a)}, nil
}

func (h *internal) GetTenantPolicy(ctx context.Context, req *accountinternalv1.GetTenantPolicyRequest) (*accountinternalv1.GetTenantPolicyResponse, error) {
	t, err := h.app.TenantByID(ctx, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.GetTenantPolicyResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *internal) GetTenantByCode(ctx context.Context, req *accountinternalv1.GetTenantByCodeRequest) (*accountinternalv1.GetTenantByCodeResponse, error) {
	t, err := h.app.TenantByCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.GetTenantByCodeResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *internal) RecordLockout(ctx context.Context, req *accountinternalv1.RecordLockoutRequest) (*accountinternalv1.RecordLockoutResponse, error) {
	var until *time.Time
	if req.UnlockTime != nil {
		t := clock.Normalize(req.UnlockTime.AsTime())
		until = &t
	}
	a, err := h.app.RecordLockout(ctx, req.GetTenantId(), req.GetAccountId(), convert.LockReason(req.GetReason()), until)
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.RecordLockoutResponse{Account: convert.Account(a)}, nil
}

func (h *internal) RecordTermsAcceptance(ctx context.Context, req *accountinternalv1.RecordTermsAcceptanceRequest) (*accountinternalv1.RecordTermsAcceptanceResponse, error) {
	a, err := h.app.RecordTermsAcceptance(ctx, req.GetTenantId(), req.GetAccountId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.RecordTermsAcceptanceResponse{Account: convert.Account(a)}, nil
}

func (h *internal) SweepInactive(ctx context.Context, _ *accountinternalv1.SweepInactiveRequest) (*accountinternalv1.SweepInactiveResponse, error) {
	n, err := h.app.SweepInactive(ctx)
	if errors.Is(err, app.ErrSweepRunning) {
		return &accountinternalv1.SweepInactiveResponse{Skipped: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.SweepInactiveResponse{LockedCount: int32(n)}, nil
}

func (h *internal) CreateImportedAccounts(ctx context.Context, req *accountinternalv1.CreateImportedAccountsRequest) (*accountinternalv1.CreateImportedAccountsResponse, error) {
	rows := make([]app.ImportRow, len(req.GetRows()))
	for i, r := range req.GetRows() {
		rows[i] = app.ImportRow{ID: r.GetAccountId(), Username: r.GetUsername(), Email: r.GetEmail(), DisplayName: r.GetDisplayName(),
			Roles: convert.RolesFromProto(r.GetRoles()), Locale: r.GetLocale(), Pending: r.GetPending()}
	}
	key, err := importKey(req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	results, created, err := h.app.ImportAccounts(ctx, req.GetTenantId(), rows, req.GetValidateOnly(), key)
	if err != nil {
		return nil, err
	}
	resp := &accountinternalv1.CreateImportedAccountsResponse{Created: created}
	for i, res := range results {
		out := &accountinternalv1.ImportedAccountResult{Index: int32(i)}
		if res.Err != nil {
			out.ErrorCode, out.ErrorMessage = codeName(errs.KindOf(res.Err).Code().String()), res.Err.Error()
		} else if created {
			out.Account = convert.Account(res.Account)
		}
		resp.Results = append(resp.Results, out)
	}
	return resp, nil
}

// importKey is the idempotency key the credential service forwarded with
// an import; nil: none.
func importKey(k *accountinternalv1.ImportIdempotencyKey) (app.ImportKey, error) {
	if k == nil {
		return app.ImportKey{}, nil
	}
	if err := idempotency.ValidateKey(k.GetKey()); err != nil {
		return app.ImportKey{}, err
	}
	if k.GetFingerprint() == "" || k.GetCaller() == "" {
		return app.ImportKey{}, errs.Invalid(errs.Field("idempotencyKey", "REQUIRED", "the key comes with the request's fingerprint and its caller"))
	}
	return app.ImportKey{Scope: idempotency.Scope{Caller: k.GetCaller()},
		Request: idempotency.Request{Key: k.GetKey(), Fingerprint: k.GetFingerprint()}}, nil
}

// codeName spells a gRPC code the way the API documents it: ALREADY_EXISTS
// for AlreadyExists.
func codeName(camel string) string {
	var b strings.Builder
	for i, r := range camel {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func (h *internal) MarkActivated(ctx context.Context, req *accountinternalv1.MarkActivatedRequest) (*accountinternalv1.MarkActivatedResponse, error) {
	a, err := h.app.MarkActivated(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.MarkActivatedResponse{Account: convert.Account(a)}, nil
}

func (h *internal) NoteSecurityChange(ctx context.Context, req *accountinternalv1.NoteSecurityChangeRequest) (*accountinternalv1.NoteSecurityChangeResponse, error) {
	if err := h.app.NoteSecurityChange(ctx, req.GetTenantId(), req.GetAccountId()); err != nil {
		return nil, err
	}
	return &accountinternalv1.NoteSecurityChangeResponse{}, nil
}

func (h *internal) ReleaseLockout(ctx context.Context, req *accountinternalv1.ReleaseLockoutRequest) (*accountinternalv1.ReleaseLockoutResponse, error) {
	a, err := h.app.ReleaseLockout(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &accountinternalv1.ReleaseLockoutResponse{Account: convert.Account(a)}, nil
}
