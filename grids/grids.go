// Package grids is gridd's domain: the administrative divisions, unit grids,
// management grids, departments and the operations on them (import, build,
// edit, route). It declares the storage it needs and knows no SQL or HTTP.
package grids

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// The domain's error kinds. Adapters translate their own errors into these,
// and the API maps them to statuses in one place.
var (
	// ErrNotFound: the named record does not exist (or is not current).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request contradicts what is stored (a stale version,
	// a duplicate code).
	ErrConflict = errors.New("conflict")
	// ErrOutside: a location lies outside every unit grid.
	ErrOutside = errors.New("outside")
	// ErrUnavailable: the database cannot be reached (stopped, restarting,
	// shutting down, the network between is down). Nothing was done; the
	// request may succeed later.
	ErrUnavailable = errors.New("database unavailable")
	// ErrBusy: the work did not finish within its time budget (a statement
	// timeout) or waited too long for a lock another writer holds (a lock
	// timeout). It was rolled back; the request may succeed later.
	ErrBusy = errors.New("database busy")
)

// InvalidError is bad input: which field, and why.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Invalid builds an *InvalidError with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Division is a district, street or community as stored: one version of its
// boundary, current when ValidTo is nil.
type Division struct {
	Level      geo.Level
	Code       geo.Code
	Name       string
	ParentCode geo.Code
	Geom       orb.MultiPolygon
	ValidFrom  time.Time
	ValidTo    *time.Time
}

// DivisionRef names a division without its geometry, as in a parent chain.
type DivisionRef struct {
	Level geo.Level
	Code  geo.Code
	Name  string
}

// Change is one committed change to the map, as the change feed announces
// it: which table, and the WGS-84 bounding box of every row before and after.
// All means the extent is unknown (a truncate, or notifications that may have
// been lost): treat everything as changed.
type Change struct {
	// Table is the changed table; "*" is everything (All), and
	// NotificationsLost says that notifications outside the change log
	// (token revocations, case events) may have been lost.
	Table   string
	Op      string
	Version int64
	BBox    orb.Bound
	All     bool
}

// NotificationsLost is the Table of a Change saying that the feed's
// connection for notifications outside the change log was re-established:
// token revocations or case events may have been missed meanwhile. Map
// changes are never lost this way (they are read from the change log).
const NotificationsLost = "notifications"

type primaryReadsKey struct{}

// WithPrimaryReads marks a request whose reads must see its own writes at
// once: an instance reading a replica sends them to the primary.
func WithPrimaryReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryReadsKey{}, true)
}

// PrimaryReads reports whether ctx is marked by WithPrimaryReads.
func PrimaryReads(ctx context.Context) bool {
	v, _ := ctx.Value(primaryReadsKey{}).(bool)
	return v
}
