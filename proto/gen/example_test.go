package gen_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// A Go client (a desktop app, say) logs in over gRPC and asks who it is.
// The README shows the same code under "A Go client".
func Example_client() {
	ctx := context.Background()
	conn, err := grpc.NewClient("127.0.0.1:9090", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	login, err := credentialv1.NewAuthServiceClient(conn).Login(ctx, &credentialv1.LoginRequest{
		Tenant: "eshc", Username: "jan@eshc.example", Password: os.Getenv("LATCHKEY_PASSWORD"),
	})
	if err != nil {
		log.Fatal(err) // codes.Unauthenticated: wrong tenant, username or password
	}
	if step := login.GetNextStep(); step != credentialv1.LoginStep_VALUE_UNSPECIFIED {
		log.Fatalf("the log-in needs %s first (AuthService.ContinueLogin with the login ticket)", step)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetAccessToken())
	me, err := accountv1.NewAccountServiceClient(conn).GetMe(ctx, &accountv1.GetMeRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.GetAccount().GetDisplayName(), "of", me.GetTenantCode())
}
