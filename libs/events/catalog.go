package events

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/latchkey/latchkey/libs/authn"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// Subjects of the recovery, notification and signing-key events, named here
// with the others so the catalog holds every subject of the stream.
const (
	PasswordResetRequested = Prefix + "recovery.password_reset_requested"
	PasswordResetCompleted = Prefix + "recovery.password_reset_completed"
	SecurityQuestionsSet   = Prefix + "recovery.security_questions_set"
	NotificationSent       = Prefix + "notification.sent"
	NotificationFailed     = Prefix + "notification.failed"
	// SigningKeyRotated is libs/authn's subject (authn follows it, and
	// this package imports authn, not the other way round).
	SigningKeyRotated = authn.SigningKeyRotatedSubject
)

// Entry describes one event of the events stream for the systems that
// subscribe to it: what docs/events.md tells them, kept in code so a test
// can hold the document and the proto file to it.
type Entry struct {
	// Subject is the NATS subject the event is published on.
	Subject string
	// Message is the payload's type (an empty message); its full name is
	// the Latchkey-Event-Type header.
	Message proto.Message
	// Publisher is the service that publishes it.
	Publisher string
	// When says which call or change publishes it.
	When string
}

// Type is the value of the event's Latchkey-Event-Type header: the
// protobuf full name of its payload.
func (e Entry) Type() string { return string(e.Message.ProtoReflect().Descriptor().FullName()) }

// PersonalData lists what the event's payload says about a person beyond
// ids (every event names an account by id), from the fields' names in
// PersonalFields.
func (e Entry) PersonalData() []string {
	var out []string
	fields := e.Message.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if what := personal(fields.Get(i)); what != "" && !slices.Contains(out, what) {
			out = append(out, what)
		}
	}
	return out
}

// personal says what personal data field f holds, "" for none: by its full
// name (one message's field), else by its name.
func personal(f protoreflect.FieldDescriptor) string {
	if what, ok := PersonalFields[string(f.FullName())]; ok {
		return what
	}
	return PersonalFields[string(f.Name())]
}

// PersonalFields names the event fields that carry personal data, by name
// or by full name (one message's field), and says what they hold;
// NotPersonalFields the rest. A test fails on an event field in neither,
// so a new field is classified before it ships.
var PersonalFields = map[string]string{
	"email":        "e-mail address",
	"username":     "username",
	"old_username": "username",
	"new_username": "username",
	"display_name": "name",
	"ip":           "IP address",
	"user_agent":   "user agent",
	"device_name":  "device name",
	"locale":       "language",
	// NotificationFailed's reason is the SMTP server's error text, which
	// often quotes the recipient's address (elsewhere a reason is a code).
	"latchkey.events.v1.NotificationFailed.reason": "error text (may quote the e-mail address)",
}

// NotPersonalFields are the event fields that say nothing about a person
// beyond the ids every event carries.
var NotPersonalFields = map[string]bool{
	"meta": true, "tenant_id": true, "account_id": true, "session_id": true, "delivery_id": true,
	"code": true, "name": true, "policy": true, "changed_fields": true, "version": true,
	"roles": true, "status": true, "activation": true, "imported": true, "unlock_time": true,
	"previous_reason": true, "cause": true, "expire_time": true, "temporary": true, "first": true,
	"amr": true, "new_device": true, "failed_count": true, "access_expire_time": true,
	"key_id": true, "reason": true, "retired_key_ids": true, "factor_type": true, "by_admin": true,
	"verified_with": true, "count": true, "template": true, "attempts": true,
}

