package grpcx

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/mtls"
)

// Callers says which services may call each method of a server, by full
// method name ("/pkg.Service/Method") to the service names in their
// certificates. A method not listed answers PermissionDenied to everyone:
// a new internal method is closed until someone writes down who needs it.
type Callers map[string][]string

// allowed reports whether service may call method. Health checks are open
// to every service (and to the probes that carry a service certificate).
func (c Callers) allowed(method, service string) bool {
	if method == healthpb.Health_Check_FullMethodName || method == healthpb.Health_Watch_FullMethodName {
		return true
	}
	return slices.Contains(c[method], service)
}

func (c Callers) check(ctx context.Context, method string) error {
	service, ok := mtls.PeerService(ctx)
	if !ok {
		return errs.Unauthenticated("SERVICE_CERTIFICATE_REQUIRED", "internal calls need a service certificate")
	}
	if !c.allowed(method, service) {
		return errs.PermissionDenied("SERVICE_NOT_ALLOWED", "this service may not make this call")
	}
	return nil
}

// UnaryInterceptor refuses unary calls the table does not allow.
func (c Callers) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := c.check(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor refuses streams the table does not allow.
func (c Callers) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := c.check(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// Methods lists every method of the services registered on s, for tests
// that check a Callers table names each of them.
func Methods(s *grpc.Server) []string {
	var out []string
	for name, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			out = append(out, "/"+name+"/"+m.Name)
		}
	}
	slices.Sort(out)
	return out
}
