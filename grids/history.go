package grids

import (
	"context"
	"encoding/json"
	"time"
)

// HistoryEntry is one recorded change: who made it, when and why, and the
// record before and after (JSON, absent for a creation or a retirement).
type HistoryEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	Entity      string          `json:"entity"`
	Code        string          `json:"code"`
	Reason      string          `json:"reason"`
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
	ChangesetID *int64          `json:"changeset_id,omitempty"`
}

// The entities whose single changes can be reverted one by one (grid
// changes are reverted as whole changesets).
const (
	EntityComponent   = "component"
	EntityDepartment  = "department"
	EntityRoutingRule = "routing_rule"
)

// HistoryStore reads recorded changes and undoes them.
type HistoryStore interface {
	// History lists the recorded changes of one record (an entity and its
	// code), oldest first; ErrNotFound if there are none.
	History(ctx context.Context, entity, code string) ([]HistoryEntry, error)
	// HistoryEntry returns one recorded change (ErrNotFound if none).
	HistoryEntry(ctx context.Context, id int64) (HistoryEntry, error)
	// RevertChange undoes change id of a component, department or routing
	// rule by applying the inverse change, which goes to the history like
	// any other with its reason naming id; it returns that new entry. The
	// change is refused with ErrConflict when the record has changed since
	// (revert the later change first) or when it is a grid change (those are
	// reverted through their changeset).
	RevertChange(ctx context.Context, id int64, actor, reason string) (HistoryEntry, error)
}
