package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

func (i *instance) code(t testing.TB, secret string, steps int64) string {
	t.Helper()
	c, err := factor.Code(secret, factor.Step(i.clk.Now())+steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (i *instance) verify(t testing.TB, code string, recovery bool) *mfainternalv1.VerifyCodeResponse {
	t.Helper()
	resp, err := i.internal.VerifyCode(context.Background(), &mfainternalv1.VerifyCodeRequest{
		TenantId: tenantID, AccountId: janID, Code: code, AllowRecoveryCode: recovery})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestGRPC_EnrolConfirmVerifyRegenerateDisable(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL string) {
		inst := start(t, pgURL)
		ctx := context.Background()

		if _, err := inst.public.ListFactors(ctx, &mfav1.ListFactorsRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("ListFactors without a token: %v", err)
		}
		jan := inst.as(t, janID, "USER")
		enrol, err := inst.public.EnrollTotp(jan, &mfav1.EnrollTotpRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := qr.Decode(t, enrol.GetQrPng()); got != enrol.GetOtpauthUri() {
			t.Fatalf("the QR code reads %q, the URI is %q", got, enrol.GetOtpauthUri())
		}
		u, _ := url.Parse(enrol.GetOtpauthUri())
		if u.Query().Get("issuer") != "ESHC Portaal" || u.Path != "/ESHC Portaal:jan" || u.Query().Get("secret") != enrol.GetSecret() {
			t.Fatalf("otpauth URI %s", enrol.GetOtpauthUri())
		}
		confirm, err := inst.public.ConfirmTotp(jan, &mfav1.ConfirmTotpRequest{Code: inst.code(t, enrol.GetSecret(), 0)})
		if err != nil || len(confirm.GetRecoveryCodes()) != 10 {
			t.Fatalf("confirm = %v, %v", confirm, err)
		}
		// The account service is told of the enrolment and of its
		// confirmation, so GET /v1/me asks again.
		janNote := tenantID + "/" + janID
		if n := inst.accounts.noted(); len(n) != 2 || n[0] != janNote || n[1] != janNote {
			t.Fatalf("notes %v, want 2 for %s", n, janNote)
		}
		list, err := inst.public.ListFactors(jan, &mfav1.ListFactorsRequest{})
		if err != nil || len(list.GetFactors()) != 1 || !list.GetFactors()[0].GetConfirmed() || list.GetRecoveryCodesRemaining() != 10 {
			t.Fatalf("list = %v, %v", list, err)
		}
		st, err := inst.internal.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: janID})
		if err != nil || !st.GetTotpEnabled() || st.GetEnableTime() == nil || st.GetEmailedKeyPending() {
			t.Fatalf("status = %v, %v", st, err)
		}

		// A log-in's code: the next step's, once.
		inst.clk.Advance(30 * time.Second)
		c := inst.code(t, enrol.GetSecret(), 0)
		if r := inst.verify(t, c, false); !r.GetOk() || r.GetMethod() != mfav1.VerificationMethod_TOTP {
			t.Fatalf("verify = %v", r)
		}
		if r := inst.verify(t, c, false); r.GetOk() || r.GetMethod() != mfav1.VerificationMethod_VALUE_UNSPECIFIED {
			t.Fatalf("replay = %v", r)
		}
		if r := inst.verify(t, confirm.GetRecoveryCodes()[0], true); !r.GetOk() || r.GetMethod() != mfav1.VerificationMethod_RECOVERY_CODE {
			t.Fatalf("recovery code = %v", r)
		}
		if r := inst.verify(t, confirm.GetRecoveryCodes()[0], true); r.GetOk() {
			t.Fatal("a recovery code worked twice")
		}
		jan = inst.as(t, janID, "USER")
		regen, err := inst.public.RegenerateRecoveryCodes(jan, &mfav1.RegenerateRecoveryCodesRequest{})
		if err != nil || len(regen.GetRecoveryCodes()) != 10 {
			t.Fatalf("regenerate = %v, %v", regen, err)
		}
		if r := inst.verify(t, confirm.GetRecoveryCodes()[1], true); r.GetOk() {
			t.Fatal("an old recovery code works after regeneration")
		}
		// Code checks and recovery codes change nothing GET /v1/me shows.
		if n := inst.accounts.noted(); len(n) != 2 {
			t.Fatalf("notes %v after code checks, want none new", n)
		}
		if _, err := inst.public.DisableTotp(jan, &mfav1.DisableTotpRequest{}); err != nil {
			t.Fatal(err)
		}
		if n := inst.accounts.noted(); len(n) != 3 || n[2] != janNote {
			t.Fatalf("notes %v after disable, want a third for %s", n, janNote)
		}
		st, _ = inst.internal.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: janID})
		if st.GetTotpEnabled() {
			t.Fatal("still enabled after disable")
		}
		// The events reach NATS: enabled, then disabled.
		testkit.WaitEvents(t, inst.natsURL, testkit.EventQuery{Subject: events.Prefix + "mfa.>", TenantID: tenantID}, func(evs []testkit.Event) bool {
			n := testkit.CountBySubject(evs)
			return n[events.MfaEnabled] == 1 && n[events.MfaDisabled] == 1
		})
	})
}

