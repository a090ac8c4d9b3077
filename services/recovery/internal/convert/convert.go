// Package convert turns the recovery app's types into protobuf messages
// and back, for grpcapi.
package convert

import (
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

// RulesToProto is the password rules as every password form gets them.
func RulesToProto(r app.PasswordRules) *credentialv1.PasswordRules {
	return &credentialv1.PasswordRules{
		MinLength: int32(r.MinLength), MinUppercase: int32(r.MinUppercase), MinLowercase: int32(r.MinLowercase),
		MinDigits: int32(r.MinDigits), MinSymbols: int32(r.MinSymbols), HistoryCount: int32(r.HistoryCount),
		CheckBreached: r.CheckBreached,
	}
}

// RequirementsToProto maps the proofs a reset needs.
func RequirementsToProto(rs []string) []recoveryv1.ResetRequirement_Value {
	out := make([]recoveryv1.ResetRequirement_Value, 0, len(rs))
	for _, r := range rs {
		out = append(out, recoveryv1.ResetRequirement_Value(recoveryv1.ResetRequirement_Value_value[r]))
	}
	return out
}

// AnswersFromProto is the questions and answers of a request.
func AnswersFromProto(as []*recoveryv1.SecurityAnswer) []recovery.QA {
	out := make([]recovery.QA, len(as))
	for i, a := range as {
		out[i] = recovery.QA{Question: a.GetQuestion(), Answer: a.GetAnswer()}
	}
	return out
}
