package allinone_test

import (
	"context"
	"google.golang.org/grpc"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

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
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		url := inst.HTTPURL + "/v1/admin/accounts/" + id
		measure(b, func() error {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+inst.OperatorToken)
			req.Header.Set("Latchkey-Tenant", "bench")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			return nil
		})
	})
}

func measure(b *testing.B, read func() error) {
	b.SetParallelism(8)
	measureWith(b, "reads/s", read)
}

// measureWith runs op from parallel callers and reports its rate as unit.
func measureWith(b *testing.B, unit string, op func() error) {
	b.ResetTimer()
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
}

// BenchmarkLogin logs in through the REST edge with 64 callers at once;
// each log-in verifies an Argon2id hash (m=19 MiB, t=2), so the figure is
// bounded by the hash pool (one slot per core). Reported as logins/s, with
// the peak heap seen, which stays near pool × 19 MiB however many callers
// wait.
func BenchmarkLogin(b *testing.B) {
	inst := start(b, false, testkit.NATS(b).URL, b.TempDir())
	op := client{t: b, base: inst.HTTPURL, token: inst.OperatorToken}
	st, body := op.do("POST", "/v1/tenants", map[string]any{"code": "loginbench", "name": "Bench",
		"firstAdmin": map[string]any{"username": "admin", "email": "admin@bench.example", "displayName": "Admin",
			"activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Temporary-Pass-2026"}})
	if st != 200 {
		b.Fatalf("tenant: %d %v", st, body)
	}
	anon := client{t: b, base: inst.HTTPURL}
	_, body = login(anon, "loginbench", "admin", "Temporary-Pass-2026")
	if st, body := anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"}); st != 200 {
		b.Fatalf("first log-in: %d %v", st, body)
	}
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
