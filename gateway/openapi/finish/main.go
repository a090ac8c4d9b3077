// Command finish completes the OpenAPI document protoc-gen-openapiv2 writes
// (make generate runs it on gateway/openapi/latchkey.swagger.json), for what
// the plugin's options cannot say:
//
//   - the error schema Status gets typed details: every error carries a
//     google.rpc.ErrorInfo and bad input adds a google.rpc.BadRequest, so
//     details are described as those two messages rather than as Any;
//   - the *InternalService services (never mapped by the gateway) leave no
//     tag or operation behind, so the published contract names nothing a
//     client cannot call.
//   - an operation documented to answer 202 (gateway/answers.go) loses the
//     200 the plugin gives every operation.
//
// The gateway serves the result as it is.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: finish FILE.swagger.json (rewritten in place)")
		os.Exit(2)
	}
	if err := finishFile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "finish:", err)
		os.Exit(1)
	}
}

func finishFile(path string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := finish(in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// member is one key of a JSON object, kept in document order.
type member struct {
	key   string
	value json.RawMessage
}

// finish returns doc with typed errors and without internal services; the
// top-level keys keep their order.
func finish(doc []byte) ([]byte, error) {
	top, err := members(doc)
	if err != nil {
		return nil, err
	}
	for i, m := range top {
		var err error
		switch m.key {
		case "tags":
			top[i].value, err = publicTags(m.value)
		case "paths":
			top[i].value, err = publicPaths(m.value)
		case "definitions":
			top[i].value, err = typedErrors(m.value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, object(top), "", "  "); err != nil {
		return nil, err
	}
	out.WriteString("\n")
	return out.Bytes(), nil
}

// object joins members into a JSON object, in their order.
func object(members []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteString("{")
	for i, m := range members {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteString(":")
		b.Write(m.value)
	}
	b.WriteString("}")
	return b.Bytes()
}

// members splits a JSON object into its keys and values, in order.
func members(obj []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: t.(string), value: v})
	}
	return out, nil
}

// isInternalService tells the services that only other Latchkey services
// call, by the naming convention of the protos.
func isInternalService(name string) bool {
	return strings.HasSuffix(name, "InternalService")
}

func publicTags(raw json.RawMessage) (json.RawMessage, error) {
	var tags []json.RawMessage
	if err := json.Unmarshal(raw, &tags); err != nil {
		return nil, err
	}
	kept := []json.RawMessage{}
	for _, t := range tags {
		var tag struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(t, &tag); err != nil {
			return nil, err
		}
		if !isInternalService(tag.Name) {
			kept = append(kept, t)
		}
	}
	return marshal(kept)
}

func publicPaths(raw json.RawMessage) (json.RawMessage, error) {
	var paths map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &paths); err != nil {
		return nil, err
	}
	var err error
	for p, ops := range paths {
		for method, op := range ops {
			var o struct {
				Tags []string `json:"tags"`
			}
			if json.Unmarshal(op, &o) != nil {
				continue // not an operation (e.g. "parameters")
			}
			if slices.ContainsFunc(o.Tags, isInternalService) {
				delete(ops, method)
				continue
			}
			if ops[method], err = acceptedOnly(op); err != nil {
				return nil, err
			}
		}
		if len(ops) == 0 {
			delete(paths, p)
		}
	}
	return marshal(paths)
}

// acceptedOnly drops the 200 answer of an operation that documents 202.
func acceptedOnly(op json.RawMessage) (json.RawMessage, error) {
	members, err := members(op)
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		if m.key != "responses" {
			continue
		}
		var responses map[string]json.RawMessage
		if err := json.Unmarshal(m.value, &responses); err != nil {
			return nil, err
		}
		if _, ok := responses["202"]; !ok {
			return op, nil
		}
		delete(responses, "200")
		if members[i].value, err = marshal(responses); err != nil {
			return nil, err
		}
		return object(members), nil
	}
	return op, nil
}

// errorDefinitions describe the error body as grpc-gateway writes it from
// the status libs/errs builds (see ../shared/API.md, "Errors"). OpenAPI 2
// has no oneOf, so StatusDetail is the union of the two detail messages,
// told apart by @type.
const errorDefinitions = `{
  "Status": {
    "type": "object",
    "description": "A gRPC status (google.rpc.Status) as the error body of every failed call.",
    "required": ["code", "message", "details"],
    "properties": {
      "code": {"type": "integer", "format": "int32", "description": "The gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED, 9 FAILED_PRECONDITION, 14 UNAVAILABLE, 16 UNAUTHENTICATED...)."},
      "message": {"type": "string", "description": "A message for people, in English; never switch on it."},
      "details": {
        "type": "array",
        "description": "Always one google.rpc.ErrorInfo; for bad input also one google.rpc.BadRequest.",
        "items": {"$ref": "#/definitions/StatusDetail"}
      }
    }
  },
  "StatusDetail": {
    "type": "object",
    "description": "One detail of a Status: a google.rpc.ErrorInfo (reason, domain, metadata) or a google.rpc.BadRequest (fieldViolations), named by @type.",
    "required": ["@type"],
    "properties": {
      "@type": {
        "type": "string",
        "enum": ["type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest"]
      },
      "reason": {"type": "string", "description": "ErrorInfo: what clients switch on, stable, UPPER_SNAKE (e.g. INVALID_CREDENTIALS, LOGIN_TICKET_INVALID, REAUTHENTICATION_REQUIRED, RATE_LIMITED)."},
      "domain": {"type": "string", "description": "ErrorInfo: latchkey.dev."},
      "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "description": "ErrorInfo: more facts about the error, by name."},
      "fieldViolations": {
        "type": "array",
        "description": "BadRequest: one entry per broken rule.",
        "items": {"$ref": "#/definitions/FieldViolation"}
      }
    }
  },
  "FieldViolation": {
    "type": "object",
    "description": "One broken rule of a request (google.rpc.BadRequest.FieldViolation).",
    "required": ["field", "description"],
    "properties": {
      "field": {"type": "string", "description": "The field, by its JSON name (e.g. newPassword)."},
      "description": {"type": "string", "description": "What is wrong, for people."},
      "reason": {"type": "string", "description": "The rule, UPPER_SNAKE (e.g. REQUIRED, PASSWORD_TOO_SHORT)."}
    }
  }
}`

func typedErrors(raw json.RawMessage) (json.RawMessage, error) {
	var defs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &defs); err != nil {
		return nil, err
	}
	if _, ok := defs["Status"]; !ok {
		return nil, fmt.Errorf("no Status definition to type")
	}
	var add map[string]json.RawMessage
	if err := json.Unmarshal([]byte(errorDefinitions), &add); err != nil {
		return nil, err
	}
	for name, d := range add {
		defs[name] = d
	}
	// Any was only there for Status.details.
	delete(defs, "Any")
	b, err := marshal(defs)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(`"#/definitions/Any"`)) {
		return nil, fmt.Errorf("a definition other than Status refers to Any")
	}
	return b, nil
}

// marshal is json.Marshal without escaping <, > and &, which the document's
// descriptions use ("Bearer <token>").
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
