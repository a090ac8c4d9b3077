package natsauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/latchkey/latchkey/libs/natsx"
)

// User is a role with its nkey: the seed is the service's secret
// (LATCHKEY_NATS_NKEY_FILE), the public key what the server knows it by.
type User struct {
	Role
	Seed      []byte
	PublicKey string
}

// NewUser returns the user of role with the nkey of seed, or a new nkey
// when seed is nil.
func NewUser(role Role, seed []byte) (User, error) {
	var kp nkeys.KeyPair
	var err error
	if seed == nil {
		kp, err = nkeys.CreateUser()
	} else {
		kp, err = nkeys.FromSeed(bytes.TrimSpace(seed))
	}
	if err != nil {
		return User{}, fmt.Errorf("natsauth: nkey of %s: %w", role.User, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return User{}, fmt.Errorf("natsauth: nkey of %s: %w", role.User, err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return User{}, fmt.Errorf("natsauth: the seed of %s is not an nkey user seed", role.User)
	}
	if seed, err = kp.Seed(); err != nil {
		return User{}, fmt.Errorf("natsauth: nkey of %s: %w", role.User, err)
	}
	return User{Role: role, Seed: seed, PublicKey: pub}, nil
}

// ServerConfig returns the authorization block of a nats-server
// configuration (include it in the server's file) that admits users, each
// with its permissions in names, and nobody else.
func ServerConfig(names natsx.Names, users []User) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Latchkey's NATS users for the prefix %q, written by `latchkey nats-auth`.\n", names.Prefix)
	b.WriteString("# Each service connects with its seed (LATCHKEY_NATS_NKEY_FILE) and may publish and\n")
	b.WriteString("# consume only its own subjects. Several deployments on one NATS: merge their users lists.\n")
	b.WriteString("authorization {\n  users = [\n")
	for _, u := range users {
		p := u.Permissions(names)
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: %s\n      permissions: {\n", u.User, quote(u.PublicKey))
		writeRule(&b, "publish", p.PublishAllow, p.PublishDeny)
		writeRule(&b, "subscribe", p.SubscribeAllow, p.SubscribeDeny)
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes()
}

func writeRule(b *bytes.Buffer, name string, allow, deny []string) {
	fmt.Fprintf(b, "        %s: {\n", name)
	for _, l := range []struct {
		key      string
		subjects []string
	}{{"allow", allow}, {"deny", deny}} {
		if len(l.subjects) == 0 {
			continue
		}
		fmt.Fprintf(b, "          %s: [\n", l.key)
		for i, s := range l.subjects {
			sep := ","
			if i == len(l.subjects)-1 {
				sep = ""
			}
			fmt.Fprintf(b, "            %s%s\n", quote(s), sep)
		}
		b.WriteString("          ]\n")
	}
	b.WriteString("        }\n")
}

// quote writes s as JSON, which the NATS configuration format reads as it
// is (and which keeps a '$' in a subject from being read as a variable),
// without JSON's \u escapes of '<', '>' and '&', which it does not read.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
