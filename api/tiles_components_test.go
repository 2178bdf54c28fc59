package api_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"gridd/grids"
	"gridd/tiles"
)

// tiledComponentClasses spans the five major classes of the catalogue.
var tiledComponentClasses = []string{"01001", "01037", "02004", "02010", "03005", "04002", "05002"}

// insertComponentsSQL stores components given as parallel arrays of class,
// sequence, status and WKT, placed in their grid by gridd's own rule.
const insertComponentsSQL = `INSERT INTO components (code, district_code, class_code, seq, status,
	grid_code, community_code, street_code, grids, geom)
SELECT '110101' || x.cls || lpad(x.seq::text, 6, '0'), '110101', x.cls, x.seq, x.st,
       g.grid_code, left(g.grid_code, 12), left(g.grid_code, 9), gridd_component_grids(x.geom), x.geom
FROM (SELECT unnest($1::text[]) AS cls, unnest($2::int[]) AS seq, unnest($3::text[]) AS st,
             ST_GeomFromText(unnest($4::text[]), 4326) AS geom) x,
     LATERAL gridd_component_grid(x.geom) g`

// addComponents stores n random components over the test hierarchy
// (116.40-116.44, 39.90-39.92): mostly points, some lines and polygons, a
// few outside every grid, with sequences from firstSeq. It logs its seed.
func (e *tileEnv) addComponents(t *testing.T, n int, firstSeq int) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("GRIDD_COMPONENTS_SEED"); v != "" { // to repeat a run
		if s, err := strconv.ParseUint(v, 10, 64); err == nil {
			seed = s
		}
	}
	t.Logf("components seed %d (GRIDD_COMPONENTS_SEED repeats it)", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	statuses := []string{"intact", "intact", "intact", "damaged", "lost"}
	var cls, st, wkt []string
	var seq []int32
	for i := 0; i < n; i++ {
		lon, lat := 116.40+r.Float64()*0.04, 39.90+r.Float64()*0.02
		var g string
		switch {
		case i%50 == 1:
			g = fmt.Sprintf("LINESTRING(%.7f %.7f, %.7f %.7f)", lon, lat, lon+r.Float64()*0.004, lat+r.Float64()*0.002-0.001)
		case i%50 == 2:
			d := 0.0002 + r.Float64()*0.001
			g = fmt.Sprintf("POLYGON((%[1]f %[2]f, %[3]f %[2]f, %[3]f %[4]f, %[1]f %[4]f, %[1]f %[2]f))", lon, lat, lon+d, lat+d)
		case i%97 == 3:
			g = fmt.Sprintf("POINT(%.7f %.7f)", 116.4405+r.Float64()*0.001, lat) // east of every grid
		default:
			g = fmt.Sprintf("POINT(%.7f %.7f)", lon, lat)
		}
		cls = append(cls, tiledComponentClasses[r.IntN(len(tiledComponentClasses))])
		seq = append(seq, int32(firstSeq+i))
		st = append(st, statuses[r.IntN(len(statuses))])
		wkt = append(wkt, g)
	}
	if _, err := e.st.Pool().Exec(e.ctx, insertComponentsSQL, cls, seq, st, wkt); err != nil {
		t.Fatal(err)
	}
}

// tiledComponent is what PostGIS holds for a component the tile draws.
type tiledComponent struct {
	id                                 int64
	class, className, status, gc, kind string
}

// oracleComponents asks PostGIS which current components meet the tile's
// buffered square, with their attributes.
func (e *tileEnv) oracleComponents(t *testing.T, id tiles.ID) map[string]tiledComponent {
	t.Helper()
	rows, err := e.st.Pool().Query(e.ctx, `SELECT c.code, c.id, c.class_code, k.name, c.status, coalesce(c.grid_code, ''), GeometryType(c.geom)
		FROM components c JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
		WHERE c.valid_to IS NULL AND ST_Intersects(ST_Transform(c.geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4::float8))`,
		id.Z, id.X, id.Y, float64(tiles.Buffer)/tiles.Extent)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tiledComponent{}
	for rows.Next() {
		var code string
		var c tiledComponent
		if err := rows.Scan(&code, &c.id, &c.class, &c.className, &c.status, &c.gc, &c.kind); err != nil {
			t.Fatal(err)
		}
		out[code] = c
	}
	return out
}

