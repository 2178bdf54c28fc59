package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// Lookup is what the lookup endpoints need: the current view of the
// in-memory grid index, nil until it is first loaded (grids.Locator).
type Lookup interface {
	Index() *geo.View
}

// MaxBatchPoints is the most points one POST /v1/lookup may carry.
const MaxBatchPoints = 100_000

// GET /v1/lookup?lon=..&lat=..[&crs=..][&accuracy_m=..][&max_snap_m=..]
func (s *Server) getLookup(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, lookupParams...); err != nil {
		return err
	}
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
	ix := s.cfg.Lookup.Index()
	if ix == nil {
		return lookupError(grids.ErrNotReady)
	}
	loc, err := grids.LocateIn(ix, geo.ToWGS84(orb.Point{lon, lat}, crs), opt)
	if err != nil {
		return lookupError(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	var enc locationEncoder
	buf := enc.append(make([]byte, 0, 512), &loc)
	// Grid workers' names and telephone numbers are personal: they are
	// named to token holders only, as /v1/grid-workers is read, even where
	// lookups are open to all.
	if _, signed := principalOf(r); s.cfg.Workers != nil && signed {
		if buf, err = appendWorkers(r.Context(), buf, s.cfg.Workers, &loc); err != nil {
			return err
		}
	}
	_, err = w.Write(append(buf, '\n'))
	return err
}

// lookupWorkers is what a single lookup with a token adds to the
// location: the grid workers on duty now at the point's management grids,
// as POST /v1/route names them.
type lookupWorkers struct {
	GridWorkers     []grids.OnDuty `json:"grid_workers"`
	GridWorkersNote string         `json:"grid_workers_note,omitempty"`
}

// appendWorkers adds the members of lookupWorkers to the encoded location
// object buf.
func appendWorkers(ctx context.Context, buf []byte, dir grids.WorkerDirectory, loc *grids.Location) ([]byte, error) {
	now := time.Now()
	r, err := dir.RosterOf(ctx, *loc, now)
	if err != nil {
		return nil, err
	}
	more, err := json.Marshal(lookupWorkers{GridWorkers: append([]grids.OnDuty{}, r.Workers...),
		GridWorkersNote: grids.WorkerNote(string(loc.Grid.Code), r, now)})
	if err != nil {
		return nil, err
	}
	buf = append(buf[:len(buf)-1], ',') // the location's closing brace
	return append(buf, more[1:]...), nil
}

// batchBlock is how many points of a batch are encoded into one buffer;
// blocks are encoded in parallel and written in input order.
const batchBlock = 4096

// blockBuffers recycles the encoding buffers of batch blocks.
var blockBuffers = sync.Pool{New: func() any { return new([]byte) }}

// POST /v1/lookup {"crs":"gcj02","points":[[lon,lat],...],"accuracy_m":..}
// → {"results":[...]} in input order, null for a point outside every grid.
//
// A batch is read whole and checked before anything is written, so bad
// input is always a 400 naming the point. The owners of all points are then
// found in one pass, and the results are encoded in blocks on every core and
// streamed out in input order.
func (s *Server) postLookup(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, 64<<20)
	if err != nil {
		return err
	}
	defer blockBuffers.Put(&body)
	req, err := parseBatchRequest(body)
	if err != nil {
		return err
	}
	crs, err := geo.ParseCRS(req.CRS)
	if err != nil {
		return grids.Invalid("crs", "%v", err)
	}
	opt, err := checkOptions(req.AccuracyM, req.MaxSnapM)
	if err != nil {
		return err
	}
	ix := s.cfg.Lookup.Index()
	if ix == nil {
		return lookupError(grids.ErrNotReady)
	}
	pts := req.Points
	workers := runtime.GOMAXPROCS(0)
	geo.PointsToWGS84(pts, crs, workers)
	batch := grids.NewBatch(ix, pts, opt, workers)

	nb := (len(pts) + batchBlock - 1) / batchBlock
	blocks := make([]*[]byte, nb)
	ready := make([]chan struct{}, nb)
	for j := range ready {
		ready[j] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(workers, nb) {
		go func() {
			var loc grids.Location
			enc := newLocationEncoder()
			var touched uint64
			defer runtime.KeepAlive(&touched)
			for {
				j := int(next.Add(1) - 1)
				if j >= nb {
					return
				}
				buf := blockBuffers.Get().(*[]byte)
				b := (*buf)[:0]
				end := min(len(pts), (j+1)*batchBlock)
				for i := j * batchBlock; i < end; i++ {
					if i%8 == 0 {
						// Read ahead the records of the next eight
						// points' grids: their cache misses overlap.
						touched += batch.Touch(i, min(i+8, end))
					}
					if i > 0 {
						b = append(b, ',')
					}
					if batch.Locate(i, &loc) {
						b = enc.append(b, &loc)
					} else {
						b = append(b, "null"...)
					}
				}
				*buf = b
				blocks[j] = buf
				close(ready[j])
			}
		}()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err = w.Write([]byte(`{"results":[`))
	for j := range nb {
		<-ready[j]
		if err == nil {
			_, err = w.Write(*blocks[j])
		}
		blockBuffers.Put(blocks[j])
	}
	if err != nil {
		return err
	}
	_, err = w.Write([]byte("]}\n"))
	return err
}

// BatchBody writes the body of a batch lookup of pts (WGS-84), each
// coordinate with the given number of decimals (-1: as many as a float64
// needs).
func BatchBody(pts []orb.Point, decimals int) []byte {
	b := append(make([]byte, 0, 16+len(pts)*40), `{"points":[`...)
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, p[0], 'f', decimals, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p[1], 'f', decimals, 64)
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// readBody reads the whole request body, at most limit bytes, into a
// recycled buffer; return the buffer to blockBuffers when done.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	buf := (*blockBuffers.Get().(*[]byte))[:0]
	if n := int(r.ContentLength) + 1; cap(buf) < n { // +1: room to see EOF
		buf = make([]byte, 0, n)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, tooLarge
			}
			return nil, grids.Invalid("body", "could not be read: %v", err)
		}
	}
}

