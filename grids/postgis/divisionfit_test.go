package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// messy is a small district as real files hold it: drawn in metres east
// and north of a corner near Dongcheng and written with 7 decimals, its
// streets and communities each digitised on their own. A 1000 m square
// district holds two streets side by side (x 0-500, 500-1000), each of two
// communities (y 0-500, 500-1000), with these flaws:
//   - street 001 sticks out of the district by 15 m² (a bump 0.6 m high on
//     its north edge) and street 002 overlaps it by 1.5 m² (0.1 m);
//   - community 001001 sticks out of its street by 25 m² (1.0 m on the
//     district's west edge) and overlaps its sibling 001002 by 1.5 m²
//     (0.15 m on their shared edge);
//   - community 002001 sticks out of its street into street 001 by 16 m²
//     (0.8 m);
//   - community 002002 leaves a gap of 4 m² inside its street (a dent of
//     0.2 m in its south edge).
func messy() []feature {
	const lon0, lat0 = 116.40, 39.90
	ll := func(x, y float64) [2]float64 {
		lon := lon0 + x/(111320*math.Cos(lat0*math.Pi/180))
		lat := lat0 + y/110540
		return [2]float64{math.Round(lon*1e7) / 1e7, math.Round(lat*1e7) / 1e7}
	}
	// ring is a closed ring through the points (in metres).
	ring := func(pts ...[2]float64) [][][2]float64 {
		var r [][2]float64
		for _, p := range append(pts, pts[0]) {
			r = append(r, ll(p[0], p[1]))
		}
		return [][][2]float64{r}
	}
	type pt = [2]float64
	return []feature{
		{"110101", "东城区", ring(pt{0, 0}, pt{1000, 0}, pt{1000, 1000}, pt{0, 1000})},
		{"110101001", "东华门街道", ring(pt{0, 0}, pt{500, 0}, pt{500, 1000},
			pt{150, 1000}, pt{125, 1000.6}, pt{100, 1000}, pt{0, 1000})},
		{"110101002", "景山街道", ring(pt{500, 0}, pt{1000, 0}, pt{1000, 1000}, pt{500, 1000},
			pt{500, 830}, pt{499.9, 815}, pt{500, 800})},
		{"110101001001", "多福巷社区", ring(pt{0, 0}, pt{500, 0}, pt{500, 500},
			pt{220, 500}, pt{210, 500.15}, pt{200, 500}, pt{0, 500},
			pt{0, 150}, pt{-1, 125}, pt{0, 100})},
		{"110101001002", "银闸社区", ring(pt{0, 500}, pt{500, 500}, pt{500, 1000}, pt{0, 1000})},
		{"110101002001", "景山东街社区", ring(pt{500, 0}, pt{1000, 0}, pt{1000, 500}, pt{500, 500},
			pt{500, 320}, pt{499.2, 300}, pt{500, 280})},
		{"110101002002", "吉祥社区", ring(pt{500, 500}, pt{700, 500}, pt{720, 500.2}, pt{740, 500},
			pt{1000, 500}, pt{1000, 1000}, pt{500, 1000})},
	}
}

func importFit(ctx context.Context, st *postgis.Store, fs []feature, opt grids.DivisionImport) (grids.DivisionImportReport, error) {
	feats, rejected, err := grids.ParseDivisions(collection(fs...), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return grids.DivisionImportReport{}, errors.Join(err, &grids.RejectedError{What: "division", Rejected: rejected})
	}
	opt.Actor, opt.Reason = "test", "messy import"
	return st.ImportDivisionsWith(ctx, feats, opt)
}

func rejectedCodes(t *testing.T, err error) map[string][]string {
	t.Helper()
	var rej *grids.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("want a RejectedError, got %v", err)
	}
	out := map[string][]string{}
	for _, r := range rej.Rejected {
		out[r.Code] = append(out[r.Code], r.Reason)
	}
	return out
}

