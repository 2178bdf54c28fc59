package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

const target = 10000.0

// The checks below are the guarantees, asked of PostGIS directly; none of
// them trusts the builder's own figures. Areas are measured as the builder
// promises to (ST_Area in EPSG:4548 of the geometry densified to 1e-4°),
// written out here rather than calling the builder's function.
const areaSQL = `ST_Area(ST_Transform(ST_SetSRID(ST_Segmentize(%s, 0.0001), 4490), 4548))`

func area(expr string) string { return fmt.Sprintf(areaSQL, expr) }

// loadDemo imports the demo divisions and roads into a fresh database.
func loadDemo(t *testing.T) (*postgis.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	data, err := os.ReadFile("../../testdata/dongcheng/divisions.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importBytes(ctx, st, data); err != nil {
		t.Fatal(err)
	}
	importLineFile(t, st, "roads", "../../testdata/dongcheng/roads.geojson")
	return st, pool
}

func importLineFile(t *testing.T, st *postgis.Store, layer, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	feats, rejected, err := grids.ParseLines(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse lines: %v %v", err, rejected)
	}
	if _, err := st.ImportLines(context.Background(), layer, feats, "test", "test lines"); err != nil {
		t.Fatal(err)
	}
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return n
}

// queryStrings runs a query that returns one text column.
func queryStrings(t *testing.T, pool *pgxpool.Pool, q string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return out
}

// gridState fingerprints everything a build may write, and the change
// feed's map version.
func gridState(t *testing.T, pool *pgxpool.Pool) string {
	return tableState(t, pool) + " " + fmt.Sprint(queryInt(t, pool, `SELECT last_value::int FROM map_version`))
}

