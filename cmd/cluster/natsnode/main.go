// Command natsnode is nats-server, built from the same nats-server module
// the all-in-one embeds (v2.15, with the JetStream durability fixes), for
// the local cluster harness: three of them form a NATS cluster with
// JetStream on loopback. It takes nats-server's own flags (-c config).
// In production run the NATS project's own server or Helm chart instead.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	fs := flag.NewFlagSet("natsnode", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: natsnode -c nats.conf (any nats-server flag)")
		fs.PrintDefaults()
	}
	opts, err := server.ConfigureOptions(fs, os.Args[1:], server.PrintServerAndExit, fs.Usage, server.PrintTLSHelpAndDie)
	if err != nil {
		server.PrintAndDie(fmt.Sprintf("natsnode: %s", err))
	} else if opts.CheckConfig {
		fmt.Fprintln(os.Stderr, "natsnode: configuration is valid")
		os.Exit(0)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		server.PrintAndDie(fmt.Sprintf("natsnode: %s", err))
	}
	s.ConfigureLogger()
	if err := server.Run(s); err != nil {
		server.PrintAndDie(err.Error())
	}
	s.WaitForShutdown()
}
