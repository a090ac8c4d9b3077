package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

// resetCase is a usable reset link with what completing it needs.
type resetCase struct {
	token  *recovery.LinkToken
	acct   *Account
	tenant *Tenant
	// requires are the proofs besides the link (recovery.ProofTOTP,
	// recovery.ProofAnswers), in that order.
	requires  []string
	questions []recovery.Question
}

// usableLink returns the link token plain names when it is of kind and
// usable now; any other token (malformed, unknown, used, void, expired,
// of the other kind) is the one LINK_TOKEN_INVALID.
func (a *App) usableLink(ctx context.Context, plain string, kind recovery.Kind) (*recovery.LinkToken, error) {
	if !recovery.WellFormed(plain) {
		return nil, recovery.ErrLinkTokenInvalid()
	}
	t, err := a.Store.LinkToken(ctx, recovery.HashOf(plain))
	if errs.Is(err, errs.KindNotFound) {
		return nil, recovery.ErrLinkTokenInvalid()
	}
	if err != nil {
		return nil, err
	}
	if t.Kind != kind || !t.Usable(a.Clock.Now()) {
		return nil, recovery.ErrLinkTokenInvalid()
	}
	return t, nil
}

// resetCaseOf works out what the reset of t needs: a TOTP code when the
// account has a factor (or an e-mailed key waiting for its first code) or
// the tenant sets resetRequiresMfa; security answers when the tenant uses
// questions and the account has set them. The mfa service not answering is
// an error: a reset never goes past a factor it could not ask about.
func (a *App) resetCaseOf(ctx context.Context, t *recovery.LinkToken) (*resetCase, error) {
	acct, err := a.Accounts.Lookup(ctx, t.TenantID, t.AccountID)
	if errs.Is(err, errs.KindNotFound) {
		return nil, recovery.ErrLinkTokenInvalid()
	}
	if err != nil {
		return nil, err
	}
	if acct.Status == StatusDisabled {
		return nil, recovery.ErrLinkTokenInvalid()
	}
	tenant, err := a.Accounts.Tenant(ctx, t.TenantID)
	if err != nil {
		return nil, err
	}
	c := &resetCase{token: t, acct: acct, tenant: tenant}
	needsCode := tenant.Policy.ResetRequiresMFA
	if !needsCode {
		if needsCode, err = a.Factors.NeedsCode(ctx, t.TenantID, t.AccountID); err != nil {
			return nil, err
		}
	}
	if needsCode {
		c.requires = append(c.requires, recovery.ProofTOTP)
	}
	if tenant.Policy.SecurityQuestions {
		qs, err := a.Store.Questions(ctx, t.TenantID, t.AccountID)
		if err != nil {
			return nil, err
		}
		if len(qs) > 0 {
			c.requires = append(c.requires, recovery.ProofAnswers)
			c.questions = qs
		}
	}
	return c, nil
}

// Inspection is what a reset link needs, for the reset page.
type Inspection struct {
	Requires  []string
	Questions []string
	Rules     PasswordRules
	ExpiresAt time.Time
	// Username names the account (for the page's password managers).
	Username string
}

// InspectPasswordReset tells what the reset of a link needs, without using
// the link up. The questions are shown here only: to someone who opened
// the e-mailed link.
func (a *App) InspectPasswordReset(ctx context.Context, token string) (*Inspection, error) {
	t, err := a.usableLink(ctx, token, recovery.Reset)
	if err != nil {
		return nil, err
	}
	c, err := a.resetCaseOf(ctx, t)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Requires: c.requires, Rules: c.tenant.Policy.Rules, ExpiresAt: t.ExpiresAt, Username: c.acct.Username}
	for _, q := range c.questions {
		in.Questions = append(in.Questions, q.Question)
	}
	return in, nil
}
