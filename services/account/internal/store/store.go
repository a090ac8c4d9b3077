// Package store is what the account service's use cases need from storage.
// sqlstore implements it on PostgreSQL and SQLite; storetest is the
// conformance suite both must pass.
package store

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Store reads outside transactions and opens transactions for changes.
type Store interface {
	Reader
	// InTx runs fn in a transaction. fn must not make network calls: a
	// transaction holds locks (and on SQLite, the only writer).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// TryExclusive takes the named lock shared by every replica over the
	// same database, when no one holds it: ok is false when someone does.
	// release gives it back. It is held outside any transaction, so work
	// under it can commit in many small ones.
	TryExclusive(ctx context.Context, name string) (release func(), ok bool, err error)
	// MoveSecurityStamp moves the account's SecurityStamp on, or answers
	// an errs NotFound. One statement, no transaction: concurrent calls
	// each move it.
	MoveSecurityStamp(ctx context.Context, tenantID, accountID string) error
	// RefreshStatistics has the database look at the accounts table again
	// after a bulk change added added accounts (an import adds up to 1000
	// at once), when that is a tenth of the table or more: on PostgreSQL,
	// plans made and cached while the table was small (a tenant lookup
	// scanning every account of the tenant, where the unique key finds
	// one) stay until the statistics change, which autovacuum does only
	// within a minute or so. Nothing on SQLite.
	RefreshStatistics(ctx context.Context, added int) error
	// PruneIdempotencyKeys forgets the idempotency keys stored before
	// before, and says how many.
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// Reader is every query of the service. Queries on tenant data take the
// tenant id, so no query can reach another tenant's rows.
type Reader interface {
	// GetTenant returns the tenant with id, or an errs NotFound.
	GetTenant(ctx context.Context, id string) (*account.Tenant, error)
	// GetTenantByCode returns the tenant with code, or an errs NotFound.
	GetTenantByCode(ctx context.Context, code string) (*account.Tenant, error)
	// ListTenants returns tenants in id order.
	ListTenants(ctx context.Context, q TenantQuery) ([]*account.Tenant, error)
	// GetAccount returns the account id of tenantID, or an errs NotFound
	// (also when it exists in another tenant).
	GetAccount(ctx context.Context, tenantID, id string) (*account.Account, error)
	// FindAccountByLogin returns the account of tenantID whose username or
	// e-mail address equals login, case-insensitively, or an errs NotFound.
	FindAccountByLogin(ctx context.Context, tenantID, login string) (*account.Account, error)
	// TakenLogins is FindAccountByLogin for many logins at once (an
	// import): of the folded usernames, those an account of tenantID has as
	// its username, and of the folded e-mail addresses, those one has as
	// its e-mail address.
	TakenLogins(ctx context.Context, tenantID string, usernames, emails []string) (takenUsernames, takenEmails map[string]bool, err error)
	// ListAccounts returns accounts of tenantID in id order.
	ListAccounts(ctx context.Context, tenantID string, q AccountQuery) ([]*account.Account, error)
	// CountAdmins counts the accounts of tenantID holding role ADMIN that
	// are not disabled.
	CountAdmins(ctx context.Context, tenantID string) (int, error)
	// UsernameHeld reports whether an account other than accountID
	// released username (compared folded) in tenantID at or after since.
	UsernameHeld(ctx context.Context, tenantID, username, accountID string, since time.Time) (bool, error)
	// ReleasedUsernames is UsernameHeld for many usernames at once: of the
	// folded usernames, those released in tenantID at or after since, each
	// with the accounts that released it.
	ReleasedUsernames(ctx context.Context, tenantID string, usernames []string, since time.Time) (map[string][]string, error)
	// GetTerms returns version of tenantID's terms, or an errs NotFound.
	GetTerms(ctx context.Context, tenantID, version string) (*account.Terms, error)
	// IdempotencyRecord returns what the create call that used key in
	// scope kept, when it was stored at or after since; nil when nothing.
	IdempotencyRecord(ctx context.Context, scope idempotency.Scope, key string, since time.Time) (*idempotency.Record, error)
}

// Tx is a transaction: reads see its own writes, and GetAccount keeps the
// account from other transactions' changes until this one ends.
type Tx interface {
	Reader
	// CreateTenant inserts t; a taken code is an errs Conflict on "code".
	CreateTenant(ctx context.Context, t *account.Tenant) error
	// UpdateTenant saves t's name, policy and terms version.
	UpdateTenant(ctx context.Context, t *account.Tenant) error
	// CreateAccount inserts a; a username or e-mail address already used
	// in the tenant (in any case) is an errs Conflict naming "username" or
	// "email".
	CreateAccount(ctx context.Context, a *account.Account) error
	// CreateAccounts inserts many accounts of one tenant at once (an
	// import); the first whose username or e-mail address is used is an
	// errs Conflict as with CreateAccount, with its index (-1 when a
	// concurrent insert took it and no row can be named).
	CreateAccounts(ctx context.Context, accts []*account.Account) (failedAt int, err error)
	// UpdateAccount saves every field of a.
	UpdateAccount(ctx context.Context, a *account.Account) error
	// LockTenantRow makes concurrent transactions that change the same
	// tenant's administrators wait for each other (a row lock on
	// PostgreSQL; SQLite has a single writer anyway).
	LockTenantRow(ctx context.Context, tenantID string) error
	// ReleaseUsername records that accountID gave up username at at, so
	// UsernameHeld keeps it from other accounts for a while. A name
	// released again restarts its time.
	ReleaseUsername(ctx context.Context, tenantID, accountID, username string, at time.Time) error
	// RecordLogin moves the last log-in of an account forward to at (never
	// back: events may arrive out of order). It reports whether it moved;
	// an unknown account is not an error (false).
	RecordLogin(ctx context.Context, tenantID, accountID string, at time.Time) (bool, error)
	// LockInactive locks, reason INACTIVITY, up to limit ACTIVE accounts of
	// tenantID with id > after whose last activity (see
	// account.LastActivity) is before cutoff, stamping updated_at with at.
	// It returns the accounts it locked and the last id it looked at ("" when
	// there were none), the keyset of the next batch. On PostgreSQL rows
	// another transaction holds are skipped; the status is checked again in
	// the update, so an account is never locked twice.
	LockInactive(ctx context.Context, tenantID string, cutoff time.Time, after string, limit int, at time.Time) (locked []*account.Account, last string, err error)
	// CreateTerms stores a published terms version; a version the tenant
	// already has is an errs Conflict on "version".
	CreateTerms(ctx context.Context, t *account.Terms) error
	// ClaimIdempotencyKey takes r's key in scope for this transaction's
	// create, stored at now, replacing one stored before expired. It
	// reports false when a call that used the key before expired holds
	// it (its transaction committed: read it with IdempotencyRecord);
	// a concurrent transaction claiming the same key waits for this one.
	ClaimIdempotencyKey(ctx context.Context, scope idempotency.Scope, r idempotency.Request, now, expired time.Time) (bool, error)
	// SaveIdempotentResponse keeps the answer of the create that claimed
	// key in scope.
	SaveIdempotentResponse(ctx context.Context, scope idempotency.Scope, key string, response []byte) error
	// Emit writes an event to the outbox, published after commit.
	Emit(ctx context.Context, ev Event) error
	// EmitAll writes many events at once (batch jobs).
	EmitAll(ctx context.Context, evs []Event) error
}

// Event is a domain event ready for the outbox.
type Event struct {
	ID      string // the event id, also its Nats-Msg-Id
	Subject string
	Message proto.Message
}

// TenantQuery selects a page of tenants.
type TenantQuery struct {
	// Filter keeps tenants whose code or name contains it, ignoring case.
	Filter string
	// After is the last id of the previous page ("" for the first).
	After string
	Limit int
}

// AccountQuery selects a page of accounts.
type AccountQuery struct {
	// Filter keeps accounts whose username, e-mail address or display
	// name contains it, ignoring case.
	Filter string
	Status account.Status // "" for all
	Role   account.Role   // "" for all
	// After is the last id of the previous page ("" for the first).
	After string
	Limit int
}