// batchRequest is the body of POST /v1/lookup.
type batchRequest struct {
	CRS       string
	Points    []orb.Point
	AccuracyM *float64
	MaxSnapM  *float64
}

// parseBatchRequest reads a batch lookup body. The top-level object is
// scanned by hand so that the points, up to 100,000 of them, are parsed in
// a single pass straight from the body; the other members go through
// encoding/json.
func parseBatchRequest(b []byte) (batchRequest, error) {
	var req batchRequest
	malformed := func(i int, want string) error {
		return grids.Invalid("body", "malformed JSON at byte %d: want %s; the body is {\"crs\": ..., \"points\": [[lon, lat], ...]}", i, want)
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return req, malformed(i, "an object")
	}
	i = skipSpace(b, i+1)
	seenPoints := false
	for n := 0; ; n++ {
		if i < len(b) && b[i] == '}' && n == 0 {
			break
		}
		// The member's name.
		if i >= len(b) || b[i] != '"' {
			return req, malformed(i, "a member name")
		}
		dec := json.NewDecoder(bytes.NewReader(b[i:]))
		var name string
		if err := dec.Decode(&name); err != nil {
			return req, malformed(i, "a member name")
		}
		i = skipSpace(b, i+int(dec.InputOffset()))
		if i >= len(b) || b[i] != ':' {
			return req, malformed(i, "':'")
		}
		i = skipSpace(b, i+1)
		// Its value.
		var err error
		switch name {
		case "points":
			req.Points, i, err = parsePoints(b, i, MaxBatchPoints)
			seenPoints = true
		case "crs":
			i, err = decodeMember(b, i, name, &req.CRS)
		case "accuracy_m":
			i, err = decodeMember(b, i, name, &req.AccuracyM)
		case "max_snap_m":
			i, err = decodeMember(b, i, name, &req.MaxSnapM)
		default:
			// Strict like every other body: a misspelt member is not
			// silently ignored.
			return req, grids.Invalid(clip(name), "unknown member; a batch has points, crs, accuracy_m and max_snap_m")
		}
		if err != nil {
			return req, err
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			break
		}
		return req, malformed(i, "',' or '}'")
	}
	if end := skipSpace(b, i+1); end < len(b) {
		return req, malformed(end, "the end of the body")
	}
	if !seenPoints || req.Points == nil {
		return req, grids.Invalid("points", "is required: [[lon, lat], ...]")
	}
	return req, nil
}

// decodeMember decodes the JSON value at b[i:] into v and returns the
// offset after it.
func decodeMember(b []byte, i int, name string, v any) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b[i:]))
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return 0, grids.Invalid(name, "must be a %s, not a JSON %s", typ.Type, typ.Value)
		}
		return 0, grids.Invalid("body", "malformed JSON in %q at byte %d: %v", name, i, err)
	}
	return i + int(dec.InputOffset()), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// parsePoints reads the JSON array of [lon, lat] pairs at b[i:], checking
