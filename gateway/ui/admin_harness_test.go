package ui

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// fakeCall is one call the settings and admin pages made.
type fakeCall struct {
	Method string
	Bearer string // the token of the call's authorization metadata
	Req    proto.Message
}

// fakeAPI answers the settings and admin pages' calls in memory and
// records them; fail makes a method answer an error.
type fakeAPI struct {
	mu    sync.Mutex
	calls []fakeCall
	fail  map[string]error

	roles     []accountv1.Role_Value
	totp      bool
	totpToken string // an access token whose account has TOTP whatever totp says
	pinSet    bool
	questions int32
	account   *accountv1.Account
	accounts  []*accountv1.Account
	next      string // ListAccounts' next page token
	policy    *accountv1.TenantPolicy
	imported  *credentialv1.ImportAccountsResponse
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{
		roles: []accountv1.Role_Value{accountv1.Role_USER},
		fail:  map[string]error{},
		account: &accountv1.Account{Id: "acc-1", Username: "bob", Email: "bob@acme.example", DisplayName: "Bob",
			Roles: []accountv1.Role_Value{accountv1.Role_USER}, Status: accountv1.AccountStatus_LOCKED,
			LockReason: accountv1.LockReason_FAILED_ATTEMPTS, CreateTime: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))},
		policy: &accountv1.TenantPolicy{Password: &accountv1.PasswordPolicy{MinLength: proto.Int32(10)}, Locale: proto.String("en")},
	}
}

// record notes a call and returns the error set for it.
func (f *fakeAPI) record(ctx context.Context, method string, req proto.Message) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	bearer := ""
	if v := md.Get("authorization"); len(v) > 0 {
		bearer = strings.TrimPrefix(v[0], "Bearer ")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Method: method, Bearer: bearer, Req: proto.Clone(req)})
	return f.fail[method]
}

