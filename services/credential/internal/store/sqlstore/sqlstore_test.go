package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/store/storetest"
	"github.com/latchkey/latchkey/services/credential/internal/token"
	"github.com/latchkey/latchkey/services/credential/internal/token/keystoretest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		storetest.Run(t, sqlstore.New(db, outbox.New(db, clock.System{}, "credential")))
	})
}

func TestKeyStoreConformance(t *testing.T) {
	for _, dialect := range testkit.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			keystoretest.Run(t, func(t *testing.T) token.KeyStore {
				return sqlstore.New(testkit.OpenMigrated(t, dialect, "credential", sqlstore.Migrate), nil).Keys()
			})
		})
	}
}

// Every password log-in asks DeviceSeen whether the account signed in
// from its device before, and sessions are kept after they end. With only
// the (tenant, account, id) index the question read every earlier session
// of the account from other devices: in latchkey bench, the gRPC log-ins
// that followed thousands of REST ones (another user agent) spent half a
// millisecond of CPU each in it. The plan must find the device by index.
func TestDeviceSeen_FindsTheDeviceByIndexWhateverTheAccountsHistory(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		s := sqlstore.New(db, outbox.New(db, clock.System{}, "credential"))
		tenant, acct, now := ids.New(), ids.New(), time.Now().UTC()
		if err := s.InTx(ctx, func(tx store.Tx) error {
			for range 3000 {
				if err := tx.CreateSession(ctx, &credential.Session{ID: ids.New(), TenantID: tenant, AccountID: acct,
					UserAgent: "Mozilla/5.0 browser", AuthTime: now, CreatedAt: now, LastUsedAt: now}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if anySession, seen, err := s.DeviceSeen(ctx, tenant, acct, "phone", "grpc-go/1.85.0"); err != nil || !anySession || seen {
			t.Fatalf("DeviceSeen(phone) = %v %v %v, want true false", anySession, seen, err)
		}

		explain := "EXPLAIN QUERY PLAN "
		if db.Dialect() == dbx.Postgres {
			explain = "EXPLAIN "
			if _, err := db.Exec(ctx, "ANALYZE sessions"); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.Query(ctx, explain+sqlstore.DeviceSeenQuery, tenant, acct, "phone", "grpc-go/1.85.0")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan strings.Builder
		for rows.Next() {
			var line string
			var err error
			if db.Dialect() == dbx.Postgres {
				err = rows.Scan(&line)
			} else {
				var id, parent, unused int
				err = rows.Scan(&id, &parent, &unused, &line)
			}
			if err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "sessions_device") {
			t.Errorf("DeviceSeen does not find the device by the index sessions_device:\n%s", plan.String())
		}
	})
}
