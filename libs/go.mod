module github.com/latchkey/latchkey/libs

go 1.26.0
