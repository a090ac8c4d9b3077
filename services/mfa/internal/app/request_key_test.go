package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// handle runs the worker's pass once and returns how many it took.
func (h *harness) handle() int {
	h.t.Helper()
	n, err := h.use.HandleKeyRequests(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestRequestKey_PendingFactorMailed_FirstCodeConfirmsIt(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		acct := h.user.AccountID
		if err := h.use.RequestKey(ctx, "eshc", "jan"); err != nil {
			t.Fatal(err)
		}
		if n := h.handle(); n != 1 {
			t.Fatalf("worker took %d requests, want 1", n)
		}
		sent := h.mail.all()
		if len(sent) != 1 || sent[0].accountID != acct || sent[0].tenantID != h.tenant.ID {
			t.Fatalf("sent %+v", sent)
		}
		secret := secretOfURI(t, sent[0].uri)
		if secret != sent[0].secret {
			t.Fatalf("the URI's secret %s is not the key %s", secret, sent[0].secret)
		}
		st, _ := h.use.GetFactorStatus(ctx, h.tenant.ID, acct)
		if st.TOTPEnabled || !st.EmailedKeyPending {
			t.Fatalf("status %+v, want an e-mailed key pending", st)
		}
		// Asked again: the same key, no second factor.
		if err := h.use.RequestKey(ctx, "eshc", "JAN"); err != nil {
			t.Fatal(err)
		}
		h.handle()
		if sent = h.mail.all(); len(sent) != 2 || sent[1].secret != secret {
			t.Fatalf("the second e-mail carries another key: %+v", sent)
		}
		// The first correct code, at a log-in or a reset, confirms it.
		before := h.pendingEvents()
		if m, err := h.use.VerifyCode(ctx, h.tenant.ID, acct, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		if h.pendingEvents() != before+1 {
			t.Fatal("no MfaEnabled event for the e-mailed key's first code")
		}
		st, _ = h.use.GetFactorStatus(ctx, h.tenant.ID, acct)
		if !st.TOTPEnabled || st.EmailedKeyPending {
			t.Fatalf("status after the first code %+v", st)
		}
		// A confirmed factor gets nothing new by e-mail.
		if err := h.use.RequestKey(ctx, "eshc", "jan"); err != nil {
			t.Fatal(err)
		}
		h.handle()
		if n := len(h.mail.all()); n != 2 {
			t.Fatalf("%d e-mails, want no new one for an account with a confirmed factor", n)
		}
		if f := h.handle(); f != 0 {
			t.Fatalf("%d requests left in the queue", f)
		}
	})
}

func TestRequestKey_UnknownLoginsAndDisabledAccountsGetNothing(t *testing.T) {
	h := newHarness(t, dbx.SQLite)
	ctx := context.Background()
	disabled := &app.Account{ID: ids.New(), TenantID: h.tenant.ID, Username: "gone", Disabled: true}
	h.dir.mu.Lock()
	h.dir.accounts[disabled.ID] = disabled
	h.dir.mu.Unlock()
	for _, r := range [][2]string{{"eshc", "nobody"}, {"nope", "jan"}, {"eshc", "gone"}} {
		if err := h.use.RequestKey(ctx, r[0], r[1]); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
	}
	if n := h.handle(); n != 3 {
		t.Fatalf("took %d", n)
	}
	if sent := h.mail.all(); len(sent) != 0 {
		t.Fatalf("sent %+v", sent)
	}
	if st, _ := h.use.GetFactorStatus(ctx, h.tenant.ID, disabled.ID); st.EmailedKeyPending {
		t.Fatal("a disabled account got a pending factor")
	}
	if err := h.use.RequestKey(ctx, "", ""); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("empty request: %v", err)
	}
}

func TestRequestKey_FailedMailIsRetriedWithTheSameKey(t *testing.T) {
	h := newHarness(t, dbx.SQLite)
	ctx := context.Background()
	h.mail.fail = errs.Unavailable("DOWN", "notification is down", errors.New("down"))
	if err := h.use.RequestKey(ctx, "eshc", "jan"); err != nil {
		t.Fatal(err)
	}
	h.handle()
	f1, err := h.use.GetFactorStatus(ctx, h.tenant.ID, h.user.AccountID)
	if err != nil || !f1.EmailedKeyPending {
		t.Fatalf("status %+v %v", f1, err)
	}
	h.mail.mu.Lock()
	h.mail.fail = nil
	h.mail.mu.Unlock()
	h.clk.Advance(2 * factor.Period * time.Second) // past the lease (30s)
	if n := h.handle(); n != 1 {
		t.Fatalf("retry took %d", n)
	}
	if sent := h.mail.all(); len(sent) != 1 {
		t.Fatalf("sent %d", len(sent))
	}
}
