package grids

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseLSN reads a PostgreSQL WAL position as PostgreSQL prints it
// ("16/B374D848"): the read-your-writes rule compares them.
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("want a WAL position X/Y in hexadecimal, got %q", s)
	}
	return h<<32 | l, nil
}

// FormatLSN prints a WAL position as PostgreSQL does.
func FormatLSN(p uint64) string { return fmt.Sprintf("%X/%X", p>>32, p&0xFFFFFFFF) }
