package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// Bounds of a key request's fields.
const (
	maxTenantCodeLen = 64
	maxLoginLen      = 320
)

// RequestKey asks for the authenticator key by e-mail (no sign-in). It
// answers the same, after the same work, whether or not the account
// exists: it only queues the request as given, in one write, and wakes the
// worker, which resolves the login and e-mails the key of a pending
// factor to an account that has no confirmed one (RunKeyWorker).
func (a *App) RequestKey(ctx context.Context, tenantCode, login string) error {
	tenantCode, login = strings.TrimSpace(tenantCode), strings.TrimSpace(login)
	var bad []errs.FieldViolation
	switch {
	case tenantCode == "":
		bad = append(bad, errs.Field("tenant", "REQUIRED", "enter your company code"))
	case utf8.RuneCountInString(tenantCode) > maxTenantCodeLen || !utf8.ValidString(tenantCode):
		bad = append(bad, errs.Field("tenant", "TOO_LONG", "a company code is at most 64 characters"))
	}
	switch {
	case login == "":
		bad = append(bad, errs.Field("login", "REQUIRED", "enter your username or e-mail address"))
	case utf8.RuneCountInString(login) > maxLoginLen || !utf8.ValidString(login):
		bad = append(bad, errs.Field("login", "TOO_LONG", "a username or e-mail address is at most 320 characters"))
	}
	if len(bad) > 0 {
		return errs.Invalid(bad...)
	}
	err := a.store.EnqueueKeyRequest(ctx, &factor.KeyRequest{ID: ids.New(), TenantCode: tenantCode, Login: login, CreatedAt: a.clock.Now()})
	if err != nil {
		return err
	}
	a.Wake()
	return nil
}

// Wake tells the key-request worker there is work now.
func (a *App) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}
