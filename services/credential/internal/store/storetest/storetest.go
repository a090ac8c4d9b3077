// Package storetest is the conformance suite of the credential service's
// store, run by every implementation on every engine. It concentrates on
// what must hold under concurrency: single-use tickets and refresh tokens,
// and failure counts that parallel guesses cannot push past the limit.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

var now = clock.Normalize(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))

// Run runs the suite against s.
func Run(t *testing.T, s store.Store) {
	for name, fn := range map[string]func(*testing.T, store.Store){
		"PasswordRoundTripAndHistory":     testPassword,
		"AttemptsCannotExceedMax":         testAttempts,
		"TicketIsSingleUse":               testTicket,
		"RefreshTokenReuseIsDetected":     testRefresh,
		"RevokeSessionsAllButOneOrSome":   testRevoke,
		"SessionsOfOtherTenantInvisible":  testTenantScope,
		"PINAttemptsCannotExceedMax":      testDevices,
		"EndedSessionEndsItsDeviceKey":    testSessionDevice,
		"ReleasedAttemptIsGivenBack":      testReleaseAttempt,
		"PeekDoesNotUseTheTicket":         testPeekTicket,
		"WrongCodesEndTheTicket":          testTicketCodes,
		"DeviceSeenInEarlierSessions":     testDeviceSeen,
		"ExpiryWarnedOncePerExpiry":       testExpiryWarnings,
		"TryExclusiveOneHolder":           testTryExclusive,
		"PruneDeletesOnlyWhatEndedBefore": testPrune,
	} {
		t.Run(name, func(t *testing.T) { fn(t, s) })
	}
}

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func testPassword(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	inTx(t, s, func(tx store.Tx) error {
		if _, err := tx.GetPassword(ctx, tenant, acct); !errs.Is(err, errs.KindNotFound) {
			return fmt.Errorf("missing password: %v", err)
		}
		p := &credential.Password{TenantID: tenant, AccountID: acct, Hash: "h1", ChangedAt: now, Temporary: true}
		if err := tx.SavePassword(ctx, p); err != nil {
			return err
		}
		p.Hash, p.Temporary = "h2", false
		if err := tx.SavePassword(ctx, p); err != nil {
			return err
		}
		got, err := tx.GetPassword(ctx, tenant, acct)
		if err != nil || got.Hash != "h2" || got.Temporary || !got.ChangedAt.Equal(now) {
			return fmt.Errorf("got %+v %v", got, err)
		}
		for i := 0; i < 5; i++ {
			if err := tx.AddHistory(ctx, tenant, acct, fmt.Sprintf("old%d", i), now.Add(time.Duration(i)*time.Minute), 3); err != nil {
				return err
			}
		}
		h, err := tx.History(ctx, tenant, acct, 10)
		if err != nil || fmt.Sprint(h) != "[old4 old3 old2]" {
			return fmt.Errorf("history = %v (%v), want the newest 3, newest first", h, err)
		}
		return nil
	})
}

func testAttempts(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	const max, tries = 5, 20
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < tries; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Tx) error {
				_, reserved, err := tx.ReserveAttempt(ctx, tenant, acct, max, now, 0)
				if reserved {
					ok.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != max {
		t.Fatalf("%d of %d parallel attempts were let through, want exactly %d", ok.Load(), tries, max)
	}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.ResetAttempts(ctx, tenant, acct); err != nil {
			return err
		}
		n, reserved, err := tx.ReserveAttempt(ctx, tenant, acct, max, now, 0)
		if err != nil || !reserved || n != 1 {
			return fmt.Errorf("after reset: %d %v %v", n, reserved, err)
		}
		return nil
	})
	// A lock of lockFor ends lockFor after the attempt that reached the
	// limit, and then counting starts afresh; one without an end lasts
	// until a reset.
	for _, tc := range []struct {
		lockFor time.Duration
		later   time.Duration
		want    bool
	}{
		{15 * time.Minute, 15*time.Minute - time.Second, false},
		{15 * time.Minute, 15 * time.Minute, true},
		{0, 365 * 24 * time.Hour, false},
	} {
		acct := ids.New()
		inTx(t, s, func(tx store.Tx) error {
			for i := 0; i < max; i++ {
				if _, ok, err := tx.ReserveAttempt(ctx, tenant, acct, max, now, tc.lockFor); err != nil || !ok {
					return fmt.Errorf("attempt %d: %v %v", i+1, ok, err)
				}
			}
			if _, ok, err := tx.ReserveAttempt(ctx, tenant, acct, max, now.Add(time.Second), tc.lockFor); err != nil || ok {
				return fmt.Errorf("attempt past the limit: %v %v, want refused", ok, err)
			}
			n, ok, err := tx.ReserveAttempt(ctx, tenant, acct, max, now.Add(tc.later), tc.lockFor)
			if err != nil || ok != tc.want || (ok && n != 1) {
				return fmt.Errorf("lock of %v, %v later: %d %v %v; want let through afresh = %v", tc.lockFor, tc.later, n, ok, err, tc.want)
			}
			return nil
		})
	}
}

