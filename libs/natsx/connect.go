// Package natsx is how Latchkey services talk to NATS: one way to connect,
// the JetStream streams every service agrees on, and an idempotent publish.
//
// Everything here sticks to what nats-server 2.9 understands, because the
// server packaged by Debian (and running on the development machines) is 2.9
// while the embedded one is 2.15.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ReconnectWait is the pause between reconnect attempts to one server. Short
// enough that a restarted NATS is picked up within a couple of seconds, long
// enough not to hammer a server that is down.
const ReconnectWait = 1 * time.Second

// Connect dials url (one URL or a comma-separated list) and returns a
// connection that never gives up reconnecting: a service must outlive a NATS
// restart instead of dying with it, and the outbox relay retries whatever
// could not be published meanwhile.
//
// name shows up in the server's connection list (nats-server -DV, /connz), so
// give the service name. The first dial is not retried: a service that cannot
// reach NATS at start should say so rather than hang. Pass
// nats.RetryOnFailedConnect(true) among opts to change that; opts are applied
// after the defaults here and so override them (including the log handlers).
//
// ctx bounds the first dial only; the connection outlives it.
func Connect(ctx context.Context, url, name string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(ReconnectWait),
		// Jitter spreads the reconnects of many clients after a server
		// restart so they do not arrive all at once.
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				// A restart or a failover of the server: the client
				// reconnects by itself, and readiness says "degraded" if
				// it does not.
				slog.Info("nats disconnected", "name", name, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			slog.Info("nats reconnected", "name", name, "url", nc.ConnectedUrlRedacted())
		}),
		// Asynchronous errors (slow consumer, permission violation) have no
		// caller to return to; without a handler they vanish.
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			if isConsumerCleanUp(err) {
				// An ordered consumer deletes its old consumer when it
				// starts over or stops; our users may not delete
				// consumers (natsauth), so the server refuses and the
				// consumer expires by itself: nothing for a person to do.
				slog.Debug("nats consumer left to expire", "name", name, "err", err)
				return
			}
			slog.Error("nats async error", "name", name, "subject", subject, "err", err)
		}),
	}
	if deadline, ok := ctx.Deadline(); ok {
		if d := time.Until(deadline); d > 0 {
			base = append(base, nats.Timeout(d))
		}
	}

	// nats.Connect takes no context; dial in a goroutine so that ctx can
	// still cut the wait short.
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, append(base, opts...)...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("natsx: connect %s as %q: %w", url, name, r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		// Nobody will use a connection that arrives late: close it.
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("natsx: connect %s as %q: %w", url, name, ctx.Err())
	}
}

// UserOptions are the options with which user (a service's name) connects
// to the deployment's NATS: replies and pulled messages arrive on the
// user's own inbox prefix (Names.Inbox), the only one the permissions of
// `latchkey nats-auth` let it read, and, when nkeyFile is set, the
// connection authenticates with the nkey user seed in that file
// (LATCHKEY_NATS_NKEY_FILE). Pass them to Connect.
func UserOptions(names Names, user, nkeyFile string) ([]nats.Option, error) {
	opts := []nats.Option{nats.CustomInboxPrefix(names.Inbox(user))}
	if nkeyFile == "" {
		return opts, nil
	}
	auth, err := nats.NkeyOptionFromSeed(nkeyFile)
	if err != nil {
		return nil, fmt.Errorf("natsx: nkey seed of %s: %w", user, err)
	}
	return append(opts, auth), nil
}

// NewJetStream returns the JetStream API over nc. It exists so that every
// service builds its JetStream handle the same way (and so one place changes
// if a domain or API prefix is ever needed).
func NewJetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsx: jetstream: %w", err)
	}
	return js, nil
}

// isConsumerCleanUp tells the permission violation of a refused consumer
// delete from the ones that mean a misconfigured user.
func isConsumerCleanUp(err error) bool {
	return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"$JS.API.CONSUMER.DELETE.`)
}
