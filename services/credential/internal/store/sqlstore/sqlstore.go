// Package sqlstore is the credential service's store in SQL, one code path
// for PostgreSQL and SQLite through dbx.
package sqlstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/migrations"
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

// Migrate brings db's schema up to date.
func Migrate(ctx context.Context, db dbx.DB) error {
	return infra.Migrate(ctx, db, infra.Service{Name: "credential", Migrations: migrations.FS})
}

// InTx runs fn in a transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.db.InTx(ctx, func(dtx dbx.Tx) error { return fn(s.Bind(dtx)) })
}

// Bind is the store's transaction over dtx, a transaction someone else
// opened (an inbox consumer recording an event id in the same transaction
// as the change the event causes).
func (s *Store) Bind(dtx dbx.Tx) store.Tx {
	return &tx{reader: reader{q: dtx}, dtx: dtx, outbox: s.outbox}
}

// reader runs the queries, on the database or inside a transaction.
type reader struct{ q dbx.Querier }

type tx struct {
	reader
	dtx    dbx.Tx
	outbox *outbox.Outbox
}

func (t *tx) Emit(ctx context.Context, ev store.Event) error {
	return t.outbox.Write(ctx, t.dtx, ev.Subject, ev.ID, ev.Message)
}

func notFound(what string) error {
	return errs.NotFound(strings.ToUpper(strings.ReplaceAll(what, " ", "_"))+"_NOT_FOUND", what+" not found")
}

func (t reader) GetPassword(ctx context.Context, tenantID, accountID string) (*credential.Password, error) {
	p := credential.Password{TenantID: tenantID, AccountID: accountID}
	err := t.q.QueryRow(ctx, "SELECT hash, changed_at, temporary FROM passwords WHERE tenant_id = $1 AND account_id = $2",
		tenantID, accountID).Scan(&p.Hash, &p.ChangedAt, &p.Temporary)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, notFound("password")
	}
	p.ChangedAt = p.ChangedAt.UTC()
	return &p, err
}

func (t *tx) SavePassword(ctx context.Context, p *credential.Password) error {
	_, err := t.q.Exec(ctx, `INSERT INTO passwords (tenant_id, account_id, hash, changed_at, temporary) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, account_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at, temporary = excluded.temporary`,
		p.TenantID, p.AccountID, p.Hash, p.ChangedAt, p.Temporary)
	return err
}

func (t *tx) AddHistory(ctx context.Context, tenantID, accountID, hash string, at time.Time, keep int) error {
	if _, err := t.q.Exec(ctx, "INSERT INTO password_history (id, tenant_id, account_id, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
		ids.New(), tenantID, accountID, hash, at); err != nil {
		return err
	}
	_, err := t.q.Exec(ctx, `DELETE FROM password_history WHERE tenant_id = $1 AND account_id = $2 AND id NOT IN (
		SELECT id FROM password_history WHERE tenant_id = $1 AND account_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3)`,
		tenantID, accountID, keep)
	return err
}