func testTicket(t *testing.T, s store.Store) {
	ctx := context.Background()
	hash := sha256.Sum256([]byte(ids.New()))
	k := &credential.LoginTicket{Hash: hash, TenantID: ids.New(), AccountID: ids.New(), Step: credential.StepChangePassword,
		AMR: []string{"pwd"}, AuthTime: now, DeviceName: "phone", ExpiresAt: now.Add(credential.TicketTTL)}
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, k, []credential.Step{credential.StepAcceptTerms}) })
	var used atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.InTx(ctx, func(tx store.Tx) error {
				got, done, err := tx.UseTicket(ctx, hash, now.Add(time.Minute))
				if err == nil {
					used.Add(1)
					if got.AccountID != k.AccountID || got.Step != k.Step || fmt.Sprint(done) != "[ACCEPT_TERMS]" || fmt.Sprint(got.AMR) != "[pwd]" {
						t.Errorf("ticket = %+v done %v", got, done)
					}
				} else if !errs.Is(err, errs.KindNotFound) {
					t.Error(err)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if used.Load() != 1 {
		t.Fatalf("ticket used %d times, want once", used.Load())
	}
	expired := *k
	expired.Hash = sha256.Sum256([]byte(ids.New()))
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, &expired, nil) })
	err := s.InTx(ctx, func(tx store.Tx) error {
		_, _, err := tx.UseTicket(ctx, expired.Hash, now.Add(credential.TicketTTL+time.Second))
		return err
	})
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("expired ticket: %v, want NotFound", err)
	}
}

func newSession(tenant, acct string) *credential.Session {
	return &credential.Session{ID: ids.New(), TenantID: tenant, AccountID: acct, DeviceName: "laptop", IP: "192.0.2.1",
		UserAgent: "test", AMR: []string{"pwd"}, AuthTime: now, CreatedAt: now, LastUsedAt: now}
}

func testRefresh(t *testing.T, s store.Store) {
	ctx := context.Background()
	sess := newSession(ids.New(), ids.New())
	r := &credential.RefreshToken{Hash: sha256.Sum256([]byte(ids.New())), SessionID: sess.ID, TenantID: sess.TenantID,
		AccountID: sess.AccountID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddRefreshToken(ctx, r)
	})
	if tenant, acct, err := s.RefreshTokenOwner(ctx, r.Hash); err != nil || tenant != sess.TenantID || acct != sess.AccountID {
		t.Fatalf("RefreshTokenOwner = %q %q %v, want the session's tenant and account", tenant, acct, err)
	}
	if _, _, err := s.RefreshTokenOwner(ctx, sha256.Sum256([]byte("unknown"))); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("RefreshTokenOwner of an unknown token: %v, want NotFound", err)
	}
	inTx(t, s, func(tx store.Tx) error {
		got, reused, err := tx.UseRefreshToken(ctx, r.Hash, now)
		if err != nil || reused || got.SessionID != sess.ID {
			return fmt.Errorf("first use: %+v %v %v", got, reused, err)
		}
		got, reused, err = tx.UseRefreshToken(ctx, r.Hash, now)
		if err != nil || !reused || got.SessionID != sess.ID || got.UsedAt == nil || !got.UsedAt.Equal(now) || got.Successor != nil {
			return fmt.Errorf("second use: %+v reused=%v %v, want reuse detected, used now, no successor yet", got, reused, err)
		}
		if err := tx.SetRefreshSuccessor(ctx, r.Hash, []byte("sealed")); err != nil {
			return err
		}
		if got, _, err = tx.UseRefreshToken(ctx, r.Hash, now); err != nil || string(got.Successor) != "sealed" {
			return fmt.Errorf("after SetRefreshSuccessor: %+v %v, want the sealed successor", got, err)
		}
		if _, _, err := tx.UseRefreshToken(ctx, sha256.Sum256([]byte("unknown")), now); !errs.Is(err, errs.KindNotFound) {
			return fmt.Errorf("unknown token: %v", err)
		}
		return nil
	})
	// A spent token still has its owner: the refresh that finds a reuse
	// must know whom to ask about.
	if _, acct, err := s.RefreshTokenOwner(ctx, r.Hash); err != nil || acct != sess.AccountID {
		t.Fatalf("RefreshTokenOwner of a spent token = %q %v, want the session's account", acct, err)
	}
}