// each coordinate's range, and returns the offset after it. A JSON null is
// no points.
//
// A large array is parsed in two halves on two goroutines, split at a
// ',' between two pairs near its middle. Pairs are a regular grammar, so
// when the first half parses exactly up to that ',' and the second from it
// to the array's end, the points are those a single pass would read. Any
// other outcome (an error, a split that fell outside the array) is parsed
// again in a single pass, which also gives the error its point's number.
func parsePoints(b []byte, i, limit int) ([]orb.Point, int, error) {
	if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
		return nil, i + 4, nil
	}
	if i >= len(b) || b[i] != '[' {
		return nil, i, grids.Invalid("points", "must be an array of [lon, lat] pairs")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []orb.Point{}, i + 1, nil
	}
	if split := -1; len(b)-i >= 1<<18 {
		split = pairBoundary(b, i+(len(b)-i)/2)
		if split > 0 {
			var first []orb.Point
			var firstEnd int
			var firstErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				first, firstEnd, firstErr = parsePairs(b, i, split, limit)
			}()
			second, end, err := parsePairs(b, split+1, -1, limit)
			<-done
			if err == nil && firstErr == nil && firstEnd == split && len(first)+len(second) <= limit {
				return append(first, second...), end, nil
			}
		}
	}
	return parsePairs(b, i, -1, limit)
}

// pairBoundary finds, from b[i:], the first ',' that follows a ']' (white
// space between allowed) and precedes a '[': the comma between two pairs,
// if i is inside an array of pairs. It returns -1 if there is none.
func pairBoundary(b []byte, i int) int {
	for i < len(b) {
		k := bytes.IndexByte(b[i:], ']')
		if k < 0 {
			return -1
		}
		c := skipSpace(b, i+k+1)
		if c < len(b) && b[c] == ',' {
			if n := skipSpace(b, c+1); n < len(b) && b[n] == '[' {
				return c
			}
		}
		i += k + 1
	}
	return -1
}

// parsePairs reads pairs "[lon, lat]" separated by commas from b[i:],
// until the array's closing ']' (it returns the offset after it) or until
// the ',' at offset stop (it returns stop; -1 for no stop). Errors number
// the pairs from the first one it reads.
func parsePairs(b []byte, i, stop, limit int) ([]orb.Point, int, error) {
	bad := func(n int, why string) error {
		return grids.Invalid(fmt.Sprintf("points[%d]", n), "%s; want [lon, lat]", why)
	}
	out := make([]orb.Point, 0, min(limit, (len(b)-i)/16+1))
	num := func(n int) (float64, error) {
		i = skipSpace(b, i)
		if f, k := parseDecimal(b[i:]); k > 0 && (i+k == len(b) || !numberByte[b[i+k]]) {
			i = skipSpace(b, i+k)
			return f, nil
		}
		j := i
		for j < len(b) && numberByte[b[j]] {
			j++
		}
		if j == i {
			return 0, bad(n, "not a number")
		}
		if jsonNumberLen(b[i:j]) != j-i {
			return 0, bad(n, fmt.Sprintf("%s is not a JSON number", quote(string(b[i:j]))))
		}
		// The string shares b's bytes instead of copying them: ParseFloat
		// keeps no reference (its errors copy the input).
		f, err := strconv.ParseFloat(unsafe.String(&b[i], j-i), 64)
		if err != nil {
			return 0, bad(n, fmt.Sprintf("%q is not a number", b[i:j]))
		}
		i = skipSpace(b, j)
		return f, nil
	}
	for n := 0; ; n++ {
		i = skipSpace(b, i)
		if n >= limit {
			return nil, i, grids.Invalid("points", "more than %d points; at most %d per request", limit, limit)
		}
		if i >= len(b) || b[i] != '[' {
			return nil, i, bad(n, "not an array")
		}
		i++
		lon, err := num(n)
		if err != nil {
			return nil, i, err
		}
		if i >= len(b) || b[i] != ',' {
			return nil, i, bad(n, "needs two numbers")
		}
		i++
		lat, err := num(n)
		if err != nil {
			return nil, i, err
		}
		if i >= len(b) || b[i] != ']' {
			return nil, i, bad(n, "needs exactly two numbers")
		}
		i++
		if !(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) {
			if err := checkLonLat(fmt.Sprintf("points[%d]", n), lon, lat); err != nil {
				return nil, i, err
			}
		}
		out = append(out, orb.Point{lon, lat})
		i = skipSpace(b, i)
		if i == stop {
			return out, i, nil
		}
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == ']' {
			return out, i + 1, nil
		}
		return nil, i, grids.Invalid("points", "malformed array after points[%d]", n)
	}
}

