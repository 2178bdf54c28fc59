package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// Lookup is what the lookup endpoints need: the in-memory grid index.
type Lookup interface {
	Lookup(p orb.Point, opt grids.LookupOptions) (grids.Location, error)
}

// MaxBatchPoints is the most points one POST /v1/lookup may carry.
const MaxBatchPoints = 100_000

// GET /v1/lookup?lon=..&lat=..[&crs=..][&accuracy_m=..][&max_snap_m=..]
func (s *Server) getLookup(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	crs, err := geo.ParseCRS(q.Get("crs"))
	if err != nil {
		return grids.Invalid("crs", "%v", err)
	}
	lon, err := floatParam(q, "lon", true)
	if err != nil {
		return err
	}
	lat, err := floatParam(q, "lat", true)
	if err != nil {
		return err
	}
	if err := checkLonLat("", lon, lat); err != nil {
		return err
	}
	opt, err := lookupOptions(q)
	if err != nil {
		return err
	}
	loc, err := s.cfg.Lookup.Lookup(geo.ToWGS84(orb.Point{lon, lat}, crs), opt)
	if err != nil {
		return lookupError(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	buf := appendLocation(make([]byte, 0, 512), &loc)
	_, err = w.Write(append(buf, '\n'))
	return err
}

// POST /v1/lookup {"crs":"gcj02","points":[[lon,lat],...],"accuracy_m":..}
// → {"results":[...]} in input order, null for a point outside every grid.
func (s *Server) postLookup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		CRS       string          `json:"crs"`
		Points    json.RawMessage `json:"points"`
		AccuracyM *float64        `json:"accuracy_m"`
		MaxSnapM  *float64        `json:"max_snap_m"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<20)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return grids.Invalid("body", "want {\"crs\": ..., \"points\": [[lon, lat], ...]}: %v", err)
	}
	crs, err := geo.ParseCRS(req.CRS)
	if err != nil {
		return grids.Invalid("crs", "%v", err)
	}
	pts, err := parsePoints(req.Points, MaxBatchPoints)
	if err != nil {
		return err
	}
	var opt grids.LookupOptions
	if req.AccuracyM != nil {
		if *req.AccuracyM < 0 || *req.AccuracyM > 10_000 {
			return grids.Invalid("accuracy_m", "%g is out of range [0, 10000]", *req.AccuracyM)
		}
		opt.AccuracyM = *req.AccuracyM
	}
	if req.MaxSnapM != nil {
		if *req.MaxSnapM < 0 || *req.MaxSnapM > 10_000 {
			return grids.Invalid("max_snap_m", "%g is out of range [0, 10000]", *req.MaxSnapM)
		}
		opt.MaxSnapM = snapOption(*req.MaxSnapM)
	}
	for i, p := range pts {
		if err := checkLonLat(fmt.Sprintf("points[%d]", i), p[0], p[1]); err != nil {
			return err
		}
	}
	// Large batches are answered in parallel chunks, written in input order.
	workers := runtime.GOMAXPROCS(0)
	if len(pts) < 2048 {
		workers = 1
	}
	chunks := make([][]byte, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		lo, hi := k*len(pts)/workers, (k+1)*len(pts)/workers
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			buf := make([]byte, 0, (hi-lo)*320)
			for i := lo; i < hi; i++ {
				if i > 0 {
					buf = append(buf, ',')
				}
				loc, err := s.cfg.Lookup.Lookup(geo.ToWGS84(pts[i], crs), opt)
				switch {
				case err == nil:
					buf = appendLocation(buf, &loc)
				case errors.Is(err, grids.ErrOutside):
					buf = append(buf, "null"...)
				default:
					errs[k] = err
					return
				}
			}
			chunks[k] = buf
		}(k)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return lookupError(err)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if _, err := w.Write([]byte(`{"results":[`)); err != nil {
		return err
	}
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	_, err = w.Write([]byte("]}\n"))
	return err
}

// parsePoints reads a JSON array of [lon, lat] pairs. It is hand-written
// because a batch carries up to 100,000 of them.
func parsePoints(raw json.RawMessage, limit int) ([]orb.Point, error) {
	b := raw
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	bad := func(n int, why string) error {
		return grids.Invalid(fmt.Sprintf("points[%d]", n), "%s; want [lon, lat]", why)
	}
	ws()
	if len(b) == 0 || string(b[i:]) == "null" {
		return nil, grids.Invalid("points", "is required: [[lon, lat], ...]")
	}
	if b[i] != '[' {
		return nil, grids.Invalid("points", "must be an array of [lon, lat] pairs")
	}
	i++
	var out []orb.Point
	num := func(n int) (float64, error) {
		ws()
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
			j++
		}
		if j == i {
			return 0, bad(n, "not a number")
		}
		f, err := strconv.ParseFloat(string(b[i:j]), 64)
		if err != nil {
			return 0, bad(n, fmt.Sprintf("%q is not a number", b[i:j]))
		}
		i = j
		ws()
		return f, nil
	}
	for n := 0; ; n++ {
		ws()
		if i < len(b) && b[i] == ']' && n == 0 {
			i++
			break
		}
		if n >= limit {
			return nil, grids.Invalid("points", "more than %d points; at most %d per request", limit, limit)
		}
		if i >= len(b) || b[i] != '[' {
			return nil, bad(n, "not an array")
		}
		i++
		lon, err := num(n)
		if err != nil {
			return nil, err
		}
		if i >= len(b) || b[i] != ',' {
			return nil, bad(n, "needs two numbers")
		}
		i++
		lat, err := num(n)
		if err != nil {
			return nil, err
		}
		if i >= len(b) || b[i] != ']' {
			return nil, bad(n, "needs exactly two numbers")
		}
		i++
		out = append(out, orb.Point{lon, lat})
		ws()
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == ']' {
			i++
			break
		}
		return nil, grids.Invalid("points", "malformed array after points[%d]", n)
	}
	return out, nil
}

func lookupError(err error) error {
	if errors.Is(err, grids.ErrNotReady) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: err.Error()}
	}
	return err
}

// snapOption maps the API's max_snap_m (0 = no snapping) onto the domain's
// option (0 = default, negative = none).
func snapOption(m float64) float64 {
	if m == 0 {
		return -1
	}
	return m
}

func lookupOptions(q url.Values) (grids.LookupOptions, error) {
	var opt grids.LookupOptions
	acc, err := floatParam(q, "accuracy_m", false)
	if err != nil {
		return opt, err
	}
	if acc < 0 || acc > 10_000 {
		return opt, grids.Invalid("accuracy_m", "%g is out of range [0, 10000]", acc)
	}
	opt.AccuracyM = acc
	if q.Has("max_snap_m") {
		snap, err := floatParam(q, "max_snap_m", true)
		if err != nil {
			return opt, err
		}
		if snap < 0 || snap > 10_000 {
			return opt, grids.Invalid("max_snap_m", "%g is out of range [0, 10000]", snap)
		}
		opt.MaxSnapM = snapOption(snap)
	}
	return opt, nil
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
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, grids.Invalid(name, "%q is not a number", v)
	}
	return f, nil
}

// checkLonLat rejects coordinates outside the valid ranges, calling out a
// likely lat/lon swap. where prefixes the field names (points[3]).
func checkLonLat(where string, lon, lat float64) error {
	lonF, latF := "lon", "lat"
	if where != "" {
		lonF, latF = where+"[0] (lon)", where+"[1] (lat)"
	}
	for _, f := range []float64{lon, lat} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return grids.Invalid(where, "coordinates must be finite numbers")
		}
	}
	swapped := math.Abs(lon) <= 90 && math.Abs(lat) <= 180 && math.Abs(lat) > 90
	switch {
	case math.Abs(lat) > 90 && swapped:
		return grids.Invalid(latF, "%g is out of range [-90, 90]; lon and lat look swapped (lon %g, lat %g would be valid): send lon first", lat, lat, lon)
	case math.Abs(lat) > 90:
		return grids.Invalid(latF, "%g is out of range [-90, 90]", lat)
	case math.Abs(lon) > 180:
		return grids.Invalid(lonF, "%g is out of range [-180, 180]", lon)
	}
	return nil
}

// appendLocation writes a lookup result as JSON. It is hand-written because
// the batch endpoint writes up to 100,000 of them per request.
func appendLocation(b []byte, l *grids.Location) []byte {
	b = append(b, `{"grid":{"code":"`...)
	b = append(b, l.Grid.Code...)
	b = append(b, `","area_m2":`...)
	b = strconv.AppendFloat(b, math.Round(l.Grid.AreaM2*100)/100, 'f', -1, 64)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(l.Grid.Version), 10)
	b = append(b, '}')
	b = appendNamed(append(b, `,"community":`...), l.Community)
	b = appendNamed(append(b, `,"street":`...), l.Street)
	b = appendNamed(append(b, `,"district":`...), l.District)
	b = append(b, `,"mgmt_grids":[`...)
	for i, m := range l.Mgmt {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNamed(b, m)
	}
	b = append(b, `],"snapped":`...)
	b = strconv.AppendBool(b, l.Snapped)
	b = append(b, `,"distance_m":`...)
	b = strconv.AppendFloat(b, l.DistanceM, 'f', -1, 64)
	b = append(b, `,"candidates":[`...)
	for i, c := range l.Candidates {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"grid":"`...)
		b = append(b, c.Grid...)
		b = append(b, `","distance_m":`...)
		b = strconv.AppendFloat(b, c.DistanceM, 'f', -1, 64)
		b = append(b, '}')
	}
	b = append(b, `],"map_version":`...)
	b = strconv.AppendInt(b, l.MapVersion, 10)
	return append(b, '}')
}

func appendNamed(b []byte, n geo.Named) []byte {
	b = append(b, `{"code":`...)
	b = appendString(b, n.Code)
	b = append(b, `,"name":`...)
	b = appendString(b, n.Name)
	return append(b, '}')
}

// appendString writes s as a JSON string: as is when it is valid UTF-8
// with nothing to escape (the usual case for codes and Chinese names),
// through encoding/json otherwise.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	if !utf8.ValidString(s) {
		j, _ := json.Marshal(s)
		return append(b, j...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
