package postgis_test

import (
	"context"
	"testing"

	"gridd/grids"
)

// UpdateGrid's attributes: nil keeps a field, a pointer to "" clears it
// (NULL, as a client sending null for a cleared field means), any other
// value sets it; the geometry is kept.
func TestUpdateGridClearsAttributes(t *testing.T) {
	ctx := context.Background()
	st, _ := newEditStore(t)
	pool := st.Pool()
	read := func() (v int, landUse, mgmt, resp, note *string, geom string) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT version, land_use, mgmt_level, responsible, note, ST_AsText(geom)
			FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, code("005")).Scan(&v, &landUse, &mgmt, &resp, &note, &geom); err != nil {
			t.Fatal(err)
		}
		return
	}
	v0, _, _, _, _, g0 := read()
	if _, err := st.UpdateGrid(ctx, "t", ref(code("005"), v0), grids.GridAttributes{
		LandUse: ptr("居住"), MgmtLevel: ptr("A"), Responsible: ptr("城管科"), Note: ptr("n")}, nil, "set"); err != nil {
		t.Fatal(err)
	}
	v1, lu, ml, rs, nt, g1 := read()
	if v1 != v0+1 || deref(lu) != "居住" || deref(ml) != "A" || deref(rs) != "城管科" || deref(nt) != "n" || g1 != g0 {
		t.Fatalf("after setting: v%d %s %s %s %s", v1, deref(lu), deref(ml), deref(rs), deref(nt))
	}
	if _, err := st.UpdateGrid(ctx, "t", ref(code("005"), v1), grids.GridAttributes{
		Responsible: ptr(""), Note: ptr("")}, nil, "clear"); err != nil {
		t.Fatal(err)
	}
	v2, lu, ml, rs, nt, g2 := read()
	if v2 != v1+1 || deref(lu) != "居住" || deref(ml) != "A" || rs != nil || nt != nil || g2 != g0 {
		t.Errorf("after clearing responsible and note: v%d %s %s %s %s", v2, deref(lu), deref(ml), deref(rs), deref(nt))
	}
}
