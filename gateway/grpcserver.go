package gateway

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/tracing"
)

// publicMaxConcurrentStreams bounds the calls one client connection may
// have in flight on the public port; more wait for a free slot.
const publicMaxConcurrentStreams = 100

// newGRPCServer builds the public gRPC endpoint: the proxy for every public
// service, plus the edge's own health and reflection services. Its limits
// are the services' (grpcx.LimitOptions: keepalive enforcement, handshake
// timeout, metadata size) with fewer calls per connection, and requests as
// large as a REST body may be, so that a gRPC client can send whatever a
// REST client can (an account import).
func newGRPCServer(p *grpcProxy, h *health.Server) *grpc.Server {
	opts := append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(p.codec),
		grpc.UnknownServiceHandler(p.handle),
		grpcx.StreamWorkers(),
	}, grpcx.LimitOptions(grpcx.Limits{MaxRecvMsgBytes: maxBodyBytes, MaxConcurrentStreams: publicMaxConcurrentStreams})...)
	// A server span per call, continuing a client's traceparent; the
	// backend connections' client spans carry it on (nothing while tracing
	// is off).
	opts = append(opts, tracing.ServerOptions()...)
	s := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(s, h)
	// Reflection describes the public API only. The descriptors come from
	// the generated code linked into this binary (protoregistry), since the
	// proxied services are not registered on this server.
	refl := reflection.ServerOptions{
		Services:           publicServiceInfo{},
		DescriptorResolver: protoregistry.GlobalFiles,
	}
	reflectionv1.RegisterServerReflectionServer(s, reflection.NewServerV1(refl))
	// grpcurl and older tools still ask v1alpha first.
	reflectionv1alpha.RegisterServerReflectionServer(s, reflection.NewServer(refl))
	return s
}

// publicServiceInfo lists, for reflection, the services a client can call
// here: the public Latchkey services and health. Reflection itself is
// plumbing, not API, so it is not listed.
type publicServiceInfo struct{}

// GetServiceInfo implements reflection.ServiceInfoProvider. Only the names
// are read by reflection.
func (publicServiceInfo) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := make(map[string]grpc.ServiceInfo, len(publicServices)+1)
	for _, s := range publicServices {
		out[s.name] = grpc.ServiceInfo{}
	}
	out[healthpb.Health_ServiceDesc.ServiceName] = grpc.ServiceInfo{}
	return out
}
