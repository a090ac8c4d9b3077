package allinone_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// getRaw fetches path without credentials and returns the status and body
// bytes as sent.
func getRaw(t *testing.T, base, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// A log-in page learns the tenant's brand, rules and options before anyone
// signs in; an unknown code answers the platform defaults in the very same
// bytes (but for the code), so the page tells no more than a log-in does.
func TestAppearance_PublicAndAnUnknownCodeLooksLikeADefaultTenant(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		branded := uniqueCode(t, "br")
		if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": branded, "name": "Branded", "policy": map[string]any{
			"brandName": "Acme Portal", "locale": "nl-NL", "password": map[string]any{"minLength": 14, "minSymbols": 1, "historyCount": 5},
			"recovery": map[string]any{"emailLink": false, "securityQuestions": true}, "pin": map[string]any{"enabled": true, "length": 6},
		}}); st != 200 {
			t.Fatalf("create branded tenant: %d %v", st, body)
		}
		plain := uniqueCode(t, "pl")
		if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": plain, "name": "Plain"}); st != 200 {
			t.Fatalf("create default tenant: %d %v", st, body)
		}
		anon := client{t: t, base: op.base}

		st, body := anon.do("GET", "/v1/tenants/"+branded+"/appearance", nil)
		rules, _ := body["passwordRules"].(map[string]any)
		recovery, _ := body["recovery"].(map[string]any)
		if st != 200 || body["code"] != branded || body["brandName"] != "Acme Portal" || body["locale"] != "nl-NL" || body["pinEnabled"] != true ||
			rules["minLength"] != float64(14) || rules["minSymbols"] != float64(1) || rules["historyCount"] != float64(5) ||
			recovery["emailLink"] != nil || recovery["securityQuestions"] != true {
			t.Fatalf("branded appearance: %d %v", st, body)
		}

		stKnown, known := getRaw(t, op.base, "/v1/tenants/"+plain+"/appearance")
		// Same length as plain, so that only the code differs.
		unknown := "zz" + plain[2:]
		stUnknown, unknownBody := getRaw(t, op.base, "/v1/tenants/"+unknown+"/appearance")
		if stKnown != 200 || stUnknown != 200 {
			t.Fatalf("default tenant %d %s, unknown code %d %s: want 200 both", stKnown, known, stUnknown, unknownBody)
		}
		if want := bytes.ReplaceAll(known, []byte(plain), []byte(unknown)); !bytes.Equal(unknownBody, want) {
			t.Errorf("unknown code answers\n%s\nwant the default tenant's answer\n%s", unknownBody, want)
		}
		// A code no tenant can have (too long, upper case) answers the same way.
		if st, b := getRaw(t, op.base, "/v1/tenants/No-Such-TENANT/appearance"); st != 200 ||
			!bytes.Equal(b, bytes.ReplaceAll(known, []byte(plain), []byte("No-Such-TENANT"))) {
			t.Errorf("malformed code: %d %s", st, b)
		}
	})
}
