package ui

import (
	"net/url"
	"strconv"
	"strings"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// policyKind is how a policy field is edited: a checkbox, a whole number or
// a line of text.
type policyKind int

const (
	policyBool policyKind = iota
	policyInt
	policyText
)

// policyField is one field of the tenant policy form (API.md's list). Name
// is the form field and the API's JSON path (password.minLength); get reads
// the current value ("" for an unset text, "0" for an unset number, "false"
// for an unset flag) and set writes a value into a policy being built, so
// that the request carries only the fields that changed: the optional
// fields of TenantPolicy are the update mask of PATCH /v1/admin/tenant/policy.
type policyField struct {
	Name    string
	Group   string
	Kind    policyKind
	get     func(*accountv1.TenantPolicy) string
	set     func(*accountv1.TenantPolicy, string)
	Options []string // for locale: the values offered
}

func ptr[T any](v T) *T { return &v }

func i32(s string) int32 { n, _ := strconv.Atoi(s); return int32(n) }

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func btoa(b bool) string { return strconv.FormatBool(b) }

func pw(p *accountv1.TenantPolicy) *accountv1.PasswordPolicy {
	if p.Password == nil {
		p.Password = &accountv1.PasswordPolicy{}
	}
	return p.Password
}

func lo(p *accountv1.TenantPolicy) *accountv1.LockoutPolicy {
	if p.Lockout == nil {
		p.Lockout = &accountv1.LockoutPolicy{}
	}
	return p.Lockout
}

func rec(p *accountv1.TenantPolicy) *accountv1.RecoveryPolicy {
	if p.Recovery == nil {
		p.Recovery = &accountv1.RecoveryPolicy{}
	}
	return p.Recovery
}

func mf(p *accountv1.TenantPolicy) *accountv1.MfaPolicy {
	if p.Mfa == nil {
		p.Mfa = &accountv1.MfaPolicy{}
	}
	return p.Mfa
}

func pn(p *accountv1.TenantPolicy) *accountv1.PinPolicy {
	if p.Pin == nil {
		p.Pin = &accountv1.PinPolicy{}
	}
	return p.Pin
}

func se(p *accountv1.TenantPolicy) *accountv1.SessionPolicy {
	if p.Session == nil {
		p.Session = &accountv1.SessionPolicy{}
	}
	return p.Session
}

// policyFields lists the form in the order of API.md.
var policyFields = []policyField{
	{Name: "usernameIsEmail", Group: "general", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetUsernameIsEmail()) },
		set: func(p *accountv1.TenantPolicy, v string) { p.UsernameIsEmail = ptr(v == "true") }},
	{Name: "password.minLength", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMinLength()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MinLength = ptr(i32(v)) }},
	{Name: "password.minUppercase", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMinUppercase()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MinUppercase = ptr(i32(v)) }},
	{Name: "password.minLowercase", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMinLowercase()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MinLowercase = ptr(i32(v)) }},
	{Name: "password.minDigits", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMinDigits()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MinDigits = ptr(i32(v)) }},
	{Name: "password.minSymbols", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMinSymbols()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MinSymbols = ptr(i32(v)) }},
	{Name: "password.historyCount", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetHistoryCount()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).HistoryCount = ptr(i32(v)) }},
	{Name: "password.maxAgeDays", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetMaxAgeDays()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).MaxAgeDays = ptr(i32(v)) }},
	{Name: "password.expiryWarningDays", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetExpiryWarningDays()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).ExpiryWarningDays = ptr(i32(v)) }},
	{Name: "password.checkBreached", Group: "password", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetPassword().GetCheckBreached()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).CheckBreached = ptr(v == "true") }},
	{Name: "password.temporaryPasswordDays", Group: "password", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPassword().GetTemporaryPasswordDays()) },
		set: func(p *accountv1.TenantPolicy, v string) { pw(p).TemporaryPasswordDays = ptr(i32(v)) }},
	{Name: "lockout.maxFailedAttempts", Group: "lockout", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetLockout().GetMaxFailedAttempts()) },
		set: func(p *accountv1.TenantPolicy, v string) { lo(p).MaxFailedAttempts = ptr(i32(v)) }},
	{Name: "lockout.lockoutMinutes", Group: "lockout", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetLockout().GetLockoutMinutes()) },
		set: func(p *accountv1.TenantPolicy, v string) { lo(p).LockoutMinutes = ptr(i32(v)) }},
	{Name: "inactivityLockDays", Group: "lockout", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetInactivityLockDays()) },
		set: func(p *accountv1.TenantPolicy, v string) { p.InactivityLockDays = ptr(i32(v)) }},
	{Name: "termsRequired", Group: "general", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetTermsRequired()) },
		set: func(p *accountv1.TenantPolicy, v string) { p.TermsRequired = ptr(v == "true") }},
	{Name: "recovery.emailLink", Group: "recovery", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetRecovery().GetEmailLink()) },
		set: func(p *accountv1.TenantPolicy, v string) { rec(p).EmailLink = ptr(v == "true") }},
	{Name: "recovery.securityQuestions", Group: "recovery", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetRecovery().GetSecurityQuestions()) },
		set: func(p *accountv1.TenantPolicy, v string) { rec(p).SecurityQuestions = ptr(v == "true") }},
	{Name: "recovery.securityQuestionsRequired", Group: "recovery", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetRecovery().GetSecurityQuestionsRequired()) },
		set: func(p *accountv1.TenantPolicy, v string) { rec(p).SecurityQuestionsRequired = ptr(i32(v)) }},
	{Name: "recovery.resetRequiresMfa", Group: "recovery", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetRecovery().GetResetRequiresMfa()) },
		set: func(p *accountv1.TenantPolicy, v string) { rec(p).ResetRequiresMfa = ptr(v == "true") }},
	{Name: "mfa.required", Group: "mfa", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetMfa().GetRequired()) },
		set: func(p *accountv1.TenantPolicy, v string) { mf(p).Required = ptr(v == "true") }},
	{Name: "mfa.allowedSkewSteps", Group: "mfa", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetMfa().GetAllowedSkewSteps()) },
		set: func(p *accountv1.TenantPolicy, v string) { mf(p).AllowedSkewSteps = ptr(i32(v)) }},
	{Name: "pin.enabled", Group: "pin", Kind: policyBool,
		get: func(p *accountv1.TenantPolicy) string { return btoa(p.GetPin().GetEnabled()) },
		set: func(p *accountv1.TenantPolicy, v string) { pn(p).Enabled = ptr(v == "true") }},
	{Name: "pin.length", Group: "pin", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetPin().GetLength()) },
		set: func(p *accountv1.TenantPolicy, v string) { pn(p).Length = ptr(i32(v)) }},
	{Name: "session.maxLifetimeHours", Group: "session", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetSession().GetMaxLifetimeHours()) },
		set: func(p *accountv1.TenantPolicy, v string) { se(p).MaxLifetimeHours = ptr(i32(v)) }},
	{Name: "session.idleHours", Group: "session", Kind: policyInt,
		get: func(p *accountv1.TenantPolicy) string { return itoa(p.GetSession().GetIdleHours()) },
		set: func(p *accountv1.TenantPolicy, v string) { se(p).IdleHours = ptr(i32(v)) }},
	{Name: "locale", Group: "general", Kind: policyText, Options: []string{"en", "nl"},
		get: func(p *accountv1.TenantPolicy) string { return p.GetLocale() },
		set: func(p *accountv1.TenantPolicy, v string) { p.Locale = ptr(v) }},
	{Name: "brandName", Group: "general", Kind: policyText,
		get: func(p *accountv1.TenantPolicy) string { return p.GetBrandName() },
		set: func(p *accountv1.TenantPolicy, v string) { p.BrandName = ptr(v) }},
	{Name: "fromAddress", Group: "general", Kind: policyText,
		get: func(p *accountv1.TenantPolicy) string { return p.GetFromAddress() },
		set: func(p *accountv1.TenantPolicy, v string) { p.FromAddress = ptr(v) }},
	{Name: "linkBaseUrl", Group: "general", Kind: policyText,
		get: func(p *accountv1.TenantPolicy) string { return p.GetLinkBaseUrl() },
		set: func(p *accountv1.TenantPolicy, v string) { p.LinkBaseUrl = ptr(v) }},
}

