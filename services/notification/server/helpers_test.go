package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/notification/server"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// eachStore runs fn on PostgreSQL and on SQLite, with the settings that
// pick the store.
func eachStore(t *testing.T, fn func(t *testing.T, pgURL, dataDir string)) {
	t.Run("postgres", func(t *testing.T) { fn(t, testkit.Postgres(t).URL, t.TempDir()) })
	t.Run("sqlite", func(t *testing.T) { fn(t, "", t.TempDir()) })
}

// privateNATS starts an embedded NATS for t alone: the service uses the
// real stream and consumer names, which tests sharing a server would
// fight over.
func privateNATS(t testing.TB) *nats.Conn {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(), ServerName: "notification-test"})
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
	return nc
}

// accounts is a stand-in for the account service's internal API.
type accounts struct {
	accountinternalv1.UnimplementedAccountInternalServiceServer
	mu       sync.Mutex
	tenants  map[string]*accountv1.Tenant
	accounts map[string]*accountv1.Account
}

func (a *accounts) GetTenantPolicy(_ context.Context, r *accountinternalv1.GetTenantPolicyRequest) (*accountinternalv1.GetTenantPolicyResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tenants[r.GetTenantId()]; ok {
		return &accountinternalv1.GetTenantPolicyResponse{Tenant: t}, nil
	}
	return nil, status.Error(codes.NotFound, "no such tenant")
}

func (a *accounts) LookupAccount(_ context.Context, r *accountinternalv1.LookupAccountRequest) (*accountinternalv1.LookupAccountResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if acct, ok := a.accounts[r.GetAccountId()]; ok && acct.GetTenantId() == r.GetTenantId() {
		return &accountinternalv1.LookupAccountResponse{Account: acct}, nil
	}
	return nil, status.Error(codes.NotFound, "no such account")
}

const (
	tenantID  = "0193a000-0000-7000-8000-000000000001"
	accountID = "0193a000-0000-7000-8000-0000000000a1"
)

func ptr[T any](v T) *T { return &v }

// startAccounts serves the stand-in with one tenant (ESHC, Dutch by
// default, its own sender and link base) and one account.
func startAccounts(t testing.TB) string {
	t.Helper()
	a := &accounts{
		tenants: map[string]*accountv1.Tenant{tenantID: {Id: tenantID, Code: "eshc", Name: "ESHC", Policy: &accountv1.TenantPolicy{
			Locale: ptr("nl"), BrandName: ptr("ESHC Portaal"), FromAddress: ptr("noreply@eshc.example"),
			LinkBaseUrl: ptr("https://id.eshc.example"),
		}}},
		accounts: map[string]*accountv1.Account{accountID: {Id: accountID, TenantId: tenantID, Email: "jan@eshc.example",
			DisplayName: "Jan <script>x</script>", Locale: "nl-NL"}},
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	accountinternalv1.RegisterAccountInternalServiceServer(s, a)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// instance is a running notification service.
type instance struct {
	client notificationinternalv1.NotificationInternalServiceClient
	cancel context.CancelFunc
	// done is closed when Run returned, with its error in err.
	done chan struct{}
	err  error
	t    testing.TB
}

type mimeDecoder = mime.WordDecoder

// start runs server.Run with cfg (a listener, quiet logs and a short poll
// added) until t ends.
func start(t testing.TB, cfg server.Config) *instance {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.InternalListener = lis
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{cancel: cancel, done: make(chan struct{}), t: t}
	go func() {
		inst.err = server.Run(ctx, cfg)
		close(inst.done)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	inst.client = notificationinternalv1.NewNotificationInternalServiceClient(conn)
	t.Cleanup(inst.stop)
	// Ready once it answers.
	testkit.Eventually(t, 20*time.Second, func() error {
		_, err := inst.client.GetDelivery(context.Background(), &notificationinternalv1.GetDeliveryRequest{DeliveryId: "none"})
		if status.Code(err) != codes.NotFound {
			return fmt.Errorf("service not ready: %v", err)
		}
		return nil
	})
	return inst
}

func (i *instance) stop() {
	i.cancel()
	<-i.done
	if i.err != nil {
		i.t.Errorf("notification Run: %v", i.err)
	}
}

// baseConfig is a service on the given store, NATS, account stand-in and
// SMTP server.
func baseConfig(pgURL, dataDir string, nc *nats.Conn, accountAddr, smtpAddr string, clk clock.Clock) server.Config {
	cfg := server.Config{
		Settings:    infra.Settings{PostgresURL: pgURL, DataDir: dataDir, NATS: nc, Clock: clk},
		AccountAddr: accountAddr,
		Tuning:      server.Tuning{From: "latchkey@localhost", LinkBaseURL: "http://127.0.0.1:8080"},
		Jitter:      func() float64 { return 0.5 }, // no jitter: the factor is exactly 1
	}
	if smtpAddr != "" {
		cfg.SMTPURL = "smtp://" + smtpAddr
	}
	if dataDir != "" {
		cfg.MailboxDir = filepath.Join(dataDir, "mailbox")
	}
	return cfg
}

// waitStatus polls GetDelivery until the delivery reaches st (and, when
// attempts > 0, that many attempts).
func waitStatus(t testing.TB, c notificationinternalv1.NotificationInternalServiceClient, id string, st notificationv1.DeliveryStatus_Value, attempts int32) *notificationinternalv1.Delivery {
	t.Helper()
	var last *notificationinternalv1.Delivery
	testkit.Eventually(t, 20*time.Second, func() error {
		last = getDelivery(t, c, id)
		if last.GetStatus() != st || (attempts > 0 && last.GetAttempts() != attempts) {
			return fmt.Errorf("delivery %s: %v after %d attempts (%s), want %v after %d",
				id, last.GetStatus(), last.GetAttempts(), last.GetLastError(), st, attempts)
		}
		return nil
	})
	return last
}

// getDelivery returns a delivery, failing t when that is not possible.
func getDelivery(t testing.TB, c notificationinternalv1.NotificationInternalServiceClient, id string) *notificationinternalv1.Delivery {
	t.Helper()
	resp, err := c.GetDelivery(context.Background(), &notificationinternalv1.GetDeliveryRequest{DeliveryId: id})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetDelivery()
}

// noMoreMessages checks for a while that the SMTP server gets no more
// than want messages: for a stray copy or an early retry, which nothing
// announces.
func noMoreMessages(t testing.TB, smtp *smtptest.Server, want int) {
	t.Helper()
	testkit.Consistently(t, 200*time.Millisecond, func() error {
		if n := len(smtp.Messages()); n != want {
			return fmt.Errorf("%d messages arrived, want %d", n, want)
		}
		return nil
	})
}

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// parse takes a received message apart.
func parse(t testing.TB, m smtptest.Message) *smtptest.Parsed { return smtptest.Parse(t, m) }
