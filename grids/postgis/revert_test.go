package postgis_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
)

// lastChange is the id of the newest history entry of a record.
func lastChange(t *testing.T, st *postgis.Store, entity, code string) grids.HistoryEntry {
	t.Helper()
	hs, err := st.History(context.Background(), entity, code)
	if err != nil {
		t.Fatal(err)
	}
	return hs[len(hs)-1]
}

// revert reverts a change and checks the entry that records it.
func revert(t *testing.T, st *postgis.Store, h grids.HistoryEntry) grids.HistoryEntry {
	t.Helper()
	out, err := st.RevertChange(context.Background(), h.ID, "tester", "wrong entry")
	if err != nil {
		t.Fatalf("revert change %d (%s %s %s): %v", h.ID, h.Action, h.Entity, h.Code, err)
	}
	if out.ID <= h.ID || out.Actor != "tester" || !strings.Contains(out.Reason, "revert of change") || !strings.Contains(out.Reason, "wrong entry") {
		t.Errorf("the revert of change %d is recorded as %+v", h.ID, out)
	}
	return out
}

func refused(t *testing.T, st *postgis.Store, h grids.HistoryEntry, want string) {
	t.Helper()
	before := revertFingerprint(t, st)
	_, err := st.RevertChange(context.Background(), h.ID, "tester", "")
	if !errors.Is(err, grids.ErrConflict) || !strings.Contains(err.Error(), want) {
		t.Errorf("revert of change %d (%s %s): %v, want a conflict saying %q", h.ID, h.Action, h.Entity, err, want)
	}
	if after := revertFingerprint(t, st); after != before {
		t.Errorf("a refused revert of change %d changed the database", h.ID)
	}
}

// Changes to departments and routing rules are reverted one by one, each
// revert recorded in the history; a change whose record has moved on since
// is refused, and nothing changes.
func TestRevertDepartmentsAndRules(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	const code = "11110101MB1234567X"
	d := grids.Department{Code: code, Name: "东华门街道办事处", Contact: "010-1", TerritoryCode: "110101001"}
	if _, err := st.PutDepartment(ctx, d, "admin", "new office"); err != nil {
		t.Fatal(err)
	}
	created := lastChange(t, st, grids.EntityDepartment, code)
	renamed := d
	renamed.Name, renamed.Contact = "东华门街道", "010-2"
	if _, err := st.PutDepartment(ctx, renamed, "admin", "rename"); err != nil {
		t.Fatal(err)
	}
	updated := lastChange(t, st, grids.EntityDepartment, code)
	current := func() grids.Department {
		for _, x := range must(st.Departments(ctx)) {
			if x.Code == code {
				return x
			}
		}
		return grids.Department{}
	}

	refused(t, st, created, "has changed")
	revert(t, st, updated)
	if got := current(); got != d {
		t.Errorf("after reverting the rename: %+v, want %+v", got, d)
	}
	refused(t, st, updated, "has changed")

	// A rule's creation and retirement.
	r, err := st.AddRule(ctx, grids.Rule{Class: grids.Class{Scheme: "gb2026", Kind: "matter", Code: "06"},
		Scope: grids.Scope{Level: grids.ScopeStreet, Code: "110101001"}, Department: grids.DepartmentRef{Code: code}, Priority: 3}, "admin", "new rule")
	if err != nil {
		t.Fatal(err)
	}
	ruleCreated := lastChange(t, st, grids.EntityRoutingRule, itoa(r.ID))
	if err := st.RetireRule(ctx, r.ID, "admin", "oops"); err != nil {
		t.Fatal(err)
	}
	ruleRetired := lastChange(t, st, grids.EntityRoutingRule, itoa(r.ID))
	refused(t, st, ruleCreated, "was retired")
	back := revert(t, st, ruleRetired)
	rules := must(st.Rules(ctx))
	if len(rules) != 1 || rules[0].ID == r.ID || itoa(rules[0].ID) != back.Code ||
		rules[0].Class != r.Class || rules[0].Scope != r.Scope || rules[0].Department.Code != code || rules[0].Priority != 3 {
		t.Fatalf("after reverting the retirement: %+v (recorded as %s)", rules, back.Code)
	}
	// Reverting the re-added rule's creation retires it again.
	revert(t, st, back)
	if rules := must(st.Rules(ctx)); len(rules) != 0 {
		t.Fatalf("rules after reverting the re-creation: %+v", rules)
	}

	// A department's retirement and creation.
	if err := st.RetireDepartment(ctx, code, "admin", "closed"); err != nil {
		t.Fatal(err)
	}
	retired := lastChange(t, st, grids.EntityDepartment, code)
	revert(t, st, retired)
	if got := current(); got != d {
		t.Errorf("after reverting the retirement: %+v, want %+v", got, d)
	}
	refused(t, st, retired, "was created again")
	revert(t, st, lastChange(t, st, grids.EntityDepartment, code)) // the re-creation
	if got := current(); got.Code != "" {
		t.Errorf("after reverting the re-creation: %+v, want no department", got)
	}

	// Grid changes and unknown ids.
	var gridChange int64
	if err := st.Pool().QueryRow(ctx, `INSERT INTO history (actor, action, entity, code) VALUES ('x', 'update', 'unit_grid', '110101001001001') RETURNING id`).Scan(&gridChange); err != nil {
		t.Fatal(err)
	}
	refused(t, st, grids.HistoryEntry{ID: gridChange, Entity: "unit_grid"}, "only changes to components, departments and routing rules")
	if _, err := st.RevertChange(ctx, 1<<40, "tester", ""); !errors.Is(err, grids.ErrNotFound) {
		t.Errorf("revert of an unknown change: %v", err)
	}
}

