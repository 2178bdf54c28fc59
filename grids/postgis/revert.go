package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

const historyColumns = `id, at, actor, action, entity, code, reason, before, after, changeset_id`

func scanHistory(row pgx.Row) (grids.HistoryEntry, error) {
	var h grids.HistoryEntry
	var before, after []byte
	err := row.Scan(&h.ID, &h.At, &h.Actor, &h.Action, &h.Entity, &h.Code, &h.Reason, &before, &after, &h.ChangesetID)
	h.Before, h.After = before, after
	return h, err
}

// History implements grids.HistoryStore.
func (s *Store) History(ctx context.Context, entity, code string) ([]grids.HistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+historyColumns+` FROM history WHERE entity = $1 AND code = $2 ORDER BY at, id`, entity, code)
	if err != nil {
		return nil, fmt.Errorf("history of %s %s: %w", entity, code, err)
	}
	defer rows.Close()
	var out []grids.HistoryEntry
	for rows.Next() {
		h, err := scanHistory(rows)
		if err != nil {
			return nil, fmt.Errorf("history of %s %s: %w", entity, code, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of %s %s: %w", entity, code, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no history of %s %s: %w", entity, code, grids.ErrNotFound)
	}
	return out, nil
}

// HistoryEntry implements grids.HistoryStore.
func (s *Store) HistoryEntry(ctx context.Context, id int64) (grids.HistoryEntry, error) {
	h, err := scanHistory(s.pool.QueryRow(ctx, `SELECT `+historyColumns+` FROM history WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return h, fmt.Errorf("change %d: %w", id, grids.ErrNotFound)
	}
	return h, err
}

// RevertChange implements grids.HistoryStore.
func (s *Store) RevertChange(ctx context.Context, id int64, actor, reason string) (grids.HistoryEntry, error) {
	h, err := s.HistoryEntry(ctx, id)
	if err != nil {
		return h, err
	}
	why := fmt.Sprintf("revert of change %d", id)
	if reason != "" {
		why += ": " + reason
	}
	entity, code := h.Entity, h.Code
	switch h.Entity {
	case grids.EntityDepartment:
		err = s.revertDepartment(ctx, h, actor, why)
	case grids.EntityRoutingRule:
		code, err = s.revertRule(ctx, h, actor, why)
	case grids.EntityComponent:
		err = s.inTx(ctx, func(tx pgx.Tx) error { return revertComponent(ctx, tx, h, actor, why) })
	default:
		if h.ChangesetID != nil {
			return h, fmt.Errorf("%w: change %d belongs to changeset %d; grid changes are reverted as a whole changeset (POST /v1/changesets/%d/revert)",
				grids.ErrConflict, id, *h.ChangesetID, *h.ChangesetID)
		}
		return h, fmt.Errorf("%w: change %d is to a %s; only changes to components, departments and routing rules are reverted one by one",
			grids.ErrConflict, id, h.Entity)
	}
	if err != nil {
		return grids.HistoryEntry{}, err
	}
	out, err := scanHistory(s.pool.QueryRow(ctx, `SELECT `+historyColumns+` FROM history
		WHERE entity = $1 AND code = $2 AND id > $3 ORDER BY id DESC LIMIT 1`, entity, code, id))
	if err != nil {
		return out, fmt.Errorf("read the revert's history: %w", translate(err))
	}
	return out, nil
}

// changedSince is the refusal of a revert whose record has moved on.
func changedSince(h grids.HistoryEntry, now string) error {
	return fmt.Errorf("%w: %s %s %s since change %d; revert the later changes first (GET its history)",
		grids.ErrConflict, h.Entity, h.Code, now, h.ID)
}

// revertDepartment undoes a department's creation, update or retirement.
// The check and the write are separate transactions: departments are
// managed by a few administrators, and the write itself is validated as
// any other.
func (s *Store) revertDepartment(ctx context.Context, h grids.HistoryEntry, actor, why string) error {
	var before, after grids.Department
	if err := unmarshalSide(h.Before, &before); err != nil {
		return err
	}
	if err := unmarshalSide(h.After, &after); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT code, name, contact, territory_code FROM departments WHERE code = $1 AND valid_to IS NULL`, h.Code)
	if err != nil {
		return err
	}
	cur, err := scanDepartments(rows)
	if err != nil {
		return err
	}
	switch h.Action {
	case "create", "update":
		if len(cur) == 0 {
			return changedSince(h, "was retired")
		}
		if cur[0] != after {
			return changedSince(h, "has changed")
		}
		if h.Action == "create" {
			return s.RetireDepartment(ctx, h.Code, actor, why)
		}
		_, err := s.PutDepartment(ctx, before, actor, why)
		return err
	case "retire":
		if len(cur) > 0 {
			return changedSince(h, "was created again")
		}
		_, err := s.PutDepartment(ctx, before, actor, why)
		return err
	}
	return fmt.Errorf("%w: change %d (%s) cannot be reverted", grids.ErrConflict, h.ID, h.Action)
}

// revertRule undoes a rule's creation (the rule is retired) or retirement
// (the same rule is added again, under a new id). It returns the code
// (the id) whose history records the revert.
func (s *Store) revertRule(ctx context.Context, h grids.HistoryEntry, actor, why string) (string, error) {
	switch h.Action {
	case "create":
		id, err := strconv.ParseInt(h.Code, 10, 64)
		if err != nil {
			return "", fmt.Errorf("change %d: rule id %q: %w", h.ID, h.Code, err)
		}
		if err := s.RetireRule(ctx, id, actor, why); err != nil {
			if errors.Is(err, grids.ErrNotFound) {
				return "", changedSince(h, "was retired")
			}
			return "", err
		}
		return h.Code, nil
	case "retire":
		var r grids.Rule
		if err := unmarshalSide(h.Before, &r); err != nil {
			return "", err
		}
		r.ID = 0
		added, err := s.AddRule(ctx, r, actor, why)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(added.ID, 10), nil
	}
	return "", fmt.Errorf("%w: change %d (%s) cannot be reverted", grids.ErrConflict, h.ID, h.Action)
}

// revertComponent undoes a component's creation (it is retired), update
// (its recorded state before comes back as a new version) or retirement
// (it is current again, as it was). The component is placed in the grids of
// today, which may differ from those it had then.
func revertComponent(ctx context.Context, tx pgx.Tx, h grids.HistoryEntry, actor, why string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1), set_config('gridd.actor', $2, true)`, componentImportLock, actor); err != nil {
		return err
	}
	// side is the state the component must still be in for the revert to
	// apply: what the change made of it (what it undid, for a retirement).
	// A creation's history row holds no copy of the record: the state as
	// created is the "before" of the next change that has one, and with no
	// such change the component is still as created.
	var side any
	switch h.Action {
	case "update":
		side = []byte(h.After)
	case "retire":
		side = []byte(h.Before)
	case "create":
		var first []byte
		err := tx.QueryRow(ctx, `SELECT before FROM history WHERE entity = 'component' AND code = $1 AND id > $2 AND before IS NOT NULL
			ORDER BY id LIMIT 1`, h.Code, h.ID).Scan(&first)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if first != nil {
			side = first
		}
	}
	var current, matches bool
	err := tx.QueryRow(ctx, `SELECT valid_to IS NULL, $2::jsonb IS NULL OR gridd_component_json(c) = $2::jsonb FROM components c WHERE code = $1 FOR UPDATE`,
		h.Code, side).Scan(&current, &matches)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("component %s: %w", h.Code, grids.ErrNotFound)
	}
	if err != nil {
		return err
	}
	switch h.Action {
	case "create":
		if !current {
			return changedSince(h, "was deleted")
		}
		if !matches {
			return changedSince(h, "has changed")
		}
		return retireComponentTx(ctx, tx, h.Code, actor, why)
	case "update":
		if !current {
			return changedSince(h, "was deleted")
		}
		if !matches {
			return changedSince(h, "has changed")
		}
		rep, err := writeRecordedComponent(ctx, tx, h, actor, why)
		if err != nil {
			return err
		}
		if rep.Updated == 0 {
			return fmt.Errorf("%w: change %d only moved component %s into the grids of its place, which it follows by itself; there is nothing to revert",
				grids.ErrConflict, h.ID, h.Code)
		}
		return nil
	case "retire":
		if current {
			return changedSince(h, "is current again")
		}
		if !matches {
			return changedSince(h, "has changed")
		}
		_, err := tx.Exec(ctx, `WITH back AS (
				UPDATE components SET valid_to = NULL, updated_at = now(), version = version + 1
				WHERE code = $1 AND valid_to IS NOT NULL RETURNING *)
			INSERT INTO history (actor, action, entity, code, reason, after)
			SELECT $2, 'revert', 'component', b.code, $3, gridd_component_json(b::components) FROM back b`, h.Code, actor, why)
		if err != nil {
			return translate(err)
		}
		// Place it in today's grids (an update with its own history row
		// when they changed meanwhile).
		_, err = writeRecordedComponent(ctx, tx, h, actor, why)
		return err
	}
	return fmt.Errorf("%w: change %d (%s) cannot be reverted", grids.ErrConflict, h.ID, h.Action)
}

// unmarshalSide decodes one side of a history entry (nothing if absent).
func unmarshalSide(side json.RawMessage, v any) error {
	if len(side) == 0 {
		return nil
	}
	if err := json.Unmarshal(side, v); err != nil {
		return fmt.Errorf("history record: %w", err)
	}
	return nil
}

// writeRecordedComponent writes the component as change h recorded it
// before (its "before"), through the import path: validated, placed in
// today's grids, with history.
func writeRecordedComponent(ctx context.Context, tx pgx.Tx, h grids.HistoryEntry, actor, why string) (grids.ComponentImportReport, error) {
	var rep grids.ComponentImportReport
	f, err := componentFeature(h.Before)
	if err != nil {
		return rep, fmt.Errorf("change %d: %w", h.ID, err)
	}
	err = importComponentsTx(ctx, tx, []grids.ComponentFeature{f}, grids.ComponentImport{Mode: grids.AllOrNothing, Actor: actor, Reason: why}, &rep)
	return rep, err
}

// componentFeature turns a component as the history records it
// (gridd_component_json) back into a feature to write, read as a component
// file's GeoJSON feature would be. The record names the competent
// department competent_dept_*, a component file dept_*; the fields gridd
// derives (grid_code, grids, snapped, snap_m) are ignored there.
func componentFeature(side json.RawMessage) (grids.ComponentFeature, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(side, &rec); err != nil {
		return grids.ComponentFeature{}, fmt.Errorf("history record: %w", err)
	}
	geom := rec["geometry"]
	delete(rec, "geometry")
	for from, to := range map[string]string{"competent_dept_code": "dept_code", "competent_dept_name": "dept_name"} {
		if v, ok := rec[from]; ok {
			rec[to] = v
			delete(rec, from)
		}
	}
	props, err := json.Marshal(rec)
	if err != nil {
		return grids.ComponentFeature{}, err
	}
	feat, err := json.Marshal(map[string]json.RawMessage{"type": json.RawMessage(`"Feature"`), "properties": props, "geometry": geom})
	if err != nil {
		return grids.ComponentFeature{}, err
	}
	f, err := grids.ComponentFromGeoJSON(0, feat, geo.WGS84)
	if err != nil {
		return f, fmt.Errorf("history record: %w", err)
	}
	return f, nil
}
