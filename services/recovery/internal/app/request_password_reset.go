package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

// Bounds of a forgot-password request's fields (a tenant code, a username
// or an e-mail address).
const (
	maxTenantLen = 64
	maxLoginLen  = 320
)

// RequestPasswordReset is "forgot password": it stores the request (one
// write, nothing looked up) and wakes the worker, which finds the account
// and e-mails it a link. The answer is the same, in about the same time,
// whether or not the tenant and the account exist; only malformed input is
// refused, and that says nothing about any account either.
func (a *App) RequestPasswordReset(ctx context.Context, tenantCode, login string) error {
	tenantCode, login = strings.TrimSpace(tenantCode), strings.TrimSpace(login)
	var v errs.Violations
	switch {
	case tenantCode == "":
		v.Add("tenant", "REQUIRED", "the company code is required")
	case utf8.RuneCountInString(tenantCode) > maxTenantLen:
		v.Add("tenant", "TOO_LONG", "a company code is at most 64 characters")
	}
	switch {
	case login == "":
		v.Add("login", "REQUIRED", "the username or e-mail address is required")
	case utf8.RuneCountInString(login) > maxLoginLen:
		v.Add("login", "TOO_LONG", "a username or e-mail address is at most 320 characters")
	}
	if err := v.Err(); err != nil {
		return err
	}
	err := a.Store.Enqueue(ctx, &recovery.ResetRequest{ID: ids.New(), TenantCode: tenantCode, Login: login,
		Kind: recovery.Reset, CreatedAt: a.Clock.Now()})
	if err != nil {
		return err
	}
	a.Wake()
	return nil
}
