package allinone_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// BenchmarkAccountRead reads one account by id, in parallel, three ways:
// straight to the account service's gRPC port, through the gateway's
// public gRPC port, and through the REST edge. The differences are the cost
// of the gateway hop. Reported as reads/s.
func BenchmarkAccountRead(b *testing.B) {
	inst := start(b, false, testkit.NATS(b).URL, b.TempDir())
	op := client{t: b, base: inst.HTTPURL, token: inst.OperatorToken}
	if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": "bench", "name": "Bench"}); st != 200 {
		b.Fatalf("create tenant: %d %v", st, body)
	}
	st, body := op.asTenant("bench").do("POST", "/v1/admin/accounts", map[string]any{
		"username": "reader", "email": "reader@bench.example", "displayName": "Reader", "roles": []string{"USER"},
	})
	if st != 200 {
		b.Fatalf("create account: %d %v", st, body)
	}
	id := body["account"].(map[string]any)["id"].(string)
	ctx := withAuth(context.Background(), inst.OperatorToken, "bench")

	grpcRead := func(conn func(b *testing.B) *grpc.ClientConn) func(b *testing.B) {
		return func(b *testing.B) {
			c := accountv1.NewAccountAdminServiceClient(conn(b))
			measure(b, func() error {
				_, err := c.GetAccount(ctx, &accountv1.GetAccountRequest{Id: id})
				return err
			})
		}
	}
	b.Run("grpc-direct", grpcRead(func(b *testing.B) *grpc.ClientConn { return backendConn(b, inst, "account", inst.Backends.Account) }))
	b.Run("grpc-gateway", grpcRead(func(b *testing.B) *grpc.ClientConn { return grpcConn(b, inst.GRPCAddr) }))
	b.Run("rest-gateway", func(b *testing.B) {
		measure(b, restGetter(b, inst.HTTPURL+"/v1/admin/accounts/"+id, inst.OperatorToken, "bench"))
	})
}

// restGetter returns a GET of url with a bearer token (and a
// Latchkey-Tenant header unless tenant is ""), failing b unless it
// answers 200; its connections are kept for every caller.
func restGetter(b *testing.B, url, token, tenant string) func() error {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if tenant != "" {
			req.Header.Set("Latchkey-Tenant", tenant)
		}
		resp, err := hc.Do(req)
		return drain200(b, resp, err)
	}
}

// drain200 reads and closes an answer, failing b unless it is a 200.
func drain200(b *testing.B, resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s %s: status %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	}
	return nil
}

func measure(b *testing.B, read func() error) {
	b.SetParallelism(8)
	measureWith(b, "reads/s", read)
}

// measureWith runs op from parallel callers and reports its rate as unit,
// and the process's CPU time per op (cpu-µs/op: callers, edge and services
// together), which a machine busy with other work disturbs less than the
// rate.
func measureWith(b *testing.B, unit string, op func() error) {
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkLogin logs in through the REST edge with 64 callers at once;
// each log-in verifies an Argon2id hash (m=19 MiB, t=2), so the figure is
// bounded by the hash pool (one slot per core). Reported as logins/s, with
// the peak heap seen, which stays near pool × 19 MiB however many callers
// wait.
func BenchmarkLogin(b *testing.B) {
	inst := start(b, false, testkit.NATS(b).URL, b.TempDir())
	benchUserToken(b, inst, "loginbench")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	payload := `{"tenant":"loginbench","username":"admin","password":"Much-Better-Pass-1"}`
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.SetParallelism(32) // 64 callers on 2 cores
	measureWith(b, "logins/s", func() error { return postLogin(hc, inst.HTTPURL, payload) })
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkGetMe reads the signed-in user's overview (GET /v1/me, GetMe)
// with a user's bearer token from 16 callers, next to a bare echo through
// the same gateway stack: a second gateway, built the same way, whose
// account backend answers GetMe with a fixed reply of the same size and
// does nothing else. me/echo is the share of the edge's speed an
// authenticated read keeps (issue 14 asks ≥ 0.5), over REST and over the
// public gRPC port, on SQLite and on PostgreSQL.
func BenchmarkGetMe(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			inst := start(b, store == "postgres", testkit.NATS(b).URL, b.TempDir())
			token := benchUserToken(b, inst, "mebench")
			ctx := withAuth(context.Background(), token, "")
			real, err := accountv1.NewAccountServiceClient(grpcConn(b, inst.GRPCAddr)).GetMe(ctx, &accountv1.GetMeRequest{})
			if err != nil {
				b.Fatalf("GetMe: %v", err)
			}
			echo := startEchoGateway(b, inst, real)
			b.Run("rest-echo", func(b *testing.B) { benchRESTMe(b, echo.HTTPURL, token) })
			b.Run("rest-me", func(b *testing.B) { benchRESTMe(b, inst.HTTPURL, token) })
			b.Run("grpc-echo", func(b *testing.B) { benchGRPCMe(b, ctx, echo.GRPCAddr) })
			b.Run("grpc-me", func(b *testing.B) { benchGRPCMe(b, ctx, inst.GRPCAddr) })
		})
	}
}

