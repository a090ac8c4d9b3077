package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sample is what one phase of load measured: how many calls succeeded in
// the measured window, how many failed, and the latency of each success.
type sample struct {
	ok, failed int
	elapsed    time.Duration
	lats       []time.Duration // sorted
	firstErr   error
	// cpu is the CPU time each metered process spent in the measured
	// window, and cpuCalls the calls that ended in it (whenever they
	// began): in a steady load the parts of calls cut by either edge even
	// out, where counting the calls begun in the window would leave the
	// CPU of those begun in the warm-up without its calls (a tenth too
	// much at 64 callers, whose calls take a second). Empty when nothing
	// was metered.
	cpu      []cpuUse
	cpuCalls int
}

// cpuUse is CPU time of one metered process (or group of processes),
// named as in the table ("suite", "bench", "PostgreSQL").
type cpuUse struct {
	of string
	d  time.Duration
}

// rate is successful calls per second over the measured window.
func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ok) / s.elapsed.Seconds()
}

// merge is s and o as one sample: their calls, time, latencies and CPU
// added. A meter's CPU stays only while every part was metered by it (a
// turn whose database sum went down keeps the suite's figure).
func (s sample) merge(o sample) sample {
	lats := append(slices.Clone(s.lats), o.lats...)
	slices.Sort(lats)
	m := sample{ok: s.ok + o.ok, failed: s.failed + o.failed, elapsed: s.elapsed + o.elapsed, lats: lats,
		firstErr: cmp.Or(s.firstErr, o.firstErr)}
	if s.elapsed == 0 {
		m.cpu, m.cpuCalls = slices.Clone(o.cpu), o.cpuCalls
		return m
	}
	m.cpuCalls = s.cpuCalls + o.cpuCalls
	for _, u := range s.cpu {
		if i := slices.IndexFunc(o.cpu, func(v cpuUse) bool { return v.of == u.of }); i >= 0 {
			m.cpu = append(m.cpu, cpuUse{of: u.of, d: u.d + o.cpu[i].d})
		}
	}
	return m
}

// cpuPerCall is each meter's CPU time per call that ended in the window,
// failed ones included (they cost CPU too); empty when nothing was
// metered.
func (s sample) cpuPerCall() []cpuUse {
	if s.cpuCalls == 0 {
		return nil
	}
	var per []cpuUse
	for _, u := range s.cpu {
		per = append(per, cpuUse{of: u.of, d: u.d / time.Duration(s.cpuCalls)})
	}
	return per
}

// meter reads the CPU time (user and system) a process has used so far;
// of names it in the table ("suite", "bench").
type meter struct {
	of   string
	read func() (time.Duration, bool)
}

// userHZ is the unit of /proc/<pid>/stat's times: the Linux ABI fixes it
// at 100 a second, whatever the kernel's own tick.
const userHZ = 100

// processCPU meters the process pid ("self" for 0) from /proc/<pid>/stat;
// off Linux, or once the process is gone, it reads nothing.
func processCPU(of string, pid int) *meter {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	return &meter{of: of, read: func() (time.Duration, bool) { return statCPU(path) }}
}

// processesCPU meters every process of this machine whose command name
// (/proc/<pid>/comm) is comm, together: a database server's processes.
// A process that ends between two reads takes its CPU time with it, so a
// sum that went down reads as nothing (see load).
func processesCPU(of, comm string) *meter {
	return &meter{of: of, read: func() (time.Duration, bool) {
		dirs, err := os.ReadDir("/proc")
		if err != nil {
			return 0, false
		}
		var sum time.Duration
		found := false
		for _, d := range dirs {
			if _, err := strconv.Atoi(d.Name()); err != nil {
				continue
			}
			name, err := os.ReadFile("/proc/" + d.Name() + "/comm")
			if err != nil || strings.TrimSpace(string(name)) != comm {
				continue
			}
			if t, ok := statCPU("/proc/" + d.Name() + "/stat"); ok {
				sum += t
				found = true
			}
		}
		return sum, found
	}}
}

