package ui

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// importColumns are the columns of a legacy-account CSV, in this order.
var importColumns = []string{"username", "email", "displayName", "roles", "legacyPasswordHash"}

// maxImportRows bounds one upload; a larger file is refused as a whole.
const maxImportRows = 5000

// importRowError is a row of the file that cannot be sent: Line is the
// line of the file (1-based, the header counted), Field names the column
// ("" for the row as a whole), Key is the message.
type importRowError struct {
	Line  int
	Field string
	Key   string
}

var errImportEmpty = errors.New("import: no rows")

// parseImportCSV reads a CSV of legacy accounts. The header line is
// optional (recognised by its first cell "username"); roles are separated
// by spaces, ";" or "|" (a "," would need quotes). lines maps each row to
// its line in the file, so the refusals the API names by row index can be
// shown by line.
func parseImportCSV(r io.Reader) (rows []*credentialv1.ImportedAccount, lines []int, bad []importRowError, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err == nil {
			line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			bad = append(bad, importRowError{Line: line, Key: "import.err.syntax"})
			return nil, nil, bad, nil
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(rec[0]), "\ufeff"), "username") {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces
		}
		if len(rec) != len(importColumns) {
			bad = append(bad, importRowError{Line: line, Key: "import.err.columns"})
			continue
		}
		if len(rows) >= maxImportRows {
			bad = append(bad, importRowError{Line: line, Key: "import.err.tooMany"})
			return nil, nil, bad, nil
		}
		a := &credentialv1.ImportedAccount{
			Username:           strings.TrimSpace(rec[0]),
			Email:              strings.TrimSpace(rec[1]),
			DisplayName:        strings.TrimSpace(rec[2]),
			LegacyPasswordHash: strings.TrimSpace(rec[4]),
		}
		for _, role := range strings.FieldsFunc(rec[3], func(c rune) bool { return c == ' ' || c == ';' || c == '|' }) {
			a.Roles = append(a.Roles, strings.ToUpper(role))
		}
		if a.Email == "" {
			bad = append(bad, importRowError{Line: line, Field: "email", Key: "reason.REQUIRED"})
		}
		rows = append(rows, a)
		lines = append(lines, line)
	}
	if len(rows) == 0 && len(bad) == 0 {
		return nil, nil, nil, errImportEmpty
	}
	return rows, lines, bad, nil
}
