// Package convert turns the mfa domain into protos.
package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// Factor is f as the public API shows it (never its secret).
func Factor(f *factor.Factor) *mfav1.Factor {
	return &mfav1.Factor{
		Id: f.ID, Type: mfav1.FactorType_TOTP, Confirmed: f.Confirmed(),
		CreateTime: timestamppb.New(f.CreatedAt), ConfirmTime: Time(f.ConfirmedAt), LastUseTime: Time(f.LastUsedAt),
	}
}

// Method is a verification method as a proto enum.
func Method(m app.Method) mfav1.VerificationMethod_Value {
	switch m {
	case app.MethodTOTP:
		return mfav1.VerificationMethod_TOTP
	case app.MethodRecoveryCode:
		return mfav1.VerificationMethod_RECOVERY_CODE
	}
	return mfav1.VerificationMethod_VALUE_UNSPECIFIED
}

// Time is t as a timestamp, nil when unset.
func Time(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
