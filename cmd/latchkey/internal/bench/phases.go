package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/passhash"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// loginAccounts is how many accounts the log-in phases spread over: the
// 64 callers then never log in to one account at once.
const loginAccounts = 64

// grpcConns is how many connections the gRPC callers share (one HTTP/2
// connection for every caller would measure its flow control).
const grpcConns = 4

// all runs every phase in order and adds their rows.
func (r *run) all(ctx context.Context) error {
	a := newAPI(r.t.httpURL)
	fmt.Fprintln(r.progress, "creating the bench tenant and its accounts")
	t, err := newTenant(ctx, a, r.t.operatorToken, r.set.hash.Params, max(loginAccounts, r.o.readers, 2*r.cores()))
	if err != nil {
		return err
	}
	if r.t.child == nil {
		r.notes = append(r.notes, fmt.Sprintf("tenant %s (%d accounts) was created for this run and is left in place", t.code, len(t.users)))
	}
	conns, err := dialAll(r.t.grpcAddr)
	if err != nil {
		return err
	}
	defer closeAll(conns)

	run := r.o.phases
	if run["login"] {
		r.logins(ctx, a, conns, t, r.hashRate(ctx))
	}
	if run["read"] || run["refresh"] {
		tokens, err := r.sessions(ctx, a, t)
		if err != nil {
			return err
		}
		if run["read"] {
			if err := r.reads(ctx, a, conns, tokens); err != nil {
				return err
			}
		}
		if run["refresh"] {
			r.refresh(ctx, a, t, tokens)
		}
	}
	if run["events"] {
		r.events(ctx, a, t)
	}
	if run["memory"] {
		r.memory(ctx, a, t)
	}
	if run["mail"] {
		r.mail(ctx, a, t)
	}
	return nil
}

func dialAll(addr string) ([]*grpc.ClientConn, error) {
	var conns []*grpc.ClientConn
	for range grpcConns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}

// hashRate measures one Argon2id hash at a time in this process at the
// suite's settings: the single-hash time.
func (r *run) hashRate(ctx context.Context) sample {
	single := load(ctx, r.progress, "single hash", 1, r.o.warmup/4, min(r.o.measure, 3*time.Second), r.hash(), benchCPU())
	p := r.set.hash.Params
	r.add(row{name: "Argon2id, 1 caller", s: &single, note: fmt.Sprintf("m=%d KiB, t=%d, p=%d; p50 is the single-hash time", p.Memory, p.Time, p.Threads)})
	return single
}

// hash returns a load op hashing as the suite does, with a pool of one
// slot per core (the suite's default).
func (r *run) hash() func(context.Context, int) error {
	h := passhash.NewHasher(r.set.hash.Params, r.cores(), 1<<20)
	return func(ctx context.Context, _ int) error { _, err := h.Hash(ctx, benchPassword); return err }
}

// turns is how many slices a phase and the figure it is compared with
// take turns in.
const turns = 5

// side is one side of a comparison taken in turns: its calls, by how many
// callers, and the processes whose CPU they cost (none: not metered).
type side struct {
	name    string
	callers int
	op      func(context.Context, int) error
	cpu     []*meter
}

// inTurns measures s and base in turns: turns slices of the measured time
// each, base first in every turn, and returns both. A shared machine's
// speed drifts by more than a target's margin within a minute (seen here:
// 40 to 65 hashes a second from one 3-second window to the next), so a
// figure measured once, a minute before, is no fair ceiling; slices taken
// in turn see the same machine. Each side has the whole warm-up before its
// first slice and a short settle before the others (the other side's
// calls drain).
func (r *run) inTurns(ctx context.Context, s, base side) (got, baseGot sample) {
	slice := r.o.measure / turns
	settle := min(r.o.warmup, 300*time.Millisecond)
	for i := range turns {
		warm := settle
		if i == 0 {
			warm = r.o.warmup
		}
		baseGot = baseGot.merge(load(ctx, r.progress, fmt.Sprintf("%s (%d/%d, before %s)", base.name, i+1, turns, s.name), base.callers, warm, slice, base.op, base.cpu))
		got = got.merge(load(ctx, r.progress, fmt.Sprintf("%s (%d/%d)", s.name, i+1, turns), s.callers, warm, slice, s.op, s.cpu))
	}
	return got, baseGot
}

