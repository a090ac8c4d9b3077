package account

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/errs"
)

// Reasons given in field violations and errors, stable for clients.
const (
	ReasonRequired      = "REQUIRED"
	ReasonTooLong       = "TOO_LONG"
	ReasonInvalidFormat = "INVALID_FORMAT"
	ReasonMismatch      = "USERNAME_NOT_EMAIL"
)

// Lengths of the account's text fields.
const (
	MaxTenantNameLength  = 200
	MaxUsernameLength    = 254 // an e-mail address may be the username
	MaxEmailLength       = 254
	MaxDisplayNameLength = 200
)

// ValidTenantCode reports whether code is 2–32 characters of a–z, 0–9, _
// and -: it is typed at log-in, so it stays short and unambiguous.
func ValidTenantCode(code string) bool {
	if len(code) < 2 || len(code) > 32 {
		return false
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// ValidateTenant checks a new tenant's code, name and policy.
func ValidateTenant(t *Tenant) error {
	var v errs.Violations
	switch {
	case t.Code == "":
		v.Add("code", ReasonRequired, "a tenant code is required")
	case !ValidTenantCode(t.Code):
		v.Add("code", ReasonInvalidFormat, "must be 2–32 characters of a-z, 0-9, _ and -")
	}
	checkText(&v, "name", t.Name, MaxTenantNameLength, true)
	var policyErr *errs.Error
	if errors.As(t.Policy.Validate("policy"), &policyErr) {
		v = append(v, policyErr.Fields...)
	}
	return v.Err()
}

// ValidateNewAccount checks an account about to be created in a tenant
// with policy p. prefix is prepended to field names ("firstAdmin" when the
// account comes with a new tenant).
func ValidateNewAccount(a *Account, p Policy, prefix string) error {
	return validateAccount(a, p, prefix, false)
}

// ValidateChangedAccount checks an account after an administrator's
// change, as ValidateNewAccount does, except that an OPERATOR role the
// account held before may stay: the role is never given through the API,
// but an operator's account changed by an operator keeps it.
func ValidateChangedAccount(before, after *Account, p Policy) error {
	return validateAccount(after, p, "", before.HasRole(RoleOperator))
}

func validateAccount(a *Account, p Policy, prefix string, keepOperator bool) error {
	var v errs.Violations
	field := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	checkUsername(&v, field("username"), a.Username)
	switch {
	case a.Email == "":
		v.Add(field("email"), ReasonRequired, "an e-mail address is required")
	case len(a.Email) > MaxEmailLength:
		v.Add(field("email"), ReasonTooLong, fmt.Sprintf("at most %d characters", MaxEmailLength))
	case !ValidEmail(a.Email):
		v.Add(field("email"), ReasonInvalidFormat, "not an e-mail address")
	case !emailAllowed(a.Email):
		v.Add(field("email"), ReasonInvalidFormat, "no control, unassigned or invisible characters")
	}
	if p.UsernameIsEmail && a.Username != "" && FoldEmail(a.Username) != FoldEmail(a.Email) {
		v.Add(field("username"), ReasonMismatch, "this tenant's usernames are e-mail addresses: the username must equal the e-mail address")
	}
	checkText(&v, field("displayName"), a.DisplayName, MaxDisplayNameLength, true)
	checkRoles(&v, field("roles"), a.Roles, keepOperator)
	if a.Locale != "" && !validLocale(a.Locale) {
		v.Add(field("locale"), ReasonInvalidFormat, "a language tag such as en or nl-NL")
	}
	return v.Err()
}

// ValidateUsername checks a new username for a tenant with policy p, given
// the account's e-mail address.
func ValidateUsername(field, username, email string, p Policy) error {
	var v errs.Violations
	checkUsername(&v, field, username)
	if p.UsernameIsEmail && username != "" && FoldEmail(username) != FoldEmail(email) {
		v.Add(field, ReasonMismatch, "this tenant's usernames are e-mail addresses: the username must equal the e-mail address")
	}
	return v.Err()
}

func checkUsername(v *errs.Violations, field, u string) {
	switch {
	case u == "":
		v.Add(field, ReasonRequired, "a username is required")
	case len(u) > MaxUsernameLength:
		v.Add(field, ReasonTooLong, fmt.Sprintf("at most %d characters", MaxUsernameLength))
	case !usernameAllowed(u) || !validUsername(FoldUsername(u)):
		v.Add(field, ReasonInvalidFormat, "letters, digits and . _ - @ + only, no spaces, control or unassigned characters")
	}
}

// validUsername allows what people type as a login ID, including e-mail
// addresses, and nothing that could be confused when read back (spaces,
// control characters, quotes). It judges the folded form, where a letter
// and its combining accent are one letter and full-width forms are
// plain; marks stay allowed for the scripts that write with them.
func validUsername(u string) bool {
	if !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@+", r)) {
			return false
		}
	}
	return true
}

