package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/grids"
)

// The fuzz targets here run over their seeds and the committed corpus
// (testdata/fuzz/<name>) in every go test; make fuzz explores further.

// FuzzBatchRequest feeds POST /v1/lookup bodies to the hand-written batch
// parser: no panic, refusals are 400s, and it agrees with encoding/json and
// strconv.ParseFloat: what it accepts they read the same, bit for bit, and
// what they read as a well-formed batch it accepts (bodies naming a member
// twice aside: encoding/json keeps the last, the parser checks each).
func FuzzBatchRequest(f *testing.F) {
	for _, s := range []string{
		`{"points":[[116.397,39.908],[116.4,39.9]]}`,
		`{"crs":"gcj02","points":[[116.397,39.908]],"accuracy_m":5,"max_snap_m":null}`,
		` { "points" : [ [ -180 , -90 ] , [180,90] ] , "crs" : null } `,
		`{"points":[]}`, `{"points":null}`, `{}`, `[]`, `null`, ``,
		`{"points":[[1e2,-0],[0.000000000000001,-0.0]]}`,
		`{"points":[[116.12345678901234567890,39.9],[1E-7,2e+1]]}`,
		`{"points":[[0x1p7,1]]}`, `{"points":[[1_0,1]]}`, `{"points":[[.5,1]]}`, `{"points":[[01,1]]}`, `{"points":[[+1,1]]}`,
		`{"points":[[1,2,3]]}`, `{"points":[[1]]}`, `{"points":[["1",2]]}`, `{"points":[[1,2]]} x`, `{"points":[[1,2]]}}`,
		`{"extra":{"a":[1,2,"x"]},"points":[[1,2]]}`,
		`{"points":[[200,1]]}`, `{"points":[[1,91]]}`, `{"points":[[1e400,1]]}`, `{"points":[[Infinity,1]]}`,
		`{"\u0070oints":[[1,2]]}`, `{"POINTS":[[1,2]]}`, `{"points":[[1,2]],"points":[[3,4]]}`,
		`{"points":[[1,2]],"accuracy_m":"5"}`, `{"points":[[1,2]],"crs":5}`,
		string(BatchBody([]orb.Point{{116.3971234, 39.9087654}, {-0.5, 0.25}}, 7)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseBatchRequest(b)
		ref, refErr := referenceBatch(b)
		if err != nil {
			var inv *grids.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("%q: %v is not an InvalidError", b, err)
			}
			if refErr == nil && !duplicateMembers(b) {
				t.Fatalf("refused %q (%v), which encoding/json and strconv read as %+v", b, err, ref)
			}
			return
		}
		if refErr != nil {
			t.Fatalf("accepted %q as %+v; encoding/json and strconv: %v", b, req, refErr)
		}
		if len(req.Points) != len(ref.Points) {
			t.Fatalf("%q: %d points, encoding/json %d", b, len(req.Points), len(ref.Points))
		}
		for i := range req.Points {
			for k := 0; k < 2; k++ {
				if math.Float64bits(req.Points[i][k]) != math.Float64bits(ref.Points[i][k]) {
					t.Fatalf("%q: points[%d][%d] read as %v, strconv.ParseFloat gives %v", b, i, k, req.Points[i][k], ref.Points[i][k])
				}
			}
		}
		if req.CRS != ref.CRS || !sameOptional(req.AccuracyM, ref.AccuracyM) || !sameOptional(req.MaxSnapM, ref.MaxSnapM) {
			t.Fatalf("%q: read as %+v, encoding/json %+v", b, req, ref)
		}
		// The same pairs, as written, repeated past the size from which
		// the parser reads the array in two halves in parallel.
		var m map[string]json.RawMessage
		json.Unmarshal(b, &m) //nolint:errcheck // read above
		inner := bytes.TrimSpace(m["points"])
		inner = bytes.TrimSpace(inner[1 : len(inner)-1])
		if len(inner) == 0 {
			return
		}
		k := (1<<18)/len(inner) + 2
		if k*len(req.Points) > MaxBatchPoints {
			return
		}
		big := []byte(`{"points":[`)
		for i := range k {
			if i > 0 {
				big = append(big, ',')
			}
			big = append(big, inner...)
		}
		big = append(big, "]}"...)
		breq, err := parseBatchRequest(big)
		if err != nil || len(breq.Points) != k*len(req.Points) {
			t.Fatalf("%d copies of the points of %q: %d points, %v", k, b, len(breq.Points), err)
		}
		for i, p := range breq.Points {
			if q := req.Points[i%len(req.Points)]; math.Float64bits(p[0]) != math.Float64bits(q[0]) || math.Float64bits(p[1]) != math.Float64bits(q[1]) {
				t.Fatalf("%d copies of the points of %q: points[%d] = %v, want %v", k, b, i, p, q)
			}
		}
	})
}

