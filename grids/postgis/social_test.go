package postgis_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// socialWorld tiles 多福巷社区 (116.40-116.41, 39.90-39.91) with 4×2 grids,
// 001-004 along the south row and 005-008 along the north one, and 银闸社区
// north of it with 2 grids, then places buildings in the grids' centres.
func socialWorld(t *testing.T) *postgis.Store {
	t.Helper()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	ctx := context.Background()
	if _, err := importBytes(ctx, st, collection(baseFeatures()...)); err != nil {
		t.Fatal(err)
	}
	gs := map[string][4]float64{
		"110101001002001": {116.400, 39.91, 116.405, 39.92},
		"110101001002002": {116.405, 39.91, 116.410, 39.92},
	}
	for i := 0; i < 8; i++ {
		x, y := 116.400+0.0025*float64(i%4), 39.900+0.005*float64(i/4)
		gs["110101001001"+[]string{"001", "002", "003", "004", "005", "006", "007", "008"}[i]] = [4]float64{x, y, x + 0.0025, y + 0.005}
	}
	insertGrids(t, pool, gs)
	// Households and residents per building; 003 has none, and 004 also
	// has a building pulled down yesterday.
	for _, b := range []struct {
		grid       string
		households int
		residents  int
		retired    bool
	}{
		{"110101001001001", 120, 300, false}, {"110101001001001", 80, 190, false},
		{"110101001001002", 100, 260, false}, {"110101001001004", 300, 700, false},
		{"110101001001004", 999, 2000, true}, {"110101001001005", 150, 330, false},
		{"110101001001006", 150, 340, false}, {"110101001001007", 50, 120, false},
		{"110101001001008", 250, 610, false}, {"110101001002002", 40, 90, false},
	} {
		_, err := pool.Exec(ctx, `INSERT INTO buildings (households, residents, grid_code, community_code, street_code, district_code, geom, valid_from, valid_to)
			SELECT $2, $3, u.code, u.community_code, u.street_code, u.district_code, ST_PointOnSurface(u.geom),
			       now() - interval '1 day', CASE WHEN $4 THEN now() END
			FROM unit_grids u WHERE u.code = $1 AND u.valid_to IS NULL`, b.grid, b.households, b.residents, b.retired)
		if err != nil {
			t.Fatal(err)
		}
	}
	// A road along the boundary between columns 2 and 3, and one crossing
	// the community west-east, which runs along no shared boundary.
	if _, err := pool.Exec(ctx, `INSERT INTO lines (layer, class, name, geom) VALUES
		('roads', 'road', '东四南大街', ST_GeomFromText('LINESTRING(116.405 39.899, 116.40501 39.911)', 4326)),
		('roads', 'road', '灯市口大街', ST_GeomFromText('LINESTRING(116.399 39.9025, 116.411 39.9025)', 4326))`); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSocialInputsAdjacencyAndTotals(t *testing.T) {
	st := socialWorld(t)
	ctx := context.Background()
	coms, err := st.SocialInputs(ctx, "110101001")
	if err != nil {
		t.Fatal(err)
	}
	if len(coms) != 2 || coms[0].Code != "110101001001" || coms[1].Code != "110101001002" {
		t.Fatalf("communities %+v", coms)
	}
	duofu := coms[0]
	wantHH := map[string][2]int{
		"110101001001001": {200, 490}, "110101001001002": {100, 260}, "110101001001003": {0, 0},
		"110101001001004": {300, 700}, "110101001001005": {150, 330}, "110101001001006": {150, 340},
		"110101001001007": {50, 120}, "110101001001008": {250, 610},
	}
	if len(duofu.Units) != 8 {
		t.Fatalf("units %+v", duofu.Units)
	}
	for _, u := range duofu.Units {
		if w := wantHH[u.Code]; w != [2]int{u.Households, u.Residents} {
			t.Errorf("%s: %d households, %d residents, want %v", u.Code, u.Households, u.Residents, w)
		}
	}
	// Neighbours: along each row (west-east, sharing a north-south side of
	// 0.005° ≈ 555 m) and across the rows (sharing 0.0025° of longitude at
	// 39.905° ≈ 213 m); corners and the other community are not.
	ns := 0.005 * math.Pi / 180 * 6_364_000 // metres of latitude near 39.9°, roughly
	ew := 0.0025 * math.Pi / 180 * 6_378_137 * math.Cos(39.905*math.Pi/180)
	want := map[[2]string]float64{
		{"110101001001001", "110101001001002"}: ns, {"110101001001002", "110101001001003"}: ns, {"110101001001003", "110101001001004"}: ns,
		{"110101001001005", "110101001001006"}: ns, {"110101001001006", "110101001001007"}: ns, {"110101001001007", "110101001001008"}: ns,
		{"110101001001001", "110101001001005"}: ew, {"110101001001002", "110101001001006"}: ew,
		{"110101001001003", "110101001001007"}: ew, {"110101001001004", "110101001001008"}: ew,
	}
	if len(duofu.Edges) != len(want) {
		t.Errorf("%d edges, want %d: %+v", len(duofu.Edges), len(want), duofu.Edges)
	}
	for _, e := range duofu.Edges {
		l, ok := want[[2]string{e.A, e.B}]
		if !ok {
			t.Errorf("unexpected edge %+v", e)
			continue
		}
		if math.Abs(e.LengthM-l) > 0.01*l {
			t.Errorf("edge %s-%s: %.1f m, want about %.1f m", e.A, e.B, e.LengthM, l)
		}
		road := e.A[12:] == "002" && e.B[12:] == "003" || e.A[12:] == "006" && e.B[12:] == "007"
		if e.Road != road {
			t.Errorf("edge %s-%s along a road: %v, want %v", e.A, e.B, e.Road, road)
		}
	}
	yinzha := coms[1]
	if len(yinzha.Units) != 2 || yinzha.Units[1].Households != 40 || len(yinzha.Edges) != 1 {
		t.Errorf("银闸社区 %+v", yinzha)
	}

	// Partition 多福巷社区: 1,200 households, 4 social grids of 300.
	p, err := grids.PartitionSocial(duofu, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 4 {
		t.Fatalf("groups %+v", p.Groups)
	}
	in := map[string]int{}
	total := 0
	for _, g := range p.Groups {
		total += g.Households
		for _, c := range g.Grids {
			if _, dup := in[c]; dup {
				t.Errorf("%s in two groups", c)
			}
			in[c] = g.Number
		}
	}
	if len(in) != 8 || total != 1200 {
		t.Errorf("%d grids, %d households in groups", len(in), total)
	}
	// Each group connected through the edges read from PostGIS.
	for _, g := range p.Groups {
		reached := map[string]bool{g.Grids[0]: true}
		for grew := true; grew; {
			grew = false
			for _, e := range duofu.Edges {
				if in[e.A] == g.Number && in[e.B] == g.Number && reached[e.A] != reached[e.B] {
					reached[e.A], reached[e.B] = true, true
					grew = true
				}
			}
		}
		if len(reached) != len(g.Grids) {
			t.Errorf("group %d not connected: %v", g.Number, g.Grids)
		}
	}
	if p.Quality.Within != 4 || len(p.Quality.Reasons) != 0 {
		t.Errorf("quality %+v, groups %+v", p.Quality, p.Groups)
	}
	t.Logf("多福巷社区: %+v", p.Groups)

	// 银闸社区 has 40 households: one social grid, and says why.
	p, err = grids.PartitionSocial(yinzha, grids.SocialTarget{Households: 300})
	if err != nil || len(p.Groups) != 1 || len(p.Quality.Reasons) == 0 {
		t.Errorf("银闸社区: %+v %v", p, err)
	}

	// One community alone; a bad area.
	coms, err = st.SocialInputs(ctx, "110101001002")
	if err != nil || len(coms) != 1 || len(coms[0].Units) != 2 {
		t.Errorf("one community: %+v %v", coms, err)
	}
	var inv *grids.InvalidError
	if _, err := st.SocialInputs(ctx, "110101001001001"); !errors.As(err, &inv) {
		t.Errorf("a unit-grid code as area: %v", err)
	}
}
