package allinone_test

import (
	"context"
	"io"
	"net/http"
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

	grpcRead := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			c := accountv1.NewAccountAdminServiceClient(grpcConn(b, addr))
			measure(b, func() error {
				_, err := c.GetAccount(ctx, &accountv1.GetAccountRequest{Id: id})
				return err
			})
		}
	}
	b.Run("grpc-direct", grpcRead(inst.Backends.Account))
	b.Run("grpc-gateway", grpcRead(inst.GRPCAddr))
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
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := read(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
}
