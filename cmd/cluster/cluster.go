// Package cluster runs Latchkey on one machine the way an operator runs it
// on many: every service as its own process in several replicas, the
// gateway balancing across them, one PostgreSQL database (a schema per
// service), a NATS cluster of three nodes keeping every stream on all
// three (R3), mutual TLS between the services, all on loopback. `make
// cluster` runs one to try by hand (cmd/cluster/runcluster); the fault
// tests start one each and kill, stop and restart its pieces under load.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/cmd/internal/scratchdb"
	"github.com/latchkey/latchkey/libs/keyring"
)

// Services are the service binaries, in start order: the ones others call
// first (account answers every other service's look-ups).
var Services = []string{"account", "notification", "mfa", "recovery", "credential"}

// Config is what a cluster is made of.
type Config struct {
	// Dir receives everything the cluster writes: certificates, NATS
	// storage, each process's data folder and log (logs/<name>.log).
	Dir string
	// Bin is the folder of the built binaries (see Build).
	Bin string
	// PostgresURL names a PostgreSQL server on which the cluster makes a
	// database of its own, dropped by Close.
	PostgresURL string
	// Replicas of each service (default 2) and of the gateway (default 1).
	Replicas, GatewayReplicas int
	// NATSNodes is the size of the NATS cluster (default 3); the streams
	// keep min(NATSNodes, 3) replicas.
	NATSNodes int
	// SMTPURL is where notification sends e-mail; empty keeps it in the
	// built-in mailbox folder (<Dir>/mailbox).
	SMTPURL string
	// Env is added to every process's settings (and wins).
	Env map[string]string
	// ReadyTimeout bounds the wait for the whole cluster to serve
	// (default 90 s).
	ReadyTimeout time.Duration
}

// Cluster is a running cluster.
type Cluster struct {
	// HTTPURL is the (first) gateway's REST API and pages; GRPCAddr its
	// public gRPC port.
	HTTPURL, GRPCAddr string
	// OperatorToken is the operator API token every service accepts.
	OperatorToken string
	// NATSURLs are the NATS nodes' client URLs; DatabaseURL the cluster's
	// database.
	NATSURLs    []string
	DatabaseURL string
	// MailboxDir holds the e-mail when Config.SMTPURL is empty.
	MailboxDir string
	// SubscriberSeed is the nkey seed file of the NATS user that may read
	// the events and change nothing (every service connects as its own
	// user: latchkey nats-auth).
	SubscriberSeed string

	cfg       Config
	processes []*Process
	dropDB    func()
}

// Build compiles the binaries a cluster runs (every service, gatewayd,
// latchkey and the NATS node) into bin, from the workspace that holds
// this package.
func Build(ctx context.Context, bin string) error {
	root, err := workspaceRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin+string(os.PathSeparator),
		"./cmd/latchkey", "./cmd/cluster/natsnode", "./gateway/cmd/gatewayd",
		"./services/account/cmd/accountd", "./services/credential/cmd/credentiald", "./services/recovery/cmd/recoveryd",
		"./services/mfa/cmd/mfad", "./services/notification/cmd/notificationd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cluster: build: %v\n%s", err, out)
	}
	return nil
}

// workspaceRoot is the folder of go.work.
func workspaceRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOWORK").Output()
	if err != nil {
		return "", fmt.Errorf("cluster: go env GOWORK: %w", err)
	}
	work := strings.TrimSpace(string(out))
	if work == "" || work == "off" {
		return "", errors.New("cluster: not inside the Latchkey workspace (go env GOWORK is empty)")
	}
	return filepath.Dir(work), nil
}

