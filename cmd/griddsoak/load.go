package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kinds are the kinds of request the soak sends, in report order.
var kinds = []string{"lookup", "batch", "tile-warm", "tile-cold", "grid-list", "move", "revert",
	"comp-get", "comp-put", "comp-create", "import-cli", serverKind}

// Request rates at -load 1, per second. Reads leave room on a shared
// two-core machine; writes are a busy editing office.
const (
	lookupRate     = 400
	batchRate      = 2
	batchPoints    = 1000
	warmTileRate   = 100
	coldTileRate   = 10
	editRate       = 0.5 // vertex move + revert rounds
	compPutRate    = 2
	compCreateRate = 0.5
	importEvery    = 15 * time.Second
	importFeatures = 25
)

// workload is what the workers need: points inside the district, the
// communities edited, the components replaced, and the district's extent.
type workload struct {
	c       *client
	gridd   string
	dbURL   string
	dir     string
	inside  [][2]float64 // points the index says are in a grid
	bbox    [4]float64
	editing []string // communities whose grids are edited
	comps   []string // components replaced with If-Match
	stats   *stats
	opt     options
}

// prepare reads what the load needs through the API.
func prepare(ctx context.Context, c *client, gridd, dbURL string) (*workload, error) {
	w := &workload{c: c, gridd: gridd, dbURL: dbURL}
	var district struct {
		Geometry struct {
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	if err := c.getJSON(ctx, "/v1/divisions/110101", c.field, &district); err != nil {
		return nil, err
	}
	w.bbox = [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, poly := range district.Geometry.Coordinates {
		for _, ring := range poly {
			for _, p := range ring {
				w.bbox = [4]float64{min(w.bbox[0], p[0]), min(w.bbox[1], p[1]), max(w.bbox[2], p[0]), max(w.bbox[3], p[1])}
			}
		}
	}
	// Points inside grids, from one batch lookup of random points.
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([][2]float64, 20000)
	for i := range pts {
		pts[i] = [2]float64{w.bbox[0] + rng.Float64()*(w.bbox[2]-w.bbox[0]), w.bbox[1] + rng.Float64()*(w.bbox[3]-w.bbox[1])}
	}
	body, _ := json.Marshal(map[string]any{"points": pts})
	var res struct {
		Results []*struct {
			Community struct {
				Code string `json:"code"`
			} `json:"community"`
		} `json:"results"`
	}
	if err := c.postJSON(ctx, "/v1/lookup", c.field, body, &res); err != nil {
		return nil, err
	}
	communities := map[string]bool{}
	for i, r := range res.Results {
		if r != nil {
			w.inside = append(w.inside, pts[i])
			communities[r.Community.Code] = true
		}
	}
	if len(w.inside) < 1000 {
		return nil, fmt.Errorf("only %d of 20000 random points fell in a grid", len(w.inside))
	}
	codes := make([]string, 0, len(communities))
	for code := range communities {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	// Four communities spread over the list are edited; components of
	// two others are replaced, so grid edits never move them.
	for i := 0; i < 4; i++ {
		w.editing = append(w.editing, codes[i*len(codes)/4])
	}
	for _, cc := range []string{codes[len(codes)/8], codes[3*len(codes)/8]} {
		var page struct {
			Features []struct {
				ID string `json:"id"`
			} `json:"features"`
		}
		if err := c.getJSON(ctx, "/v1/components?limit=20&community="+cc, c.field, &page); err != nil {
			return nil, err
		}
		for _, f := range page.Features {
			w.comps = append(w.comps, f.ID)
		}
	}
	if len(w.comps) == 0 {
		return nil, errors.New("no components to replace in the demo data")
	}
	dir, err := os.MkdirTemp("", "griddsoak-")
	if err != nil {
		return nil, err
	}
	w.dir = dir
	fmt.Fprintf(os.Stderr, "griddsoak: %d points inside grids, editing communities %s, replacing %d components\n",
		len(w.inside), strings.Join(w.editing, " "), len(w.comps))
	return w, nil
}

func (c *client) getJSON(ctx context.Context, path, token string, v any) error {
	st, _, b, err := c.do(ctx, "GET", path, token, nil, nil)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("GET %s: %d %.300s", path, st, b)
	}
	return json.Unmarshal(b, v)
}

func (c *client) postJSON(ctx context.Context, path, token string, body []byte, v any) error {
	st, _, b, err := c.do(ctx, "POST", path, token, body, nil)
	if err != nil {
		return err
	}
	if st != 200 && st != 201 {
		return fmt.Errorf("POST %s: %d %.300s", path, st, b)
	}
	return json.Unmarshal(b, v)
}

// start launches the workers; each stops at ctx's end or after
// -max-requests iterations, whichever comes first.
func (w *workload) start(ctx context.Context, wg *sync.WaitGroup) {
	l := w.opt.load
	spawn := func(name string, seed uint64, rate float64, step func(ctx context.Context, rng *rand.Rand, i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
			period := time.Duration(float64(time.Second) / rate)
			next := time.Now()
			for i := 0; i < w.opt.maxRequests && ctx.Err() == nil; i++ {
				step(ctx, rng, i)
				next = next.Add(period)
				if d := time.Until(next); d > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(d):
					}
				} else if d < -time.Second {
					next = time.Now() // behind: do not burst to catch up
				}
			}
		}()
	}
	// Lookups and tiles run on several workers so that one slow answer
	// does not hold back the rate.
	for k := 0; k < 4; k++ {
		spawn("lookup", uint64(10+k), lookupRate*l/4, w.lookup)
	}
	spawn("batch", 20, batchRate*l, w.batch)
	for k := 0; k < 2; k++ {
		spawn("tile-warm", uint64(30+k), warmTileRate*l/2, w.warmTile)
	}
	spawn("tile-cold", 40, coldTileRate*l, w.coldTile)
	spawn("edit", 50, editRate*l, w.edit)
	spawn("comp-put", 60, compPutRate*l, w.replaceComponent)
	spawn("comp-create", 70, compCreateRate*l, w.createComponent)
	spawn("import-cli", 80, 1/importEvery.Seconds(), w.importCLI)
}

// maxAttempts bounds how often a request answered 503 with Retry-After
// (the server's "busy, repeat later") is sent.
const maxAttempts = 3

// call sends a request, times it and records it under kind; it returns the
// body when the status is one of those wanted. A 503 with Retry-After is
// repeated after the time it asks for, as clients are meant to, and counted
// as a retry; the latency is the whole wait. The request itself is not
// cancelled when the run ends: it finishes (within the client's timeout)
// and the worker stops after it.
func (w *workload) call(ctx context.Context, kind, method, path, token string, body []byte, hdr map[string]string, want ...int) ([]byte, map[string][]string, bool) {
	rctx := context.WithoutCancel(ctx)
	t := time.Now()
	for attempt := 1; ; attempt++ {
		st, h, b, err := w.c.do(rctx, method, path, token, body, hdr)
		if err != nil {
			w.stats.fail(kind, fmt.Sprintf("%s %s: %v", method, pathShape(path), err))
			return nil, nil, false
		}
		for _, s := range want {
			if st == s {
				w.stats.ok(kind, time.Since(t))
				return b, h, true
			}
		}
		secs, _ := strconv.Atoi(strings.Join(h["Retry-After"], ""))
		if st == http.StatusServiceUnavailable && secs > 0 && attempt < maxAttempts {
			w.stats.retry(kind, fmt.Sprintf("%s %s: %d %.200s", method, pathShape(path), st, strings.TrimSpace(string(b))))
			time.Sleep(time.Duration(min(secs, 10)) * time.Second)
			continue
		}
		w.stats.fail(kind, fmt.Sprintf("%s %s: %d %.200s", method, pathShape(path), st, strings.TrimSpace(string(b))))
		return nil, nil, false
	}
}

// pathShape is a path without its query and with numbers (codes, ids,
// tile addresses) as {n}, so that one kind of error is reported once
// whatever the point, component or tile.
func pathShape(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if n := strings.TrimSuffix(s, ".mvt"); n != "" && strings.Trim(n, "0123456789") == "" {
			parts[i] = "{n}" + s[len(n):]
		}
	}
	return strings.Join(parts, "/")
}

