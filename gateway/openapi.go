package gateway

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
)

// mergedOpenAPI is the generated document for every service, internal ones
// included (their tags carry their descriptions).
//
//go:embed openapi/latchkey.swagger.json
var mergedOpenAPI []byte

// publicOpenAPI returns the merged document without the tags of internal
// services, and without any operation tagged with one, so the published
// contract names nothing a client cannot call.
func publicOpenAPI(doc []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("gateway: openapi document: %w", err)
	}
	if raw, ok := top["tags"]; ok {
		var tags []map[string]any
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, fmt.Errorf("gateway: openapi tags: %w", err)
		}
		kept := tags[:0]
		for _, t := range tags {
			if name, _ := t["name"].(string); !isInternalService(name) {
				kept = append(kept, t)
			}
		}
		b, err := json.Marshal(kept)
		if err != nil {
			return nil, err
		}
		top["tags"] = b
	}
	if raw, ok := top["paths"]; ok {
		var paths map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &paths); err != nil {
			return nil, fmt.Errorf("gateway: openapi paths: %w", err)
		}
		for p, ops := range paths {
			for method, op := range ops {
				var o struct {
					Tags []string `json:"tags"`
				}
				if json.Unmarshal(op, &o) != nil {
					continue // not an operation (e.g. "parameters")
				}
				for _, t := range o.Tags {
					if isInternalService(t) {
						delete(ops, method)
						break
					}
				}
			}
			if len(ops) == 0 {
				delete(paths, p)
			}
		}
		b, err := json.Marshal(paths)
		if err != nil {
			return nil, err
		}
		top["paths"] = b
	}
	return json.MarshalIndent(top, "", "  ")
}

// openAPIHandler serves a prepared document.
func openAPIHandler(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
}
