package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// natsImage is the NATS server line the code embeds (nats-server v2.15 in
// go.mod): 2.10 lacks the JetStream durability fixes.
var natsImage = regexp.MustCompile(`^nats:2\.15(\.|-|$)`)

// checkCompose loads deploy/compose.yaml as docker compose does, every
// profile on, with latchkey.env taken from latchkey.env.example (its empty
// values filled with a placeholder: the operator fills them), and checks
// every Latchkey service's settings and the NATS cluster.
func checkCompose(r *report, bins map[string]*binary, deploy string) {
	const where = "compose.yaml"
	dir, err := os.MkdirTemp("", "latchkey-compose-")
	if err != nil {
		r.fail(where, "%v", err)
		return
	}
	defer os.RemoveAll(dir)
	example := regexp.MustCompile(`(?m)^([A-Z0-9_]+)=$`).ReplaceAll(readFile(filepath.Join(deploy, "latchkey.env.example")), []byte("${1}=placeholder"))
	if err := os.WriteFile(filepath.Join(dir, "latchkey.env"), example, 0o600); err != nil {
		r.fail(where, "%v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), readFile(filepath.Join(deploy, "compose.yaml")), 0o600); err != nil {
		r.fail(where, "%v", err)
		return
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(nil), cli.WithProfiles([]string{"*"}))
	if err != nil {
		r.fail(where, "%v", err)
		return
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		r.fail(where, "%v", err)
		return
	}
	var natsNodes []string
	for name, s := range p.Services {
		if natsImage.MatchString(s.Image) {
			natsNodes = append(natsNodes, name)
			if !slices.Contains(s.Command, "--jetstream") || !slices.Contains(s.Command, "--routes") {
				r.fail(where+" "+name, "NATS without --jetstream or --routes")
			}
		} else if strings.HasPrefix(s.Image, "nats:") {
			r.fail(where+" "+name, "image %s: want the nats:2.15 line the code embeds", s.Image)
		}
	}
	if len(natsNodes) != 3 {
		r.fail(where, "%d NATS nodes (%v), want a 3-node cluster", len(natsNodes), natsNodes)
	}
	seen := map[string]bool{}
	migrations := ""
	for name, s := range p.Services {
		b := bins[binaryOfImage(s.Image, bins)]
		if b == nil {
			continue
		}
		w := where + " " + name
		seen[b.name] = true
		env := map[string]string{}
		var own []string
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
			own = append(own, k)
		}
		if b.name == "latchkey" {
			// The all-in-one needs neither PostgreSQL nor NATS; the
			// migrations do.
			if slices.Equal(s.Command, types.ShellCommand{"migrate"}) {
				migrations = name
				checkEnv(r, w, b, env, nil, bins, false)
			}
			continue
		}
		if b.usesNATS && !dependsOnMigrations(p, s) {
			r.fail(w, "does not wait for the migrations (depends_on a `latchkey migrate` service, service_completed_successfully)")
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			r.fail(w, "want read_only and cap_drop ALL")
		}
		// Shared settings (x-service-env) reach every service: only
		// misspellings are problems, not variables another binary reads.
		checkEnv(r, w, b, env, nil, bins, true)
		for _, k := range own {
			if isPeerSetting(k) || k == "LATCHKEY_NATS_URL" {
				for _, hp := range addressHosts(env[k]) {
					if _, ok := p.Services[hp[0]]; !ok {
						r.fail(w, "%s=%s: no compose service %s", k, env[k], hp[0])
					}
				}
			}
		}
		if b.usesNATS || b.name == "gatewayd" {
			hosts := addressHosts(env["LATCHKEY_NATS_URL"])
			if len(hosts) != len(natsNodes) {
				r.fail(w, "LATCHKEY_NATS_URL=%s: want every NATS node %v", env["LATCHKEY_NATS_URL"], natsNodes)
			}
		}
		checkComposeVolumes(r, w, b, s, env)
	}
	for name := range bins {
		if !seen[name] && name != "latchkey" {
			r.fail(where, "no service runs %s", name)
		}
	}
	if migrations == "" {
		r.fail(where, "no service runs `latchkey migrate`")
	}
}

// dependsOnMigrations reports whether s starts only after a service
// running `latchkey migrate` has completed.
func dependsOnMigrations(p *types.Project, s types.ServiceConfig) bool {
	for name, d := range s.DependsOn {
		dep, ok := p.Services[name]
		if ok && slices.Equal(dep.Command, types.ShellCommand{"migrate"}) && d.Condition == types.ServiceConditionCompletedSuccessfully {
			return true
		}
	}
	return false
}

// checkComposeVolumes checks that the files a service is pointed at are in
// a mounted folder, and that notification's mailbox folder is writable.
func checkComposeVolumes(r *report, where string, b *binary, s types.ServiceConfig, env map[string]string) {
	mounted := func(path string, writable bool) bool {
		for _, v := range s.Volumes {
			if strings.HasPrefix(path, strings.TrimSuffix(v.Target, "/")+"/") || path == v.Target {
				return !writable || !v.ReadOnly
			}
		}
		return false
	}
	for _, k := range []string{"LATCHKEY_TLS_CA_FILE", "LATCHKEY_TLS_CERT_FILE", "LATCHKEY_TLS_KEY_FILE"} {
		if v := env[k]; v != "" && !mounted(v, false) {
			r.fail(where, "%s=%s is in no mounted volume", k, v)
		}
	}
	if b.name == "notificationd" {
		dir := env["LATCHKEY_DATA_DIR"]
		if dir == "" {
			dir = "/data" // the image's
		}
		if !mounted(dir, true) {
			r.fail(where, "its data directory %s (the mailbox) is on the read-only root filesystem: mount a volume", dir)
		}
	}
}
