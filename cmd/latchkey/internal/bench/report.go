package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table.
type row struct {
	name string
	// s is the load phase's sample, or nil: then rate, lats and errors
	// are given as they are.
	s        *sample
	rate     string
	lats     []time.Duration
	errors   int
	firstErr error
	note     string
	goal     goal
	// skipped says why the row was not measured.
	skipped string
}

// goal is a row's goal of issue 14, as a ratio of two figures of this
// run, and whether it was met.
type goal struct {
	text   string
	result string
}

// ratioTarget is "value ≥ want × base".
func ratioTarget(value, base, want float64, text string) goal {
	if base <= 0 {
		return goal{text: text, result: "no baseline"}
	}
	ratio := value / base
	return goal{text: text, result: verdict(ratio >= want, fmt.Sprintf("%.2f", ratio))}
}

// ceilingTarget is "value ≤ most × base".
func ceilingTarget(value, base, most float64, text string) goal {
	if base <= 0 {
		return goal{text: text, result: "no baseline"}
	}
	ratio := value / base
	return goal{text: text, result: verdict(ratio <= most, fmt.Sprintf("%.2f", ratio))}
}

func verdict(met bool, ratio string) string {
	if met {
		return "met (" + ratio + ")"
	}
	return "MISSED (" + ratio + ")"
}

func (r *run) add(rw row) {
	if rw.s != nil {
		rw.rate = fmt.Sprintf("%.1f/s", rw.s.rate())
		rw.lats, rw.errors, rw.firstErr = rw.s.lats, rw.s.failed, rw.s.firstErr
		for _, per := range rw.s.cpuPerCall() {
			rw.note = joinNotes(rw.note, fmt.Sprintf("%s CPU %s a call", per.of, fmtCPU(per.d)))
		}
	}
	r.rows = append(r.rows, rw)
}

// print writes the table: the machine and settings, a row per figure with
// its target, then the first error of each row that had some.
func (r *run) print(w io.Writer) {
	p := r.set.hash.Params
	pool := "one per core"
	if r.set.hash.Pool > 0 {
		pool = fmt.Sprint(r.set.hash.Pool)
	}
	fmt.Fprintf(w, "latchkey bench, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "machine: %d cores (%s), %s/%s\n", r.cores(), cpuModel(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "suite:   %s\n", r.mode)
	fmt.Fprintf(w, "hashing: Argon2id m=%d KiB t=%d p=%d, pool %s\n", p.Memory, p.Time, p.Threads, pool)
	fmt.Fprintf(w, "phases:  %s measured after %s of warm-up each\n", r.o.measure, r.o.warmup)
	fmt.Fprintf(w, "load:    %s at the start, %s at the end (1-minute load average; other work on the machine weighs on every figure)\n\n",
		r.loadBefore, loadAverage())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tRATE\tP50\tP99\tERRORS\tTARGET\tRESULT\tNOTE")
	for _, rw := range r.rows {
		if rw.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\tskipped\t%s\n", rw.name, orDash(rw.goal.text), rw.skipped)
			continue
		}
		p50, p99 := "-", "-"
		if len(rw.lats) > 0 {
			p50, p99 = fmtDur(percentile(rw.lats, 50)), fmtDur(percentile(rw.lats, 99))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", rw.name, rw.rate, p50, p99, rw.errors,
			orDash(rw.goal.text), orDash(rw.goal.result), rw.note)
	}
	tw.Flush()
	for _, rw := range r.rows {
		if rw.firstErr != nil {
			fmt.Fprintf(w, "\n%s: first error: %v", rw.name, rw.firstErr)
		}
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	fmt.Fprintln(w)
}

// joinNotes puts b after a, "; " between.
func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// fmtCPU prints a CPU time per call: microseconds below a millisecond.
func fmtCPU(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return fmtDur(d)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtDur prints a latency with three significant digits or so.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// loadAverage is the 1-minute load average of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// cpuModel is the processor's name from /proc/cpuinfo, for the header.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
