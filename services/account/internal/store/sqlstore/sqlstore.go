// Package sqlstore is the account service's store in SQL, one code path for
// PostgreSQL and SQLite through dbx. The statements are plain enough to run
// unchanged on both; where the engines differ, the migrations do.
package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/migrations"
)

// Store is the SQL store.
type Store struct {
	db     dbx.DB
	outbox *outbox.Outbox
	excl   dbx.Exclusive
	reader
}

var _ store.Store = (*Store)(nil)

// New returns the store of db, writing events through box.
func New(db dbx.DB, box *outbox.Outbox) *Store {
	return &Store{db: db, outbox: box, reader: reader{q: db}}
}

// Migrate brings db's schema up to date: the outbox, the inbox and the
// service's own tables, with the folded logins of older rows rewritten
// (RefoldLogins).
func Migrate(ctx context.Context, db dbx.DB) error {
	if err := infra.Migrate(ctx, db, infra.Service{Name: "account", Migrations: migrations.FS}); err != nil {
		return err
	}
	return New(db, nil).RefoldLogins(ctx, nil)
}

// InTx runs fn in a transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.db.InTx(ctx, func(dtx dbx.Tx) error {
		return fn(s.Bind(dtx))
	})
}

// MoveSecurityStamp implements store.Store.
func (s *Store) MoveSecurityStamp(ctx context.Context, tenantID, accountID string) error {
	n, err := s.db.Exec(ctx, "UPDATE accounts SET security_stamp = security_stamp + 1 WHERE tenant_id = $1 AND id = $2", tenantID, accountID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errAccountNotFound()
	}
	return nil
}

// RefreshStatistics implements store.Store.
func (s *Store) RefreshStatistics(ctx context.Context, added int) error {
	if s.db.Dialect() != dbx.Postgres {
		return nil
	}
	// What the statistics last counted (-1: never analyzed); a large
	// table is not sampled again for a small import, as autovacuum would
	// not either.
	var counted float64
	if err := s.db.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = 'accounts'::regclass").Scan(&counted); err != nil {
		return err
	}
	if counted >= 0 && float64(added)*10 < counted {
		return nil
	}
	_, err := s.db.Exec(ctx, "ANALYZE accounts")
	return err
}

// Bind is the store's transaction over dtx, a transaction someone else
// opened: the inbox, which records the event id in the same transaction as
// the change the event causes.
func (s *Store) Bind(dtx dbx.Tx) store.Tx {
	return &tx{reader: reader{q: dtx}, dtx: dtx, outbox: s.outbox}
}

type tx struct {
	reader
	dtx    dbx.Tx
	outbox *outbox.Outbox
}

func (t *tx) EmitAll(ctx context.Context, evs []store.Event) error {
	msgs := make([]outbox.Message, len(evs))
	for i, ev := range evs {
		msgs[i] = outbox.Message{Subject: ev.Subject, ID: ev.ID, Message: ev.Message}
	}
	return t.outbox.WriteAll(ctx, t.dtx, msgs)
}

func (t *tx) Emit(ctx context.Context, ev store.Event) error {
	return t.outbox.Write(ctx, t.dtx, ev.Subject, ev.ID, ev.Message)
}

const tenantColumns = "id, code, name, policy, terms_version, created_at, updated_at"

func (t *tx) CreateTenant(ctx context.Context, tn *account.Tenant) error {
	policy, err := json.Marshal(tn.Policy)
	if err != nil {
		return err
	}
	// Checked first so the conflict names its field on both engines; the
	// unique constraint still guards against a concurrent insert.
	if _, err := t.GetTenantByCode(ctx, tn.Code); err == nil {
		return errTenantCodeTaken()
	} else if !errs.Is(err, errs.KindNotFound) {
		return err
	}
	_, err = t.dtx.Exec(ctx, "INSERT INTO tenants ("+tenantColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		tn.ID, tn.Code, tn.Name, string(policy), tn.TermsVersion, tn.CreatedAt, tn.UpdatedAt)
	if _, ok := dbx.IsUniqueViolation(err); ok {
		return errTenantCodeTaken()
	}
	return err
}

func errTenantCodeTaken() error {
	return errs.Conflict("code", "TENANT_CODE_TAKEN", "a tenant with this code already exists")
}

func (t *tx) UpdateTenant(ctx context.Context, tn *account.Tenant) error {
	policy, err := json.Marshal(tn.Policy)
	if err != nil {
		return err
	}
	n, err := t.dtx.Exec(ctx, "UPDATE tenants SET name = $1, policy = $2, terms_version = $3, updated_at = $4 WHERE id = $5",
		tn.Name, string(policy), tn.TermsVersion, tn.UpdatedAt, tn.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errTenantNotFound()
	}
	return nil
}

