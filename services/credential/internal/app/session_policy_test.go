package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// A session ends by the tenant's session policy: refreshing within the
// idle bound keeps it going, but never past its lifetime since the log-in;
// a refresh token left unused past the idle bound is refused. Either way
// the session is revoked with its SessionRevoked event, naming why.
func TestRefresh_SessionPolicy_LifetimeAndIdle(t *testing.T) {
	policy := credential.Policy{Session: credential.SessionPolicy{MaxLifetime: 48 * time.Hour, Idle: 8 * time.Hour}}
	for _, tc := range []struct {
		name string
		// steps are the waits before each refresh; the last refresh is
		// refused with reason.
		steps  []time.Duration
		reason string
	}{
		{"refreshed every 7 h, ends 48 h after the log-in", []time.Duration{7, 7, 7, 7, 7, 7, 6}, credential.ReasonSessionExpired},
		{"unused for 8 h", []time.Duration{7, 8}, credential.ReasonSessionIdle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.account("anna", "Correct-Horse-1", false, policy)
			tok := w.mustTokens(w.login("anna", "Correct-Horse-1"))
			refresh := tok.RefreshToken
			for i, h := range tc.steps {
				w.clock.Advance(h * time.Hour)
				next, err := w.app.Refresh(context.Background(), refresh, app.Client{})
				if i < len(tc.steps)-1 {
					if err != nil {
						t.Fatalf("refresh %d: %v", i+1, err)
					}
					refresh = next.RefreshToken
					continue
				}
				wantReason(t, err, tc.reason)
			}
			revoked := w.store.eventsOf(".session.revoked")
			if len(revoked) != 1 {
				t.Fatalf("%d SessionRevoked events, want 1", len(revoked))
			}
			if ev := revoked[0].event.Message.(*eventsv1.SessionRevoked); ev.GetReason() != tc.reason || ev.GetSessionId() != tok.SessionID {
				t.Fatalf("SessionRevoked = %v, want reason %s for session %s", ev, tc.reason, tok.SessionID)
			}
			// The session is over: its last refresh token is spent, and
			// a new one would not have been handed out.
			if _, err := w.app.Refresh(context.Background(), refresh, app.Client{}); err == nil {
				t.Fatal("the ended session's refresh token still works")
			}
		})
	}
}

// The sessions list leaves out sessions past the tenant's session policy:
// they can no longer be refreshed, though they are revoked only when
// someone tries.
func TestListSessions_LeavesOutSessionsPastThePolicy(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{Session: credential.SessionPolicy{MaxLifetime: 48 * time.Hour, Idle: 8 * time.Hour}})
	old := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	w.clock.Advance(6 * time.Hour)
	recent := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: recent.SessionID}
	ids := func() []string {
		t.Helper()
		list, err := w.app.ListSessions(context.Background(), me)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(); len(got) != 2 {
		t.Fatalf("sessions = %v, want both", got)
	}
	w.clock.Advance(3 * time.Hour) // old: 9 h unused; recent: 3 h
	if got := ids(); len(got) != 1 || got[0] != recent.SessionID {
		t.Fatalf("sessions = %v, want only %s (%s is idle)", got, recent.SessionID, old.SessionID)
	}
}

// No access token outlives its session: a refresh shortly before the end
// of the lifetime gets a token that expires at that end, and reauth with
// the password cannot stretch a session past it either.
func TestSessionLifetime_AbsoluteForAccessTokensAndReauth(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{Session: credential.SessionPolicy{MaxLifetime: 10 * time.Hour, Idle: 8 * time.Hour}})
	login := w.clock.Now()
	tok := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	w.clock.Advance(5 * time.Hour)
	next, err := w.app.Refresh(context.Background(), tok.RefreshToken, app.Client{})
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(5*time.Hour - 4*time.Minute)
	last, err := w.app.Refresh(context.Background(), next.RefreshToken, app.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if last.ExpiresIn != 4*time.Minute {
		t.Fatalf("expiresIn %v 4 minutes before the session ends, want 4m", last.ExpiresIn)
	}
	w.clock.Advance(4 * time.Minute)
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tok.SessionID}
	_, _, err = w.app.Reauthenticate(context.Background(), me, "Correct-Horse-1", "", app.Client{})
	wantReason(t, err, credential.ReasonSessionExpired)
	if w.clock.Now().Sub(login) != 10*time.Hour {
		t.Fatalf("the test ran to %v after the log-in, want 10h", w.clock.Now().Sub(login))
	}
}

