// Package logx builds the structured JSON logger every Latchkey program
// uses, so that all services log in one shape that log pipelines can parse.
package logx

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// EnvLevel is the environment variable FromEnv reads; it is exported so a
// program can list it in its configuration table.
const EnvLevel = "LATCHKEY_LOG_LEVEL"

// ParseLevel reads a level name: debug, info, warn (or warning) or error,
// in any case. An empty name means info. Unknown names are an error rather
// than a silent default, so a typo in deployment config is noticed.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", name)
}

// New returns a logger writing JSON lines to w at the named level.
func New(w io.Writer, level string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// FromEnv returns a logger at the level named by LATCHKEY_LOG_LEVEL (info
// when unset). It writes to stderr so that stdout stays free for the
// output of CLI commands such as `latchkey config`.
func FromEnv() (*slog.Logger, error) {
	l, err := New(os.Stderr, os.Getenv(EnvLevel))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLevel, err)
	}
	return l, nil
}
