// Package storetest is the conformance suite every implementation of
// store.Store passes, on every dialect.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// Pending counts messages written to the outbox and not yet published.
type Pending func(ctx context.Context) (int, error)

// Factory returns a store over a fresh, migrated database of its own, and
// the count of its outbox.
type Factory func(t *testing.T) (store.Store, Pending)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func token(tenant, account string, kind recovery.Kind, at time.Time) *recovery.LinkToken {
	_, h := recovery.NewSecret()
	return &recovery.LinkToken{Hash: h, TenantID: tenant, AccountID: account, Kind: kind, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func insert(t *testing.T, s store.Store, lt *recovery.LinkToken) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		_, fresh, err := tx.IssueLinkToken(context.Background(), lt)
		if err == nil && !fresh {
			t.Fatalf("token of request %q not stored", lt.RequestID)
		}
		return err
	})
}

func usable(t *testing.T, s store.Store, h recovery.Hash, now time.Time) bool {
	t.Helper()
	lt, err := s.LinkToken(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return lt.Usable(now)
}

func consume(s store.Store, h recovery.Hash, kind recovery.Kind, now time.Time) error {
	return s.InTx(context.Background(), func(tx store.Tx) error {
		_, err := tx.ConsumeLinkToken(context.Background(), h, kind, now)
		return err
	})
}

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()
	tenant := ids.New()

	t.Run("LinkToken_StoresOnlyTheHashAndReadsBack", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		lt := token(tenant, acct, recovery.Reset, t0)
		lt.RequestID, lt.ByAdmin = "req-1", true
		insert(t, s, lt)
		got, err := s.LinkToken(ctx, lt.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountID != acct || got.Kind != recovery.Reset || !got.ByAdmin || !got.ExpiresAt.Equal(lt.ExpiresAt) || got.UsedAt != nil {
			t.Fatalf("read back %+v", got)
		}
		inTx(t, s, func(tx store.Tx) error {
			// The same request again issues nothing: it gets the token
			// it issued (the e-mail went out then) and voids nothing.
			again := token(tenant, acct, recovery.Reset, t0.Add(time.Minute))
			again.RequestID = "req-1"
			byReq, fresh, err := tx.IssueLinkToken(ctx, again)
			if err != nil || fresh || byReq.Hash != lt.Hash {
				t.Fatalf("same request again: %v, fresh %v, %v; want the first token", byReq, fresh, err)
			}
			// The same request id of another kind is another request.
			activation := token(tenant, acct, recovery.Activation, t0)
			activation.RequestID = "req-1"
			if _, fresh, err := tx.IssueLinkToken(ctx, activation); err != nil || !fresh {
				t.Fatalf("other kind, same request id: fresh %v, %v", fresh, err)
			}
			return nil
		})
		if !usable(t, s, lt.Hash, t0) {
			t.Fatal("the repeated request voided the token it had issued")
		}
		_, other := recovery.NewSecret()
		if _, err := s.LinkToken(ctx, other); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("unknown hash: %v", err)
		}
	})

	t.Run("IssueLinkToken_OneTokenPerRequestUnderConcurrency", func(t *testing.T) {
		// A redelivered event or a retried call racing the first: 100
		// at once with one request id store one token, and every call
		// gets that token back, none an error.
		s, _ := newStore(t)
		acct := ids.New()
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			fresh  int
			hashes = map[recovery.Hash]bool{}
		)
		for range 100 {
			wg.Go(func() {
				lt := token(tenant, acct, recovery.Activation, t0)
				lt.RequestID = "event-1"
				err := s.InTx(ctx, func(tx store.Tx) error {
					got, isNew, err := tx.IssueLinkToken(ctx, lt)
					if err == nil {
						mu.Lock()
						hashes[got.Hash] = true
						if isNew {
							fresh++
						}
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if fresh != 1 || len(hashes) != 1 {
			t.Fatalf("%d calls stored a token, %d tokens returned; want one of each", fresh, len(hashes))
		}
	})

	t.Run("IssueLinkToken_VoidsOlderOfItsKindOnly", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		oldReset := token(tenant, acct, recovery.Reset, t0)
		activation := token(tenant, acct, recovery.Activation, t0)
		otherAcct := token(tenant, ids.New(), recovery.Reset, t0)
		insert(t, s, oldReset)
		insert(t, s, activation)
		insert(t, s, otherAcct)
		oldTicket, otherTicket := ticket(oldReset, t0), ticket(otherAcct, t0)
		inTx(t, s, func(tx store.Tx) error {
			if err := tx.InsertTicket(ctx, oldTicket); err != nil {
				return err
			}
			return tx.InsertTicket(ctx, otherTicket)
		})
		newReset := token(tenant, acct, recovery.Reset, t0.Add(time.Minute))
		insert(t, s, newReset)
		now := t0.Add(2 * time.Minute)
		if usable(t, s, oldReset.Hash, now) {
			t.Error("the older reset link still works")
		}
		inTx(t, s, func(tx store.Tx) error {
			if _, err := tx.ConsumeTicket(ctx, oldTicket.Hash, t0.Add(time.Second)); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("the older link's ticket: %v; want it void", err)
			}
			if _, err := tx.ConsumeTicket(ctx, otherTicket.Hash, t0.Add(time.Second)); err != nil {
				t.Errorf("another account's ticket: %v; want it to stand", err)
			}
			return nil
		})
		if !usable(t, s, newReset.Hash, now) || !usable(t, s, activation.Hash, now) || !usable(t, s, otherAcct.Hash, now) {
			t.Error("a link that should stand was voided")
		}
	})

	t.Run("ConsumeLinkToken_OnceOnlyOfItsKindBeforeExpiry", func(t *testing.T) {
		s, _ := newStore(t)
		lt := token(tenant, ids.New(), recovery.Reset, t0)
		insert(t, s, lt)
		if err := consume(s, lt.Hash, recovery.Activation, t0); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("other kind consumed: %v", err)
		}
		if err := consume(s, lt.Hash, recovery.Reset, t0.Add(time.Hour)); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("expired consumed: %v", err)
		}
		if err := consume(s, lt.Hash, recovery.Reset, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := consume(s, lt.Hash, recovery.Reset, t0.Add(time.Minute)); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("consumed twice: %v", err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.RestoreLinkToken(ctx, lt.Hash) })
		if err := consume(s, lt.Hash, recovery.Reset, t0.Add(time.Minute)); err != nil {
			t.Fatalf("restored token: %v", err)
		}
	})

	t.Run("ConsumeLinkToken_20Concurrent_OneWins", func(t *testing.T) {
		s, _ := newStore(t)
		lt := token(tenant, ids.New(), recovery.Activation, t0)
		insert(t, s, lt)
		if n := race(20, func() error { return consume(s, lt.Hash, recovery.Activation, t0.Add(time.Second)) }); n != 1 {
			t.Fatalf("%d of 20 concurrent consumptions won, want 1", n)
		}
	})

	t.Run("RestoreLinkToken_NotAfterVoid", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		lt := token(tenant, acct, recovery.Reset, t0)
		insert(t, s, lt)
		if err := consume(s, lt.Hash, recovery.Reset, t0); err != nil {
			t.Fatal(err)
		}
		inTx(t, s, func(tx store.Tx) error {
			// A used token is not voided (nothing to void)...
			n, err := tx.VoidLinkTokens(ctx, tenant, acct, "", t0, t0)
			if n != 0 {
				t.Errorf("voided %d used tokens", n)
			}
			return err
		})
		// ...so a restore after a refused password makes it usable again.
		inTx(t, s, func(tx store.Tx) error { return tx.RestoreLinkToken(ctx, lt.Hash) })
		inTx(t, s, func(tx store.Tx) error {
			_, err := tx.VoidLinkTokens(ctx, tenant, acct, "", t0, t0)
			return err
		})
		inTx(t, s, func(tx store.Tx) error { return tx.RestoreLinkToken(ctx, lt.Hash) })
		if usable(t, s, lt.Hash, t0) {
			t.Fatal("a void token came back by restore")
		}
	})

	t.Run("VoidLinkTokens_ByTimeAndKindAndAccount", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		before := token(tenant, acct, recovery.Reset, t0)
		activation := token(tenant, acct, recovery.Activation, t0)
		otherTenant := token(ids.New(), acct, recovery.Reset, t0)
		insert(t, s, before)
		insert(t, s, activation)
		insert(t, s, otherTenant)
		var n int
		inTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.VoidLinkTokens(ctx, tenant, acct, recovery.Activation, t0, t0)
			return err
		})
		if n != 1 || usable(t, s, activation.Hash, t0) || !usable(t, s, before.Hash, t0) {
			t.Fatalf("voiding activation links: n=%d", n)
		}
		after := token(tenant, acct, recovery.Reset, t0.Add(time.Minute))
		insert(t, s, after)
		inTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.VoidLinkTokens(ctx, tenant, acct, "", t0.Add(30*time.Second), t0.Add(2*time.Minute))
			return err
		})
		if n != 0 || !usable(t, s, after.Hash, t0.Add(2*time.Minute)) {
			t.Fatalf("a link issued after the change was voided (n=%d)", n)
		}
		if !usable(t, s, otherTenant.Hash, t0) {
			t.Fatal("another tenant's link was voided")
		}
	})

	t.Run("CountFailedTry_VoidsAtTheLimit", func(t *testing.T) {
		s, _ := newStore(t)
		lt := token(tenant, ids.New(), recovery.Reset, t0)
		insert(t, s, lt)
		k := ticket(lt, t0)
		inTx(t, s, func(tx store.Tx) error { return tx.InsertTicket(ctx, k) })
		for want := 1; want <= 3; want++ {
			inTx(t, s, func(tx store.Tx) error {
				n, err := tx.CountFailedTry(ctx, lt.Hash, t0, 3)
				if n != want {
					t.Errorf("try %d counted as %d", want, n)
				}
				return err
			})
		}
		if usable(t, s, lt.Hash, t0) {
			t.Fatal("the link works after 3 wrong tries")
		}
		inTx(t, s, func(tx store.Tx) error {
			if _, err := tx.ConsumeTicket(ctx, k.Hash, t0); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("the ticket of a void link was consumed: %v", err)
			}
			return nil
		})
	})

	t.Run("Ticket_NewVoidsOlder_ConsumedOnce_Restorable", func(t *testing.T) {
		s, _ := newStore(t)
		lt := token(tenant, ids.New(), recovery.Reset, t0)
		insert(t, s, lt)
		first := ticket(lt, t0)
		second := ticket(lt, t0.Add(time.Second))
		second.VerifiedWith = []string{recovery.ProofTOTP, recovery.ProofAnswers}
		inTx(t, s, func(tx store.Tx) error { return tx.InsertTicket(ctx, first) })
		inTx(t, s, func(tx store.Tx) error { return tx.InsertTicket(ctx, second) })
		inTx(t, s, func(tx store.Tx) error {
			if _, err := tx.ConsumeTicket(ctx, first.Hash, t0.Add(time.Second)); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("an older ticket was consumed: %v", err)
			}
			got, err := tx.ConsumeTicket(ctx, second.Hash, t0.Add(time.Second))
			if err != nil {
				return err
			}
			if got.TokenHash != lt.Hash || len(got.VerifiedWith) != 2 || got.VerifiedWith[1] != recovery.ProofAnswers {
				t.Errorf("ticket read back %+v", got)
			}
			if _, err := tx.ConsumeTicket(ctx, second.Hash, t0.Add(time.Second)); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("a ticket consumed twice: %v", err)
			}
			if err := tx.RestoreTicket(ctx, second.Hash); err != nil {
				return err
			}
			if _, err := tx.ConsumeTicket(ctx, second.Hash, second.ExpiresAt); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("an expired ticket was consumed: %v", err)
			}
			return nil
		})
	})

	t.Run("ConsumeTicket_20Concurrent_OneWins", func(t *testing.T) {
		s, _ := newStore(t)
		lt := token(tenant, ids.New(), recovery.Reset, t0)
		insert(t, s, lt)
		k := ticket(lt, t0)
		inTx(t, s, func(tx store.Tx) error { return tx.InsertTicket(ctx, k) })
		n := race(20, func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.ConsumeTicket(ctx, k.Hash, t0.Add(time.Second))
				return err
			})
		})
		if n != 1 {
			t.Fatalf("%d of 20 concurrent consumptions won, want 1", n)
		}
	})

	t.Run("Questions_ReplacedInOrder", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		set := func(qs ...string) {
			var stored []recovery.Question
			for _, q := range qs {
				stored = append(stored, recovery.Question{Question: q, AnswerHash: "$argon2id$" + q})
			}
			inTx(t, s, func(tx store.Tx) error { return tx.ReplaceQuestions(ctx, tenant, acct, stored, t0) })
		}
		set("a", "b", "c")
		set("z", "y")
		got, err := s.Questions(ctx, tenant, acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Question != "z" || got[1].AnswerHash != "$argon2id$y" {
			t.Fatalf("questions %+v", got)
		}
		if other, _ := s.Questions(ctx, ids.New(), acct); len(other) != 0 {
			t.Fatal("questions leak into another tenant")
		}
	})

	t.Run("EmailVerified", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		if v, err := s.EmailVerified(ctx, tenant, acct); err != nil || v {
			t.Fatalf("before: %v %v", v, err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.MarkEmailVerified(ctx, tenant, acct, t0) })
		inTx(t, s, func(tx store.Tx) error { return tx.MarkEmailVerified(ctx, tenant, acct, t0.Add(time.Hour)) })
		if v, err := s.EmailVerified(ctx, tenant, acct); err != nil || !v {
			t.Fatalf("after: %v %v", v, err)
		}
		// A change the proof came after (its event arrived late) leaves
		// it; one at or after the proof forgets it, in this account only.
		other := ids.New()
		inTx(t, s, func(tx store.Tx) error { return tx.MarkEmailVerified(ctx, tenant, other, t0) })
		inTx(t, s, func(tx store.Tx) error { return tx.ForgetEmailVerified(ctx, tenant, acct, t0.Add(time.Minute)) })
		if v, err := s.EmailVerified(ctx, tenant, acct); err != nil || !v {
			t.Fatalf("a change before the last proof forgot it: %v %v", v, err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.ForgetEmailVerified(ctx, tenant, acct, t0.Add(time.Hour)) })
		if v, err := s.EmailVerified(ctx, tenant, acct); err != nil || v {
			t.Fatalf("a change at the proof's time kept it: %v %v", v, err)
		}
		if v, err := s.EmailVerified(ctx, tenant, other); err != nil || !v {
			t.Fatalf("another account's proof was forgotten: %v %v", v, err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.MarkEmailVerified(ctx, tenant, acct, t0.Add(2*time.Hour)) })
		if v, err := s.EmailVerified(ctx, tenant, acct); err != nil || !v {
			t.Fatalf("a proof of the new address: %v %v", v, err)
		}
	})

	t.Run("ResetRequests_ClaimLeasesThenDelete", func(t *testing.T) {
		s, _ := newStore(t)
		r := &recovery.ResetRequest{ID: ids.New(), TenantCode: "acme", Login: "jan", Kind: recovery.Reset, CreatedAt: t0}
		if err := s.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.Claim(ctx, t0, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].Login != "jan" || got[0].TenantCode != "acme" || got[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if again, _ := s.Claim(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatal("a leased request was claimed again")
		}
		again, _ := s.Claim(ctx, t0.Add(2*time.Minute), time.Minute, 10)
		if len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v", again)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.DeleteRequest(ctx, r.ID) })
		if left, _ := s.Claim(ctx, t0.Add(time.Hour), time.Minute, 10); len(left) != 0 {
			t.Fatal("a deleted request was claimed")
		}
	})

	t.Run("Emit_CommitsAndRollsBackWithTheChange", func(t *testing.T) {
		s, pending := newStore(t)
		ev := store.Event{ID: ids.New(), Subject: "latchkey.events.v1.test.x", Message: wrapperspb.String("x")}
		_ = s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.Emit(ctx, ev); err != nil {
				return err
			}
			return errs.Conflict("x", "ROLLBACK", "roll back")
		})
		if n, _ := pending(ctx); n != 0 {
			t.Fatalf("%d events after a rollback", n)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.Emit(ctx, ev) })
		if n, _ := pending(ctx); n != 1 {
			t.Fatalf("%d events after a commit, want 1", n)
		}
	})
}

func ticket(lt *recovery.LinkToken, at time.Time) *recovery.Ticket {
	_, h := recovery.NewSecret()
	return &recovery.Ticket{Hash: h, TokenHash: lt.Hash, TenantID: lt.TenantID, AccountID: lt.AccountID,
		CreatedAt: at, ExpiresAt: at.Add(recovery.TicketTTL)}
}

// race runs fn n times at once and returns how many calls succeeded.
func race(n int, fn func() error) int {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  int
		start = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if fn() == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}
