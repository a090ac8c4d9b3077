package allinone_test

import (
	"slices"
	"testing"
)

// Usernames that read the same are one username (PRECIS): full-width
// letters, another Unicode normalization, another case. Log-in finds the
// account in whatever form it is typed, and a name PRECIS refuses is a
// 400 naming the field.
func TestLoginIDs_ComparedAsPeopleReadThem(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code, _, admin := adminTenant(t, op, nil)
		anon := client{t: t, base: op.base}
		userWithPassword(t, admin, code, "jan", "Personal-Choice-5")
		create := func(username, email string) (int, map[string]any) {
			return admin.do("POST", "/v1/admin/accounts", map[string]any{"username": username, "email": email,
				"displayName": "Someone", "roles": []string{"USER"}, "activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Starting-Point-2026"})
		}
		if st, body := create("ren\u00e9", "rene@"+code+".example"); st != 200 {
			t.Fatalf("create ren\u00e9: %d %v", st, body)
		}
		for _, c := range []struct{ username, email string }{
			{"Ｊａｎ", "wide@" + code + ".example"},       // full width
			{"JAN", "upper@" + code + ".example"},      // case
			{"rene\u0301", "nfd@" + code + ".example"}, // decomposed é
			{"piet", "ＪＡＮ@" + code + ".example"},       // an e-mail address in full width
			{"klaas", "Rene@" + code + ".example"},     // an e-mail address in capitals
		} {
			st, body := create(c.username, c.email)
			if st != 409 {
				t.Errorf("create %q <%s> beside jan and ren\u00e9: %d %v, want 409", c.username, c.email, st, body)
			}
		}
		// Log-in in another case and another normalization form.
		if st, body := login(anon, code, "ＪＡＮ", "Personal-Choice-5"); st != 200 || body["accessToken"] == nil {
			t.Fatalf("log in as ＪＡＮ: %d %v", st, body)
		}
		if st, body := login(anon, code, "RENE\u0301", "Starting-Point-2026"); st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
			t.Fatalf("log in as RENE+accent: %d %v", st, body)
		}
		// The account keeps the name as it was typed.
		_, body := admin.do("GET", "/v1/admin/accounts?filter=ren", nil)
		if accts := items(body, "accounts"); len(accts) != 1 || accts[0].(map[string]any)["username"] != "ren\u00e9" {
			t.Fatalf("listed: %v", body)
		}
		// Names PRECIS refuses.
		for _, bad := range []string{"jan\u0007", "jan\u0378", "jan\u200b", "   "} {
			st, body := create(bad, "bad@"+code+".example")
			if st != 400 || !slices.Contains(fieldViolations(body), "username") {
				t.Errorf("create %q: %d %v, want 400 naming username", bad, st, body)
			}
		}
	})
}