func (t reader) History(ctx context.Context, tenantID, accountID string, n int) ([]string, error) {
	rows, err := t.q.Query(ctx, `SELECT hash FROM password_history WHERE tenant_id = $1 AND account_id = $2
		ORDER BY created_at DESC, id DESC LIMIT $3`, tenantID, accountID, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// lockEnded is, in ReserveAttempt's upsert, "the row's count reached the
// limit ($3) and its lock ended before now ($4)".
const lockEnded = "(login_attempts.failed_count >= $3 AND login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= $4)"

func (t *tx) ReserveAttempt(ctx context.Context, tenantID, accountID string, max int, now time.Time, lockFor time.Duration) (int, bool, error) {
	// One statement (it was three, a tenth of a log-in's statements on
	// PostgreSQL): the first attempt makes the row; a lock that has ended
	// starts the count afresh; below the limit the count goes up; at the
	// limit, while its lock lasts, nothing changes and no row comes back.
	// Parallel attempts wait for the row and see each other's counts.
	var n int
	err := t.q.QueryRow(ctx, `INSERT INTO login_attempts (tenant_id, account_id, failed_count) VALUES ($1, $2, 1)
		ON CONFLICT (tenant_id, account_id) DO UPDATE SET
			failed_count = CASE WHEN `+lockEnded+` THEN 1 ELSE login_attempts.failed_count + 1 END,
			locked_until = CASE WHEN `+lockEnded+` THEN NULL ELSE login_attempts.locked_until END
		WHERE login_attempts.failed_count < $3 OR `+lockEnded+`
		RETURNING failed_count`,
		tenantID, accountID, max, now).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return max, false, nil
	}
	if err != nil || n < max || lockFor <= 0 {
		return n, err == nil, err
	}
	// This attempt starts the lock (the row is this transaction's now).
	_, err = t.q.Exec(ctx, "UPDATE login_attempts SET locked_until = $1 WHERE tenant_id = $2 AND account_id = $3",
		now.Add(lockFor), tenantID, accountID)
	return n, err == nil, err
}

func (t *tx) ResetAttempts(ctx context.Context, tenantID, accountID string) error {
	_, err := t.q.Exec(ctx, "UPDATE login_attempts SET failed_count = 0, locked_until = NULL WHERE tenant_id = $1 AND account_id = $2",
		tenantID, accountID)
	return err
}

func (t *tx) ReleaseAttempt(ctx context.Context, tenantID, accountID string) error {
	_, err := t.q.Exec(ctx, `UPDATE login_attempts SET failed_count = failed_count - 1
		WHERE tenant_id = $1 AND account_id = $2 AND failed_count > 0`, tenantID, accountID)
	return err
}

func (t reader) FailedCount(ctx context.Context, tenantID, accountID string) (int, error) {
	var n int
	err := t.q.QueryRow(ctx, "SELECT failed_count FROM login_attempts WHERE tenant_id = $1 AND account_id = $2", tenantID, accountID).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

func (t reader) GetPIN(ctx context.Context, tenantID, accountID string) (string, error) {
	var h string
	err := t.q.QueryRow(ctx, "SELECT hash FROM pins WHERE tenant_id = $1 AND account_id = $2", tenantID, accountID).Scan(&h)
	if errors.Is(err, dbx.ErrNoRows) {
		return "", notFound("pin")
	}
	return h, err
}

func (t *tx) SavePIN(ctx context.Context, tenantID, accountID, hash string, at time.Time) error {
	_, err := t.q.Exec(ctx, `INSERT INTO pins (tenant_id, account_id, hash, changed_at, failed_count) VALUES ($1, $2, $3, $4, 0)
		ON CONFLICT (tenant_id, account_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at, failed_count = 0`,
		tenantID, accountID, hash, at)
	return err
}

// reserve runs a counting UPDATE … WHERE count < max RETURNING count: one
// statement, so of parallel attempts no more than max get a row back.
func (t *tx) reserve(ctx context.Context, query string, args ...any) (int, bool, error) {
	var n int
	err := t.q.QueryRow(ctx, query, args...).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return credential.MaxPINFailures, false, nil
	}
	return n, err == nil, err
}

func (t *tx) ReservePINAttempt(ctx context.Context, tenantID, accountID string) (int, bool, error) {
	return t.reserve(ctx, `UPDATE pins SET failed_count = failed_count + 1
		WHERE tenant_id = $1 AND account_id = $2 AND failed_count < $3 RETURNING failed_count`,
		tenantID, accountID, credential.MaxPINFailures)
}

func (t *tx) ReleasePINAttempt(ctx context.Context, tenantID, accountID string) error {
	_, err := t.q.Exec(ctx, `UPDATE pins SET failed_count = failed_count - 1
		WHERE tenant_id = $1 AND account_id = $2 AND failed_count > 0`, tenantID, accountID)
	return err
}

func (t *tx) AddDevice(ctx context.Context, d *credential.Device) error {
	_, err := t.q.Exec(ctx, `INSERT INTO devices (id, tenant_id, account_id, key_hash, name, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, d.TenantID, d.AccountID, d.KeyHash[:], d.Name, d.CreatedAt, d.LastUsedAt)
	return err
}

func (t reader) DeviceByKey(ctx context.Context, keyHash [32]byte) (*credential.Device, error) {
	d := credential.Device{KeyHash: keyHash}
	err := t.q.QueryRow(ctx, `SELECT id, tenant_id, account_id, name, created_at, last_used_at FROM devices
		WHERE key_hash = $1 AND revoked_at IS NULL`, keyHash[:]).Scan(&d.ID, &d.TenantID, &d.AccountID, &d.Name, &d.CreatedAt, &d.LastUsedAt)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, notFound("device")
	}
	return &d, err
}

func (t *tx) ReserveDeviceAttempt(ctx context.Context, tenantID, deviceID string) (int, bool, error) {
	return t.reserve(ctx, `UPDATE devices SET failed_pins = failed_pins + 1
		WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND failed_pins < $3 RETURNING failed_pins`,
		tenantID, deviceID, credential.MaxPINFailures)
}

func (t *tx) ReleaseDeviceAttempt(ctx context.Context, tenantID, deviceID string) error {
	_, err := t.q.Exec(ctx, `UPDATE devices SET failed_pins = failed_pins - 1
		WHERE tenant_id = $1 AND id = $2 AND failed_pins > 0`, tenantID, deviceID)
	return err
}

func (t *tx) RevokeDevice(ctx context.Context, tenantID, deviceID string, at time.Time) error {
	_, err := t.q.Exec(ctx, "UPDATE devices SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL", at, tenantID, deviceID)
	return err
}

func (t *tx) UsedDevice(ctx context.Context, tenantID, deviceID string, at time.Time) error {
	_, err := t.q.Exec(ctx, "UPDATE devices SET failed_pins = 0, last_used_at = $1 WHERE tenant_id = $2 AND id = $3", at, tenantID, deviceID)
	return err
}

func (t *tx) RevokeDevices(ctx context.Context, tenantID, accountID string, at time.Time) error {
	_, err := t.q.Exec(ctx, "UPDATE devices SET revoked_at = $1 WHERE tenant_id = $2 AND account_id = $3 AND revoked_at IS NULL", at, tenantID, accountID)
	return err
}

const sessionColumns = "id, tenant_id, account_id, device_name, ip, user_agent, amr, auth_time, created_at, last_used_at, revoked_at, device_id"

// sessionSelect reads sessionColumns and whether the session's device key
// is live.
const sessionSelect = "SELECT " + sessionColumns + `, EXISTS (SELECT 1 FROM devices d
	WHERE d.tenant_id = sessions.tenant_id AND d.id = sessions.device_id AND d.revoked_at IS NULL) FROM sessions`

func (t *tx) CreateSession(ctx context.Context, s *credential.Session) error {
	var device *string
	if s.DeviceID != "" {
		device = &s.DeviceID
	}
	_, err := t.q.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		s.ID, s.TenantID, s.AccountID, s.DeviceName, s.IP, s.UserAgent, strings.Join(s.AMR, ","), s.AuthTime, s.CreatedAt, s.LastUsedAt, s.RevokedAt, device)
	return err
}

func scanSession(row dbx.Row) (*credential.Session, error) {
	var s credential.Session
	var amr string
	var device *string
	if err := row.Scan(&s.ID, &s.TenantID, &s.AccountID, &s.DeviceName, &s.IP, &s.UserAgent, &amr, &s.AuthTime, &s.CreatedAt, &s.LastUsedAt,
		&s.RevokedAt, &device, &s.PINKey); err != nil {
		return nil, err
	}
	if device != nil {
		s.DeviceID = *device
	}
	s.AMR = splitList(amr)
	s.AuthTime, s.CreatedAt, s.LastUsedAt = s.AuthTime.UTC(), s.CreatedAt.UTC(), s.LastUsedAt.UTC()
	if s.RevokedAt != nil {
		r := s.RevokedAt.UTC()
		s.RevokedAt = &r
	}
	return &s, nil
}

func (t reader) GetSession(ctx context.Context, tenantID, id string) (*credential.Session, error) {
	s, err := scanSession(t.q.QueryRow(ctx, sessionSelect+" WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, notFound("session")
	}
	return s, err
}

func (t reader) ListSessions(ctx context.Context, tenantID, accountID string) ([]*credential.Session, error) {
	rows, err := t.q.Query(ctx, sessionSelect+`
		WHERE tenant_id = $1 AND account_id = $2 AND revoked_at IS NULL ORDER BY id DESC LIMIT 500`, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*credential.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) TouchSession(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := t.q.Exec(ctx, "UPDATE sessions SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3", at, tenantID, id)
	return err
}

func (t *tx) RevokeSessions(ctx context.Context, tenantID, accountID string, only []string, except string, at time.Time) ([]string, error) {
	q := "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND account_id = $3 AND revoked_at IS NULL AND id <> $4"
	args := []any{at, tenantID, accountID, except}
	if except == "" {
		// "" is not a UUID; PostgreSQL would refuse to compare with it.
		q = "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND account_id = $3 AND revoked_at IS NULL"
		args = args[:3]
	}
	if len(only) > 0 {
		q += " AND id IN ("
		for i, id := range only {
			if i > 0 {
				q += ", "
			}
			args = append(args, id)
			q += "$" + strconv.Itoa(len(args))
		}
		q += ")"
	}
	return t.revokeWithDevices(ctx, tenantID, at, q, args...)
}

func (t *tx) RevokeSessionsCreatedBy(ctx context.Context, tenantID, accountID string, createdBy, at time.Time) ([]string, error) {
	return t.revokeWithDevices(ctx, tenantID, at, `UPDATE sessions SET revoked_at = $1
		WHERE tenant_id = $2 AND account_id = $3 AND revoked_at IS NULL AND created_at <= $4`, at, tenantID, accountID, createdBy)
}

// revokeWithDevices runs q, an UPDATE of sessions, and revokes the device
// keys of the sessions it revoked.
func (t *tx) revokeWithDevices(ctx context.Context, tenantID string, at time.Time, q string, args ...any) ([]string, error) {
	out, devices, err := t.revokedSessions(ctx, q+" RETURNING id, device_id", args...)
	if err != nil {
		return nil, err
	}
	// A session's end is its device key's end: whoever ended it (the
	// user signing a device out, a lock, a new password) means that
	// device to need the password again.
	for _, d := range devices {
		if err := t.RevokeDevice(ctx, tenantID, d, at); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// revokedSessions runs the revoking UPDATE and returns the ids it revoked
// and their devices.
func (t *tx) revokedSessions(ctx context.Context, q string, args ...any) (ids, devices []string, err error) {
	rows, err := t.q.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var device *string
		if err := rows.Scan(&id, &device); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		if device != nil {
			devices = append(devices, *device)
		}
	}
	return ids, devices, rows.Err()
}

func (t *tx) AddRefreshToken(ctx context.Context, r *credential.RefreshToken) error {
	_, err := t.q.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, tenant_id, account_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.Hash[:], r.SessionID, r.TenantID, r.AccountID, r.CreatedAt, r.ExpiresAt)
	return err
}

func (t *tx) UseRefreshToken(ctx context.Context, hash [32]byte, now time.Time) (*credential.RefreshToken, bool, error) {
	r := credential.RefreshToken{Hash: hash}
	err := t.q.QueryRow(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING session_id, tenant_id, account_id, created_at, expires_at`, now, hash[:]).
		Scan(&r.SessionID, &r.TenantID, &r.AccountID, &r.CreatedAt, &r.ExpiresAt)
	if err == nil {
		return &r, false, nil
	}
	if !errors.Is(err, dbx.ErrNoRows) {
		return nil, false, err
	}
	err = t.q.QueryRow(ctx, "SELECT session_id, tenant_id, account_id, created_at, expires_at, used_at, successor FROM refresh_tokens WHERE hash = $1", hash[:]).
		Scan(&r.SessionID, &r.TenantID, &r.AccountID, &r.CreatedAt, &r.ExpiresAt, &r.UsedAt, &r.Successor)
	switch {
	case errors.Is(err, dbx.ErrNoRows):
		return nil, false, notFound("refresh token")
	case err != nil:
		return nil, false, err
	case r.UsedAt != nil:
		return &r, true, nil
	default:
		return nil, false, notFound("refresh token") // expired
	}
}

func (t reader) RefreshTokenOwner(ctx context.Context, hash [32]byte) (tenantID, accountID string, err error) {
	err = t.q.QueryRow(ctx, "SELECT tenant_id, account_id FROM refresh_tokens WHERE hash = $1", hash[:]).Scan(&tenantID, &accountID)
	if errors.Is(err, dbx.ErrNoRows) {
		return "", "", notFound("refresh token")
	}
	return tenantID, accountID, err
}

func (t *tx) SetRefreshSuccessor(ctx context.Context, hash [32]byte, sealed []byte) error {
	_, err := t.q.Exec(ctx, "UPDATE refresh_tokens SET successor = $1 WHERE hash = $2", sealed, hash[:])
	return err
}

func (t *tx) AddTicket(ctx context.Context, k *credential.LoginTicket, done []credential.Step) error {
	_, err := t.q.Exec(ctx, `INSERT INTO login_tickets (hash, tenant_id, account_id, step, done_steps, amr, auth_time, device_name, ip, user_agent, expires_at,
			enrollment_started)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		k.Hash[:], k.TenantID, k.AccountID, string(k.Step), joinSteps(done), strings.Join(k.AMR, ","), k.AuthTime, k.DeviceName, k.IP, k.UserAgent, k.ExpiresAt,
		k.EnrollmentStarted)
	return err
}

const ticketColumns = "tenant_id, account_id, step, done_steps, amr, auth_time, device_name, ip, user_agent, expires_at, enrollment_started"

func (t *tx) UseTicket(ctx context.Context, hash [32]byte, now time.Time) (*credential.LoginTicket, []credential.Step, error) {
	return scanTicket(hash, t.q.QueryRow(ctx, `UPDATE login_tickets SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING `+ticketColumns, now, hash[:]))
}

func (t *tx) FailTicketCode(ctx context.Context, hash [32]byte, now time.Time) (int, error) {
	var n int
	err := t.q.QueryRow(ctx, `UPDATE login_tickets SET failed_codes = failed_codes + 1,
		used_at = CASE WHEN failed_codes + 1 >= $1 THEN $2 ELSE used_at END
		WHERE hash = $3 AND used_at IS NULL AND expires_at > $2 RETURNING failed_codes`,
		credential.MaxTicketCodeFailures, now, hash[:]).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return 0, notFound("login ticket")
	}
	return n, err
}

func (t *tx) StartTicketEnrollment(ctx context.Context, hash [32]byte, now time.Time) error {
	n, err := t.q.Exec(ctx, `UPDATE login_tickets SET enrollment_started = TRUE WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`,
		hash[:], now)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("login ticket")
	}
	return nil
}

func (t reader) PeekTicket(ctx context.Context, hash [32]byte, now time.Time) (*credential.LoginTicket, []credential.Step, error) {
	return scanTicket(hash, t.q.QueryRow(ctx, "SELECT "+ticketColumns+" FROM login_tickets WHERE hash = $1 AND used_at IS NULL AND expires_at > $2",
		hash[:], now))
}

func scanTicket(hash [32]byte, row dbx.Row) (*credential.LoginTicket, []credential.Step, error) {
	k := credential.LoginTicket{Hash: hash}
	var step, done, amr string
	err := row.Scan(&k.TenantID, &k.AccountID, &step, &done, &amr, &k.AuthTime, &k.DeviceName, &k.IP, &k.UserAgent, &k.ExpiresAt, &k.EnrollmentStarted)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, nil, notFound("login ticket")
	}
	if err != nil {
		return nil, nil, err
	}
	k.Step, k.AMR, k.AuthTime, k.ExpiresAt = credential.Step(step), splitList(amr), k.AuthTime.UTC(), k.ExpiresAt.UTC()
	var steps []credential.Step
	for _, s := range splitList(done) {
		steps = append(steps, credential.Step(s))
	}
	return &k, steps, nil
}

// DeviceSeenQuery is DeviceSeen's statement ($1 tenant, $2 account, $3
// device name, $4 user agent). Both questions are answered from an index
// (sessions_account, sessions_device), however many sessions the account
// has had: it runs on every password log-in.
const DeviceSeenQuery = `SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM sessions WHERE tenant_id = $1 AND account_id = $2 LIMIT 1) a),
		(SELECT COUNT(*) FROM (SELECT 1 FROM sessions WHERE tenant_id = $1 AND account_id = $2 AND device_name = $3 AND user_agent = $4 LIMIT 1) s)`

func (t reader) DeviceSeen(ctx context.Context, tenantID, accountID, deviceName, userAgent string) (bool, bool, error) {
	var anySession, seen int
	err := t.q.QueryRow(ctx, DeviceSeenQuery, tenantID, accountID, deviceName, userAgent).Scan(&anySession, &seen)
	return anySession > 0, seen > 0, err
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func joinSteps(steps []credential.Step) string {
	s := make([]string, len(steps))
	for i, st := range steps {
		s[i] = string(st)
	}
	return strings.Join(s, ",")
}
