// Package gen holds the Go code generated from ../latchkey by `make generate`.
// Its go.mod also pins the protoc plugins (tool directives) so that a
// regeneration is reproducible.
package gen
