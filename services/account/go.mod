module github.com/latchkey/latchkey/services/account

go 1.26.0

replace (
	github.com/latchkey/latchkey/libs => ../../libs
	github.com/latchkey/latchkey/proto/gen => ../../proto/gen
)

require golang.org/x/sync v0.25.0 // indirect