// againstRaw measures op at callers in turns with the raw hash rate
// (every core hashing in this process), and returns both.
func (r *run) againstRaw(ctx context.Context, name string, callers int, op func(context.Context, int) error) (s, raw sample) {
	return r.inTurns(ctx, side{name, callers, op, r.suiteCPU()}, side{"raw Argon2id", 2 * r.cores(), r.hash(), benchCPU()})
}

// suiteCPU meters the suite's process when the bench started it, and the
// processes of its PostgreSQL server when that runs on this machine (on
// the same cores, and what sizes the database's host).
func (r *run) suiteCPU() []*meter {
	if r.t.child == nil {
		return nil
	}
	m := []*meter{processCPU("suite", r.t.child.pid())}
	if r.o.postgres != "" && onThisMachine(r.o.postgres) {
		m = append(m, processesCPU("PostgreSQL", "postgres"))
	}
	return m
}

// benchCPU meters the bench's own process (the raw hashes).
func benchCPU() []*meter { return []*meter{processCPU("bench", 0)} }

// logins measures password log-ins through REST and the public gRPC port,
// each at 2×cores callers (against the raw hash rate, measured in turns
// with it) and at 64 callers (p99 against the single-hash time).
func (r *run) logins(ctx context.Context, a *api, conns []*grpc.ClientConn, t *tenant, single sample) {
	rest := func(ctx context.Context, c int) error {
		_, err := a.login(ctx, t.code, t.users[c%len(t.users)], benchPassword)
		return err
	}
	viaGRPC := func(ctx context.Context, c int) error {
		resp, err := credentialv1.NewAuthServiceClient(conns[c%len(conns)]).Login(ctx,
			&credentialv1.LoginRequest{Tenant: t.code, Username: t.users[c%len(t.users)], Password: benchPassword})
		if err == nil && resp.GetAccessToken() == "" {
			err = fmt.Errorf("log-in answered the step %s, not a session", resp.GetNextStep())
		}
		return err
	}
	few, many := 2*r.cores(), 64
	var allRaw sample
	var rows []row
	for _, way := range []struct {
		name string
		op   func(context.Context, int) error
	}{{"REST", rest}, {"gRPC", viaGRPC}} {
		s, raw := r.againstRaw(ctx, "log-in "+way.name, few, way.op)
		allRaw = allRaw.merge(raw)
		rows = append(rows, row{name: fmt.Sprintf("log-in %s, %d callers", way.name, few), s: &s,
			goal: ratioTarget(s.rate(), raw.rate(), 0.9, "≥ 0.9 × raw hash rate"),
			note: fmt.Sprintf("raw hash rate in its turns: %.1f/s", raw.rate())})
		queued := load(ctx, r.progress, "log-in "+way.name, many, r.o.warmup, r.o.measure, way.op, r.suiteCPU())
		// With many callers always waiting, each waits for the ones ahead
		// of it: callers ÷ rate is the least any queue order can give, so
		// the note says how far p99 is from that floor (queueing, not
		// thrashing, is p99 near it).
		var floorNote string
		if rate := queued.rate(); rate > 0 {
			floor := time.Duration(float64(many) / rate * float64(time.Second))
			floorNote = fmt.Sprintf("queueing floor %d ÷ rate = %s; p99 = %.2f × floor", many, floor.Round(time.Millisecond), queued.pct(99).Seconds()/floor.Seconds())
		}
		rows = append(rows, row{name: fmt.Sprintf("log-in %s, %d callers", way.name, many), s: &queued, note: floorNote,
			goal: ceilingTarget(queued.pct(99).Seconds(), single.pct(50).Seconds(), 4, "p99 ≤ 4 × single hash")})
	}
	r.add(row{name: fmt.Sprintf("Argon2id, %d callers", few), s: &allRaw,
		note: fmt.Sprintf("all %d cores busy: the raw hash rate, measured in turns with the log-ins below", r.cores())})
	for _, rw := range rows {
		r.add(rw)
	}
}

// sessions logs in one account per reader and returns their tokens.
func (r *run) sessions(ctx context.Context, a *api, t *tenant) ([]tokens, error) {
	out := make([]tokens, r.o.readers)
	for i := range out {
		tok, err := a.login(ctx, t.code, t.users[i%len(t.users)], benchPassword)
		if err != nil {
			return nil, err
		}
		out[i] = tok
	}
	return out, nil
}

