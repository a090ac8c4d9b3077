package app

import (
	"time"

	"github.com/latchkey/latchkey/libs/ttlcache"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// securityTTL bounds how long GET /v1/me may show an old answer when the
// service that changed it could not note the change (NoteSecurityChange
// failed: it logs a warning and keeps the change it made). Nothing the
// peers answer changes with time alone: password expiry is shown against
// the clock at each read, and the tenant's policy (password expiry, the
// questions required) is part of the check.
const securityTTL = 10 * time.Second

// securityCache keeps what the credential, mfa and recovery services
// answered about an account for GET /v1/me, the read frequent enough for
// these three calls to be most of its cost (issue 14). An answer is used
// only while the account's security stamp and the tenant's policy are
// what they were when it was asked: the services move the stamp on
// after every change of what they report, before they answer their user,
// and the stamp is in the database every replica reads.
//
// A read that asked the peers before a change and keeps their answer
// after it keeps it under the stamp it read before the change, which the
// change has already moved on: it is never used.
type securityCache struct {
	answers *ttlcache.Cache[accountKey, securityAnswers]
}

type accountKey struct{ tenantID, accountID string }

type securityAnswers struct {
	stamp    int64
	policy   account.Policy
	password *account.PasswordSummary
	security account.Security
}

// securityEntries bounds the accounts kept (a few hundred bytes each):
// enough for the users reading GET /v1/me within securityTTL on one
// replica; past it the cache starts again empty (ttlcache).
const securityEntries = 20_000

func newSecurityCache() *securityCache {
	return &securityCache{answers: ttlcache.New[accountKey, securityAnswers](securityTTL, securityEntries)}
}

// get returns the answers kept for acct in tenant t, when they are still
// good.
func (c *securityCache) get(acct *account.Account, t *account.Tenant) (securityAnswers, bool) {
	kept, ok := c.answers.Get(accountKey{acct.TenantID, acct.ID})
	if !ok || kept.stamp != acct.SecurityStamp || kept.policy != t.Policy {
		return securityAnswers{}, false
	}
	return kept, true
}

// put keeps the answers asked for acct, read with stamp acct.SecurityStamp.
func (c *securityCache) put(acct *account.Account, t *account.Tenant, pw *account.PasswordSummary, sec account.Security) {
	c.answers.Put(accountKey{acct.TenantID, acct.ID}, securityAnswers{
		stamp: acct.SecurityStamp, policy: t.Policy, password: pw, security: sec,
	})
}