// statCPU is the user and system time of the process whose
// /proc/<pid>/stat is at path.
func statCPU(path string) (time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: count the
	// fields after its closing one (utime and stime are the 12th and
	// 13th there, the 14th and 15th of the line).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / userHZ, true
}

// pct is the p-th percentile (0–100) of the latencies, nearest rank.
func (s sample) pct(p float64) time.Duration { return percentile(s.lats, p) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// load runs op from callers goroutines for warmup+measure and returns what
// the measure part saw: calls that started during the warm-up are not
// counted, so connection set-up and the first cold cache do not weigh on
// the figures. A progress line (rate so far, errors) is rewritten on
// progress once a second. op gets the caller's number, so that callers can
// keep state of their own (an account, a refresh token). Each of cpu is
// read when the measured window starts and when it ends; one that cannot
// be read then, or went down, meters nothing.
func load(ctx context.Context, progress io.Writer, name string, callers int, warmup, measure time.Duration,
	op func(ctx context.Context, caller int) error, cpu []*meter) sample {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+measure)
	ctx, cancel := context.WithDeadline(ctx, until.Add(30*time.Second)) // a call stuck past the end does not hold the bench
	defer cancel()
	// used is the metered CPU time of the window, sent when it ends.
	used := make(chan []cpuUse, 1)
	go func() {
		defer close(used)
		if len(cpu) == 0 {
			return
		}
		at := make([][2]time.Duration, len(cpu))
		read := make([]bool, len(cpu))
		for i := range read {
			read[i] = true
		}
		for edge, t := range []time.Time{from, until} {
			select {
			case <-time.After(time.Until(t)):
			case <-ctx.Done():
				return
			}
			for i, m := range cpu {
				var ok bool
				at[i][edge], ok = m.read()
				read[i] = read[i] && ok
			}
		}
		var uses []cpuUse
		for i, m := range cpu {
			if read[i] && at[i][1] >= at[i][0] {
				uses = append(uses, cpuUse{of: m.of, d: at[i][1] - at[i][0]})
			}
		}
		used <- uses
	}()
	var (
		okN, failN atomic.Int64
		endedIn    atomic.Int64 // calls that ended in the window
		mu         sync.Mutex
		all        []time.Duration
		firstErr   error
		wg         sync.WaitGroup
	)
	for c := range callers {
		wg.Go(func() {
			var mine []time.Duration
			for {
				t0 := time.Now()
				if !t0.Before(until) || ctx.Err() != nil {
					break
				}
				err := op(ctx, c)
				if t1 := time.Now(); !t1.Before(from) && t1.Before(until) {
					endedIn.Add(1)
				}
				if t0.Before(from) {
					continue
				}
				if err != nil {
					failN.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				okN.Add(1)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	stop := showProgress(progress, name, func() (int64, int64, time.Duration) {
		return okN.Load(), failN.Load(), time.Since(from)
	})
	wg.Wait()
	stop()
	slices.Sort(all)
	s := sample{ok: int(okN.Load()), failed: int(failN.Load()), elapsed: min(time.Since(from), measure), lats: all, firstErr: firstErr}
	if uses, ok := <-used; ok && len(uses) > 0 {
		s.cpu, s.cpuCalls = uses, int(endedIn.Load())
	}
	return s
}

// showProgress rewrites one line on w every second with the rate so far
// and the errors, until the returned function is called.
func showProgress(w io.Writer, name string, counts func() (ok, failed int64, elapsed time.Duration)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(w, "\r\033[K")
				return
			case <-t.C:
				ok, failed, el := counts()
				if el <= 0 {
					fmt.Fprintf(w, "\r\033[K%s: warming up", name)
					continue
				}
				fmt.Fprintf(w, "\r\033[K%s: %.1f/s so far, %d errors", name, float64(ok)/el.Seconds(), failed)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