// reads measures GET /v1/me and GetMe with bearer tokens, each in turns
// with the same call to the echo gateway (package echo.go), whose backend
// answers at once.
func (r *run) reads(ctx context.Context, a *api, conns []*grpc.ClientConn, toks []tokens) error {
	authed := func(ctx context.Context, c int) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+toks[c].AccessToken)
	}
	answer, err := accountv1.NewAccountServiceClient(conns[0]).GetMe(authed(ctx, 0), &accountv1.GetMeRequest{})
	if err != nil {
		return fmt.Errorf("GetMe: %w", err)
	}
	e, err := startEcho(ctx, answer, r.set.logLevel)
	if err != nil {
		return err
	}
	defer e.stop()
	echoConns, err := dialAll(e.grpcAddr)
	if err != nil {
		return err
	}
	defer closeAll(echoConns)
	echoAPI := newAPI(e.httpURL)

	restMe := func(a *api) func(context.Context, int) error {
		return func(ctx context.Context, c int) error {
			return a.do(ctx, call{method: "GET", path: "/v1/me", token: toks[c].AccessToken}, nil)
		}
	}
	grpcMe := func(conns []*grpc.ClientConn) func(context.Context, int) error {
		return func(ctx context.Context, c int) error {
			resp, err := accountv1.NewAccountServiceClient(conns[c%len(conns)]).GetMe(authed(ctx, c), &accountv1.GetMeRequest{})
			if err == nil && resp.GetAccount() == nil {
				err = errNoAnswer
			}
			return err
		}
	}
	n := r.o.readers
	for _, way := range []struct {
		name       string
		suite, bar func(context.Context, int) error
		what       string
	}{
		{"GET /v1/me REST", restMe(a), restMe(echoAPI), "REST echo"},
		{"GetMe gRPC", grpcMe(conns), grpcMe(echoConns), "gRPC echo"},
	} {
		// The echo runs in the bench's own process, with the callers: its
		// CPU is not metered.
		me, bare := r.inTurns(ctx, side{way.name, n, way.suite, r.suiteCPU()}, side{way.what, n, way.bar, nil})
		r.add(row{name: fmt.Sprintf("%s, %d callers", way.name, n), s: &me,
			goal: ratioTarget(me.rate(), bare.rate(), 0.5, "≥ 0.5 × "+way.what)})
		r.add(row{name: fmt.Sprintf("  %s (same gateway code, do-nothing backend)", way.what), s: &bare})
	}
	return nil
}

// refresh measures token refreshes through REST: each caller rotates its
// own session's refresh token, as a client does.
func (r *run) refresh(ctx context.Context, a *api, t *tenant, toks []tokens) {
	refreshTokens := make([]string, len(toks))
	for i, tk := range toks {
		refreshTokens[i] = tk.RefreshToken
	}
	s := load(ctx, r.progress, "refresh", len(toks), r.o.warmup, r.o.measure, func(ctx context.Context, c int) error {
		var next tokens
		err := a.do(ctx, call{method: "POST", path: "/v1/auth/token:refresh", body: map[string]string{"refreshToken": refreshTokens[c]}}, &next)
		if err == nil && next.RefreshToken == "" {
			err = errors.New("refresh answered no refresh token")
		}
		if err != nil {
			// The session may be gone (a lost answer spends the token): a
			// new one, not counted, lets the caller go on.
			if tk, lerr := a.login(ctx, t.code, t.users[c%len(t.users)], benchPassword); lerr == nil {
				refreshTokens[c] = tk.RefreshToken
			}
			return err
		}
		refreshTokens[c] = next.RefreshToken
		return nil
	}, r.suiteCPU())
	r.add(row{name: fmt.Sprintf("refresh REST, %d callers", len(toks)), s: &s})
}

