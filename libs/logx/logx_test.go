package logx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/requestid"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"", slog.LevelInfo, false},
		{"INFO", slog.LevelInfo, false},
		{" warn ", slog.LevelWarn, false},
		{"warning", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"verbose", 0, true},
		{"info+2", 0, true},
	}
	for _, tt := range tests {
		got, err := logx.ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNew_WritesJSONAtLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := logx.New(&buf, "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept", "tenant", "acme")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if rec["msg"] != "kept" || rec["tenant"] != "acme" || rec["level"] != "WARN" {
		t.Errorf("record = %v", rec)
	}
}

func TestNew_RejectsUnknownLevel(t *testing.T) {
	if _, err := logx.New(&bytes.Buffer{}, "loud"); err == nil {
		t.Fatal("want error for unknown level")
	}
}

func TestNew_NamesTheContextsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log, err := logx.New(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := requestid.With(context.Background(), "req-1")
	log.InfoContext(ctx, "one")
	log.InfoContext(ctx, "two", requestid.LogKey, "given")
	log.Info("three")
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		id, _ := m[requestid.LogKey].(string)
		got = append(got, id)
		if strings.Count(line, requestid.LogKey) > 1 {
			t.Errorf("request id twice: %s", line)
		}
	}
	if strings.Join(got, ",") != "req-1,given," {
		t.Fatalf("request ids per line = %q", got)
	}
}
