package app_test

// Benchmarks for the issue note: accounts listed per second by page of 100
// in a tenant of 100 000 accounts, and the time of one inactivity sweep
// over 100 000 accounts. They run on PostgreSQL (LATCHKEY_TEST_POSTGRES_URL,
// else a throwaway cluster) and on SQLite, each dialect a sub-benchmark:
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/app/
//	go test -run '^$' -bench '/postgres' -benchtime 3x ./internal/app/
//
// The accounts are seeded in SQL in a few large INSERTs, once per dialect
// and benchmark, outside the timer; plain `go test` runs none of this.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	benchAccounts   = 100_000
	benchTenantCode = "bench"
	// Rows per seeding INSERT, 10 parameters a row: under PostgreSQL's
	// 65 535 parameters per statement; SQLite looks $N names up in a list,
	// quadratic in the parameters of a statement, so it gets short ones.
	benchSeedBatchPostgres = 5_000
	benchSeedBatchSQLite   = 100
	benchInactiveFor       = 10 // the tenant's inactivityLockDays
)

// benchFixture is one seeded database: a tenant of benchAccounts ACTIVE
// USER accounts, ids in creation order, last log-ins spread over the 30
// days before seededAt.
type benchFixture struct {
	db       dbx.DB
	store    *sqlstore.Store
	tenant   *account.Tenant
	seededAt time.Time
	// seedNote tells how long seeding took; the first sub-benchmark logs
	// it (a benchmark with sub-benchmarks has its own log dropped).
	seedNote string
}

func (f *benchFixture) logSeed(b *testing.B) {
	if f.seedNote != "" {
		b.Log(f.seedNote)
		f.seedNote = ""
	}
}

// eachDialect runs fn as the sub-benchmarks "postgres" and "sqlite", each
// over a freshly seeded database.
func eachDialect(b *testing.B, fn func(b *testing.B, f *benchFixture)) {
	testkit.EachMigratedDialect(b, "account", sqlstore.Migrate, func(b *testing.B, db dbx.DB) { fn(b, seed(b, db)) })
}

func seed(b *testing.B, db dbx.DB) *benchFixture {
	b.Helper()
	ctx := context.Background()
	started := time.Now()
	now := clock.System{}.Now()
	policy := account.DefaultPolicy()
	policy.InactivityLockDays = benchInactiveFor
	t := &account.Tenant{ID: ids.New(), Code: benchTenantCode, Name: "Bench", Policy: policy, CreatedAt: now.AddDate(0, 0, -90), UpdatedAt: now}
	st := sqlstore.New(db, outbox.New(db, clock.System{}, "account"))
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateTenant(ctx, t) }); err != nil {
		b.Fatal(err)
	}

	// Created over days -90..-30 in id order, activated an hour after,
	// last log-in at a random moment of the last 30 days.
	rng := rand.New(rand.NewPCG(1, 2))
	created0, span := now.AddDate(0, 0, -90), 60*24*time.Hour
	const cols = 10
	batch := benchSeedBatchPostgres
	if db.Dialect() == dbx.SQLite {
		batch = benchSeedBatchSQLite
	}
	err := db.InTx(ctx, func(tx dbx.Tx) error {
		var (
			sb   strings.Builder
			args = make([]any, 0, 1+batch*cols)
		)
		for start := 0; start < benchAccounts; start += batch {
			sb.Reset()
			args = append(args[:0], t.ID)
			sb.WriteString(`INSERT INTO accounts (tenant_id, roles, status, id, username, username_folded, email, email_folded,
				display_name, created_at, updated_at, activated_at, last_login_at) VALUES `)
			for i := start; i < min(start+batch, benchAccounts); i++ {
				n := i + 1
				created := clock.Normalize(created0.Add(time.Duration(int64(span) * int64(i) / benchAccounts)))
				login := clock.Normalize(now.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour)))))
				username := fmt.Sprintf("User%d", n)
				email := fmt.Sprintf("User%d@Bench.example", n)
				if i > start {
					sb.WriteString(", ")
				}
				p := len(args)
				fmt.Fprintf(&sb, "($1, 'USER', 'ACTIVE', $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)",
					p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9, p+10)
				args = append(args, ids.New(), username, account.FoldUsername(username), email, account.FoldEmail(email),
					fmt.Sprintf("Bench User %d", n), created, created, created.Add(time.Hour), login)
			}
			if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE tenant_id = $1", t.ID).Scan(&n); err != nil || n != benchAccounts {
		b.Fatalf("seeded %d accounts (%v), want %d", n, err, benchAccounts)
	}
	note := fmt.Sprintf("%s: seeded %d accounts in %v (outside the timer)", db.Dialect(), n, time.Since(started).Round(time.Millisecond))
	return &benchFixture{db: db, store: st, tenant: t, seededAt: now, seedNote: note}
}