// tableState fingerprints the tables a build may write. (A build that
// rolls back still uses up map_version numbers: sequences are not
// transactional, and NOTIFY is not sent.)
func tableState(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT count(*), md5(string_agg(concat_ws('|', id, code, version, valid_to, ST_AsEWKB(geom)), ',' ORDER BY id)) FROM unit_grids`,
		`SELECT count(*), md5(string_agg(concat_ws('|', id, action, code, reason), ',' ORDER BY id)) FROM history`,
		`SELECT count(*), md5(string_agg(concat_ws('|', id, code, ST_AsEWKB(geom)), ',' ORDER BY id)) FROM mgmt_grids`,
		`SELECT count(*), md5(string_agg(concat_ws('|', mgmt_grid_id, grid_code), ',' ORDER BY grid_code)) FROM mgmt_grid_members`,
	} {
		var n int
		var sum *string
		if err := pool.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		s := ""
		if sum != nil {
			s = *sum
		}
		parts = append(parts, fmt.Sprintf("%d:%s", n, s))
	}
	return strings.Join(parts, " ")
}

// checkGuarantees checks every partition guarantee on the current grids of
// the communities whose code starts with prefix. allowed lists grids (by
// code) that the build reported as unable to meet the area or width rule.
func checkGuarantees(t *testing.T, pool *pgxpool.Pool, prefix string, allowed map[string]bool) {
	t.Helper()
	cur := `valid_to IS NULL AND left(code, length($1)) = $1`
	curOf := func(alias string) string {
		return alias + `.valid_to IS NULL AND left(` + alias + `.code, length($1)) = $1`
	}
	t.Run("every community has grids", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT c.code FROM communities c WHERE `+curOf("c")+`
			AND NOT EXISTS (SELECT 1 FROM unit_grids g WHERE g.community_code = c.code AND g.valid_to IS NULL)`, prefix)
		if len(bad) > 0 {
			t.Errorf("communities without grids: %v", bad)
		}
	})
	t.Run("coverage: grids sum to and union to the community", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT format('%s: sum %s, union %s, community %s, symdiff %s', c.code,
				round(s.sum::numeric, 4), round(`+area("s.u")+`::numeric, 4), round(`+area("c.geom")+`::numeric, 4),
				round(`+area("ST_SymDifference(s.u, c.geom)")+`::numeric, 4))
			FROM communities c
			JOIN (SELECT community_code, sum(`+area("geom")+`) AS sum, ST_Union(geom) AS u
			      FROM unit_grids WHERE valid_to IS NULL GROUP BY community_code) s ON s.community_code = c.code
			WHERE `+curOf("c")+`
			  AND (abs(s.sum - `+area("c.geom")+`) > 0.01 OR `+area("ST_SymDifference(s.u, c.geom)")+` > 0.01)`, prefix)
		if len(bad) > 0 {
			t.Errorf("%d communities not covered exactly: %v", len(bad), bad)
		}
	})
	t.Run("no overlaps above 0.01 m²", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT a.code || ' ' || b.code FROM unit_grids a
			JOIN unit_grids b ON b.valid_to IS NULL AND a.code < b.code AND a.geom && b.geom
			WHERE `+curOf("a")+` AND ST_Relate(a.geom, b.geom, '2********')
			  AND `+area("ST_Intersection(a.geom, b.geom)")+` > 0.01`, prefix)
		if len(bad) > 0 {
			t.Errorf("overlapping grids: %v", bad)
		}
	})
	t.Run("valid single polygons", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT code || ' ' || GeometryType(geom) || ' ' || ST_IsValidReason(geom)
			FROM unit_grids WHERE `+cur+` AND (NOT ST_IsValid(geom) OR GeometryType(geom) <> 'POLYGON')`, prefix)
		if len(bad) > 0 {
			t.Errorf("invalid grids: %v", bad)
		}
	})
	t.Run("within the limits of grid edits", func(t *testing.T) {
		// A built grid can be sent back as it is (QGIS sends the whole
		// feature): geo.ValidatePolygon must accept it.
		rows, err := pool.Query(context.Background(), `SELECT code, ST_AsBinary(geom) FROM unit_grids WHERE `+cur, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var code string
		var b []byte
		if _, err := pgx.ForEachRow(rows, []any{&code, &b}, func() error {
			g, err := wkb.Unmarshal(b)
			if err != nil {
				return err
			}
			p, ok := g.(orb.Polygon)
			if !ok {
				return fmt.Errorf("grid %s is a %T", code, g)
			}
			if err := geo.ValidatePolygon(p, geo.GridPolygonLimits); err != nil {
				t.Errorf("grid %s: %v", code, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("inside exactly one community", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT g.code || ' in ' || coalesce(string_agg(c.code, ','), 'none') FROM unit_grids g
			LEFT JOIN communities c ON c.valid_to IS NULL AND c.geom && g.geom
			     AND `+area("ST_Intersection(c.geom, g.geom)")+` > 0.01
			WHERE `+curOf("g")+`
			GROUP BY g.code, g.community_code
			HAVING count(c.code) <> 1 OR max(c.code) <> g.community_code`, prefix)
		if len(bad) > 0 {
			t.Errorf("grids not inside exactly their community: %v", bad)
		}
	})
	t.Run("neighbours share vertices exactly", func(t *testing.T) {
		// A vertex of one grid lying on (or within 3e-12°, a third of the
		// builder's snapping grid, of) another grid's boundary in the same
		// community must be a vertex of that grid too: no T-junctions.
		bad := queryStrings(t, pool, `WITH v AS (
				SELECT code, community_code, (ST_DumpPoints(geom)).geom AS p FROM unit_grids WHERE `+cur+`)
			SELECT DISTINCT v.code || ' on ' || g.code FROM v
			JOIN unit_grids g ON g.valid_to IS NULL AND g.community_code = v.community_code AND g.code <> v.code
			     AND g.geom && v.p AND ST_DWithin(ST_Boundary(g.geom), v.p, 3e-12)
			WHERE NOT EXISTS (SELECT 1 FROM ST_DumpPoints(g.geom) d WHERE d.geom = v.p
			                    AND ST_X(d.geom) = ST_X(v.p) AND ST_Y(d.geom) = ST_Y(v.p))
			LIMIT 20`, prefix)
		if len(bad) > 0 {
			t.Errorf("vertices not shared bit for bit: %v", bad)
		}
	})
	t.Run("area within 0.5-1.5 of the target", func(t *testing.T) {
		rows := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE `+cur+`
			AND NOT (`+area("geom")+` BETWEEN 0.5 * $2::float8 AND 1.5 * $2::float8)`, prefix, target)
		for _, c := range rows {
			if !allowed[c] {
				t.Errorf("grid %s is outside 0.5-1.5 × target and the report does not say why", c)
			}
		}
	})
	t.Run("no slivers: largest inscribed circle at least 20 m across", func(t *testing.T) {
		// ST_MaximumInscribedCircle finds the circle to within a thousandth
		// of the polygon's extent, so its diameter may read up to twice that
		// short.
		rows := queryStrings(t, pool, `SELECT code FROM (
				SELECT code, ST_Transform(geom, 4548) AS m FROM unit_grids WHERE `+cur+`) g
			WHERE 2 * (ST_MaximumInscribedCircle(m)).radius
			      + 2 * greatest(ST_XMax(m) - ST_XMin(m), ST_YMax(m) - ST_YMin(m)) / 1000 < 20`, prefix)
		for _, c := range rows {
			if !allowed[c] {
				t.Errorf("grid %s is narrower than 20 m and the report does not say why", c)
			}
		}
	})
	t.Run("codes: community + 3-digit sequence, unique over time", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE `+cur+`
			AND (code !~ '^[0-9]{15}$' OR left(code, 12) <> community_code OR right(code, 3) = '000')`, prefix)
		if len(bad) > 0 {
			t.Errorf("bad codes: %v", bad)
		}
		dup := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE left(code, length($1)) = $1
			GROUP BY code HAVING count(*) > 1`, prefix)
		if len(dup) > 0 {
			t.Errorf("codes used by more than one row: %v", dup)
		}
	})
}

// problemGrids lists the grids a report names as unable to meet a guarantee.
func problemGrids(rep grids.BuildReport) map[string]bool {
	m := map[string]bool{}
	for _, p := range rep.Quality.Problems {
		m[p.Grid] = true
	}
	return m
}

func TestBuildDongcheng(t *testing.T) {
	ctx := context.Background()
	st, pool := loadDemo(t)

	var mu sync.Mutex
	var last grids.BuildProgress
	stages := map[string]bool{}
	rep, err := st.Build(ctx, grids.BuildRequest{Area: "110101", Actor: "test", Reason: "first build"}, func(p grids.BuildProgress) {
		mu.Lock()
		last = p
		stages[p.Stage] = true
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d grids in %.1fs; %d problems", rep.Created, rep.Seconds, len(rep.Quality.Problems))
	for _, p := range rep.Quality.Problems {
		t.Logf("problem: %+v", p)
	}
	allowed := problemGrids(rep)

	t.Run("report", func(t *testing.T) {
		n := queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL`)
		if rep.Created != n || n < 3000 {
			t.Fatalf("report says %d created, the database holds %d current grids", rep.Created, n)
		}
		if last.CommunitiesDone != 169 || last.CommunitiesTotal != 169 || last.GridsMade != n || last.Stage != "done" {
			t.Errorf("last progress %+v, want 169/169 communities and %d grids, done", last, n)
		}
		for _, s := range []string{"partition", "check", "write", "done"} {
			if !stages[s] {
				t.Errorf("no progress in stage %s", s)
			}
		}
		if len(rep.Quality.Areas) != 18 || rep.Quality.Areas[0].Code != "110101" || rep.Quality.Areas[0].Grids != n {
			t.Fatalf("quality areas: want the district then 17 streets, got %d rows, first %+v", len(rep.Quality.Areas), rep.Quality.Areas[0])
		}
		hist := queryInt(t, pool, `SELECT count(*) FROM history WHERE entity = 'unit_grid' AND action = 'create' AND actor = 'test' AND reason = 'first build'`)
		if hist != n {
			t.Errorf("%d create rows in the history, want %d", hist, n)
		}
	})
	t.Run("guarantees", func(t *testing.T) { checkGuarantees(t, pool, "110101", allowed) })
	t.Run("at least 90% within ±30% of the target", func(t *testing.T) {
		var share float64
		err := pool.QueryRow(ctx, `SELECT avg((`+area("geom")+` BETWEEN 0.7 * $1::float8 AND 1.3 * $1::float8)::int)
			FROM unit_grids WHERE valid_to IS NULL`, target).Scan(&share)
		if err != nil {
			t.Fatal(err)
		}
		if share < 0.9 {
			t.Errorf("%.1f%% of the grids within ±30%%, want at least 90%%", 100*share)
		}
		if d := share - rep.Quality.Areas[0].WithinShare; d > 1e-9 || d < -1e-9 {
			t.Errorf("report says %.4f within ±30%%, PostGIS says %.4f", rep.Quality.Areas[0].WithinShare, share)
		}
	})
	t.Run("first build numbers 001..n west to east, north to south", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT community_code FROM unit_grids WHERE valid_to IS NULL
			GROUP BY community_code HAVING max(right(code, 3)::int) <> count(*) OR min(right(code, 3)::int) <> 1`)
		if len(bad) > 0 {
			t.Errorf("communities whose sequence is not 1..n: %v", bad)
		}
		// Within a community, a grid numbered later lies in a row further
		// south, or in the same row further east: rows are 100 m (the side
		// of a target square) from the community's northern edge, by
		// centroid.
		bad = queryStrings(t, pool, `WITH g AS (
				SELECT u.code, u.community_code, ST_Centroid(ST_Transform(ST_SetSRID(u.geom, 4490), 4548)) AS c,
				       ST_YMax(ST_Transform(ST_SetSRID(m.geom, 4490), 4548)) AS top
				FROM unit_grids u JOIN communities m ON m.code = u.community_code AND m.valid_to IS NULL
				WHERE u.valid_to IS NULL),
			r AS (SELECT g.*, floor((top - ST_Y(c)) / 100) AS row_, ST_X(c) AS x FROM g),
			o AS (SELECT code, row_, x, lag(row_) OVER (PARTITION BY community_code ORDER BY code) AS prow,
			             lag(x) OVER (PARTITION BY community_code ORDER BY code) AS px FROM r)
			SELECT code FROM o WHERE prow IS NOT NULL AND (row_ < prow OR (row_ = prow AND x < px)) LIMIT 10`)
		if len(bad) > 0 {
			t.Errorf("grids out of west-east, north-south order: %v", bad)
		}
	})
	t.Run("single owner on shared vertices", func(t *testing.T) {
		// The vertices of an edge two grids share are bit-identical in
		// both; the single-owner rule gives each to exactly one grid, the
		// one with the smaller code of those covering it.
		bad := queryStrings(t, pool, `WITH e AS (
				SELECT a.code AS a, b.code AS b, (ST_DumpPoints(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))).geom AS p
				FROM unit_grids a JOIN unit_grids b ON a.community_code = b.community_code AND a.code < b.code AND a.geom && b.geom
				WHERE a.valid_to IS NULL AND b.valid_to IS NULL AND a.community_code LIKE '110101001%'
				  AND ST_Relate(a.geom, b.geom, 'F***1****'))
			SELECT a || '/' || b FROM e
			WHERE NOT (ST_Covers((SELECT geom FROM unit_grids WHERE code = e.b AND valid_to IS NULL), p)
			           AND ST_Covers((SELECT geom FROM unit_grids WHERE code = e.a AND valid_to IS NULL), p))
			   OR gridd_grid_at(p) > a
			LIMIT 20`)
		if len(bad) > 0 {
			t.Errorf("shared vertices not covered by both grids or owned by the wrong one: %v", bad)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM unit_grids a JOIN unit_grids b ON a.community_code = b.community_code
			AND a.code < b.code AND a.geom && b.geom WHERE a.valid_to IS NULL AND b.valid_to IS NULL
			AND a.community_code LIKE '110101001%' AND ST_Relate(a.geom, b.geom, 'F***1****')`); n < 100 {
			t.Errorf("only %d neighbouring pairs in street 110101001", n)
		}
	})
	t.Run("community vertices kept bit for bit", func(t *testing.T) {
		bad := queryStrings(t, pool, `WITH v AS (
				SELECT code, (ST_DumpPoints(geom)).geom AS p FROM communities WHERE valid_to IS NULL)
			SELECT v.code || ' ' || ST_AsText(v.p) FROM v
			WHERE NOT EXISTS (
				SELECT 1 FROM unit_grids g, ST_DumpPoints(g.geom) d
				WHERE g.valid_to IS NULL AND g.community_code = v.code AND g.geom && v.p
				  AND ST_X(d.geom) = ST_X(v.p) AND ST_Y(d.geom) = ST_Y(v.p))
			LIMIT 20`)
		if len(bad) > 0 {
			t.Errorf("community vertices that no grid of the community has exactly: %v", bad)
		}
	})

	t.Run("unchanged rebuild changes nothing", func(t *testing.T) {
		before := gridState(t, pool)
		rep2, err := st.Build(ctx, grids.BuildRequest{Area: "110101001", Actor: "test", Reason: "rebuild"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep2.Created != 0 || rep2.Retired != 0 || rep2.Unchanged == 0 {
			t.Errorf("unchanged rebuild: %d created, %d retired, %d unchanged", rep2.Created, rep2.Retired, rep2.Unchanged)
		}
		if after := gridState(t, pool); after != before {
			t.Errorf("an unchanged rebuild changed the database:\n before %s\n after  %s", before, after)
		}
	})

	const comm = "110101001001"
	t.Run("a failing build leaves the previous grids", func(t *testing.T) {
		before := tableState(t, pool)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := st.Build(cctx, grids.BuildRequest{Area: comm, Lines: extraRoad(t, pool, comm), Actor: "test"},
			func(p grids.BuildProgress) {
				if p.Stage == "write" {
					cancel()
				}
			})
		if err == nil {
			t.Fatal("a build cancelled while writing succeeded")
		}
		if after := tableState(t, pool); after != before {
			t.Errorf("a failed build changed the database:\n before %s\n after  %s", before, after)
		}
	})

	t.Run("dry run writes nothing", func(t *testing.T) {
		before := tableState(t, pool)
		rep, err := st.Build(ctx, grids.BuildRequest{Area: comm, Lines: extraRoad(t, pool, comm), DryRun: true, Actor: "test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created == 0 || rep.Retired == 0 {
			t.Errorf("dry run with a new road reports %d created, %d retired", rep.Created, rep.Retired)
		}
		if after := tableState(t, pool); after != before {
			t.Errorf("a dry run changed the database")
		}
	})

	t.Run("changed roads give new codes, never reused", func(t *testing.T) {
		old := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND community_code = $1 ORDER BY code`, comm)
		rep, err := st.Build(ctx, grids.BuildRequest{Area: comm, Lines: extraRoad(t, pool, comm), Actor: "test", Reason: "new road"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created == 0 || rep.Retired == 0 || rep.Unchanged == 0 {
			t.Fatalf("a road across part of the community: %d created, %d retired, %d unchanged; want some of each",
				rep.Created, rep.Retired, rep.Unchanged)
		}
		cur := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND community_code = $1 ORDER BY code`, comm)
		oldSet := map[string]bool{}
		maxOld := ""
		for _, c := range old {
			oldSet[c] = true
			if c > maxOld {
				maxOld = c
			}
		}
		kept, fresh := 0, 0
		for _, c := range cur {
			if oldSet[c] {
				kept++
			} else {
				fresh++
				if c <= maxOld {
					t.Errorf("new grid %s reuses a sequence at or below %s", c, maxOld)
				}
			}
		}
		if kept != rep.Unchanged || fresh != rep.Created {
			t.Errorf("kept %d / fresh %d codes, report says %d unchanged / %d created", kept, fresh, rep.Unchanged, rep.Created)
		}
		retired := queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE community_code = $1 AND valid_to IS NOT NULL`, comm)
		if retired != rep.Retired {
			t.Errorf("%d retired rows, report says %d", retired, rep.Retired)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM history WHERE action = 'retire' AND reason = 'new road'`); n != rep.Retired {
			t.Errorf("%d retire rows in the history, want %d", n, rep.Retired)
		}
		// Lineage: every retired grid leads to at least one new grid and
		// every new grid comes from at least one retired one, each link
		// between grids that really share ground.
		if n := queryInt(t, pool, `SELECT count(*) FROM unit_grids p WHERE p.community_code = $1 AND p.valid_to IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM grid_lineage l WHERE l.parent_code = p.code AND l.parent_version = p.version AND l.operation = 'build')`, comm); n != 0 {
			t.Errorf("%d retired grids have no lineage to the new grids", n)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM unit_grids c WHERE c.valid_to IS NULL AND c.code <> ALL ($1::text[]) AND c.community_code = $2
			AND NOT EXISTS (SELECT 1 FROM grid_lineage l WHERE l.child_code = c.code AND l.operation = 'build')`, old, comm); n != 0 {
			t.Errorf("%d new grids have no lineage to retired grids", n)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM grid_lineage l
			JOIN unit_grids p ON p.code = l.parent_code AND p.version = l.parent_version
			JOIN unit_grids c ON c.code = l.child_code AND c.version = l.child_version
			WHERE l.operation = 'build' AND (l.changeset_id IS NOT NULL OR ST_Area(ST_Intersection(p.geom, c.geom)::geography) < 1)`); n != 0 {
			t.Errorf("%d lineage links between grids that share no ground", n)
		}
		checkGuarantees(t, pool, comm, problemGrids(rep))

		// Back to the stored roads: the shapes of the first build return, but
		// under fresh codes; retired codes stay retired.
		maxNow := cur[len(cur)-1]
		rep, err = st.Build(ctx, grids.BuildRequest{Area: comm, Actor: "test", Reason: "road removed"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		again := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND community_code = $1
			AND code NOT IN (SELECT unnest($2::text[]))`, comm, cur)
		if len(again) != rep.Created || rep.Created == 0 {
			t.Fatalf("%d new codes, report says %d created", len(again), rep.Created)
		}
		for _, c := range again {
			if c <= maxNow {
				t.Errorf("grid %s reuses a retired sequence (highest used %s)", c, maxNow)
			}
		}
		checkGuarantees(t, pool, comm, problemGrids(rep))
	})

	t.Run("management grids follow a rebuild", func(t *testing.T) {
		const c2 = "110101001002"
		members := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND community_code = $1 ORDER BY code LIMIT 4`, c2)
		codes := make([]geo.Code, len(members))
		for i, m := range members {
			codes[i] = geo.Code(m)
		}
		m, err := st.CreateMgmtGrid(ctx, "DHM-01", "东华门一网格", codes, "test", "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Members) != 4 || m.AreaM2 < 4*0.5*target {
			t.Fatalf("management grid %+v", m)
		}
		if _, err := st.CreateMgmtGrid(ctx, "DHM-01", "again", codes, "test", "test"); !errors.Is(err, grids.ErrConflict) {
			t.Errorf("a second DHM-01: %v, want a conflict", err)
		}
		rep, err := st.Build(ctx, grids.BuildRequest{Area: c2, Lines: extraRoad(t, pool, c2), Actor: "test", Reason: "new road"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Retired == 0 {
			t.Fatal("the extra road changed no grid of this community: the management-grid check below needs one that does")
		}
		stale := queryInt(t, pool, `SELECT count(*) FROM mgmt_grid_members mm JOIN mgmt_grids g ON g.id = mm.mgmt_grid_id
			WHERE g.code = 'DHM-01' AND NOT EXISTS (SELECT 1 FROM unit_grids u WHERE u.code = mm.grid_code AND u.valid_to IS NULL)`)
		if stale != 0 {
			t.Errorf("%d members of DHM-01 are retired grids", stale)
		}
		diff := queryInt(t, pool, `SELECT count(*) FROM mgmt_grids g WHERE g.code = 'DHM-01' AND NOT ST_Equals(g.geom,
			(SELECT ST_Multi(ST_Union(u.geom)) FROM unit_grids u JOIN mgmt_grid_members mm ON mm.grid_code = u.code
			  WHERE mm.mgmt_grid_id = g.id AND u.valid_to IS NULL))`)
		if diff != 0 {
			t.Errorf("DHM-01's geometry is not the union of its members")
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM history WHERE entity = 'mgmt_grid' AND code = 'DHM-01' AND action = 'update' AND actor = 'test'`); n != 1 {
			t.Errorf("%d history rows for the re-resolved management grid, want 1", n)
		}

		// Retiring every member by hand, with nothing in their place, is refused.
		now, err := st.MgmtGrid(ctx, "DHM-01")
		if err != nil {
			t.Fatal(err)
		}
		_, err = pool.Exec(ctx, `UPDATE unit_grids SET valid_to = now() WHERE valid_to IS NULL AND community_code = $1`, c2)
		if err == nil || !strings.Contains(err.Error(), "DHM-01") {
			t.Errorf("retiring a community's grids by hand under a management grid: %v, want a refusal naming DHM-01", err)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL AND code = ANY($1)`, codeList(now.Members)); n != len(now.Members) {
			t.Errorf("the refused change still retired grids")
		}
	})
}

func codeList(cs []geo.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// extraRoad returns the stored roads plus one road running north-south
// through the western third of the community.
func extraRoad(t *testing.T, pool *pgxpool.Pool, community string) []grids.LineFeature {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT ST_AsGeoJSON(ST_Multi(geom)) FROM lines WHERE valid_to IS NULL ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var feats []grids.LineFeature
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		g, err := geojson.UnmarshalGeometry(b)
		if err != nil {
			return err
		}
		feats = append(feats, grids.LineFeature{Index: len(feats), Geom: g.Geometry().(orb.MultiLineString)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var x0, y0, x1, y1 float64
	err = pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM communities
		WHERE code = $1 AND valid_to IS NULL`, community).Scan(&x0, &y0, &x1, &y1)
	if err != nil {
		t.Fatal(err)
	}
	x := x0 + (x1-x0)*0.37
	feats = append(feats, grids.LineFeature{Index: len(feats), Class: "lane",
		Geom: orb.MultiLineString{{{x, y0 - 0.001}, {x + 0.0003, y1 + 0.001}}}})
	return feats
}
