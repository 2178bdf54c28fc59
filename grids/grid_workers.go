package grids

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Roles of grid workers (not API token roles).
const (
	WorkerRoleGridWorker = "grid_worker" // 网格员
	WorkerRoleSupervisor = "supervisor"  // 网格长: supervises grid workers
)

// GridWorker is a person who owns management grids (social grids above
// all): the one a resident's report is brought to.
type GridWorker struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Phone     string     `json:"phone"`
	Role      string     `json:"role"`
	ValidFrom time.Time  `json:"valid_from"`
	ValidTo   *time.Time `json:"valid_to,omitempty"`
}

// Duty is a worker's assignment to a management grid for the period
// [Starts, Ends); Ends nil is open-ended.
type Duty struct {
	ID       int64      `json:"id"`
	WorkerID int64      `json:"worker_id"`
	MgmtGrid string     `json:"mgmt_grid"`
	Starts   time.Time  `json:"starts"`
	Ends     *time.Time `json:"ends,omitempty"`
}

// MgmtGridRef names a management grid and its kind ('social' or
// 'responsibility').
type MgmtGridRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// OnDuty is a worker on duty on a management grid at some time.
type OnDuty struct {
	MgmtGrid MgmtGridRef `json:"mgmt_grid"`
	WorkerID int64       `json:"worker_id"`
	Name     string      `json:"name"`
	Phone    string      `json:"phone"`
	Role     string      `json:"role"`
	DutyID   int64       `json:"duty_id"`
	Since    time.Time   `json:"since"`
	Until    *time.Time  `json:"until,omitempty"`
}

// Roster is who is on duty at a unit grid at one time: the workers, and the
// current management grids containing the unit grid that nobody is on duty
// for.
type Roster struct {
	Workers   []OnDuty
	Uncovered []MgmtGridRef
	// Covering is every current management grid containing the unit grid.
	Covering []MgmtGridRef
}

// WorkerDirectory tells who is on duty where a point lies; the router and
// the lookup answer use it. Duties answers from memory; the store (which
// WorkerStore also is) from the database.
type WorkerDirectory interface {
	// RosterOf returns, for every current management grid containing the
	// located point's unit grid, the workers on duty at at, and the grids
	// with none.
	RosterOf(ctx context.Context, loc Location, at time.Time) (Roster, error)
}

// WorkerStore is the storage of grid workers and their duties. Every
// change is recorded in the history with its actor and reason.
type WorkerStore interface {
	WorkerDirectory
	// Roster is RosterOf for a unit grid, with the management grids that
	// contain it read from the database.
	Roster(ctx context.Context, grid string, at time.Time) (Roster, error)
	AddWorker(ctx context.Context, w GridWorker, actor, reason string) (GridWorker, error)
	// AssignDuty stores a duty of a current worker on a current management
	// grid; an unknown worker or grid, ends not after starts, or a period
	// overlapping another duty of the worker on that grid is an
	// *InvalidError and nothing is stored.
	AssignDuty(ctx context.Context, d Duty, actor, reason string) (Duty, error)
	// EndDuty ends a duty at at (after its start).
	EndDuty(ctx context.Context, dutyID int64, at time.Time, actor, reason string) (Duty, error)
	// RetireWorker records that a worker leaves at at (not before they
	// were added): their duties running then end there, later ones are
	// cancelled. A worker who already left is ErrConflict.
	RetireWorker(ctx context.Context, id int64, at time.Time, actor, reason string) (GridWorker, error)
	// Duties returns a worker's duties, oldest first.
	Duties(ctx context.Context, workerID int64) ([]Duty, error)
	// WorkersOnDuty returns the workers on duty at at on every current
	// management grid containing the unit grid.
	WorkersOnDuty(ctx context.Context, grid string, at time.Time) ([]OnDuty, error)
	// Workers returns the current workers; with a management grid code,
	// those with a duty on it that has not ended.
	Workers(ctx context.Context, mgmtGrid string) ([]GridWorker, error)
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 -]{2,23}$`)

// CheckGridWorker validates and tidies a worker's fields.
func CheckGridWorker(w GridWorker) (GridWorker, error) {
	w.Name, w.Phone, w.Role = strings.TrimSpace(w.Name), strings.TrimSpace(w.Phone), strings.TrimSpace(w.Role)
	if w.Name == "" {
		return w, Invalid("name", "is required")
	}
	if w.Phone != "" && !phoneRE.MatchString(w.Phone) {
		return w, Invalid("phone", "%q is not a telephone number (digits, spaces, -, optional leading +)", w.Phone)
	}
	if w.Role == "" {
		w.Role = WorkerRoleGridWorker
	}
	if w.Role != WorkerRoleGridWorker && w.Role != WorkerRoleSupervisor {
		return w, Invalid("role", "%q: want %s or %s", w.Role, WorkerRoleGridWorker, WorkerRoleSupervisor)
	}
	return w, nil
}

// CheckDuty validates a duty's fields on their own.
func CheckDuty(d Duty) (Duty, error) {
	d.MgmtGrid = strings.TrimSpace(d.MgmtGrid)
	if d.WorkerID <= 0 {
		return d, Invalid("worker", "is required")
	}
	if !mgmtCode.MatchString(d.MgmtGrid) {
		return d, Invalid("mgmt_grid", "%q is not a management grid code (1-32 letters, digits, _ or -)", d.MgmtGrid)
	}
	if d.Starts.IsZero() {
		return d, Invalid("from", "is required")
	}
	if d.Ends != nil && !d.Ends.After(d.Starts) {
		return d, Invalid("to", "duty of worker %d on management grid %s ends at %s, not after its start %s",
			d.WorkerID, d.MgmtGrid, d.Ends.Format(time.RFC3339), d.Starts.Format(time.RFC3339))
	}
	return d, nil
}

// WorkerNote says, for a routing answer, which of the point's management
// grids nobody is on duty for; "" when every one has a worker.
func WorkerNote(grid string, r Roster, at time.Time) string {
	if len(r.Covering) == 0 {
		return fmt.Sprintf("no grid worker on duty: grid %s is in no management grid", grid)
	}
	if len(r.Uncovered) == 0 {
		return ""
	}
	var parts []string
	for _, m := range r.Uncovered {
		kind := m.Kind
		if kind == "" {
			kind = "management"
		}
		parts = append(parts, fmt.Sprintf("%s grid %s %s", kind, m.Code, m.Name))
	}
	return fmt.Sprintf("no grid worker on duty at %s for %s", at.Format(time.RFC3339), strings.Join(parts, ", "))
}