func testRevoke(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	a, b, c := newSession(tenant, acct), newSession(tenant, acct), newSession(tenant, acct)
	inTx(t, s, func(tx store.Tx) error {
		for _, x := range []*credential.Session{a, b, c} {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		revoked, err := tx.RevokeSessions(ctx, tenant, acct, []string{b.ID}, "", now)
		if err != nil || fmt.Sprint(revoked) != fmt.Sprint([]string{b.ID}) {
			return fmt.Errorf("revoke one: %v %v", revoked, err)
		}
		revoked, err = tx.RevokeSessions(ctx, tenant, acct, nil, a.ID, now)
		if err != nil || fmt.Sprint(revoked) != fmt.Sprint([]string{c.ID}) {
			return fmt.Errorf("revoke all but a: %v %v", revoked, err)
		}
		live, err := tx.ListSessions(ctx, tenant, acct)
		if err != nil || len(live) != 1 || live[0].ID != a.ID {
			return fmt.Errorf("live = %v %v", live, err)
		}
		revoked, err = tx.RevokeSessions(ctx, tenant, acct, nil, "", now)
		if err != nil || len(revoked) != 1 {
			return fmt.Errorf("revoke all: %v %v", revoked, err)
		}
		return nil
	})
}

func testTenantScope(t *testing.T, s store.Store) {
	ctx := context.Background()
	sess := newSession(ids.New(), ids.New())
	inTx(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, sess) })
	err := s.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.GetSession(ctx, ids.New(), sess.ID)
		return err
	})
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("session read through another tenant: %v", err)
	}
	var got []string
	inTx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.RevokeSessions(ctx, ids.New(), sess.AccountID, nil, "", now)
		return err
	})
	if len(got) != 0 {
		t.Fatalf("another tenant revoked %v", got)
	}
}

