package gateway

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the public contract as make generate writes it: the
// public services only, with typed errors (gateway/openapi/finish). It is
// served as it is, so what CI lints is what clients get.
//
//go:embed openapi/latchkey.swagger.json
var openAPIDocument []byte

// openAPIHandler serves a prepared document.
func openAPIHandler(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
}