func TestImportDivisionsFit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	empty := checksum(t, pool)

	t.Run("strict refuses every flawed feature", func(t *testing.T) {
		_, err := importFit(ctx, st, messy(), grids.DivisionImport{})
		got := rejectedCodes(t, err)
		t.Log(err)
		for code, want := range map[string]string{
			"110101001":    "sticks out of its parent 110101 by 15",
			"110101002":    "overlaps street 110101001 by 1.",
			"110101001001": "sticks out of its parent 110101001 by 25",
			"110101001002": "overlaps community 110101001001 by 1.",
			"110101002001": "sticks out of its parent 110101002 by 16",
		} {
			if !strings.Contains(strings.Join(got[code], "; "), want) {
				t.Errorf("%s: want a refusal %q, got %q", code, want, got[code])
			}
		}
		if c := checksum(t, pool); c != empty {
			t.Errorf("a refused import wrote something")
		}
	})

	t.Run("fit below the flaws refuses them with distances", func(t *testing.T) {
		rep, err := importFit(ctx, st, messy(), grids.DivisionImport{Fit: 0.01})
		got := rejectedCodes(t, err)
		t.Log(err)
		moved := regexp.MustCompile(`moves its boundary by ([0-9.]+) m, more than the tolerance 0.01 m`)
		for code, want := range map[string]float64{
			"110101001": 0.6, "110101002": 0.1, "110101001001": 1.0, "110101001002": 0.15,
			"110101002001": 0.8, "110101002002": 0.2,
		} {
			m := moved.FindStringSubmatch(strings.Join(got[code], "; "))
			if m == nil {
				t.Errorf("%s: want a refusal with the distance, got %q", code, got[code])
				continue
			}
			if d, _ := strconv.ParseFloat(m[1], 64); math.Abs(d-want) > 0.02 {
				t.Errorf("%s: refused for %s m, want %.2f m", code, m[1], want)
			}
		}
		if _, ok := got["110101"]; ok || len(got) != 6 {
			t.Errorf("refused %v, want the six flawed features", got)
		}
		if len(rep.Fit) != 7 {
			t.Errorf("a refused fit reports %d features, want 7", len(rep.Fit))
		}
		if c := checksum(t, pool); c != empty {
			t.Errorf("a refused import wrote something")
		}
	})

	// What fitting at 2 m must do to each feature: area given up and taken
	// (m², within 10% + 0.1 m²: the file's 7 decimals are about 1 cm) and
	// the largest displacement (m, within 2 cm).
	type want struct{ gave, took, moved float64 }
	wants := map[string]want{
		"110101":       {0, 0, 0},
		"110101001":    {15, 0, 0.6},
		"110101002":    {1.5, 0, 0.1},
		"110101001001": {25, 0, 1.0},
		"110101001002": {1.5, 0, 0.15},
		"110101002001": {16, 0, 0.8},
		"110101002002": {0, 4, 0.2},
	}
	checkReport := func(t *testing.T, rep grids.DivisionImportReport) {
		t.Helper()
		if len(rep.Fit) != len(wants) {
			t.Fatalf("report has %d features, want %d", len(rep.Fit), len(wants))
		}
		near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
		for _, f := range rep.Fit {
			w := wants[f.Code]
			t.Logf("%s", f)
			if !near(f.GivenM2, w.gave, 0.1*w.gave+0.1) || !near(f.TakenM2, w.took, 0.1*w.took+0.1) || !near(f.MovedM, w.moved, 0.02) {
				t.Errorf("%s: gave %.3f m², took %.3f m², moved %.3f m; want %.2f, %.2f, %.2f", f.Code, f.GivenM2, f.TakenM2, f.MovedM, w.gave, w.took, w.moved)
			}
			if !near(f.FitM2, f.AreaM2-f.GivenM2+f.TakenM2, 0.01) {
				t.Errorf("%s: %.3f m² after fitting, but %.3f given - %.3f + %.3f", f.Code, f.FitM2, f.AreaM2, f.GivenM2, f.TakenM2)
			}
		}
	}

	t.Run("dry run reports and writes nothing", func(t *testing.T) {
		rep, err := importFit(ctx, st, messy(), grids.DivisionImport{Fit: 2, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep)
		if !rep.DryRun || rep.Created != 7 {
			t.Errorf("dry run report %+v, want 7 to create", rep.ImportReport)
		}
		if c := checksum(t, pool); c != empty {
			t.Errorf("a dry run wrote something")
		}
	})

	t.Run("fit 2m imports an exact nested partition", func(t *testing.T) {
		rep, err := importFit(ctx, st, messy(), grids.DivisionImport{Fit: 2})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep)
		if rep.Created != 7 {
			t.Errorf("created %d, want 7", rep.Created)
		}
		// Per parent: children inside it, no gap (their union is the
		// parent), no overlap between siblings, nothing under 0.01 m².
		bad := queryStrings(t, pool, `
			WITH k AS (
				SELECT p.code AS parent, p.geom AS pgeom, c.code, c.geom, gridd_metric_srid(p.geom) AS srid
				FROM divisions p JOIN divisions c ON c.parent_code = p.code AND c.valid_to IS NULL
				WHERE p.valid_to IS NULL
			)
			SELECT format('%s sticks out of %s by %s m²', code, parent, gridd_area_m2(ST_Difference(geom, pgeom), srid))
			FROM k WHERE gridd_area_m2(ST_Difference(geom, pgeom), srid) > 1e-4
			UNION ALL
			SELECT format('%s: its children miss %s m² of it', parent, gridd_area_m2(ST_SymDifference(u, pgeom), srid))
			FROM (SELECT parent, pgeom, srid, ST_Union(geom) u FROM k GROUP BY parent, pgeom, srid) x
			WHERE gridd_area_m2(ST_SymDifference(u, pgeom), srid) > 1e-4
			UNION ALL
			SELECT format('%s overlaps %s by %s m²', a.code, b.code, gridd_area_m2(ST_Intersection(a.geom, b.geom), a.srid))
			FROM k a JOIN k b ON a.parent = b.parent AND a.code < b.code
			WHERE gridd_area_m2(ST_Intersection(a.geom, b.geom), a.srid) > 1e-6
			UNION ALL
			SELECT format('%s is %s m²', code, gridd_area_m2(geom, gridd_metric_srid(geom)))
			FROM divisions WHERE valid_to IS NULL AND gridd_area_m2(geom, gridd_metric_srid(geom)) <= 0.01`)
		for _, b := range bad {
			t.Error(b)
		}
		// Siblings are noded: their shared borders are lines, vertex for
		// vertex (two separately digitised edges meet in points only).
		for pair, want := range map[[2]string]float64{
			{"110101001", "110101002"}: 1000, {"110101001001", "110101001002"}: 500, {"110101002001", "110101002002"}: 500,
		} {
			n := queryInt(t, pool, `SELECT round(gridd_shared_m(a.geom, b.geom, 4548))::int
				FROM divisions a, divisions b WHERE a.code = $1 AND b.code = $2 AND a.valid_to IS NULL AND b.valid_to IS NULL`, pair[0], pair[1])
			if math.Abs(float64(n)-want) > 0.01*want {
				t.Errorf("%s and %s share %d m of border, want %.0f", pair[0], pair[1], n, want)
			}
		}
		// The district did not move.
		if n := queryInt(t, pool, `SELECT count(*) FROM districts d WHERE code = '110101' AND valid_to IS NULL
				AND ST_OrderingEquals(d.geom, ST_Multi(ST_GeomFromGeoJSON($1)))`, geomJSON(messy()[0])); n != 1 {
			t.Errorf("the district's geometry changed")
		}
	})

	t.Run("the builder builds over the fitted divisions", func(t *testing.T) {
		rep, err := st.Build(ctx, grids.BuildRequest{Area: "110101", TargetM2: 25000, Actor: "test", Reason: "build"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL`)
		if rep.Created == 0 || rep.Created != n {
			t.Fatalf("build created %d, the database holds %d", rep.Created, n)
		}
		if bad := queryInt(t, pool, `SELECT count(*) FROM communities c WHERE c.valid_to IS NULL AND
				gridd_area_m2(ST_SymDifference(c.geom, (SELECT ST_Union(g.geom) FROM unit_grids g
					WHERE g.valid_to IS NULL AND g.community_code = c.code)), gridd_metric_srid(c.geom)) > 0.01`); bad != 0 {
			t.Errorf("%d communities not covered by their grids", bad)
		}
	})
}

func geomJSON(f feature) string {
	g, _ := json.Marshal(map[string]any{"type": "Polygon", "coordinates": f.coords})
	return string(g)
}

// Ground of a parent that none of its children touches (here the second
// part of a street whose one community lies in the first) cannot be given to
// anyone: the fit refuses it, naming the street.
func TestImportDivisionsFitUntouchedGround(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	two := `{"type":"MultiPolygon","coordinates":[` + geomCoords(rect(116.40, 39.90, 116.41, 39.91)) + `,` +
		geomCoords(rect(116.42, 39.90, 116.43, 39.91)) + `]}`
	one := `{"type":"Polygon","coordinates":` + geomCoords(rect(116.40, 39.90, 116.41, 39.91)) + `}`
	data := []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":` + two + `},
		{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":` + two + `},
		{"type":"Feature","properties":{"code":"110101001001","name":"多福巷社区"},"geometry":` + one + `}]}`)
	feats, rejected, err := grids.ParseDivisions(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatal(err, rejected)
	}
	_, err = st.ImportDivisionsWith(ctx, feats, grids.DivisionImport{Actor: "test", Fit: 2})
	got := rejectedCodes(t, err)
	if r := strings.Join(got["110101001"], "; "); !strings.Contains(r, "lies in none of its children (community level)") || len(got) != 1 {
		t.Errorf("want the street refused for ground no community touches, got %v", err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM divisions`); n != 0 {
		t.Errorf("a refused fit wrote %d divisions", n)
	}
}

func geomCoords(c [][][2]float64) string {
	b, _ := json.Marshal(c)
	return string(b)
}
