package dbx

// StatementHasNoEffect exposes statementStage to the tests.
func StatementHasNoEffect(sql string) bool { return statementStage(sql) == beforeCommit }
