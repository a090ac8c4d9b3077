package account

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestLifecycle_Moves(t *testing.T) {
	activated := at(0)
	type result struct {
		status  Status
		reason  LockReason
		changed bool
		kind    errs.Kind // 0: no error
	}
	for _, tc := range []struct {
		name string
		from Account
		move func(a *Account) (bool, error)
		want result
	}{
		{"lock active", Account{Status: StatusActive}, func(a *Account) (bool, error) { return a.LockByAdmin() },
			result{StatusLocked, LockAdmin, true, 0}},
		{"lock locked for failed attempts becomes an admin lock", Account{Status: StatusLocked, LockReason: LockFailedAttempts, LockedUntil: at(time.Hour)},
			func(a *Account) (bool, error) { return a.LockByAdmin() }, result{StatusLocked, LockAdmin, true, 0}},
		{"lock admin-locked changes nothing", Account{Status: StatusLocked, LockReason: LockAdmin},
			func(a *Account) (bool, error) { return a.LockByAdmin() }, result{StatusLocked, LockAdmin, false, 0}},
		{"lock disabled is refused", Account{Status: StatusDisabled}, func(a *Account) (bool, error) { return a.LockByAdmin() },
			result{StatusDisabled, LockNone, false, errs.KindFailedPrecondition}},
		{"lock pending is refused", Account{Status: StatusPending}, func(a *Account) (bool, error) { return a.LockByAdmin() },
			result{StatusPending, LockNone, false, errs.KindFailedPrecondition}},
		{"unlock any lock", Account{Status: StatusLocked, LockReason: LockFailedAttempts, LockedUntil: at(time.Hour)},
			func(a *Account) (bool, error) { _, c, err := a.Unlock(t0); return c, err }, result{StatusActive, LockNone, true, 0}},
		{"unlock active changes nothing", Account{Status: StatusActive},
			func(a *Account) (bool, error) { _, c, err := a.Unlock(t0); return c, err }, result{StatusActive, LockNone, false, 0}},
		{"unlock disabled is refused", Account{Status: StatusDisabled},
			func(a *Account) (bool, error) { _, c, err := a.Unlock(t0); return c, err }, result{StatusDisabled, LockNone, false, errs.KindFailedPrecondition}},
		{"disable locked", Account{Status: StatusLocked, LockReason: LockAdmin},
			func(a *Account) (bool, error) { return a.Disable(), nil }, result{StatusDisabled, LockNone, true, 0}},
		{"disable disabled changes nothing", Account{Status: StatusDisabled},
			func(a *Account) (bool, error) { return a.Disable(), nil }, result{StatusDisabled, LockNone, false, 0}},
		{"reactivate disabled", Account{Status: StatusDisabled, ActivatedAt: activated},
			func(a *Account) (bool, error) { _, c, err := a.Reactivate(t0); return c, err }, result{StatusActive, LockNone, true, 0}},
		{"reactivate disabled never-activated goes back to pending", Account{Status: StatusDisabled},
			func(a *Account) (bool, error) { _, c, err := a.Reactivate(t0); return c, err }, result{StatusPending, LockNone, true, 0}},
		{"reactivate locked", Account{Status: StatusLocked, LockReason: LockInactivity, ActivatedAt: activated},
			func(a *Account) (bool, error) { _, c, err := a.Reactivate(t0); return c, err }, result{StatusActive, LockNone, true, 0}},
		{"reactivate active changes nothing", Account{Status: StatusActive},
			func(a *Account) (bool, error) { _, c, err := a.Reactivate(t0); return c, err }, result{StatusActive, LockNone, false, 0}},
		{"reactivate pending is refused", Account{Status: StatusPending},
			func(a *Account) (bool, error) { _, c, err := a.Reactivate(t0); return c, err }, result{StatusPending, LockNone, false, errs.KindFailedPrecondition}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.from
			changed, err := tc.move(&a)
			got := result{a.Status, a.LockReason, changed, errs.KindOf(err)}
			if err == nil {
				got.kind = 0
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if a.Status != StatusLocked && a.LockedUntil != nil {
				t.Fatalf("LockedUntil %v left on a %s account", a.LockedUntil, a.Status)
			}
		})
	}
}

