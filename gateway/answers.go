package gateway

import (
	"context"
	"net/http"

	"google.golang.org/protobuf/proto"

	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// answerPolicy sets what API.md asks of a successful REST answer, before
// its body is written:
//   - Cache-Control: no-store on every one: many carry a token or a secret
//     (log-in, refresh, TOTP enrolment, recovery codes, reset tickets) and
//     the rest are personal or administrative data that no shared cache
//     should keep, nor a browser's back button show again;
//   - 202 Accepted for the calls that e-mail someone "if the account
//     exists", whose empty answer is the same either way.
func answerPolicy(_ context.Context, w http.ResponseWriter, resp proto.Message) error {
	w.Header().Set("Cache-Control", "no-store")
	switch resp.(type) {
	case *recoveryv1.RequestPasswordResetResponse, *mfav1.RequestKeyResponse:
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}
