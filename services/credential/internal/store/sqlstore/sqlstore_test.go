package sqlstore_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/store/storetest"
	"github.com/latchkey/latchkey/services/credential/internal/token"
	"github.com/latchkey/latchkey/services/credential/internal/token/keystoretest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		if err := sqlstore.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		storetest.Run(t, sqlstore.New(db, outbox.New(db, clock.System{}, "credential")))
	})
}

func TestKeyStoreConformance(t *testing.T) {
	open := map[string]func(t testing.TB) dbx.DB{
		"postgres": func(t testing.TB) dbx.DB { return testkit.OpenPostgres(t, "credential") },
		"sqlite":   func(t testing.TB) dbx.DB { return testkit.OpenSQLite(t, "credential") },
	}
	for name, openDB := range open {
		t.Run(name, func(t *testing.T) {
			keystoretest.Run(t, func(t *testing.T) token.KeyStore {
				db := openDB(t)
				if err := sqlstore.Migrate(context.Background(), db); err != nil {
					t.Fatal(err)
				}
				return sqlstore.New(db, nil).Keys()
			})
		})
	}
}
