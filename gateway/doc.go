// Package gateway is Latchkey's public edge. It serves the REST mapping of
// the public gRPC services (grpc-gateway), the merged OpenAPI document,
// health, readiness and metrics endpoints, and a public gRPC endpoint that
// proxies calls to the backend owning each service.
//
// The edge is where untrusted input enters, so it decides what reaches the
// backends: only the public services (never an *InternalService), only the
// headers it means to forward (Authorization, Latchkey-Tenant, X-Request-Id
// and the user agent), and a client address that a client cannot forge
// unless it is one of the configured trusted proxies.
package gateway
