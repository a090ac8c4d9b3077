package sqlstore_test

import (
	"testing"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
	"github.com/latchkey/latchkey/services/mfa/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/mfa/internal/store/storetest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	for _, dialect := range testkit.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) (store.Store, storetest.Pending) {
				db := testkit.OpenMigrated(t, dialect, "mfa", sqlstore.Migrate)
				box := outbox.New(db, clock.System{}, "mfa")
				return sqlstore.New(db, box), box.Pending
			})
		})
	}
}