// referenceBatch reads a batch body with encoding/json and strconv: an
// object whose "points" is an array of [lon, lat] arrays of two JSON
// numbers that ParseFloat reads within [-180, 180] and [-90, 90]; "crs" a
// string, "accuracy_m" and "max_snap_m" numbers (each may be null); no
// other member.
func referenceBatch(b []byte) (batchRequest, error) {
	var req batchRequest
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return req, err
	}
	for name := range m {
		switch name {
		case "points", "crs", "accuracy_m", "max_snap_m":
		default:
			return req, fmt.Errorf("unknown member %q", name)
		}
	}
	raw, ok := m["points"]
	if !ok || string(raw) == "null" {
		return req, errors.New("no points")
	}
	var pts []json.RawMessage
	if err := json.Unmarshal(raw, &pts); err != nil {
		return req, err
	}
	if len(pts) > MaxBatchPoints {
		return req, errors.New("too many points")
	}
	req.Points = make([]orb.Point, 0, len(pts))
	for i, p := range pts {
		var nums []json.RawMessage
		if p[0] != '[' {
			return req, fmt.Errorf("points[%d] is not an array", i)
		}
		if err := json.Unmarshal(p, &nums); err != nil {
			return req, err
		}
		if len(nums) != 2 {
			return req, fmt.Errorf("points[%d] has %d members", i, len(nums))
		}
		var pt orb.Point
		for k, n := range nums {
			if n[0] != '-' && (n[0] < '0' || n[0] > '9') {
				return req, fmt.Errorf("points[%d][%d] is not a number", i, k)
			}
			v, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return req, err
			}
			pt[k] = v
		}
		if math.Abs(pt[0]) > 180 || math.Abs(pt[1]) > 90 {
			return req, fmt.Errorf("points[%d] out of range", i)
		}
		req.Points = append(req.Points, pt)
	}
	for name, v := range map[string]any{"crs": &req.CRS, "accuracy_m": &req.AccuracyM, "max_snap_m": &req.MaxSnapM} {
		if raw, ok := m[name]; ok {
			if err := json.Unmarshal(raw, v); err != nil {
				return req, err
			}
		}
	}
	return req, nil
}

// duplicateMembers reports whether the top-level object names a member
// twice (or is not an object that encoding/json can walk).
func duplicateMembers(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return true
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		name, _ := tok.(string)
		if seen[name] {
			return true
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return true
		}
	}
	return false
}

func sameOptional(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Float64bits(*a) == math.Float64bits(*b)
}

