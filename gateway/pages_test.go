package gateway_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/gateway/ui"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/keyring"
)

func pagesGateway(t *testing.T, proxies []string) (*running, *backend) {
	t.Helper()
	be := startBackend(t)
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	mailbox := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ui/mailbox/") {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "the mailbox")
	})
	return startGateway(t, gateway.Config{Backends: allBackends(be.addr), UISessionKeys: ring, Pages: mailbox, TrustedProxies: proxies}, false), be
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The pages call the backends through the gateway's own connections and
// pass on what the REST path passes: the request id the client sees and
// the client's address (a trusted proxy's X-Forwarded-For, else the peer).
func TestPages_ForwardClientAddressAndRequestID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		xff     string
		want    string
		secure  bool
	}{
		{name: "direct", want: "127.0.0.1"},
		{name: "behind a trusted proxy", proxies: []string{"127.0.0.1"}, xff: "203.0.113.7", want: "203.0.113.7", secure: true},
		{name: "untrusted forwarding headers", xff: "203.0.113.7", want: "127.0.0.1", secure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, be := pagesGateway(t, tc.proxies)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			send := func(method, path string, form url.Values) (*http.Response, string) {
				req, _ := http.NewRequest(method, r.httpURL+path, strings.NewReader(form.Encode()))
				if method == http.MethodPost {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if tc.xff != "" {
					req.Header.Set("X-Forwarded-For", tc.xff)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			resp, body := send(http.MethodGet, "/ui/forgot-password?tenant=acme", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != ui.ContentSecurityPolicy {
				t.Fatalf("forgot-password page: %d %v", resp.StatusCode, resp.Header)
			}
			cookie := resp.Cookies()[0]
			if cookie.Secure != tc.secure || (cookie.Name == "__Host-latchkey_session") != tc.secure {
				t.Errorf("session cookie %s Secure=%v, want Secure=%v", cookie.Name, cookie.Secure, tc.secure)
			}
			if !tc.secure {
				// The jar will not send a Secure cookie over plain HTTP;
				// only the plain-loopback case posts here.
				resp, _ = send(http.MethodPost, "/ui/forgot-password", url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}, "tenant": {"acme"}, "login": {"ann"}})
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("forgot-password post: %d", resp.StatusCode)
				}
				md := be.last(t, "RequestPasswordReset")
				if got := md.Get("x-forwarded-for"); len(got) != 1 || got[0] != tc.want {
					t.Errorf("x-forwarded-for = %v, want %s", got, tc.want)
				}
				if got := md.Get("x-request-id"); len(got) != 1 || got[0] != resp.Header.Get("X-Request-Id") {
					t.Errorf("x-request-id = %v, the client saw %q", got, resp.Header.Get("X-Request-Id"))
				}
			}
			// The mailbox (or whatever Config.Pages serves) is still there,
			// with the pages' headers under its own.
			resp, body = send(http.MethodGet, "/ui/mailbox/", nil)
			if resp.StatusCode != 200 || body != "the mailbox" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("mailbox: %d %q %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
}

// gatewayd cannot start without the session key ring; the all-in-one's
// edge settings leave it to be generated.
func TestConfig_UISessionKeysRequiredByGatewayd(t *testing.T) {
	env := map[string]string{
		"LATCHKEY_ACCOUNT_ADDR": "a:1", "LATCHKEY_CREDENTIAL_ADDR": "c:1", "LATCHKEY_RECOVERY_ADDR": "r:1", "LATCHKEY_MFA_ADDR": "m:1",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	l := config.New(lookup)
	gateway.ConfigFromEnv(l)
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), ui.EnvSessionKeys) {
		t.Fatalf("gatewayd without %s: %v", ui.EnvSessionKeys, err)
	}
	l = config.New(lookup)
	if cfg := gateway.EdgeFromEnv(l); cfg.UISessionKeys != nil || l.Err() != nil {
		t.Fatalf("edge without the key ring: %v %v", cfg.UISessionKeys, l.Err())
	}
	env[ui.EnvSessionKeys] = keyring.Generate()
	l = config.New(lookup)
	if cfg := gateway.EdgeFromEnv(l); cfg.UISessionKeys == nil || l.Err() != nil {
		t.Fatalf("edge with the key ring: %v", l.Err())
	}
}
