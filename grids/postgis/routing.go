package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// recordHistory writes one history row in the caller's transaction.
func recordHistory(ctx context.Context, tx pgx.Tx, actor, action, entity, code, reason string, before, after any) error {
	enc := func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		b, err := json.Marshal(v)
		return b, err
	}
	b, err := enc(before)
	if err != nil {
		return err
	}
	a, err := enc(after)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		actor, action, entity, code, reason, b, a)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

const ruleColumns = `r.id, r.scheme, r.kind, r.class, r.scope_level, r.scope_code, r.department_code, coalesce(d.name, ''), r.priority, r.note`

func scanRules(rows pgx.Rows) ([]grids.Rule, error) {
	var out []grids.Rule
	var r grids.Rule
	_, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Class.Scheme, &r.Class.Kind, &r.Class.Code, &r.Scope.Level, &r.Scope.Code,
		&r.Department.Code, &r.Department.Name, &r.Priority, &r.Note}, func() error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// RulesFor implements grids.RoutingStore.
func (s *Store) RulesFor(ctx context.Context, classes []grids.Class, scopes []grids.Scope) ([]grids.Rule, error) {
	var cs, ss []string
	for _, c := range classes {
		cs = append(cs, c.Scheme+"/"+c.Kind+"/"+c.Code)
	}
	for _, sc := range scopes {
		ss = append(ss, sc.Level+"/"+sc.Code)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+`
		FROM routing_rules r LEFT JOIN departments d ON d.code = r.department_code AND d.valid_to IS NULL
		WHERE r.valid_to IS NULL
		  AND r.scheme || '/' || r.kind || '/' || r.class = ANY($1)
		  AND r.scope_level || '/' || r.scope_code = ANY($2)
		ORDER BY r.id`, cs, ss)
	if err != nil {
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	out, err := scanRules(rows)
	if err != nil {
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	return out, nil
}

// TerritorialOffices implements grids.RoutingStore.
func (s *Store) TerritorialOffices(ctx context.Context, codes []geo.Code) ([]grids.Department, error) {
	var cs []string
	for _, c := range codes {
		cs = append(cs, string(c))
	}
	rows, err := s.pool.Query(ctx, `SELECT code, name, contact, territory_code FROM departments
		WHERE valid_to IS NULL AND territory_code = ANY($1) ORDER BY code`, cs)
	if err != nil {
		return nil, fmt.Errorf("territorial offices: %w", err)
	}
	return scanDepartments(rows)
}

func scanDepartments(rows pgx.Rows) ([]grids.Department, error) {
	var out []grids.Department
	var d grids.Department
	var terr *string
	_, err := pgx.ForEachRow(rows, []any{&d.Code, &d.Name, &d.Contact, &terr}, func() error {
		d.TerritoryCode = ""
		if terr != nil {
			d.TerritoryCode = geo.Code(*terr)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return out, nil
}

// SaveReport implements grids.RoutingStore.
func (s *Store) SaveReport(ctx context.Context, r grids.Report) (int64, error) {
	res := r.Routed
	result, err := json.Marshal(res)
	if err != nil {
		return 0, err
	}
	var dep *string
	if res.Department != nil {
		dep = &res.Department.Code
	}
	var ruleID *int64
	if res.Rule != nil {
		ruleID = &res.Rule.ID
	}
	var comp *string
	if r.Request.Component != "" {
		comp = &r.Request.Component
	}
	mgmt := []string{}
	for _, m := range res.Mgmt {
		mgmt = append(mgmt, m.Code)
	}
	pt, err := toWKB(orb.Point(r.WGS84))
	if err != nil {
		return 0, err
	}
	cells, err := cellsOf(orb.Point(r.WGS84), nil)
	if err != nil {
		return 0, err
	}
	// The report, at the case clock's time (a case opened for it starts
	// then too), counted in its hot-spot cells in the same statement.
	var id int64
	err = s.pool.QueryRow(ctx, `WITH r AS (
			INSERT INTO reports (actor, input_crs, input_lon, input_lat, geom, scheme, kind, class,
				component_code, grid_code, grid_version, mgmt_codes, community_code, street_code, district_code,
				snapped, distance_m, map_version, department_code, decided_by, rule_id, reason, result, at, h3)
			VALUES ($1, $2, $3, $4, ST_GeomFromWKB($5, 4326), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
				$18, $19, $20, $21, $22, $23, $24, $25)
			RETURNING id, at)`+countReportSQL(26),
		r.Request.Actor, string(r.Request.InputCRS), r.Request.Input[0], r.Request.Input[1], pt,
		r.Request.Class.Scheme, r.Request.Class.Kind, r.Request.Class.Code, comp,
		string(res.Grid.Code), res.Grid.Version, mgmt, res.Community.Code, res.Street.Code, res.District.Code,
		res.Snapped, res.DistanceM, res.MapVersion, dep, res.DecidedBy, ruleID, res.Reason, result,
		s.caseNow(), cells.h3, cells.res, cells.cells, cells.wkb).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store report: %w", translate(err))
	}
	return id, nil
}

// CompetentDepartment implements grids.ComponentDirectory over the component
// census table. It assumes components(code, competent_dept_code, valid_to)
// (the census migration's names) and answers "not found" while that table
// does not exist yet.
func (s *Store) CompetentDepartment(ctx context.Context, component string) (grids.DepartmentRef, bool, error) {
	var table, column bool
	err := s.pool.QueryRow(ctx, `SELECT to_regclass('components') IS NOT NULL,
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'components' AND column_name = 'competent_dept_code')`).
		Scan(&table, &column)
	if err != nil {
		return grids.DepartmentRef{}, false, fmt.Errorf("component department: %w", err)
	}
	if !table {
		return grids.DepartmentRef{}, false, nil
	}
	if !column {
		return grids.DepartmentRef{}, false, fmt.Errorf("component department: the components table has no competent_dept_code column, which routing by component reads")
	}
	var dep grids.DepartmentRef
	err = s.pool.QueryRow(ctx, query("component_department"), component).Scan(&dep.Code, &dep.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return grids.DepartmentRef{}, false, nil
	}
	if err != nil {
		return grids.DepartmentRef{}, false, fmt.Errorf("component department: %w", err)
	}
	return dep, true, nil
}

// Departments implements grids.RoutingAdmin.
func (s *Store) Departments(ctx context.Context) ([]grids.Department, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, name, contact, territory_code FROM departments WHERE valid_to IS NULL ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return scanDepartments(rows)
}

// PutDepartment implements grids.RoutingAdmin: a new code is created; a
// changed department's current row is retired and a new one inserted.
func (s *Store) PutDepartment(ctx context.Context, d grids.Department, actor, reason string) (bool, error) {
	if err := grids.CheckDepartment(d); err != nil {
		return false, err
	}
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT code, name, contact, territory_code FROM departments WHERE code = $1 AND valid_to IS NULL FOR UPDATE`, d.Code)
		if err != nil {
			return err
		}
		old, err := scanDepartments(rows)
		if err != nil {
			return err
		}
		var terr *string
		if d.TerritoryCode != "" {
			t := string(d.TerritoryCode)
			terr = &t
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM divisions WHERE code = $1 AND valid_to IS NULL)`, t).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return grids.Invalid("territory_code", "no current district, street or community has code %s", t)
			}
		}
		action := "create"
		var before any
		if len(old) == 1 {
			if old[0] == d {
				return nil
			}
			action, before = "update", old[0]
			if _, err := tx.Exec(ctx, `UPDATE departments SET valid_to = now() WHERE code = $1 AND valid_to IS NULL`, d.Code); err != nil {
				return err
			}
		} else {
			created = true
		}
		if _, err := tx.Exec(ctx, `INSERT INTO departments (code, name, contact, territory_code) VALUES ($1, $2, $3, $4)`,
			d.Code, d.Name, d.Contact, terr); err != nil {
			return translate(err)
		}
		return recordHistory(ctx, tx, actor, action, "department", d.Code, reason, before, d)
	})
	return created, err
}

