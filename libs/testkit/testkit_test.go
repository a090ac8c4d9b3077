package testkit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperStartClusterAndHang()
		return
	}
	Main(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPostgres_EachCallGetsItsOwnEmptyDatabase(t *testing.T) {
	ctx := testContext(t)
	a, b := Postgres(t), Postgres(t)
	if a.URL == b.URL {
		t.Fatalf("two calls gave the same database %s", a.URL)
	}
	pa, pb := a.Pool(t), b.Pool(t)
	if _, err := pa.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table made in one test database shows up in the other")
	}
	var name string
	if err := pa.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.SplitN(a.URL, "?", 2)[0], "/"+name) {
		t.Errorf("connected to %s, URL is %s", name, a.URL)
	}
}

func TestPostgres_DatabaseIsDroppedAfterTestEvenWithOpenConnection(t *testing.T) {
	ctx := testContext(t)
	var url string
	var leaked *pgx.Conn
	t.Run("user", func(t *testing.T) {
		url = Postgres(t).URL
		var err error
		// Never closed by the test: the drop must end it.
		leaked, err = pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
	})
	defer leaked.Close(context.Background())

	server, err := postgresServerURL()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := strings.TrimPrefix(strings.SplitN(url, "?", 2)[0][strings.LastIndex(strings.SplitN(url, "?", 2)[0], "/"):], "/")
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT exists(SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test", name)
	}
}

func TestPostgres_ParallelTestsDoNotCollide(t *testing.T) {
	for i := range 6 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			pool := Postgres(t).Pool(t)
			if _, err := pool.Exec(ctx, "CREATE TABLE same_name (id int PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The throwaway cluster is set up for speed; on the machine's server these
// settings are whatever its administrator chose.
func TestPostgres_ThrowawayClusterRunsWithoutFsync(t *testing.T) {
	if os.Getenv(PostgresURLEnv) != "" {
		t.Skipf("%s is set: not using a throwaway cluster", PostgresURLEnv)
	}
	ctx := testContext(t)
	var fsync, encoding string
	pool := Postgres(t).Pool(t)
	if err := pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('server_encoding')").Scan(&fsync, &encoding); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" || encoding != "UTF8" {
		t.Errorf("fsync = %s, encoding = %s; want off, UTF8", fsync, encoding)
	}
}

const helperEnv = "TESTKIT_HELPER_START_CLUSTER"

// helperStartClusterAndHang runs in a child test binary: it starts a
// cluster, says where, and waits to be killed, never reaching Main's stop.
func helperStartClusterAndHang() {
	c, err := sharedCluster()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("started", c.cmd.Process.Pid, c.dir)
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestPostgres_ClusterDiesWithKilledTestProcessAndIsSweptLater(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", PostgresURLEnv+"=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper said nothing: %v", err)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscanf(line, "started %d %s", &pid, &dir); err != nil {
		t.Fatalf("helper said %q", line)
	}
	if !pidAlive(pid) {
		t.Fatalf("postmaster %d not running while its test process lives", pid)
	}

	// SIGKILL: no deferred function, no Main, nothing of ours runs.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(pid) && !isZombieOrGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d still running 10s after its test process was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("cluster dir %s already gone: %v", dir, err)
	}
	// The postmaster's backends may take a moment longer to leave; until
	// they have, the sweep rightly leaves the dir alone.
	Eventually(t, 10*time.Second, func() error {
		sweepStaleClusters()
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("cluster dir %s left behind by a dead test process was not swept: %v", dir, err)
		}
		return nil
	})
}

// isZombieOrGone tells a process that has exited but not been reaped (its
// parent, our killed helper, is gone, so init reaps it soon) from a live one.
func isZombieOrGone(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

func TestNATS_GivesAWorkingJetStreamAndDeletesTestStreams(t *testing.T) {
	ctx := testContext(t)
	n := NATS(t)
	prefix := UniquePrefix(t)
	name := StreamName(t, "EVENTS")
	t.Run("user", func(t *testing.T) {
		s := n.Stream(t, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}})
		js := n.JetStream(t)
		if _, err := js.Publish(ctx, prefix+".hello", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 1 {
			t.Fatalf("stream has %d messages, want 1", info.State.Msgs)
		}
	})
	if _, err := n.JetStream(t).Stream(ctx, name); err != jetstream.ErrStreamNotFound {
		t.Fatalf("stream %s after its test: err = %v, want ErrStreamNotFound", name, err)
	}
}

func TestNATS_EmbeddedServerPerTest(t *testing.T) {
	if os.Getenv(NATSURLEnv) != "" {
		t.Skipf("%s is set: the shared server is used", NATSURLEnv)
	}
	a, b := NATS(t), NATS(t)
	if a.URL == b.URL || a.Shared || b.Shared {
		t.Fatalf("want two private servers, got %+v and %+v", a, b)
	}
	if !a.Conn(t).IsConnected() {
		t.Fatal("not connected")
	}
}

func TestNames_AreUniqueAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		for _, s := range []string{UniquePrefix(t), StreamName(t, "EVENTS"), databaseName(t)} {
			if seen[s] {
				t.Fatalf("name %s given twice", s)
			}
			seen[s] = true
			if strings.ContainsAny(s, ". *>/\\\t") {
				t.Fatalf("name %q has a character NATS or PostgreSQL rejects", s)
			}
		}
	}
	t.Run("a very long subtest name with spaces, dots. and * stars > to check limits and stuff ok", func(t *testing.T) {
		if n := databaseName(t); len(n) > 63 || strings.ToLower(n) != n {
			t.Fatalf("database name %q: want lower case, at most 63 bytes", n)
		}
	})
}
