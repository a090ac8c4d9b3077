package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// ImportRow is one account of a legacy import, with the id the credential
// service stored its password hash under.
type ImportRow struct {
	ID          string
	Username    string
	Email       string
	DisplayName string
	Roles       []account.Role
	Locale      string
	// Pending: the row came without a password; the account is created
	// PENDING and invited (AccountInvited: recovery e-mails the link).
	Pending bool
}

// ImportResult is what became of one row: its account, or why not.
type ImportResult struct {
	Account *account.Account
	Err     error
}

// MaxImportRows bounds one import request.
const MaxImportRows = 1000

// ImportKey is the idempotency key of an import: the administrator's
// key of the public call, fingerprinted by the credential service (which
// received it and alone sees the password hashes), in the scope of that
// administrator. The zero ImportKey is an import without one.
type ImportKey struct {
	Scope   idempotency.Scope
	Request idempotency.Request
}

// ImportAccounts creates the accounts of a legacy import in one
// transaction, all or none: ACTIVE with their password, or PENDING with an
// activation e-mail (AccountInvited) for a row without one. Every row is checked first (fields, the
// tenant's username rule, conflicts with existing accounts and with the
// other rows), so one answer reports every refused row. created is false
// when any row was refused, or with validateOnly.
//
// With a key (the REST Idempotency-Key), an import is made once: a call
// whose key already made an import answers that import's accounts, with
// created true even with validateOnly (so the credential service stores
// no second set of hashes), and creates nothing; the same key with
// another request is a Conflict (IDEMPOTENCY_KEY_REUSED).
func (a *App) ImportAccounts(ctx context.Context, tenantID string, rows []ImportRow, validateOnly bool, key ImportKey) (results []ImportResult, created bool, err error) {
	if err := ids.Check("tenantId", tenantID); err != nil {
		return nil, false, err
	}
	if len(rows) == 0 || len(rows) > MaxImportRows {
		return nil, false, errs.Invalid(errs.Field("accounts", "OUT_OF_RANGE", fmt.Sprintf("1 to %d accounts per request", MaxImportRows)))
	}
	key.Scope.TenantID = tenantID
	var first []*account.Account
	if replayed, err := a.replayed(ctx, a.store, key.Scope, key.Request, &first); replayed || err != nil {
		return importedBefore(first, err)
	}
	t, err := a.store.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, false, err
	}
	results = make([]ImportResult, len(rows))
	seen := map[string]int{} // folded username or e-mail → row
	for i, r := range rows {
		if len(r.Roles) == 0 {
			r.Roles = []account.Role{account.RoleUser}
		}
		locale := r.Locale
		if locale == "" {
			locale = t.Policy.Locale
		}
		status := account.StatusActive
		if r.Pending {
			status = account.StatusPending
		}
		acct := &account.Account{ID: r.ID, TenantID: t.ID, Username: r.Username, Email: r.Email, DisplayName: r.DisplayName,
			Roles: r.Roles, Status: status, Locale: locale}
		err := errs.JoinInvalid(ids.Check("accountId", r.ID), account.ValidateNewAccount(acct, t.Policy, ""))
		for _, key := range importKeys(r) {
			if err != nil || key.value == "" {
				continue
			}
			folded := key.fold(key.value)
			if j, dup := seen[folded]; dup && j == i {
				continue // the e-mail address is this row's username (usernameIsEmail): checked already
			} else if dup {
				err = errs.Conflict(key.field, "DUPLICATE_IN_IMPORT", fmt.Sprintf("row %d has the same %s", j, key.field))
				continue
			}
			seen[folded] = i
		}
		results[i] = ImportResult{Account: acct, Err: err}
	}
	if err := a.checkImportAgainstStore(ctx, t.ID, rows, results); err != nil {
		return nil, false, err
	}
	refused := false
	for _, res := range results {
		refused = refused || res.Err != nil
	}
	if refused && key.Request.Has() {
		// A copy of this call sent at the same time (a client retrying
		// hard) may have created these accounts since the key was looked
		// up: its accounts are this call's answer, not LOGIN_TAKEN.
		if replayed, err := a.replayed(ctx, a.store, key.Scope, key.Request, &first); replayed || err != nil {
			return importedBefore(first, err)
		}
	}
	if refused || validateOnly {
		return results, false, nil
	}
	actor := events.ActorOf(nil, "import")
	failedAt := -1
	accounts := make([]*account.Account, len(results))
	for i, res := range results {
		accounts[i] = res.Account
	}
	replayed, err := a.createOnce(ctx, key.Scope, key.Request, func(tx store.Tx, now time.Time) error {
		// The events go out in one write at the end: a statement per event
		// was a third of an import's round trips.
		evs := make([]store.Event, 0, 2*len(results))
		for _, res := range results {
			res.Account.Created(now)
		}
		var err error
		if failedAt, err = tx.CreateAccounts(ctx, accounts); err != nil {
			return err
		}
		for _, res := range results {
			evs = append(evs, accountevents.AccountImported(res.Account, actor))
			if res.Account.Status == account.StatusPending {
				evs = append(evs, accountevents.AccountInvited(res.Account, actor, now))
			}
		}
		return tx.EmitAll(ctx, evs)
	}, accounts, &first)
	if replayed {
		return importedBefore(first, err)
	}
	var e *errs.Error
	if failedAt >= 0 && errors.As(err, &e) {
		// A row taken meanwhile by a concurrent change: nothing was
		// created; say which.
		results[failedAt].Err = err
		return results, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// Many accounts at once: the log-ins and imports that follow must not
	// use plans made for a smaller table (RefreshStatistics). The import
	// is made whatever happens here.
	if err := a.store.RefreshStatistics(ctx, len(results)); err != nil {
		a.opts.Logger.WarnContext(ctx, "account: statistics not refreshed after an import", "tenant_id", tenantID, "err", err)
	}
	return results, true, nil
}