// Start starts a cluster as cfg says and returns once the gateway serves
// and every process is healthy. On error what was started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	cfg = withDefaults(cfg)
	c := &Cluster{cfg: cfg, MailboxDir: filepath.Join(cfg.Dir, "mailbox")}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, d := range []string{"logs", "data", "nats"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := c.makeDatabase(ctx); err != nil {
		return nil, err
	}
	certs := filepath.Join(cfg.Dir, "certs")
	if out, err := exec.CommandContext(ctx, filepath.Join(cfg.Bin, "latchkey"), "certs", "-dir", certs).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cluster: latchkey certs: %v\n%s", err, out)
	}
	auth := filepath.Join(cfg.Dir, "nats-auth")
	if out, err := exec.CommandContext(ctx, filepath.Join(cfg.Bin, "latchkey"), "nats-auth", "-dir", auth).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cluster: latchkey nats-auth: %v\n%s", err, out)
	}
	c.SubscriberSeed = filepath.Join(auth, "subscriber.nk")
	if err := c.addNATS(auth); err != nil {
		return nil, err
	}
	if err := c.addServices(certs); err != nil {
		return nil, err
	}
	for _, p := range c.Role("nats") {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	// A new NATS cluster elects its JetStream leader first; until then
	// every stream request times out.
	if err := c.WaitJetStream(ctx, cfg.ReadyTimeout); err != nil {
		return nil, err
	}
	for _, p := range c.processes {
		if p.Role == "nats" {
			continue
		}
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	if err := c.WaitReady(ctx, cfg.ReadyTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Replicas == 0 {
		cfg.Replicas = 2
	}
	if cfg.GatewayReplicas == 0 {
		cfg.GatewayReplicas = 1
	}
	if cfg.NATSNodes == 0 {
		cfg.NATSNodes = 3
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 90 * time.Second
	}
	return cfg
}

// makeDatabase creates the cluster's own database on the server.
func (c *Cluster) makeDatabase(ctx context.Context) error {
	db, err := scratchdb.Create(ctx, c.cfg.PostgresURL, "latchkey_cluster")
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.DatabaseURL = db.URL
	c.dropDB = func() { _ = db.Drop() }
	return nil
}

// addNATS adds the NATS nodes: each a cluster route to the others,
// JetStream on, its own store, the services' users of auth/auth.conf,
// and a monitoring port whose /healthz tells when JetStream is up.
func (c *Cluster) addNATS(auth string) error {
	n := c.cfg.NATSNodes
	clientPorts, routePorts, monitorPorts := freePorts(n), freePorts(n), freePorts(n)
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	users, err := os.ReadFile(filepath.Join(auth, "auth.conf"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.cfg.Dir, "nats", "auth.conf"), users, 0o600); err != nil {
		return err
	}
	for i := range n {
		name := fmt.Sprintf("nats-%d", i+1)
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q }
include auth.conf
`, name, clientPorts[i], monitorPorts[i], filepath.Join(c.cfg.Dir, "nats", name))
		if n > 1 {
			conf += fmt.Sprintf(`cluster {
  name: latchkey
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, routePorts[i], strings.Join(routes, ", "))
		}
		file := filepath.Join(c.cfg.Dir, "nats", name+".conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			return err
		}
		c.NATSURLs = append(c.NATSURLs, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
		c.add(&Process{Name: name, Role: "nats", ManagementURL: fmt.Sprintf("http://127.0.0.1:%d", monitorPorts[i]),
			bin: filepath.Join(c.cfg.Bin, "natsnode"), args: []string{"-c", file}})
	}
	return nil
}

// addServices adds every service's replicas and the gateways, each with
// the settings an operator gives it: its ports, its certificate, every
// peer's replicas, the shared keys.
func (c *Cluster) addServices(certs string) error {
	c.OperatorToken = randomToken(36)
	shared := map[string]string{
		"LATCHKEY_POSTGRES_URL":     c.DatabaseURL,
		"LATCHKEY_NATS_URL":         strings.Join(c.NATSURLs, ","),
		"LATCHKEY_NATS_REPLICAS":    strconv.Itoa(min(c.cfg.NATSNodes, 3)),
		"LATCHKEY_TLS_CA_FILE":      filepath.Join(certs, "ca.pem"),
		"LATCHKEY_OPERATOR_TOKEN":   c.OperatorToken,
		"LATCHKEY_SIGNING_KEY_KEK":  keyring.Generate(),
		"LATCHKEY_MFA_SECRET_KEYS":  keyring.Generate(),
		"LATCHKEY_UI_SESSION_KEYS":  keyring.Generate(),
		"LATCHKEY_MAILBOX_DIR":      c.MailboxDir,
		"LATCHKEY_LOG_LEVEL":        "info",
		"LATCHKEY_RATE_LOGIN_BURST": "100000",
		// Load comes from one loopback address: the per-address log-in
		// limit would refuse it (0 switches it off).
		"LATCHKEY_RATE_LOGIN_PER_MINUTE": "0",
	}
	if c.cfg.SMTPURL != "" {
		shared["LATCHKEY_SMTP_URL"] = c.cfg.SMTPURL
	} else {
		shared["LATCHKEY_MAILBOX"] = "true"
	}
	type replica struct{ grpc, internal string }
	replicas := map[string][]replica{}
	for _, svc := range Services {
		for range c.cfg.Replicas {
			ports := freePorts(2)
			replicas[svc] = append(replicas[svc], replica{fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])})
		}
	}
	addrs := func(svc string, internal bool) string {
		var out []string
		for _, r := range replicas[svc] {
			out = append(out, map[bool]string{true: r.internal, false: r.grpc}[internal])
		}
		return strings.Join(out, ",")
	}
	for _, svc := range Services {
		up := strings.ToUpper(svc)
		shared["LATCHKEY_"+up+"_INTERNAL_ADDR"] = addrs(svc, true)
		shared["LATCHKEY_"+up+"_ADDR"] = addrs(svc, false)
	}
	gateways := make([]int, 0, c.cfg.GatewayReplicas)
	for range c.cfg.GatewayReplicas {
		gateways = append(gateways, freePorts(1)[0])
	}
	c.HTTPURL = fmt.Sprintf("http://127.0.0.1:%d", gateways[0])
	shared["LATCHKEY_LINK_BASE_URL"] = c.HTTPURL

	for _, svc := range Services {
		up := strings.ToUpper(svc)
		for i, r := range replicas[svc] {
			mgmt := freePorts(1)[0]
			env := withIdentity(shared, certs, svc)
			env["LATCHKEY_"+up+"_GRPC_ADDR"] = r.grpc
			env["LATCHKEY_"+up+"_INTERNAL_GRPC_ADDR"] = r.internal
			env["LATCHKEY_MANAGEMENT_ADDR"] = fmt.Sprintf("127.0.0.1:%d", mgmt)
			c.addBinary(fmt.Sprintf("%s-%d", svc, i+1), svc, svc+"d", mgmt, env)
		}
	}
	for i, http := range gateways {
		mgmt := freePorts(1)[0]
		env := withIdentity(shared, certs, "gateway")
		env["LATCHKEY_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", http)
		grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(1)[0])
		env["LATCHKEY_GRPC_ADDR"] = grpcAddr
		env["LATCHKEY_MANAGEMENT_ADDR"] = fmt.Sprintf("127.0.0.1:%d", mgmt)
		if i == 0 {
			c.GRPCAddr = grpcAddr
		}
		c.addBinary(fmt.Sprintf("gateway-%d", i+1), "gateway", "gatewayd", mgmt, env)
	}
	return nil
}

