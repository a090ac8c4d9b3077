package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/authn"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

const tenantUsage = `usage:
  latchkey tenant create -code CODE -name NAME [-policy FILE.json]
                         [-admin-username U -admin-email E -admin-name N [-admin-temporary-password P]]
  latchkey tenant list [-filter TEXT]

The CLI calls the public gRPC API (LATCHKEY_GRPC_ADDR) as an operator, with
LATCHKEY_OPERATOR_TOKEN or the token in <LATCHKEY_DATA_DIR>/operator-token.
Answers are printed as JSON.
`

// tenantCommand runs `latchkey tenant …`.
func tenantCommand(ctx context.Context, cfg allinone.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tenantUsage)
		return errors.New("tenant: expected create or list")
	}
	token := cfg.OperatorToken
	if token == "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, authn.OperatorTokenFile))
		if err != nil {
			return fmt.Errorf("no operator token: set LATCHKEY_OPERATOR_TOKEN or start `latchkey run` once (%w)", err)
		}
		token = strings.TrimSpace(string(b))
	}
	conn, err := grpc.NewClient(cfg.Edge.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := accountv1.NewTenantServiceClient(conn)
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), 30*time.Second)
	defer cancel()

	fs := flag.NewFlagSet("tenant "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var resp proto.Message
	switch args[0] {
	case "create":
		code := fs.String("code", "", "tenant code typed at log-in (2–32 of a-z, 0-9, _ and -)")
		name := fs.String("name", "", "tenant name")
		policyFile := fs.String("policy", "", "JSON file with the tenant policy (API.md field names); unset fields take defaults")
		adminUser := fs.String("admin-username", "", "first administrator's username")
		adminEmail := fs.String("admin-email", "", "first administrator's e-mail address (an activation link goes there)")
		adminName := fs.String("admin-name", "", "first administrator's display name")
		adminTemp := fs.String("admin-temporary-password", "", "give the first administrator this temporary password (changed at the first log-in) instead of an activation e-mail")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		req := &accountv1.CreateTenantRequest{Code: *code, Name: *name}
		if *policyFile != "" {
			b, err := os.ReadFile(*policyFile)
			if err != nil {
				return err
			}
			req.Policy = &accountv1.TenantPolicy{}
			if err := protojson.Unmarshal(b, req.Policy); err != nil {
				return fmt.Errorf("%s: %w", *policyFile, err)
			}
		}
		if *adminUser != "" || *adminEmail != "" {
			req.FirstAdmin = &accountv1.FirstAdmin{Username: *adminUser, Email: *adminEmail, DisplayName: *adminName,
				Activation: accountv1.Activation_EMAIL_LINK}
			if *adminTemp != "" {
				req.FirstAdmin.Activation, req.FirstAdmin.TemporaryPassword = accountv1.Activation_TEMPORARY_PASSWORD, *adminTemp
			}
		}
		if resp, err = client.CreateTenant(ctx, req); err != nil {
			return err
		}
	case "list":
		filter := fs.String("filter", "", "only tenants whose code or name contains this")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		all := &accountv1.ListTenantsResponse{}
		req := &accountv1.ListTenantsRequest{Filter: *filter, PageSize: 500}
		for {
			page, err := client.ListTenants(ctx, req)
			if err != nil {
				return err
			}
			all.Tenants = append(all.Tenants, page.Tenants...)
			if page.NextPageToken == "" {
				break
			}
			req.PageToken = page.NextPageToken
		}
		resp = all
	default:
		fmt.Fprint(stderr, tenantUsage)
		return fmt.Errorf("tenant: unknown command %q", args[0])
	}
	out, err := protojson.MarshalOptions{Multiline: true}.Marshal(resp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}
