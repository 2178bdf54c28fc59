package geo

import (
	"fmt"
	"strings"
)

// Level is a rank of the administrative hierarchy, or the unit grid below it.
type Level int

// The levels, top down. A code's length tells its level.
const (
	District  Level = iota + 1 // 区, 6 digits (GB/T 2260)
	Street                     // 街道/乡镇, 9 digits
	Community                  // 社区/村, 12 digits
	Grid                       // 单元网格, 15 digits
)

var levelNames = map[Level]string{District: "district", Street: "street", Community: "community", Grid: "grid"}

// String is the level's name as the API writes it.
func (l Level) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// CodeLen is the number of digits of a code at this level.
func (l Level) CodeLen() int {
	switch l {
	case District:
		return 6
	case Street:
		return 9
	case Community:
		return 12
	case Grid:
		return 15
	}
	return 0
}

// ParseLevel reads a level name ("district", "street", "community", "grid").
func ParseLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if n == strings.ToLower(s) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown level %q (want district, street, community or grid)", s)
}

// Code is a division or unit-grid code: a string of 6, 9, 12 or 15 digits,
// each level's code starting with its parent's code. Leading zeros matter, so
// a code is never a number.
type Code string

// ParseCode validates a division or grid code and returns it. The level comes
// from the length. A 14-digit code of the older CJ/T 213-2005 grid scheme
// (community + 2-digit sequence) is accepted and widened to 15 digits.
func ParseCode(s string) (Code, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("code is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("code %q: only digits are allowed", s)
		}
	}
	switch len(s) {
	case 6, 9, 12, 15:
	case 14:
		s = s[:12] + "0" + s[12:]
	default:
		return "", fmt.Errorf("code %q has %d digits; a district has 6, a street 9, a community 12, a unit grid 15", s, len(s))
	}
	c := Code(s)
	if err := c.checkParts(); err != nil {
		return "", err
	}
	return c, nil
}

// ParseCodeAt validates a code and checks that it is of the given level.
func ParseCodeAt(s string, l Level) (Code, error) {
	c, err := ParseCode(s)
	if err != nil {
		return "", err
	}
	if c.Level() != l {
		return "", fmt.Errorf("code %q is a %s code, want a %s code (%d digits)", s, c.Level(), l, l.CodeLen())
	}
	return c, nil
}

// checkParts rejects all-zero parts below the district, which no real
// division or grid uses.
func (c Code) checkParts() error {
	parts := []struct {
		from, to int
		what     string
	}{{6, 9, "street"}, {9, 12, "community"}, {12, 15, "grid sequence"}}
	for _, p := range parts {
		if len(c) >= p.to && c[p.from:p.to] == "000" {
			return fmt.Errorf("code %q: the %s part %s is not allowed", string(c), p.what, c[p.from:p.to])
		}
	}
	return nil
}

// Level tells the code's level from its length.
func (c Code) Level() Level {
	switch len(c) {
	case 6:
		return District
	case 9:
		return Street
	case 12:
		return Community
	case 15:
		return Grid
	}
	return 0
}

// Parent is the code one level up, or "" for a district.
func (c Code) Parent() Code {
	if n := len(c) - 3; n >= 6 {
		return c[:n]
	}
	return ""
}

// At is the code's ancestor (or itself) at level l, or "" when l is below it.
func (c Code) At(l Level) Code {
	if n := l.CodeLen(); n > 0 && n <= len(c) {
		return c[:n]
	}
	return ""
}

// String returns the code's digits.
func (c Code) String() string { return string(c) }
