package allinone_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func djangoHash(t *testing.T, pw string) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, pw, []byte("legacysalt"), 20000, 32)
	if err != nil {
		t.Fatal(err)
	}
	return "pbkdf2_sha256$20000$legacysalt$" + base64.StdEncoding.EncodeToString(key)
}

// J1 step 2: staff who had a login in the old system are imported with
// their old password hash; they log in with their old password, all or
// nothing per request.
func TestImport_LegacyHashesLogIn_AllOrNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{"usernameIsEmail": false})
		anon := client{t: t, base: op.base}
		admin := client{t: t, base: op.base, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
		bc, err := bcrypt.GenerateFromPassword([]byte("Old-Bcrypt-Pass1"), 8)
		if err != nil {
			t.Fatal(err)
		}
		rows := []map[string]any{
			{"username": "anna", "email": "anna@" + code + ".example", "displayName": "Anna", "roles": []string{"USER"}, "legacyPasswordHash": string(bc)},
			{"username": "bram", "email": "bram@" + code + ".example", "displayName": "Bram", "roles": []string{"USER"}, "legacyPasswordHash": djangoHash(t, "Old-Django-Pass2")},
		}
		// One bad row: nothing is imported, and every bad row is named.
		bad := append(append([]map[string]any{}, rows...),
			map[string]any{"username": "anna", "email": "x@" + code + ".example", "displayName": "Dup", "legacyPasswordHash": "md5$nope"})
		st, body := admin.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": bad})
		if st != 200 || body["importedCount"] != nil || body["failedCount"] != 1.0 {
			t.Fatalf("import with a bad row: %d %v, want nothing imported and one failure", st, body)
		}
		if r := items(body, "results")[2].(map[string]any); r["errorCode"] == nil {
			t.Fatalf("bad row not reported: %v", r)
		}
		if st, _ := login(anon, code, "anna", "Old-Bcrypt-Pass1"); st != 401 {
			t.Fatalf("a row of a refused import can log in: %d", st)
		}

		st, body = admin.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": rows})
		if st != 200 || body["importedCount"] != 2.0 {
			t.Fatalf("import: %d %v", st, body)
		}
		for _, c := range [][2]string{{"anna", "Old-Bcrypt-Pass1"}, {"bram", "Old-Django-Pass2"}} {
			for i := 0; i < 2; i++ { // the second log-in runs on the upgraded hash
				if st, body := login(anon, code, c[0], c[1]); st != 200 || body["accessToken"] == nil {
					t.Fatalf("%s log-in %d with the old password: %d %v", c[0], i+1, st, body)
				}
			}
			if st, _ := login(anon, code, c[0], "wrong"); st != 401 {
				t.Fatalf("%s with a wrong password: %d", c[0], st)
			}
		}
		_, body = admin.do("GET", "/v1/admin/accounts?filter="+code, nil)
		if n := len(items(body, "accounts")); n != 3 {
			t.Fatalf("accounts after import: %d, want 3 (admin, anna, bram): %v", n, fmt.Sprint(body))
		}
	})
}
