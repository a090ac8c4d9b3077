package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A quick run against a suite the bench starts (the latchkey binary, built
// here) prints every row, measured, without an error. It asserts no figure:
// the bench reports, the machine decides.
func TestBench_QuickRunPrintsEveryRowWithoutErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds latchkey and runs the whole suite for about a minute")
	}
	// Cheap hashes, in the suite and in this process: the test checks
	// that every row is measured and printed, not the figures. At the
	// default 19 MiB, under -race on a busy CI machine, one hash took 413
	// ms in this process, so the raw-hash turns of -quick (0.3 s each)
	// ended no call and the row had no CPU per call (a clean-clone CI run
	// failed on it).
	t.Setenv("LATCHKEY_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("LATCHKEY_ARGON2_TIME", "1")
	bin := filepath.Join(t.TempDir(), "latchkey")
	build := exec.Command("go", "build", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building latchkey: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Command(ctx, []string{"-quick", "-binary", bin, "-burst", "100", "-mails", "50"}, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log("\n" + report)
	few := fmt.Sprintf(", %d callers", 2*runtime.GOMAXPROCS(0)) // 2 × cores
	for _, name := range []string{
		"Argon2id, 1 caller", "Argon2id" + few,
		"log-in REST" + few, "log-in REST, 64 callers", "log-in gRPC" + few, "log-in gRPC, 64 callers",
		"GET /v1/me REST, 16 callers", "REST echo", "GetMe gRPC, 16 callers", "gRPC echo",
		"refresh REST, 16 callers", "events, 200 changes/s", "peak memory, 100 concurrent log-ins", "e-mail to SMTP, 50 invitations",
	} {
		line := findRow(report, name)
		if line == nil {
			t.Errorf("no row %q", name)
			continue
		}
		if len(line) < 6 || line[4] != "0" {
			t.Errorf("row %q: want 0 errors and a result, got %q", name, line)
		}
	}
	if strings.Contains(report, "first error") || strings.Contains(report, "skipped") {
		t.Errorf("a row failed or was skipped:\n%s", report)
	}
	// The suite's CPU per call is in the note of every row the suite
	// answers; the hash rows give the bench's own, the echo rows none.
	for name, want := range map[string]string{
		"log-in REST" + few: "suite CPU", "log-in gRPC, 64 callers": "suite CPU", "GET /v1/me REST, 16 callers": "suite CPU",
		"refresh REST, 16 callers": "suite CPU", "Argon2id" + few: "bench CPU", "Argon2id, 1 caller": "bench CPU",
	} {
		if line := findRow(report, name); line == nil || !strings.Contains(strings.Join(line, "  "), want) {
			t.Errorf("row %q: no %q per call in %q", name, want, line)
		}
	}
	if line := findRow(report, "REST echo"); strings.Contains(strings.Join(line, "  "), "CPU") {
		t.Errorf("the echo row meters a CPU: %q", line)
	}
}

// The meter reads this process's CPU time, which grows with work done;
// a sample keeps it per call, and a merge keeps a meter's figure only
// while every part was metered by it.
func TestProcessCPU_AndPerCall(t *testing.T) {
	m := processCPU("bench", 0)
	if _, ok := m.read(); !ok {
		t.Skip("no /proc/self/stat here")
	}
	burnUntilMetered(t, m)
	if _, ok := processCPU("gone", 1<<30).read(); ok {
		t.Error("a process that does not exist was metered")
	}
	a := sample{ok: 8, failed: 2, elapsed: time.Second, cpuCalls: 10,
		cpu: []cpuUse{{"suite", 100 * time.Millisecond}, {"PostgreSQL", 20 * time.Millisecond}}}
	want := []cpuUse{{"suite", 10 * time.Millisecond}, {"PostgreSQL", 2 * time.Millisecond}}
	if per := a.cpuPerCall(); !slices.Equal(per, want) {
		t.Errorf("per call %v, want %v", per, want)
	}
	var all sample
	all = all.merge(a).merge(a)
	if per := all.cpuPerCall(); !slices.Equal(per, want) || all.cpu[0].d != 200*time.Millisecond {
		t.Errorf("merged: %v a call, %v in all, want %v and 200ms", per, all.cpu, want)
	}
	unmetered := sample{ok: 5, elapsed: time.Second}
	if per := all.merge(unmetered).cpuPerCall(); len(per) != 0 {
		t.Errorf("a merge with an unmetered part still has a CPU per call: %v", per)
	}
	// A turn whose database figure was lost keeps the suite's.
	suiteOnly := sample{ok: 5, elapsed: time.Second, cpuCalls: 5, cpu: []cpuUse{{"suite", 50 * time.Millisecond}}}
	if per := all.merge(suiteOnly).cpuPerCall(); !slices.Equal(per, []cpuUse{{"suite", 10 * time.Millisecond}}) {
		t.Errorf("a merge with a part the database was not metered in: %v, want the suite's 10ms only", per)
	}
}

// The processes of a name are metered together; a name no process has
// meters nothing.
func TestProcessesCPU(t *testing.T) {
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skip("no /proc/self/comm here")
	}
	burnUntilMetered(t, processesCPU("test", strings.TrimSpace(string(self))))
	if _, ok := processesCPU("none", "no-such-command-here").read(); ok {
		t.Error("a name no process has was metered")
	}
}

// burnUntilMetered keeps this process busy until m reads 50 ms more CPU
// than at the start. It waits for the meter, not the clock: on a busy
// machine (a CI run of every package under -race) 100 ms of a busy loop
// got 30 ms of CPU, and a test that asked for 50 failed.
func burnUntilMetered(t *testing.T, m *meter) {
	t.Helper()
	before, ok := m.read()
	if !ok {
		t.Fatalf("%s: nothing metered", m.of)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
		}
		after, ok := m.read()
		if !ok {
			t.Fatalf("%s: nothing metered after %v", m.of, before)
		}
		if after-before >= 50*time.Millisecond {
			return
		}
	}
	t.Fatalf("%s: the CPU time did not grow by 50 ms in 30 s of a busy loop", m.of)
}

