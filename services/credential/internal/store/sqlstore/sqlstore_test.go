package sqlstore_test

import (
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
