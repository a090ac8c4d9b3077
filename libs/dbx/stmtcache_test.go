package dbx_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/libs/dbx"
)

// SQLite keeps reads prepared (issue 14): a kept statement still sees a
// table a later migration changed, a bad query still fails where it is
// run, and more distinct queries than are kept still run.
func TestSQLite_PreparedReadsStayCorrect(t *testing.T) {
	ctx := context.Background()
	db, err := dbx.OpenSQLite(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO t (id, a) VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM t WHERE id > ?`, 0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("count = %d", n)
	}
	if _, err := db.Exec(ctx, `ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'y'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO t (id, a, b) VALUES (2, 'x', 'z')`); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("count after the change = %d", n)
	}
	rows, err := db.Query(ctx, `SELECT * FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int
		var a, b string
		if err := rows.Scan(&id, &a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	rows.Close()
	if fmt.Sprint(got) != "[y z]" {
		t.Fatalf("rows = %v", got)
	}
	if err := db.QueryRow(ctx, `SELECT nope FROM t`).Scan(new(int)); err == nil {
		t.Fatal("a bad query ran")
	}
	for i := range 300 {
		var n int
		if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT %d + count(*) FROM t`, i)).Scan(&n); err != nil || n != i+2 {
			t.Fatalf("query %d: %d %v", i, n, err)
		}
	}
}

// Statements of transactions are kept prepared too, once a transaction
// has run them: a statement run again while its own rows are still read
// (one prepared SQLite statement steps for one caller) gives both callers
// their rows; writes and a unique violation act as unprepared ones do; a
// rolled-back transaction's write is gone.
func TestSQLite_PreparedStatementsInTransactions(t *testing.T) {
	ctx := context.Background()
	db, err := dbx.OpenSQLite(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	const insert, list = `INSERT INTO t (id, a) VALUES ($1, $2)`, `SELECT id FROM t WHERE id > $1 ORDER BY id`
	for round := range 3 { // the first runs unprepared, the next prepared
		err := db.InTx(ctx, func(tx dbx.Tx) error {
			for i := range 3 {
				id := round*3 + i + 1
				if _, err := tx.Exec(ctx, insert, id, fmt.Sprint("v", id)); err != nil {
					return err
				}
			}
			outer, err := tx.Query(ctx, list, 0)
			if err != nil {
				return err
			}
			defer outer.Close()
			var pairs []string
			for outer.Next() {
				var id int
				if err := outer.Scan(&id); err != nil {
					return err
				}
				var next int
				if err := tx.QueryRow(ctx, list, id).Scan(&next); err != nil && !errors.Is(err, dbx.ErrNoRows) {
					return err
				}
				pairs = append(pairs, fmt.Sprintf("%d→%d", id, next))
			}
			if err := outer.Err(); err != nil {
				return err
			}
			if want := (round + 1) * 3; len(pairs) != want || pairs[want-1] != fmt.Sprintf("%d→0", want) {
				return fmt.Errorf("round %d: pairs %v", round, pairs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		err := db.InTx(ctx, func(tx dbx.Tx) error {
			_, err := tx.Exec(ctx, insert, 100, "v1")
			return err
		})
		if _, ok := dbx.IsUniqueViolation(err); !ok {
			t.Fatalf("duplicate insert: %v, want a unique violation", err)
		}
	}
	err = db.InTx(ctx, func(tx dbx.Tx) error {
		if _, err := tx.Exec(ctx, insert, 200, "rolled back"); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the transaction committed")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 9 {
		t.Fatalf("rows = %d (%v), want 9", n, err)
	}
}
