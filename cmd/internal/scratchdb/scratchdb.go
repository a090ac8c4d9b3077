// Package scratchdb makes a database of its own on a PostgreSQL server for
// a run that starts Latchkey on it (the local cluster, latchkey bench) and
// drops it afterwards: every run starts empty, and nothing it stored (a
// signing key sealed with a key-encryption key that lived in a throwaway
// folder) is left to trip the next one.
package scratchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB is a database made by Create.
type DB struct {
	// URL connects to it: the server's URL with the database's name.
	URL string

	serverURL, name string
}

// Create makes an empty database named prefix_<random> on the server of
// serverURL (a postgres:// URL whose user may CREATE DATABASE; its own
// database is only used to connect).
func Create(ctx context.Context, serverURL, prefix string) (*DB, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("want a postgres:// URL")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := &DB{serverURL: serverURL, name: prefix + "_" + hex.EncodeToString(b)}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u.Path, u.RawPath = "/"+db.name, ""
	db.URL = u.String()
	return db, nil
}

// Drop removes the database, ending the connections still open to it.
func (db *DB) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.name}.Sanitize()+" WITH (FORCE)")
	return err
}
