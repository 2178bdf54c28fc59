package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// Duplicate candidates: open cases of the same class within this distance
// and time of a new report are offered for merging.
const (
	duplicateWithinM = 30.0
	duplicateWithin  = 24 * time.Hour
	maxDuplicates    = 10 // the nearest
)

// OpenCase implements grids.CaseStore: the case row, its first report and
// the "report" event in one transaction, then the possible duplicates.
func (s *Store) OpenCase(ctx context.Context, nc grids.NewCase) (grids.Case, error) {
	r := nc.Routed
	if r.ReportID == 0 {
		return grids.Case{}, grids.Invalid("report", "a case is opened for a stored report")
	}
	urgency := nc.Urgency
	if urgency == "" {
		urgency = grids.UrgencyNormal
	}
	if urgency != grids.UrgencyNormal && urgency != grids.UrgencyUrgent {
		return grids.Case{}, grids.Invalid("urgency", "%q: want normal or urgent", urgency)
	}
	var dep *string
	if r.Department != nil {
		dep = &r.Department.Code
	}
	var comp *string
	if nc.Request.Component != "" {
		comp = &nc.Request.Component
	}
	mgmt := []string{}
	for _, m := range r.Mgmt {
		mgmt = append(mgmt, m.Code)
	}
	cal, err := s.WorkCalendar(ctx)
	if err != nil {
		return grids.Case{}, err
	}
	// Every time of the case (its creation, its events, its deadlines)
	// is the case clock's.
	now := s.caseNow()
	// The first stage's limit and deadline go into the case's row as it is
	// inserted, with its first report, in one statement; then its event.
	c := grids.Case{State: grids.CaseReported, Urgency: urgency, Class: grids.ClassInfo{Class: nc.Request.Class}}
	clk, err := nextClock(ctx, s.pool, cal, c, "", grids.CaseReported, 0, now)
	if err != nil {
		return grids.Case{}, fmt.Errorf("open case: %w", translateCtx(ctx, err))
	}
	// One round trip: the pipeline runs as one implicit transaction (the
	// case, its first report and its event are stored together or not at
	// all), then reads the case back, its log and its possible duplicates.
	var b pgx.Batch
	b.Queue(`WITH c AS (
			INSERT INTO cases (state, report_id, reporter, scheme, kind, class, component_code, description, urgency,
				geom, grid_code, community_code, street_code, district_code, mgmt_codes, routed_department,
				time_limit, deadline, created, updated)
			SELECT 'reported', r.id, r.actor, r.scheme, r.kind, r.class, $2, $3, $4, r.geom, r.grid_code,
				r.community_code, r.street_code, r.district_code, $5, $6, $7, $8, $9, $9
			FROM reports r WHERE r.id = $1
			RETURNING id, report_id)
		INSERT INTO case_reports (case_id, report_id) SELECT id, report_id FROM c`,
		r.ReportID, comp, nc.Description, urgency, mgmt, dep, clk.limit, clk.deadline, now)
	// The new case is found by its report (a report opens one case at most).
	b.Queue(`INSERT INTO case_events (case_id, at, actor, role, step, to_state, department_code, note, grid_code)
		SELECT c.id, $5, r.actor, $1, 'report', 'reported', $2, $3, r.grid_code
		FROM reports r JOIN cases c ON c.report_id = r.id WHERE r.id = $4`,
		nc.Role.String(), dep, nc.Description, r.ReportID, now)
	b.Queue(`SELECT `+caseColumns+` FROM cases c WHERE c.report_id = $1`, r.ReportID)
	b.Queue(caseEventsSQL("(SELECT id FROM cases WHERE report_id = $1)"), r.ReportID)
	b.Queue(duplicatesSQL("(SELECT id FROM cases WHERE report_id = $4)"), duplicateWithin.String(), duplicateWithinM, maxDuplicates, r.ReportID)
	br := s.pool.SendBatch(ctx, &b)
	c, err = func() (grids.Case, error) {
		for range 2 {
			if _, err := br.Exec(); err != nil {
				return grids.Case{}, err
			}
		}
		c, err := scanCase(br.QueryRow())
		if err != nil {
			return c, err
		}
		if c.Events, err = scanCaseEvents(br.Query()); err != nil {
			return c, err
		}
		if c.Duplicates, err = scanDuplicates(br.Query()); err != nil {
			return c, err
		}
		return c, br.Close()
	}()
	if err != nil {
		br.Close() //nolint:errcheck // the first error is the one to report
		return grids.Case{}, fmt.Errorf("open case: %w", translateCtx(ctx, err))
	}
	fillClock(cal, &c, now)
	return c, nil
}

