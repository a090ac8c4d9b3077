package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fastParams keep the tests' hashing cheap; the rules under test do not
// depend on the cost.
var fastParams = passhash.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// world is the credential app over a real store (SQLite, or each dialect)
// with fakes for its peers, a fake clock and a store that counts.
type world struct {
	t     *testing.T
	app   *app.App
	clock *clock.Fake
	store *countingStore
	dir   *fakeDirectory
	mfa   *fakeMFA
	rec   *fakeRecovery
	hash  *countingHasher
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, testkit.OpenSQLite(t, "credential"))
}

func newWorldOn(t *testing.T, db dbx.DB) *world {
	t.Helper()
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	st := &countingStore{Store: sqlstore.New(db, outbox.New(db, clk, "credential"))}
	issuer, err := token.NewIssuer(token.NewMemoryKeyStore(), clk, token.Options{Issuer: "test", Audience: "test",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clock: clk, store: st, dir: newFakeDirectory(), mfa: &fakeMFA{}, rec: &fakeRecovery{},
		hash: &countingHasher{Hasher: passhash.NewHasher(fastParams, 4, 0)}}
	w.app = app.New(app.Deps{Store: st, Clock: clk, Hasher: w.hash, Issuer: issuer,
		Accounts: w.dir, Factors: w.mfa, Recovery: w.rec})
	return w
}

// account adds an ACTIVE account of a tenant "acme" with policy and a
// password (temporary or not) set now, and returns it.
func (w *world) account(username, plain string, temporary bool, policy credential.Policy) *credential.Subject {
	w.t.Helper()
	s := &credential.Subject{TenantID: w.dir.tenantID("acme"), TenantCode: "acme", AccountID: ids.New(), Username: username,
		Email: username + "@acme.example", DisplayName: "User " + username, Roles: []string{"USER"},
		Status: credential.StatusActive, Policy: policy}
	w.dir.add(s)
	h, err := w.app.Hasher.Hash(context.Background(), plain)
	if err != nil {
		w.t.Fatal(err)
	}
	err = w.store.Store.InTx(context.Background(), func(tx store.Tx) error {
		return tx.SavePassword(context.Background(), &credential.Password{TenantID: s.TenantID, AccountID: s.AccountID,
			Hash: h, ChangedAt: w.clock.Now(), Temporary: temporary})
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) login(username, plain string) (*app.LoginResult, error) {
	return w.app.Login(context.Background(), app.LoginRequest{Tenant: "acme", Username: username, Password: plain,
		Client: app.Client{IP: "192.0.2.1", UserAgent: "test-agent"}})
}

// mustStep wants a login result that asks for a step: mustStep(r, err)(step)
// returns the ticket.
func (w *world) mustStep(r *app.LoginResult, err error) func(want credential.Step) string {
	return func(want credential.Step) string {
		w.t.Helper()
		if err != nil {
			w.t.Fatalf("want step %s, got %v", want, err)
		}
		if r.Tokens != nil || r.NextStep != want || r.Ticket == "" {
			w.t.Fatalf("want step %s with a ticket, got %+v", want, r)
		}
		return r.Ticket
	}
}

func (w *world) mustTokens(r *app.LoginResult, err error) *app.Tokens {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("want tokens, got %v", err)
	}
	if r.Tokens == nil {
		w.t.Fatalf("want tokens, got step %s", r.NextStep)
	}
	return r.Tokens
}

func (w *world) cont(req app.ContinueRequest) (*app.LoginResult, error) {
	return w.app.ContinueLogin(context.Background(), req)
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var e *errs.Error
	if err == nil || !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("want %s, got %v", reason, err)
	}
}

// countingStore counts transactions and reads of the password row, and
// keeps the events of committed transactions.
type countingStore struct {
	store.Store
	txs, passwordReads atomic.Int64
	// deviceAttempts counts PIN log-in attempts the store let through.
	deviceAttempts atomic.Int64

	mu     sync.Mutex
	events []committed
	// onTx runs at the start of every transaction (moving the clock, as a
	// wait for a lock or a slow disk would).
	onTx func()
	// failSecurity, when set, rolls back every transaction that saved a
	// password or a PIN, as a commit lost with the connection would.
	failSecurity bool
	// loseReply, when it says so of a transaction's number, commits the
	// transaction and then fails it as PostgreSQL going down during the
	// COMMIT does: the caller cannot know it committed.
	loseReply func(tx int64) bool
}

// errLostCommit is the failure of a transaction failSecurity rolls back.
var errLostCommit = errs.Unavailable("DATABASE_UNAVAILABLE", "the commit was lost", nil)

// committed is an event with the number of the transaction that wrote it.
type committed struct {
	tx    int64
	event store.Event
}

func (s *countingStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	n := s.txs.Add(1)
	if s.onTx != nil {
		s.onTx()
	}
	var emitted []store.Event
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		emitted = emitted[:0]
		ct := &countingTx{Tx: tx, s: s, emitted: &emitted}
		if err := fn(ct); err != nil {
			return err
		}
		if s.failSecurity && ct.security {
			return errLostCommit
		}
		return nil
	})
	if err == nil {
		s.mu.Lock()
		for _, ev := range emitted {
			s.events = append(s.events, committed{tx: n, event: ev})
		}
		s.mu.Unlock()
		if s.loseReply != nil && s.loseReply(n) {
			return fmt.Errorf("commit: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
		}
	}
	return err
}