// numberByte marks the bytes a number, or a token meant as one (0x1p7,
// Infinity, 1_000), is made of: a number must end before the next of them.
var numberByte = func() (t [256]bool) {
	for _, c := range []byte("+-._0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] = true
	}
	return t
}()

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal reads the plain decimal at the start of b, such as
// -116.3971234 (no exponent), of at most 15 significant digits, the form
// coordinates from a GPS usually take, exactly as strconv.ParseFloat would:
// the digits make an integer below 2^53 and the decimal places a power of
// ten up to 10^22, both exact in a float64, so one division rounds
// correctly. It returns the number and the bytes it took, or 0 bytes for
// anything else (longer, an exponent, malformed), which the caller then
// reads with strconv.ParseFloat.
func parseDecimal(b []byte) (float64, int) {
	k := 0
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		k++
	}
	start := k
	var m uint64
	digits, frac := 0, -1
loop:
	for ; k < len(b); k++ {
		switch c := b[k]; {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			if m > 0 {
				if digits++; digits > 15 {
					return 0, 0
				}
			}
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0 && k > start:
			frac = 0
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
			return 0, 0
		default:
			break loop
		}
	}
	if k == start || frac == 0 || frac >= len(pow10) || (b[start] == '0' && k > start+1 && b[start+1] != '.') {
		return 0, 0
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, k
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
	acc, err := floatParam(q, "accuracy_m", false)
	if err != nil {
		return grids.LookupOptions{}, err
	}
	var snap *float64
	if q.Has("max_snap_m") {
		v, err := floatParam(q, "max_snap_m", true)
		if err != nil {
			return grids.LookupOptions{}, err
		}
		snap = &v
	}
	return checkOptions(&acc, snap)
}

// checkOptions checks accuracy_m and max_snap_m (nil: not given) and makes
// them lookup options.
func checkOptions(acc, snap *float64) (grids.LookupOptions, error) {
	var opt grids.LookupOptions
	if acc != nil {
		if *acc < 0 || *acc > 10_000 {
			return opt, grids.Invalid("accuracy_m", "%g is out of range [0, 10000]", *acc)
		}
		opt.AccuracyM = *acc
	}
	if snap != nil {
		if *snap < 0 || *snap > 10_000 {
			return opt, grids.Invalid("max_snap_m", "%g is out of range [0, 10000]", *snap)
		}
		opt.MaxSnapM = snapOption(*snap)
	}
	return opt, nil
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

// locationEncoder writes lookup results as JSON. It is hand-written because
// the batch endpoint writes up to 100,000 of them per request. An encoder
// used for many results remembers the encoded divisions of each community
// it meets (the zero encoder remembers nothing); it is not safe for
// concurrent use.
type locationEncoder struct {
	divisions map[string][]byte // community code → its community, street and district members
}

func newLocationEncoder() *locationEncoder {
	return &locationEncoder{divisions: map[string][]byte{}}
}

func (e *locationEncoder) append(b []byte, l *grids.Location) []byte {
	b = append(b, `{"grid":{"code":"`...)
	b = append(b, l.Grid.Code...)
	b = append(b, `","area_m2":`...)
	b = appendCentis(b, l.Grid.AreaM2)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(l.Grid.Version), 10)
	b = append(b, '}')
	if div, ok := e.divisions[l.Community.Code]; ok && e.divisions != nil {
		b = append(b, div...)
	} else {
		start := len(b)
		b = appendNamed(append(b, `,"community":`...), l.Community)
		b = appendNamed(append(b, `,"street":`...), l.Street)
		b = appendNamed(append(b, `,"district":`...), l.District)
		if e.divisions != nil {
			e.divisions[l.Community.Code] = slices.Clone(b[start:])
		}
	}
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
	b = appendCentis(b, l.DistanceM)
	b = append(b, `,"candidates":[`...)
	for i, c := range l.Candidates {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"grid":"`...)
		b = append(b, c.Grid...)
		b = append(b, `","distance_m":`...)
		b = appendCentis(b, c.DistanceM)
		b = append(b, '}')
	}
	b = append(b, `],"map_version":`...)
	b = strconv.AppendInt(b, l.MapVersion, 10)
	return append(b, '}')
}

// appendCentis writes v rounded to hundredths as the shortest decimal, as
// strconv.AppendFloat(b, v, 'f', -1, 64) writes a value already rounded to
// hundredths (1234.5, 12, 0.07), without its general algorithm.
func appendCentis(b []byte, v float64) []byte {
	c := math.Round(v * 100)
	if !(math.Abs(c) < 1<<53) {
		return strconv.AppendFloat(b, math.Round(v*100)/100, 'f', -1, 64)
	}
	n := int64(c)
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/100, 10)
	switch f := n % 100; {
	case f == 0:
	case f%10 == 0:
		b = append(b, '.', byte('0'+f/10))
	default:
		b = append(b, '.', byte('0'+f/10), byte('0'+f%10))
	}
	return b
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
