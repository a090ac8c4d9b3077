// Package convert turns the account domain into its protobuf form and back,
// for the gRPC handlers and the events. The enum names of the API are the
// domain's own values, so enums convert by name.
package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Tenant is t in its API form.
func Tenant(t *account.Tenant) *accountv1.Tenant {
	return &accountv1.Tenant{
		Id:           t.ID,
		Code:         t.Code,
		Name:         t.Name,
		Policy:       Policy(t.Policy),
		TermsVersion: t.TermsVersion,
		CreateTime:   timestamppb.New(t.CreatedAt),
		UpdateTime:   timestamppb.New(t.UpdatedAt),
	}
}

// Account is a in its API form.
func Account(a *account.Account) *accountv1.Account {
	return &accountv1.Account{
		Id:                   a.ID,
		TenantId:             a.TenantID,
		Username:             a.Username,
		Email:                a.Email,
		DisplayName:          a.DisplayName,
		Roles:                Roles(a.Roles),
		Status:               accountv1.AccountStatus_Value(accountv1.AccountStatus_Value_value[string(a.Status)]),
		LockReason:           accountv1.LockReason_Value(accountv1.LockReason_Value_value[string(a.LockReason)]),
		Locale:               a.Locale,
		CreateTime:           timestamppb.New(a.CreatedAt),
		UpdateTime:           timestamppb.New(a.UpdatedAt),
		LastLoginTime:        timestampOrNil(a.LastLoginAt),
		ActivateTime:         timestampOrNil(a.ActivatedAt),
		AcceptedTermsVersion: a.AcceptedTermsVersion,
		UnlockTime:           timestampOrNil(a.LockedUntil),
	}
}

// Roles is roles in their API form.
func Roles(roles []account.Role) []accountv1.Role_Value {
	out := make([]accountv1.Role_Value, len(roles))
	for i, r := range roles {
		out[i] = accountv1.Role_Value(accountv1.Role_Value_value[string(r)])
	}
	return out
}

// RolesFromProto is the domain form of API roles. A value outside the enum
// becomes a role name the domain refuses, so validation names the field.
func RolesFromProto(roles []accountv1.Role_Value) []account.Role {
	out := make([]account.Role, len(roles))
	for i, r := range roles {
		out[i] = account.Role(enumName(accountv1.Role_Value_name, int32(r)))
	}
	return out
}

// Status is the domain form of an API status ("" for unspecified).
func Status(s accountv1.AccountStatus_Value) account.Status {
	return account.Status(enumName(accountv1.AccountStatus_Value_name, int32(s)))
}

// Role is the domain form of an API role ("" for unspecified).
func Role(r accountv1.Role_Value) account.Role {
	return account.Role(enumName(accountv1.Role_Value_name, int32(r)))
}

// Activation is the domain form of an API activation ("" for unspecified).
func Activation(a accountv1.Activation_Value) account.Activation {
	return account.Activation(enumName(accountv1.Activation_Value_name, int32(a)))
}

// ActivationToProto is a in its API form.
func ActivationToProto(a account.Activation) accountv1.Activation_Value {
	return accountv1.Activation_Value(accountv1.Activation_Value_value[string(a)])
}

// LockReason is the domain form of an API lock reason ("" for unspecified).
func LockReason(r accountv1.LockReason_Value) account.LockReason {
	return account.LockReason(enumName(accountv1.LockReason_Value_name, int32(r)))
}

// LockReasonToProto is r in its API form.
func LockReasonToProto(r account.LockReason) accountv1.LockReason_Value {
	return accountv1.LockReason_Value(accountv1.LockReason_Value_value[string(r)])
}

// StatusToProto is s in its API form.
func StatusToProto(s account.Status) accountv1.AccountStatus_Value {
	return accountv1.AccountStatus_Value(accountv1.AccountStatus_Value_value[string(s)])
}

// enumName is the name of v: "" for the zero value, and for a number the
// enum does not know "#<n>", which no validation accepts.
func enumName(names map[int32]string, v int32) string {
	if v == 0 {
		return ""
	}
	if n, ok := names[v]; ok {
		return n
	}
	return "#unknown"
}

func timestampOrNil(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// PasswordRules is the part of a password policy that a password form shows
// and a new password is checked against.
func PasswordRules(p account.PasswordPolicy) *credentialv1.PasswordRules {
	return &credentialv1.PasswordRules{
		MinLength: int32(p.MinLength), MinUppercase: int32(p.MinUppercase), MinLowercase: int32(p.MinLowercase),
		MinDigits: int32(p.MinDigits), MinSymbols: int32(p.MinSymbols), CheckBreached: p.CheckBreached,
		HistoryCount: int32(p.HistoryCount),
	}
}
