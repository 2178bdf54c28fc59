package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// tileHierarchy is one district and street over two communities side by
// side; each community gets a 4x4 block of 0.005° unit grids.
const tileHierarchy = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.44,39.90],[116.44,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.44,39.90],[116.44,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001007","name":"南池子社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001008","name":"灯市口社区"},"geometry":{"type":"Polygon","coordinates":[[[116.42,39.90],[116.44,39.90],[116.44,39.92],[116.42,39.92],[116.42,39.90]]]}}
]}`

// insertGrids fills each community with a 4x4 block of square grids,
// numbered west to east, north to south.
const insertGrids = `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
SELECT c.code || lpad((r * 4 + k + 1)::text, 3, '0'), c.code, left(c.code, 9), left(c.code, 6),
       ST_MakeEnvelope(c.x0 + k * 0.005, 39.92 - (r + 1) * 0.005, c.x0 + (k + 1) * 0.005, 39.92 - r * 0.005, 4326),
       ST_Area(ST_MakeEnvelope(c.x0 + k * 0.005, 39.92 - (r + 1) * 0.005, c.x0 + (k + 1) * 0.005, 39.92 - r * 0.005, 4326)::geography)
FROM (VALUES ('110101001007', 116.40), ('110101001008', 116.42)) c(code, x0),
     generate_series(0, 3) r, generate_series(0, 3) k`

type tileEnv struct {
	ts    *httptest.Server
	st    *postgis.Store
	svc   *tiles.Service
	ctx   context.Context
	close func()
}

func newTileEnv(t *testing.T, maxTileBytes int) *tileEnv { return newTileEnvTB(t, maxTileBytes) }

func newTileEnvB(b *testing.B) *tileEnv { return newTileEnvTB(b, 0) }

func newTileEnvTB(t testing.TB, maxTileBytes int) *tileEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st := postgis.NewStore(pgtest.New(t))
	feats, rejected, err := grids.ParseDivisions([]byte(tileHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, insertGrids); err != nil {
		t.Fatal(err)
	}
	svc := tiles.NewService(st, 64<<20, maxTileBytes)
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Version: "test", Tiles: svc, Places: st, Lookup: runningLocator(t, st)})
	srv.Handler() // building the router twice registers the tile metrics once
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); cancel() })
	return &tileEnv{ts: ts, st: st, svc: svc, ctx: ctx, close: cancel}
}

// tileAt is the tile of zoom z holding the point.
func tileAt(lon, lat float64, z int) tiles.ID {
	x, y, _, _ := tiles.Covering(orb.Bound{Min: orb.Point{lon, lat}, Max: orb.Point{lon, lat}}, z)
	return tiles.ID{Z: z, X: x, Y: y}
}

type tileResp struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, url string, hdr map[string]string) tileResp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	// The transport asks for gzip and decompresses on its own unless the
	// request names its codings: a test that names none gets the plain
	// tile, whether or not the cache has compressed it yet.
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return tileResp{resp.StatusCode, resp.Header, b}
}

func (e *tileEnv) tile(t *testing.T, layers string, id tiles.ID) (mvt.Layers, tileResp) {
	t.Helper()
	r := fetch(t, fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", e.ts.URL, layers, id.Z, id.X, id.Y), nil)
	if r.status != http.StatusOK {
		t.Fatalf("tile %s %s: status %d: %s", layers, id, r.status, r.body)
	}
	ls, err := mvt.Unmarshal(r.body)
	if err != nil {
		t.Fatalf("tile %s %s does not decode: %v", layers, id, err)
	}
	return ls, r
}

// oracleCodes asks PostGIS which current rows of the table meet the tile's
// buffered square.
func (e *tileEnv) oracleCodes(t *testing.T, table string, id tiles.ID) []string {
	t.Helper()
	rows, err := e.st.Pool().Query(e.ctx, `SELECT code FROM `+table+` WHERE valid_to IS NULL
		AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4::float8)) ORDER BY code`,
		id.Z, id.X, id.Y, float64(tiles.Buffer)/tiles.Extent)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for rows.Next() {
		var c string
		rows.Scan(&c) //nolint:errcheck
		codes = append(codes, c)
	}
	return codes
}

// oracleLabels asks PostGIS which current rows of the table have their label
// point in the tile proper.
func (e *tileEnv) oracleLabels(t *testing.T, table string, id tiles.ID) []string {
	t.Helper()
	rows, err := e.st.Pool().Query(e.ctx, `SELECT code FROM `+table+` WHERE valid_to IS NULL
		AND ST_Intersects(label_3857, ST_TileEnvelope($1, $2, $3)) ORDER BY code`, id.Z, id.X, id.Y)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for rows.Next() {
		var c string
		rows.Scan(&c) //nolint:errcheck
		codes = append(codes, c)
	}
	return codes
}

// layerCodes lists the codes of the layer's polygons, or of its label points.
func layerCodes(l *mvt.Layer, points bool) []string {
	var codes []string
	for _, f := range l.Features {
		if _, isPoint := f.Geometry.(orb.Point); isPoint == points {
			codes = append(codes, f.Properties["code"].(string))
		}
	}
	sort.Strings(codes)
	return codes
}

func TestTilesDecodeAgainstPostGIS(t *testing.T) {
	e := newTileEnv(t, 0)
	labels := 0
	for _, id := range []tiles.ID{tileAt(116.41, 39.91, 14), tileAt(116.402, 39.918, 16), tileAt(116.43, 39.905, 12), tileAt(116.42, 39.91, 10)} {
		ls, _ := e.tile(t, "streets,communities,grids", id)
		if len(ls) != 3 || ls[0].Name != "streets" || ls[1].Name != "communities" || ls[2].Name != "grids" {
			names := []string{}
			for _, l := range ls {
				names = append(names, l.Name)
			}
			t.Fatalf("tile %s layers %v, want streets, communities, grids", id, names)
		}
		for i, table := range []string{"streets", "communities", "unit_grids"} {
			l := ls[i]
			if l.Extent != tiles.Extent {
				t.Errorf("%s extent %d", l.Name, l.Extent)
			}
			got, want := layerCodes(l, false), e.oracleCodes(t, table, id)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("tile %s layer %s codes %v, PostGIS says %v", id, l.Name, got, want)
			}
			// Label points: one per feature whose label point is in the tile,
			// from the layer's label zoom on.
			gotLabels, wantLabels := layerCodes(l, true), []string(nil)
			if id.Z >= tiles.Lookup(l.Name).LabelMinZoom {
				wantLabels = e.oracleLabels(t, table, id)
			}
			labels += len(gotLabels)
			if strings.Join(gotLabels, ",") != strings.Join(wantLabels, ",") {
				t.Errorf("tile %s layer %s label points %v, PostGIS says %v", id, l.Name, gotLabels, wantLabels)
			}
			for _, f := range l.Features {
				code := f.Properties["code"].(string)
				// Integer ids: the numeric code.
				if id, ok := f.ID.(float64); !ok || strconv.FormatFloat(id, 'f', 0, 64) != strings.TrimLeft(code, "0") {
					t.Errorf("%s feature %s has id %v, want the numeric code", l.Name, code, f.ID)
				}
				switch g := f.Geometry.(type) {
				case orb.Polygon, orb.MultiPolygon:
				case orb.Point:
					if g[0] < 0 || g[1] < 0 || g[0] > tiles.Extent || g[1] > tiles.Extent {
						t.Errorf("%s label point %s at %v, outside the tile proper", l.Name, code, g)
					}
				default:
					t.Errorf("%s feature %s geometry %T", l.Name, code, f.Geometry)
				}
				b := f.Geometry.Bound()
				lo, hi := float64(-tiles.Buffer), float64(tiles.Extent+tiles.Buffer)
				if b.Min[0] < lo || b.Min[1] < lo || b.Max[0] > hi || b.Max[1] > hi {
					t.Errorf("%s feature %s bound %v outside the extent and buffer", l.Name, code, b)
				}
				switch l.Name {
				case "grids":
					if f.Properties["community_code"] != code[:12] || f.Properties["street_code"] != code[:9] ||
						f.Properties["district_code"] != code[:6] || f.Properties["version"] == nil || f.Properties["area_m2"] == nil {
						t.Errorf("grid %s attributes %v", code, f.Properties)
					}
				default:
					if f.Properties["name"] == nil || f.Properties["parent_code"] != code[:len(code)-3] {
						t.Errorf("%s %s attributes %v", l.Name, code, f.Properties)
					}
				}
			}
		}
	}
	if labels == 0 {
		t.Error("no tile carried label points")
	}
	// A z16 grid tile places a grid where it is: grid 006 (116.405-116.410,
	// 39.910-39.915), clipped to the tile, lies within its square.
	id := tileAt(116.4075, 39.9125, 16)
	ls, _ := e.tile(t, "grids", id)
	ls.ProjectToWGS84(maptileOf(id))
	found := false
	for _, f := range ls[0].Features {
		if _, isPoint := f.Geometry.(orb.Point); f.Properties["code"] == "110101001007006" && !isPoint {
			found = true
			b, eps := f.Geometry.Bound(), 1e-5
			if b.Min[0] < 116.405-eps || b.Max[0] > 116.41+eps || b.Min[1] < 39.91-eps || b.Max[1] > 39.915+eps ||
				b.Max[0]-b.Min[0] < 0.001 || b.Max[1]-b.Min[1] < 0.001 {
				t.Errorf("grid 006 drawn over %v, want within 116.405-116.410, 39.910-39.915", b)
			}
		}
	}
	if !found {
		t.Errorf("z16 tile %s lacks grid 110101001007006", id)
	}
	// Below a layer's minimum zoom the layer is left out.
	ls, _ = e.tile(t, "districts,grids", tiles.ID{Z: 5, X: 26, Y: 12})
	if len(ls) != 1 || ls[0].Name != "districts" || len(ls[0].Features) != 1 { // no label below z6
		t.Errorf("z5 tile: %d layers, want districts alone with 1 feature", len(ls))
	}
}

func TestTileErrorsAndHTTP(t *testing.T) {
	e := newTileEnv(t, 0)
	id := tileAt(116.41, 39.91, 14)
	url := fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", e.ts.URL, id.Z, id.X, id.Y)
	bad := []struct {
		path   string
		status int
		want   []string
	}{
		{"/tiles/grids,roads/14/0/0.mvt", 400, []string{`"invalid"`, `unknown layer \"roads\"`, "districts,streets,communities,mgmt_grids,social_grids,grids"}},
		{"/tiles/grids/23/0/0.mvt", 400, []string{`"invalid"`, "zoom 23 is outside 0..22"}},
		{"/tiles/grids/-1/0/0.mvt", 400, []string{"zoom -1"}},
		{"/tiles/grids/3/8/0.mvt", 404, []string{`"not_found"`, "x and y run from 0 to 7"}},
		{"/tiles/grids/3/0/9.mvt", 404, []string{"tile 3/0/9"}},
		{"/tiles/grids/3/a/0.mvt", 400, []string{`column \"a\"`}},
		{"/tiles/nope.json", 400, []string{"valid layers"}},
		{"/fonts/Noto%20Sans%20Regular/0-254.pbf", 400, []string{"glyph range"}},
		{"/v1/search?code=999999", 404, []string{`"not_found"`, "999999"}},
		{"/v1/search", 400, []string{"code"}},
	}
	for _, b := range bad {
		r := fetch(t, e.ts.URL+b.path, nil)
		if r.status != b.status {
			t.Errorf("%s: status %d, want %d: %s", b.path, r.status, b.status, r.body)
		}
		for _, w := range b.want {
			if !strings.Contains(string(r.body), w) {
				t.Errorf("%s: body lacks %s: %s", b.path, w, r.body)
			}
		}
	}

	first := fetch(t, url, nil)
	etag := first.header.Get("ETag")
	if first.status != 200 || etag == "" || first.header.Get("X-Tile-Cache") != "miss" ||
		first.header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" ||
		first.header.Get("Access-Control-Allow-Origin") != "*" || first.header.Get("Cache-Control") == "" {
		t.Fatalf("first fetch: %d %v", first.status, first.header)
	}
	again := fetch(t, url, map[string]string{"If-None-Match": etag})
	if again.status != http.StatusNotModified || len(again.body) != 0 || again.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("revalidation: %d %v, want 304 from the cache", again.status, again.header)
	}
	// The cache compresses a tile soon after caching it; each coding has
	// its own ETag (tiles_encoding_test.go checks every coding).
	gridsLayer, _ := tiles.ParseLayers("grids")
	if cached, hit, err := e.svc.Tile(e.ctx, gridsLayer, id); err != nil || !hit {
		t.Fatalf("tile not cached: %v", err)
	} else {
		<-cached.Ready()
	}
	gz := fetch(t, url, map[string]string{"Accept-Encoding": "gzip"})
	if gz.header.Get("Content-Encoding") != "gzip" || gz.header.Get("ETag") == etag || gz.header.Get("ETag") == "" {
		t.Fatalf("gzip: %v", gz.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, first.body) {
		t.Errorf("gzipped body differs from the plain one")
	}
	if r := fetch(t, url, map[string]string{"Accept-Encoding": "gzip;q=0"}); r.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still got gzip")
	}
	head, _ := http.NewRequest(http.MethodHead, url, nil)
	if resp, err := http.DefaultClient.Do(head); err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	pre, _ := http.NewRequest(http.MethodOptions, url, nil)
	pre.Header.Set("Origin", "https://dashboard.example")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// TileJSON.
	var tj struct {
		TileJSON     string    `json:"tilejson"`
		Tiles        []string  `json:"tiles"`
		MinZoom      int       `json:"minzoom"`
		Bounds       []float64 `json:"bounds"`
		Center       []float64 `json:"center"`
		VectorLayers []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	r := fetch(t, e.ts.URL+"/tiles/grids,streets.json", nil)
	if err := json.Unmarshal(r.body, &tj); err != nil {
		t.Fatalf("tilejson: %v: %s", err, r.body)
	}
	if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || tj.Tiles[0] != e.ts.URL+"/tiles/streets,grids/{z}/{x}/{y}.mvt" ||
		tj.MinZoom != 8 || len(tj.VectorLayers) != 2 || tj.VectorLayers[1].Fields["community_code"] != "String" {
		t.Errorf("tilejson %s", r.body)
	}
	if len(tj.Bounds) != 4 || tj.Bounds[0] != 116.40 || tj.Bounds[2] != 116.44 || tj.Bounds[3] != 39.92 || tj.Center[2] < 10 {
		t.Errorf("tilejson bounds %v center %v", tj.Bounds, tj.Center)
	}

	// The style names only gridd's own source and glyphs.
	var style struct {
		Version int                       `json:"version"`
		Glyphs  string                    `json:"glyphs"`
		Sources map[string]map[string]any `json:"sources"`
		Layers  []map[string]any          `json:"layers"`
	}
	r = fetch(t, e.ts.URL+"/styles/gridd.json", nil)
	if err := json.Unmarshal(r.body, &style); err != nil {
		t.Fatal(err)
	}
	if style.Version != 8 || style.Glyphs != e.ts.URL+"/fonts/{fontstack}/{range}.pbf" || len(style.Sources) != 1 ||
		style.Sources["gridd"]["url"] != e.ts.URL+"/tiles/districts,streets,communities,mgmt_grids,social_grids,grids,components.json" {
		t.Errorf("style %s", r.body[:min(len(r.body), 600)])
	}
	for _, l := range style.Layers {
		if src, ok := l["source"]; ok && src != "gridd" {
			t.Errorf("style layer %v uses source %v", l["id"], src)
		}
	}

	// Glyphs for the digits of the grid codes.
	g := fetch(t, e.ts.URL+"/fonts/Noto%20Sans%20Regular/0-255.pbf", nil)
	if g.status != 200 || len(g.body) < 10000 {
		t.Errorf("glyphs 0-255: %d, %d bytes", g.status, len(g.body))
	}

	// Search finds divisions and grids.
	for code, kind := range map[string]string{"110101001008": "community", "110101001007016": "grid", "110101": "district"} {
		var p struct {
			Kind string    `json:"kind"`
			BBox []float64 `json:"bbox"`
		}
		r := fetch(t, e.ts.URL+"/v1/search?code="+code, nil)
		if err := json.Unmarshal(r.body, &p); err != nil || p.Kind != kind || len(p.BBox) != 4 || p.BBox[0] < 116.39 {
			t.Errorf("search %s: %s", code, r.body)
		}
	}
	// The map page and its bundle.
	page := fetch(t, e.ts.URL+"/map", nil)
	if page.status != 200 || !strings.Contains(string(page.body), "/map/assets/map.js") {
		t.Errorf("map page: %d %s", page.status, page.body)
	}

	// Hits: four fetches from the cache and the test's own look-up.
	m := fetch(t, e.ts.URL+"/metrics", nil)
	for _, w := range []string{"gridd_tile_cache_hits_total 5", "gridd_tile_renders_total", "gridd_tile_capped_total 0", "gridd_tile_cache_tiles"} {
		if !strings.Contains(string(m.body), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// TestTileSizeCap: a tile over the cap is rendered coarser and counted.
func TestTileSizeCap(t *testing.T) {
	e := newTileEnv(t, 1500)
	id := tileAt(116.42, 39.91, 13)
	ls, r := e.tile(t, "communities,grids", id)
	st := e.svc.Stats()
	if st.Capped != 1 {
		t.Fatalf("capped %d, want 1 (tile of %d bytes)", st.Capped, len(r.body))
	}
	if want := e.oracleCodes(t, "unit_grids", id); ls[1].Extent != 1024 || len(layerCodes(ls[1], false)) != len(want) {
		t.Errorf("coarse tile: extent %d, %d grids, want 1024 and all %d", ls[1].Extent, len(layerCodes(ls[1], false)), len(want))
	}
	m := fetch(t, e.ts.URL+"/metrics", nil)
	if !strings.Contains(string(m.body), "gridd_tile_capped_total 1") {
		t.Errorf("metrics lack the capped count")
	}
}

// TestTileFreshAfterEdit: an edit through SQL reaches the cache through the
// change feed; the changed tile is rendered anew, a far tile stays cached.
func TestTileFreshAfterEdit(t *testing.T) {
	e := newTileEnv(t, 0)
	// This test moves single grids with raw SQL to probe exactly which tiles an
	// extent touches, which leaves gaps the partition guard would refuse. The
	// guard has its own tests (grids/postgis/edit_test.go); here it is off.
	if _, err := e.st.Pool().Exec(e.ctx, `ALTER TABLE unit_grids
		DISABLE TRIGGER gridd_partition_guard_ins, DISABLE TRIGGER gridd_partition_guard_upd`); err != nil {
		t.Fatal(err)
	}
	go e.st.Listen(e.ctx, 200*time.Millisecond, func(c grids.Change) { e.svc.Apply(c) }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)

	// Grid 110101001007001 is the north-west corner: 116.400-116.405, 39.915-39.920.
	near := tileAt(116.4025, 39.9175, 16)
	far := tileAt(116.4375, 39.9025, 16)
	neighbour := tileAt(116.4025, 39.9175+0.006, 16) // the next tile north: the grid's top edge is within its buffer
	if near == far || near == neighbour {
		t.Fatal("test tiles coincide")
	}
	version := func(ls mvt.Layers, code string) any {
		for _, f := range ls[0].Features {
			if _, isPoint := f.Geometry.(orb.Point); f.Properties["code"] == code && !isPoint {
				return f.Properties["version"]
			}
		}
		return nil
	}
	ls, _ := e.tile(t, "grids", near)
	if v := version(ls, "110101001007001"); fmt.Sprint(v) != "1" {
		t.Fatalf("grid 001 version %v before the edit", v)
	}
	e.tile(t, "grids", far)
	e.tile(t, "communities,grids", far)
	e.tile(t, "streets", near) // another layer's tile of the same square
	if _, r := e.tile(t, "grids", far); r.header.Get("X-Tile-Cache") != "hit" {
		t.Fatal("far tile not cached")
	}
	before := e.svc.Stats()

	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE unit_grids SET version = 2,
		geom = ST_MakeEnvelope(116.400, 39.915, 116.404, 39.920, 4326) WHERE code = '110101001007001'`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.Stats().Invalidations == before.Invalidations {
		if time.Now().After(deadline) {
			t.Fatal("no invalidation within 5 s of the commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := e.svc.Stats()
	if after.Dropped != before.Dropped+1 {
		t.Errorf("dropped %d tiles, want exactly 1 (the near grids tile)", after.Dropped-before.Dropped)
	}
	ls, r := e.tile(t, "grids", near)
	if r.header.Get("X-Tile-Cache") != "miss" || fmt.Sprint(version(ls, "110101001007001")) != "2" {
		t.Errorf("near tile after the edit: cache %s, grid version %v, want a fresh render with version 2",
			r.header.Get("X-Tile-Cache"), version(ls, "110101001007001"))
	}
	for _, layers := range []string{"grids", "communities,grids"} {
		if _, r := e.tile(t, layers, far); r.header.Get("X-Tile-Cache") != "hit" {
			t.Errorf("far %s tile was dropped by an edit that does not touch it", layers)
		}
	}
	if _, r := e.tile(t, "streets", near); r.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("streets tile dropped by a grid edit")
	}
	if got := e.svc.Stats().Hits - after.Hits; got != 3 {
		t.Errorf("%d cache hits after the edit, want 3", got)
	}

	// An edit that ends just short of the next tile's edge reaches that tile
	// through its buffer; the tile after it stays cached.
	nb := tiles.ID{Z: near.Z, X: near.X + 1, Y: near.Y}
	beyond := tiles.ID{Z: near.Z, X: near.X + 2, Y: near.Y}
	w := nb.LonLatBound().Min[0]
	e.tile(t, "grids", nb)
	e.tile(t, "grids", beyond)
	before = e.svc.Stats()
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE unit_grids SET version = 3,
		geom = ST_MakeEnvelope($1::float8 - 0.001, 39.915, $1::float8 - 0.00001, 39.920, 4326) WHERE code = '110101001007001'`, w); err != nil {
		t.Fatal(err)
	}
	for e.svc.Stats().Invalidations == before.Invalidations {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(strings.Join(e.oracleCodes(t, "unit_grids", nb), ","), "110101001007001") {
		t.Fatal("PostGIS does not put grid 001 in the next tile's buffer; the test geometry is wrong")
	}
	ls, r = e.tile(t, "grids", nb)
	if r.header.Get("X-Tile-Cache") != "miss" || fmt.Sprint(version(ls, "110101001007001")) != "3" {
		t.Errorf("next tile after an edit in its buffer: cache %s, grid 001 version %v, want a fresh render with version 3",
			r.header.Get("X-Tile-Cache"), version(ls, "110101001007001"))
	}
	if _, r := e.tile(t, "grids", beyond); r.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("tile two columns away was dropped")
	}

	// TileJSON bounds follow the data.
	boundsOf := func() []float64 {
		var tj struct {
			Bounds []float64 `json:"bounds"`
		}
		json.Unmarshal(fetch(t, e.ts.URL+"/tiles/grids.json", nil).body, &tj) //nolint:errcheck
		return tj.Bounds
	}
	if b := boundsOf(); len(b) != 4 || b[2] != 116.44 {
		t.Fatalf("grids bounds %v before the insert", b)
	}
	before = e.svc.Stats()
	if _, err := e.st.Pool().Exec(e.ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		VALUES ('110101001008017', '110101001008', '110101001', '110101', ST_MakeEnvelope(116.44, 39.90, 116.445, 39.905, 4326), 1)`); err != nil {
		t.Fatal(err)
	}
	for e.svc.Stats().Invalidations == before.Invalidations {
		time.Sleep(20 * time.Millisecond)
	}
	if b := boundsOf(); len(b) != 4 || b[2] != 116.445 {
		t.Errorf("grids bounds %v after a grid east of them was added, want east edge 116.445", b)
	}
}

func maptileOf(id tiles.ID) maptile.Tile {
	return maptile.New(uint32(id.X), uint32(id.Y), maptile.Zoom(id.Z))
}

// BenchmarkWarmTile measures the cached-tile path over HTTP (go test -bench).
func BenchmarkWarmTile(b *testing.B) {
	e := newTileEnvB(b)
	id := tileAt(116.41, 39.91, 14)
	url := fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", e.ts.URL, id.Z, id.X, id.Y)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
		}
	})
}
