package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/infra"
)

// target is the suite under test: where its edge is and how to act on it
// as an operator.
type target struct {
	httpURL, grpcAddr, natsURL string
	operatorToken              string
	// child is the suite the bench started (nil: a running one).
	child *child
}

// child is a suite the bench started as `<binary> run`, with a throwaway
// data directory.
type child struct {
	cmd     *exec.Cmd
	dir     string
	logPath string
	exited  chan struct{}
}

// childEnv is the environment of the child: the bench's own (so every
// Latchkey setting the operator exported applies, the Argon2 cost above
// all), with what makes it a throwaway run on free loopback ports. The
// log-in rate limit is off, because every call comes from one address; the
// e-mail limits are off, because the e-mail phase sends thousands to one
// tenant; e-mail goes to the bench's SMTP sink.
func childEnv(dir, httpAddr, grpcAddr, postgresURL, smtpAddr string) []string {
	set := map[string]string{
		infra.EnvDataDir:                    dir,
		"LATCHKEY_HTTP_ADDR":                httpAddr,
		"LATCHKEY_GRPC_ADDR":                grpcAddr,
		"LATCHKEY_EMBEDDED_NATS_ADDR":       "127.0.0.1:-1",
		daemon.EnvManagementAddr:            "127.0.0.1:0",
		"LATCHKEY_RATE_LOGIN_PER_MINUTE":    "0",
		"LATCHKEY_MAIL_LIMIT_PER_TENANT":    "-1",
		"LATCHKEY_MAIL_LIMIT_PER_RECIPIENT": "-1",
		"LATCHKEY_SMTP_URL":                 "smtp://" + smtpAddr,
		infra.EnvPostgresURL:                postgresURL,
		infra.EnvNATSURL:                    "", // embedded NATS
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startChild starts binary as the suite and waits until its edge is
// ready. A port found free can be taken by another process before the
// child listens on it (a busy machine does that), so a start that failed
// on a taken address is tried again with other ports.
func startChild(ctx context.Context, binary, postgresURL, smtpAddr string) (*target, error) {
	for attempt := 1; ; attempt++ {
		t, err := startChildOnce(ctx, binary, postgresURL, smtpAddr)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return t, err
		}
	}
}

// errPortTaken is a child that could not listen on a port given to it.
var errPortTaken = errors.New("a port given to the suite was taken meanwhile")

// startChildOnce is one try of startChild. The child's logs go to a file
// in its data directory, as a deployment's would go somewhere, so that
// logging costs what it costs.
func startChildOnce(ctx context.Context, binary, postgresURL, smtpAddr string) (*target, error) {
	// REST and gRPC on ports of their own, as by default (one address for
	// both would share a port); the management listener and the embedded
	// NATS take any free port.
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "latchkey-bench-")
	if err != nil {
		return nil, err
	}
	c := &child{dir: dir, logPath: filepath.Join(dir, "latchkey.log"), exited: make(chan struct{})}
	logFile, err := os.Create(c.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	c.cmd = exec.Command(binary, "run")
	c.cmd.Env = childEnv(filepath.Join(dir, "data"), httpAddr, grpcAddr, postgresURL, smtpAddr)
	c.cmd.Stderr = logFile
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s run: %w", binary, err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()

	t := &target{child: c}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	fail := func(err error) (*target, error) {
		c.stop()
		return nil, fmt.Errorf("%w (the suite's log: %s)", err, c.logPath)
	}
	deadline := time.After(2 * time.Minute)
	for started := false; !started; {
		select {
		case line, ok := <-lines:
			if !ok {
				<-c.exited
				if log, _ := os.ReadFile(c.logPath); bytes.Contains(log, []byte("address already in use")) {
					os.RemoveAll(c.dir)
					return nil, errPortTaken
				}
				return fail(errors.New("the suite ended before it was running"))
			}
			field := func(prefix string) string {
				f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), prefix))
				if len(f) == 0 {
					return ""
				}
				return f[0]
			}
			switch s := strings.TrimSpace(line); {
			case strings.HasPrefix(s, "REST:"):
				t.httpURL = field("REST:")
			case strings.HasPrefix(s, "gRPC:"):
				t.grpcAddr = field("gRPC:")
			case strings.HasPrefix(s, "NATS:"):
				t.natsURL = field("NATS:")
			case strings.HasPrefix(s, "Press Ctrl-C"):
				started = true
			}
		case <-deadline:
			return fail(errors.New("the suite did not start within 2 minutes"))
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	if t.httpURL == "" || t.grpcAddr == "" || t.natsURL == "" {
		return fail(errors.New("the suite did not say where it listens"))
	}
	if err := waitReady(ctx, t.httpURL); err != nil {
		return fail(err)
	}
	t.operatorToken = os.Getenv(authn.EnvOperatorToken)
	if t.operatorToken == "" {
		b, err := os.ReadFile(filepath.Join(dir, "data", authn.OperatorTokenFile))
		if err != nil {
			return fail(err)
		}
		t.operatorToken = strings.TrimSpace(string(b))
	}
	return t, nil
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200.
func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the suite is not ready after a minute: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop ends the child gracefully (SIGTERM, as an orchestrator would) and
// removes its data directory, keeping the log if the child failed.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	if c.cmd.ProcessState != nil && !c.cmd.ProcessState.Success() {
		return fmt.Errorf("the suite ended with %s (its log: %s)", c.cmd.ProcessState, c.logPath)
	}
	return os.RemoveAll(c.dir)
}

// onThisMachine says whether the PostgreSQL server of url is reached over
// loopback or a Unix socket, so that its processes are this machine's.
func onThisMachine(url string) bool {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return false
	}
	if strings.HasPrefix(cfg.Host, "/") || cfg.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(cfg.Host)
	return ip != nil && ip.IsLoopback()
}