// The database's processes are metered only where they are this
// machine's.
func TestOnThisMachine(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable": true,
		"postgres://u@localhost/db":                               true,
		"postgres://u@[::1]:5432/db":                              true,
		"host=/var/run/postgresql dbname=test":                    true,
		"postgres://u@db.example:5432/latchkey":                   false,
		"postgres://u@10.0.0.7/latchkey":                          false,
		"not a url ://":                                           false,
	} {
		if got := onThisMachine(url); got != want {
			t.Errorf("onThisMachine(%q) = %v, want %v", url, got, want)
		}
	}
}

// findRow returns the columns of the first table line starting with name
// (columns are two or more spaces apart).
func findRow(report, name string) []string {
	cols := regexp.MustCompile(`\s{2,}`)
	for line := range strings.SplitSeq(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), name) {
			return cols.Split(strings.TrimSpace(line), -1)
		}
	}
	return nil
}

// The figures of a row are nearest-rank percentiles, and a target is met
// or missed by the ratio of two figures of the same run.
func TestPercentileAndGoals(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(lats, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v", got)
	}
	for _, tc := range []struct {
		g    goal
		want string
	}{
		{ratioTarget(54, 60, 0.9, ""), "met (0.90)"},
		{ratioTarget(53, 60, 0.9, ""), "MISSED (0.88)"},
		{ceilingTarget(0.120, 0.030, 4, ""), "met (4.00)"},
		{ceilingTarget(0.121, 0.030, 4, ""), "MISSED (4.03)"},
		{ratioTarget(1, 0, 0.5, ""), "no baseline"},
	} {
		if tc.g.result != tc.want {
			t.Errorf("got %q, want %q", tc.g.result, tc.want)
		}
	}
}

// -phases picks phases by name and names the field when one is unknown.
func TestParseFlags_Phases(t *testing.T) {
	o, err := parseFlags([]string{"-phases", "mail, login"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.phases) != 2 || !o.phases["mail"] || !o.phases["login"] {
		t.Fatalf("phases %v; want mail and login", o.phases)
	}
	if o, err = parseFlags(nil, io.Discard); err != nil || len(o.phases) != len(phaseNames) {
		t.Fatalf("no -phases: %v, %v; want every phase", o.phases, err)
	}
	if _, err := parseFlags([]string{"-phases", "login,e-mail"}, io.Discard); err == nil || !strings.Contains(err.Error(), `-phases: "e-mail"`) {
		t.Fatalf("unknown phase: %v; want an error naming -phases and the name", err)
	}
}

// CPU per call is the window's CPU over the calls that ended in it. With
// 64 callers queueing for two slots, the 64 calls in flight at either
// edge of the window do their work on both sides of it: metering until
// the last call ended, over the calls begun in the window, as the first
// version did, put their work on too few calls (here about 1.5 times the
// true cost). The op "spends" a fixed 10 ms of fake CPU per call.
func TestLoad_CPUPerCallCountsTheCallsThatEndedInTheWindow(t *testing.T) {
	var spent atomic.Int64
	fake := &meter{of: "fake", read: func() (time.Duration, bool) { return time.Duration(spent.Load()), true }}
	slots := make(chan struct{}, 2)
	op := func(ctx context.Context, _ int) error {
		slots <- struct{}{}
		defer func() { <-slots }()
		time.Sleep(5 * time.Millisecond)
		spent.Add(int64(10 * time.Millisecond))
		return nil
	}
	s := load(context.Background(), io.Discard, "fake", 64, 300*time.Millisecond, 300*time.Millisecond, op, []*meter{fake})
	per := s.cpuPerCall()
	t.Logf("%v a call; %d ended in the window, %d begun in it; CPU %v", per, s.cpuCalls, s.ok, s.cpu)
	if len(per) != 1 || per[0].d < 7500*time.Microsecond || per[0].d > 12500*time.Microsecond {
		t.Fatalf("CPU per call %v (%d calls ended in the window, %d begun), want about 10ms", per, s.cpuCalls, s.ok)
	}
}
