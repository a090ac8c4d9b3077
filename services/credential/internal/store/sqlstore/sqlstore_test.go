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
