package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// notePolicy is a tenant's policy under which every write path can run:
// PINs on, passwords expiring, rules and history that refuse some.
var notePolicy = credential.Policy{MaxFailedAttempts: 5, PINEnabled: true, PINLength: 4, MaxAgeDays: 90,
	HistoryCount: 2, Rules: password.Rules{MinLength: 12}}

// signIn logs s in with plain and returns the principal of its session.
func (w *world) signIn(s *credential.Subject, plain string) *authn.Principal {
	w.t.Helper()
	tokens := w.mustTokens(w.login(s.Username, plain))
	return &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
}

// pending adds a PENDING account of "acme" without a password (an
// activation link on its way).
func (w *world) pending(username string) *credential.Subject {
	s := &credential.Subject{TenantID: w.dir.tenantID("acme"), TenantCode: "acme", AccountID: ids.New(), Username: username,
		Email: username + "@acme.example", Roles: []string{"USER"}, Status: credential.StatusPending, Policy: notePolicy}
	w.dir.add(s)
	return s
}

func adminOf(s *credential.Subject) *authn.Principal {
	return &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: ids.New(), Roles: []string{authn.RoleAdmin}}
}

// changeAtLogin logs s in with plain, which must ask for a new password,
// and gives next.
func (w *world) changeAtLogin(s *credential.Subject, plain, next string) error {
	ticket := w.mustStep(w.login(s.Username, plain))(credential.StepChangePassword)
	_, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: next})
	return err
}

// securityChange is a use case that changes what GetPasswordStatus
// reports: setup makes the account, change changes it.
type securityChange struct {
	name   string
	setup  func(w *world) *credential.Subject
	change func(w *world, s *credential.Subject) error
	// samePIN: the change replaces a PIN by another, which the status
	// does not show.
	samePIN bool
}

func securityChanges() []securityChange {
	ctx := context.Background()
	active := func(w *world) *credential.Subject { return w.account("anna", "Correct-Horse-1", false, notePolicy) }
	withPIN := func(w *world) *credential.Subject {
		s := active(w)
		if err := w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
			w.t.Fatal(err)
		}
		return s
	}
	return []securityChange{
		{name: "self change", setup: active, change: func(w *world, s *credential.Subject) error {
			return w.app.ChangePassword(ctx, w.signIn(s, "Correct-Horse-1"), "Correct-Horse-1", "Brand-New-Pass-2", app.Client{})
		}},
		{name: "change at log-in, temporary password", setup: func(w *world) *credential.Subject {
			return w.account("anna", "Temporary-Pass-1", true, notePolicy)
		}, change: func(w *world, s *credential.Subject) error {
			return w.changeAtLogin(s, "Temporary-Pass-1", "Brand-New-Pass-2")
		}},
		{name: "change at log-in, expired password", setup: func(w *world) *credential.Subject {
			s := active(w)
			w.clock.Advance(91 * 24 * time.Hour)
			return s
		}, change: func(w *world, s *credential.Subject) error {
			return w.changeAtLogin(s, "Correct-Horse-1", "Brand-New-Pass-2")
		}},
		{name: "admin sets a final password", setup: active, change: func(w *world, s *credential.Subject) error {
			return w.app.AdminSetPassword(ctx, adminOf(s), s.AccountID, "Set-By-Admin-Pass-1", false)
		}},
		{name: "admin sets a temporary password", setup: active, change: func(w *world, s *credential.Subject) error {
			return w.app.AdminSetPassword(ctx, adminOf(s), s.AccountID, "Set-By-Admin-Pass-1", true)
		}},
		{name: "set after a reset", setup: active, change: func(w *world, s *credential.Subject) error {
			return w.app.SetPasswordAfterReset(ctx, s.TenantID, s.AccountID, "Brand-New-Pass-2", false)
		}},
		{name: "initial password (activation)", setup: func(w *world) *credential.Subject { return w.pending("anna") },
			change: func(w *world, s *credential.Subject) error {
				return w.app.SetPasswordAfterReset(ctx, s.TenantID, s.AccountID, "Brand-New-Pass-2", true)
			}},
		{name: "first PIN", setup: active, change: func(w *world, s *credential.Subject) error {
			return w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "", "Correct-Horse-1", "2580", app.Client{})
		}},
		{name: "PIN changed with the current PIN", setup: withPIN, samePIN: true, change: func(w *world, s *credential.Subject) error {
			return w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "2580", "", "3691", app.Client{})
		}},
		{name: "PIN changed with the password", setup: withPIN, samePIN: true, change: func(w *world, s *credential.Subject) error {
			return w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "", "Correct-Horse-1", "3691", app.Client{})
		}},
	}
}