// One client refreshing with one token many times at once (tabs, gateway
// replicas): every answer is the same successor, no refresh counts as a
// theft, and the session goes on. Past the grace, that token again is a
// reuse and ends the session.
func TestRefresh_ParallelSameToken_OneSuccessorNoRevocation(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		w.account("anna", "Correct-Horse-1", false, credential.Policy{})
		first := w.mustTokens(w.login("anna", "Correct-Horse-1")).RefreshToken
		w.store.reset()
		const n = 100
		var wg sync.WaitGroup
		got := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				tok, err := w.app.Refresh(context.Background(), first, app.Client{})
				if err == nil {
					got[i] = tok.RefreshToken
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("refresh %d of %d: %v", i, n, errs[i])
			}
			if got[i] != got[0] || got[i] == first {
				t.Fatalf("refresh %d answered another token than refresh 0", i)
			}
		}
		if ev := w.store.eventsOf(".session.revoked"); len(ev) != 0 {
			t.Fatalf("%d SessionRevoked events, want none", len(ev))
		}
		if _, err := w.app.Refresh(context.Background(), got[0], app.Client{}); err != nil {
			t.Fatalf("the successor: %v", err)
		}
		w.clock.Advance(credential.RefreshReuseGrace + time.Second)
		_, err := w.app.Refresh(context.Background(), first, app.Client{})
		wantReason(t, err, "REFRESH_TOKEN_INVALID")
		if ev := w.store.eventsOf(".session.revoked"); len(ev) != 1 {
			t.Fatalf("after the grace: %d SessionRevoked events, want 1", len(ev))
		}
	})
}

// A refresh that cannot go on because the account service did not answer
// changes nothing: its token is still good once the service is back, and
// the session is not taken for stolen. Before one transaction did the
// whole refresh, such a token was spent with no successor, and the
// client's next try ended the session.
func TestRefresh_AccountServiceAway_TokenStaysGood(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		w.account("anna", "Correct-Horse-1", false, credential.Policy{})
		tok := w.mustTokens(w.login("anna", "Correct-Horse-1")).RefreshToken
		w.dir.setLookupErr(errs.Unavailable("ACCOUNT_SERVICE_UNAVAILABLE", "down", nil))
		_, err := w.app.Refresh(context.Background(), tok, app.Client{})
		wantReason(t, err, "ACCOUNT_SERVICE_UNAVAILABLE")
		w.dir.setLookupErr(nil)
		w.clock.Advance(credential.RefreshReuseGrace + time.Second)
		if _, err := w.app.Refresh(context.Background(), tok, app.Client{}); err != nil {
			t.Fatalf("the same token once the account service answers: %v", err)
		}
		if ev := w.store.eventsOf(".session.revoked"); len(ev) != 0 {
			t.Fatalf("%d SessionRevoked events, want none", len(ev))
		}
	})
}

// A spent token presented again past the grace ends the session even while
// the account service is away: the reuse is found in the store alone.
func TestRefresh_ReuseEndsTheSessionWhileTheAccountServiceIsAway(t *testing.T) {
	w := newWorld(t)
	w.account("anna", "Correct-Horse-1", false, credential.Policy{})
	first := w.mustTokens(w.login("anna", "Correct-Horse-1")).RefreshToken
	if _, err := w.app.Refresh(context.Background(), first, app.Client{}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(credential.RefreshReuseGrace + time.Second)
	w.dir.setLookupErr(errs.Unavailable("ACCOUNT_SERVICE_UNAVAILABLE", "down", nil))
	_, err := w.app.Refresh(context.Background(), first, app.Client{})
	wantReason(t, err, "REFRESH_TOKEN_INVALID")
	if ev := w.store.eventsOf(".session.revoked"); len(ev) != 1 {
		t.Fatalf("%d SessionRevoked events, want 1", len(ev))
	}
}

// A refresh is one transaction: the token is spent and its successor made
// in the same one, so no twin can find it spent without a successor.
func TestRefresh_OneTransaction(t *testing.T) {
	w := newWorld(t)
	w.account("anna", "Correct-Horse-1", false, credential.Policy{})
	tok := w.mustTokens(w.login("anna", "Correct-Horse-1")).RefreshToken
	w.store.reset()
	if _, err := w.app.Refresh(context.Background(), tok, app.Client{}); err != nil {
		t.Fatal(err)
	}
	if n := w.store.txs.Load(); n != 1 {
		t.Fatalf("a refresh ran %d transactions, want 1", n)
	}
}

// Disabling an account revokes its sessions; a refresh with one of their
// tokens is then refused as an invalid token (401), as before the account
// changed, not with the account's state (403).
func TestRefresh_RevokedSessionOfADisabledAccount_TokenInvalid(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{})
	tok := w.mustTokens(w.login("anna", "Correct-Horse-1")).RefreshToken
	if _, err := w.app.RevokeAllSessions(context.Background(), s.TenantID, s.AccountID, "ACCOUNT_DISABLED"); err != nil {
		t.Fatal(err)
	}
	w.dir.mu.Lock()
	w.dir.accounts[s.AccountID].Status = credential.StatusDisabled
	w.dir.mu.Unlock()
	_, err := w.app.Refresh(context.Background(), tok, app.Client{})
	wantReason(t, err, "REFRESH_TOKEN_INVALID")
}
