package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	"github.com/latchkey/latchkey/services/mfa/server"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// eachStore runs fn on PostgreSQL and on SQLite, with the settings that
// pick the store.
func eachStore(t *testing.T, fn func(t *testing.T, pgURL string)) {
	t.Run("postgres", func(t *testing.T) { fn(t, testkit.Postgres(t).URL) })
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
}

// privateNATS starts an embedded NATS for t alone, with its URL.
func privateNATS(t testing.TB) (*nats.Conn, string) {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(), ServerName: "mfa-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := natsx.Connect(ctx, srv.ClientURL(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, srv.ClientURL()
}

func serve(t testing.TB, register func(s *grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// The stand-ins' tenant: ESHC (brand "ESHC Portaal"), with jan (USER)
// and an administrator.
var (
	tenantID  = ids.New()
	janID     = ids.New()
	adminID   = ids.New()
	otherTID  = ids.New()
	strangerI = ids.New()
)

func ptr[T any](v T) *T { return &v }

// accounts is a stand-in for the account service's internal API.
type accounts struct {
	accountinternalv1.UnimplementedAccountInternalServiceServer
	mu       sync.Mutex
	tenant   *accountv1.Tenant
	accounts map[string]*accountv1.Account
	// notes are the NoteSecurityChange calls, as tenant/account.
	notes []string
}

func newAccounts() *accounts {
	return &accounts{
		tenant: &accountv1.Tenant{Id: tenantID, Code: "eshc", Name: "ESHC", Policy: &accountv1.TenantPolicy{
			BrandName: ptr("ESHC Portaal"), Mfa: &accountv1.MfaPolicy{Required: ptr(false), AllowedSkewSteps: ptr(int32(1))},
		}},
		accounts: map[string]*accountv1.Account{
			janID:   {Id: janID, TenantId: tenantID, Username: "jan", Email: "jan@eshc.example", Roles: []accountv1.Role_Value{accountv1.Role_USER}, Status: accountv1.AccountStatus_ACTIVE},
			adminID: {Id: adminID, TenantId: tenantID, Username: "admin", Email: "admin@eshc.example", Roles: []accountv1.Role_Value{accountv1.Role_ADMIN}, Status: accountv1.AccountStatus_ACTIVE},
		},
	}
}

func (a *accounts) GetTenantPolicy(_ context.Context, r *accountinternalv1.GetTenantPolicyRequest) (*accountinternalv1.GetTenantPolicyResponse, error) {
	if r.GetTenantId() != tenantID {
		return nil, status.Error(codes.NotFound, "no such tenant")
	}
	return &accountinternalv1.GetTenantPolicyResponse{Tenant: a.tenant}, nil
}

func (a *accounts) GetTenantByCode(_ context.Context, r *accountinternalv1.GetTenantByCodeRequest) (*accountinternalv1.GetTenantByCodeResponse, error) {
	if r.GetCode() != "eshc" {
		return nil, status.Error(codes.NotFound, "no such tenant")
	}
	return &accountinternalv1.GetTenantByCodeResponse{Tenant: a.tenant}, nil
}

func (a *accounts) LookupAccount(_ context.Context, r *accountinternalv1.LookupAccountRequest) (*accountinternalv1.LookupAccountResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if acct, ok := a.accounts[r.GetAccountId()]; ok && acct.GetTenantId() == r.GetTenantId() {
		return &accountinternalv1.LookupAccountResponse{Account: acct}, nil
	}
	return nil, status.Error(codes.NotFound, "no such account")
}

func (a *accounts) ResolveLogin(_ context.Context, r *accountinternalv1.ResolveLoginRequest) (*accountinternalv1.ResolveLoginResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.GetTenantCode() == "eshc" {
		for _, acct := range a.accounts {
			if strings.EqualFold(acct.GetUsername(), r.GetLogin()) || strings.EqualFold(acct.GetEmail(), r.GetLogin()) {
				return &accountinternalv1.ResolveLoginResponse{Account: acct, Tenant: a.tenant}, nil
			}
		}
	}
	return nil, status.Error(codes.NotFound, "no such account")
}

func (a *accounts) NoteSecurityChange(_ context.Context, r *accountinternalv1.NoteSecurityChangeRequest) (*accountinternalv1.NoteSecurityChangeResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notes = append(a.notes, r.GetTenantId()+"/"+r.GetAccountId())
	return &accountinternalv1.NoteSecurityChangeResponse{}, nil
}

// noted returns the NoteSecurityChange calls so far.
func (a *accounts) noted() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.notes...)
}

// notifications is a stand-in for the notification service.
type notifications struct {
	notificationinternalv1.UnimplementedNotificationInternalServiceServer
	mu   sync.Mutex
	reqs []*notificationinternalv1.SendNotificationRequest
}

