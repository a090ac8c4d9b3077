package gateway

import (
	"container/list"
	"context"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// RateLimit bounds, per client address, the calls that guess a secret or
// send someone e-mail: log-in and its continuation, PIN log-in, reauth,
// password-reset and key requests. One bucket per address holds all of
// them, since a normal sign-in spends two (log-in, then the code).
type RateLimit struct {
	// PerMinute is the sustained rate one address may call at; zero
	// means no limit.
	PerMinute int
	// Burst is how many calls an address may make at once after a quiet
	// while (the bucket's size).
	Burst int
}

// rateLimitedMethods are the limited calls, by full gRPC method name: the
// REST routes reach the backends as these calls too, so one list covers
// both doors.
var rateLimitedMethods = map[string]bool{
	credentialv1.AuthService_Login_FullMethodName:                  true, // POST /v1/auth/login
	credentialv1.AuthService_ContinueLogin_FullMethodName:          true, // POST /v1/auth/login:continue
	credentialv1.AuthService_LoginWithPin_FullMethodName:           true, // POST /v1/auth/login:pin
	credentialv1.AuthService_Reauthenticate_FullMethodName:         true, // POST /v1/auth/reauth
	recoveryv1.RecoveryService_RequestPasswordReset_FullMethodName: true, // POST /v1/recovery/password-reset
	mfav1.MfaService_RequestKey_FullMethodName:                     true, // POST /v1/mfa/key-requests
}

// maxTrackedAddresses bounds the limiter's memory (about 200 bytes an
// address). Past it the least recently seen address is forgotten; it comes
// back with a full bucket, which is what a quiet address has anyway.
const maxTrackedAddresses = 50_000

// addressLimiter holds one token bucket per client address, least recently
// used first out.
type addressLimiter struct {
	limit rate.Limit
	burst int
	clock clock.Clock
	max   int

	mu    sync.Mutex
	order *list.List // of *bucket, most recently used at the front
	byKey map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// newAddressLimiter returns nil (no limit) when cfg.PerMinute is zero.
func newAddressLimiter(cfg RateLimit, clk clock.Clock) *addressLimiter {
	if cfg.PerMinute <= 0 {
		return nil
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &addressLimiter{
		limit: rate.Limit(float64(cfg.PerMinute) / 60),
		burst: max(cfg.Burst, 1),
		clock: clk,
		max:   maxTrackedAddresses,
		order: list.New(),
		byKey: map[string]*list.Element{},
	}
}

// allow takes a token from addr's bucket; when there is none it says how
// long until there is.
func (a *addressLimiter) allow(addr string) (ok bool, retryAfter time.Duration) {
	key := limiterKey(addr)
	now := a.clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	var lim *rate.Limiter
	if e, found := a.byKey[key]; found {
		a.order.MoveToFront(e)
		lim = e.Value.(*bucket).lim
	} else {
		lim = rate.NewLimiter(a.limit, a.burst)
		a.byKey[key] = a.order.PushFront(&bucket{key: key, lim: lim})
		if a.order.Len() > a.max {
			oldest := a.order.Back()
			a.order.Remove(oldest)
			delete(a.byKey, oldest.Value.(*bucket).key)
		}
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(missing / float64(a.limit) * float64(time.Second))
}

// limiterKey is the bucket of an address: an IPv4 address alone, an IPv6
// address by its /64, which one household or host usually holds whole
// (keying the full address would give it 2^64 buckets).
func limiterKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr // no address known: such calls share one bucket
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// errRateLimited is the 429 of a limited call; its retryAfterSeconds
// becomes the REST answer's Retry-After (retryAfter).
func errRateLimited(wait time.Duration) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return errs.TooManyAttempts("RATE_LIMITED", "too many requests from this address; try again later").
		WithMetadata("retryAfterSeconds", strconv.Itoa(secs))
}

// check refuses a limited method once the caller's address has spent its
// tokens. The address is the one the backend is told (x-forwarded-for in
// the outgoing metadata, which both doors set from forwardedPolicy's
// decision), so a client behind a trusted proxy is limited as itself and
// any other client as its peer address.
func (a *addressLimiter) check(ctx context.Context, method string) error {
	if a == nil || !rateLimitedMethods[method] {
		return nil
	}
	var addr string
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		if v := md.Get(mdForwardedFor); len(v) > 0 {
			addr = v[len(v)-1]
		}
	}
	if ok, wait := a.allow(addr); !ok {
		return errRateLimited(wait)
	}
	return nil
}

// dialOptions install the limit on the backend connections, for REST
// (unary calls) and the gRPC proxy (streams) alike.
func (a *addressLimiter) dialOptions() []grpc.DialOption {
	if a == nil {
		return nil
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if err := a.check(ctx, method); err != nil {
				return err
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if err := a.check(ctx, method); err != nil {
				return nil, err
			}
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}
