// Package recovery is the recovery service's domain: link tokens and reset
// tickets (256-bit random secrets of which only the SHA-256 is kept),
// forgot-password requests, security questions and their answers'
// normalization, and the service's errors. It does no I/O.
package recovery

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/latchkey/latchkey/libs/errs"
)

// Kind is what a link token is for.
type Kind string

// The kinds of link tokens.
const (
	Activation Kind = "ACTIVATION"
	Reset      Kind = "RESET"
)

// Defaults of the link lifetimes and bounds.
const (
	DefaultActivationTTL = 72 * time.Hour
	DefaultResetTTL      = 30 * time.Minute
	// TicketTTL is how long a reset ticket from :verify lives.
	TicketTTL = 5 * time.Minute
	// DefaultMaxVerifyTries is how many wrong proofs one reset link takes
	// before it is void.
	DefaultMaxVerifyTries = 3
)

// Proofs a reset may need besides the link (the values of
// ResetRequirement and PasswordResetCompleted.verified_with).
const (
	ProofTOTP    = "TOTP_CODE"
	ProofAnswers = "SECURITY_ANSWERS"
)

// Hash is the SHA-256 of a secret: what the store keeps.
type Hash [32]byte

// NewSecret returns a fresh 256-bit secret, base64url without padding,
// and its hash.
func NewSecret() (string, Hash) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	plain := base64.RawURLEncoding.EncodeToString(b[:])
	return plain, HashOf(plain)
}

// HashOf returns the hash of a secret.
func HashOf(plain string) Hash { return sha256.Sum256([]byte(plain)) }

// WellFormed reports whether s looks like a secret of NewSecret: anything
// else is refused like an unknown one, without a query.
func WellFormed(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// Recipient is where a link's e-mail goes when the request knows it (an
// invitation event carries the account's address, name and locale): the
// notification service then sends it without reading the account. The
// zero value is the account's own, read when the e-mail is sent.
type Recipient struct{ Address, Name, Locale string }

// LinkToken is an e-mailed link's token, as stored.
type LinkToken struct {
	Hash      Hash
	TenantID  string
	AccountID string
	Kind      Kind
	// RequestID is the idempotency key of the request that issued it.
	RequestID   string
	ByAdmin     bool
	FailedTries int
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
	VoidedAt    *time.Time
}

// Usable reports whether t may still be used at now.
func (t *LinkToken) Usable(now time.Time) bool {
	return t.UsedAt == nil && t.VoidedAt == nil && now.Before(t.ExpiresAt)
}

// Ticket is a reset ticket, as stored.
type Ticket struct {
	Hash      Hash
	TokenHash Hash
	TenantID  string
	AccountID string
	// VerifiedWith are the proofs :verify checked.
	VerifiedWith []string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
}

// ResetRequest is a forgot-password request waiting for the worker.
type ResetRequest struct {
	ID         string
	TenantCode string
	Login      string
	Kind       Kind
	CreatedAt  time.Time
	Attempts   int
}

// Question is a security question with its answer's hash.
type Question struct {
	Question   string
	AnswerHash string
}

// Reasons of the service's errors.
const (
	// ReasonLinkTokenInvalid is the one answer to an unknown, used, void
	// or expired link token: the caller learns nothing more.
	ReasonLinkTokenInvalid   = "LINK_TOKEN_INVALID"
	ReasonResetTicketInvalid = "RESET_TICKET_INVALID"
	// ReasonVerificationRequired: the link alone is not enough (inspect's
	// requires is not empty); :verify first.
	ReasonVerificationRequired = "RESET_VERIFICATION_REQUIRED"
	ReasonTOTPInvalid          = "TOTP_CODE_INVALID"
	ReasonAnswersInvalid       = "SECURITY_ANSWERS_INVALID"
)

// ErrLinkTokenInvalid is the refusal of a link token that cannot be used.
func ErrLinkTokenInvalid() error {
	return errs.Unauthenticated(ReasonLinkTokenInvalid, "the link is invalid, used or expired; ask for a new one")
}

// ErrTicketInvalid is the refusal of a reset ticket that cannot be used.
func ErrTicketInvalid() error {
	return errs.Unauthenticated(ReasonResetTicketInvalid, "the reset ticket is invalid, used or expired; verify again")
}

// Limits of security questions.
const (
	MaxQuestions      = 10
	MaxQuestionLength = 200
	MaxAnswerLength   = 200
	MinAnswerLength   = 2
)

// NormalizeAnswer is how answers are compared: Unicode NFKC, case-folded,
// runs of white space made one space, trimmed.
func NormalizeAnswer(s string) string {
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// normalizeQuestion collapses the white space of a question, for showing
// and for telling questions apart.
func normalizeQuestion(s string) string {
	return strings.Join(strings.FieldsFunc(norm.NFKC.String(s), unicode.IsSpace), " ")
}

// QA is a question with its plain answer, as the user types them.
type QA struct{ Question, Answer string }

// CheckQuestions validates the user's questions for a tenant that requires
// required of them, naming every broken rule's field, and returns them with
// questions tidied and answers normalized.
func CheckQuestions(qs []QA, required int) ([]QA, error) {
	var v errs.Violations
	if len(qs) < max(required, 1) {
		v.Add("questions", "TOO_FEW_QUESTIONS", "at least "+itoa(max(required, 1))+" questions are required")
	}
	if len(qs) > MaxQuestions {
		v.Add("questions", "TOO_MANY_QUESTIONS", "at most "+itoa(MaxQuestions)+" questions")
		return nil, v.Err()
	}
	seen := map[string]int{}
	out := make([]QA, len(qs))
	for i, q := range qs {
		f := "questions[" + itoa(i) + "]"
		question := normalizeQuestion(q.Question)
		answer := NormalizeAnswer(q.Answer)
		switch {
		case question == "":
			v.Add(f+".question", "REQUIRED", "the question is required")
		case utf8.RuneCountInString(question) > MaxQuestionLength:
			v.Add(f+".question", "TOO_LONG", "a question is at most "+itoa(MaxQuestionLength)+" characters")
		default:
			key := cases.Fold().String(question)
			if j, dup := seen[key]; dup {
				v.Add(f+".question", "DUPLICATE_QUESTION", "the same question as questions["+itoa(j)+"]")
			}
			seen[key] = i
		}
		switch n := utf8.RuneCountInString(answer); {
		case n == 0:
			v.Add(f+".answer", "REQUIRED", "the answer is required")
		case n < MinAnswerLength:
			v.Add(f+".answer", "TOO_SHORT", "an answer is at least "+itoa(MinAnswerLength)+" characters")
		case utf8.RuneCountInString(q.Answer) > MaxAnswerLength:
			v.Add(f+".answer", "TOO_LONG", "an answer is at most "+itoa(MaxAnswerLength)+" characters")
		}
		out[i] = QA{Question: question, Answer: answer}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