func (n *notifications) SendNotification(_ context.Context, r *notificationinternalv1.SendNotificationRequest) (*notificationinternalv1.SendNotificationResponse, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reqs = append(n.reqs, r)
	return &notificationinternalv1.SendNotificationResponse{DeliveryId: ids.New()}, nil
}

func (n *notifications) all() []*notificationinternalv1.SendNotificationRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*notificationinternalv1.SendNotificationRequest(nil), n.reqs...)
}

// credentials is a stand-in for the credential service: the key access
// tokens are signed with, and every session live.
type credentials struct {
	credentialv1.UnimplementedAuthServiceServer
	credentialinternalv1.UnimplementedCredentialInternalServiceServer
	priv ed25519.PrivateKey
}

func (c *credentials) GetJwks(context.Context, *credentialv1.GetJwksRequest) (*credentialv1.GetJwksResponse, error) {
	j := authn.NewJWK("k1", c.priv.Public().(ed25519.PublicKey))
	return &credentialv1.GetJwksResponse{Keys: []*credentialv1.Jwk{{Kty: j.Kty, Crv: j.Crv, X: j.X, Kid: j.Kid, Use: j.Use, Alg: j.Alg}}}, nil
}

func (c *credentials) CheckSession(context.Context, *credentialinternalv1.CheckSessionRequest) (*credentialinternalv1.CheckSessionResponse, error) {
	return &credentialinternalv1.CheckSessionResponse{Live: true}, nil
}

// token is an access token of account id in tenantID with roles, who
// authenticated at authTime.
func (c *credentials) token(t testing.TB, accountID string, roles []string, now, authTime time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.DefaultIssuer, Subject: accountID, Audience: jwt.ClaimStrings{authn.DefaultAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: ids.New(),
		},
		TenantID: tenantID, Roles: roles, SessionID: ids.New(), AMR: []string{"pwd"}, AuthTime: authTime.Unix(),
	})
	tok.Header["typ"] = authn.AccessTokenType
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(c.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance is a running mfa service with its stand-in peers.
type instance struct {
	public   mfav1.MfaServiceClient
	admin    mfav1.MfaAdminServiceClient
	internal mfainternalv1.MfaInternalServiceClient
	accounts *accounts
	mail     *notifications
	creds    *credentials
	clk      *clock.Fake
	natsURL  string
}

// cheap is an Argon2id cost for tests.
var cheap = passhash.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// start runs server.Run on the store pgURL names (SQLite when empty)
// with stand-in peers, until t ends.
func start(t *testing.T, pgURL string) *instance {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{accounts: newAccounts(), mail: &notifications{}, creds: &credentials{priv: priv}, clk: clock.NewFake(time.Now())}
	accountAddr := serve(t, func(s *grpc.Server) { accountinternalv1.RegisterAccountInternalServiceServer(s, inst.accounts) })
	mailAddr := serve(t, func(s *grpc.Server) { notificationinternalv1.RegisterNotificationInternalServiceServer(s, inst.mail) })
	credAddr := serve(t, func(s *grpc.Server) {
		credentialv1.RegisterAuthServiceServer(s, inst.creds)
		credentialinternalv1.RegisterCredentialInternalServiceServer(s, inst.creds)
	})
	nc, natsURL := privateNATS(t)
	inst.natsURL = natsURL
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Settings: infra.Settings{Listener: pub, InternalListener: inner, PostgresURL: pgURL, DataDir: t.TempDir(), NATS: nc,
			Clock: inst.clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		AccountAddr: accountAddr, NotificationAddr: mailAddr, CredentialAddr: credAddr,
		OperatorTokens: authn.NewOperatorTokens(),
		Tuning:         server.Tuning{SecretKeys: ring, Hash: passhash.Settings{Params: cheap}},
		Poll:           20 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mfa Run: %v", err)
		}
	})
	inst.public = mfav1.NewMfaServiceClient(dial(t, pub.Addr().String()))
	inst.admin = mfav1.NewMfaAdminServiceClient(dial(t, pub.Addr().String()))
	inst.internal = mfainternalv1.NewMfaInternalServiceClient(dial(t, inner.Addr().String()))
	testkit.Eventually(t, 20*time.Second, func() error {
		_, err := inst.internal.GetFactorStatus(context.Background(), &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: janID})
		if err != nil {
			return fmt.Errorf("not ready: %v", err)
		}
		return nil
	})
	return inst
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// as is ctx carrying an access token of account id (roles), who
// authenticated just now.
func (i *instance) as(t testing.TB, id string, roles ...string) context.Context {
	now := i.clk.Now()
	return metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+i.creds.token(t, id, roles, now, now)))
}