// statusOf is what GET /v1/me would show of the account's password and
// PIN (the fields of the account service's PasswordSummary).
func statusOf(w *world, s *credential.Subject) string {
	w.t.Helper()
	st, err := w.app.GetPasswordStatus(context.Background(), s.TenantID, s.AccountID)
	if err != nil {
		w.t.Fatal(err)
	}
	return fmt.Sprintf("set %v temporary %v changed %v expires %v soon %v pin %v",
		st.Set, st.Temporary, st.ChangedAt, st.ExpiresAt, st.ExpiresSoon, st.PINSet)
}

// Every committed change of what GetPasswordStatus reports is noted to
// the account service for its account, once, after the change committed
// (the account service reading then sees the new state) and before the
// call answers.
func TestSecurityChanges_AreNotedForTheirAccount(t *testing.T) {
	for _, c := range securityChanges() {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			s := c.setup(w)
			w.account("bob", "Bystander-Pass-1", false, notePolicy)
			w.clock.Advance(time.Minute) // the change's time differs from the setup's
			before := statusOf(w, s)
			w.dir.takeNotes()
			var seen []string
			w.dir.onNote = func(tenantID, accountID string) {
				seen = append(seen, statusOf(w, &credential.Subject{TenantID: tenantID, AccountID: accountID}))
			}
			if err := c.change(w, s); err != nil {
				t.Fatal(err)
			}
			notes := w.dir.takeNotes()
			if want := []noted{{s.TenantID, s.AccountID}}; fmt.Sprint(notes) != fmt.Sprint(want) {
				t.Fatalf("notes %v, want %v", notes, want)
			}
			after := statusOf(w, s)
			if seen[0] != after {
				t.Fatalf("at the note the account service would read %q, the change is %q", seen[0], after)
			}
			if after == before && !c.samePIN {
				t.Fatalf("the status did not change: %q", after)
			}
		})
	}
}

// A failing NoteSecurityChange leaves the change made and the call
// succeeding; it is logged at WARN with the account.
func TestSecurityChanges_NoteFailureKeepsTheChange(t *testing.T) {
	for _, c := range securityChanges() {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			s := c.setup(w)
			w.clock.Advance(time.Minute)
			before := statusOf(w, s)
			w.dir.takeNotes()
			w.dir.noteErr = errs.Unavailable("ACCOUNT_UNAVAILABLE", "account service down", nil)
			var logs bytes.Buffer
			w.app.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if err := c.change(w, s); err != nil {
				t.Fatalf("the change failed with its note: %v", err)
			}
			if n := len(w.dir.takeNotes()); n != 1 {
				t.Fatalf("%d notes tried, want 1", n)
			}
			if after := statusOf(w, s); after == before && !c.samePIN {
				t.Fatalf("the change was not kept: %q", after)
			}
			line := logs.String()
			for _, want := range []string{"level=WARN", "tenant_id=" + s.TenantID, "account_id=" + s.AccountID, "account service down"} {
				if !strings.Contains(line, want) {
					t.Fatalf("log %q lacks %q", line, want)
				}
			}
		})
	}
}

// A change whose transaction is rolled back notes nothing, and fails.
func TestSecurityChanges_RolledBackOnesNoteNothing(t *testing.T) {
	for _, c := range securityChanges() {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			s := c.setup(w)
			w.clock.Advance(time.Minute)
			before := statusOf(w, s)
			w.dir.takeNotes()
			w.store.failSecurity = true
			if err := c.change(w, s); !errors.Is(err, errLostCommit) {
				t.Fatalf("the change answered %v, want its lost commit", err)
			}
			if notes := w.dir.takeNotes(); len(notes) != 0 {
				t.Fatalf("rolled-back change noted: %v", notes)
			}
			if after := statusOf(w, s); after != before {
				t.Fatalf("the status changed from %q to %q", before, after)
			}
		})
	}
}