// importKey is a login of an import row: its username or its e-mail
// address, with how it is compared.
type importKey struct {
	field, value string
	fold         func(string) string
}

func importKeys(r ImportRow) []importKey {
	return []importKey{{"username", r.Username, account.FoldUsername}, {"email", r.Email, account.FoldEmail}}
}

// checkImportAgainstStore refuses, in results, the rows not refused yet
// whose username or e-mail address an account of the tenant has, or whose
// username another account gave up too recently. It asks the store for
// every row at once: a few reads a row, one at a time, were most of an
// import's work on PostgreSQL (and an import is checked twice, when the
// credential service validates it before hashing its passwords).
func (a *App) checkImportAgainstStore(ctx context.Context, tenantID string, rows []ImportRow, results []ImportResult) error {
	var usernames, emails, names []string
	for i, r := range rows {
		if results[i].Err != nil {
			continue
		}
		for _, key := range importKeys(r) {
			if key.value != "" {
				usernames = append(usernames, account.FoldUsername(key.value))
				emails = append(emails, account.FoldEmail(key.value))
			}
		}
		names = append(names, account.FoldUsername(r.Username))
	}
	if len(names) == 0 {
		return nil
	}
	takenUsernames, takenEmails, err := a.store.TakenLogins(ctx, tenantID, usernames, emails)
	if err != nil {
		return err
	}
	var released map[string][]string
	if a.opts.UsernameReuse > 0 {
		if released, err = a.store.ReleasedUsernames(ctx, tenantID, names, a.clock.Now().Add(-a.opts.UsernameReuse)); err != nil {
			return err
		}
	}
	for i, r := range rows {
		if results[i].Err != nil {
			continue
		}
		for _, key := range importKeys(r) {
			if key.value != "" && results[i].Err == nil &&
				(takenUsernames[account.FoldUsername(key.value)] || takenEmails[account.FoldEmail(key.value)]) {
				results[i].Err = errs.Conflict(key.field, "LOGIN_TAKEN", "an account of this tenant already has this username or e-mail address")
			}
		}
		if results[i].Err == nil && releasedByAnother(released[account.FoldUsername(r.Username)], r.ID) {
			results[i].Err = a.errUsernameRecentlyReleased("username")
		}
	}
	return nil
}

// releasedByAnother reports whether an account other than id is among
// those that released a username.
func releasedByAnother(by []string, id string) bool {
	for _, b := range by {
		if !strings.EqualFold(b, id) {
			return true
		}
	}
	return false
}

// importedBefore is the answer of the import that a key made before: its
// accounts, created.
func importedBefore(accounts []*account.Account, err error) ([]ImportResult, bool, error) {
	if err != nil {
		return nil, false, err
	}
	results := make([]ImportResult, len(accounts))
	for i, acct := range accounts {
		results[i] = ImportResult{Account: acct}
	}
	return results, true, nil
}