func newDevice(tenant, acct string) *credential.Device {
	return &credential.Device{ID: ids.New(), TenantID: tenant, AccountID: acct, KeyHash: sha256.Sum256([]byte(ids.New())),
		Name: "phone", CreatedAt: now, LastUsedAt: now}
}

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	d := newDevice(tenant, acct)
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.SavePIN(ctx, tenant, acct, "pinhash", now); err != nil {
			return err
		}
		if h, err := tx.GetPIN(ctx, tenant, acct); err != nil || h != "pinhash" {
			return fmt.Errorf("pin = %q %v", h, err)
		}
		return tx.AddDevice(ctx, d)
	})
	// Parallel attempts on the device and on the PIN's change: exactly
	// the limit of each is let through.
	var device, change atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 4*credential.MaxPINFailures; i++ {
		wg.Go(func() {
			err := s.InTx(ctx, func(tx store.Tx) error {
				_, ok, err := tx.ReserveDeviceAttempt(ctx, tenant, d.ID)
				if ok {
					device.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			err := s.InTx(ctx, func(tx store.Tx) error {
				_, ok, err := tx.ReservePINAttempt(ctx, tenant, acct)
				if ok {
					change.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if device.Load() != credential.MaxPINFailures || change.Load() != credential.MaxPINFailures {
		t.Fatalf("parallel attempts let through: device %d, PIN change %d; want %d each", device.Load(), change.Load(), credential.MaxPINFailures)
	}
	inTx(t, s, func(tx store.Tx) error {
		// A released attempt is given back; a successful unlock and a
		// new PIN start the counts afresh.
		if err := tx.ReleaseDeviceAttempt(ctx, tenant, d.ID); err != nil {
			return err
		}
		if err := tx.ReleasePINAttempt(ctx, tenant, acct); err != nil {
			return err
		}
		if n, ok, err := tx.ReserveDeviceAttempt(ctx, tenant, d.ID); err != nil || !ok || n != credential.MaxPINFailures {
			return fmt.Errorf("device attempt after a release: %d %v %v, want the last one", n, ok, err)
		}
		if n, ok, err := tx.ReservePINAttempt(ctx, tenant, acct); err != nil || !ok || n != credential.MaxPINFailures {
			return fmt.Errorf("PIN attempt after a release: %d %v %v, want the last one", n, ok, err)
		}
		if err := tx.UsedDevice(ctx, tenant, d.ID, now); err != nil {
			return err
		}
		if n, ok, err := tx.ReserveDeviceAttempt(ctx, tenant, d.ID); err != nil || !ok || n != 1 {
			return fmt.Errorf("device attempt after an unlock: %d %v %v, want 1", n, ok, err)
		}
		if err := tx.SavePIN(ctx, tenant, acct, "newhash", now); err != nil {
			return err
		}
		if n, ok, err := tx.ReservePINAttempt(ctx, tenant, acct); err != nil || !ok || n != 1 {
			return fmt.Errorf("PIN attempt after a new PIN: %d %v %v, want 1", n, ok, err)
		}
		if _, ok, err := tx.ReservePINAttempt(ctx, ids.New(), acct); err != nil || ok {
			return fmt.Errorf("PIN attempt through another tenant: %v %v, want refused", ok, err)
		}
		return tx.RevokeDevice(ctx, tenant, d.ID, now)
	})
	err := s.InTx(ctx, func(tx store.Tx) error {
		if _, ok, err := tx.ReserveDeviceAttempt(ctx, tenant, d.ID); err != nil || ok {
			return fmt.Errorf("attempt on a revoked device: %v %v, want refused", ok, err)
		}
		_, err := tx.DeviceByKey(ctx, d.KeyHash)
		return err
	})
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("revoked device: %v, want NotFound", err)
	}
}

// A session remembers its device; the sessions list says while its key
// is live, and revoking the session revokes the key.
func testSessionDevice(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	d := newDevice(tenant, acct)
	withKey, without := newSession(tenant, acct), newSession(tenant, acct)
	withKey.DeviceID = d.ID
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.AddDevice(ctx, d); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, withKey); err != nil {
			return err
		}
		return tx.CreateSession(ctx, without)
	})
	keys := func() map[string]bool {
		t.Helper()
		list, err := s.ListSessions(ctx, tenant, acct)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, x := range list {
			out[x.ID] = x.PINKey
		}
		return out
	}
	if got := keys(); !got[withKey.ID] || got[without.ID] || len(got) != 2 {
		t.Fatalf("PIN keys in the list = %v, want only %s", got, withKey.ID)
	}
	if got, err := s.GetSession(ctx, tenant, withKey.ID); err != nil || got.DeviceID != d.ID || !got.PINKey {
		t.Fatalf("session = %+v %v, want its device and a live key", got, err)
	}
	inTx(t, s, func(tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, tenant, acct, []string{without.ID}, "", now)
		return err
	})
	if _, err := s.DeviceByKey(ctx, d.KeyHash); err != nil {
		t.Fatalf("device after another session ended: %v, want live", err)
	}
	inTx(t, s, func(tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, tenant, acct, []string{withKey.ID}, "", now)
		return err
	})
	if _, err := s.DeviceByKey(ctx, d.KeyHash); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("device after its session ended: %v, want revoked (NotFound)", err)
	}
	if got, err := s.GetSession(ctx, tenant, withKey.ID); err != nil || got.PINKey {
		t.Fatalf("ended session = %+v %v, want no live key", got, err)
	}
}

func testReleaseAttempt(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	inTx(t, s, func(tx store.Tx) error {
		for range 2 {
			if _, _, err := tx.ReserveAttempt(ctx, tenant, acct, 5, now, 0); err != nil {
				return err
			}
		}
		if err := tx.ReleaseAttempt(ctx, tenant, acct); err != nil {
			return err
		}
		if n, err := tx.FailedCount(ctx, tenant, acct); err != nil || n != 1 {
			return fmt.Errorf("count after a release = %d %v, want 1", n, err)
		}
		if err := tx.ReleaseAttempt(ctx, tenant, acct); err != nil {
			return err
		}
		if err := tx.ReleaseAttempt(ctx, tenant, acct); err != nil {
			return err
		}
		if n, err := tx.FailedCount(ctx, tenant, acct); err != nil || n != 0 {
			return fmt.Errorf("count after releasing more than reserved = %d %v, want 0", n, err)
		}
		return nil
	})
}

func testPeekTicket(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := &credential.LoginTicket{Hash: sha256.Sum256([]byte(ids.New())), TenantID: ids.New(), AccountID: ids.New(),
		Step: credential.StepAcceptTerms, AMR: []string{"pwd"}, AuthTime: now, ExpiresAt: now.Add(credential.TicketTTL)}
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, k, []credential.Step{credential.StepMFA}) })
	for i := 0; i < 2; i++ {
		got, done, err := s.PeekTicket(ctx, k.Hash, now.Add(time.Minute))
		if err != nil || got.AccountID != k.AccountID || got.Step != k.Step || !got.ExpiresAt.Equal(k.ExpiresAt) || fmt.Sprint(done) != "[MFA]" {
			t.Fatalf("peek %d: %+v %v %v", i+1, got, done, err)
		}
	}
	if got, _, _ := s.PeekTicket(ctx, k.Hash, now); got.EnrollmentStarted {
		t.Fatal("a ticket added without a started enrolment reads as started")
	}
	if _, _, err := s.PeekTicket(ctx, k.Hash, k.ExpiresAt); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("peek at expiry: %v, want NotFound", err)
	}
	started := *k
	started.Hash, started.Step, started.EnrollmentStarted = sha256.Sum256([]byte(ids.New())), credential.StepEnrollMFA, true
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, &started, nil) })
	if got, _, err := s.PeekTicket(ctx, started.Hash, now); err != nil || !got.EnrollmentStarted || got.Step != credential.StepEnrollMFA {
		t.Fatalf("peek of a ticket added as started: %+v %v", got, err)
	}
	// Starting an enrolment marks the ticket in place: same expiry, same
	// count of wrong codes, still live.
	enrol := *k
	enrol.Hash, enrol.Step = sha256.Sum256([]byte(ids.New())), credential.StepEnrollMFA
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, &enrol, nil) })
	inTx(t, s, func(tx store.Tx) error { _, err := tx.FailTicketCode(ctx, enrol.Hash, now); return err })
	inTx(t, s, func(tx store.Tx) error { return tx.StartTicketEnrollment(ctx, enrol.Hash, now) })
	if got, _, err := s.PeekTicket(ctx, enrol.Hash, now); err != nil || !got.EnrollmentStarted || !got.ExpiresAt.Equal(enrol.ExpiresAt) {
		t.Fatalf("peek after StartTicketEnrollment: %+v %v", got, err)
	}
	var fails int
	inTx(t, s, func(tx store.Tx) error {
		var err error
		fails, err = tx.FailTicketCode(ctx, enrol.Hash, now)
		return err
	})
	if fails != 2 {
		t.Fatalf("wrong codes after StartTicketEnrollment = %d, want the earlier one kept (2)", fails)
	}
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.StartTicketEnrollment(ctx, enrol.Hash, enrol.ExpiresAt) })
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("StartTicketEnrollment of an expired ticket: %v, want NotFound", err)
	}
	inTx(t, s, func(tx store.Tx) error { _, _, err := tx.UseTicket(ctx, k.Hash, now); return err })
	if _, _, err := s.PeekTicket(ctx, k.Hash, now); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("peek of a used ticket: %v, want NotFound", err)
	}
}

