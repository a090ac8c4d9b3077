package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a process gets to stop after SIGTERM before it
// is killed: the services drain in-flight calls within their own grace.
const stopTimeout = 20 * time.Second

// Process is one running binary of the cluster (a service replica, the
// gateway, a NATS node), started again with the same settings after it
// was killed or stopped.
type Process struct {
	// Name is how the cluster calls it, e.g. "credential-2", "nats-1".
	Name string
	// Role is what it is: the service name, "gateway" or "nats".
	Role string
	// ManagementURL is its management listener (/healthz, /metrics);
	// empty for a NATS node.
	ManagementURL string

	bin  string
	args []string
	env  []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs the process, its output appended to its log file. The process
// dies with the harness (Pdeathsig), so a test that crashes leaves nothing
// running.
func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("cluster: %s is running", p.Name)
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("cluster: start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

// Running reports whether the process is up (started and not exited).
func (p *Process) Running() bool {
	started, exited := p.state()
	return started && !exited
}

// exitedAlone reports whether the process ended without Kill or Stop (it
// failed).
func (p *Process) exitedAlone() bool {
	started, exited := p.state()
	return started && exited
}

// state tells whether the process was started (and not since killed or
// stopped), and whether it has exited.
func (p *Process) state() (started, exited bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false, false
	}
	select {
	case <-p.exited:
		return true, true
	default:
		return true, false
	}
}

// Kill ends the process at once (SIGKILL), as a crash or an OOM kill
// would, and waits until it is gone.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 0) }

// Stop asks the process to stop (SIGTERM), as Kubernetes does before it
// moves a pod, waits until it has, and kills it after stopTimeout.
func (p *Process) Stop() error { return p.signal(syscall.SIGTERM, stopTimeout) }

func (p *Process) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: signal %s: %w", p.Name, err)
	}
	if wait > 0 {
		select {
		case <-exited:
			return nil
		case <-time.After(wait):
			_ = cmd.Process.Kill()
		}
	}
	<-exited
	return nil
}

// Restart starts the process again with the same settings (after Kill or
// Stop).
func (p *Process) Restart() error { return p.start() }

// LogFile is where the process writes its output.
func (p *Process) LogFile() string { return p.log }