func (w *workload) point(rng *rand.Rand) [2]float64 { return w.inside[rng.IntN(len(w.inside))] }

func (w *workload) lookup(ctx context.Context, rng *rand.Rand, _ int) {
	p := w.point(rng)
	w.call(ctx, "lookup", "GET", fmt.Sprintf("/v1/lookup?lon=%.7f&lat=%.7f", p[0], p[1]), w.c.field, nil, nil, 200)
}

func (w *workload) batch(ctx context.Context, rng *rand.Rand, _ int) {
	pts := make([][2]float64, batchPoints)
	for i := range pts {
		pts[i] = w.point(rng)
	}
	body, _ := json.Marshal(map[string]any{"points": pts})
	w.call(ctx, "batch", "POST", "/v1/lookup", w.c.field, body, nil, 200)
}

// tileOf is the XYZ tile holding a point at a zoom.
func tileOf(lon, lat float64, z int) (int, int) {
	n := math.Exp2(float64(z))
	x := int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y := int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	return x, y
}

// The layer sets a map asks for; each is its own cache entry.
var tileLayers = []string{"grids", "grids,components", "districts,streets,communities", "components",
	"communities,grids", "mgmt_grids,grids", "streets,grids,components", "districts,streets,communities,grids,components"}

// warmTile asks for one of a few tiles a map shows all day: after the
// first time each, the cache answers (until an edit drops it).
func (w *workload) warmTile(ctx context.Context, rng *rand.Rand, _ int) {
	cx, cy := (w.bbox[0]+w.bbox[2])/2, (w.bbox[1]+w.bbox[3])/2
	z := 12 + rng.IntN(5)
	x, y := tileOf(cx, cy, z)
	x, y = x+rng.IntN(2), y+rng.IntN(2)
	w.tile(ctx, "tile-warm", tileLayers[rng.IntN(2)], z, x, y)
}

