package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const sample = `{"swagger":"2.0","info":{"title":"t"},
	"tags":[{"name":"TenantService","description":"a <b>"},{"name":"AccountInternalService"}],
	"paths":{"/v1/tenants":{"get":{"tags":["TenantService"]}},
	         "/v1/internal":{"post":{"tags":["AccountInternalService"]}},
	         "/v1/mixed":{"get":{"tags":["TenantService"]},"post":{"tags":["MfaInternalService"]}},
	         "/v1/reset":{"post":{"tags":["RecoveryService"],"responses":{"200":{},"202":{},"400":{}}}}},
	"definitions":{"Any":{"type":"object"},"Status":{"properties":{"details":{"items":{"$ref":"#/definitions/Any"}}}}}}`

func TestFinish_DropsInternalServicesAndTypesErrors(t *testing.T) {
	out, err := finish([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tags        []struct{ Name string }   `json:"tags"`
		Paths       map[string]map[string]any `json:"paths"`
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != 1 || got.Tags[0].Name != "TenantService" {
		t.Errorf("tags = %v", got.Tags)
	}
	if _, ok := got.Paths["/v1/internal"]; ok {
		t.Error("internal-only path kept")
	}
	if _, ok := got.Paths["/v1/mixed"]["post"]; ok {
		t.Error("internal operation kept")
	}
	if _, ok := got.Paths["/v1/mixed"]["get"]; !ok {
		t.Error("public operation on a mixed path dropped")
	}
	if r := got.Paths["/v1/reset"]["post"].(map[string]any)["responses"].(map[string]any); r["200"] != nil || r["202"] == nil || r["400"] == nil {
		t.Errorf("responses of a 202 operation = %v, want 202 and 400 without 200", r)
	}
	if r := got.Paths["/v1/tenants"]["get"].(map[string]any); r["responses"] != nil {
		t.Errorf("an operation without responses got some: %v", r)
	}
	if _, ok := got.Definitions["Any"]; ok {
		t.Error("Any kept")
	}
	for _, name := range []string{"Status", "StatusDetail", "FieldViolation"} {
		if _, ok := got.Definitions[name]; !ok {
			t.Errorf("definition %s missing", name)
		}
	}
	if !strings.Contains(string(got.Definitions["Status"].Properties["details"]), "#/definitions/StatusDetail") {
		t.Errorf("Status.details = %s", got.Definitions["Status"].Properties["details"])
	}
	if !strings.Contains(string(out), `"a <b>"`) {
		t.Error("descriptions were HTML-escaped")
	}
	if i, j := strings.Index(string(out), `"swagger"`), strings.Index(string(out), `"definitions"`); i < 0 || i > j {
		t.Error("top-level keys reordered")
	}
}

func TestFinish_Refuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not an object":       `[]`,
		"no Status":           `{"definitions":{}}`,
		"Any used elsewhere":  `{"definitions":{"Status":{},"Other":{"$ref":"#/definitions/Any"}}}`,
		"tags not a list":     `{"tags":{}}`,
		"paths not an object": `{"paths":[]}`,
	} {
		if _, err := finish([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