func testDeviceSeen(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	check := func(name, ua string, wantAny, wantSeen bool) {
		t.Helper()
		anySession, seen, err := s.DeviceSeen(ctx, tenant, acct, name, ua)
		if err != nil || anySession != wantAny || seen != wantSeen {
			t.Fatalf("DeviceSeen(%q, %q) = %v %v %v, want %v %v", name, ua, anySession, seen, err, wantAny, wantSeen)
		}
	}
	check("laptop", "test", false, false)
	sess := newSession(tenant, acct) // laptop, "test"
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		_, err := tx.RevokeSessions(ctx, tenant, acct, nil, "", now)
		return err
	})
	check("laptop", "test", true, true) // revoked sessions still count
	check("laptop", "other browser", true, false)
	check("phone", "test", true, false)
	if anySession, _, err := s.DeviceSeen(ctx, ids.New(), acct, "laptop", "test"); err != nil || anySession {
		t.Fatalf("another tenant sees the sessions: %v %v", anySession, err)
	}
}

func testTicketCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := &credential.LoginTicket{Hash: sha256.Sum256([]byte(ids.New())), TenantID: ids.New(), AccountID: ids.New(),
		Step: credential.StepMFA, AMR: []string{"pwd"}, AuthTime: now, ExpiresAt: now.Add(credential.TicketTTL)}
	inTx(t, s, func(tx store.Tx) error { return tx.AddTicket(ctx, k, nil) })
	var counted atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 4*credential.MaxTicketCodeFailures; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Tx) error { _, err := tx.FailTicketCode(ctx, k.Hash, now); return err })
			switch {
			case err == nil:
				counted.Add(1)
			case !errs.Is(err, errs.KindNotFound):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if counted.Load() != credential.MaxTicketCodeFailures {
		t.Fatalf("%d wrong codes counted, want %d: the last one ends the ticket", counted.Load(), credential.MaxTicketCodeFailures)
	}
	if _, _, err := s.PeekTicket(ctx, k.Hash, now); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("ticket after %d wrong codes: %v, want ended", credential.MaxTicketCodeFailures, err)
	}
}