// coldTile asks for a random tile of the district at zoom 12 to 17 in one
// of several layer sets: most are not cached yet, or were evicted.
func (w *workload) coldTile(ctx context.Context, rng *rand.Rand, _ int) {
	z := 12 + rng.IntN(6)
	x0, y0 := tileOf(w.bbox[0], w.bbox[3], z)
	x1, y1 := tileOf(w.bbox[2], w.bbox[1], z)
	x, y := x0+rng.IntN(x1-x0+1), y0+rng.IntN(y1-y0+1)
	w.tile(ctx, "tile-cold", tileLayers[rng.IntN(len(tileLayers))], z, x, y)
}

func (w *workload) tile(ctx context.Context, kind, layers string, z, x, y int) {
	_, h, ok := w.call(ctx, kind, "GET", fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layers, z, x, y), w.c.field, nil,
		map[string]string{"Accept-Encoding": "gzip"}, 200)
	if ok {
		w.stats.tile(kind, strings.Join(h["X-Tile-Cache"], "") == "hit")
	}
}

// edit moves a vertex shared by three or more grids inside one of the
// edited communities by a few centimetres, then reverts the changeset: the
// grids go through new versions and come back to their shape.
func (w *workload) edit(ctx context.Context, rng *rand.Rand, i int) {
	community := w.editing[i%len(w.editing)]
	b, _, ok := w.call(ctx, "grid-list", "GET", "/v1/grids?community="+community, w.c.editor, nil, nil, 200)
	if !ok {
		return
	}
	var fc struct {
		Features []struct {
			Geometry struct {
				Coordinates [][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				Code    string `json:"code"`
				Version int    `json:"version"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		w.stats.fail("grid-list", err.Error())
		return
	}
	type ref struct {
		Code    string `json:"code"`
		Version int    `json:"version"`
	}
	at := map[[2]float64]map[ref]bool{}
	for _, f := range fc.Features {
		for _, ring := range f.Geometry.Coordinates {
			for _, p := range ring {
				if at[p] == nil {
					at[p] = map[ref]bool{}
				}
				at[p][ref{f.Properties.Code, f.Properties.Version}] = true
			}
		}
	}
	var junctions [][2]float64
	for p, gs := range at {
		if len(gs) >= 3 {
			junctions = append(junctions, p)
		}
	}
	if len(junctions) == 0 {
		w.stats.fail("move", "community "+community+" has no vertex shared by three grids")
		return
	}
	sort.Slice(junctions, func(a, b int) bool {
		return junctions[a][0] < junctions[b][0] || junctions[a][0] == junctions[b][0] && junctions[a][1] < junctions[b][1]
	})
	from := junctions[(i/len(w.editing))%len(junctions)]
	var refs []ref
	for r := range at[from] {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(a, b int) bool { return refs[a].Code < refs[b].Code })
	// About 3 cm east and 2 cm north or south.
	to := [2]float64{from[0] + 3e-7, from[1] + float64(1-2*rng.IntN(2))*2e-7}
	body, _ := json.Marshal(map[string]any{"message": "soak: move a vertex", "operations": []any{
		map[string]any{"op": "reshape", "grids": refs, "moves": []any{map[string]any{"from": from, "to": to}}}}})
	b, _, ok = w.call(ctx, "move", "POST", "/v1/changesets", w.c.editor, body, nil, 201)
	if !ok {
		return
	}
	var cs struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &cs); err != nil || cs.ID == 0 {
		w.stats.fail("move", fmt.Sprintf("changeset answer without an id: %.200s", b))
		return
	}
	// The move is always reverted, even when the run is ending.
	w.call(ctx, "revert", "POST", fmt.Sprintf("/v1/changesets/%d/revert", cs.ID), w.c.editor,
		[]byte(`{"message":"soak: move it back"}`), nil, 201)
}

// writableProps are the component properties a replace sends back.
var writableProps = []string{"code", "class_code", "legacy_code", "name", "dept_code", "dept_name", "owner_unit",
	"maint_unit", "status", "initial_date", "change_date", "data_source", "accuracy", "note"}

// replaceComponent reads a component with its ETag and replaces it with
// If-Match, flipping its status between intact and damaged.
func (w *workload) replaceComponent(ctx context.Context, rng *rand.Rand, i int) {
	code := w.comps[i%len(w.comps)]
	b, h, ok := w.call(ctx, "comp-get", "GET", "/v1/components/"+code, w.c.editor, nil, nil, 200)
	if !ok {
		return
	}
	var f struct {
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		w.stats.fail("comp-get", err.Error())
		return
	}
	props := map[string]any{}
	for _, k := range writableProps {
		if v, ok := f.Properties[k]; ok && v != "" && v != nil {
			props[k] = v
		}
	}
	if props["status"] == "damaged" {
		props["status"] = "intact"
	} else {
		props["status"] = "damaged"
	}
	props["note"] = fmt.Sprintf("soak %d", i)
	body, _ := json.Marshal(map[string]any{"type": "Feature", "geometry": f.Geometry, "properties": props})
	tag := strings.Join(h["Etag"], "")
	w.call(ctx, "comp-put", "PUT", "/v1/components/"+code+"?reason=soak", w.c.editor, body, map[string]string{"If-Match": tag}, 200)
}

// createComponent adds a street lamp at a point inside a grid.
func (w *workload) createComponent(ctx context.Context, rng *rand.Rand, i int) {
	p := w.point(rng)
	body, _ := json.Marshal(map[string]any{"type": "Feature",
		"geometry":   map[string]any{"type": "Point", "coordinates": p},
		"properties": map[string]any{"class_code": "01037", "name": fmt.Sprintf("soak lamp %d", i), "status": "intact"}})
	w.call(ctx, "comp-create", "POST", "/v1/components?reason=soak", w.c.editor, body, nil, 201)
}

// importCLI imports a small file of new litter bins with gridd import
// components, as a data clerk would.
func (w *workload) importCLI(ctx context.Context, rng *rand.Rand, i int) {
	type feature struct {
		Type       string            `json:"type"`
		Geometry   map[string]any    `json:"geometry"`
		Properties map[string]string `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection"}
	for k := 0; k < importFeatures; k++ {
		fc.Features = append(fc.Features, feature{Type: "Feature",
			Geometry:   map[string]any{"type": "Point", "coordinates": w.point(rng)},
			Properties: map[string]string{"class_code": "03005", "name": fmt.Sprintf("soak bin %d-%d", i, k)}})
	}
	b, _ := json.Marshal(fc)
	path := filepath.Join(w.dir, fmt.Sprintf("import-%d.geojson", i))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		w.stats.fail("import-cli", err.Error())
		return
	}
	defer os.Remove(path)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	t := time.Now()
	out, err := exec.CommandContext(cctx, w.gridd, "import", "components", "--db", w.dbURL, "--actor", "soak-clerk",
		"--reason", "soak import", path).CombinedOutput()
	if err != nil {
		w.stats.fail("import-cli", fmt.Sprintf("%v: %.300s", err, strings.TrimSpace(string(out))))
		return
	}
	w.stats.ok("import-cli", time.Since(t))
}
