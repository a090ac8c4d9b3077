// Command check validates the deploy files offline, without a cluster or
// Docker: it builds both kustomizations (deploy/k8s/base and
// deploy/k8s/overlays/production) in-process and decodes every object
// strictly into the Kubernetes Go types (an unknown field is an error),
// loads deploy/compose.yaml as docker compose does, and checks that every
// Latchkey container gets every setting its binary requires, that the
// addresses it is given name a Service (or compose service) that exists,
// and that the NetworkPolicies let it reach them.
//
// What a binary requires is asked of the binary itself: run with no
// environment it names every missing setting, and -h lists every setting it
// reads. make check-deploy builds the binaries and runs
//
//	cd deploy/check && GOWORK=off go run . -root ../.. -bin <dir of binaries>
//
// It is a module of its own, outside the workspace, so that the
// Kubernetes and compose libraries stay out of the services' modules.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	root := flag.String("root", "../..", "repository root")
	bin := flag.String("bin", "", "folder holding the built binaries (accountd … gatewayd, latchkey)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "check: -bin is required (make check-deploy builds the binaries)")
		os.Exit(2)
	}
	bins, err := loadBinaries(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(2)
	}
	var r report
	deploy := filepath.Join(*root, "deploy")
	templates := checkSecretTemplates(&r, filepath.Join(deploy, "k8s", "base", "secrets.example.yaml"))
	checkKustomization(&r, bins, templates, filepath.Join(deploy, "k8s", "base"), false)
	checkKustomization(&r, bins, templates, filepath.Join(deploy, "k8s", "overlays", "production"), true)
	checkCompose(&r, bins, deploy)
	if len(r.problems) > 0 {
		sort.Strings(r.problems)
		for _, p := range r.problems {
			fmt.Fprintln(os.Stderr, p)
		}
		fmt.Fprintf(os.Stderr, "check: %d problems in the deploy files\n", len(r.problems))
		os.Exit(1)
	}
	for _, n := range r.notes {
		fmt.Println(n)
	}
	fmt.Println("deploy files: ok")
}

// report collects every problem, so that one run names them all.
type report struct {
	problems []string
	notes    []string
}

func (r *report) fail(where, format string, args ...any) {
	r.problems = append(r.problems, where+": "+fmt.Sprintf(format, args...))
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}
