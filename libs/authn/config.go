package authn

import (
	"time"

	"github.com/latchkey/latchkey/libs/config"
)

// TokenConfig names the access tokens every service accepts. The
// credential service issues them with these values and every service
// verifies them with the same ones, so all read the same variables.
type TokenConfig struct {
	Issuer    string
	Audience  string
	AccessTTL time.Duration
}

// Defaults of TokenConfig.
const (
	DefaultIssuer    = "latchkey"
	DefaultAudience  = "latchkey"
	DefaultAccessTTL = 10 * time.Minute
)

// TokenConfigFromEnv reads the token settings through l.
func TokenConfigFromEnv(l *config.Loader) TokenConfig {
	return TokenConfig{
		Issuer:    l.String("LATCHKEY_TOKEN_ISSUER", DefaultIssuer, "iss of access tokens (the same on every service)"),
		Audience:  l.String("LATCHKEY_TOKEN_AUDIENCE", DefaultAudience, "aud of access tokens (the same on every service)"),
		AccessTTL: l.Duration("LATCHKEY_ACCESS_TOKEN_TTL", DefaultAccessTTL, "lifetime of access tokens"),
	}
}

// WithDefaults fills the unset fields.
func (c TokenConfig) WithDefaults() TokenConfig {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	return c
}