// oracleComponentCount asks PostGIS how many current components have their
// representative point (the point, or ST_PointOnSurface) in the tile proper.
func (e *tileEnv) oracleComponentCount(t *testing.T, id tiles.ID) int {
	t.Helper()
	var n int
	err := e.st.Pool().QueryRow(e.ctx, `SELECT count(*) FROM components
		WHERE valid_to IS NULL AND ST_Intersects(
			CASE WHEN GeometryType(geom) = 'POINT' THEN ST_Transform(geom, 3857) ELSE ST_PointOnSurface(ST_Transform(geom, 3857)) END,
			ST_TileEnvelope($1, $2, $3))`, id.Z, id.X, id.Y).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// oracleBlockCount asks PostGIS how many current components have their
// representative point in the 2 x 2 cells from cell (cx, cy) of the 16 x 16
// split of the tiles of zoom z (cells count from the west and the north).
func (e *tileEnv) oracleBlockCount(t *testing.T, z, cx, cy int) int {
	t.Helper()
	var n int
	err := e.st.Pool().QueryRow(e.ctx, `WITH c AS (SELECT 40075016.685578488 / 2 ^ ($1::int + 4) AS s, 20037508.342789244 AS w),
		p AS (SELECT CASE WHEN GeometryType(geom) = 'POINT' THEN ST_Transform(geom, 3857) ELSE ST_PointOnSurface(ST_Transform(geom, 3857)) END AS p
			FROM components WHERE valid_to IS NULL)
		SELECT count(*) FROM p, c
		WHERE ST_X(p) >= -w + $2 * s AND ST_X(p) < -w + ($2 + 2) * s
		  AND ST_Y(p) <= w - $3 * s AND ST_Y(p) > w - ($3 + 2) * s`, z, cx, cy).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkComponentCells compares the kept cluster cells with cells computed
// from scratch over the current components.
func (e *tileEnv) checkComponentCells(t *testing.T) {
	t.Helper()
	var bad int
	var sample string
	err := e.st.Pool().QueryRow(e.ctx, `WITH p AS (
			SELECT left(class_code, 2) AS major,
			       CASE WHEN GeometryType(geom) = 'POINT' THEN ST_Transform(geom, 3857) ELSE ST_PointOnSurface(ST_Transform(geom, 3857)) END AS p
			FROM components WHERE valid_to IS NULL),
		fresh AS (
			SELECT z, floor((ST_X(p) + 20037508.342789244) / (40075016.685578488 / 2 ^ (z + 4)))::int AS cx,
			       floor((20037508.342789244 - ST_Y(p)) / (40075016.685578488 / 2 ^ (z + 4)))::int AS cy,
			       count(*)::int AS n, count(*) FILTER (WHERE major = '01')::int AS n01, count(*) FILTER (WHERE major = '04')::int AS n04,
			       sum(ST_X(p)) AS sx, sum(ST_Y(p)) AS sy
			FROM p, generate_series(10, 15) z GROUP BY 1, 2, 3)
		SELECT count(*), coalesce(min(format('z%s %s/%s kept %s fresh %s', coalesce(f.z, k.z), coalesce(f.cx, k.cx), coalesce(f.cy, k.cy), k.n, f.n)), '')
		FROM fresh f FULL JOIN component_cells k USING (z, cx, cy)
		WHERE f.n IS DISTINCT FROM k.n OR f.n01 IS DISTINCT FROM k.n01 OR f.n04 IS DISTINCT FROM k.n04
		   OR abs(f.sx - k.sx) > 1e-3 * f.n OR abs(f.sy - k.sy) > 1e-3 * f.n`).Scan(&bad, &sample)
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Errorf("%d cluster cells differ from a fresh count, e.g. %s", bad, sample)
	}
}

func TestComponentTilesAgainstPostGIS(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addComponents(t, 3000, 1)
	data := orb.Bound{Min: orb.Point{116.40, 39.90}, Max: orb.Point{116.4415, 39.92}}

	// From z16: every component meeting the tile, with its attributes.
	features := 0
	kinds := map[string]int{}
	for _, id := range tileCover(data, 16) {
		ls, _ := e.tile(t, "components", id)
		want := e.oracleComponents(t, id)
		if len(want) == 0 {
			continue
		}
		if len(ls) != 1 || ls[0].Name != "components" {
			t.Fatalf("tile %s: %d layers, want components", id, len(ls))
		}
		got := map[string]bool{}
		for _, f := range ls[0].Features {
			code, _ := f.Properties["code"].(string)
			w, ok := want[code]
			if b := f.Geometry.Bound(); !ok && (b.Min[0] == -tiles.Buffer || b.Min[1] == -tiles.Buffer ||
				b.Max[0] == tiles.Extent+tiles.Buffer || b.Max[1] == tiles.Extent+tiles.Buffer) {
				// A point a fraction of a tile unit outside the buffer passes
				// the (single-precision) box filter and rounds onto its edge.
				continue
			}
			if !ok {
				t.Errorf("tile %s draws component %q (%v), which PostGIS does not put in it", id, code, f.Geometry)
				continue
			}
			got[code] = true
			if fid, _ := f.ID.(float64); int64(fid) != w.id {
				t.Errorf("component %s id %v, want row id %d", code, f.ID, w.id)
			}
			gc, _ := f.Properties["grid_code"].(string)
			if f.Properties["class_code"] != w.class || f.Properties["class_name"] != w.className ||
				f.Properties["status"] != w.status || gc != w.gc || f.Properties["major_code"] != w.class[:2] ||
				f.Properties["cluster"] != nil || f.Properties["point_count"] != nil {
				t.Errorf("component %s attributes %v, PostGIS has %+v", code, f.Properties, w)
			}
			b := f.Geometry.Bound()
			lo, hi := float64(-tiles.Buffer), float64(tiles.Extent+tiles.Buffer)
			if b.Min[0] < lo || b.Min[1] < lo || b.Max[0] > hi || b.Max[1] > hi {
				t.Errorf("component %s bound %v outside the extent and buffer", code, b)
			}
			kinds[fmt.Sprintf("%T", f.Geometry)]++
		}
		features += len(got)
		for code, w := range want {
			// A line or polygon grazing the buffer may clip to nothing at
			// tile resolution; a point never does.
			if !got[code] && w.kind == "POINT" {
				t.Errorf("tile %s lacks component %s, a point PostGIS puts in it", id, code)
			}
		}
	}
	if features == 0 || kinds["orb.Point"] == 0 || kinds["orb.LineString"] == 0 || kinds["orb.Polygon"] == 0 {
		t.Fatalf("z16 tiles drew %d components of kinds %v, want points, lines and polygons", features, kinds)
	}

	// Below z16: cluster points, one per non-empty block of an 8 x 8 split
	// of the tile, each counting the components whose representative point
	// is in its block (the id names the block), drawn inside the block; the
	// counts add up to the components whose representative point is in the
	// tile.
	checkClusters := func(when string) {
		t.Helper()
		for _, z := range []int{10, 12, 14, 15} {
			total, clusters := 0, 0
			for _, id := range tileCover(data, z) {
				ls, _ := e.tile(t, "components", id)
				n := 0
				blocks := map[[2]int]bool{}
				for _, l := range ls {
					for _, f := range l.Features {
						pc, ok := f.Properties["point_count"].(float64)
						if f.Properties["cluster"] != true || !ok || pc < 1 {
							t.Fatalf("%s: z%d tile %s feature %v is not a cluster", when, z, id, f.Properties)
						}
						if mc, _ := f.Properties["major_code"].(string); mc < "01" || mc > "05" {
							t.Errorf("%s: cluster major_code %v", when, f.Properties["major_code"])
						}
						fid, _ := f.ID.(float64)
						if fid < 1<<50 {
							t.Fatalf("%s: cluster id %v below 2^50", when, f.ID)
						}
						// The id is 2^50 + (z * 2^20 + cx) * 2^20 + cy for the
						// block's first 16 x 16 cell (cx, cy), both even.
						k := uint64(fid) - 1<<50
						cz, cx, cy := int(k>>40), int(k>>20&(1<<20-1)), int(k&(1<<20-1))
						bx, by := cx/2-8*id.X, cy/2-8*id.Y
						if cz != z || cx%2 != 0 || cy%2 != 0 || bx < 0 || bx > 7 || by < 0 || by > 7 {
							t.Fatalf("%s: z%d tile %s cluster id %v names cell z%d %d/%d, not an 8x8 block of the tile", when, z, id, f.ID, cz, cx, cy)
						}
						if blocks[[2]int{bx, by}] {
							t.Errorf("%s: z%d tile %s has two clusters in block %d/%d", when, z, id, bx, by)
						}
						blocks[[2]int{bx, by}] = true
						const block = tiles.Extent / 8
						p, isPoint := f.Geometry.(orb.Point)
						if !isPoint || p[0] < float64(bx*block) || p[1] < float64(by*block) ||
							p[0] > float64((bx+1)*block) || p[1] > float64((by+1)*block) {
							t.Errorf("%s: z%d tile %s cluster geometry %v outside its block %d/%d", when, z, id, f.Geometry, bx, by)
						}
						// MapLibre drops points at x or y = extent (outside
						// [0, extent)), and no other tile draws the cluster.
						if isPoint && (p[0] >= tiles.Extent || p[1] >= tiles.Extent) {
							t.Errorf("%s: z%d tile %s cluster at %v, on the tile's far edge, which MapLibre does not draw", when, z, id, p)
						}
						if want := e.oracleBlockCount(t, z, cx, cy); int(pc) != want {
							t.Errorf("%s: z%d tile %s block %d/%d: cluster counts %v components, PostGIS counts %d", when, z, id, bx, by, pc, want)
						}
						n += int(pc)
						clusters++
					}
				}
				if want := e.oracleComponentCount(t, id); n != want {
					t.Errorf("%s: z%d tile %s clusters count %d components, PostGIS counts %d", when, z, id, n, want)
				}
				total += n
			}
			if total == 0 || clusters == 0 {
				t.Errorf("%s: z%d tiles hold no clusters", when, z)
			}
			if clusters > 8*8*len(tileCover(data, z)) {
				t.Errorf("%s: z%d %d clusters, more than 8x8 per tile", when, z, clusters)
			}
		}
		e.checkComponentCells(t)
	}
	checkClusters("after the insert")

	// Every writer keeps the cells: moves, class changes, retirement,
	// deletion, and grid re-assignment (which leaves them as they are).
	for _, stmt := range []string{
		`UPDATE components SET geom = ST_Translate(geom, 0.003, -0.001) WHERE id % 7 = 0`,
		`UPDATE components SET code = left(code, 6) || '04002' || right(code, 6), class_code = '04002' WHERE id % 11 = 0 AND class_code = '01001'`,
		`UPDATE components SET valid_to = now() WHERE id % 13 = 0`,
		`DELETE FROM components WHERE id % 17 = 0 AND valid_to IS NULL`,
		`UPDATE components SET status = 'damaged', grid_code = NULL, community_code = NULL, street_code = NULL WHERE id % 5 = 0`,
	} {
		if _, err := e.st.Pool().Exec(e.ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	e.svc.Cache().Invalidate("*", true, orb.Bound{})
	checkClusters("after updates and deletes")

	// The style draws the layer: a density wash of the clusters under the
	// division lines, then points, cluster bubbles with their counts, lines
	// and polygons, coloured by major class, and the labels last.
	style := tiles.Style("http://x", tiles.StyleOptions{})
	ids := strings.Join(tiles.StyleLayerIDs(style, "components"), ",")
	if ids != "components-heat,components-fill,components-line,components-point,components-cluster,components-cluster-count" {
		t.Errorf("components style layers %s", ids)
	}
	var order []string
	for _, l := range style["layers"].([]map[string]any) {
		order = append(order, l["id"].(string))
	}
	if got := strings.Join(order, ","); !strings.Contains(got, "components-heat,grids-line,") ||
		!strings.HasSuffix(got, ",components-cluster-count,grids-label,social_grids-label,mgmt_grids-label,communities-label,streets-label,districts-label") {
		t.Errorf("style layer order %s: want the wash under the grid lines and the labels last, districts on top", got)
	}

	// The map search finds a component by its code.
	var code string
	if err := e.st.Pool().QueryRow(e.ctx, `SELECT code FROM components WHERE valid_to IS NULL AND GeometryType(geom) = 'POINT' LIMIT 1`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	r := fetch(t, e.ts.URL+"/v1/search?code="+code, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"kind":"component"`) || !strings.Contains(string(r.body), code) {
		t.Errorf("search for component %s: %d %s", code, r.status, r.body)
	}
}

func TestComponentTileFreshAfterEdit(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addComponents(t, 400, 1)
	go e.st.Listen(e.ctx, 200*time.Millisecond, func(c grids.Change) { e.svc.Apply(c) }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)

	// One component at a known place, alone in its z16 tile's middle.
	if _, err := e.st.Pool().Exec(e.ctx, insertComponentsSQL, []string{"03005"}, []int32{900001}, []string{"intact"},
		[]string{"POINT(116.4102 39.9102)"}); err != nil {
		t.Fatal(err)
	}
	const code = "11010103005900001"
	near := tileAt(116.4102, 39.9102, 16)
	cluster := tileAt(116.4102, 39.9102, 12)
	far := tileAt(116.4385, 39.9185, 16)
	statusIn := func(ls mvt.Layers) any {
		for _, l := range ls {
			for _, f := range l.Features {
				if f.Properties["code"] == code {
					return f.Properties["status"]
				}
			}
		}
		return nil
	}
	countIn := func(ls mvt.Layers) int {
		n := 0
		for _, l := range ls {
			for _, f := range l.Features {
				pc, _ := f.Properties["point_count"].(float64)
				n += int(pc)
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls, _ := e.tile(t, "components", near)
		if statusIn(ls) == "intact" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new component never shows in its tile")
		}
		e.svc.Cache().Invalidate("*", true, orb.Bound{})
		time.Sleep(50 * time.Millisecond)
	}
	ls, _ := e.tile(t, "components", cluster)
	count := countIn(ls)
	e.tile(t, "components", far)
	e.tile(t, "grids", near)
	if _, r := e.tile(t, "components", far); r.header.Get("X-Tile-Cache") != "hit" {
		t.Fatal("far tile not cached")
	}
	before := e.svc.Stats()

	// An edit by SQL: the status changes, and the component moves a little
	// within its tile.
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE components SET status = 'damaged', geom = ST_Translate(geom, 0.0002, 0)
		WHERE code = $1`, code); err != nil {
		t.Fatal(err)
	}
	for e.svc.Stats().Invalidations == before.Invalidations {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no invalidation within 5 s of the commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ls, r := e.tile(t, "components", near)
	if r.header.Get("X-Tile-Cache") != "miss" || statusIn(ls) != "damaged" {
		t.Errorf("near tile after the edit: cache %s, status %v, want a fresh render with damaged", r.header.Get("X-Tile-Cache"), statusIn(ls))
	}
	if _, r := e.tile(t, "components", far); r.header.Get("X-Tile-Cache") != "hit" {
		t.Error("far components tile was dropped by an edit that does not touch it")
	}
	if _, r := e.tile(t, "grids", near); r.header.Get("X-Tile-Cache") != "hit" {
		t.Error("grids tile dropped by a component edit")
	}

	// Retiring it: the cluster tile above it counts one fewer.
	before = e.svc.Stats()
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE components SET valid_to = now() WHERE code = $1`, code); err != nil {
		t.Fatal(err)
	}
	for e.svc.Stats().Invalidations == before.Invalidations {
		time.Sleep(20 * time.Millisecond)
	}
	ls, r = e.tile(t, "components", cluster)
	if r.header.Get("X-Tile-Cache") != "miss" || countIn(ls) != count-1 {
		t.Errorf("z12 tile after the retirement: cache %s, %d components, want a fresh render with %d",
			r.header.Get("X-Tile-Cache"), countIn(ls), count-1)
	}
}

// tileCover lists the tiles of zoom z that cover the bound.
func tileCover(b orb.Bound, z int) []tiles.ID {
	x0, y0, x1, y1 := tiles.Covering(b, z)
	var ids []tiles.ID
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			ids = append(ids, tiles.ID{Z: z, X: x, Y: y})
		}
	}
	return ids
}