// duplicatesSQL selects the possible duplicates of the case whose id is
// the SQL expression id: the open cases of its class within
// duplicateWithinM metres ($2) of it, reported in the duplicateWithin ($1)
// before it, the nearest $3 first. Distances are on the sphere (within
// 0.3% of the spheroid's at 30 m, and several times cheaper).
func duplicatesSQL(id string) string {
	return `SELECT o.id, o.state, ST_Distance(o.geom::geography, c.geom::geography, false), o.created
		FROM cases c JOIN cases o ON o.id <> c.id AND o.scheme = c.scheme AND o.kind = c.kind AND o.class = c.class
			AND o.state NOT IN ('rejected', 'closed')
			AND o.created BETWEEN c.created - $1::interval AND c.created
			AND o.geom && ST_Expand(c.geom, 0.001) -- the GiST index first: 0.001° holds 30 m anywhere south of 60°N
			AND ST_DWithin(o.geom::geography, c.geom::geography, $2, false)
		WHERE c.id = ` + id + `
		ORDER BY 3, o.id
		LIMIT $3`
}

func scanDuplicates(rows pgx.Rows, err error) ([]grids.CaseRef, error) {
	if err != nil {
		return nil, fmt.Errorf("possible duplicates: %w", err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.CaseRef, error) {
		var ref grids.CaseRef
		var state string
		err := r.Scan(&ref.ID, &state, &ref.DistanceM, &ref.Created)
		ref.State = grids.CaseState(state)
		return ref, err
	})
	if err != nil {
		return nil, fmt.Errorf("possible duplicates: %w", err)
	}
	return refs, nil
}

// caseEventsSQL selects the log of the case whose id is the SQL
// expression id, for scanCaseEvents.
func caseEventsSQL(id string) string {
	return `SELECT id, at, actor, role, step, coalesce(from_state, ''), to_state,
			coalesce(department_code, ''), reason, note
		FROM case_events WHERE case_id = ` + id + ` ORDER BY id`
}

func scanCaseEvents(rows pgx.Rows, err error) ([]grids.CaseEvent, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.CaseEvent, error) {
		var e grids.CaseEvent
		var from, to string
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Role, &e.Step, &from, &to, &e.Department, &e.Reason, &e.Note)
		e.From, e.To = grids.CaseState(from), grids.CaseState(to)
		return e, err
	})
}

// caseColumns are read by scanCase, from cases c.
const caseColumns = `c.id, c.state, coalesce(c.suspended_from, ''), c.version, c.created, c.updated, c.report_id,
	c.reporter, c.scheme, c.kind, c.class, coalesce(c.component_code, ''), c.description, c.urgency,
	ST_X(c.geom), ST_Y(c.geom), c.grid_code, c.community_code, c.street_code, c.district_code, c.mgmt_codes,
	c.routed_department, (SELECT name FROM departments d WHERE d.code = c.routed_department AND d.valid_to IS NULL),
	c.department_code, (SELECT name FROM departments d WHERE d.code = c.department_code AND d.valid_to IS NULL),
	coalesce(c.reject_kind, ''), coalesce(c.duplicate_of, 0), c.reworks, c.extended_hours,
	ARRAY(SELECT report_id FROM case_reports cr WHERE cr.case_id = c.id ORDER BY report_id),
	coalesce(c.time_limit, ''), c.deadline, c.suspended_at`

