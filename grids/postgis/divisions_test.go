package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// rect is a lon/lat rectangle as a GeoJSON polygon's coordinates.
func rect(x0, y0, x1, y1 float64) [][][2]float64 {
	return [][][2]float64{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

type feature struct {
	code, name string
	coords     any
}

func collection(fs ...feature) []byte {
	var parts []string
	for _, f := range fs {
		g, _ := json.Marshal(map[string]any{"type": "Polygon", "coordinates": f.coords})
		parts = append(parts, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"name":%q},"geometry":%s}`, f.code, f.name, g))
	}
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`)
}

// A small valid hierarchy near Dongcheng: one district of two streets, the
// first with two communities.
func baseFeatures() []feature {
	return []feature{
		{"110101", "东城区", rect(116.40, 39.90, 116.42, 39.92)},
		{"110101001", "东华门街道", rect(116.40, 39.90, 116.41, 39.92)},
		{"110101002", "景山街道", rect(116.41, 39.90, 116.42, 39.92)},
		{"110101001001", "多福巷社区", rect(116.40, 39.90, 116.41, 39.91)},
		{"110101001002", "银闸社区", rect(116.40, 39.91, 116.41, 39.92)},
	}
}

func importBytes(ctx context.Context, st *postgis.Store, data []byte) (grids.ImportReport, error) {
	feats, rejected, err := grids.ParseDivisions(data, geo.WGS84)
	if err != nil {
		return grids.ImportReport{}, err
	}
	if len(rejected) > 0 {
		return grids.ImportReport{Rejected: rejected}, &grids.RejectedError{What: "division", Rejected: rejected}
	}
	return st.ImportDivisions(ctx, feats, "test", "test import")
}

// checksum fingerprints every table an import may touch.
func checksum(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"districts", "streets", "communities", "history"} {
		var n int
		var sum *string
		err := pool.QueryRow(context.Background(),
			fmt.Sprintf("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM %s t", table)).Scan(&n, &sum)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		if sum != nil {
			s = *sum
		}
		parts = append(parts, fmt.Sprintf("%s:%d:%s", table, n, s))
	}
	return strings.Join(parts, " ")
}

func TestImportDivisions(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))

	rep, err := importBytes(ctx, st, collection(baseFeatures()...))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 5 || rep.Updated != 0 {
		t.Fatalf("first import: %+v, want 5 created", rep)
	}
	before := checksum(t, st.Pool())
	rep, err = importBytes(ctx, st, collection(baseFeatures()...))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 5 {
		t.Fatalf("re-import: %+v, want 5 unchanged", rep)
	}
	if after := checksum(t, st.Pool()); after != before {
		t.Fatalf("re-importing the same file changed the database:\n%s\n%s", before, after)
	}

	// A changed boundary retires the old row and keeps it in history.
	changed := baseFeatures()
	changed[3].coords = rect(116.40, 39.90, 116.41, 39.912)
	changed[4].coords = rect(116.40, 39.912, 116.41, 39.92)
	rep, err = importBytes(ctx, st, collection(changed...))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Updated != 2 || rep.Unchanged != 3 {
		t.Fatalf("changed import: %+v, want 2 updated, 3 unchanged", rep)
	}
	var current, retired, hist int
	st.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE valid_to IS NULL), count(*) FILTER (WHERE valid_to IS NOT NULL)
		FROM communities WHERE code = '110101001001'`).Scan(&current, &retired)
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM history WHERE code = '110101001001' AND action = 'update' AND before IS NOT NULL`).Scan(&hist)
	if current != 1 || retired != 1 || hist != 1 {
		t.Errorf("after a boundary change: %d current, %d retired, %d history rows; want 1, 1, 1", current, retired, hist)
	}

	d, chain, err := st.Division(ctx, "110101001001")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "多福巷社区" || len(chain) != 2 || chain[0].Code != "110101" || chain[1].Code != "110101001" {
		t.Errorf("Division: %s %+v", d.Name, chain)
	}
	kids, err := st.Children(ctx, "110101001")
	if err != nil || len(kids) != 2 {
		t.Errorf("Children: %v %v", kids, err)
	}
	if _, _, err := st.Division(ctx, "110101009"); !errors.Is(err, grids.ErrNotFound) {
		t.Errorf("missing division: %v, want ErrNotFound", err)
	}
}

