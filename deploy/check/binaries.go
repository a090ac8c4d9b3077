package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// binary is what the deploy files must give one Latchkey binary.
type binary struct {
	name string
	// requires are the settings the binary refuses to start without,
	// and those the deploy files must set for it (deployRequires).
	requires []string
	// reads are every setting it reads (its -h).
	reads map[string]bool
	// usesNATS: a service binary, which creates JetStream streams.
	usesNATS bool
}

// serviceBinaries are the five services; gatewayd and latchkey (the
// migrations Job) are the others.
var serviceBinaries = []string{"accountd", "credentiald", "recoveryd", "mfad", "notificationd"}

// deployRequires are settings the binaries start without but a deployment
// needs: the listen addresses (loopback by default), the operator token
// (without it operator calls are refused), the gateway's NATS (its /readyz
// checks it) and notification (its /readyz checks it; required by gatewayd
// once the readiness branch of issue 13 is merged), and the migrations Job's
// database (without it the all-in-one would make SQLite files).
var deployRequires = map[string][]string{
	"accountd":      {"LATCHKEY_OPERATOR_TOKEN", "LATCHKEY_ACCOUNT_GRPC_ADDR", "LATCHKEY_ACCOUNT_INTERNAL_GRPC_ADDR"},
	"credentiald":   {"LATCHKEY_OPERATOR_TOKEN", "LATCHKEY_CREDENTIAL_GRPC_ADDR", "LATCHKEY_CREDENTIAL_INTERNAL_GRPC_ADDR"},
	"recoveryd":     {"LATCHKEY_OPERATOR_TOKEN", "LATCHKEY_RECOVERY_GRPC_ADDR", "LATCHKEY_RECOVERY_INTERNAL_GRPC_ADDR"},
	"mfad":          {"LATCHKEY_OPERATOR_TOKEN", "LATCHKEY_MFA_GRPC_ADDR", "LATCHKEY_MFA_INTERNAL_GRPC_ADDR"},
	"notificationd": {"LATCHKEY_NOTIFICATION_INTERNAL_GRPC_ADDR"},
	"gatewayd":      {"LATCHKEY_HTTP_ADDR", "LATCHKEY_GRPC_ADDR", "LATCHKEY_NATS_URL", "LATCHKEY_NOTIFICATION_INTERNAL_ADDR"},
	"latchkey":      {"LATCHKEY_POSTGRES_URL"},
}

// pendingSettings are read by code that other branches of issue 13 add
// (NATS prefix, nkeys and stream replicas; traces). Until they are merged the binaries here do not list
// them; afterwards this list is merely redundant.
var pendingSettings = map[string]bool{
	"LATCHKEY_NATS_PREFIX":    true,
	"LATCHKEY_NATS_NKEY_FILE": true,
	"LATCHKEY_NATS_REPLICAS":  true,
	"LATCHKEY_OTLP_ENDPOINT":  true,
	"LATCHKEY_OTLP_INSECURE":  true,
}

var (
	requiredLine = regexp.MustCompile(`^\S+: (LATCHKEY_[A-Z0-9_]+): required`)
	helpLine     = regexp.MustCompile(`^  (LATCHKEY_[A-Z0-9_]+)`)
)