func scanCase(row pgx.Row) (grids.Case, error) {
	var c grids.Case
	var state, from, scheme, kind, class string
	var routed, routedName, dep, depName *string
	err := row.Scan(&c.ID, &state, &from, &c.Version, &c.Created, &c.Updated, &c.ReportID,
		&c.Reporter, &scheme, &kind, &class, &c.Component, &c.Description, &c.Urgency,
		&c.Location[0], &c.Location[1], &c.Grid, &c.Community, &c.Street, &c.District, &c.Mgmt,
		&routed, &routedName, &dep, &depName, &c.RejectKind, &c.DuplicateOf, &c.Reworks, &c.ExtendedHours, &c.Reports,
		&c.TimeLimit, &c.Deadline, &c.SuspendedAt)
	if err != nil {
		return c, err
	}
	c.State, c.SuspendedFrom = grids.CaseState(state), grids.CaseState(from)
	cl := grids.Class{Scheme: scheme, Kind: kind, Code: class}
	c.Class = grids.ClassInfo{Class: cl}
	if ci, ok := grids.DefaultCatalog.Lookup(cl); ok {
		c.Class = ci
	}
	ref := func(code, name *string) *grids.DepartmentRef {
		if code == nil {
			return nil
		}
		r := &grids.DepartmentRef{Code: *code}
		if name != nil {
			r.Name = *name
		}
		return r
	}
	c.Routed, c.Department = ref(routed, routedName), ref(dep, depName)
	return c, nil
}

// Case implements grids.CaseStore.
func (s *Store) Case(ctx context.Context, id int64) (grids.Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("case %d: %w", id, translateCtx(ctx, err))
	}
	c.Events, err = scanCaseEvents(s.pool.Query(ctx, caseEventsSQL("$1"), id))
	if err != nil {
		return c, fmt.Errorf("case %d events: %w", id, translateCtx(ctx, err))
	}
	cal, err := s.WorkCalendar(ctx)
	if err != nil {
		return c, err
	}
	fillClock(cal, &c, s.caseNow())
	return c, nil
}