func TestUnlock_InactivityLockGetsAFreshStart(t *testing.T) {
	a := Account{Status: StatusLocked, LockReason: LockInactivity, CreatedAt: t0, LastLoginAt: at(time.Hour)}
	later := t0.Add(30 * 24 * time.Hour)
	was, _, _ := a.Unlock(later)
	if was != LockInactivity || a.FreshStartAt == nil || !a.FreshStartAt.Equal(later) || !a.LastActivity().Equal(later) {
		t.Fatalf("was %s, fresh start %v, last activity %v", was, a.FreshStartAt, a.LastActivity())
	}
	if a.InactiveAt(later.Add(9*24*time.Hour), 10) {
		t.Fatal("inactive again 9 days after the fresh start")
	}
	b := Account{Status: StatusLocked, LockReason: LockFailedAttempts, CreatedAt: t0}
	b.Unlock(later)
	if b.FreshStartAt != nil {
		t.Fatal("a failed-attempts unlock gave a fresh start")
	}
}

func TestInactiveAt(t *testing.T) {
	now := t0.Add(20 * 24 * time.Hour)
	for _, tc := range []struct {
		name string
		a    Account
		days int
		want bool
	}{
		{"never logged in, created long ago", Account{Status: StatusActive, CreatedAt: t0}, 10, true},
		{"policy off", Account{Status: StatusActive, CreatedAt: t0}, 0, false},
		{"recent log-in", Account{Status: StatusActive, CreatedAt: t0, LastLoginAt: at(15 * 24 * time.Hour)}, 10, false},
		{"log-in wins over a later activation", Account{Status: StatusActive, CreatedAt: t0, LastLoginAt: at(time.Hour), ActivatedAt: at(15 * 24 * time.Hour)}, 10, true},
		{"recent activation, no log-in", Account{Status: StatusActive, CreatedAt: t0, ActivatedAt: at(15 * 24 * time.Hour)}, 10, false},
		{"exactly at the cutoff is not yet inactive", Account{Status: StatusActive, CreatedAt: t0.Add(10 * 24 * time.Hour)}, 10, false},
		{"locked already", Account{Status: StatusLocked, CreatedAt: t0}, 10, false},
		{"pending", Account{Status: StatusPending, CreatedAt: t0}, 10, false},
	} {
		if got := tc.a.InactiveAt(now, tc.days); got != tc.want {
			t.Errorf("%s: InactiveAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTermsDue(t *testing.T) {
	tn := &Tenant{Policy: Policy{TermsRequired: true}, TermsVersion: "v2"}
	if !TermsDue(tn, &Account{AcceptedTermsVersion: "v1"}) || TermsDue(tn, &Account{AcceptedTermsVersion: "v2"}) {
		t.Fatal("terms due: want due for an older version, not for the current one")
	}
	if TermsDue(&Tenant{Policy: Policy{TermsRequired: false}, TermsVersion: "v2"}, &Account{}) ||
		TermsDue(&Tenant{Policy: Policy{TermsRequired: true}}, &Account{}) {
		t.Fatal("terms due without the requirement or without a published version")
	}
}

func TestValidateTerms(t *testing.T) {
	if err := ValidateTerms("2026-11", "Terms\n\tindented\r\n"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ version, text, field string }{
		{"", "x", "version"}, {"has space", "x", "version"}, {"v1", " \n", "text"}, {"v1", "bell\a", "text"},
	} {
		if got := fields(ValidateTerms(tc.version, tc.text)); len(got) != 1 || got[0] != tc.field {
			t.Errorf("ValidateTerms(%q, %q) fields %v, want [%s]", tc.version, tc.text, got, tc.field)
		}
	}
}
