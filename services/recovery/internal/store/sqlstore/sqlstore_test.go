package sqlstore_test

import (
	"testing"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
	"github.com/latchkey/latchkey/services/recovery/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/recovery/internal/store/storetest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	for _, dialect := range testkit.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) (store.Store, storetest.Pending) {
				db := testkit.OpenMigrated(t, dialect, "recovery", sqlstore.Migrate)
				box := outbox.New(db, clock.System{}, "recovery")
				return sqlstore.New(db, box), box.Pending
			})
		})
	}
}