// A component's update, retirement and creation are reverted in turn; the
// component is placed in today's grids and the cluster cells follow.
func TestRevertComponents(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	rep, err := importComponents(t, st, fc(pointFeature(116.402, 39.905, "class_code", "01001", "name", "井盖")), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	code := rep.Codes[0]
	created := lastChange(t, st, grids.EntityComponent, code)
	if _, err := importComponents(t, st, fc(pointFeature(116.4021, 39.9051, "code", code, "name", "雨水井盖", "status", "damaged")), grids.AllOrNothing); err != nil {
		t.Fatal(err)
	}
	updated := lastChange(t, st, grids.EntityComponent, code)
	if updated.Action != "update" {
		t.Fatalf("the second import is recorded as %+v", updated)
	}
	refused(t, st, created, "has changed")

	revert(t, st, updated)
	c := must(st.Component(ctx, code))
	if c.Name != "井盖" || c.Status != "intact" || c.Geom != (orb.Point{116.402, 39.905}) {
		t.Errorf("after reverting the update: %+v", c)
	}
	refused(t, st, updated, "has changed")

	if err := st.RetireComponent(ctx, code, 0, "editor", "removed by mistake"); err != nil {
		t.Fatal(err)
	}
	retired := lastChange(t, st, grids.EntityComponent, code)
	cellsBefore := cellTotal(t, st)
	revert(t, st, retired)
	c, err = st.Component(ctx, code)
	if err != nil || c.Name != "井盖" || c.GridCode != "110101001001001" {
		t.Fatalf("after reverting the deletion: %+v %v", c, err)
	}
	if got := cellTotal(t, st); got != cellsBefore+1 {
		t.Errorf("the cluster cells count %d components at their finest zoom after the undelete, want %d", got, cellsBefore+1)
	}
	refused(t, st, retired, "is current again")

	// Its state is the created one again, so the creation can be reverted.
	revert(t, st, created)
	if _, err := st.Component(ctx, code); !errors.Is(err, grids.ErrNotFound) {
		t.Errorf("after reverting the creation: %v, want not found", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'component' AND code = $1`, code).Scan(&n); err != nil || n != 6 {
		t.Errorf("%d history rows for the component, want 6 (create, update, revert, retire, revert, retire): %v", n, err)
	}
}

// revertFingerprint digests every table a revert may write.
func revertFingerprint(t *testing.T, st *postgis.Store) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"history", "departments", "routing_rules", "components", "component_cells"} {
		var s string
		if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM `+table+` t`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, table+"="+s)
	}
	return strings.Join(parts, " ")
}

func cellTotal(t *testing.T, st *postgis.Store) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(n), 0) FROM component_cells WHERE z = 15`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
