package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/mtls"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// echo is a second gateway, built by the bench from the gateway package
// exactly as a deployment builds its own (gateway.New: the same HTTP
// middleware, grpc-gateway mux, backend dialing with its interceptors and
// mutual TLS, public gRPC proxy), whose backends answer at once: GetMe
// returns a fixed answer, everything else is unimplemented. `GET /v1/me`
// against it is the cost of the edge and one gRPC hop alone, and no route
// is added to any production gateway.
type echo struct {
	httpURL, grpcAddr string
	stop              func()
}

// meEcho is the account service of the echo: GetMe answers a stored
// answer (the real suite's, so the bytes on the wire are alike).
type meEcho struct {
	accountv1.UnimplementedAccountServiceServer
	answer *accountv1.GetMeResponse
}

func (m meEcho) GetMe(context.Context, *accountv1.GetMeRequest) (*accountv1.GetMeResponse, error) {
	return m.answer, nil
}

// startEcho starts the echo backends and the echo gateway on loopback
// ports; logLevel is the suite's, so that the echo logs (to nowhere) what
// the suite's gateway logs.
func startEcho(ctx context.Context, answer *accountv1.GetMeResponse, logLevel string) (*echo, error) {
	ca, err := mtls.NewCA("latchkey bench echo CA", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var servers []*grpc.Server
	e := &echo{}
	served := make(chan error, 1)
	e.stop = func() {
		cancel()
		for _, s := range servers {
			s.Stop()
		}
		<-served
	}
	fail := func(err error) (*echo, error) {
		cancel()
		for _, s := range servers {
			s.Stop()
		}
		return nil, err
	}
	// One backend per service the gateway dials, each with its own
	// certificate as in a deployment; all serve health, so the echo
	// gateway is ready.
	addrs := map[string]string{}
	for _, name := range []string{"account", "credential", "recovery", "mfa", "notification"} {
		id, err := ca.Identity(name, 24*time.Hour)
		if err != nil {
			return fail(err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		s := grpc.NewServer(grpc.Creds(credentials.NewTLS(id.ServerTLS())))
		healthpb.RegisterHealthServer(s, health.NewServer())
		if name == "account" {
			accountv1.RegisterAccountServiceServer(s, meEcho{answer: answer})
		}
		servers = append(servers, s)
		go s.Serve(lis)
		addrs[name] = lis.Addr().String()
	}
	gwID, err := ca.Identity(infra.Gateway, 24*time.Hour)
	if err != nil {
		return fail(err)
	}
	log, err := logx.New(io.Discard, logLevel)
	if err != nil {
		return fail(err)
	}
	// Separate REST and gRPC ports, as the suite's defaults have (equal
	// addresses would share one port).
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		httpLis.Close()
		return fail(err)
	}
	gw, err := gateway.New(ctx, gateway.Config{
		HTTPAddr: httpLis.Addr().String(), GRPCAddr: grpcLis.Addr().String(),
		Backends: gateway.Backends{Account: addrs["account"], Credential: addrs["credential"], Recovery: addrs["recovery"],
			MFA: addrs["mfa"], Notification: addrs["notification"]},
		Identity:   gwID,
		Registerer: prometheus.NewRegistry(),
		Logger:     log,
	})
	if err != nil {
		httpLis.Close()
		grpcLis.Close()
		return fail(err)
	}
	e.httpURL, e.grpcAddr = "http://"+httpLis.Addr().String(), grpcLis.Addr().String()
	go func() {
		err := gw.Serve(ctx, httpLis, grpcLis)
		gw.Close()
		served <- err
	}()
	if err := waitReady(ctx, e.httpURL); err != nil {
		e.stop()
		return nil, fmt.Errorf("the echo gateway: %w", err)
	}
	return e, nil
}

// errNoAnswer is a GetMe answer without an account.
var errNoAnswer = errors.New("GetMe answered no account")
