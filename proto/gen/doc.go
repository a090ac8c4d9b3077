// Package gen holds the Go code generated from ../latchkey by `make generate`:
// the messages and gRPC stubs of the Latchkey API, one package per proto
// package (latchkey/<service>/v1 public, latchkey/internalapi/<service>/v1
// for the calls between Latchkey services). A client needs only this module,
// protobuf and gRPC; the REST handlers live in the gateway module, and the
// generators are pinned in tools/go.mod.
package gen