// reset forgets the counts and events so far.
func (s *countingStore) reset() {
	s.txs.Store(0)
	s.passwordReads.Store(0)
	s.mu.Lock()
	s.events = nil
	s.mu.Unlock()
}

// eventsOf returns the committed events whose subject ends with suffix.
func (s *countingStore) eventsOf(suffix string) []committed {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []committed
	for _, c := range s.events {
		if strings.HasSuffix(c.event.Subject, suffix) {
			out = append(out, c)
		}
	}
	return out
}

type countingTx struct {
	store.Tx
	s       *countingStore
	emitted *[]store.Event
	// security: the transaction saved a password or a PIN.
	security bool
}

func (t *countingTx) SavePassword(ctx context.Context, p *credential.Password) error {
	t.security = true
	return t.Tx.SavePassword(ctx, p)
}

func (t *countingTx) SavePIN(ctx context.Context, tenantID, accountID, hash string, at time.Time) error {
	t.security = true
	return t.Tx.SavePIN(ctx, tenantID, accountID, hash, at)
}

// countingHasher counts the real checks (Verify; DummyVerify is not one)
// and every call, can hold each check until its gate is closed, so that a
// test can have parallel calls all in flight at once, and can be busy.
type countingHasher struct {
	*passhash.Hasher
	verified, calls atomic.Int64
	// inside counts Verify calls waiting at the gate.
	inside atomic.Int64
	gate   chan struct{}
	// busy, when set, is every hash's answer: a full pool (Enter still
	// admits, as it does when callers arrive faster than they leave).
	busy bool
}

func errBusy() error {
	return errs.Unavailable(passhash.ReasonHasherBusy, "the server is busy, please try again", passhash.ErrQueueFull)
}

func (h *countingHasher) Verify(ctx context.Context, encoded, plain string) (bool, bool, error) {
	h.calls.Add(1)
	if h.busy {
		return false, false, errBusy()
	}
	h.verified.Add(1)
	if h.gate != nil {
		h.inside.Add(1)
		<-h.gate
	}
	return h.Hasher.Verify(ctx, encoded, plain)
}

func (h *countingHasher) DummyVerify(ctx context.Context, plain string) error {
	h.calls.Add(1)
	if h.busy {
		return errBusy()
	}
	return h.Hasher.DummyVerify(ctx, plain)
}

func (h *countingHasher) Hash(ctx context.Context, plain string) (string, error) {
	h.calls.Add(1)
	if h.busy {
		return "", errBusy()
	}
	return h.Hasher.Hash(ctx, plain)
}

