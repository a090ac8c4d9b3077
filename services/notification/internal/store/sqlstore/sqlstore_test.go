package sqlstore_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/notification/internal/store/storetest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	testkit.EachDialect(t, "notification", func(t *testing.T, db dbx.DB) {
		// Each subtest needs an empty database of its own.
		first := true
		storetest.Run(t, func(t *testing.T) (store.Store, dbx.DB) {
			d := db
			if !first {
				if db.Dialect() == dbx.Postgres {
					d = testkit.OpenPostgres(t, "notification")
				} else {
					d = testkit.OpenSQLite(t, "notification")
				}
			}
			first = false
			if err := sqlstore.Migrate(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			return sqlstore.New(d, outbox.New(d, clock.System{}, "notification")), d
		})
	})
}