// Cases implements grids.CaseStore.
func (s *Store) Cases(ctx context.Context, f grids.CaseFilter) ([]grids.Case, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.IDs) > 0 {
		where = append(where, "c.id = ANY("+arg(f.IDs)+"::bigint[])")
	}
	if len(f.Classes) > 0 {
		var schemes, kinds, codes []string
		for _, cl := range f.Classes {
			schemes, kinds, codes = append(schemes, cl.Scheme), append(kinds, cl.Kind), append(codes, cl.Code)
		}
		where = append(where, "(c.scheme, c.kind, c.class) IN (SELECT * FROM unnest("+
			arg(schemes)+"::text[], "+arg(kinds)+"::text[], "+arg(codes)+"::text[]))")
	}
	if len(f.States) > 0 {
		st := make([]string, len(f.States))
		for i, x := range f.States {
			st[i] = string(x)
		}
		where = append(where, "c.state = ANY("+arg(st)+"::text[])")
	}
	if f.State != "" {
		where = append(where, "c.state = "+arg(string(f.State)))
	}
	if f.Department != "" {
		where = append(where, "c.department_code = "+arg(f.Department))
	}
	if f.Area != "" {
		code, err := geo.ParseCode(string(f.Area))
		if err != nil {
			return nil, grids.Invalid("area", "%v", err)
		}
		col := map[geo.Level]string{geo.District: "district_code", geo.Street: "street_code", geo.Community: "community_code", geo.Grid: "grid_code"}[code.Level()]
		where = append(where, "c."+col+" = "+arg(code.String()))
	}
	if !f.Since.IsZero() {
		where = append(where, "c.created >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "c.created < "+arg(f.Until))
	}
	if f.AfterID > 0 {
		where = append(where, "c.id < "+arg(f.AfterID))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT ` + caseColumns + ` FROM cases c`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY c.id DESC LIMIT " + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.Case, error) { return scanCase(r) })
	if err != nil {
		return nil, fmt.Errorf("cases: %w", translateCtx(ctx, err))
	}
	cal, err := s.WorkCalendar(ctx)
	if err != nil {
		return nil, err
	}
	now := s.caseNow()
	for i := range out {
		fillClock(cal, &out[i], now)
	}
	return out, nil
}

// StepCase implements grids.CaseStore. The case row is locked for the
// step, so of two steps on one case the second sees the first's result
// (and is refused if the state no longer allows it).
func (s *Store) StepCase(ctx context.Context, id int64, req grids.CaseStepRequest, who grids.CaseActor) (grids.Case, error) {
	cal, err := s.WorkCalendar(ctx)
	if err != nil {
		return grids.Case{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		to, err := grids.CaseStepTo(c, req, who)
		if err != nil {
			return err
		}
		dep := c.Department
		switch req.Step {
		case grids.StepDispatch:
			code := req.Department
			if code == "" {
				code = c.Routed.Code
			}
			var name string
			err := tx.QueryRow(ctx, `SELECT name FROM departments WHERE code = $1 AND valid_to IS NULL`, code).Scan(&name)
			if err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return grids.Invalid("department", "no current department %s", code)
				}
				return err
			}
			dep = &grids.DepartmentRef{Code: code, Name: name}
		case grids.StepReturn:
			dep = nil // back with the command centre
		case grids.StepReject:
			if req.RejectKind == grids.RejectDuplicate {
				var state string
				err := tx.QueryRow(ctx, `SELECT state FROM cases WHERE id = $1 FOR UPDATE`, req.DuplicateOf).Scan(&state)
				if errors.Is(err, pgx.ErrNoRows) {
					return grids.Invalid("duplicate_of", "no case %d", req.DuplicateOf)
				}
				if err != nil {
					return err
				}
				if !grids.CaseState(state).Open() {
					return grids.Invalid("duplicate_of", "case %d is %s: a duplicate joins an open case", req.DuplicateOf, state)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO case_reports (case_id, report_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
					req.DuplicateOf, c.ReportID); err != nil {
					return err
				}
			}
		}
		var depCode *string
		if dep != nil {
			depCode = &dep.Code
		}
		var suspendedFrom, rejectKind *string
		var duplicateOf *int64
		if to == grids.CaseSuspended {
			f := string(c.State)
			suspendedFrom = &f
		}
		if req.Step == grids.StepReject {
			rejectKind = &req.RejectKind
			if req.RejectKind == grids.RejectDuplicate {
				duplicateOf = &req.DuplicateOf
			}
		}
		rework, hours := 0, 0.0
		if req.Step == grids.StepRework {
			rework = 1
		}
		if req.Step == grids.StepExtend {
			hours = req.Hours
		}
		now := s.caseNow()
		clk, err := nextClock(ctx, tx, cal, c, req.Step, to, hours, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE cases SET state = $2, suspended_from = $3, version = version + 1, updated = $12,
				department_code = $4, reject_kind = $5, duplicate_of = $6, reworks = reworks + $7, extended_hours = extended_hours + $8,
				time_limit = $9, deadline = $10, suspended_at = $11,
				overdue_since = CASE WHEN $10::timestamptz IS DISTINCT FROM deadline THEN NULL ELSE overdue_since END
			WHERE id = $1`, id, string(to), suspendedFrom, depCode, rejectKind, duplicateOf, rework, hours,
			clk.limit, clk.deadline, clk.suspendedAt, now)
		if err != nil {
			return err
		}
		data := map[string]any{}
		if req.Step == grids.StepExtend {
			data["hours"] = req.Hours
		}
		if req.Step == grids.StepReject {
			data["reject_kind"] = req.RejectKind
			if req.DuplicateOf > 0 {
				data["duplicate_of"] = req.DuplicateOf
			}
		}
		js, _ := json.Marshal(data)
		_, err = tx.Exec(ctx, `INSERT INTO case_events (case_id, at, actor, role, step, from_state, to_state, department_code, reason, note, data)
			VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			id, who.Name, who.Role.String(), string(req.Step), string(c.State), string(to), depCode,
			strings.TrimSpace(req.Reason), strings.TrimSpace(req.Note), js, now)
		return err
	})
	if err != nil {
		return grids.Case{}, translateStep(ctx, err)
	}
	return s.Case(ctx, id)
}

// translateStep keeps the domain's errors as they are and translates the
// driver's.
func translateStep(ctx context.Context, err error) error {
	var inv *grids.InvalidError
	if errors.As(err, &inv) || errors.Is(err, grids.ErrForbidden) || errors.Is(err, grids.ErrConflict) {
		return err
	}
	return fmt.Errorf("case step: %w", translateCtx(ctx, err))
}

var _ grids.CaseStore = (*Store)(nil)
