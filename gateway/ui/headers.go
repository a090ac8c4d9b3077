package ui

import "net/http"

// ContentSecurityPolicy is the policy of every /ui/ answer: scripts and
// styles from /ui/static/ only (no inline script or style), images from
// here or data: URLs (the authenticator QR code), no framing, forms posting
// only here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// SecurityHeaders are the headers every /ui/ answer carries (pages add
// Cache-Control: no-store).
var SecurityHeaders = map[string]string{
	"Content-Security-Policy":    ContentSecurityPolicy,
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"X-Frame-Options":            "DENY",
	"Cross-Origin-Opener-Policy": "same-origin",
}

func setSecurityHeaders(h http.Header) {
	for k, v := range SecurityHeaders {
		h.Set(k, v)
	}
}
