package credential

import (
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// Subject is an account as the credential service sees it: who it is,
// whether it may sign in, and its tenant's policy. The account service owns
// all of it; the credential service asks for it at each log-in.
type Subject struct {
	TenantID             string
	TenantCode           string
	AccountID            string
	Username             string
	Email                string
	DisplayName          string
	Roles                []string
	Status               string // ACTIVE, PENDING, LOCKED or DISABLED
	AcceptedTermsVersion string
	Policy               Policy
}

// Personal is the subject's names, which a password may not contain.
func (s *Subject) Personal() password.Personal {
	return password.Personal{Username: s.Username, Email: s.Email, DisplayName: s.DisplayName}
}

// Policy is the part of a tenant's policy the credential service applies.
type Policy struct {
	Rules             password.Rules
	HistoryCount      int
	MaxAgeDays        int
	ExpiryWarningDays int
	// TemporaryDays is how long a temporary password may be used; 0 = no
	// limit.
	TemporaryDays     int
	MaxFailedAttempts int
	LockoutMinutes    int // 0: until an admin unlocks
	TermsRequired     bool
	TermsVersion      string
	MFARequired       bool
	SecurityQuestions bool
	PINEnabled        bool
	PINLength         int
	// Session bounds how long a session lasts.
	Session SessionPolicy
}

// The statuses of Subject.Status.
const (
	StatusActive   = "ACTIVE"
	StatusPending  = "PENDING"
	StatusLocked   = "LOCKED"
	StatusDisabled = "DISABLED"
)

// ImportRow is one account of a legacy import.
type ImportRow struct {
	AccountID          string
	Username           string
	Email              string
	DisplayName        string
	Roles              []string
	LegacyPasswordHash string
}

// ImportOutcome is what became of one row: an error code and message when
// refused ("" when accepted), the account's id when created.
type ImportOutcome struct {
	ErrorCode    string
	ErrorMessage string
	AccountID    string
}

// ImportKey is the Idempotency-Key of an import call with its caller
// (libs/idempotency.ScopeOf), for the account service, which keeps it with
// the accounts it creates. The zero ImportKey: none.
type ImportKey struct {
	Request idempotency.Request
	Caller  string
}