// testPrune works five years before the other tests' times, so their rows
// are never old enough to be pruned and the counts are this test's own.
func testPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, acct := ids.New(), ids.New()
	before := now.AddDate(-5, 0, 0)
	session := func(lastUsed time.Time) string {
		id := ids.New()
		inTx(t, s, func(tx store.Tx) error {
			return tx.CreateSession(ctx, &credential.Session{ID: id, TenantID: tenant, AccountID: acct,
				AuthTime: lastUsed, CreatedAt: lastUsed, LastUsedAt: lastUsed})
		})
		return id
	}
	token := func(sessionID string, expires time.Time) [32]byte {
		hash := sha256.Sum256([]byte(ids.New()))
		inTx(t, s, func(tx store.Tx) error {
			return tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: hash, SessionID: sessionID, TenantID: tenant,
				AccountID: acct, CreatedAt: expires.AddDate(0, 0, -30), ExpiresAt: expires})
		})
		return hash
	}
	ticket := func(expires time.Time) [32]byte {
		hash := sha256.Sum256([]byte(ids.New()))
		inTx(t, s, func(tx store.Tx) error {
			return tx.AddTicket(ctx, &credential.LoginTicket{Hash: hash, TenantID: tenant, AccountID: acct,
				Step: credential.StepMFA, AMR: []string{"pwd"}, AuthTime: expires.Add(-5 * time.Minute), ExpiresAt: expires}, nil)
		})
		return hash
	}

	// A live session with five spent tokens that expired before the cut
	// (more than a batch) and its current one.
	live := session(before.Add(-40 * 24 * time.Hour))
	var spent [][32]byte
	for i := range 5 {
		spent = append(spent, token(live, before.Add(-time.Duration(i+1)*time.Hour)))
	}
	current := token(live, before.Add(time.Hour))
	// Revoked before the cut, with a token that has not expired: goes,
	// token and all. Revoked after the cut: stays.
	revoked, revokedLater := session(before.Add(-time.Hour)), session(before.Add(-time.Hour))
	revokedToken, revokedLaterToken := token(revoked, before.Add(10*24*time.Hour)), token(revokedLater, before.Add(10*24*time.Hour))
	inTx(t, s, func(tx store.Tx) error {
		if _, err := tx.RevokeSessions(ctx, tenant, acct, []string{revoked}, "", before.Add(-time.Minute)); err != nil {
			return err
		}
		_, err := tx.RevokeSessions(ctx, tenant, acct, []string{revokedLater}, "", before.Add(time.Minute))
		return err
	})
	// Unused since before the cut: goes when its last token expired
	// before it too, stays while a token may still refresh it.
	dead := session(before.Add(-40 * 24 * time.Hour))
	deadToken := token(dead, before.Add(-10*24*time.Hour))
	idle := session(before.Add(-40 * 24 * time.Hour))
	idleToken := token(idle, before.Add(5*24*time.Hour))
	oldTickets := []([32]byte){ticket(before.Add(-time.Minute)), ticket(before.Add(-2 * time.Minute)), ticket(before.Add(-3 * time.Minute))}
	liveTicket := ticket(before.Add(time.Minute))

	// Device keys: revoked before the cut goes, after it or never stays.
	device := func(revokedAt *time.Time) string {
		id := ids.New()
		inTx(t, s, func(tx store.Tx) error {
			if err := tx.AddDevice(ctx, &credential.Device{ID: id, TenantID: tenant, AccountID: acct, KeyHash: sha256.Sum256([]byte(id)),
				Name: "phone", CreatedAt: before.AddDate(0, -1, 0), LastUsedAt: before.AddDate(0, -1, 0)}); err != nil {
				return err
			}
			if revokedAt == nil {
				return nil
			}
			return tx.RevokeDevice(ctx, tenant, id, *revokedAt)
		})
		return id
	}
	early, late := before.Add(-time.Minute), before.Add(time.Minute)
	device(&early)
	device(&late)
	liveDevice := device(nil)

	got, err := s.Prune(ctx, before, before, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Pruned{Sessions: 2, RefreshTokens: 6, LoginTickets: 3, Devices: 1}); got != want {
		t.Errorf("Prune = %+v, want %+v", got, want)
	}
	for id, want := range map[string]bool{live: true, revoked: false, revokedLater: true, dead: false, idle: true} {
		_, err := s.GetSession(ctx, tenant, id)
		if kept := err == nil; kept != want || (err != nil && !errs.Is(err, errs.KindNotFound)) {
			t.Errorf("session %s kept = %v (%v), want %v", id, kept, err, want)
		}
	}
	tokens := map[[32]byte]bool{current: true, revokedToken: false, revokedLaterToken: true, deadToken: false, idleToken: true}
	for _, h := range spent {
		tokens[h] = false
	}
	for h, want := range tokens {
		_, _, err := s.RefreshTokenOwner(ctx, h)
		if kept := err == nil; kept != want || (err != nil && !errs.Is(err, errs.KindNotFound)) {
			t.Errorf("refresh token %x kept = %v (%v), want %v", h[:4], kept, err, want)
		}
	}
	for _, h := range append(oldTickets, liveTicket) {
		_, _, err := s.PeekTicket(ctx, h, before.Add(-time.Hour))
		if kept, want := err == nil, h == liveTicket; kept != want {
			t.Errorf("ticket %x kept = %v (%v), want %v", h[:4], kept, err, want)
		}
	}
	if again, err := s.Prune(ctx, before, before, 2); err != nil || again != (store.Pruned{}) {
		t.Errorf("a second Prune = %+v, %v; want nothing left to delete", again, err)
	}
	// The two cuts are apart: tokens and tickets expired before the first
	// go, and with them the sessions they kept alive (unused since the
	// second); a session revoked between the cuts stays.
	expiredBefore := before.Add(5*24*time.Hour + time.Minute)
	if p, err := s.Prune(ctx, expiredBefore, before, 2); err != nil || p != (store.Pruned{Sessions: 2, RefreshTokens: 2, LoginTickets: 1}) {
		t.Errorf("Prune(tokens expired before %v, sessions ended before %v) = %+v, %v; want live's and idle's tokens and sessions, the live ticket",
			expiredBefore, before, p, err)
	}
	if _, err := s.GetSession(ctx, tenant, revokedLater); err != nil {
		t.Errorf("the session revoked between the cuts went: %v", err)
	}
	// A revoked key answers as an unknown one, so which key went shows in
	// the counts: the one revoked after the first cut goes at a later one.
	if later, err := s.Prune(ctx, late.Add(time.Minute), late.Add(time.Minute), 2); err != nil || later.Devices != 1 {
		t.Errorf("Prune after the later revocation = %+v, %v; want its device key", later, err)
	}
	if _, err := s.DeviceByKey(ctx, sha256.Sum256([]byte(liveDevice))); err != nil {
		t.Errorf("the live device key went: %v", err)
	}
}
