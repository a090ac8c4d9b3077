package sqlstore_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/account/internal/store/storetest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConformance(t *testing.T) {
	testkit.EachDialect(t, "account", func(t *testing.T, db dbx.DB) {
		if err := sqlstore.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		box := outbox.New(db, clock.System{}, "account")
		storetest.Run(t, sqlstore.New(db, box), box.Pending)
	})
}