// RetireDepartment implements grids.RoutingAdmin. A department that current
// rules still send reports to cannot be retired.
func (s *Store) RetireDepartment(ctx context.Context, code, actor, reason string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT code, name, contact, territory_code FROM departments WHERE code = $1 AND valid_to IS NULL FOR UPDATE`, code)
		if err != nil {
			return err
		}
		old, err := scanDepartments(rows)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return fmt.Errorf("department %s: %w", code, grids.ErrNotFound)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM routing_rules WHERE department_code = $1 AND valid_to IS NULL`, code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: department %s is the target of %d current routing rule(s); retire or change them first", grids.ErrConflict, code, n)
		}
		if _, err := tx.Exec(ctx, `UPDATE departments SET valid_to = now() WHERE code = $1 AND valid_to IS NULL`, code); err != nil {
			return err
		}
		return recordHistory(ctx, tx, actor, "retire", "department", code, reason, old[0], nil)
	})
}

// Rules implements grids.RoutingAdmin.
func (s *Store) Rules(ctx context.Context) ([]grids.Rule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+`
		FROM routing_rules r LEFT JOIN departments d ON d.code = r.department_code AND d.valid_to IS NULL
		WHERE r.valid_to IS NULL ORDER BY r.scheme, r.kind, r.class, r.id`)
	if err != nil {
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	return scanRules(rows)
}

