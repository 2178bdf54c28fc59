package grids

import (
	"fmt"
	"strings"
)

// RecordRef names one version of a versioned record other than a grid (a
// component, for one).
type RecordRef struct {
	Code    string `json:"code"`
	Version int    `json:"version"`
}

// VersionError is returned when a write was made against a version of a
// record that is no longer its current one: someone else changed or retired
// it since it was read. It has the shape of StaleError (stale and current
// versions) plus the kind of record, and says the same; Current is empty
// when the record is retired.
type VersionError struct {
	Entity  string      `json:"entity"`
	Stale   []RecordRef `json:"stale"`
	Current []RecordRef `json:"current"`
}

// NewVersionError is the VersionError of one record written against version
// want whose current version is cur (0: retired).
func NewVersionError(entity, code string, want, cur int) *VersionError {
	e := &VersionError{Entity: entity, Stale: []RecordRef{{Code: code, Version: want}}, Current: []RecordRef{}}
	if cur > 0 {
		e.Current = append(e.Current, RecordRef{Code: code, Version: cur})
	}
	return e
}

func (e *VersionError) Error() string {
	var parts []string
	for _, s := range e.Stale {
		cur := 0
		for _, c := range e.Current {
			if c.Code == s.Code {
				cur = c.Version
			}
		}
		if cur == 0 {
			parts = append(parts, fmt.Sprintf("%s %s version %d is no longer current (it was retired or does not exist)", e.Entity, s.Code, s.Version))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s was edited against version %d, the current version is %d", e.Entity, s.Code, s.Version, cur))
		}
	}
	return "stale edit: " + strings.Join(parts, "; ") + "; reload and retry"
}
