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
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		box := outbox.New(db, clock.System{}, "account")
		storetest.Run(t, sqlstore.New(db, box), box.Pending)
	})
}

// Two replicas over one PostgreSQL database: while one holds the sweep's
// lock, the other cannot take it, and it is free again after release.
func TestTryExclusive_AcrossReplicas_Postgres(t *testing.T) {
	ctx := context.Background()
	pg := testkit.Postgres(t)
	open := func() *sqlstore.Store {
		db, err := dbx.OpenPostgres(ctx, pg.URL, "account")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return sqlstore.New(db, outbox.New(db, clock.System{}, "account"))
	}
	a, b := open(), open()
	release, ok, err := a.TryExclusive(ctx, "inactivity_sweep")
	if err != nil || !ok {
		t.Fatalf("replica a: %v %v", ok, err)
	}
	if _, ok, err := b.TryExclusive(ctx, "inactivity_sweep"); err != nil || ok {
		t.Fatalf("replica b while a holds the lock: %v %v, want not ok", ok, err)
	}
	release()
	releaseB, ok, err := b.TryExclusive(ctx, "inactivity_sweep")
	if err != nil || !ok {
		t.Fatalf("replica b after a released: %v %v", ok, err)
	}
	releaseB()
}
