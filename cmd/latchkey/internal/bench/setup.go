package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/libs/passhash"
)

// benchPassword is the password of every account the bench logs in with.
const benchPassword = "Bench-Sizing-Pass-2026"

// maxImportRows is the account service's bound on one import request.
const maxImportRows = 1000

// tenant is the bench's own tenant and its accounts.
type tenant struct {
	code, id string
	// users are the usernames that log in (benchPassword), ids their
	// account ids, in the same order.
	users, ids []string
}

// account is one row of POST /v1/admin/accounts:import.
type account struct {
	Username           string   `json:"username"`
	Email              string   `json:"email"`
	DisplayName        string   `json:"displayName"`
	Roles              []string `json:"roles"`
	LegacyPasswordHash string   `json:"legacyPasswordHash,omitempty"`
}

// newTenant creates a tenant with a code no one else has and n accounts
// that log in straight to a session: imported ACTIVE with an Argon2id hash
// of benchPassword made at params, the suite's own settings, so the first
// log-in does not rehash (which would add a hash and an event). Import
// costs one hash, where creating accounts and setting passwords would
// cost one per account.
func newTenant(ctx context.Context, a *api, operatorToken string, params passhash.Params, n int) (*tenant, error) {
	t := &tenant{code: "bench-" + strconv.FormatInt(time.Now().UnixMilli(), 36)}
	var created struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	err := a.do(ctx, call{method: "POST", path: "/v1/tenants", token: operatorToken, body: map[string]any{
		"code": t.code, "name": "latchkey bench " + t.code,
		// Plain usernames; no terms, no MFA: a log-in is one password check.
		"policy": map[string]any{"usernameIsEmail": false, "termsRequired": false},
	}}, &created)
	if err != nil {
		return nil, fmt.Errorf("creating the bench tenant: %w", err)
	}
	t.id = created.Tenant.ID
	hash, err := passhash.NewHasher(params, 1, 1).Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	rows := make([]account, n)
	for i := range rows {
		u := fmt.Sprintf("user%04d", i)
		rows[i] = account{Username: u, Email: u + "@login." + t.code + ".example", DisplayName: "Bench " + u,
			Roles: []string{"USER"}, LegacyPasswordHash: hash}
	}
	ids, err := importAccounts(ctx, a, operatorToken, t.code, rows)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		t.users, t.ids = append(t.users, r.Username), append(t.ids, ids[i])
	}
	// A log-in must answer a session, not a step: anything else would
	// measure other work.
	if _, err := a.login(ctx, t.code, t.users[0], benchPassword); err != nil {
		return nil, fmt.Errorf("the bench's first log-in: %w", err)
	}
	return t, nil
}

// importAccounts imports rows as an operator acting in the tenant, in
// requests of at most maxImportRows, and returns the new accounts' ids.
func importAccounts(ctx context.Context, a *api, operatorToken, code string, rows []account) ([]string, error) {
	var ids []string
	for len(rows) > 0 {
		batch := rows[:min(len(rows), maxImportRows)]
		rows = rows[len(batch):]
		var resp struct {
			ImportedCount int `json:"importedCount"`
			Results       []struct {
				AccountID    string `json:"accountId"`
				ErrorMessage string `json:"errorMessage"`
			} `json:"results"`
		}
		err := a.do(ctx, call{method: "POST", path: "/v1/admin/accounts:import", token: operatorToken, tenant: code,
			body: map[string]any{"accounts": batch}}, &resp)
		if err != nil {
			return nil, fmt.Errorf("importing the bench's accounts: %w", err)
		}
		if resp.ImportedCount != len(batch) || len(resp.Results) != len(batch) {
			msg := ""
			for _, r := range resp.Results {
				if r.ErrorMessage != "" {
					msg = r.ErrorMessage
					break
				}
			}
			return nil, fmt.Errorf("importing the bench's accounts: %d of %d imported (%s)", resp.ImportedCount, len(batch), msg)
		}
		for _, r := range resp.Results {
			ids = append(ids, r.AccountID)
		}
	}
	return ids, nil
}
