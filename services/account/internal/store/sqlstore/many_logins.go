package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// manyChunk bounds the values of one IN list or the rows of one INSERT:
// both engines limit a statement's placeholders.
const manyChunk = 200

// chunks calls fn with consecutive parts of values of at most manyChunk.
func chunks(values []string, fn func(part []string) error) error {
	for start := 0; start < len(values); start += manyChunk {
		if err := fn(values[start:min(start+manyChunk, len(values))]); err != nil {
			return err
		}
	}
	return nil
}

func (r reader) TakenLogins(ctx context.Context, tenantID string, usernames, emails []string) (map[string]bool, map[string]bool, error) {
	takenUsernames, takenEmails := map[string]bool{}, map[string]bool{}
	wanted := map[string]bool{}
	for _, u := range usernames {
		wanted["u"+u] = true
	}
	for _, e := range emails {
		wanted["e"+e] = true
	}
	// One list for both columns: a value is looked up as both, like
	// FindAccountByLogin, and the answer is sorted out here.
	values := make([]string, 0, len(usernames)+len(emails))
	values = append(append(values, usernames...), emails...)
	err := chunks(values, func(part []string) error {
		in := dbx.Placeholders(2, len(part))
		args := append([]any{tenantID}, anys(part)...)
		found, err := collect(ctx, r.q, scanPair, `SELECT username_folded, email_folded FROM accounts
			WHERE tenant_id = $1 AND (username_folded IN (`+in+`) OR email_folded IN (`+in+`))`, args...)
		for _, f := range found {
			if wanted["u"+f[0]] {
				takenUsernames[f[0]] = true
			}
			if wanted["e"+f[1]] {
				takenEmails[f[1]] = true
			}
		}
		return err
	})
	return takenUsernames, takenEmails, err
}

func (r reader) ReleasedUsernames(ctx context.Context, tenantID string, usernames []string, since time.Time) (map[string][]string, error) {
	released := map[string][]string{}
	err := chunks(usernames, func(part []string) error {
		args := append([]any{tenantID, since}, anys(part)...)
		found, err := collect(ctx, r.q, scanPair, `SELECT username_folded, account_id FROM released_usernames
			WHERE tenant_id = $1 AND released_at >= $2 AND username_folded IN (`+dbx.Placeholders(3, len(part))+`)`, args...)
		for _, f := range found {
			released[f[0]] = append(released[f[0]], f[1])
		}
		return err
	})
	return released, err
}

func scanPair(rows dbx.Rows) ([2]string, error) {
	var p [2]string
	err := rows.Scan(&p[0], &p[1])
	return p, err
}

func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// accountRowsPerInsert keeps an INSERT of accounts under both engines'
// placeholder limits (20 columns a row).
const accountRowsPerInsert = 50

func (t *tx) CreateAccounts(ctx context.Context, accts []*account.Account) (int, error) {
	usernames, emails := make([]string, len(accts)), make([]string, len(accts))
	for i, a := range accts {
		usernames[i], emails[i] = account.FoldUsername(a.Username), account.FoldEmail(a.Email)
	}
	// Checked first, as CreateAccount does, so that the conflict names its
	// row and field on both engines; the unique constraints still guard
	// against a concurrent insert (then no row is named).
	takenUsernames, takenEmails, err := t.TakenLogins(ctx, accts[0].TenantID, usernames, emails)
	if err != nil {
		return -1, err
	}
	for i := range accts {
		switch {
		case takenUsernames[usernames[i]]:
			return i, errUsernameTaken()
		case takenEmails[emails[i]]:
			return i, errEmailTaken()
		}
	}
	for start := 0; start < len(accts); start += accountRowsPerInsert {
		part := accts[start:min(start+accountRowsPerInsert, len(accts))]
		var q strings.Builder
		q.WriteString(`INSERT INTO accounts (` + accountColumns + `, username_folded, email_folded, login_key_version) VALUES `)
		args := make([]any, 0, 20*len(part))
		for i, a := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(%s)", dbx.Placeholders(len(args)+1, 20))
			args = append(args, a.ID, a.TenantID, a.Username, a.Email, a.DisplayName, joinRoles(a.Roles), string(a.Status), string(a.LockReason), a.Locale,
				a.AcceptedTermsVersion, a.CreatedAt, a.UpdatedAt, a.LastLoginAt, a.ActivatedAt, a.LockedUntil, a.FreshStartAt, a.SecurityStamp,
				usernames[start+i], emails[start+i], loginKeyVersion)
		}
		if _, err := t.dtx.Exec(ctx, q.String(), args...); err != nil {
			return -1, mapAccountConflict(err)
		}
	}
	return -1, nil
}