func checkRoles(v *errs.Violations, field string, roles []Role, keepOperator bool) {
	if len(roles) == 0 {
		v.Add(field, ReasonRequired, "at least one role")
		return
	}
	seen := map[Role]bool{}
	for _, r := range roles {
		switch {
		case r == RoleOperator && !keepOperator:
			v.Add(field, "ROLE_NOT_ALLOWED", "OPERATOR is given only in the platform's own tenant")
		case !validRole(r):
			v.Add(field, ReasonInvalidFormat, fmt.Sprintf("unknown role %q", r))
		case seen[r]:
			v.Add(field, "DUPLICATE", fmt.Sprintf("role %s given twice", r))
		}
		seen[r] = true
	}
}

func validRole(r Role) bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// checkText checks a single-line, human-readable field.
func checkText(v *errs.Violations, field, s string, max int, required bool) {
	switch {
	case strings.TrimSpace(s) == "":
		if required {
			v.Add(field, ReasonRequired, "required")
		}
	case utf8.RuneCountInString(s) > max:
		v.Add(field, ReasonTooLong, fmt.Sprintf("at most %d characters", max))
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		v.Add(field, ReasonInvalidFormat, "no control characters")
	}
}

// ValidEmail reports whether s is a bare e-mail address (no display name,
// no angle brackets) with a dot-less-or-dotted domain part.
func ValidEmail(s string) bool {
	if len(s) > MaxEmailLength || strings.ContainsAny(s, " <>\"") {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

func validLocale(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if len(part) == 0 || len(part) > 8 || (i == 0 && len(part) > 3) {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

func rangeText(lo, hi int) string { return fmt.Sprintf("must be between %d and %d", lo, hi) }

// Limits of published terms.
const (
	MaxTermsVersionLength = 64
	MaxTermsTextLength    = 200_000
)

// ValidateTerms checks a terms version about to be published: a short
// label (letters, digits, . _ -) and a non-empty text, which may span lines.
func ValidateTerms(version, text string) error {
	var v errs.Violations
	switch {
	case version == "":
		v.Add("version", ReasonRequired, "a version label such as 2026-11 is required")
	case len(version) > MaxTermsVersionLength:
		v.Add("version", ReasonTooLong, fmt.Sprintf("at most %d characters", MaxTermsVersionLength))
	case !validTermsVersion(version):
		v.Add("version", ReasonInvalidFormat, "letters, digits and . _ - only")
	}
	switch {
	case strings.TrimSpace(text) == "":
		v.Add("text", ReasonRequired, "the text of the terms is required")
	case utf8.RuneCountInString(text) > MaxTermsTextLength:
		v.Add("text", ReasonTooLong, fmt.Sprintf("at most %d characters", MaxTermsTextLength))
	case !utf8.ValidString(text) || strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		v.Add("text", ReasonInvalidFormat, "no control characters other than line breaks and tabs")
	}
	return v.Err()
}

func validTermsVersion(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// MaxReasonLength bounds the free-text reason an administrator gives for a
// lifecycle change (kept in the event).
const MaxReasonLength = 500

// ValidateReason checks the free-text reason of a lifecycle change; it may
// be empty.
func ValidateReason(reason string) error {
	var v errs.Violations
	checkText(&v, "reason", reason, MaxReasonLength, false)
	return v.Err()
}
