package grids

import (
	"context"
	"strings"
	"time"

	"gridd/geo"
)

// Moving a unit grid between management grids: GIS staff rebalance the
// social grids (or redraw responsibility grids) one unit grid at a time,
// seeing the households, residents and load of both grids before and after.
// A management grid keeps its code through the move (grid workers' duties
// name it), and gets a new version: the old row is closed, a new one holds
// the new members and their union, and the history records both sides.

// MgmtMove asks to move unit grid Grid from management grid From to its
// neighbour To. FromVersion and ToVersion, when not 0, are the versions the
// client read: a move against another version is a *VersionError. DryRun
// computes the balance and writes nothing.
type MgmtMove struct {
	Grid                   geo.Code
	From, To               string
	FromVersion, ToVersion int
	DryRun                 bool
}

// ParseMgmtMove checks a move on its own: a unit-grid code, two different
// management-grid codes, versions not negative, and (for a real move) a
// reason for the history.
func ParseMgmtMove(grid, from, to string, fromVersion, toVersion int, dryRun bool, reason string) (MgmtMove, string, error) {
	g, err := geo.ParseCodeAt(strings.TrimSpace(grid), geo.Grid)
	if err != nil {
		return MgmtMove{}, "", Invalid("grid", "%v", err)
	}
	from, to, reason = strings.TrimSpace(from), strings.TrimSpace(to), strings.TrimSpace(reason)
	if !mgmtCode.MatchString(from) {
		return MgmtMove{}, "", Invalid("from", "%q is not a management grid code (1-32 letters, digits, _ or -)", from)
	}
	if to == "" {
		return MgmtMove{}, "", Invalid("to", "is empty: name the management grid the unit grid moves to")
	}
	if !mgmtCode.MatchString(to) {
		return MgmtMove{}, "", Invalid("to", "%q is not a management grid code (1-32 letters, digits, _ or -)", to)
	}
	if from == to {
		return MgmtMove{}, "", Invalid("to", "unit grid %s would move from management grid %s to itself", g, from)
	}
	if fromVersion < 0 {
		return MgmtMove{}, "", Invalid("from_version", "must be a version (1, 2, ...) or 0 for none, got %d", fromVersion)
	}
	if toVersion < 0 {
		return MgmtMove{}, "", Invalid("to_version", "must be a version (1, 2, ...) or 0 for none, got %d", toVersion)
	}
	if !dryRun && reason == "" {
		return MgmtMove{}, "", Invalid("reason", "is empty: say why unit grid %s moves to %s (it goes into the history)", g, to)
	}
	return MgmtMove{Grid: g, From: from, To: to, FromVersion: fromVersion, ToVersion: toVersion, DryRun: dryRun}, reason, nil
}

// MgmtTotals is what a management grid (or one unit grid) holds: unit
// grids, and the households and residents of their current buildings. Load
// is against the community's social target (SocialTarget.Load); nil for
// responsibility grids and where no target is stored.
type MgmtTotals struct {
	UnitGrids  int      `json:"unit_grids"`
	Households int      `json:"households"`
	Residents  int      `json:"residents"`
	Load       *float64 `json:"load"`
}

// MgmtMoveSide is one of the two management grids of a move: its version
// read (and, once saved, the one written), and its totals before and after.
type MgmtMoveSide struct {
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Version    int        `json:"version"`
	NewVersion int        `json:"new_version,omitempty"`
	ValidFrom  time.Time  `json:"valid_from"`
	Members    []string   `json:"members"`
	Before     MgmtTotals `json:"before"`
	After      MgmtTotals `json:"after"`
}

// MgmtMoveResult is the balance of a move, and whether it was saved. Grid
// holds the moving unit grid's own totals.
type MgmtMoveResult struct {
	Grid      string        `json:"grid"`
	Totals    MgmtTotals    `json:"grid_totals"`
	Kind      string        `json:"kind"`
	Community string        `json:"community,omitempty"`
	Target    *SocialTarget `json:"target"`
	From      MgmtMoveSide  `json:"from"`
	To        MgmtMoveSide  `json:"to"`
	DryRun    bool          `json:"dry_run"`
	Saved     bool          `json:"saved"`
}

// MgmtGridSummary is a current management grid as the editor lists it:
// its members and totals, and for a social grid its community's target and
// the grid's load against it.
type MgmtGridSummary struct {
	Code       string        `json:"code"`
	Name       string        `json:"name"`
	Kind       string        `json:"kind"`
	Community  string        `json:"community,omitempty"`
	StreetCode string        `json:"street_code"`
	Version    int           `json:"version"`
	ValidFrom  time.Time     `json:"valid_from"`
	Members    []string      `json:"members"`
	Households int           `json:"households"`
	Residents  int           `json:"residents"`
	Target     *SocialTarget `json:"target"`
	Load       *float64      `json:"load"`
}

// MgmtMover is the storage moving unit grids between management grids
// needs.
type MgmtMover interface {
	// MoveUnitGrid moves one unit grid between two current management grids
	// of the same kind (social: same community; responsibility: same
	// street) that it borders, leaving the donor non-empty and in one piece.
	// Refusals are *InvalidError, stale versions *VersionError; nothing is
	// written on a refusal or a dry run.
	MoveUnitGrid(ctx context.Context, m MgmtMove, actor, reason string) (MgmtMoveResult, error)
	// MgmtGridsOf lists the current management grids with a unit grid in
	// the community (all kinds), by kind (social first) and code.
	MgmtGridsOf(ctx context.Context, community geo.Code) ([]MgmtGridSummary, error)
}
