// The generated Go of the Latchkey API: messages and gRPC stubs, for the
// services and for outside clients. It asks for the oldest versions its code
// works with, so that a client module is not pushed to newer ones: go 1.23
// for protobuf v1.36.12 (the runtime of protoc-gen-go v1.36.12's code),
// grpc v1.71 for genproto's google.api annotations (the stubs need 1.64).
// The workspace builds with newer versions all the same.
module github.com/latchkey/latchkey/proto/gen

go 1.23.0

require (
	google.golang.org/genproto/googleapis/api v0.0.0-20250528174236-200df99c418a
	google.golang.org/grpc v1.71.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.40.0 // indirect
	golang.org/x/sys v0.33.0 // indirect
	golang.org/x/text v0.25.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250528174236-200df99c418a // indirect
)