// called returns the calls of method.
func (f *fakeAPI) called(method string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// only returns the one call of method, failing the test otherwise.
func (f *fakeAPI) only(t *testing.T, method string) fakeCall {
	t.Helper()
	c := f.called(method)
	if len(c) != 1 {
		t.Fatalf("%s called %d times, want once", method, len(c))
	}
	return c[0]
}

type (
	fAccount struct {
		accountv1.AccountServiceClient
		f *fakeAPI
	}
	fAccountAdmin struct {
		accountv1.AccountAdminServiceClient
		f *fakeAPI
	}
	fCredential struct {
		credentialv1.CredentialServiceClient
		f *fakeAPI
	}
	fCredentialAdmin struct {
		credentialv1.CredentialAdminServiceClient
		f *fakeAPI
	}
	fMFA struct {
		mfav1.MfaServiceClient
		f *fakeAPI
	}
	fMFAAdmin struct {
		mfav1.MfaAdminServiceClient
		f *fakeAPI
	}
	fRecovery struct {
		recoveryv1.RecoveryServiceClient
		f *fakeAPI
	}
	fRecoveryAdmin struct {
		recoveryv1.RecoveryAdminServiceClient
		f *fakeAPI
	}
	fAuth struct {
		credentialv1.AuthServiceClient
		f *fakeAPI
	}
)

func (c fAccount) GetMe(ctx context.Context, in *accountv1.GetMeRequest, _ ...grpc.CallOption) (*accountv1.GetMeResponse, error) {
	if err := c.f.record(ctx, "GetMe", in); err != nil {
		return nil, err
	}
	totp := c.f.totp
	if md, _ := metadata.FromOutgoingContext(ctx); c.f.totpToken != "" && slices.Contains(md.Get("authorization"), "Bearer "+c.f.totpToken) {
		totp = true
	}
	return &accountv1.GetMeResponse{TenantCode: "acme", Account: &accountv1.Account{Id: "me", Username: "ann", Roles: c.f.roles},
		Security: &accountv1.SecuritySummary{TotpEnabled: totp, PinSet: c.f.pinSet}}, nil
}

func (c fAccountAdmin) ListAccounts(ctx context.Context, in *accountv1.ListAccountsRequest, _ ...grpc.CallOption) (*accountv1.ListAccountsResponse, error) {
	if err := c.f.record(ctx, "ListAccounts", in); err != nil {
		return nil, err
	}
	return &accountv1.ListAccountsResponse{Accounts: c.f.accounts, NextPageToken: c.f.next}, nil
}

func (c fAccountAdmin) GetAccount(ctx context.Context, in *accountv1.GetAccountRequest, _ ...grpc.CallOption) (*accountv1.GetAccountResponse, error) {
	if err := c.f.record(ctx, "GetAccount", in); err != nil {
		return nil, err
	}
	return &accountv1.GetAccountResponse{Account: c.f.account}, nil
}

func (c fAccountAdmin) CreateAccount(ctx context.Context, in *accountv1.CreateAccountRequest, _ ...grpc.CallOption) (*accountv1.CreateAccountResponse, error) {
	if err := c.f.record(ctx, "CreateAccount", in); err != nil {
		return nil, err
	}
	return &accountv1.CreateAccountResponse{Account: &accountv1.Account{Id: "new-1", Username: in.GetUsername()}}, nil
}

func (c fAccountAdmin) ChangeUsername(ctx context.Context, in *accountv1.ChangeUsernameRequest, _ ...grpc.CallOption) (*accountv1.ChangeUsernameResponse, error) {
	return &accountv1.ChangeUsernameResponse{}, c.f.record(ctx, "ChangeUsername", in)
}

func (c fAccountAdmin) LockAccount(ctx context.Context, in *accountv1.LockAccountRequest, _ ...grpc.CallOption) (*accountv1.LockAccountResponse, error) {
	return &accountv1.LockAccountResponse{}, c.f.record(ctx, "LockAccount", in)
}

func (c fAccountAdmin) UnlockAccount(ctx context.Context, in *accountv1.UnlockAccountRequest, _ ...grpc.CallOption) (*accountv1.UnlockAccountResponse, error) {
	return &accountv1.UnlockAccountResponse{}, c.f.record(ctx, "UnlockAccount", in)
}

func (c fAccountAdmin) DisableAccount(ctx context.Context, in *accountv1.DisableAccountRequest, _ ...grpc.CallOption) (*accountv1.DisableAccountResponse, error) {
	return &accountv1.DisableAccountResponse{}, c.f.record(ctx, "DisableAccount", in)
}

func (c fAccountAdmin) ReactivateAccount(ctx context.Context, in *accountv1.ReactivateAccountRequest, _ ...grpc.CallOption) (*accountv1.ReactivateAccountResponse, error) {
	return &accountv1.ReactivateAccountResponse{}, c.f.record(ctx, "ReactivateAccount", in)
}

func (c fAccountAdmin) GetTenant(ctx context.Context, in *accountv1.GetTenantRequest, _ ...grpc.CallOption) (*accountv1.GetTenantResponse, error) {
	if err := c.f.record(ctx, "GetTenant", in); err != nil {
		return nil, err
	}
	return &accountv1.GetTenantResponse{Tenant: &accountv1.Tenant{Code: "acme", Policy: c.f.policy, TermsVersion: "v1"}}, nil
}

func (c fAccountAdmin) UpdateTenantPolicy(ctx context.Context, in *accountv1.UpdateTenantPolicyRequest, _ ...grpc.CallOption) (*accountv1.UpdateTenantPolicyResponse, error) {
	return &accountv1.UpdateTenantPolicyResponse{}, c.f.record(ctx, "UpdateTenantPolicy", in)
}

func (c fAccountAdmin) PublishTerms(ctx context.Context, in *accountv1.PublishTermsRequest, _ ...grpc.CallOption) (*accountv1.PublishTermsResponse, error) {
	return &accountv1.PublishTermsResponse{}, c.f.record(ctx, "PublishTerms", in)
}

func (c fCredential) ChangePassword(ctx context.Context, in *credentialv1.ChangePasswordRequest, _ ...grpc.CallOption) (*credentialv1.ChangePasswordResponse, error) {
	return &credentialv1.ChangePasswordResponse{}, c.f.record(ctx, "ChangePassword", in)
}

func (c fCredential) SetPin(ctx context.Context, in *credentialv1.SetPinRequest, _ ...grpc.CallOption) (*credentialv1.SetPinResponse, error) {
	return &credentialv1.SetPinResponse{}, c.f.record(ctx, "SetPin", in)
}

func (c fCredential) ListSessions(ctx context.Context, in *credentialv1.ListSessionsRequest, _ ...grpc.CallOption) (*credentialv1.ListSessionsResponse, error) {
	if err := c.f.record(ctx, "ListSessions", in); err != nil {
		return nil, err
	}
	now := timestamppb.Now()
	return &credentialv1.ListSessionsResponse{Sessions: []*credentialv1.Session{
		{Id: "sess-me", UserAgent: "Mozilla/5.0 Firefox/140.0", Ip: "192.0.2.1", CreateTime: now, Current: true},
		{Id: "sess-phone", DeviceName: "Ann's phone", Ip: "198.51.100.7", CreateTime: now, LastUseTime: now},
	}}, nil
}

func (c fCredential) RevokeSession(ctx context.Context, in *credentialv1.RevokeSessionRequest, _ ...grpc.CallOption) (*credentialv1.RevokeSessionResponse, error) {
	return &credentialv1.RevokeSessionResponse{}, c.f.record(ctx, "RevokeSession", in)
}

func (c fCredentialAdmin) SetPassword(ctx context.Context, in *credentialv1.SetPasswordRequest, _ ...grpc.CallOption) (*credentialv1.SetPasswordResponse, error) {
	return &credentialv1.SetPasswordResponse{}, c.f.record(ctx, "SetPassword", in)
}

func (c fCredentialAdmin) ImportAccounts(ctx context.Context, in *credentialv1.ImportAccountsRequest, _ ...grpc.CallOption) (*credentialv1.ImportAccountsResponse, error) {
	if err := c.f.record(ctx, "ImportAccounts", in); err != nil {
		return nil, err
	}
	if c.f.imported != nil {
		return c.f.imported, nil
	}
	return &credentialv1.ImportAccountsResponse{ImportedCount: int32(len(in.GetAccounts()))}, nil
}

func (c fMFA) ListFactors(ctx context.Context, in *mfav1.ListFactorsRequest, _ ...grpc.CallOption) (*mfav1.ListFactorsResponse, error) {
	_ = c.f.record(ctx, "ListFactors", in)
	return &mfav1.ListFactorsResponse{RecoveryCodesRemaining: 7}, nil
}

func (c fMFA) EnrollTotp(ctx context.Context, in *mfav1.EnrollTotpRequest, _ ...grpc.CallOption) (*mfav1.EnrollTotpResponse, error) {
	if err := c.f.record(ctx, "EnrollTotp", in); err != nil {
		return nil, err
	}
	return &mfav1.EnrollTotpResponse{Secret: "JBSWY3DPEHPK3PXP", OtpauthUri: "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP", QrPng: []byte("\x89PNG-fake")}, nil
}

func (c fMFA) ConfirmTotp(ctx context.Context, in *mfav1.ConfirmTotpRequest, _ ...grpc.CallOption) (*mfav1.ConfirmTotpResponse, error) {
	if err := c.f.record(ctx, "ConfirmTotp", in); err != nil {
		return nil, err
	}
	return &mfav1.ConfirmTotpResponse{RecoveryCodes: []string{"code-one", "code-two"}}, nil
}

func (c fMFA) RegenerateRecoveryCodes(ctx context.Context, in *mfav1.RegenerateRecoveryCodesRequest, _ ...grpc.CallOption) (*mfav1.RegenerateRecoveryCodesResponse, error) {
	if err := c.f.record(ctx, "RegenerateRecoveryCodes", in); err != nil {
		return nil, err
	}
	return &mfav1.RegenerateRecoveryCodesResponse{RecoveryCodes: []string{"fresh-one"}}, nil
}

func (c fMFA) DisableTotp(ctx context.Context, in *mfav1.DisableTotpRequest, _ ...grpc.CallOption) (*mfav1.DisableTotpResponse, error) {
	return &mfav1.DisableTotpResponse{}, c.f.record(ctx, "DisableTotp", in)
}

func (c fMFAAdmin) ResetMfa(ctx context.Context, in *mfav1.ResetMfaRequest, _ ...grpc.CallOption) (*mfav1.ResetMfaResponse, error) {
	return &mfav1.ResetMfaResponse{}, c.f.record(ctx, "ResetMfa", in)
}

func (c fRecovery) GetRecoveryStatus(ctx context.Context, in *recoveryv1.GetRecoveryStatusRequest, _ ...grpc.CallOption) (*recoveryv1.GetRecoveryStatusResponse, error) {
	_ = c.f.record(ctx, "GetRecoveryStatus", in)
	return &recoveryv1.GetRecoveryStatusResponse{SecurityQuestionsRequired: c.f.questions, Questions: []string{"First pet?"}}, nil
}

func (c fRecovery) SetSecurityQuestions(ctx context.Context, in *recoveryv1.SetSecurityQuestionsRequest, _ ...grpc.CallOption) (*recoveryv1.SetSecurityQuestionsResponse, error) {
	return &recoveryv1.SetSecurityQuestionsResponse{}, c.f.record(ctx, "SetSecurityQuestions", in)
}

func (c fRecoveryAdmin) SendPasswordReset(ctx context.Context, in *recoveryv1.SendPasswordResetRequest, _ ...grpc.CallOption) (*recoveryv1.SendPasswordResetResponse, error) {
	return &recoveryv1.SendPasswordResetResponse{}, c.f.record(ctx, "SendPasswordReset", in)
}

func (c fRecoveryAdmin) ResendActivation(ctx context.Context, in *recoveryv1.ResendActivationRequest, _ ...grpc.CallOption) (*recoveryv1.ResendActivationResponse, error) {
	return &recoveryv1.ResendActivationResponse{}, c.f.record(ctx, "ResendActivation", in)
}

// newAPITestServer is the pages over the fakes of harness_test.go, with
// GetMe answered by fakeAPI (roles, TOTP), which the settings and admin
// calls reach.
func newAPITestServer(t *testing.T) (*fakeAPI, *testServer) {
	t.Helper()
	ts := newTestServer(t)
	f := ts.api
	ts.f.me = func(ctx context.Context) (*accountv1.GetMeResponse, error) {
		return fAccount{f: f}.GetMe(ctx, &accountv1.GetMeRequest{})
	}
	return f, ts
}

// withPIN makes the tenant's appearance say PINs are used.
func withPIN(ts *testServer) {
	ts.f.appearance = &accountv1.GetAppearanceResponse{Code: "acme", BrandName: "Acme", Locale: "en", PinEnabled: true,
		PasswordRules: &credentialv1.PasswordRules{MinLength: 10, MinDigits: 1}}
}

// signedIn is a browser whose session holds the access token "access"
// (and, with stepUp, the step-up token "fresh-token" of the last minute).
func (ts *testServer) signedIn(stepUp bool) *browser {
	ts.t.Helper()
	now := time.Now()
	s := &Session{Tenant: "acme", Username: "ann", Access: "access", Refresh: "refresh", AccessExp: now.Add(time.Hour).Unix(), SessionID: "sess-me"}
	if stepUp {
		s.Reauth, s.ReauthExp = "fresh-token", now.Add(5*time.Minute).Unix()
	}
	b := ts.browser()
	b.setSession(s)
	return b
}

// wantContains fails unless the page's body holds every string.
func wantContains(t *testing.T, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s %s: body lacks %q", p.Request.Method, p.Request.URL.Path, w)
		}
	}
	if t.Failed() {
		t.Logf("body:\n%s", p.Body)
	}
}