func TestImportDivisionsRejects(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	if _, err := importBytes(ctx, st, collection(baseFeatures()...)); err != nil {
		t.Fatal(err)
	}
	bowtie := [][][2]float64{{{116.40, 39.90}, {116.41, 39.91}, {116.41, 39.90}, {116.40, 39.91}, {116.40, 39.90}}}
	tests := []struct {
		name string
		file []byte
		want string // in the message, naming the feature
	}{
		{"community not under its street", collection(
			feature{"110101003001", "错社区", rect(116.41, 39.90, 116.415, 39.905)}),
			"feature 0 (code 110101003001): its parent street 110101003 does not exist"},
		{"self-intersecting polygon", collection(
			feature{"110101002001", "自交社区", bowtie}),
			"feature 0 (code 110101002001): polygon is not valid: Self-intersection"},
		{"community sticking out of its street", collection(
			feature{"110101002001", "出界社区", rect(116.41, 39.90, 116.425, 39.905)}),
			"feature 0 (code 110101002001): sticks out of its parent 110101002"},
		{"two overlapping communities", collection(
			feature{"110101002001", "甲社区", rect(116.41, 39.90, 116.416, 39.91)},
			feature{"110101002002", "乙社区", rect(116.414, 39.90, 116.42, 39.91)}),
			"feature 1 (code 110101002002): overlaps community 110101002001"},
		{"overlapping a stored community", collection(
			feature{"110101001003", "重叠社区", rect(116.40, 39.905, 116.41, 39.915)}),
			"feature 0 (code 110101001003): overlaps community 110101001001"},
		{"wrong-length code", collection(
			feature{"1101010010", "十位", rect(116.41, 39.90, 116.415, 39.905)}),
			`feature 0 (code 1101010010): code "1101010010" has 10 digits`},
		{"not GeoJSON", []byte("code,name\n110101,东城区\n"), "not a GeoJSON FeatureCollection"},
		{"lat,lon swapped", collection(
			feature{"110101002001", "颠倒社区", [][][2]float64{{{39.90, 116.41}, {39.90, 116.42}, {39.91, 116.42}, {39.90, 116.41}}}}),
			"feature 0 (code 110101002001): coordinate [39.9, 116.41] is outside China; it looks like lat,lon"},
		{"one bad among good ones", collection(
			feature{"110101002001", "好社区", rect(116.41, 39.90, 116.42, 39.91)},
			feature{"110101002002", "出界社区", rect(116.41, 39.91, 116.43, 39.92)}),
			"feature 1 (code 110101002002): sticks out of its parent 110101002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := checksum(t, st.Pool())
			_, err := importBytes(ctx, st, tt.file)
			if err == nil {
				t.Fatal("import accepted a bad file")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message does not name the problem:\n got: %s\nwant: %s", err, tt.want)
			}
			if after := checksum(t, st.Pool()); after != before {
				t.Errorf("a rejected import changed the database")
			}
		})
	}
}

// The demo district loads cleanly and has the real hierarchy's shape.
func TestImportDemoDivisions(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	data, err := os.ReadFile("../../testdata/dongcheng/divisions.geojson")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := importBytes(ctx, st, data)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 187 {
		t.Errorf("created %d divisions, want 187 (1 district, 17 streets, 169 communities)", rep.Created)
	}
	var districts, streets, communities int
	var km2 float64
	st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM districts), (SELECT count(*) FROM streets),
		(SELECT count(*) FROM communities), (SELECT ST_Area(ST_Transform(geom, 4548)) / 1e6 FROM districts)`).
		Scan(&districts, &streets, &communities, &km2)
	if districts != 1 || streets != 17 || communities != 169 || km2 < 41 || km2 > 43 {
		t.Errorf("demo: %d districts, %d streets, %d communities, %.2f km²", districts, streets, communities, km2)
	}
}