// plainNumber is the grammar parseNumber takes, checked by hand.
func plainNumber(s string) bool {
	i := 0
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// FuzzQueryParams reads query strings with the shared query-parameter
// parsers (params.go) as the OGC items, components and lookup endpoints
// do: no panic, refusals are 400s naming a parameter, and what is accepted
// holds: numbers are plain decimals that strconv reads the same, boxes lie
// in range with min ≤ max, limits and offsets in their ranges, statuses in
// their list, datetimes ordered and refused as not served, and no parameter
// unknown, repeated, holding NUL or invalid UTF-8.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{
		"lon=116.397&lat=39.908", "lon=0x1p7&lat=39.9", "lon=inf&lat=nan", "lon=1_000&lat=+5", "lon=.5&lat=5.",
		"lon=116.4&lat=39.9&crs=gcj02&accuracy_m=5&max_snap_m=0", "lon=116.4&lon=116.5&lat=39.9", "lon=116.4&lat=39.9&x=1",
		"bbox=116.3,39.8,116.5,40&limit=10&offset=20", "bbox=NaN,1,2,3", "bbox=1,2,3", "bbox=2,1,1,2", "bbox=-181,0,0,1",
		"crs=bogus", "bbox-crs=bogus", "bbox=1,1,2,2&bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84", "bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84",
		"datetime=garbage", "datetime=2026-01-01T00:00:00Z/2025-01-01T00:00:00Z", "datetime=../2026-03-01", "datetime=2026-03-01",
		"limit=0", "limit=99999999999999999999999", "offset=-1", "limit=1e3", "f=html", "f=json",
		"status=bogus", "status=intact&class=01010&code=11010110&limit=1000", "grid=110101001007003&community=110101001007&after=1",
		"name=%00", "lon=%ff&lat=1", "%zz=1", "a=1;b=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query(): malformed pairs are dropped
		var inv *grids.InvalidError
		invalid := func(what string, err error) {
			if !errors.As(err, &inv) || inv.Field == "" {
				t.Fatalf("%s(%q): %v is not an InvalidError naming a parameter", what, raw, err)
			}
		}
		clean := func(allowed []string) {
			for name, vs := range q {
				if !oneOfNames(name, allowed) || len(vs) != 1 || strings.IndexByte(vs[0], 0) >= 0 || !utf8.ValidString(vs[0]) {
					t.Fatalf("%q accepted with parameter %q = %q", raw, name, vs)
				}
			}
		}
		for _, vs := range q {
			for _, v := range vs {
				x, ok := parseNumber(v)
				ref, err := strconv.ParseFloat(v, 64)
				if want := plainNumber(v) && err == nil; ok != want || (ok && math.Float64bits(x) != math.Float64bits(ref)) {
					t.Fatalf("parseNumber(%q) = %v, %v; strconv: %v, %v", v, x, ok, ref, err)
				}
			}
		}

		fq, err := featureQuery(q)
		if err != nil {
			invalid("featureQuery", err)
		} else {
			clean(ogcItemsParams)
			if fq.Limit < 1 || fq.Limit > ogcMaxLimit || fq.Offset < 0 || fq.Offset > math.MaxInt32 || q.Get("datetime") != "" {
				t.Fatalf("featureQuery(%q) = %+v", raw, fq)
			}
			checkBox(t, raw, fq.BBox, q.Get("bbox") != "")
		}

		cq, err := componentQuery(q)
		if err != nil {
			invalid("componentQuery", err)
		} else {
			clean(componentParams)
			if cq.Limit < 1 || cq.Limit > 1000 || (cq.Status != "" && !oneOfNames(cq.Status, grids.ComponentStatuses)) ||
				strings.Trim(cq.CodePrefix+cq.ClassCode+cq.GridCode+cq.CommunityCode+cq.After, "0123456789") != "" {
				t.Fatalf("componentQuery(%q) = %+v", raw, cq)
			}
			checkBox(t, raw, cq.BBox, q.Get("bbox") != "")
		}

		// GET /v1/lookup reads its query so.
		if err := checkParams(q, lookupParams...); err != nil {
			invalid("checkParams", err)
			return
		}
		clean(lookupParams)
		lon, err1 := floatParam(q, "lon", true)
		lat, err2 := floatParam(q, "lat", true)
		for _, err := range []error{err1, err2} {
			if err != nil {
				invalid("floatParam", err)
			}
		}
		if err1 == nil && err2 == nil {
			if _, ok := parseNumber(q.Get("lon")); !ok {
				t.Fatalf("lon %q accepted", q.Get("lon"))
			}
			if err := checkLonLat("", lon, lat); err == nil && (math.Abs(lon) > 180 || math.Abs(lat) > 90) {
				t.Fatalf("lon %v, lat %v accepted", lon, lat)
			}
		}
		opt, err := lookupOptions(q)
		if err != nil {
			invalid("lookupOptions", err)
		} else if opt.AccuracyM < 0 || opt.AccuracyM > 10_000 || (opt.MaxSnapM != -1 && (opt.MaxSnapM < 0 || opt.MaxSnapM > 10_000)) {
			t.Fatalf("lookupOptions(%q) = %+v", raw, opt)
		}
		if d := q.Get("datetime"); d != "" {
			start, end, err := parseDateTime(d)
			if err != nil {
				invalid("parseDateTime", err)
			} else if start != nil && end != nil && end.Before(*start) {
				t.Fatalf("parseDateTime(%q) = %v .. %v", d, start, end)
			}
		}
	})
}

// checkBox checks an accepted bbox: given exactly when the query has one
// (an empty value, like every empty parameter, is none), within lon/lat
// range, min ≤ max.
func checkBox(t *testing.T, raw string, b *orb.Bound, given bool) {
	t.Helper()
	if (b != nil) != given {
		t.Fatalf("%q: bbox %v", raw, b)
	}
	if b != nil && !(b.Min[0] >= -180 && b.Max[0] <= 180 && b.Min[1] >= -90 && b.Max[1] <= 90 && b.Min[0] <= b.Max[0] && b.Min[1] <= b.Max[1]) {
		t.Fatalf("%q: bbox %v accepted", raw, *b)
	}
}

