package dbx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Open opens a service's database: PostgreSQL when postgresURL is set (in
// the service's own schema), otherwise the SQLite file `<schema>.db` in
// dataDir. This is the one switch between production and the all-in-one
// default.
func Open(ctx context.Context, postgresURL, dataDir, schema string) (DB, error) {
	if postgresURL != "" {
		return OpenPostgres(ctx, postgresURL, schema)
	}
	if dataDir == "" {
		return nil, fmt.Errorf("dbx: neither a PostgreSQL URL nor a data directory for %s", schema)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("dbx: data directory: %w", err)
	}
	return OpenSQLite(ctx, filepath.Join(dataDir, schema+".db"))
}
