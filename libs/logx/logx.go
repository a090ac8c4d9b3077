// Package logx builds the structured JSON logger every Latchkey program
// uses, so that all services log in one shape that log pipelines can parse.
package logx

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// EnvLevel is the environment variable of the log level (read by
// daemon.OptionsFromEnv, for every binary).
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