// withIdentity copies shared and adds the certificate of name.
func withIdentity(shared map[string]string, certs, name string) map[string]string {
	env := make(map[string]string, len(shared)+3)
	for k, v := range shared {
		env[k] = v
	}
	env["LATCHKEY_TLS_CERT_FILE"] = filepath.Join(certs, name+".pem")
	env["LATCHKEY_TLS_KEY_FILE"] = filepath.Join(certs, name+"-key.pem")
	env["LATCHKEY_NATS_NKEY_FILE"] = filepath.Join(filepath.Dir(certs), "nats-auth", name+".nk")
	return env
}

// addBinary adds one service or gateway process with its own data folder.
func (c *Cluster) addBinary(name, role, binary string, mgmtPort int, env map[string]string) {
	env["LATCHKEY_DATA_DIR"] = filepath.Join(c.cfg.Dir, "data", name)
	for k, v := range c.cfg.Env {
		env[k] = v
	}
	c.add(&Process{Name: name, Role: role, ManagementURL: fmt.Sprintf("http://127.0.0.1:%d", mgmtPort),
		bin: filepath.Join(c.cfg.Bin, binary), env: environ(env)})
}

func (c *Cluster) add(p *Process) {
	p.log = filepath.Join(c.cfg.Dir, "logs", p.Name+".log")
	if p.env == nil {
		p.env = environ(nil)
	}
	c.processes = append(c.processes, p)
}

