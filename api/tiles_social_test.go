package api_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/tiles"
)

// gridCenter is the centre of unit grid NNN (1-16, west to east, north to
// south) of a tile-test community, whose block starts at x0 (insertGrids).
func gridCenter(x0 float64, n int) orb.Point {
	r, k := (n-1)/4, (n-1)%4
	return orb.Point{x0 + float64(k)*0.005 + 0.0025, 39.92 - float64(r)*0.005 - 0.0025}
}

// addSocialGrids gives the tile-test map buildings, social grids and a
// responsibility grid:
//   - buildings in most unit grids (none in every fifth), households and
//     residents varying from grid to grid, one a footprint;
//   - 110101001007: four social grids, its columns (S01 the western one:
//     grids 001, 005, 009, 013), target 100 households;
//   - 110101001008: four social grids of 2 x 2 grids, target 120 households
//     and 250 residents;
//   - the responsibility grid DHM-01 over grids 001 and 002 of 007.
func (e *tileEnv) addSocialGrids(t *testing.T) {
	t.Helper()
	var feats []grids.BuildingFeature
	for ci, x0 := range []float64{116.40, 116.42} {
		for n := 1; n <= 16; n++ {
			if n%5 == 0 {
				continue
			}
			c := gridCenter(x0, n)
			for j := 0; j < 1+(n+ci)%3; j++ {
				h := 10 + (n*7+j*13+ci*5)%40
				p := orb.Point{c[0] - 0.0015 + 0.001*float64(j), c[1] + 0.001}
				var g orb.Geometry = p
				if n == 6 && j == 0 {
					g = orb.Polygon{{{p[0] - 0.0003, p[1] - 0.0002}, {p[0] + 0.0003, p[1] - 0.0002},
						{p[0] + 0.0003, p[1] + 0.0002}, {p[0] - 0.0003, p[1] + 0.0002}, {p[0] - 0.0003, p[1] - 0.0002}}}
				}
				feats = append(feats, grids.BuildingFeature{Index: len(feats), Name: fmt.Sprintf("%d号楼", len(feats)+1),
					Households: h, Residents: 2*h + n%5, Geom: g})
			}
		}
	}
	if _, err := e.st.ImportBuildings(e.ctx, feats, "test", "social grid tiles"); err != nil {
		t.Fatal(err)
	}
	code := func(comm string, n int) geo.Code { return geo.Code(fmt.Sprintf("%s%03d", comm, n)) }
	var cols, blocks [][]geo.Code
	for k := 1; k <= 4; k++ {
		cols = append(cols, []geo.Code{code("110101001007", k), code("110101001007", k+4), code("110101001007", k+8), code("110101001007", k+12)})
	}
	for _, tl := range []int{1, 3, 9, 11} {
		blocks = append(blocks, []geo.Code{code("110101001008", tl), code("110101001008", tl+1), code("110101001008", tl+4), code("110101001008", tl+5)})
	}
	if _, err := e.st.ReplaceSocialGrids(e.ctx, "110101001007", cols, grids.SocialTarget{Households: 100}, "test", "tiles"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ReplaceSocialGrids(e.ctx, "110101001008", blocks, grids.SocialTarget{Households: 120, Residents: 250}, "test", "tiles"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Pool().Exec(e.ctx, `
		WITH m AS (INSERT INTO mgmt_grids (code, name, street_code, geom)
			SELECT 'DHM-01', '东华门一网格', '110101001', ST_Multi(ST_Union(geom)) FROM unit_grids
			WHERE code IN ('110101001007001', '110101001007002') AND valid_to IS NULL RETURNING id)
		INSERT INTO mgmt_grid_members SELECT m.id, c FROM m, unnest(ARRAY['110101001007001', '110101001007002']) c`); err != nil {
		t.Fatal(err)
	}
}

// socialOracle is a social grid as SQL sums it: over the grid's members and
// every current building whose grid is one of them.
type socialOracle struct {
	code, name, community                       string
	households, residents, buildings, unitGrids int
	targetHouseholds, targetResidents           int
}

func (e *tileEnv) socialOracle(t *testing.T) map[string]socialOracle {
	t.Helper()
	rows, err := e.st.Pool().Query(e.ctx, `
		SELECT g.code, g.name, g.community_code,
		       coalesce(sum(b.households), 0)::int, coalesce(sum(b.residents), 0)::int, count(b.id)::int,
		       count(DISTINCT mm.grid_code)::int,
		       coalesce(max(t.households), 0), coalesce(max(t.residents), 0)
		FROM mgmt_grids g
		JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = g.id
		LEFT JOIN buildings b ON b.grid_code = mm.grid_code AND b.valid_to IS NULL
		LEFT JOIN social_targets t ON t.community_code = g.community_code
		WHERE g.kind = 'social' AND g.valid_to IS NULL
		GROUP BY g.code, g.name, g.community_code`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]socialOracle{}
	for rows.Next() {
		var o socialOracle
		if err := rows.Scan(&o.code, &o.name, &o.community, &o.households, &o.residents, &o.buildings, &o.unitGrids,
			&o.targetHouseholds, &o.targetResidents); err != nil {
			t.Fatal(err)
		}
		out[o.code] = o
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oracleMgmtCodes asks PostGIS which current management grids of the kind
// meet the tile's buffered square.
func (e *tileEnv) oracleMgmtCodes(t *testing.T, kind string, id tiles.ID) []string {
	t.Helper()
	rows, err := e.st.Pool().Query(e.ctx, `SELECT code FROM mgmt_grids WHERE valid_to IS NULL AND kind = $5
		AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4::float8)) ORDER BY code`,
		id.Z, id.X, id.Y, float64(tiles.Buffer)/tiles.Extent, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
	}
	return codes
}

// num reads a numeric MVT property.
func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return math.NaN()
}

// checkSocialFeature compares a feature of the social_grids layer with the
// oracle; load is grids.SocialTarget.Load of the oracle's sums.
func checkSocialFeature(t *testing.T, where string, f *geojson.Feature, want map[string]socialOracle) {
	t.Helper()
	code, _ := f.Properties["code"].(string)
	o, ok := want[code]
	if !ok {
		t.Errorf("%s: social_grids feature %q is no current social grid", where, code)
		return
	}
	if f.Properties["name"] != o.name || f.Properties["community_code"] != o.community {
		t.Errorf("%s: %s name %v community %v, want %s %s", where, code, f.Properties["name"], f.Properties["community_code"], o.name, o.community)
	}
	for _, c := range []struct {
		field string
		want  int
	}{
		{"households", o.households}, {"residents", o.residents}, {"buildings", o.buildings}, {"unit_grids", o.unitGrids},
		{"target_households", o.targetHouseholds}, {"target_residents", o.targetResidents},
	} {
		if got := num(f.Properties[c.field]); got != float64(c.want) {
			t.Errorf("%s: %s %s = %v, SQL sums %d", where, code, c.field, f.Properties[c.field], c.want)
		}
	}
	load := grids.SocialTarget{Households: o.targetHouseholds, Residents: o.targetResidents}.Load(o.households, o.residents)
	if got := num(f.Properties["load"]); math.Abs(got-load) > 1e-9 {
		t.Errorf("%s: %s load %v, want %v", where, code, f.Properties["load"], load)
	}
	if _, isID := f.ID.(float64); !isID {
		t.Errorf("%s: %s id %v, want the integer row id", where, code, f.ID)
	}
}

// TestSocialGridTilesAgainstPostGIS decodes social_grids tiles at several
// zooms: every feature carries the households, residents, buildings and
// member count SQL sums for its grid, the target and the load; the layer
// holds exactly the social grids meeting the tile, with one label point per
// grid from zoom 14; mgmt_grids holds only the responsibility grids.
func TestSocialGridTilesAgainstPostGIS(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addSocialGrids(t)
	want := e.socialOracle(t)
	if len(want) != 8 {
		t.Fatalf("%d social grids, want 8", len(want))
	}
	// Not all sums alike, some grids with both targets: the test means something.
	bothTargets, loads := 0, map[float64]bool{}
	for _, o := range want {
		if o.targetResidents > 0 {
			bothTargets++
		}
		loads[grids.SocialTarget{Households: o.targetHouseholds, Residents: o.targetResidents}.Load(o.households, o.residents)] = true
	}
	if bothTargets == 0 || len(loads) < 4 {
		t.Fatalf("test data too uniform: %d grids with both targets, %d distinct loads", bothTargets, len(loads))
	}

	seen := map[string]bool{}
	labels := 0
	check := func(id tiles.ID) {
		ls, _ := e.tile(t, "mgmt_grids,social_grids", id)
		byName := map[string]*mvt.Layer{}
		for _, l := range ls {
			byName[l.Name] = l
		}
		social, mgmt := byName["social_grids"], byName["mgmt_grids"]
		if social == nil {
			t.Fatalf("tile %s has no social_grids layer", id)
		}
		if got, w := strings.Join(layerCodes(social, false), ","), strings.Join(e.oracleMgmtCodes(t, "social", id), ","); got != w {
			t.Errorf("tile %s social_grids %s, PostGIS says %s", id, got, w)
		}
		var mgmtCodes []string
		if mgmt != nil {
			mgmtCodes = layerCodes(mgmt, false)
		}
		if got, w := strings.Join(mgmtCodes, ","), strings.Join(e.oracleMgmtCodes(t, "responsibility", id), ","); got != w {
			t.Errorf("tile %s mgmt_grids %s, want the responsibility grids %s", id, got, w)
		}
		for _, c := range mgmtCodes {
			if _, isSocial := want[c]; isSocial {
				t.Errorf("tile %s draws social grid %s in mgmt_grids", id, c)
			}
		}
		wantLabels := 0
		if id.Z >= tiles.Lookup("social_grids").LabelMinZoom {
			wantLabels = len(e.oracleLabels(t, "(SELECT * FROM mgmt_grids WHERE kind = 'social') s", id))
		}
		if got := len(layerCodes(social, true)); got != wantLabels {
			t.Errorf("tile %s: %d social label points, PostGIS says %d", id, got, wantLabels)
		}
		labels += wantLabels
		for _, f := range social.Features {
			checkSocialFeature(t, "tile "+id.String(), f, want)
			seen[f.Properties["code"].(string)] = true
		}
	}
	for _, id := range []tiles.ID{tileAt(116.42, 39.91, 10), tileAt(116.42, 39.91, 12), tileAt(116.4025, 39.9175, 14),
		tileAt(116.4325, 39.9025, 14), tileAt(116.4125, 39.9075, 15), tileAt(116.4375, 39.9125, 16)} {
		check(id)
	}
	if len(seen) != len(want) || labels == 0 {
		t.Errorf("the tiles drew %d of %d social grids and %d label points", len(seen), len(want), labels)
	}

	// A community without a target: target 0, load 0; the grids stay.
	if _, err := e.st.Pool().Exec(e.ctx, `DELETE FROM social_targets WHERE community_code = '110101001008'`); err != nil {
		t.Fatal(err)
	}
	e.svc.Cache().Invalidate("*", true, orb.Bound{})
	want = e.socialOracle(t)
	id := tileAt(116.4325, 39.9025, 14)
	ls, _ := e.tile(t, "social_grids", id)
	if len(ls) != 1 || len(ls[0].Features) == 0 {
		t.Fatalf("no social grids in tile %s", id)
	}
	for _, f := range ls[0].Features {
		checkSocialFeature(t, "no target, tile "+id.String(), f, want)
		if f.Properties["community_code"] == "110101001008" && num(f.Properties["load"]) != 0 {
			t.Errorf("grid %v without a target has load %v", f.Properties["code"], f.Properties["load"])
		}
	}
}

// changeLog records the changes a store's feed delivers, by table.
type changeLog struct {
	mu     sync.Mutex
	tables []string
}

func (c *changeLog) add(ch grids.Change) {
	c.mu.Lock()
	c.tables = append(c.tables, ch.Table)
	c.mu.Unlock()
}

func (c *changeLog) count(table string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.tables {
		if x == table {
			n++
		}
	}
	return n
}

// TestSocialGridTileFreshAfterBuildingChange: a building's totals are drawn
// in every tile its social grid spans. A cached tile at the far end of the
// grid, which the building's own extent does not reach, is dropped when a
// building is imported into the grid or moved out of it, and rendered anew
// with the new households; tiles of other grids stay cached; a change that
// alters no total (a rename) drops nothing; a target change drops every
// social tile.
func TestSocialGridTileFreshAfterBuildingChange(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addSocialGrids(t)
	log := &changeLog{}
	go e.st.Listen(e.ctx, 200*time.Millisecond, func(c grids.Change) { log.add(c); e.svc.Apply(c) }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)

	// Social grid 110101001007-S01 is the western column, 116.400-116.405 x
	// 39.900-39.920: top is a z16 tile at its north end, the building goes to
	// its south end; S03's top (116.410-116.415) is where it moves to; far is
	// in the other community.
	top := tileAt(116.4025, 39.9195, 16)
	s03Top := tileAt(116.4125, 39.9195, 16)
	far := tileAt(116.4375, 39.9025, 16)
	bottom := orb.Point{116.4025, 39.9012}
	moved := orb.Point{116.4125, 39.9012}
	for _, p := range []orb.Point{bottom, moved} {
		if top.BufferedBound(tiles.Buffer, tiles.Extent).Intersects(tiles.MercatorBound(orb.Bound{Min: p, Max: p})) {
			t.Fatal("the building lies in the top tile's buffer: the test would not tell the totals' invalidation from the building's")
		}
	}
	households := func(id tiles.ID, code string) (int, string) {
		ls, r := e.tile(t, "social_grids", id)
		for _, l := range ls {
			for _, f := range l.Features {
				if f.Properties["code"] == code {
					return int(num(f.Properties["households"])), r.header.Get("X-Tile-Cache")
				}
			}
		}
		t.Fatalf("tile %s lacks social grid %s", id, code)
		return 0, ""
	}
	const s01, s03, far08 = "110101001007-S01", "110101001007-S03", "110101001008-S04"
	// waitFresh fetches the tile until it is rendered anew (a cache miss),
	// within 5 s of the commit.
	waitFresh := func(what string, id tiles.ID, code string) int {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			h, cache := households(id, code)
			if cache == "miss" {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: tile %s still cached 5 s after the commit", what, id)
			}
		}
	}
	warm := func() (int, int, int) {
		a, _ := households(top, s01)
		b, _ := households(s03Top, s03)
		c, _ := households(far, far08)
		for _, id := range []tiles.ID{top, s03Top, far} {
			if _, r := e.tile(t, "social_grids", id); r.header.Get("X-Tile-Cache") != "hit" {
				t.Fatalf("tile %s not cached", id)
			}
		}
		return a, b, c
	}
	farStays := func(what string) {
		t.Helper()
		if _, r := e.tile(t, "social_grids", far); r.header.Get("X-Tile-Cache") != "hit" {
			t.Errorf("%s dropped the tile of another community's grid", what)
		}
	}
	oracle := func(code string) int { return e.socialOracle(t)[code].households }

	// An import into S01's south end.
	h01, h03, _ := warm()
	if _, err := e.st.ImportBuildings(e.ctx, []grids.BuildingFeature{{Name: "新楼", Households: 37, Residents: 80, Geom: bottom}},
		"test", "new building"); err != nil {
		t.Fatal(err)
	}
	if got := waitFresh("import", top, s01); got != h01+37 || got != oracle(s01) {
		t.Errorf("after the import S01 shows %d households, want %d + 37 = %d (SQL: %d)", got, h01, h01+37, oracle(s01))
	}
	if _, r := e.tile(t, "social_grids", s03Top); r.header.Get("X-Tile-Cache") != "hit" {
		t.Error("the import dropped the tile of S03, whose totals did not change")
	}
	farStays("the import")

	// The building moves to S03: both grids' tiles are drawn anew.
	h01, h03, _ = warm()
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE buildings SET geom = ST_SetSRID(ST_MakePoint($1, $2), 4326),
		grid_code = gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326)),
		community_code = left(gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326)), 12),
		street_code = left(gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326)), 9),
		district_code = left(gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326)), 6)
		WHERE name = '新楼' AND valid_to IS NULL`, moved[0], moved[1]); err != nil {
		t.Fatal(err)
	}
	if got := waitFresh("move", top, s01); got != h01-37 || got != oracle(s01) {
		t.Errorf("after the move S01 shows %d households, want %d - 37 (SQL: %d)", got, h01, oracle(s01))
	}
	if got := waitFresh("move", s03Top, s03); got != h03+37 || got != oracle(s03) {
		t.Errorf("after the move S03 shows %d households, want %d + 37 (SQL: %d)", got, h03, oracle(s03))
	}
	farStays("the move")

	// A rename changes no total: the buildings' own change arrives, no
	// totals change, and the social tiles stay cached.
	warm()
	before, totals := log.count("buildings"), log.count(tiles.SocialTotalsTable)
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE buildings SET name = '新楼 A' WHERE name = '新楼'`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); log.count("buildings") == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the rename was not on the change feed within 5 s")
		}
	}
	if n := log.count(tiles.SocialTotalsTable); n != totals {
		t.Errorf("a rename announced %d totals changes, want none", n-totals)
	}
	for _, id := range []tiles.ID{top, s03Top, far} {
		if _, r := e.tile(t, "social_grids", id); r.header.Get("X-Tile-Cache") != "hit" {
			t.Errorf("a rename dropped social tile %s", id)
		}
	}

	// A target change reaches every social tile, and the load follows.
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE social_targets SET households = 150 WHERE community_code = '110101001008'`); err != nil {
		t.Fatal(err)
	}
	waitFresh("target", far, far08)
	waitFresh("target", top, s01)
	ls, _ := e.tile(t, "social_grids", far)
	want := e.socialOracle(t)
	for _, f := range ls[0].Features {
		checkSocialFeature(t, "after the target change", f, want)
	}
}
