package authn_test

import (
	"context"
	"log"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/authn"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// How a service wires token checks: keys from the credential service's
// JWKS, revocations from the events stream, both behind the Authenticator
// its gRPC server already uses.
func ExampleVerifier() {
	var (
		ctx        = context.Background()
		credential *grpc.ClientConn      // grpcx.Dial of the credential service
		js         jetstream.JetStream   // natsx.NewJetStream
		operators  *authn.OperatorTokens // as before
	)
	if credential == nil {
		return // (the example only compiles)
	}
	deny := authn.NewDenylist(nil)
	if err := authn.FollowRevocations(ctx, js, deny, authn.FollowOptions{}); err != nil {
		log.Fatal(err)
	}
	verifier, err := authn.NewVerifier(authn.VerifierOptions{
		Issuer:   "https://id.example.com",
		Audience: "latchkey",
		Keys:     authn.NewCachedKeys(authn.CredentialJWKS(credentialv1.NewAuthServiceClient(credential)), authn.CachedKeysOptions{}),
		Denylist: deny,
	})
	if err != nil {
		log.Fatal(err)
	}
	a := &authn.Authenticator{Operators: operators, Tokens: verifier}
	_ = grpc.NewServer(grpc.ChainUnaryInterceptor(a.UnaryInterceptor()))
	// Output:
}
