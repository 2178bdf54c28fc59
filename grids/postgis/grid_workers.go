package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// AddWorker implements grids.WorkerStore.
func (s *Store) AddWorker(ctx context.Context, w grids.GridWorker, actor, reason string) (grids.GridWorker, error) {
	w, err := grids.CheckGridWorker(w)
	if err != nil {
		return w, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO grid_workers (name, phone, role) VALUES ($1, $2, $3)
			RETURNING id, valid_from`, w.Name, w.Phone, w.Role).Scan(&w.ID, &w.ValidFrom); err != nil {
			return fmt.Errorf("add grid worker %s: %w", w.Name, translate(err))
		}
		_, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
			VALUES ($1, 'create', 'grid_worker', $2, $3, jsonb_build_object('name', $4::text, 'phone', $5::text, 'role', $6::text))`,
			actor, fmt.Sprint(w.ID), reason, w.Name, w.Phone, w.Role)
		if err != nil {
			return fmt.Errorf("add grid worker %s: history: %w", w.Name, err)
		}
		return nil
	})
	return w, err
}

// AssignDuty implements grids.WorkerStore. The worker's row is locked
// while the overlap is checked, so that two assignments of one worker
// cannot both pass.
func (s *Store) AssignDuty(ctx context.Context, d grids.Duty, actor, reason string) (grids.Duty, error) {
	d, err := grids.CheckDuty(d)
	if err != nil {
		return d, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM grid_workers WHERE id = $1 AND valid_to IS NULL FOR UPDATE`, d.WorkerID).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return grids.Invalid("worker", "no current grid worker with id %d", d.WorkerID)
		} else if err != nil {
			return fmt.Errorf("assign worker %d: %w", d.WorkerID, translate(err))
		}
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mgmt_grids WHERE code = $1 AND valid_to IS NULL)`, d.MgmtGrid).Scan(&found); err != nil {
			return fmt.Errorf("assign worker %d: %w", d.WorkerID, translate(err))
		}
		if !found {
			return grids.Invalid("mgmt_grid", "no current management grid %s (worker %d %s not assigned)", d.MgmtGrid, d.WorkerID, name)
		}
		var other int64
		var oStarts time.Time
		var oEnds *time.Time
		err = tx.QueryRow(ctx, `SELECT id, starts, ends FROM grid_worker_duties
			WHERE worker_id = $1 AND mgmt_grid_code = $2 AND tstzrange(starts, ends) && tstzrange($3, $4)
			ORDER BY starts LIMIT 1`, d.WorkerID, d.MgmtGrid, d.Starts, d.Ends).Scan(&other, &oStarts, &oEnds)
		if err == nil {
			return grids.Invalid("from", "worker %d %s already has duty %d on management grid %s from %s %s, which overlaps %s",
				d.WorkerID, name, other, d.MgmtGrid, oStarts.Format(time.RFC3339), untilText(oEnds), periodText(d.Starts, d.Ends))
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("assign worker %d: %w", d.WorkerID, translate(err))
		}
		if err := tx.QueryRow(ctx, `INSERT INTO grid_worker_duties (worker_id, mgmt_grid_code, starts, ends)
			VALUES ($1, $2, $3, $4) RETURNING id`, d.WorkerID, d.MgmtGrid, d.Starts, d.Ends).Scan(&d.ID); err != nil {
			return fmt.Errorf("assign worker %d to %s: %w", d.WorkerID, d.MgmtGrid, translate(err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
			SELECT $1, 'create', 'grid_worker_duty', id::text, $2,
			       jsonb_build_object('worker_id', worker_id, 'worker', $3::text, 'mgmt_grid', mgmt_grid_code, 'starts', starts, 'ends', ends)
			FROM grid_worker_duties WHERE id = $4`, actor, reason, name, d.ID)
		if err != nil {
			return fmt.Errorf("assign worker %d to %s: history: %w", d.WorkerID, d.MgmtGrid, err)
		}
		return nil
	})
	return d, err
}

// EndDuty implements grids.WorkerStore.
func (s *Store) EndDuty(ctx context.Context, dutyID int64, at time.Time, actor, reason string) (grids.Duty, error) {
	d := grids.Duty{ID: dutyID}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT worker_id, mgmt_grid_code, starts, ends FROM grid_worker_duties WHERE id = $1 FOR UPDATE`, dutyID).
			Scan(&d.WorkerID, &d.MgmtGrid, &d.Starts, &d.Ends)
		if err != nil {
			return fmt.Errorf("duty %d: %w", dutyID, translate(err))
		}
		if !at.After(d.Starts) {
			return grids.Invalid("to", "duty %d of worker %d on management grid %s starts at %s; it cannot end at %s",
				dutyID, d.WorkerID, d.MgmtGrid, d.Starts.Format(time.RFC3339), at.Format(time.RFC3339))
		}
		if d.Ends != nil && !d.Ends.After(at) {
			return fmt.Errorf("%w: duty %d of worker %d on management grid %s already ended at %s",
				grids.ErrConflict, dutyID, d.WorkerID, d.MgmtGrid, d.Ends.Format(time.RFC3339))
		}
		before := d.Ends
		d.Ends = &at
		if _, err := tx.Exec(ctx, `UPDATE grid_worker_duties SET ends = $2 WHERE id = $1`, dutyID, at); err != nil {
			return fmt.Errorf("end duty %d: %w", dutyID, translate(err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after)
			VALUES ($1, 'update', 'grid_worker_duty', $2, $3, jsonb_build_object('ends', $4::timestamptz), jsonb_build_object('ends', $5::timestamptz))`,
			actor, fmt.Sprint(dutyID), reason, before, at)
		if err != nil {
			return fmt.Errorf("end duty %d: history: %w", dutyID, err)
		}
		return nil
	})
	return d, err
}

// RetireWorker implements grids.WorkerStore: the worker leaves at at; each
// of their duties running then ends there, and each starting later is
// cancelled (deleted, with its record in the history).
func (s *Store) RetireWorker(ctx context.Context, id int64, at time.Time, actor, reason string) (grids.GridWorker, error) {
	var w grids.GridWorker
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id, name, phone, role, valid_from, valid_to FROM grid_workers WHERE id = $1 FOR UPDATE`, id).
			Scan(&w.ID, &w.Name, &w.Phone, &w.Role, &w.ValidFrom, &w.ValidTo)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no grid worker with id %d", grids.ErrNotFound, id)
		} else if err != nil {
			return fmt.Errorf("grid worker %d: %w", id, translate(err))
		}
		if w.ValidTo != nil {
			return fmt.Errorf("%w: grid worker %d %s left at %s", grids.ErrConflict, id, w.Name, w.ValidTo.Format(time.RFC3339))
		}
		if at.Before(w.ValidFrom) {
			return grids.Invalid("at", "grid worker %d %s was added at %s; they cannot leave at %s", id, w.Name,
				w.ValidFrom.Format(time.RFC3339), at.Format(time.RFC3339))
		}
		w.ValidTo = &at
		if _, err := tx.Exec(ctx, `UPDATE grid_workers SET valid_to = $2 WHERE id = $1`, id, at); err != nil {
			return fmt.Errorf("retire grid worker %d: %w", id, translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before)
			VALUES ($1, 'retire', 'grid_worker', $2, $3, jsonb_build_object('name', $4::text, 'phone', $5::text, 'role', $6::text))`,
			actor, fmt.Sprint(id), reason, w.Name, w.Phone, w.Role); err != nil {
			return fmt.Errorf("retire grid worker %d: history: %w", id, err)
		}
		// Duties running at at end there; duties starting later are
		// cancelled. Both go into the history.
		if _, err := tx.Exec(ctx, `WITH cut AS (
				SELECT id, starts, ends FROM grid_worker_duties WHERE worker_id = $1 AND (ends IS NULL OR ends > $2) FOR UPDATE),
			ended AS (
				UPDATE grid_worker_duties d SET ends = $2 FROM cut WHERE d.id = cut.id AND cut.starts < $2 RETURNING d.id),
			dropped AS (
				DELETE FROM grid_worker_duties d USING cut WHERE d.id = cut.id AND cut.starts >= $2 RETURNING d.id)
			INSERT INTO history (actor, action, entity, code, reason, before, after)
			SELECT $3, CASE WHEN e.id IS NULL THEN 'retire' ELSE 'update' END, 'grid_worker_duty', c.id::text, $4,
			       jsonb_build_object('starts', c.starts, 'ends', c.ends),
			       CASE WHEN e.id IS NOT NULL THEN jsonb_build_object('starts', c.starts, 'ends', $2::timestamptz) END
			FROM cut c LEFT JOIN ended e ON e.id = c.id LEFT JOIN dropped x ON x.id = c.id
			ORDER BY c.id`, id, at, actor, reason); err != nil {
			return fmt.Errorf("retire grid worker %d: duties: %w", id, translate(err))
		}
		return nil
	})
	return w, err
}

// RosterOf implements grids.WorkerDirectory: the Roster of the located
// point's unit grid.
func (s *Store) RosterOf(ctx context.Context, loc grids.Location, at time.Time) (grids.Roster, error) {
	return s.Roster(ctx, string(loc.Grid.Code), at)
}

// Roster implements grids.WorkerStore: one query, the current
// management grids containing the unit grid, each with its workers on duty
// at at (a current worker whose duty has started and not ended).
func (s *Store) Roster(ctx context.Context, grid string, at time.Time) (grids.Roster, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT g.code, g.name, g.kind, w.id, w.name, w.phone, w.role, d.id, d.starts, d.ends
		  FROM mgmt_grids g
		  JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = g.id AND mm.grid_code = $1
		  LEFT JOIN (grid_worker_duties d JOIN grid_workers w ON w.id = d.worker_id AND (w.valid_to IS NULL OR w.valid_to > $2))
		    ON d.mgmt_grid_code = g.code AND d.starts <= $2 AND (d.ends IS NULL OR d.ends > $2)
		 WHERE g.valid_to IS NULL
		 ORDER BY g.kind = 'social' DESC, g.code, w.role = 'grid_worker' DESC, w.name, d.id`, grid, at)
	if err != nil {
		return grids.Roster{}, fmt.Errorf("grid workers of %s: %w", grid, translateCtx(ctx, err))
	}
	var r grids.Roster
	var last string
	for rows.Next() {
		var m grids.MgmtGridRef
		var wid, did *int64
		var name, phone, role *string
		var starts *time.Time
		var ends *time.Time
		if err := rows.Scan(&m.Code, &m.Name, &m.Kind, &wid, &name, &phone, &role, &did, &starts, &ends); err != nil {
			rows.Close()
			return grids.Roster{}, fmt.Errorf("grid workers of %s: %w", grid, err)
		}
		if m.Code != last {
			r.Covering = append(r.Covering, m)
			last = m.Code
		}
		if wid == nil {
			r.Uncovered = append(r.Uncovered, m)
			continue
		}
		r.Workers = append(r.Workers, grids.OnDuty{MgmtGrid: m, WorkerID: *wid, Name: *name, Phone: *phone, Role: *role,
			DutyID: *did, Since: *starts, Until: ends})
	}
	if err := rows.Err(); err != nil {
		return grids.Roster{}, fmt.Errorf("grid workers of %s: %w", grid, translateCtx(ctx, err))
	}
	return r, nil
}

// WorkersOnDuty implements grids.WorkerStore.
func (s *Store) WorkersOnDuty(ctx context.Context, grid string, at time.Time) ([]grids.OnDuty, error) {
	r, err := s.Roster(ctx, grid, at)
	return r.Workers, err
}

// Workers implements grids.WorkerStore.
func (s *Store) Workers(ctx context.Context, mgmtGrid string) ([]grids.GridWorker, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, phone, role, valid_from, valid_to FROM grid_workers w
		WHERE valid_to IS NULL AND ($1 = '' OR EXISTS (SELECT 1 FROM grid_worker_duties d
			WHERE d.worker_id = w.id AND d.mgmt_grid_code = $1 AND (d.ends IS NULL OR d.ends > now())))
		ORDER BY id`, mgmtGrid)
	if err != nil {
		return nil, fmt.Errorf("grid workers: %w", translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (grids.GridWorker, error) {
		var w grids.GridWorker
		err := row.Scan(&w.ID, &w.Name, &w.Phone, &w.Role, &w.ValidFrom, &w.ValidTo)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("grid workers: %w", translateCtx(ctx, err))
	}
	return out, nil
}

// Duties returns a worker's duties, oldest first.
func (s *Store) Duties(ctx context.Context, workerID int64) ([]grids.Duty, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, worker_id, mgmt_grid_code, starts, ends FROM grid_worker_duties
		WHERE worker_id = $1 ORDER BY starts, id`, workerID)
	if err != nil {
		return nil, fmt.Errorf("duties of worker %d: %w", workerID, translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (grids.Duty, error) {
		var d grids.Duty
		err := row.Scan(&d.ID, &d.WorkerID, &d.MgmtGrid, &d.Starts, &d.Ends)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("duties of worker %d: %w", workerID, translateCtx(ctx, err))
	}
	return out, nil
}

func untilText(ends *time.Time) string {
	if ends == nil {
		return "open-ended"
	}
	return "to " + ends.Format(time.RFC3339)
}

func periodText(starts time.Time, ends *time.Time) string {
	return "the new period from " + starts.Format(time.RFC3339) + " " + untilText(ends)
}

var _ grids.WorkerStore = (*Store)(nil)

// DutyBook implements grids.DutySource: in one statement (one snapshot),
// the current management grids and the duties on them not ended at now,
// of workers who had not left at now. It reads where the map is read, as
// the change log that tells when to read it again.
func (s *Store) DutyBook(ctx context.Context, now time.Time) (*grids.DutyBook, error) {
	rows, err := s.readDB().Query(ctx, `
		SELECT g.code, g.name, g.kind, d.id, w.id, w.name, w.phone, w.role, w.valid_to, d.starts, d.ends
		  FROM mgmt_grids g
		  LEFT JOIN (grid_worker_duties d JOIN grid_workers w ON w.id = d.worker_id AND (w.valid_to IS NULL OR w.valid_to > $1))
		    ON d.mgmt_grid_code = g.code AND (d.ends IS NULL OR d.ends > $1)
		 WHERE g.valid_to IS NULL
		 ORDER BY g.code`, now)
	if err != nil {
		return nil, fmt.Errorf("duty book: %w", translateCtx(ctx, err))
	}
	var current []grids.MgmtGridRef
	var duties []grids.BookDuty
	for rows.Next() {
		var m grids.MgmtGridRef
		var did, wid *int64
		var name, phone, role *string
		var left, starts, ends *time.Time
		if err := rows.Scan(&m.Code, &m.Name, &m.Kind, &did, &wid, &name, &phone, &role, &left, &starts, &ends); err != nil {
			rows.Close()
			return nil, fmt.Errorf("duty book: %w", err)
		}
		if len(current) == 0 || current[len(current)-1].Code != m.Code {
			current = append(current, m)
		}
		if did != nil {
			duties = append(duties, grids.BookDuty{OnDuty: grids.OnDuty{MgmtGrid: m, WorkerID: *wid, Name: *name, Phone: *phone,
				Role: *role, DutyID: *did, Since: *starts, Until: ends}, WorkerUntil: left})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duty book: %w", translateCtx(ctx, err))
	}
	return grids.NewDutyBook(current, duties), nil
}
