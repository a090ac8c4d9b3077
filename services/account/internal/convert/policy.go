package convert

import (
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Policy is p in its API form, every field set.
func Policy(p account.Policy) *accountv1.TenantPolicy {
	i := func(v int) *int32 { n := int32(v); return &n }
	b := func(v bool) *bool { return &v }
	s := func(v string) *string { return &v }
	return &accountv1.TenantPolicy{
		UsernameIsEmail: b(p.UsernameIsEmail),
		Password: &accountv1.PasswordPolicy{
			MinLength:             i(p.Password.MinLength),
			MinUppercase:          i(p.Password.MinUppercase),
			MinLowercase:          i(p.Password.MinLowercase),
			MinDigits:             i(p.Password.MinDigits),
			MinSymbols:            i(p.Password.MinSymbols),
			HistoryCount:          i(p.Password.HistoryCount),
			MaxAgeDays:            i(p.Password.MaxAgeDays),
			ExpiryWarningDays:     i(p.Password.ExpiryWarningDays),
			CheckBreached:         b(p.Password.CheckBreached),
			TemporaryPasswordDays: i(p.Password.TemporaryDays),
		},
		Lockout: &accountv1.LockoutPolicy{
			MaxFailedAttempts: i(p.Lockout.MaxFailedAttempts),
			LockoutMinutes:    i(p.Lockout.LockoutMinutes),
		},
		InactivityLockDays: i(p.InactivityLockDays),
		TermsRequired:      b(p.TermsRequired),
		Recovery: &accountv1.RecoveryPolicy{
			EmailLink:                 b(p.Recovery.EmailLink),
			SecurityQuestions:         b(p.Recovery.SecurityQuestions),
			SecurityQuestionsRequired: i(p.Recovery.SecurityQuestionsRequired),
			ResetRequiresMfa:          b(p.Recovery.ResetRequiresMFA),
		},
		Mfa: &accountv1.MfaPolicy{
			Required:         b(p.MFA.Required),
			AllowedSkewSteps: i(p.MFA.AllowedSkewSteps),
		},
		Pin: &accountv1.PinPolicy{
			Enabled: b(p.PIN.Enabled),
			Length:  i(p.PIN.Length),
		},
		Locale:      s(p.Locale),
		BrandName:   s(p.BrandName),
		FromAddress: s(p.FromAddress),
		LinkBaseUrl: s(p.LinkBaseURL),
		Session: &accountv1.SessionPolicy{
			MaxLifetimeHours: i(p.Session.MaxLifetimeHours),
			IdleHours:        i(p.Session.IdleHours),
		},
	}
}

// ApplyPolicy sets in dst every field that src sets, leaving the others
// as they are: a create starts from the defaults, an update from the
// current policy, and both take only what the caller gave.
func ApplyPolicy(dst *account.Policy, src *accountv1.TenantPolicy) {
	if src == nil {
		return
	}
	setBool(&dst.UsernameIsEmail, src.UsernameIsEmail)
	if pw := src.Password; pw != nil {
		setInt(&dst.Password.MinLength, pw.MinLength)
		setInt(&dst.Password.MinUppercase, pw.MinUppercase)
		setInt(&dst.Password.MinLowercase, pw.MinLowercase)
		setInt(&dst.Password.MinDigits, pw.MinDigits)
		setInt(&dst.Password.MinSymbols, pw.MinSymbols)
		setInt(&dst.Password.HistoryCount, pw.HistoryCount)
		setInt(&dst.Password.MaxAgeDays, pw.MaxAgeDays)
		setInt(&dst.Password.ExpiryWarningDays, pw.ExpiryWarningDays)
		setBool(&dst.Password.CheckBreached, pw.CheckBreached)
		setInt(&dst.Password.TemporaryDays, pw.TemporaryPasswordDays)
	}
	if l := src.Lockout; l != nil {
		setInt(&dst.Lockout.MaxFailedAttempts, l.MaxFailedAttempts)
		setInt(&dst.Lockout.LockoutMinutes, l.LockoutMinutes)
	}
	setInt(&dst.InactivityLockDays, src.InactivityLockDays)
	setBool(&dst.TermsRequired, src.TermsRequired)
	if r := src.Recovery; r != nil {
		setBool(&dst.Recovery.EmailLink, r.EmailLink)
		setBool(&dst.Recovery.SecurityQuestions, r.SecurityQuestions)
		setInt(&dst.Recovery.SecurityQuestionsRequired, r.SecurityQuestionsRequired)
		setBool(&dst.Recovery.ResetRequiresMFA, r.ResetRequiresMfa)
	}
	if m := src.Mfa; m != nil {
		setBool(&dst.MFA.Required, m.Required)
		setInt(&dst.MFA.AllowedSkewSteps, m.AllowedSkewSteps)
	}
	if p := src.Pin; p != nil {
		setBool(&dst.PIN.Enabled, p.Enabled)
		setInt(&dst.PIN.Length, p.Length)
	}
	setString(&dst.Locale, src.Locale)
	setString(&dst.BrandName, src.BrandName)
	setString(&dst.FromAddress, src.FromAddress)
	setString(&dst.LinkBaseURL, src.LinkBaseUrl)
	if se := src.Session; se != nil {
		setInt(&dst.Session.MaxLifetimeHours, se.MaxLifetimeHours)
		setInt(&dst.Session.IdleHours, se.IdleHours)
	}
}

func setInt(dst *int, v *int32) {
	if v != nil {
		*dst = int(*v)
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}
