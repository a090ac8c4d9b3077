package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	recoveryevents "github.com/latchkey/latchkey/services/recovery/internal/events"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// SetSecurityQuestions replaces the signed-in user's security questions
// with their own (at least the tenant's securityQuestionsRequired,
// distinct), the answers normalized and Argon2id-hashed. It needs a recent
// authentication (a fresh log-in or a reauth) and a tenant that uses
// questions: they are only ever an extra check after the e-mailed link.
func (a *App) SetSecurityQuestions(ctx context.Context, p *authn.Principal, qs []recovery.QA) error {
	if err := authn.RequireAccount(p); err != nil {
		return err
	}
	if err := authn.RequireRecentAuth(p, a.Clock.Now(), authn.ReauthMaxAge); err != nil {
		return err
	}
	tenant, err := a.Accounts.Tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	if !tenant.Policy.SecurityQuestions {
		return errs.FailedPrecondition("SECURITY_QUESTIONS_DISABLED", "this organization does not use security questions")
	}
	checked, err := recovery.CheckQuestions(qs, tenant.Policy.QuestionsRequired)
	if err != nil {
		return err
	}
	stored := make([]recovery.Question, len(checked))
	for i, q := range checked {
		h, err := a.Hasher.Hash(ctx, q.Answer)
		if err != nil {
			return err
		}
		stored[i] = recovery.Question{Question: q.Question, AnswerHash: h}
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if err := tx.ReplaceQuestions(ctx, p.TenantID, p.AccountID, stored, now); err != nil {
			return err
		}
		// Noted whether or not the questions changed (new answers alone
		// change nothing the status shows): a rare call, and no race
		// between two changes can leave one unnoted.
		a.noteSecurityChange(ctx, tx, p.TenantID, p.AccountID)
		return tx.Emit(ctx, recoveryevents.SecurityQuestionsSet(p.TenantID, p.AccountID, len(stored), events.ActorOf(p, ""), now))
	})
}

// Status is an account's recovery information.
type Status struct {
	// QuestionsSet: the account has set at least the questions the tenant
	// requires.
	QuestionsSet  bool
	EmailVerified bool
	Questions     []string
	Required      int
	// InfoSet: nothing to prompt for (SET_RECOVERY_INFO): the tenant does
	// not use questions, or the account has set them.
	InfoSet bool
}

func (a *App) status(ctx context.Context, tenantID, accountID string) (*Status, error) {
	tenant, err := a.Accounts.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	qs, err := a.Store.Questions(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	verified, err := a.Store.EmailVerified(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	s := &Status{EmailVerified: verified, QuestionsSet: len(qs) > 0 && len(qs) >= tenant.Policy.QuestionsRequired}
	if tenant.Policy.SecurityQuestions {
		s.Required = max(tenant.Policy.QuestionsRequired, 1)
	}
	s.InfoSet = !tenant.Policy.SecurityQuestions || s.QuestionsSet
	for _, q := range qs {
		s.Questions = append(s.Questions, q.Question)
	}
	return s, nil
}

// GetRecoveryStatus returns the signed-in user's recovery information
// (their own questions, never the answers).
func (a *App) GetRecoveryStatus(ctx context.Context, p *authn.Principal) (*Status, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	return a.status(ctx, p.TenantID, p.AccountID)
}

// GetRecoveryInfo returns an account's recovery information for another
// service (the SET_RECOVERY_INFO prompt).
func (a *App) GetRecoveryInfo(ctx context.Context, tenantID, accountID string) (*Status, error) {
	if err := checkRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.status(ctx, tenantID, accountID)
}