// policyGroups is the order of the form's fieldsets.
var policyGroups = []string{"general", "password", "lockout", "recovery", "mfa", "pin", "session"}

// policyValues reads a policy into the form's values.
func policyValues(p *accountv1.TenantPolicy) map[string]string {
	out := make(map[string]string, len(policyFields))
	for _, f := range policyFields {
		out[f.Name] = f.get(p)
	}
	return out
}

// policyChanges reads the posted form against the current policy: the
// values as posted (to show again on an error), the fields the form got
// wrong (name → message key), and a policy holding only the changed fields,
// with their names (the update mask). Checkboxes missing from the form are
// off. A whole number must be 0 or more; the service checks the rest.
func policyChanges(form url.Values, current *accountv1.TenantPolicy) (values map[string]string, bad map[string]string, changed *accountv1.TenantPolicy, mask []string) {
	values = map[string]string{}
	bad = map[string]string{}
	changed = &accountv1.TenantPolicy{}
	for _, f := range policyFields {
		var v string
		switch f.Kind {
		case policyBool:
			v = btoa(form.Get(f.Name) != "")
		case policyInt:
			v = strings.TrimSpace(form.Get(f.Name))
			if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1_000_000 {
				bad[f.Name] = "err.wholeNumber"
			} else {
				v = strconv.Itoa(n)
			}
		case policyText:
			v = strings.TrimSpace(form.Get(f.Name))
		}
		values[f.Name] = v
		if bad[f.Name] == "" && v != f.get(current) {
			f.set(changed, v)
			mask = append(mask, f.Name)
		}
	}
	return values, bad, changed, mask
}