// operator is an operator token acting in the bench tenant, as the
// Latchkey-Tenant header would make it.
var operator = &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: benchTenantCode}

// BenchmarkListAccounts_Page100_At100k walks the whole tenant by pages of
// 100 through the use case (tenant lookup, validation, page tokens); one
// op is one full walk.
func BenchmarkListAccounts_Page100_At100k(b *testing.B) {
	eachDialect(b, func(b *testing.B, f *benchFixture) {
		a := app.New(f.store, clock.System{}, nil, app.Options{})
		for _, c := range []struct {
			name, filter string
			want         int
		}{
			{"all", "", benchAccounts},
			// user9, user90…user99, …, user90000…user99999.
			{"filter=user9", "user9", 11_111},
			// Matches nothing: one page that scans the whole tenant.
			{"filter=nomatch", "nomatch", 0},
		} {
			b.Run(c.name, func(b *testing.B) {
				f.logSeed(b)
				ctx := context.Background()
				pages, listed := 0, 0
				for b.Loop() {
					seen, token := 0, ""
					for {
						list, next, err := a.ListAccounts(ctx, operator, app.ListAccounts{Filter: c.filter, PageSize: 100, PageToken: token})
						if err != nil {
							b.Fatal(err)
						}
						pages++
						seen += len(list)
						if next == "" {
							break
						}
						token = next
					}
					if seen != c.want {
						b.Fatalf("walk listed %d accounts, want %d", seen, c.want)
					}
					listed += seen
				}
				s := b.Elapsed().Seconds()
				b.ReportMetric(float64(pages)/s, "pages/s")
				b.ReportMetric(float64(listed)/s, "accounts/s")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(pages), "µs/page")
			})
		}
	})
}

// BenchmarkSweepInactive_100k times one SweepInactive that locks all
// 100 000 accounts (the clock is 41 days past the seed, the tenant locks
// after 10) in the default batches of 500; one op is one sweep. Between
// sweeps the accounts are made ACTIVE again and the outbox emptied,
// outside the timer.
func BenchmarkSweepInactive_100k(b *testing.B) {
	eachDialect(b, func(b *testing.B, f *benchFixture) {
		f.logSeed(b)
		ctx := context.Background()
		creds := &countingCredentials{}
		clk := clock.NewFake(f.seededAt.AddDate(0, 0, 41))
		a := app.New(f.store, clk, creds, app.Options{})
		locked := 0
		for b.Loop() {
			b.StopTimer()
			f.reset(b)
			creds.revoked.Store(0)
			b.StartTimer()
			n, err := a.SweepInactive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n != benchAccounts || creds.revoked.Load() != benchAccounts {
				b.Fatalf("sweep locked %d accounts and revoked the sessions of %d, want %d each", n, creds.revoked.Load(), benchAccounts)
			}
			locked += n
		}
		var events int
		if err := f.db.QueryRow(ctx, "SELECT count(*) FROM outbox_events").Scan(&events); err != nil || events != benchAccounts {
			b.Fatalf("last sweep wrote %d events (%v), want %d", events, err, benchAccounts)
		}
		s := b.Elapsed().Seconds()
		b.ReportMetric(s/float64(b.N), "s/sweep")
		b.ReportMetric(float64(locked)/s, "locked/s")
	})
}

// reset makes every account ACTIVE again and empties the outbox, then
// cleans up the dead rows so each sweep starts from the same state.
func (f *benchFixture) reset(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"UPDATE accounts SET status = 'ACTIVE', lock_reason = '' WHERE status <> 'ACTIVE'",
		"DELETE FROM outbox_events",
	} {
		if _, err := f.db.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	vacuum := "VACUUM"
	if f.db.Dialect() == dbx.Postgres {
		vacuum = "VACUUM ANALYZE accounts, outbox_events"
	}
	if _, err := f.db.Exec(ctx, vacuum); err != nil {
		b.Fatal(err)
	}
}

// countingCredentials stands in for the credential service: it only counts
// session revocations and temporary passwords.
type countingCredentials struct {
	revoked   atomic.Int64
	temporary atomic.Int64
}

func (c *countingCredentials) SetTemporary(context.Context, *account.Account, string, *account.PasswordPolicy) error {
	c.temporary.Add(1)
	return nil
}

func (c *countingCredentials) RevokeAllSessions(context.Context, string, string, string) error {
	c.revoked.Add(1)
	return nil
}

func (c *countingCredentials) ClearFailedAttempts(context.Context, string, string) error { return nil }

func (c *countingCredentials) PasswordSummary(context.Context, string, string) (*account.PasswordSummary, error) {
	return nil, nil
}
