package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clusterDirPattern names the temp dirs of throwaway clusters, so that the
// ones a dead test process left behind can be found and removed.
const clusterDirPattern = "latchkey-testpg-"

// ownerFile, inside a cluster dir, holds the pid of the test process that
// made the cluster.
const ownerFile = "owner.pid"

// cluster is a PostgreSQL cluster that lives as long as the test binary.
type cluster struct {
	dir    string // temp dir: data/, the unix socket, the log
	url    string // superuser URL on TCP
	cmd    *exec.Cmd
	exited chan struct{} // closed when the postmaster has exited
	took   time.Duration // how long starting it took, for the test log
	logged atomic.Bool   // whether a test has logged the start yet

	// What starting the postmaster again takes (StoppablePostgres).
	bin, data string
	cred      *syscall.Credential
	port      int
}

var (
	clusterOnce sync.Once
	clusterRun  *cluster
	clusterErr  error
)

// sharedCluster starts the throwaway cluster on first use. Every test of the
// binary then shares it (each with its own database), because starting one
// costs about a second and a test needs a few milliseconds.
func sharedCluster() (*cluster, error) {
	clusterOnce.Do(func() {
		begin := time.Now()
		clusterRun, clusterErr = startCluster()
		if clusterErr == nil {
			clusterRun.took = time.Since(begin)
			atExit(clusterRun.stop)
		}
	})
	return clusterRun, clusterErr
}

func startCluster() (*cluster, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	sweepStaleClusters()

	dir, err := makeClusterDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}

	// PostgreSQL refuses to run as root; run it as the postgres user then.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL will not: need a postgres user to run it as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}

	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust",
		// The same encoding and locale as the machine's cluster, whatever
		// the environment of the test says.
		"--encoding=UTF8", "--locale=C.UTF-8",
		// Nothing of it has to survive a crash.
		"--no-sync", "--no-instructions")
	initdb.Dir = dir // the postgres user may not be able to enter our cwd
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	c.bin, c.data, c.cred = bin, data, cred
	// A free port can be taken by someone else before the postmaster binds
	// it; try a few.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		err = c.startPostmaster(port)
		if err == nil {
			ok = true
			return c, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "could not bind") {
			return nil, err
		}
	}
}

// startPostmaster runs the postmaster as a direct child of the test process
// (not through pg_ctl, which detaches it) so the kernel can stop it if the
// test process dies without calling Main.
func (c *cluster) startPostmaster(port int) error {
	bin, data, cred := c.bin, c.data, c.cred
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy

	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.dir,
		// Speed over durability: the cluster is thrown away anyway.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// Parallel tests each hold a pool.
		"-c", "max_connections=200",
	)
	cmd.Dir = c.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// SIGQUIT is PostgreSQL's immediate shutdown: the postmaster
		// stops its backends and exits at once when the test process
		// dies. Linux sends it when the parent *thread* ends, hence
		// the locked thread below.
		Pdeathsig: syscall.SIGQUIT,
	}

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Never unlocked: this thread lives exactly as long as the
		// postmaster (it waits for it), and Go retires a thread whose
		// goroutine ends locked, rather than reusing it.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd, c.exited, c.port = cmd, exited, port
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited at start: %s", tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return fmt.Errorf("postgres not ready after 30s: %v; log: %s", err, tail(logPath))
		}
	}
}

// stop shuts the cluster down (fast shutdown: disconnect clients, no
// waiting) and removes its files.
func (c *cluster) stop() {
	c.stopPostmaster()
	_ = os.RemoveAll(c.dir)
}

// stopPostmaster shuts the server down, fast (clients are disconnected,
// nothing is waited for), and keeps its files.
func (c *cluster) stopPostmaster() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	c.cmd = nil
}

// clusterParents are where cluster dirs go, best first. /dev/shm is memory:
// on this project's machines initdb takes 0.4 s there instead of 1.3 s, and
// CREATE DATABASE 20 ms instead of 250 ms, and nothing needs to survive.
func clusterParents() []string {
	return []string{"/dev/shm", os.TempDir()}
}

// makeClusterDir makes the cluster's temp dir. Not t.TempDir: the postgres
// user must be able to enter every parent of the data dir, and a test's
// temp dir sits under a 0700 one.
func makeClusterDir() (string, error) {
	var err error
	for _, parent := range clusterParents() {
		var dir string
		if dir, err = os.MkdirTemp(parent, clusterDirPattern); err == nil {
			return dir, nil
		}
	}
	return "", err
}

// sweepStaleClusters removes cluster dirs whose test process is gone and
// whose postmaster is not running: what is left when a test binary without
// Main (or one that was killed) ends.
func sweepStaleClusters() {
	var dirs []string
	for _, parent := range clusterParents() {
		found, _ := filepath.Glob(filepath.Join(parent, clusterDirPattern+"*"))
		dirs = append(dirs, found...)
	}
	for _, dir := range dirs {
		owner := readPid(filepath.Join(dir, ownerFile))
		if owner == 0 {
			continue // just made by another process, not written yet
		}
		if pidAlive(owner) || pidAlive(readPid(filepath.Join(dir, "data", "postmaster.pid"))) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// readPid returns the number on the first line of path, or 0.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(line)))
	return pid
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// postgresBinDir finds the directory with initdb and postgres: where
// pg_config says, else the newest /usr/lib/postgresql/*/bin (Debian keeps
// them off PATH), else PATH.
func postgresBinDir() (string, error) {
	var candidates []string
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return versionOf(debian[i]) > versionOf(debian[j]) })
	candidates = append(candidates, debian...)
	if initdb, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(initdb))
	}
	for _, dir := range candidates {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found via pg_config, /usr/lib/postgresql/*/bin or PATH: install PostgreSQL or set " + PostgresURLEnv)
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
