package grpcapi

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/idempotency"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

type admin struct {
	accountv1.UnimplementedAccountAdminServiceServer
	app *app.App
}

func (h *admin) CreateAccount(ctx context.Context, req *accountv1.CreateAccountRequest) (*accountv1.CreateAccountResponse, error) {
	// The temporary password is left out of the fingerprint: the account
	// service keeps no trace of a password, not even a hash.
	fp := proto.Clone(req).(*accountv1.CreateAccountRequest)
	fp.TemporaryPassword = ""
	idem, err := idempotency.FromCall(ctx, fp)
	if err != nil {
		return nil, err
	}
	a, err := h.app.CreateAccount(ctx, authn.FromContext(ctx), app.NewAccount{
		Username: req.GetUsername(), Email: req.GetEmail(), DisplayName: req.GetDisplayName(),
		Roles: convert.RolesFromProto(req.GetRoles()), Locale: req.GetLocale(),
		Activation: convert.Activation(req.GetActivation()), TemporaryPassword: req.GetTemporaryPassword(),
		Idempotency: idem,
	})
	if err != nil {
		return nil, err
	}
	return &accountv1.CreateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ListAccounts(ctx context.Context, req *accountv1.ListAccountsRequest) (*accountv1.ListAccountsResponse, error) {
	list, next, err := h.app.ListAccounts(ctx, authn.FromContext(ctx), app.ListAccounts{
		Filter: req.GetFilter(), Status: convert.Status(req.GetStatus()), Role: convert.Role(req.GetRole()),
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &accountv1.ListAccountsResponse{NextPageToken: next}
	for _, a := range list {
		resp.Accounts = append(resp.Accounts, convert.Account(a))
	}
	return resp, nil
}

func (h *admin) GetAccount(ctx context.Context, req *accountv1.GetAccountRequest) (*accountv1.GetAccountResponse, error) {
	a, err := h.app.GetAccount(ctx, authn.FromContext(ctx), req.GetId())
	if err != nil {
		return nil, err
	}
	return &accountv1.GetAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) GetTenant(ctx context.Context, _ *accountv1.GetTenantRequest) (*accountv1.GetTenantResponse, error) {
	t, err := h.app.GetTenant(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &accountv1.GetTenantResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *admin) UpdateTenantPolicy(ctx context.Context, req *accountv1.UpdateTenantPolicyRequest) (*accountv1.UpdateTenantPolicyResponse, error) {
	p := req.GetPolicy()
	t, err := h.app.UpdateTenantPolicy(ctx, authn.FromContext(ctx), func(dst *account.Policy) { convert.ApplyPolicy(dst, p) })
	if err != nil {
		return nil, err
	}
	return &accountv1.UpdateTenantPolicyResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *admin) UpdateAccount(ctx context.Context, req *accountv1.UpdateAccountRequest) (*accountv1.UpdateAccountResponse, error) {
	cmd, err := updateAccountCommand(req)
	if err != nil {
		return nil, err
	}
	a, err := h.app.UpdateAccount(ctx, authn.FromContext(ctx), cmd)
	if err != nil {
		return nil, err
	}
	return &accountv1.UpdateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ChangeUsername(ctx context.Context, req *accountv1.ChangeUsernameRequest) (*accountv1.ChangeUsernameResponse, error) {
	a, err := h.app.ChangeUsername(ctx, authn.FromContext(ctx), req.GetId(), req.GetNewUsername())
	if err != nil {
		return nil, err
	}
	return &accountv1.ChangeUsernameResponse{Account: convert.Account(a)}, nil
}

func (h *admin) LockAccount(ctx context.Context, req *accountv1.LockAccountRequest) (*accountv1.LockAccountResponse, error) {
	a, err := h.app.LockAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.LockAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) UnlockAccount(ctx context.Context, req *accountv1.UnlockAccountRequest) (*accountv1.UnlockAccountResponse, error) {
	a, err := h.app.UnlockAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.UnlockAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) DisableAccount(ctx context.Context, req *accountv1.DisableAccountRequest) (*accountv1.DisableAccountResponse, error) {
	a, err := h.app.DisableAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.DisableAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ReactivateAccount(ctx context.Context, req *accountv1.ReactivateAccountRequest) (*accountv1.ReactivateAccountResponse, error) {
	a, err := h.app.ReactivateAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.ReactivateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) PublishTerms(ctx context.Context, req *accountv1.PublishTermsRequest) (*accountv1.PublishTermsResponse, error) {
	t, err := h.app.PublishTerms(ctx, authn.FromContext(ctx), req.GetVersion(), req.GetText())
	if err != nil {
		return nil, err
	}
	return &accountv1.PublishTermsResponse{Tenant: convert.Tenant(t)}, nil
}

// Reasons of a refused update mask.
const (
	reasonUnknownField = "UNKNOWN_FIELD"
	reasonNotUpdatable = "NOT_UPDATABLE"
)

// accountFields are the fields of Account by every name an update mask may
// use for them, proto (display_name) or JSON (displayName).
var accountFields = func() map[string]protoreflect.FieldDescriptor {
	out := map[string]protoreflect.FieldDescriptor{}
	fields := (&accountv1.Account{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		out[string(fd.Name())], out[fd.JSONName()] = fd, fd
	}
	return out
}()

// outputOnly tells the fields the service sets (field_behavior OUTPUT_ONLY
// in the proto); AIP-203: an update naming them ignores them, so a client
// may send back what it read.
func outputOnly(fd protoreflect.FieldDescriptor) bool {
	behaviors, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return slices.Contains(behaviors, annotations.FieldBehavior_OUTPUT_ONLY)
}

// updateAccountCommand turns an AIP-134 update — the account with the new
// values and a mask naming what changes — into the use case's command,
// where nil means unchanged. Without a mask (or with an empty one) every
// non-empty field changes; over REST the gateway fills the mask with the
// fields present in the body. Paths may be proto or JSON names; "*" names
// every field that can change.
func updateAccountCommand(req *accountv1.UpdateAccountRequest) (app.UpdateAccount, error) {
	cmd := app.UpdateAccount{ID: req.GetId()}
	a := req.GetAccount()
	if a == nil {
		return cmd, errs.Invalid(errs.Field("account", account.ReasonRequired, "the account with the new values is required"))
	}
	if a.GetId() != "" && a.GetId() != req.GetId() {
		return cmd, errs.Invalid(errs.Field("account.id", account.ReasonInvalidFormat, "differs from the id of the path"))
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		if a.GetDisplayName() != "" {
			paths = append(paths, "display_name")
		}
		if a.GetEmail() != "" {
			paths = append(paths, "email")
		}
		if a.GetLocale() != "" {
			paths = append(paths, "locale")
		}
		if len(a.GetRoles()) > 0 {
			paths = append(paths, "roles")
		}
	}
	if slices.Contains(paths, "*") {
		paths = []string{"display_name", "email", "locale", "roles"}
	}
	var v errs.Violations
	for _, p := range paths {
		fd, ok := accountFields[p]
		if !ok {
			v.Add("updateMask", reasonUnknownField, fmt.Sprintf("%q is not a field of the account", p))
			continue
		}
		switch fd.Name() {
		case "display_name":
			cmd.DisplayName = &a.DisplayName
		case "email":
			cmd.Email = &a.Email
		case "locale":
			cmd.Locale = &a.Locale
		case "roles":
			roles := convert.RolesFromProto(a.GetRoles())
			cmd.Roles = &roles
		case "username":
			v.Add("updateMask", reasonNotUpdatable, "the username changes with :changeUsername")
		default:
			if !outputOnly(fd) {
				v.Add("updateMask", reasonNotUpdatable, fmt.Sprintf("%s cannot be changed by an update", p))
			}
		}
	}
	return cmd, v.Err()
}
