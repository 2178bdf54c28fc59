package api

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb"

	"gridd/grids"
)

// Query parameters are strict too: an endpoint that reads its query
// refuses parameters it does not know, parameters given twice and values
// holding NUL or invalid UTF-8 (checkParams); numbers are plain decimals
// (parseNumber: no hex, "inf", "nan", underscores or signs other than a
// leading minus); every value is checked against its range or list and
// anything not understood is a 400 naming the parameter, never ignored.

// checkParams refuses parameters other than allowed (none given: any
// name), parameters given more than once and values that are not valid
// UTF-8 or hold a NUL character.
func checkParams(q url.Values, allowed ...string) error {
	for name, vs := range q {
		field := clip(name)
		if field == "" {
			field = `""` // "=value": a parameter without a name
		}
		if len(allowed) > 0 && !oneOfNames(name, allowed) {
			return grids.Invalid(field, "unknown query parameter (known: %s)", strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return grids.Invalid(field, "is given %d times; give it once", len(vs))
		}
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				return grids.Invalid(field, "holds a NUL character, which text cannot store")
			}
			if !utf8.ValidString(v) {
				return grids.Invalid(field, "is not valid UTF-8")
			}
		}
	}
	return nil
}

func oneOfNames(name string, names []string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// textParam reads a free-text parameter (a reason), refusing NUL and
// invalid UTF-8.
func textParam(q url.Values, name string) (string, error) {
	v := q.Get(name)
	if strings.IndexByte(v, 0) >= 0 {
		return "", grids.Invalid(name, "holds a NUL character, which text cannot store")
	}
	if !utf8.ValidString(v) {
		return "", grids.Invalid(name, "is not valid UTF-8")
	}
	return v, nil
}

// parseNumber reads a plain decimal number, -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// and refuses what strconv.ParseFloat would also take (0x1p7, inf, nan,
// 1_000, +5, .5) and values beyond float64.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if !digits() {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// floatParam reads a numeric query parameter; a missing optional one is 0.
func floatParam(q url.Values, name string, required bool) (float64, error) {
	v := q.Get(name)
	if v == "" {
		if required {
			return 0, grids.Invalid(name, "is required")
		}
		return 0, nil
	}
	f, ok := parseNumber(v)
	if !ok {
		return 0, grids.Invalid(name, "%s is not a number (want a plain decimal such as 116.397)", quote(v))
	}
	return f, nil
}

// intParam reads a whole-number parameter of digits only, from lo to hi;
// def when it is missing.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || strings.TrimLeft(v, "0123456789") != "" || n < lo || n > hi {
		return 0, grids.Invalid(name, "want a whole number from %d to %d, got %s", lo, hi, quote(v))
	}
	return n, nil
}

// parseBBox reads minlon,minlat,maxlon,maxlat in WGS-84 degrees: four plain
// decimals within [-180, 180] and [-90, 90], each min at most its max (a
// box across the antimeridian is not served).
func parseBBox(s string) (*orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, grids.Invalid("bbox", "want four numbers minlon,minlat,maxlon,maxlat, got %d values", len(parts))
	}
	var f [4]float64
	for i, p := range parts {
		v, ok := parseNumber(strings.TrimSpace(p))
		if !ok {
			return nil, grids.Invalid("bbox", "%s is not a number (want minlon,minlat,maxlon,maxlat)", quote(p))
		}
		f[i] = v
	}
	for _, i := range []int{0, 2} {
		if f[i] < -180 || f[i] > 180 {
			return nil, grids.Invalid("bbox", "longitude %g is out of range [-180, 180]", f[i])
		}
		if f[i+1] < -90 || f[i+1] > 90 {
			return nil, grids.Invalid("bbox", "latitude %g is out of range [-90, 90]", f[i+1])
		}
	}
	if f[1] > f[3] {
		return nil, grids.Invalid("bbox", "minimum latitude %g is above the maximum %g", f[1], f[3])
	}
	if f[0] > f[2] {
		return nil, grids.Invalid("bbox", "minimum longitude %g is east of the maximum %g (a box across the antimeridian is not served)", f[0], f[2])
	}
	return &orb.Bound{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}, nil
}

// ogcCRSs are the coordinate reference systems the OGC API serves and
// takes bounding boxes in: WGS-84 longitude, latitude.
var ogcCRSs = []string{crs84}

// crsParam checks an OGC API crs or bbox-crs parameter.
func crsParam(q url.Values, name string) error {
	v := q.Get(name)
	if v == "" || oneOfNames(v, ogcCRSs) {
		return nil
	}
	return grids.Invalid(name, "%s is not supported; supported: %s", quote(v), strings.Join(ogcCRSs, ", "))
}