func (h *countingHasher) MatchesAny(ctx context.Context, plain string, encoded []string) (bool, error) {
	h.calls.Add(1)
	return h.Hasher.MatchesAny(ctx, plain, encoded)
}

func (t *countingTx) ReserveDeviceAttempt(ctx context.Context, tenantID, deviceID string) (int, bool, error) {
	n, ok, err := t.Tx.ReserveDeviceAttempt(ctx, tenantID, deviceID)
	if ok && err == nil {
		t.s.deviceAttempts.Add(1)
	}
	return n, ok, err
}

func (s *countingStore) GetPassword(ctx context.Context, tenantID, accountID string) (*credential.Password, error) {
	s.passwordReads.Add(1)
	return s.Store.GetPassword(ctx, tenantID, accountID)
}

func (t *countingTx) GetPassword(ctx context.Context, tenantID, accountID string) (*credential.Password, error) {
	t.s.passwordReads.Add(1)
	return t.Tx.GetPassword(ctx, tenantID, accountID)
}

func (t *countingTx) Emit(ctx context.Context, ev store.Event) error {
	*t.emitted = append(*t.emitted, ev)
	return t.Tx.Emit(ctx, ev)
}

// fakeDirectory is the account service: accounts by id, one tenant per code.
type fakeDirectory struct {
	mu       sync.Mutex
	tenants  map[string]string // code → id
	accounts map[string]*credential.Subject
	lockouts int
	accepted []string
	imported []credential.ImportRow
	// notes are the accounts NoteSecurityChange was told of, in order;
	// noteErr, when set, is its answer; onNote, when set, runs at each
	// call (outside the lock), seeing what the account service would
	// read then.
	notes   []noted
	noteErr error
	// lookupErr, when set, is Lookup's answer (the account service away).
	lookupErr error
	onNote    func(tenantID, accountID string)
}

// noted is an account a NoteSecurityChange named.
type noted struct{ tenantID, accountID string }

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{tenants: map[string]string{}, accounts: map[string]*credential.Subject{}}
}

func (d *fakeDirectory) tenantID(code string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.tenants[code]; ok {
		return id
	}
	d.tenants[code] = ids.New()
	return d.tenants[code]
}

func (d *fakeDirectory) add(s *credential.Subject) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[s.AccountID] = s
}

// subject returns a copy of the account as the service would answer.
func (d *fakeDirectory) subject(id string) *credential.Subject {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := *d.accounts[id]
	return &c
}

func (d *fakeDirectory) setPolicy(id string, p credential.Policy) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[id].Policy = p
}

func (d *fakeDirectory) ResolveLogin(_ context.Context, tenantCode, login string) (*credential.Subject, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.accounts {
		if s.TenantCode == tenantCode && (s.Username == login || s.Email == login) {
			c := *s
			return &c, nil
		}
	}
	return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "not found")
}

// setLookupErr makes Lookup answer err (nil: the accounts again).
func (d *fakeDirectory) setLookupErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookupErr = err
}

func (d *fakeDirectory) Lookup(_ context.Context, tenantID, accountID string) (*credential.Subject, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lookupErr != nil {
		return nil, d.lookupErr
	}
	s, ok := d.accounts[accountID]
	if !ok || s.TenantID != tenantID {
		return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "not found")
	}
	c := *s
	return &c, nil
}

func (d *fakeDirectory) TenantID(_ context.Context, code string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.tenants[code]; ok {
		return id, nil
	}
	return "", errs.NotFound("TENANT_NOT_FOUND", "not found")
}

func (d *fakeDirectory) Policy(_ context.Context, tenantID string) (credential.Policy, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.accounts {
		if s.TenantID == tenantID {
			return s.Policy, nil
		}
	}
	return credential.Policy{}, nil
}

func (d *fakeDirectory) RecordLockout(_ context.Context, tenantID, accountID string, _ *time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lockouts++
	d.accounts[accountID].Status = credential.StatusLocked
	return nil
}