// scopeTables says where each scope level's codes must exist.
var scopeTables = map[string]string{
	grids.ScopeGrid: "unit_grids", grids.ScopeMgmt: "mgmt_grids", grids.ScopeCommunity: "communities",
	grids.ScopeStreet: "streets", grids.ScopeDistrict: "districts",
}

// AddRule implements grids.RoutingAdmin.
func (s *Store) AddRule(ctx context.Context, r grids.Rule, actor, reason string) (grids.Rule, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT name FROM departments WHERE code = $1 AND valid_to IS NULL`, r.Department.Code).
			Scan(&r.Department.Name); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return grids.Invalid("department", "no current department has code %q", r.Department.Code)
			}
			return err
		}
		if tab, ok := scopeTables[r.Scope.Level]; ok {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+tab+` WHERE code = $1 AND valid_to IS NULL)`, r.Scope.Code).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return grids.Invalid("scope", "no current %s has code %s", r.Scope.Level, r.Scope.Code)
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO routing_rules (scheme, kind, class, scope_level, scope_code, department_code, priority, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			r.Class.Scheme, r.Class.Kind, r.Class.Code, r.Scope.Level, r.Scope.Code, r.Department.Code, r.Priority, r.Note).Scan(&r.ID)
		if err != nil {
			return translate(err)
		}
		return recordHistory(ctx, tx, actor, "create", "routing_rule", fmt.Sprint(r.ID), reason, nil, r)
	})
	return r, err
}

// RetireRule implements grids.RoutingAdmin.
func (s *Store) RetireRule(ctx context.Context, id int64, actor, reason string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+ruleColumns+`
			FROM routing_rules r LEFT JOIN departments d ON d.code = r.department_code AND d.valid_to IS NULL
			WHERE r.id = $1 AND r.valid_to IS NULL FOR UPDATE OF r`, id)
		if err != nil {
			return err
		}
		old, err := scanRules(rows)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return fmt.Errorf("routing rule %d: %w", id, grids.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `UPDATE routing_rules SET valid_to = now() WHERE id = $1`, id); err != nil {
			return err
		}
		return recordHistory(ctx, tx, actor, "retire", "routing_rule", fmt.Sprint(id), reason, old[0], nil)
	})
}