// environ is a process's whole environment: settings, plus PATH and HOME
// (nothing else of the harness's own, such as test settings, leaks in).
func environ(settings map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// Processes returns every process of the cluster, NATS nodes first, then
// the services in start order, then the gateways.
func (c *Cluster) Processes() []*Process { return c.processes }

// Process returns the process named name (e.g. "account-1"), or nil.
func (c *Cluster) Process(name string) *Process {
	for _, p := range c.processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Role returns the processes of role ("credential", "gateway", "nats").
func (c *Cluster) Role(role string) []*Process {
	var out []*Process
	for _, p := range c.processes {
		if p.Role == role {
			out = append(out, p)
		}
	}
	return out
}

// WaitReady waits until every running process is healthy and the gateway
// answers ready.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	check := func(url string) error { return httpOK(ctx, url) }
	for {
		var notReady error
		for _, p := range c.processes {
			if p.Role == "nats" || !p.Running() {
				continue
			}
			if err := check(p.ManagementURL + "/readyz"); err != nil {
				notReady = fmt.Errorf("%s: %w", p.Name, err)
				break
			}
		}
		if notReady == nil {
			notReady = check(c.HTTPURL + "/readyz")
		}
		if notReady == nil {
			return nil
		}
		for _, p := range c.processes {
			if p.exitedAlone() {
				return fmt.Errorf("cluster: %s exited; its log %s ends:\n%s", p.Name, p.log, tail(p.log, 30))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: not ready after %v: %v", timeout, notReady)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitJetStream waits until every running NATS node says on its
// monitoring port that JetStream is up (a new cluster elects its
// JetStream leader first; until then every stream request times out).
func (c *Cluster) WaitJetStream(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var last error
		for _, p := range c.Role("nats") {
			if !p.Running() {
				continue
			}
			if err := httpOK(ctx, p.ManagementURL+"/healthz"); err != nil {
				last = fmt.Errorf("%s: %w", p.Name, err)
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: JetStream not up after %v: %v", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops the gateways, then the services, then NATS, and drops the
// database.
func (c *Cluster) Close() {
	for i := len(c.processes) - 1; i >= 0; i-- {
		_ = c.processes[i].Stop()
	}
	if c.dropDB != nil {
		c.dropDB()
	}
}

// httpOK asks url once and wants 200.
func httpOK(ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// Ports handed out by freePorts: each once per harness process.
var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
	portNext  int
)

// freePorts returns n loopback ports free right now, below the kernel's
// range of ephemeral ports (so no outgoing connection of one process takes
// a port another is about to listen on, between the check and the
// listen), and none handed out before.
func freePorts(n int) []int {
	portsMu.Lock()
	defer portsMu.Unlock()
	low, high := 20000, 32000
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 11000 {
				high = lo - 1
				low = max(lo-12000, 1024)
			}
		}
	}
	if portNext < low || portNext > high {
		portNext = low + int(randomUint(uint(high-low)))
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > high-low {
			panic("cluster: no free port below the ephemeral range")
		}
		p := portNext
		if portNext++; portNext > high {
			portNext = low
		}
		if portsUsed[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsUsed[p] = true
		ports = append(ports, p)
	}
	return ports
}

// randomUint is a random number below n.
func randomUint(n uint) uint {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return uint(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}

// randomToken is n random bytes, URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
