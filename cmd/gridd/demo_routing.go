package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// demoRouting loads the demo's departments (departments.csv) when the
// database has none, and its routing rules (routing_rules.csv) when it has
// none, so that a routed report in the demo district finds a department: a
// rule for the component or matter classes a district body handles, else the
// street office of the point (the territorial fallback).
func demoRouting(ctx context.Context, e *env, db, dir string) error {
	st, err := openStore(ctx, e, db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	deps, err := st.Departments(ctx)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "departments.csv")
	if len(deps) > 0 {
		fmt.Fprintf(e.stdout, "demo: %d departments already loaded\n", len(deps))
	} else if n, err := loadDemoDepartments(ctx, st, path); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(e.stdout, "demo: loaded %s: %d departments\n", path, n)
	}
	rules, err := st.Rules(ctx)
	if err != nil {
		return err
	}
	path = filepath.Join(dir, "routing_rules.csv")
	if len(rules) > 0 {
		fmt.Fprintf(e.stdout, "demo: %d routing rules already loaded\n", len(rules))
	} else if n, err := loadDemoRules(ctx, st, path); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(e.stdout, "demo: loaded %s: %d routing rules\n", path, n)
	}
	return nil
}

// loadDemoDepartments stores the departments of the file (columns code,
// name, contact, territory_code); a missing file loads none.
func loadDemoDepartments(ctx context.Context, st *postgis.Store, path string) (int, error) {
	rows, err := readDemoCSV(path, "code", "name", "contact", "territory_code")
	if err != nil || rows == nil {
		return 0, err
	}
	for _, r := range rows {
		d := grids.Department{Code: r.get("code"), Name: r.get("name"), Contact: r.get("contact"), TerritoryCode: geo.Code(r.get("territory_code"))}
		if _, err := st.PutDepartment(ctx, d, "demo", "demo data"); err != nil {
			return 0, fmt.Errorf("%s line %d: department %s: %w", path, r.line, d.Code, err)
		}
	}
	return len(rows), nil
}

// loadDemoRules stores the routing rules of the file (columns kind, class,
// scope, department_code, priority, note); a missing file loads none.
func loadDemoRules(ctx context.Context, st *postgis.Store, path string) (int, error) {
	rows, err := readDemoCSV(path, "kind", "class", "scope", "department_code", "priority", "note")
	if err != nil || rows == nil {
		return 0, err
	}
	for _, r := range rows {
		prio := 0
		if p := r.get("priority"); p != "" {
			if prio, err = strconv.Atoi(p); err != nil {
				return 0, fmt.Errorf("%s line %d: priority %q is not a whole number", path, r.line, p)
			}
		}
		rule, err := api.ParseRule(r.get("class"), r.get("kind"), "", r.get("scope"), r.get("department_code"), prio, r.get("note"))
		if err != nil {
			return 0, fmt.Errorf("%s line %d: %w", path, r.line, err)
		}
		if _, err := st.AddRule(ctx, rule, "demo", "demo data"); err != nil {
			return 0, fmt.Errorf("%s line %d: rule for %s in %s: %w", path, r.line, rule.Class, rule.Scope, err)
		}
	}
	return len(rows), nil
}

// csvRow is one data row of a demo CSV file, by column name.
type csvRow struct {
	line   int
	fields map[string]string
}

func (r csvRow) get(col string) string { return r.fields[col] }

// readDemoCSV reads a CSV file whose header holds exactly the columns cols,
// in any order. It returns nil and no error when the file does not exist.
func readDemoCSV(path string, cols ...string) ([]csvRow, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = len(cols)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w (want columns %v)", path, err, cols)
	}
	at := map[string]int{}
	for i, h := range head {
		at[h] = i
	}
	for _, c := range cols {
		if _, ok := at[c]; !ok {
			return nil, fmt.Errorf("%s: header %v has no column %q (want columns %v)", path, head, c, cols)
		}
	}
	var out []csvRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		r := csvRow{line: line, fields: map[string]string{}}
		for _, c := range cols {
			r.fields[c] = rec[at[c]]
		}
		out = append(out, r)
	}
	return out, nil
}
