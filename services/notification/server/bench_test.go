package server_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	"github.com/latchkey/latchkey/services/notification/server"
)

// BenchmarkDeliver_ToLocalSMTP measures messages per second from
// SendNotification (16 callers) until the SMTP server on loopback has
// accepted them: storing, rendering (a password reset with branding),
// handing to the SMTP server and recording the outcome with its event;
// and the CPU time the process spent per message.
func BenchmarkDeliver_ToLocalSMTP(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			pg := ""
			if store == "postgres" {
				pg = testkit.Postgres(b).URL
			}
			smtp := smtptest.Start(b, smtptest.Options{})
			cfg := baseConfig(pg, b.TempDir(), privateNATS(b), startAccounts(b), smtp.Addr, clock.System{})
			cfg.Limits = server.RateLimits{PerRecipient: -1, PerTenant: -1}
			inst := start(b, cfg)
			ctx := context.Background()
			b.ResetTimer()
			begin, cpu0 := time.Now(), cpuTime(b)
			var wg sync.WaitGroup
			next := make(chan int)
			for range 16 {
				wg.Go(func() {
					for i := range next {
						if _, err := inst.client.SendNotification(ctx, resetRequest(fmt.Sprintf("bench-%s-%d-%d", store, b.N, i), "jan@eshc.example")); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for i := range b.N {
				next <- i
			}
			close(next)
			wg.Wait()
			wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if got := len(smtp.Wait(wctx, b.N)); got < b.N {
				b.Fatalf("%d of %d arrived", got, b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "msgs/s")
			// What each message cost this process (service, SMTP server
			// and account stand-in alike): unlike msgs/s, it hardly
			// depends on what else the machine runs.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/msg")
		})
	}
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