// A refused change notes nothing.
func TestSecurityChanges_RefusedOnesNoteNothing(t *testing.T) {
	ctx := context.Background()
	for _, c := range []securityChange{
		{name: "self change, wrong current password", change: func(w *world, s *credential.Subject) error {
			return w.app.ChangePassword(ctx, w.signIn(s, "Correct-Horse-1"), "Wrong-Horse-1", "Brand-New-Pass-2", app.Client{})
		}},
		{name: "self change, password the policy refuses", change: func(w *world, s *credential.Subject) error {
			return w.app.ChangePassword(ctx, w.signIn(s, "Correct-Horse-1"), "Correct-Horse-1", "short", app.Client{})
		}},
		{name: "self change, password of the history", change: func(w *world, s *credential.Subject) error {
			return w.app.ChangePassword(ctx, w.signIn(s, "Correct-Horse-1"), "Correct-Horse-1", "Correct-Horse-1", app.Client{})
		}},
		{name: "change at log-in, password the policy refuses", setup: func(w *world) *credential.Subject {
			return w.account("anna", "Temporary-Pass-1", true, notePolicy)
		}, change: func(w *world, s *credential.Subject) error {
			return w.changeAtLogin(s, "Temporary-Pass-1", "short")
		}},
		{name: "change at log-in, ticket already spent", setup: func(w *world) *credential.Subject {
			return w.account("anna", "Temporary-Pass-1", true, notePolicy)
		}, change: func(w *world, s *credential.Subject) error {
			ticket := w.mustStep(w.login(s.Username, "Temporary-Pass-1"))(credential.StepChangePassword)
			if _, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Brand-New-Pass-2"}); err != nil {
				w.t.Fatal(err)
			}
			w.dir.takeNotes() // the first answer's change
			_, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Brand-New-Pass-3"})
			return err
		}},
		{name: "admin, password the policy refuses", change: func(w *world, s *credential.Subject) error {
			return w.app.AdminSetPassword(ctx, adminOf(s), s.AccountID, "short", false)
		}},
		{name: "admin of another tenant", change: func(w *world, s *credential.Subject) error {
			other := &authn.Principal{Kind: authn.KindAccount, TenantID: ids.New(), AccountID: ids.New(), Roles: []string{authn.RoleAdmin}}
			return w.app.AdminSetPassword(ctx, other, s.AccountID, "Set-By-Admin-Pass-1", false)
		}},
		{name: "after a reset, password the policy refuses", change: func(w *world, s *credential.Subject) error {
			return w.app.SetPasswordAfterReset(ctx, s.TenantID, s.AccountID, "short", false)
		}},
		{name: "PIN, wrong password", change: func(w *world, s *credential.Subject) error {
			return w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "", "Wrong-Horse-1", "2580", app.Client{})
		}},
		{name: "PIN the rules refuse", change: func(w *world, s *credential.Subject) error {
			return w.app.SetPIN(ctx, w.signIn(s, "Correct-Horse-1"), "", "Correct-Horse-1", "1234", app.Client{})
		}},
		{name: "PIN, wrong current PIN", change: func(w *world, s *credential.Subject) error {
			me := w.signIn(s, "Correct-Horse-1")
			if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
				w.t.Fatal(err)
			}
			w.dir.takeNotes() // the first PIN
			return w.app.SetPIN(ctx, me, "1470", "", "3691", app.Client{})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			if c.setup == nil {
				c.setup = func(w *world) *credential.Subject { return w.account("anna", "Correct-Horse-1", false, notePolicy) }
			}
			s := c.setup(w)
			if err := c.change(w, s); err == nil {
				t.Fatal("the change was not refused")
			}
			if notes := w.dir.takeNotes(); len(notes) != 0 {
				t.Fatalf("refused change noted: %v", notes)
			}
		})
	}
}
