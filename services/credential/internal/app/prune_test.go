package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// A session that ended more than keep ago goes with its tokens; a live
// one stays and still refreshes. Of parallel prunes by two replicas over
// one database, one works and the others find it running, so the ended
// session is counted once.
func TestPrune_EndedSessionsGoLiveOnesStayOneReplicaAtATime(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		a, b := newWorldOn(t, db), newWorldOn(t, db)
		ctx := context.Background()
		anna := a.account("anna", "Correct-Horse-1", false, credential.Policy{})
		b.dir.add(anna)
		ended := a.mustTokens(a.login("anna", "Correct-Horse-1"))
		live := a.mustTokens(a.login("anna", "Correct-Horse-1"))
		if err := a.app.Logout(ctx, ended.RefreshToken); err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(2 * time.Hour)
		b.clock.Advance(2 * time.Hour)

		var mu sync.Mutex
		var total store.Pruned
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := a
				if i%2 == 1 {
					w = b
				}
				p, err := w.app.Prune(ctx, time.Hour)
				if err != nil && !errors.Is(err, app.ErrPruneRunning) {
					t.Error(err)
				}
				mu.Lock()
				total.Sessions += p.Sessions
				mu.Unlock()
			}()
		}
		wg.Wait()
		if total.Sessions != 1 {
			t.Fatalf("the prunes deleted %d sessions, want the ended one once", total.Sessions)
		}
		if _, err := a.store.GetSession(ctx, anna.TenantID, ended.SessionID); err == nil {
			t.Error("the session that ended two hours ago is still there")
		}
		if _, err := a.app.Refresh(ctx, live.RefreshToken, app.Client{}); err != nil {
			t.Errorf("the live session no longer refreshes: %v", err)
		}
		_, err := a.app.Refresh(ctx, ended.RefreshToken, app.Client{})
		wantReason(t, err, "REFRESH_TOKEN_INVALID")
	})
}