// Catalog returns every event published on the events stream, in the order
// of docs/events.md.
func Catalog() []Entry {
	const (
		account, credential, mfa, recovery, notification = "account", "credential", "mfa", "recovery", "notification"
	)
	return []Entry{
		{TenantCreated, &eventsv1.TenantCreated{}, account, "a tenant is created: `POST /v1/tenants`, `latchkey tenant create`, the platform tenant at first start"},
		{TenantUpdated, &eventsv1.TenantUpdated{}, account, "a tenant's name changes: `PATCH /v1/tenants/{code}`"},
		{TenantPolicyChanged, &eventsv1.TenantPolicyChanged{}, account, "a tenant's policy changes: `PATCH /v1/admin/tenant/policy`, `PATCH /v1/tenants/{code}`"},
		{TermsPublished, &eventsv1.TermsPublished{}, account, "a terms version is published: `POST /v1/admin/tenant/terms`"},
		{AccountCreated, &eventsv1.AccountCreated{}, account, "an account is created: `POST /v1/admin/accounts`, a tenant's `firstAdmin`, each row of `POST /v1/admin/accounts:import` (`imported`), the first operator at first start"},
		{AccountInvited, &eventsv1.AccountInvited{}, account, "an account created with activation `EMAIL_LINK` (or imported without a hash) needs its activation e-mail; the recovery service issues the link"},
		{AccountUpdated, &eventsv1.AccountUpdated{}, account, "an account's e-mail address, name, language or roles change: `PATCH /v1/admin/accounts/{id}`"},
		{UsernameChanged, &eventsv1.UsernameChanged{}, account, "an account's login ID changes: `:changeUsername`, or a new e-mail address in a `usernameIsEmail` tenant"},
		{AccountLocked, &eventsv1.AccountLocked{}, account, "an account is locked: `:lock` (reason `ADMIN`), too many failed log-ins (`FAILED_ATTEMPTS`), the inactivity sweep (`INACTIVITY`)"},
		{AccountUnlocked, &eventsv1.AccountUnlocked{}, account, "a lock ends: `:unlock`, `:reactivate`, a completed password reset, a lockout that ran out"},
		{AccountDisabled, &eventsv1.AccountDisabled{}, account, "an account is disabled: `:disable`"},
		{AccountReactivated, &eventsv1.AccountReactivated{}, account, "a disabled account comes back: `:reactivate`"},
		{AccountActivated, &eventsv1.AccountActivated{}, account, "a PENDING account sets its first password from its activation (or reset) link and becomes ACTIVE"},
		{TermsAccepted, &eventsv1.TermsAccepted{}, account, "a user accepts the current terms: `POST /v1/me/terms:accept`, the `ACCEPT_TERMS` log-in step"},
		{PasswordChanged, &eventsv1.PasswordChanged{}, credential, "a password changes (`cause`): `POST /v1/me/password`, the `CHANGE_PASSWORD` log-in step, activation, a completed reset, a legacy hash upgraded at log-in (`REHASH`)"},
		{PasswordSetByAdmin, &eventsv1.PasswordSetByAdmin{}, credential, "an administrator sets a password: `POST /v1/admin/accounts/{id}:setPassword` (`temporary`: to be changed at the next log-in; the temporary password of a new account has no event)"},
		{PinChanged, &eventsv1.PinChanged{}, credential, "a user sets or changes their PIN: `PUT /v1/me/pin`"},
		{PasswordExpiresSoon, &eventsv1.PasswordExpiresSoon{}, credential, "the sweep (`LATCHKEY_PASSWORD_EXPIRY_WARNING_EVERY`, hourly) finds a password entering the tenant's `expiryWarningDays` (once per expiry)"},
		{LoginSucceeded, &eventsv1.LoginSucceeded{}, credential, "a log-in ends with tokens: password, PIN or the last log-in step"},
		{LoginFailed, &eventsv1.LoginFailed{}, credential, "a log-in, PIN, code or reset check fails (`reason`), also while the account is locked or disabled"},
		{SessionRevoked, &eventsv1.SessionRevoked{}, credential, "a session ends before its time: log-out, `DELETE /v1/me/sessions/{id}`, a password change, a lock, disabling, a change of roles, a reused refresh token, a session past its lifetime or idle time"},
		{RefreshTokenReused, &eventsv1.RefreshTokenReused{}, credential, "a spent refresh token is presented again (`SessionRevoked` follows)"},
		{SigningKeyRotated, &eventsv1.SigningKeyRotated{}, credential, "an operator replaces the access-token signing key: `latchkey keys rotate` (`retired_key_ids` with `--retire-current`); a platform event, no tenant"},
		{MfaEnabled, &eventsv1.MfaEnabled{}, mfa, "a TOTP factor is confirmed by its first code: `totp:confirm`, the `ENROLL_MFA` log-in step, an e-mailed key's first code"},
		{MfaDisabled, &eventsv1.MfaDisabled{}, mfa, "a user removes their factor: `DELETE /v1/me/mfa/totp`"},
		{MfaReset, &eventsv1.MfaReset{}, mfa, "an administrator removes every factor: `POST /v1/admin/accounts/{id}/mfa:reset`"},
		{PasswordResetRequested, &eventsv1.PasswordResetRequested{}, recovery, "a reset link is issued for an existing account: `POST /v1/recovery/password-reset`, `:sendPasswordReset` (`by_admin`)"},
		{PasswordResetCompleted, &eventsv1.PasswordResetCompleted{}, recovery, "a reset sets the new password: `POST /v1/recovery/password-reset:complete`"},
		{SecurityQuestionsSet, &eventsv1.SecurityQuestionsSet{}, recovery, "a user sets their security questions: `PUT /v1/me/recovery/security-questions`"},
		{NotificationSent, &eventsv1.NotificationSent{}, notification, "an e-mail is handed to the SMTP server (or the built-in mailbox)"},
		{NotificationFailed, &eventsv1.NotificationFailed{}, notification, "an e-mail is given up: attempts exhausted (`FAILED`) or over a rate limit (`RATE_LIMITED`)"},
	}
}

// CatalogTable renders the catalog as the Markdown table of
// docs/events.md.
func CatalogTable() string {
	var b strings.Builder
	b.WriteString("| subject (after `latchkey.events.v1.`) | `Latchkey-Event-Type` (payload) | publisher | published when | personal data besides ids |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, e := range Catalog() {
		personal := strings.Join(e.PersonalData(), ", ")
		if personal == "" {
			personal = "—"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n",
			strings.TrimPrefix(e.Subject, Prefix), e.Type(), e.Publisher, e.When, personal)
	}
	return b.String()
}