const accountColumns = `id, tenant_id, username, email, display_name, roles, status, lock_reason, locale,
	accepted_terms_version, created_at, updated_at, last_login_at, activated_at, locked_until, fresh_start_at, security_stamp`

func (t *tx) CreateAccount(ctx context.Context, a *account.Account) error {
	if err := t.checkLoginsFree(ctx, a); err != nil {
		return err
	}
	_, err := t.dtx.Exec(ctx, `INSERT INTO accounts (`+accountColumns+`, username_folded, email_folded, login_key_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		a.ID, a.TenantID, a.Username, a.Email, a.DisplayName, joinRoles(a.Roles), string(a.Status), string(a.LockReason), a.Locale,
		a.AcceptedTermsVersion, a.CreatedAt, a.UpdatedAt, a.LastLoginAt, a.ActivatedAt, a.LockedUntil, a.FreshStartAt, a.SecurityStamp,
		account.FoldUsername(a.Username), account.FoldEmail(a.Email), loginKeyVersion)
	return mapAccountConflict(err)
}

func (t *tx) UpdateAccount(ctx context.Context, a *account.Account) error {
	if err := t.checkLoginsFree(ctx, a); err != nil {
		return err
	}
	n, err := t.dtx.Exec(ctx, `UPDATE accounts SET username = $1, username_folded = $2, email = $3, email_folded = $4,
		display_name = $5, roles = $6, status = $7, lock_reason = $8, locale = $9, accepted_terms_version = $10,
		updated_at = $11, last_login_at = $12, activated_at = $13, locked_until = $14, fresh_start_at = $15,
		login_key_version = $18
		WHERE tenant_id = $16 AND id = $17`,
		a.Username, account.FoldUsername(a.Username), a.Email, account.FoldEmail(a.Email),
		a.DisplayName, joinRoles(a.Roles), string(a.Status), string(a.LockReason), a.Locale, a.AcceptedTermsVersion,
		a.UpdatedAt, a.LastLoginAt, a.ActivatedAt, a.LockedUntil, a.FreshStartAt, a.TenantID, a.ID, loginKeyVersion)
	if err != nil {
		return mapAccountConflict(err)
	}
	if n == 0 {
		return errAccountNotFound()
	}
	return nil
}

// checkLoginsFree finds another account of the tenant already using a's
// username or e-mail address, so the conflict can name the field.
func (t *tx) checkLoginsFree(ctx context.Context, a *account.Account) error {
	var field string
	err := t.dtx.QueryRow(ctx, `SELECT CASE WHEN username_folded = $1 THEN 'username' ELSE 'email' END
		FROM accounts WHERE tenant_id = $2 AND id <> $3 AND (username_folded = $1 OR email_folded = $4)
		ORDER BY CASE WHEN username_folded = $1 THEN 0 ELSE 1 END LIMIT 1`,
		account.FoldUsername(a.Username), a.TenantID, a.ID, account.FoldEmail(a.Email)).Scan(&field)
	switch {
	case errors.Is(err, dbx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case field == "username":
		return errUsernameTaken()
	default:
		return errEmailTaken()
	}
}

func errUsernameTaken() error {
	return errs.Conflict("username", "USERNAME_TAKEN", "another account of this tenant has this username")
}

func errEmailTaken() error {
	return errs.Conflict("email", "EMAIL_TAKEN", "another account of this tenant has this e-mail address")
}

func mapAccountConflict(err error) error {
	constraint, ok := dbx.IsUniqueViolation(err)
	switch {
	case !ok:
		return err
	case constraint == "accounts_email_key":
		return errEmailTaken()
	default:
		return errUsernameTaken()
	}
}

// reader holds the queries, run on the database or in a transaction.
type reader struct {
	q dbx.Querier
}

func (r reader) GetTenant(ctx context.Context, id string) (*account.Tenant, error) {
	return r.oneTenant(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE id = $1", id)
}

func (r reader) GetTenantByCode(ctx context.Context, code string) (*account.Tenant, error) {
	return r.oneTenant(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE code = $1", code)
}

func (r reader) oneTenant(ctx context.Context, query string, arg string) (*account.Tenant, error) {
	tn, err := scanTenant(r.q.QueryRow(ctx, query, arg))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errTenantNotFound()
	}
	return tn, err
}

func errTenantNotFound() error { return errs.NotFound("TENANT_NOT_FOUND", "tenant not found") }

func (r reader) ListTenants(ctx context.Context, q store.TenantQuery) ([]*account.Tenant, error) {
	var w where
	if q.Filter != "" {
		p := w.arg(likePattern(q.Filter))
		w.add("(lower(code) LIKE " + p + " ESCAPE '\\' OR lower(name) LIKE " + p + " ESCAPE '\\')")
	}
	if q.After != "" {
		w.add("id > " + w.arg(q.After))
	}
	rows, err := r.q.Query(ctx, "SELECT "+tenantColumns+" FROM tenants"+w.sql()+" ORDER BY id LIMIT "+w.arg(q.Limit), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*account.Tenant
	for rows.Next() {
		tn, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tn)
	}
	return out, rows.Err()
}

func (r reader) GetAccount(ctx context.Context, tenantID, id string) (*account.Account, error) {
	return r.oneAccount(ctx, "SELECT "+accountColumns+" FROM accounts WHERE tenant_id = $1 AND id = $2", tenantID, id)
}

func (r reader) FindAccountByLogin(ctx context.Context, tenantID, login string) (*account.Account, error) {
	// A username wins over another account's e-mail address that happens
	// to be spelled the same.
	return r.oneAccount(ctx, loginLookup, tenantID, account.FoldUsername(login), account.FoldEmail(login))
}

// loginLookup finds an account of a tenant by its folded username or
// e-mail address.
const loginLookup = "SELECT " + accountColumns + ` FROM accounts
	WHERE tenant_id = $1 AND (username_folded = $2 OR email_folded = $3)
	ORDER BY CASE WHEN username_folded = $2 THEN 0 ELSE 1 END LIMIT 1`

func (r reader) oneAccount(ctx context.Context, query string, args ...any) (*account.Account, error) {
	a, err := scanAccount(r.q.QueryRow(ctx, query, args...))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errAccountNotFound()
	}
	return a, err
}

func errAccountNotFound() error { return errs.NotFound("ACCOUNT_NOT_FOUND", "account not found") }

func (r reader) ListAccounts(ctx context.Context, tenantID string, q store.AccountQuery) ([]*account.Account, error) {
	var w where
	w.add("tenant_id = " + w.arg(tenantID))
	if q.Filter != "" {
		// The folded columns are searched in their own form, so "ＪＡＮ"
		// finds jan.
		p, folded := w.arg(likePattern(q.Filter)), w.arg(likePattern(account.FoldText(q.Filter)))
		w.add("(username_folded LIKE " + folded + " ESCAPE '\\' OR email_folded LIKE " + folded + " ESCAPE '\\' OR lower(display_name) LIKE " + p + " ESCAPE '\\')")
	}
	if q.Status != "" {
		w.add("status = " + w.arg(string(q.Status)))
	}
	if q.Role != "" {
		w.add("(',' || roles || ',') LIKE " + w.arg("%,"+string(q.Role)+",%"))
	}
	if q.After != "" {
		w.add("id > " + w.arg(q.After))
	}
	rows, err := r.q.Query(ctx, "SELECT "+accountColumns+" FROM accounts"+w.sql()+" ORDER BY id LIMIT "+w.arg(q.Limit), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*account.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func scanTenant(row dbx.Row) (*account.Tenant, error) {
	var (
		tn     account.Tenant
		policy string
	)
	if err := row.Scan(&tn.ID, &tn.Code, &tn.Name, &policy, &tn.TermsVersion, &tn.CreatedAt, &tn.UpdatedAt); err != nil {
		return nil, err
	}
	// Start from the defaults so a field added to the policy after a
	// tenant was stored reads as its default, not as zero.
	tn.Policy = account.DefaultPolicy()
	if err := json.Unmarshal([]byte(policy), &tn.Policy); err != nil {
		return nil, fmt.Errorf("tenant %s: policy: %w", tn.ID, err)
	}
	tn.CreatedAt, tn.UpdatedAt = tn.CreatedAt.UTC(), tn.UpdatedAt.UTC()
	return &tn, nil
}

func scanAccount(row dbx.Row) (*account.Account, error) {
	var (
		a                  account.Account
		roles, status, why string
	)
	if err := row.Scan(&a.ID, &a.TenantID, &a.Username, &a.Email, &a.DisplayName, &roles, &status, &why, &a.Locale,
		&a.AcceptedTermsVersion, &a.CreatedAt, &a.UpdatedAt, &a.LastLoginAt, &a.ActivatedAt, &a.LockedUntil, &a.FreshStartAt, &a.SecurityStamp); err != nil {
		return nil, err
	}
	a.Roles = splitRoles(roles)
	a.Status, a.LockReason = account.Status(status), account.LockReason(why)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.LastLoginAt, a.ActivatedAt, a.LockedUntil = utcPtr(a.LastLoginAt), utcPtr(a.ActivatedAt), utcPtr(a.LockedUntil)
	a.FreshStartAt = utcPtr(a.FreshStartAt)
	return &a, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func joinRoles(roles []account.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func splitRoles(s string) []account.Role {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	roles := make([]account.Role, len(parts))
	for i, p := range parts {
		roles[i] = account.Role(p)
	}
	return roles
}

// likePattern makes a case-insensitive "contains" pattern of s, with LIKE's
// own characters escaped so a filter of "50%" means the text "50%".
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
