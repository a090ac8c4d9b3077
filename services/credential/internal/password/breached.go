package password

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// BreachedList is a set of breached passwords, known only by their SHA-1,
// held as a sorted slice of 20-byte hashes and searched by bisection. That is
// 20 bytes per entry with no per-entry overhead, about 20 MB per million
// passwords, where a map would take several times more. The full Have I Been
// Pwned corpus (about a billion hashes) does not fit this way; deployments
// load a pruned file, such as the hashes seen at least N times.
//
// SHA-1 is used because that is how the list is published; it is a lookup
// key here, not a protection of anything.
type BreachedList struct {
	hashes [][sha1.Size]byte
}

// LoadBreached reads a breached-password list in Have I Been Pwned's format:
// one "<40 hex digits of SHA-1>:<count>" per line (upper or lower case hex,
// the ":count" optional, CRLF or LF, blank lines ignored). The file is
// normally sorted, as published; an unsorted one is sorted after reading.
// A malformed line is an error naming its number, so a truncated download is
// noticed at start-up.
func LoadBreached(path string) (*BreachedList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password: breached list: %w", err)
	}
	defer f.Close()

	var hashes [][sha1.Size]byte
	if fi, err := f.Stat(); err == nil {
		// A line of the published file is 40 hex digits, ":", a count and
		// CRLF, so size/45 is close and avoids repeated growth.
		hashes = make([][sha1.Size]byte, 0, fi.Size()/45+1)
	}
	sc := bufio.NewScanner(f)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		hexPart, count, hasCount := strings.Cut(line, ":")
		var h [sha1.Size]byte
		if len(hexPart) != 2*sha1.Size {
			return nil, fmt.Errorf("password: breached list line %d: want 40 hex digits", lineNo)
		}
		if _, err := hex.Decode(h[:], []byte(hexPart)); err != nil {
			return nil, fmt.Errorf("password: breached list line %d: want 40 hex digits", lineNo)
		}
		if hasCount && (count == "" || strings.TrimLeft(count, "0123456789") != "") {
			return nil, fmt.Errorf("password: breached list line %d: count is not a number", lineNo)
		}
		hashes = append(hashes, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("password: breached list: %w", err)
	}
	cmp := func(a, b [sha1.Size]byte) int { return bytes.Compare(a[:], b[:]) }
	if !slices.IsSortedFunc(hashes, cmp) {
		slices.SortFunc(hashes, cmp)
	}
	return &BreachedList{hashes: slices.Clip(hashes)}, nil
}

// Len returns the number of hashes in the list.
func (b *BreachedList) Len() int {
	if b == nil {
		return 0
	}
	return len(b.hashes)
}

// Contains reports whether the SHA-1 of plain is in the list. A nil list
// contains nothing.
func (b *BreachedList) Contains(plain string) bool {
	if b == nil {
		return false
	}
	sum := sha1.Sum([]byte(plain))
	_, found := slices.BinarySearchFunc(b.hashes, sum, func(e, t [sha1.Size]byte) int {
		return bytes.Compare(e[:], t[:])
	})
	return found
}