// benchUserToken makes the tenant code whose first admin ("admin",
// password Much-Better-Pass-1) has logged in, and returns the admin's
// access token.
func benchUserToken(b *testing.B, inst *allinone.Instance, code string) string {
	op := client{t: b, base: inst.HTTPURL, token: inst.OperatorToken}
	st, body := op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Bench",
		"firstAdmin": map[string]any{"username": "admin", "email": "admin@bench.example", "displayName": "Admin",
			"activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Temporary-Pass-2026"}})
	if st != 200 {
		b.Fatalf("tenant: %d %v", st, body)
	}
	anon := client{t: b, base: inst.HTTPURL}
	_, body = login(anon, code, "admin", "Temporary-Pass-2026")
	st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"})
	if st != 200 || body["accessToken"] == nil {
		b.Fatalf("first log-in: %d %v", st, body)
	}
	return body["accessToken"].(string)
}

// echoAccount answers GetMe with a fixed reply: the backend of the bare
// echo.
type echoAccount struct {
	accountv1.UnimplementedAccountServiceServer
	reply *accountv1.GetMeResponse
}

func (e echoAccount) GetMe(context.Context, *accountv1.GetMeRequest) (*accountv1.GetMeResponse, error) {
	return e.reply, nil
}

type echoEdge struct{ HTTPURL, GRPCAddr string }

// startEchoGateway starts a gateway like inst's (mutual TLS to its
// backends, the same handlers) in front of an echoAccount answering reply.
func startEchoGateway(b *testing.B, inst *allinone.Instance, reply *accountv1.GetMeResponse) echoEdge {
	id, err := inst.Identity("account")
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(id.ServerTLS())))
	accountv1.RegisterAccountServiceServer(srv, echoAccount{reply: reply})
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)

	cfg := loopbackEdge
	addr := lis.Addr().String()
	cfg.Backends = gateway.Backends{Account: addr, Credential: addr, Recovery: addr, MFA: addr}
	if cfg.Identity, err = inst.Identity("gateway"); err != nil {
		b.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := gateway.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	httpLis, grpcLis, err := cfg.Listen()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { gw.Serve(ctx, httpLis, grpcLis); close(done) }()
	b.Cleanup(func() { cancel(); <-done; gw.Close() })
	e := echoEdge{HTTPURL: "http://" + httpLis.Addr().String(), GRPCAddr: httpLis.Addr().String()}
	if grpcLis != nil {
		e.GRPCAddr = grpcLis.Addr().String()
	}
	return e
}

// callers16 sets b's parallelism to 16 callers whatever GOMAXPROCS is.
func callers16(b *testing.B) {
	p := runtime.GOMAXPROCS(0)
	b.SetParallelism((16 + p - 1) / p)
}

func benchRESTMe(b *testing.B, base, token string) {
	callers16(b)
	measureWith(b, "reads/s", restGetter(b, base+"/v1/me", token, ""))
}

func benchGRPCMe(b *testing.B, ctx context.Context, addr string) {
	c := accountv1.NewAccountServiceClient(grpcConn(b, addr))
	callers16(b)
	measureWith(b, "reads/s", func() error {
		_, err := c.GetMe(ctx, &accountv1.GetMeRequest{})
		return err
	})
}
