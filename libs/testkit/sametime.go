package testkit

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// SameTime checks that two kinds of call, a and b, take about the same
// time, as the answers that must not reveal whether an account exists
// must. Each round makes n calls of each, in a random order (work a call
// leaves behind slows whichever comes next, so neither kind may follow
// the other more often), and logs both medians.
//
// It passes at the first round whose medians are within tol of each
// other (0.10: 10 %). On a busy machine a round can be further apart by
// noise alone; noise makes either kind the slower one, while a real
// difference (a look-up done for one kind only) makes the same kind slower
// every time. So after rounds rounds it fails only when the same kind was
// the slower one in every round.
func SameTime(t testing.TB, what string, n, rounds int, tol float64, a, b func() time.Duration) {
	t.Helper()
	slowerA := 0
	for round := 1; round <= rounds; round++ {
		order := make([]bool, 0, 2*n)
		for range n {
			order = append(order, true, false)
		}
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var ta, tb []time.Duration
		for _, isA := range order {
			if isA {
				ta = append(ta, a())
			} else {
				tb = append(tb, b())
			}
		}
		ma, mb := median(ta), median(tb)
		diff := float64(ma-mb) / float64(max(ma, mb))
		t.Logf("%s, round %d: medians of %d calls each %v and %v (%.1f %% apart)", what, round, n, ma, mb, 100*abs(diff))
		if abs(diff) <= tol {
			return
		}
		if diff > 0 {
			slowerA++
		}
	}
	if slowerA == rounds || slowerA == 0 {
		t.Errorf("%s: the medians were more than %.0f %% apart in %d rounds, the same kind slower each time", what, 100*tol, rounds)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
