// Package migrations holds the recovery service's schema, one folder per
// dialect, applied by dbx.Migrate.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres sqlite
var files embed.FS

// FS is the migrations, with `postgres/` and `sqlite/` at its root.
var FS fs.FS = files
