package dbx_test

import (
	"context"
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
