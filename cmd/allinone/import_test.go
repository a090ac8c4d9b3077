package allinone_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/libs/testkit"
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

// J1's rule: in a tenant whose usernames are e-mail addresses, imported
// rows carry the address as both, and log in with their old passwords. A
// row does not collide with itself; two rows with one address still do.
func TestImport_UsernameIsEmail_RowsLogInWithOldPasswords(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "t")
		admin := "admin@" + code + ".example"
		st, body := op.do("POST", "/v1/tenants", map[string]any{
			"code": code, "name": "Tenant " + code, "policy": map[string]any{"usernameIsEmail": true},
			"firstAdmin": map[string]any{"username": admin, "email": admin, "displayName": "First Admin",
				"activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Temporary-Pass-2026"},
		})
		if st != 200 {
			t.Fatalf("create tenant: %d %v", st, body)
		}
		anon := client{t: t, base: op.base}
		_, body = login(anon, code, admin, "Temporary-Pass-2026")
		st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"})
		if st != 200 {
			t.Fatalf("first admin's log-in: %d %v", st, body)
		}
		adm := client{t: t, base: op.base, token: body["accessToken"].(string)}
		anna, bram := "anna@"+code+".example", "Bram@"+code+".example"
		rows := []map[string]any{
			{"username": anna, "email": anna, "displayName": "Anna", "roles": []string{"USER"}, "legacyPasswordHash": djangoHash(t, "Old-Django-Pass1")},
			{"username": bram, "email": strings.ToLower(bram), "displayName": "Bram", "roles": []string{"USER"}, "legacyPasswordHash": djangoHash(t, "Old-Django-Pass2")},
		}
		twice := append(append([]map[string]any{}, rows...), map[string]any{"username": strings.ToUpper(anna), "email": anna,
			"displayName": "Anna again", "legacyPasswordHash": djangoHash(t, "x")})
		st, body = adm.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": twice})
		if st != 200 || body["importedCount"] != nil || body["failedCount"] != 1.0 {
			t.Fatalf("import with one address twice: %d %v, want nothing imported and one failure", st, body)
		}
		for i, r := range items(body, "results") {
			r := r.(map[string]any)
			if refused := r["errorCode"] != nil; refused != (i == 2) {
				t.Fatalf("row %d: %v; want only row 2 refused", i, r)
			}
		}
		if r := items(body, "results")[2].(map[string]any); r["errorCode"] != "ALREADY_EXISTS" || !strings.Contains(r["errorMessage"].(string), "row 0") {
			t.Fatalf("the repeated address: %v, want ALREADY_EXISTS naming row 0", r)
		}

		st, body = adm.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": rows})
		if st != 200 || body["importedCount"] != 2.0 || body["failedCount"] != nil {
			t.Fatalf("import: %d %v, want both rows imported", st, body)
		}
		for _, c := range [][2]string{{anna, "Old-Django-Pass1"}, {bram, "Old-Django-Pass2"}} {
			if st, body := login(anon, code, c[0], c[1]); st != 200 || body["accessToken"] == nil {
				t.Fatalf("%s logs in with the old password: %d %v", c[0], st, body)
			}
		}
	})
}

// Hashes above the accepted costs are refused at import, the row and the
// field named, so that no account's log-in can cost a gigabyte or seconds
// of a core: Argon2 at 1 GiB or 11 passes, bcrypt cost 15, PBKDF2 above
// 2 000 000 iterations.
func TestImport_CostlyHashesRefused_RowAndFieldNamed(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, nil)
		anon := client{t: t, base: op.base}
		admin := client{t: t, base: op.base, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
		costly := []string{
			"$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4",
			"$argon2id$v=19$m=19456,t=11,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4",
			"$2b$15$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK",
			"pbkdf2_sha256$2000001$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=",
		}
		rows := []map[string]any{{"username": "fine", "email": "fine@" + code + ".example", "displayName": "Fine",
			"roles": []string{"USER"}, "legacyPasswordHash": djangoHash(t, "Old-Django-Pass2")}}
		for i, h := range costly {
			rows = append(rows, map[string]any{"username": fmt.Sprintf("costly%d", i), "email": fmt.Sprintf("costly%d@%s.example", i, code),
				"displayName": "Costly", "roles": []string{"USER"}, "legacyPasswordHash": h})
		}
		st, body := admin.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": rows})
		if st != 200 || body["importedCount"] != nil || body["failedCount"] != float64(len(costly)) {
			t.Fatalf("import of costly hashes: %d %v, want nothing imported and %d failures", st, body, len(costly))
		}
		for i := range costly {
			r := items(body, "results")[i+1].(map[string]any)
			field := fmt.Sprintf("accounts[%d].legacyPasswordHash", i+1)
			if r["errorCode"] != "INVALID_ARGUMENT" || !strings.Contains(fmt.Sprint(r["errorMessage"]), field) ||
				!strings.Contains(fmt.Sprint(r["errorMessage"]), "above") {
				t.Errorf("row %d: %v, want INVALID_ARGUMENT naming %s and the limit", i+1, r, field)
			}
		}
	})
}

// A row imported without a password hash is a PENDING account that gets
// the activation e-mail (AccountInvited, which the recovery service turns
// into a link), as the import API promises; it cannot log in until then.
func TestImport_RowWithoutHash_PendingWithActivationEmail(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"usernameIsEmail": false, "brandName": "Clienttrack"})
	anon := client{t: t, base: inst.HTTPURL}
	admin := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	email := "cora@" + code + ".example"
	st, body := admin.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": []map[string]any{
		{"username": "cora", "email": email, "displayName": "Cora", "roles": []string{"USER"}},
	}})
	if st != 200 || body["importedCount"] != 1.0 {
		t.Fatalf("import without a hash: %d %v", st, body)
	}
	_, body = admin.do("GET", "/v1/admin/accounts?filter=cora", nil)
	if accts := items(body, "accounts"); len(accts) != 1 || accts[0].(map[string]any)["status"] != "PENDING" {
		t.Fatalf("imported row without a hash: %v, want one PENDING account", body)
	}
	waitForMail(t, anon, email, "/ui/activate?token=")
	if st, body := login(anon, code, "cora", "Any-Password-1"); st != 401 {
		t.Fatalf("log-in before activation: %d %v, want 401", st, body)
	}
}