func TestGRPC_AdminResetsAndMFARequiredRefusesDisable(t *testing.T) {
	inst := start(t, testkit.Postgres(t).URL)
	jan := inst.as(t, janID, "USER")
	enrol, err := inst.public.EnrollTotp(jan, &mfav1.EnrollTotpRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.public.ConfirmTotp(jan, &mfav1.ConfirmTotpRequest{Code: inst.code(t, enrol.GetSecret(), 0)}); err != nil {
		t.Fatal(err)
	}
	inst.accounts.mu.Lock()
	inst.accounts.tenant.Policy.Mfa.Required = ptr(true)
	inst.accounts.mu.Unlock()
	// The tenant policy is cached for a few seconds.
	testkit.Eventually(t, 15*time.Second, func() error {
		_, err := inst.public.DisableTotp(inst.as(t, janID, "USER"), &mfav1.DisableTotpRequest{})
		if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition {
			return fmt.Errorf("disable under mfa.required: %v", err)
		}
		return nil
	})
	if _, err := inst.admin.ResetMfa(jan, &mfav1.ResetMfaRequest{Id: janID}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a user resets: %v", err)
	}
	admin := inst.as(t, adminID, "ADMIN")
	if _, err := inst.admin.ResetMfa(admin, &mfav1.ResetMfaRequest{Id: "nope"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := inst.admin.ResetMfa(admin, &mfav1.ResetMfaRequest{Id: janID}); err != nil {
		t.Fatal(err)
	}
	st, _ := inst.internal.GetFactorStatus(context.Background(), &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: janID})
	if st.GetTotpEnabled() {
		t.Fatal("still enabled after the admin's reset")
	}
}

// answer is everything a gRPC client sees of a call.
type answer struct {
	code            codes.Code
	body            []byte
	header, trailer metadata.MD
}

func (a answer) equal(b answer) bool {
	clean := func(md metadata.MD) metadata.MD {
		md = md.Copy()
		delete(md, "date")
		return md
	}
	return a.code == b.code && bytes.Equal(a.body, b.body) &&
		fmt.Sprint(clean(a.header)) == fmt.Sprint(clean(b.header)) && fmt.Sprint(a.trailer) == fmt.Sprint(b.trailer)
}

func requestKey(t testing.TB, c mfav1.MfaServiceClient, login string) (answer, time.Duration) {
	t.Helper()
	var a answer
	began := time.Now()
	resp, err := c.RequestKey(context.Background(), &mfav1.RequestKeyRequest{Tenant: "eshc", Login: login}, grpc.Header(&a.header), grpc.Trailer(&a.trailer))
	took := time.Since(began)
	a.code = status.Code(err)
	if err == nil {
		a.body, _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	}
	return a, took
}

// TestRequestKey_SameAnswerAndTimeForExistingAndMissingAccounts: the
// gRPC answer is byte-identical (status, body, metadata) for an account
// that exists and one that does not, and the medians of 50 calls each are
// within 10 % (measured interleaved; reported in the log). Only the
// existing account gets the key e-mail.
func TestRequestKey_SameAnswerAndTimeForExistingAndMissingAccounts(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL string) {
		inst := start(t, pgURL)
		exist, _ := requestKey(t, inst.public, "jan")
		missing, _ := requestKey(t, inst.public, "nobody")
		if exist.code != codes.OK || !exist.equal(missing) {
			t.Fatalf("answers differ:\nexisting %+v\nmissing  %+v", exist, missing)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			if n := len(inst.mail.all()); n != 1 {
				return fmt.Errorf("%d key e-mails, want 1", n)
			}
			return nil
		})
		sent := inst.mail.all()[0]
		if sent.GetTemplate() != notificationv1.Template_AUTHENTICATOR_KEY || sent.GetAccountId() != janID ||
			sent.GetVariables()["secret"] == "" || sent.GetVariables()["otpauth_uri"] == "" {
			t.Fatalf("key e-mail request %v", sent)
		}
		st, _ := inst.internal.GetFactorStatus(context.Background(), &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: janID})
		if !st.GetEmailedKeyPending() {
			t.Fatal("no e-mailed key pending")
		}

		timed := func(login string) func() time.Duration {
			return func() time.Duration {
				a, d := requestKey(t, inst.public, login)
				if !a.equal(exist) {
					t.Fatalf("the answer for %q differs: %+v", login, a)
				}
				return d
			}
		}
		testkit.SameTime(t, "gRPC key requests, existing vs missing account", 50, 5, 0.10, timed("jan"), timed("nobody"))
	})
}