// events measures commit → consumer latency (events.go).
func (r *run) events(ctx context.Context, a *api, t *tenant) {
	name := fmt.Sprintf("events, %d changes/s for %s", r.o.eventRate, r.o.eventsFor)
	if r.t.natsURL == "" {
		r.add(row{name: name, skipped: "no -nats URL given"})
		return
	}
	es, err := measureEvents(ctx, r.progress, a, r.t.natsURL, r.set.names, r.t.operatorToken, t, r.o.eventRate, r.o.eventsFor)
	if err != nil {
		r.add(row{name: name, skipped: err.Error()})
		return
	}
	rw := row{name: name, lats: es.lats, errors: es.failed + (es.sent - es.recv), firstErr: es.firstErr,
		rate: fmt.Sprintf("%d/%d received", es.recv, es.sent),
		note: fmt.Sprintf("commit (meta.occur_time) → consumer; max %s", fmtDur(percentile(es.lats, 100))),
		goal: ceilingTarget(percentile(es.lats, 99).Seconds(), 0.050, 1, "p99 ≤ 50 ms")}
	if es.recv < es.sent && rw.firstErr == nil {
		rw.firstErr = fmt.Errorf("%d events of %d changes did not arrive within 10 s", es.sent-es.recv, es.sent)
	}
	r.add(rw)
}

// memory measures the suite's peak resident memory under a burst of
// concurrent log-ins; only a suite the bench started can be watched.
func (r *run) memory(ctx context.Context, a *api, t *tenant) {
	name := fmt.Sprintf("peak memory, %d concurrent log-ins", r.o.burst)
	if r.t.child == nil {
		r.add(row{name: name, skipped: "a running suite's process is not the bench's to watch"})
		return
	}
	pid := r.t.child.pid()
	// Writing 5 to clear_refs resets the peak (Linux 4.0+); without it the
	// peak is since the suite started, the phases before included.
	since := "during the burst"
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		since = "since the suite started (the peak could not be reset)"
	}
	statuses := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range r.o.burst {
		wg.Go(func() {
			<-begin
			_, err := a.login(ctx, t.code, t.users[i%len(t.users)], benchPassword)
			key := "200"
			if err != nil {
				key = "error"
				if code, ok := statusOf(err); ok {
					key = strconv.Itoa(code)
				}
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		})
	}
	close(begin)
	wg.Wait()
	peak, err := procStatusKiB(pid, "VmHWM")
	if err != nil {
		r.add(row{name: name, skipped: err.Error()})
		return
	}
	pool := r.set.hash.Pool
	if pool <= 0 {
		pool = r.cores() // the suite's default, on this same machine
	}
	bound := float64(pool)*float64(r.set.hash.Params.Memory)/1024 + 200
	peakMiB := float64(peak) / 1024
	r.add(row{name: name, rate: fmt.Sprintf("%.0f MiB", peakMiB),
		errors: statuses["error"],
		note:   fmt.Sprintf("peak RSS %s; answers %s (503: the hash queue's bound at work)", since, countsText(statuses)),
		goal:   ceilingTarget(peakMiB, bound, 1, fmt.Sprintf("≤ pool %d × %d KiB + 200 MiB = %.0f MiB", pool, r.set.hash.Params.Memory, bound))})
}

// mail measures the e-mail path to the bench's SMTP sink (mail.go).
func (r *run) mail(ctx context.Context, a *api, t *tenant) {
	name := fmt.Sprintf("e-mail to SMTP, %d invitations", r.o.mailCount)
	if r.sink == nil {
		r.add(row{name: name, skipped: "a running suite sends its e-mail to its own SMTP server"})
		return
	}
	m := measureMail(ctx, r.progress, a, r.sink, r.t.operatorToken, t, r.o.mailCount)
	rw := row{name: name, rate: fmt.Sprintf("%.1f/s", m.rate()), errors: m.asked - m.got, firstErr: m.err,
		note: fmt.Sprintf("import → invitation event → link → queue → SMTP; first after %s, all %d after %s", fmtDur(m.firstArrival), m.got, fmtDur(m.elapsed)),
		goal: ratioTarget(m.rate(), 800, 1, "≥ 800/s")}
	r.add(rw)
}

// countsText prints answer counts by status, "200×130, 503×370".
func countsText(counts map[string]int) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// statusOf finds the HTTP status in an error of api.do.
func statusOf(err error) (int, bool) {
	var se *statusError
	if errors.As(err, &se) {
		return se.code, true
	}
	return 0, false
}

// procStatusKiB reads a "<n> kB" line of /proc/<pid>/status.
func procStatusKiB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}
