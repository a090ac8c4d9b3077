module github.com/latchkey/latchkey/cmd

go 1.26.0

replace (
	github.com/latchkey/latchkey/gateway => ../gateway
	github.com/latchkey/latchkey/libs => ../libs
	github.com/latchkey/latchkey/proto/gen => ../proto/gen
	github.com/latchkey/latchkey/services/account => ../services/account
	github.com/latchkey/latchkey/services/credential => ../services/credential
	github.com/latchkey/latchkey/services/mfa => ../services/mfa
	github.com/latchkey/latchkey/services/notification => ../services/notification
	github.com/latchkey/latchkey/services/recovery => ../services/recovery
)
