package dbx

import (
	"context"
	"hash/fnv"
	"sync"
)

// Exclusive hands out named locks that one holder at a time gets, across
// every replica over the same database: a periodic job (a sweep) runs in
// one replica while the others skip it. Its zero value is ready to use;
// keep one per store.
//
// On PostgreSQL a lock is a session advisory lock (keyed by the schema and
// the name) on a connection of its own, held until release, so every
// replica sees it; SQLite serves one process, where the in-process half
// (which also tells apart the goroutines of one replica) is enough.
type Exclusive struct {
	mu   sync.Mutex
	held map[string]bool
}

// Try takes the lock name over db, or returns ok false at once when
// another holder has it. release gives it back.
func (e *Exclusive) Try(ctx context.Context, db DB, name string) (release func(), ok bool, err error) {
	e.mu.Lock()
	if e.held[name] {
		e.mu.Unlock()
		return nil, false, nil
	}
	if e.held == nil {
		e.held = map[string]bool{}
	}
	e.held[name] = true
	e.mu.Unlock()
	local := func() {
		e.mu.Lock()
		delete(e.held, name)
		e.mu.Unlock()
	}
	pg, isPG := db.(*PG)
	if !isPG {
		return local, true, nil
	}
	conn, err := pg.Pool().Acquire(ctx)
	if err != nil {
		local()
		return nil, false, err
	}
	key := advisoryKey(pg.Schema() + "." + name)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil || !got {
		conn.Release()
		local()
		return nil, false, err
	}
	return func() {
		// A failed unlock leaves the lock with the connection: closing it
		// ends the session and with it the lock.
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
		local()
	}, true, nil
}

// advisoryKey turns a lock name into PostgreSQL's 64-bit advisory lock key.
func advisoryKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}
