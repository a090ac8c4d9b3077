package password

import (
	"slices"
	"testing"
)

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		pin    string
		length int
		want   []string
	}{
		{"2580", 0, nil}, // a keypad column, but not a run of digits
		{"4829", 0, nil},
		{"48291", 0, nil},
		{"48291736", 0, nil},
		{"4829", 4, nil},
		{"482917", 6, nil},
		{"112233", 6, nil}, // pairs, not a repeated block
		{"123321", 6, nil}, // palindrome: allowed
		{"1221", 4, nil},
		{"1231", 4, nil},
		{"", 0, []string{ReasonPINNotNumeric, ReasonPINWrongLength}},
		{"482", 0, []string{ReasonPINWrongLength}},
		{"482917365", 0, []string{ReasonPINWrongLength}},
		{"48291", 4, []string{ReasonPINWrongLength}},
		{"4829", 6, []string{ReasonPINWrongLength}},
		{"48a9", 0, []string{ReasonPINNotNumeric}},
		{"４８２９", 0, []string{ReasonPINNotNumeric}}, // full-width digits are not keypad digits
		{"48 9", 0, []string{ReasonPINNotNumeric}},
		{"-482", 0, []string{ReasonPINNotNumeric}},
		{"abc", 0, []string{ReasonPINNotNumeric, ReasonPINWrongLength}},
		{"1111", 0, []string{ReasonPINTooSimple}},
		{"0000", 4, []string{ReasonPINTooSimple}},
		{"99999999", 0, []string{ReasonPINTooSimple}},
		{"1234", 0, []string{ReasonPINTooSimple}},
		{"4321", 0, []string{ReasonPINTooSimple}},
		{"0123", 0, []string{ReasonPINTooSimple}},
		{"9876", 0, []string{ReasonPINTooSimple}},
		{"7890", 0, []string{ReasonPINTooSimple}},
		{"8901", 0, []string{ReasonPINTooSimple}},
		{"3210", 0, []string{ReasonPINTooSimple}},
		{"123456", 6, []string{ReasonPINTooSimple}},
		{"87654321", 0, []string{ReasonPINTooSimple}},
		{"1212", 0, []string{ReasonPINTooSimple}},
		{"121212", 6, []string{ReasonPINTooSimple}},
		{"123123", 6, []string{ReasonPINTooSimple}},
		{"12341234", 8, []string{ReasonPINTooSimple}},
		{"111", 0, []string{ReasonPINWrongLength, ReasonPINTooSimple}},
		{"1234", 6, []string{ReasonPINWrongLength, ReasonPINTooSimple}},
	}
	for _, tt := range tests {
		t.Run(tt.pin, func(t *testing.T) {
			want := slices.Clone(tt.want)
			slices.Sort(want)
			got := reasons(t, CheckPIN(tt.pin, tt.length, "pin"), "pin")
			if !slices.Equal(got, want) {
				t.Errorf("CheckPIN(%q, %d) = %v, want %v", tt.pin, tt.length, got, want)
			}
		})
	}
}