// FuzzGridFeature reads grid Features (PUT /v1/grids/{code} and the OGC
// API's grid edits) as the handlers do, through the body policy, and checks
// their polygon as the editor does: no panic; refusals are 400s naming a
// field; accepted coordinates are finite; a polygon accepted for an edit,
// sent again as gridd writes it, is read back bit for bit and accepted.
func FuzzGridFeature(f *testing.F) {
	for _, s := range []string{
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]},"properties":{"message":"m","land_use":"park"}}`,
		`{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]]},"properties":{}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.901],[116.401,39.9],[116.4,39.901],[116.4,39.9]]]},"properties":{}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.901]]]},"properties":{}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9,1e400],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9,"zz",{}],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9,5],[116.401,39.9,5],[116.401,39.901,5],[116.4,39.9,5]]]}}`,
		`{"type":"Feature","geometry":null,"properties":{"note":"a\u0000b"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9]},"properties":{"message":123}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[]},"extra":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var body gridFeatureBody
		var inv *grids.InvalidError
		if err := decodeJSON(b, &body); err != nil {
			if !errors.As(err, &inv) || inv.Field == "" {
				t.Fatalf("%q: %v is not an InvalidError naming a field", b, err)
			}
			return
		}
		if body.Geometry == nil {
			return
		}
		var p orb.Polygon
		switch g := body.Geometry.Geometry().(type) {
		case orb.Polygon:
			p = g
		case orb.MultiPolygon:
			if len(g) != 1 {
				return
			}
			p = g[0]
		default:
			return
		}
		for _, r := range p {
			for _, pt := range r {
				if math.IsNaN(pt[0]) || math.IsInf(pt[0], 0) || math.IsNaN(pt[1]) || math.IsInf(pt[1], 0) {
					t.Fatalf("%q: coordinate %v accepted", b, pt)
				}
			}
		}
		if err := grids.CheckGridPolygon("geometry", p); err != nil {
			if !errors.As(err, &inv) || inv.Field != "geometry" {
				t.Fatalf("%q: %v is not an InvalidError naming the geometry", b, err)
			}
			return
		}
		again, err := json.Marshal(map[string]any{"type": "Feature", "geometry": geojson.NewGeometry(p), "properties": map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		var back gridFeatureBody
		if err := decodeJSON(again, &back); err != nil {
			t.Fatalf("%s, written from an accepted polygon, is refused: %v", again, err)
		}
		q, ok := back.Geometry.Geometry().(orb.Polygon)
		if !ok || len(q) != len(p) {
			t.Fatalf("%s reads back as %v", again, back.Geometry.Geometry())
		}
		for i := range p {
			for j := range p[i] {
				if len(q[i]) != len(p[i]) || math.Float64bits(q[i][j][0]) != math.Float64bits(p[i][j][0]) || math.Float64bits(q[i][j][1]) != math.Float64bits(p[i][j][1]) {
					t.Fatalf("%s reads back as %v", again, q)
				}
			}
		}
		if err := grids.CheckGridPolygon("geometry", q); err != nil {
			t.Fatalf("%s, accepted once, is refused: %v", again, err)
		}
	})
}

// FuzzChangesetBody feeds POST /v1/changesets bodies to the strict decoder:
// no panic, every refusal is a 400 naming a field, and whatever it accepts
// encoding/json (with unknown fields refused) reads too, with the same
// operations. NUL and invalid UTF-8, which encoding/json lets through or
// mends, are what the strict decoder refuses beyond it.
func FuzzChangesetBody(f *testing.F) {
	for _, s := range []string{
		`{"message":"m","operations":[{"op":"merge","grids":[{"code":"110101001007001","version":1},{"code":"110101001007002","version":1}]}]}`,
		`{"message":"m","operations":[{"op":"split","grids":[{"code":"110101001007001","version":2}],"line":{"type":"LineString","coordinates":[[116.4,39.9],[116.41,39.91]]}}]}`,
		`{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007001","version":1}],"geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}}]}`,
		`{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007001","version":1}],"geometry":{"type":"Polygon","coordinates":[[[116.4,39.9,1,2],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}}]}`,
		`{"message":"m","operations":[{"op":"merge","grids":[{"code":"110101001007001","version":1.5}]}]}`,
		`{"message":"m","message":"n","operations":[]}`,
		`{"message":"a\u0000b","operations":[]}`,
		`{"message":"m","operations":[],"extra":true}`,
		`{"message":"m","operations":[]} []`,
		`{"message":123,"operations":[]}`,
		`{"message":"m","operations":[{"op":"merge","grids":[{"code":"110101001007001","version":99999999999}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req grids.ChangesetRequest
		err := decodeJSON(b, &req)
		if err != nil {
			var inv *grids.InvalidError
			if !errors.As(err, &inv) || inv.Field == "" {
				t.Fatalf("%q: %v is not an InvalidError naming a field", b, err)
			}
			return
		}
		var ref grids.ChangesetRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
		if dec.More() {
			t.Fatalf("accepted %q, which has more after its value", b)
		}
		got, _ := json.Marshal(req)
		want, _ := json.Marshal(ref)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q read as %s, encoding/json reads %s", b, got, want)
		}
	})
}
