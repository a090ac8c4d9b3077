package grpcapi

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/latchkey/latchkey/libs/errs"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

func TestUpdateAccountCommand_TheMaskNamesWhatChanges(t *testing.T) {
	full := &accountv1.Account{DisplayName: "Ana", Email: "ana@x.example", Roles: []accountv1.Role_Value{accountv1.Role_CLIENT}}
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	tests := []struct {
		name    string
		account *accountv1.Account
		mask    *fieldmaskpb.FieldMask
		// want lists the command's set fields: d(isplay name), e(mail), l(ocale), r(oles).
		want string
		// reason of the refusal; "" = accepted.
		reason string
	}{
		{"no mask: the non-empty fields", full, nil, "d e r", ""},
		{"empty mask: the same", full, mask(), "d e r", ""},
		{"proto and JSON names", full, mask("display_name", "locale"), "d l", ""},
		{"JSON name", full, mask("displayName"), "d", ""},
		{"star: every field that can change", full, mask("*"), "d e l r", ""},
		{"output-only fields are ignored", full, mask("id", "status", "createTime", "email"), "e", ""},
		{"username has its own call", full, mask("username"), "", "NOT_UPDATABLE"},
		{"unknown path", full, mask("nickname"), "", "UNKNOWN_FIELD"},
		{"no account", nil, nil, "", "REQUIRED"},
		{"another account's id", &accountv1.Account{Id: "other"}, nil, "", "INVALID_FORMAT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := updateAccountCommand(&accountv1.UpdateAccountRequest{Id: "a1", Account: tc.account, UpdateMask: tc.mask})
			if tc.reason != "" {
				var e *errs.Error
				if !errs.Is(err, errs.KindInvalid) || !errors.As(err, &e) || e.Reason != tc.reason {
					t.Fatalf("err = %v, want Invalid %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, f := range []struct {
				set  bool
				name string
			}{{cmd.DisplayName != nil, "d"}, {cmd.Email != nil, "e"}, {cmd.Locale != nil, "l"}, {cmd.Roles != nil, "r"}} {
				if f.set {
					if got != "" {
						got += " "
					}
					got += f.name
				}
			}
			if got != tc.want || cmd.ID != "a1" {
				t.Errorf("set fields %q (id %q), want %q", got, cmd.ID, tc.want)
			}
		})
	}
}