// parseDateTime reads an OGC API datetime: an RFC 3339 instant
// (2026-03-01T12:00:00Z) or date (2026-03-01), or an interval of two of
// them separated by "/", either end open ("" or ".."). It returns the
// interval's ends, nil where open; an instant is both ends.
func parseDateTime(s string) (start, end *time.Time, err error) {
	bad := func() (*time.Time, *time.Time, error) {
		return nil, nil, grids.Invalid("datetime", "%s is not an RFC 3339 instant (2026-03-01T12:00:00Z, 2026-03-01) or interval (2026-01-01T00:00:00Z/2026-03-01T00:00:00Z, ../2026-03-01, 2026-01-01/..)", quote(s))
	}
	instant := func(v string) (*time.Time, bool) {
		for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
			if t, err := time.Parse(layout, v); err == nil {
				return &t, true
			}
		}
		return nil, false
	}
	a, b, interval := strings.Cut(s, "/")
	if !interval {
		t, ok := instant(s)
		if !ok {
			return bad()
		}
		return t, t, nil
	}
	if strings.Contains(b, "/") {
		return bad()
	}
	var ok bool
	if a != "" && a != ".." {
		if start, ok = instant(a); !ok {
			return bad()
		}
	}
	if b != "" && b != ".." {
		if end, ok = instant(b); !ok {
			return bad()
		}
	}
	if start != nil && end != nil && end.Before(*start) {
		return nil, nil, grids.Invalid("datetime", "the interval %s ends before it starts", quote(s))
	}
	return start, end, nil
}

// ogcItemsParams are the query parameters of an OGC API items request.
var ogcItemsParams = []string{"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}

// featureQuery reads the query of GET /ogc/collections/{coll}/items.
func featureQuery(q url.Values) (grids.FeatureQuery, error) {
	fq := grids.FeatureQuery{Limit: ogcDefaultLimit}
	if err := checkParams(q, ogcItemsParams...); err != nil {
		return fq, err
	}
	if f := q.Get("f"); f != "" && f != "json" && f != "geojson" {
		return fq, grids.Invalid("f", "only f=json is served")
	}
	if l := q.Get("limit"); l != "" {
		// A limit past the most a page holds is that most.
		n, err := strconv.ParseUint(l, 10, 64)
		if (err != nil && !isRange(err)) || strings.TrimLeft(l, "0123456789") != "" || (err == nil && n < 1) {
			return fq, grids.Invalid("limit", "want a whole number from 1 (at most %d are returned), got %s", ogcMaxLimit, quote(l))
		}
		fq.Limit = ogcMaxLimit
		if err == nil && n < ogcMaxLimit {
			fq.Limit = int(n)
		}
	}
	var err error
	if fq.Offset, err = intParam(q, "offset", 0, 0, math.MaxInt32); err != nil {
		return fq, err
	}
	for _, name := range []string{"crs", "bbox-crs"} {
		if err := crsParam(q, name); err != nil {
			return fq, err
		}
	}
	if b := q.Get("bbox"); b != "" {
		if fq.BBox, err = parseBBox(b); err != nil {
			return fq, err
		}
	} else if q.Has("bbox-crs") {
		return fq, grids.Invalid("bbox-crs", "is given without a bbox")
	}
	if d := q.Get("datetime"); d != "" {
		if _, _, err := parseDateTime(d); err != nil {
			return fq, err
		}
		return fq, grids.Invalid("datetime", "filtering by time is not served: the collections hold their current features only (earlier versions: /v1/history)")
	}
	return fq, nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// componentParams are the query parameters of GET /v1/components.
var componentParams = []string{"code", "class", "status", "grid", "community", "bbox", "limit", "after"}

// componentQuery reads the query of GET /v1/components.
func componentQuery(q url.Values) (grids.ComponentQuery, error) {
	cq := grids.ComponentQuery{
		CodePrefix: q.Get("code"), ClassCode: q.Get("class"), Status: q.Get("status"),
		GridCode: q.Get("grid"), CommunityCode: q.Get("community"), After: q.Get("after"),
	}
	if err := checkParams(q, componentParams...); err != nil {
		return cq, err
	}
	for _, p := range []struct {
		name, val string
		max       int
	}{{"code", cq.CodePrefix, 17}, {"class", cq.ClassCode, 5}, {"grid", cq.GridCode, 15}, {"community", cq.CommunityCode, 12}, {"after", cq.After, 17}} {
		if p.val != "" && (!digits(p.val) || len(p.val) > p.max) {
			return cq, grids.Invalid(p.name, "want up to %d digits, got %s", p.max, quote(p.val))
		}
	}
	if cq.Status != "" && !oneOfNames(cq.Status, grids.ComponentStatuses) {
		return cq, grids.Invalid("status", "%s is not a component status; want one of %s", quote(cq.Status), strings.Join(grids.ComponentStatuses, ", "))
	}
	var err error
	if cq.Limit, err = intParam(q, "limit", 100, 1, 1000); err != nil {
		return cq, err
	}
	if b := q.Get("bbox"); b != "" {
		if cq.BBox, err = parseBBox(b); err != nil {
			return cq, err
		}
	}
	return cq, nil
}

// lookupParams are the query parameters of GET /v1/lookup.
var lookupParams = []string{"lon", "lat", "crs", "accuracy_m", "max_snap_m"}

// pathText reads a route parameter that is looked up as text (a code),
// refusing NUL and invalid UTF-8, which no code holds and PostgreSQL text
// cannot.
func pathText(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
		return "", grids.Invalid(name, "%s is not a code", quote(v))
	}
	return v, nil
}

// pathID reads a positive integer id from the path.
func pathID(r *http.Request, name, what string) (int64, error) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, grids.Invalid(name, "%q is not a %s id", v, what)
	}
	return id, nil
}
