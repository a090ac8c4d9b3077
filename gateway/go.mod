module github.com/latchkey/latchkey/gateway

go 1.26.0

replace (
	github.com/latchkey/latchkey/libs => ../libs
	github.com/latchkey/latchkey/proto/gen => ../proto/gen
)