// ImportAccounts accepts every row, and notes those it created.
func (d *fakeDirectory) ImportAccounts(_ context.Context, _ string, rows []credential.ImportRow, validateOnly bool, _ credential.ImportKey) ([]credential.ImportOutcome, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]credential.ImportOutcome, len(rows))
	if !validateOnly {
		d.imported = append(d.imported, rows...)
		for i, r := range rows {
			out[i].AccountID = r.AccountID
		}
	}
	return out, !validateOnly, nil
}

func (d *fakeDirectory) RecordTermsAcceptance(_ context.Context, _, accountID, version string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if version != d.accounts[accountID].Policy.TermsVersion {
		return errs.Invalid(errs.Field("acceptTermsVersion", "TERMS_VERSION_NOT_CURRENT", "not the current version"))
	}
	d.accounts[accountID].AcceptedTermsVersion = version
	d.accepted = append(d.accepted, version)
	return nil
}

func (d *fakeDirectory) NoteSecurityChange(_ context.Context, tenantID, accountID string) error {
	d.mu.Lock()
	d.notes = append(d.notes, noted{tenantID, accountID})
	err, onNote := d.noteErr, d.onNote
	d.mu.Unlock()
	if onNote != nil {
		onNote(tenantID, accountID)
	}
	return err
}

// takeNotes returns the notes so far and forgets them.
func (d *fakeDirectory) takeNotes() []noted {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.notes
	d.notes = nil
	return n
}

// fakeMFA is the mfa service: accounts with TOTP on or an e-mailed key
// pending, one good code, and enrolments started at log-in. err, when
// set, is every call's answer (mfa away).
type fakeMFA struct {
	mu       sync.Mutex
	enrolled map[string]bool
	pending  map[string]bool
	good     string
	// started counts StartEnrollment calls per account; finished holds the
	// accounts whose enrolment was confirmed.
	started  map[string]int
	finished map[string]bool
	err      error
}

func (m *fakeMFA) Status(_ context.Context, _, accountID string) (credential.FactorStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return credential.FactorStatus{}, m.err
	}
	return credential.FactorStatus{TOTPEnabled: m.enrolled[accountID], EmailedKeyPending: m.pending[accountID]}, nil
}

func (m *fakeMFA) Verify(_ context.Context, _, accountID, code string, _ bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	ok := code == m.good
	if ok && m.pending[accountID] {
		// The first correct code of an e-mailed key confirms it.
		delete(m.pending, accountID)
		if m.enrolled == nil {
			m.enrolled = map[string]bool{}
		}
		m.enrolled[accountID] = true
	}
	return ok, nil
}

func (m *fakeMFA) StartEnrollment(_ context.Context, _, accountID string) (*credential.TOTPEnrollment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if m.started == nil {
		m.started = map[string]int{}
	}
	m.started[accountID]++
	return &credential.TOTPEnrollment{Secret: "JBSWY3DPEHPK3PXP", OtpauthURI: "otpauth://totp/Acme:" + accountID, QRPNG: []byte("\x89PNG")}, nil
}

func (m *fakeMFA) FinishEnrollment(_ context.Context, _, accountID, code string) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, false, m.err
	}
	if m.started[accountID] == 0 {
		return nil, false, credential.ErrEnrollmentNotStarted()
	}
	if code != m.good {
		return nil, false, nil
	}
	if m.enrolled == nil {
		m.enrolled = map[string]bool{}
	}
	m.enrolled[accountID] = true
	if m.finished == nil {
		m.finished = map[string]bool{}
	}
	m.finished[accountID] = true
	return []string{"aaaa-bbbb", "cccc-dddd"}, true, nil
}

// fakeRecovery is the recovery service: whether recovery info is set.
// err, when set, is its answer (recovery away).
type fakeRecovery struct {
	set bool
	err error
}

func (r *fakeRecovery) InfoSet(context.Context, string, string) (bool, error) { return r.set, r.err }
