package postgis_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// ReplaceSocialGrids keeps the social grids whose members did not change,
// retires the others, codes new ones with numbers never used in the
// community, records it all in the history, refuses groups that do not
// cover the community, and leaves hand-drawn management grids alone.
func TestReplaceSocialGrids(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	const comm = "110101001007"
	for _, q := range []string{
		`INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区', ST_Multi(ST_MakeEnvelope(116.39, 39.89, 116.41, 39.91, 4326)))`,
		`INSERT INTO streets (code, name, parent_code, geom) VALUES ('110101001', '东华门街道', '110101', ST_Multi(ST_MakeEnvelope(116.395, 39.895, 116.405, 39.905, 4326)))`,
		`INSERT INTO communities (code, name, parent_code, geom) VALUES ('` + comm + `', '南池子社区', '110101001', ST_Multi(ST_MakeEnvelope(116.400, 39.900, 116.402, 39.902, 4326)))`,
		`INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(gridd_edit_metric(g))
			FROM (VALUES ('` + comm + `001', ST_MakeEnvelope(116.400, 39.900, 116.401, 39.901, 4326)),
			             ('` + comm + `002', ST_MakeEnvelope(116.401, 39.900, 116.402, 39.901, 4326)),
			             ('` + comm + `003', ST_MakeEnvelope(116.400, 39.901, 116.401, 39.902, 4326)),
			             ('` + comm + `004', ST_MakeEnvelope(116.401, 39.901, 116.402, 39.902, 4326))) v (code, g)`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	if _, err := st.CreateMgmtGrid(ctx, "patrol-1", "巡查一组", []geo.Code{comm + "001", comm + "002"}, "tester", "hand-drawn"); err != nil {
		t.Fatal(err)
	}
	g := func(n ...string) []geo.Code {
		var out []geo.Code
		for _, s := range n {
			out = append(out, geo.Code(comm+s))
		}
		return out
	}
	current := func() map[string]string {
		rows, err := pool.Query(ctx, `SELECT g.code || ' ' || g.kind, string_agg(m.grid_code, ',' ORDER BY m.grid_code)
			FROM mgmt_grids g JOIN mgmt_grid_members m ON m.mgmt_grid_id = g.id
			WHERE g.valid_to IS NULL GROUP BY g.code, g.kind`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var k, v string
			rows.Scan(&k, &v) //nolint:errcheck
			out[k] = strings.ReplaceAll(v, comm, "")
		}
		return out
	}
	same := func(got, want []string) bool { return slices.Equal(got, want) || len(got) == 0 && len(want) == 0 }

	w, err := st.ReplaceSocialGrids(ctx, comm, [][]geo.Code{g("001", "003"), g("002", "004")}, grids.SocialTarget{Households: 300}, "tester", "first build")
	if err != nil {
		t.Fatal(err)
	}
	if !same(w.Created, []string{comm + "-S01", comm + "-S02"}) || len(w.Kept)+len(w.Retired) != 0 {
		t.Fatalf("first build: %+v", w)
	}
	want := map[string]string{"patrol-1 responsibility": "001,002", comm + "-S01 social": "001,003", comm + "-S02 social": "002,004"}
	if got := current(); !maps(got, want) {
		t.Fatalf("after the first build: %v, want %v", got, want)
	}
	var name string
	pool.QueryRow(ctx, `SELECT name FROM mgmt_grids WHERE code = $1 AND valid_to IS NULL`, comm+"-S02").Scan(&name) //nolint:errcheck
	if name != "南池子社区第2网格" {
		t.Errorf("name %q", name)
	}

	// The same groups again: nothing changes, not even the history.
	var before, after int
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'mgmt_grid'`).Scan(&before) //nolint:errcheck
	w, err = st.ReplaceSocialGrids(ctx, comm, [][]geo.Code{g("002", "004"), g("003", "001")}, grids.SocialTarget{Households: 300}, "tester", "same again")
	if err != nil || len(w.Created)+len(w.Retired) != 0 || len(w.Kept) != 2 {
		t.Fatalf("the same groups again: %+v %v", w, err)
	}
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'mgmt_grid'`).Scan(&after) //nolint:errcheck
	if after != before {
		t.Errorf("an unchanged rebuild wrote %d history rows", after-before)
	}

	// One group split: S01 kept, S02 retired, its parts S03 and S04 (S02
	// is not used again).
	w, err = st.ReplaceSocialGrids(ctx, comm, [][]geo.Code{g("001", "003"), g("002"), g("004")}, grids.SocialTarget{Households: 200, Residents: 600}, "tester", "split")
	if err != nil {
		t.Fatal(err)
	}
	// The target is kept per community, and its change is in the history.
	var th, tr, targetHist int
	pool.QueryRow(ctx, `SELECT households, residents FROM social_targets WHERE community_code = $1`, comm).Scan(&th, &tr)   //nolint:errcheck
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'social_target' AND code = $1`, comm).Scan(&targetHist) //nolint:errcheck
	if th != 200 || tr != 600 || targetHist != 2 {
		t.Errorf("target %d households, %d residents, %d history rows; want 200, 600 and 2 (set, then changed)", th, tr, targetHist)
	}
	if !same(w.Kept, []string{comm + "-S01"}) || !same(w.Retired, []string{comm + "-S02"}) || !same(w.Created, []string{comm + "-S03", comm + "-S04"}) {
		t.Fatalf("split: %+v", w)
	}
	want = map[string]string{"patrol-1 responsibility": "001,002", comm + "-S01 social": "001,003", comm + "-S03 social": "002", comm + "-S04 social": "004"}
	if got := current(); !maps(got, want) {
		t.Fatalf("after the split: %v, want %v", got, want)
	}

	// Groups that leave a grid out, or reach outside the community, are
	// refused and nothing changes.
	for _, bad := range [][][]geo.Code{
		{g("001", "003"), g("002")},
		{g("001", "003"), g("002", "004"), {"110101001008001"}},
		{g("001", "003"), g("002", "003"), g("004")},
	} {
		if _, err := st.ReplaceSocialGrids(ctx, comm, bad, grids.SocialTarget{Households: 300}, "tester", "bad"); err == nil {
			t.Errorf("groups %v accepted", bad)
		}
	}
	if got := current(); !maps(got, want) {
		t.Fatalf("after refused builds: %v, want %v", got, want)
	}
	var hist int
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'mgmt_grid' AND code LIKE $1`, comm+"-S%").Scan(&hist) //nolint:errcheck
	if hist != 5 {                                                                                                         // 2 created, then 1 retired and 2 created
		t.Errorf("%d history rows of social grids, want 5", hist)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
