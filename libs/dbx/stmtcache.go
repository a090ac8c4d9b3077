package dbx

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statements a Lite keeps prepared: the queries
// are constants of the stores, a few dozen per service; past the bound
// (queries built with varying IN lists, say) they are prepared per call.
const maxCachedStmts = 256

// stmtCache keeps the statements of a Lite prepared. The pure-Go SQLite
// parses and plans a statement at every call otherwise, which was a
// tenth of the CPU of GET /v1/me and a seventh of the e-mail path's
// (issue 14); PostgreSQL's
// pgx caches its statements itself. database/sql prepares a Stmt again on
// a new connection, and SQLite recompiles a prepared statement whose
// tables a migration changed, so a kept statement never goes stale.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

// kept returns query prepared if it is kept, and whether another could
// be kept.
func (c *stmtCache) kept(query string) (st *sql.Stmt, room bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query], len(c.m) < maxCachedStmts && !c.closed
}

// get returns query prepared, or nil when it cannot be kept (the caller
// then runs it unprepared, and sees any error there). It prepares on the
// database: not from inside a transaction, which holds the one
// connection.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	st, room := c.kept(query)
	if st != nil || !room {
		return st
	}
	// Not ctx: the statement outlives this call, and a cancelled call must
	// not leave a broken statement behind.
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept, ok := c.m[query]; ok || len(c.m) >= maxCachedStmts || c.closed {
		_ = st.Close()
		return kept // nil when not kept: run unprepared
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}