// loadBinaries asks each binary in dir what it reads and requires.
func loadBinaries(dir string) (map[string]*binary, error) {
	bins := map[string]*binary{}
	for _, name := range append(append([]string{}, serviceBinaries...), "gatewayd", "latchkey") {
		path := filepath.Join(dir, name)
		b := &binary{name: name, reads: map[string]bool{}}
		for _, s := range serviceBinaries {
			b.usesNATS = b.usesNATS || s == name
		}
		if name == "latchkey" {
			// The all-in-one: `latchkey config` lists every setting.
			out, err := exec.Command(path, "config").Output()
			if err != nil {
				return nil, fmt.Errorf("%s config: %w", path, err)
			}
			for _, m := range regexp.MustCompile("(?m)^\\| `(LATCHKEY_[A-Z0-9_]+)`").FindAllSubmatch(out, -1) {
				b.reads[string(m[1])] = true
			}
		} else {
			help, err := exec.Command(path, "-h").Output()
			if err != nil {
				return nil, fmt.Errorf("%s -h: %w", path, err)
			}
			for _, m := range matchLines(help, helpLine) {
				b.reads[m] = true
			}
			// With no environment at all the binary names every setting
			// it cannot start without, and exits 2.
			cmd := exec.Command(path)
			cmd.Env = []string{}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				return nil, fmt.Errorf("%s with no environment: want a configuration error (exit 2), got %v: %s", path, err, stderr.String())
			}
			b.requires = matchLines(stderr.Bytes(), requiredLine)
			if len(b.requires) == 0 {
				return nil, fmt.Errorf("%s named no required setting: %s", path, stderr.String())
			}
		}
		b.requires = append(b.requires, deployRequires[name]...)
		bins[name] = b
	}
	return bins, nil
}

func matchLines(text []byte, re *regexp.Regexp) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// binaryOfImage maps an image reference (registry.example.com/latchkey/accountd:1.0.0)
// to its binary (accountd); "" for images that are not Latchkey's.
func binaryOfImage(image string, bins map[string]*binary) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	if !strings.Contains(image, "latchkey/") {
		return ""
	}
	if _, ok := bins[name]; ok {
		return name
	}
	return ""
}

// knownSetting reports whether any binary reads name, or a branch of
// issue 13 adds it.
func knownSetting(name string, bins map[string]*binary) bool {
	if pendingSettings[name] {
		return true
	}
	for _, b := range bins {
		if b.reads[name] {
			return true
		}
	}
	return false
}

// checkEnv checks the environment env of one container of binary b at
// where: every required setting set and not empty, no LATCHKEY_ variable
// that no binary reads (a misspelt name is silently ignored otherwise),
// own (the container's explicit variables, not shared ones) only variables
// b reads, and R3 streams where wantReplicas.
func checkEnv(r *report, where string, b *binary, env map[string]string, own []string, bins map[string]*binary, wantReplicas bool) {
	for _, name := range b.requires {
		if strings.TrimSpace(env[name]) == "" {
			r.fail(where, "%s requires %s, which is not set", b.name, name)
		}
	}
	for name := range env {
		if strings.HasPrefix(name, "LATCHKEY_") && !knownSetting(name, bins) {
			r.fail(where, "%s: no binary reads this setting (misspelt?)", name)
		}
	}
	for _, name := range own {
		if strings.HasPrefix(name, "LATCHKEY_") && !b.reads[name] && !pendingSettings[name] && knownSetting(name, bins) {
			r.fail(where, "%s: %s does not read this setting", name, b.name)
		}
	}
	if wantReplicas && b.usesNATS && env["LATCHKEY_NATS_REPLICAS"] != "3" {
		r.fail(where, "LATCHKEY_NATS_REPLICAS is %q, want 3 (streams replicated over the 3-node NATS cluster)", env["LATCHKEY_NATS_REPLICAS"])
	}
}

// addressHosts splits an address setting (host:port, a comma-separated
// list, dns:///host:port or nats://host:port,…) into host and port pairs.
func addressHosts(value string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		for _, scheme := range []string{"dns:///", "nats://", "tls://"} {
			part = strings.TrimPrefix(part, scheme)
		}
		i := strings.LastIndex(part, ":")
		if i < 0 {
			out = append(out, [2]string{part, ""})
			continue
		}
		out = append(out, [2]string{part[:i], part[i+1:]})
	}
	return out
}

// isPeerSetting tells the settings that hold another component's address.
func isPeerSetting(name string) bool {
	return strings.HasPrefix(name, "LATCHKEY_") && strings.HasSuffix(name, "_ADDR") &&
		!strings.HasSuffix(name, "_GRPC_ADDR") && name != "LATCHKEY_HTTP_ADDR" &&
		name != "LATCHKEY_MANAGEMENT_ADDR" && name != "LATCHKEY_EMBEDDED_NATS_ADDR"
}

func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(2)
	}
	return b
}
