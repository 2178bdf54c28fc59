package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/grids"
)

// Request bodies follow one policy, whatever the endpoint.
//
// A body is read up to its endpoint's limit (413 beyond it, never cut off)
// and checked whole before any of it is used (400 naming the member by its
// path, such as operations[0].geometry.coordinates[0][3]):
//
//   - it is one JSON value, with nothing but white space after it;
//   - no object has a member twice, and an object read into a Go struct
//     has no member the struct lacks;
//   - every value has the JSON type of its field ("name": 123 is not a
//     name), and numbers fit it (whole numbers in range for integers,
//     finite for floats);
//   - strings are valid UTF-8 and hold no NUL character, which PostgreSQL
//     text cannot store;
//   - GeoJSON "coordinates" are arrays of positions of 2 or 3 finite
//     numbers, nested as deep as their geometry needs; a field of type
//     orb.Point is one position of exactly 2;
//   - nesting is at most maxDepth deep.
//
// Error messages quote at most about 100 bytes of what was sent.

// Body limits, by kind of request.
const (
	// maxEditBody bounds a changeset or a grid Feature (PUT /v1/grids,
	// OGC API grid edits): a real grid has hundreds of vertices, a
	// changeset replacing a whole community a few thousand.
	maxEditBody = 4 << 20
	// maxComponentBody bounds one component Feature (and one Feature of
	// another editable OGC collection).
	maxComponentBody = 1 << 20
	// maxMgmtGridBody bounds a management grid definition: its list of
	// member grid codes.
	maxMgmtGridBody = 1 << 20
	// maxSmallBody bounds the small bodies: builds, departments, rules,
	// reports, reverts.
	maxSmallBody = 64 << 10
)

// maxDepth bounds the nesting of arrays and objects in a request body; the
// deepest real body, a changeset part's MultiPolygon, nests 9 deep.
const maxDepth = 64

// readJSON reads the request body, at most limit bytes, checks it against
// the policy above for v's type and decodes it into v.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBytes(w, r, limit)
	if err != nil {
		return err
	}
	return decodeJSON(b, v)
}

// readOptionalJSON is readJSON for a body that may be left out: an empty
// body leaves v as it is.
func readOptionalJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBytes(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return decodeJSON(b, v)
}

// readFeatureBody reads a body that is handed on as raw JSON (a Feature for
// an OGC collection's editor): a JSON object checked against the policy,
// members unconstrained.
func readFeatureBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := readBytes(w, r, limit)
	if err != nil {
		return nil, err
	}
	if err := checkJSON(b, reflect.TypeFor[map[string]any]()); err != nil {
		return nil, err
	}
	return b, nil
}

// decodeJSON checks b against the policy for v's type and decodes it into v.
func decodeJSON(b []byte, v any) error {
	if err := checkJSON(b, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The check above refuses what encoding/json refuses; a value a
		// field's own UnmarshalJSON rejects (a GeoJSON type) ends here.
		return grids.Invalid("body", "%s", clip(strings.TrimPrefix(err.Error(), "json: ")))
	}
	return nil
}

// readBytes reads the whole body, refusing with 413 a body over limit
// bytes.
func readBytes(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			return nil, tooLarge(limit)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, &Error{Status: http.StatusRequestTimeout, Code: "timeout", Message: "the body was not received in time"}
		}
		return nil, grids.Invalid("body", "could not be read: %v", err)
	}
	return b, nil
}

func tooLarge(limit int64) error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
		Message: fmt.Sprintf("the body is larger than %s, the limit of this endpoint", byteSize(limit))}
}

// byteSize writes a limit in bytes the way it is chosen: 4 MiB, 64 KiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// maxQuoted is how much of a value sent a message quotes.
const maxQuoted = 100

// clip shortens s to at most maxQuoted bytes (whole characters) for an
// error message, saying how long it was.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", cutAt(s, maxQuoted), len(s))
}

// maxMessage bounds an error message: whatever a message quotes of the
// request, the answer never echoes more than this.
const maxMessage = 2000

// clipMessage cuts an error message to maxMessage bytes (whole characters).
func clipMessage(m string) string {
	if len(m) <= maxMessage {
		return m
	}
	c := cutAt(m, maxMessage)
	return fmt.Sprintf("%s… (message cut at %d of %d bytes)", c, len(c), len(m))
}

// cutAt is s cut to at most n bytes, at the start of a character.
func cutAt(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quote is %q of clip(s).
func quote(s string) string { return strconv.Quote(clip(s)) }

// A schema is what the policy knows of the Go type a JSON value is read
// into.
type schema struct {
	kind   schemaKind
	fields map[string]*schema // kindObject: the struct's members
	known  string             // kindObject: the member names, for messages
	elem   *schema            // kindMap, kindList: the value or element
	maxLen int                // kindList from a Go array: its length
	bits   int                // kindInt, kindUint, kindFloat
}

type schemaKind int

const (
	kindAny      schemaKind = iota // anything (interface, json.Unmarshaler)
	kindObject                     // a struct
	kindMap                        // a map with string keys
	kindList                       // a slice or an array
	kindString                     // a string ([]byte: base64)
	kindBool                       // a bool
	kindInt                        // a signed integer of bits
	kindUint                       // an unsigned integer of bits
	kindFloat                      // a float of bits
	kindPosition                   // an orb.Point: [lon, lat]
)

var (
	anySchema   = &schema{kind: kindAny}
	schemaMu    sync.Mutex
	schemaCache = map[reflect.Type]*schema{}

	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	orbPoint        = reflect.TypeFor[orb.Point]()
)

// schemaOf returns the schema of t (nil: anything).
func schemaOf(t reflect.Type) *schema {
	if t == nil {
		return anySchema
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	return buildSchema(t)
}

func buildSchema(t reflect.Type) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := schemaCache[t]; ok {
		return s
	}
	s := &schema{}
	schemaCache[t] = s // before the fields: a type may contain itself
	switch {
	case t == orbPoint:
		s.kind = kindPosition
	case t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler):
		s.kind = kindAny
	case t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler):
		s.kind = kindString
	default:
		switch t.Kind() {
		case reflect.Struct:
			s.kind, s.fields = kindObject, map[string]*schema{}
			addFields(s, t)
			names := make([]string, 0, len(s.fields))
			for n := range s.fields {
				names = append(names, n)
			}
			sort.Strings(names)
			s.known = strings.Join(names, ", ")
		case reflect.Map:
			s.kind, s.elem = kindMap, buildSchema(t.Elem())
		case reflect.Slice:
			if t.Elem().Kind() == reflect.Uint8 {
				s.kind = kindString
			} else {
				s.kind, s.elem = kindList, buildSchema(t.Elem())
			}
		case reflect.Array:
			s.kind, s.elem, s.maxLen = kindList, buildSchema(t.Elem()), t.Len()
		case reflect.String:
			s.kind = kindString
		case reflect.Bool:
			s.kind = kindBool
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			s.kind, s.bits = kindInt, t.Bits()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			s.kind, s.bits = kindUint, t.Bits()
		case reflect.Float32, reflect.Float64:
			s.kind, s.bits = kindFloat, t.Bits()
		default:
			s.kind = kindAny
		}
	}
	return s
}

// addFields adds the JSON members of struct t to s as encoding/json names
// them: the tag's name or the field's, embedded structs' fields promoted
// (an outer field wins over a promoted one of the same name).
func addFields(s *schema, t reflect.Type) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			embedded = append(embedded, ft)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := buildSchema(f.Type)
		if strings.Contains(","+opts+",", ",string,") {
			fs = anySchema
		}
		s.fields[name] = fs
	}
	for _, et := range embedded {
		inner := &schema{fields: map[string]*schema{}}
		addFields(inner, et)
		for n, fs := range inner.fields {
			if _, ok := s.fields[n]; !ok {
				s.fields[n] = fs
			}
		}
	}
}

// checkJSON checks b against the policy for a value read into t (nil:
// any value).
func checkJSON(b []byte, t reflect.Type) error {
	c := checker{b: b}
	c.space()
	if c.i == len(b) {
		return grids.Invalid("body", "is empty; want a JSON document")
	}
	if err := c.value(schemaOf(t)); err != nil {
		return err
	}
	c.space()
	if c.i < len(b) {
		return grids.Invalid("body", "unexpected data after the JSON value at byte %d: %s", c.i, quote(string(b[c.i:min(len(b), c.i+20)])))
	}
	return nil
}

// checker walks a JSON document once, keeping the path to the value it is
// at for error messages.
type checker struct {
	b     []byte
	i     int
	depth int
	path  []step
}

// step is one member name or array index of a path.
type step struct {
	key string
	idx int // -1 for a member
}

// where is the path of the current value: operations[0].grids[1].version,
// or "body" at the top.
func (c *checker) where() string {
	var sb strings.Builder
	for _, s := range c.path {
		if s.idx >= 0 {
			sb.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(clip(s.key))
	}
	if sb.Len() == 0 {
		return "body"
	}
	return sb.String()
}

func (c *checker) fail(format string, args ...any) error {
	return grids.Invalid(c.where(), format, args...)
}

// malformed reports a syntax error at the current byte.
func (c *checker) malformed(want string) error {
	got := "the end of the body"
	if c.i < len(c.b) {
		got = quote(string(c.b[c.i:min(len(c.b), c.i+10)]))
	}
	in := ""
	if len(c.path) > 0 {
		in = " (in " + c.where() + ")"
	}
	return grids.Invalid("body", "malformed JSON at byte %d%s: want %s, got %s", c.i, in, want, got)
}

func (c *checker) space() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *checker) peek() byte {
	if c.i < len(c.b) {
		return c.b[c.i]
	}
	return 0
}

// jsonType names the JSON type of the value starting with ch.
func jsonType(ch byte) string {
	switch {
	case ch == '{':
		return "an object"
	case ch == '[':
		return "an array"
	case ch == '"':
		return "a string"
	case ch == 't' || ch == 'f':
		return "a boolean"
	case ch == 'n':
		return "null"
	}
	return "a number"
}

// wanted names what a schema takes.
func wanted(s *schema) string {
	switch s.kind {
	case kindObject, kindMap:
		return "an object"
	case kindList:
		return "an array"
	case kindString:
		return "a string"
	case kindBool:
		return "true or false"
	case kindInt, kindUint:
		return "a whole number"
	case kindFloat:
		return "a number"
	case kindPosition:
		return "a position [lon, lat]"
	}
	return "a value"
}

// value checks the value at the current byte.
func (c *checker) value(s *schema) error {
	ch := c.peek()
	if s.kind == kindPosition {
		if ch != '[' {
			if !valueStart(ch) {
				return c.malformed("a value")
			}
			return c.fail("want %s, got %s", wanted(s), jsonType(ch))
		}
		return c.position(2, 2)
	}
	switch ch {
	case '{':
		if s.kind != kindAny && s.kind != kindObject && s.kind != kindMap {
			return c.fail("want %s, got an object", wanted(s))
		}
		return c.object(s)
	case '[':
		if s.kind != kindAny && s.kind != kindList {
			return c.fail("want %s, got an array", wanted(s))
		}
		return c.array(s)
	case '"':
		if s.kind != kindAny && s.kind != kindString {
			return c.fail("want %s, got a string", wanted(s))
		}
		_, _, err := c.str(false)
		return err
	case 't', 'f':
		start := c.i
		if err := c.literal(); err != nil {
			return err
		}
		if s.kind != kindAny && s.kind != kindBool {
			lit := string(c.b[start:c.i])
			c.i = start
			return c.fail("want %s, got %s", wanted(s), lit)
		}
		return nil
	case 'n':
		return c.literal()
	}
	start := c.i
	num, err := c.number()
	if err != nil {
		return err
	}
	switch s.kind {
	case kindAny:
	case kindFloat:
		if _, err := strconv.ParseFloat(string(num), s.bits); err != nil {
			c.i = start
			return c.fail("%s is not a finite number", quote(string(num)))
		}
	case kindInt:
		if _, err := strconv.ParseInt(string(num), 10, s.bits); err != nil {
			c.i = start
			return c.fail("want a whole number from %d to %d, got %s", -1<<(s.bits-1), 1<<(s.bits-1)-1, quote(string(num)))
		}
	case kindUint:
		if _, err := strconv.ParseUint(string(num), 10, s.bits); err != nil {
			c.i = start
			return c.fail("want a whole number from 0 to %d, got %s", uint64(1)<<s.bits-1, quote(string(num)))
		}
	default:
		c.i = start
		return c.fail("want %s, got a number", wanted(s))
	}
	return nil
}

func (c *checker) enter() error {
	c.depth++
	if c.depth > maxDepth {
		return c.fail("nested deeper than %d levels", maxDepth)
	}
	return nil
}

// object checks an object read into s (kindAny, kindObject or kindMap).
func (c *checker) object(s *schema) error {
	if err := c.enter(); err != nil {
		return err
	}
	c.i++
	c.space()
	if c.peek() == '}' {
		c.i++
		c.depth--
		return nil
	}
	var keys []string
	var keySet map[string]bool
	// A GeoJSON geometry's coordinates must nest as its type says.
	typ, coordDepth, coordPath := "", -1, ""
	for {
		if c.peek() != '"' {
			return c.malformed("a member name")
		}
		key, err := c.key()
		if err != nil {
			return err
		}
		c.path = append(c.path, step{key: key, idx: -1})
		if keySet == nil && len(keys) < 16 {
			for _, k := range keys {
				if k == key {
					return c.fail("is given twice")
				}
			}
			keys = append(keys, key)
		} else {
			if keySet == nil {
				keySet = make(map[string]bool, 32)
				for _, k := range keys {
					keySet[k] = true
				}
			}
			if keySet[key] {
				return c.fail("is given twice")
			}
			keySet[key] = true
		}
		sub := anySchema
		switch s.kind {
		case kindObject:
			f, ok := s.fields[key]
			if !ok {
				return c.fail("unknown field in the body (known: %s)", s.known)
			}
			sub = f
		case kindMap:
			sub = s.elem
		}
		c.space()
		if c.peek() != ':' {
			return c.malformed("':'")
		}
		c.i++
		c.space()
		switch {
		case key == "coordinates" && sub.kind == kindAny:
			d, err := c.coordinates()
			if err != nil {
				return err
			}
			coordDepth, coordPath = d, c.where()
		case key == "type" && sub.kind == kindAny && c.peek() == '"':
			start := c.i
			if err := c.value(sub); err != nil {
				return err
			}
			typ = string(c.b[start+1 : c.i-1])
		default:
			if err := c.value(sub); err != nil {
				return err
			}
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		switch c.peek() {
		case ',':
			c.i++
			c.space()
			continue
		case '}':
			c.i++
			c.depth--
			if g, ok := geometryDepth[typ]; ok && coordDepth >= 0 && coordDepth != g.depth {
				return grids.Invalid(coordPath, "a %s's coordinates are %s", typ, g.what)
			}
			return nil
		}
		return c.malformed("',' or '}'")
	}
}

// array checks an array read into s (kindAny or kindList).
func (c *checker) array(s *schema) error {
	if err := c.enter(); err != nil {
		return err
	}
	c.i++
	c.space()
	if c.peek() == ']' {
		c.i++
		c.depth--
		return nil
	}
	elem := anySchema
	if s.kind == kindList {
		elem = s.elem
	}
	for n := 0; ; n++ {
		if s.maxLen > 0 && n == s.maxLen {
			return c.fail("has more than %d members", s.maxLen)
		}
		c.path = append(c.path, step{idx: n})
		if err := c.value(elem); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		switch c.peek() {
		case ',':
			c.i++
			c.space()
			continue
		case ']':
			c.i++
			c.depth--
			return nil
		}
		return c.malformed("',' or ']'")
	}
}

// coordinates checks a GeoJSON coordinates value: a position, or an array
// of arrays nested evenly down to positions. It returns the nesting depth
// (0 for a position, 1 for an array of positions...), -1 for an empty
// array.
func (c *checker) coordinates() (int, error) {
	if ch := c.peek(); ch != '[' {
		if !valueStart(ch) {
			return 0, c.malformed("an array")
		}
		return 0, c.fail("want an array of positions, got %s", jsonType(ch))
	}
	// A position's first member is a number; anything else is an array
	// of positions or of arrays of them.
	j := c.i + 1
	for j < len(c.b) && (c.b[j] == ' ' || c.b[j] == '\t' || c.b[j] == '\n' || c.b[j] == '\r') {
		j++
	}
	if j < len(c.b) && (c.b[j] == '-' || (c.b[j] >= '0' && c.b[j] <= '9')) {
		return 0, c.position(2, 3)
	}
	if err := c.enter(); err != nil {
		return 0, err
	}
	c.i++
	c.space()
	if c.peek() == ']' {
		c.i++
		c.depth--
		return -1, nil
	}
	depth := -1
	for n := 0; ; n++ {
		c.path = append(c.path, step{idx: n})
		if ch := c.peek(); ch != '[' {
			if !valueStart(ch) {
				return 0, c.malformed("an array")
			}
			return 0, c.fail("want a position or an array of positions, got %s", jsonType(ch))
		}
		d, err := c.coordinates()
		if err != nil {
			return 0, err
		}
		if d >= 0 && depth >= 0 && d != depth {
			return 0, c.fail("is nested %d deep where the members before it are nested %d deep", d, depth)
		}
		if d >= 0 {
			depth = d
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		switch c.peek() {
		case ',':
			c.i++
			c.space()
			continue
		case ']':
			c.i++
			c.depth--
			if depth < 0 {
				return -1, nil
			}
			return depth + 1, nil
		}
		return 0, c.malformed("',' or ']'")
	}
}

// geometryDepth is how deep each GeoJSON geometry type nests its
// coordinates, and what they are.
var geometryDepth = map[string]struct {
	depth int
	what  string
}{
	"Point":           {0, "one position"},
	"MultiPoint":      {1, "an array of positions"},
	"LineString":      {1, "an array of positions"},
	"Polygon":         {2, "an array of rings, each an array of positions"},
	"MultiLineString": {2, "an array of lines, each an array of positions"},
	"MultiPolygon":    {3, "an array of polygons, each an array of rings of positions"},
}

// position checks a position: an array of lo to hi finite numbers.
func (c *checker) position(lo, hi int) error {
	shape := "[lon, lat]"
	count := fmt.Sprint(lo)
	if hi > lo {
		shape, count = "[lon, lat] or [lon, lat, height]", fmt.Sprintf("%d or %d", lo, hi)
	}
	c.i++
	c.space()
	for n := 0; ; n++ {
		ch := c.peek()
		if n == hi {
			return c.fail("a position has %s numbers, %s; this one has more", count, shape)
		}
		if ch == ']' && n == 0 {
			return c.fail("a position has %s numbers, %s; this one has none", count, shape)
		}
		c.path = append(c.path, step{idx: n})
		if ch != '-' && (ch < '0' || ch > '9') {
			if !valueStart(ch) {
				return c.malformed("a number")
			}
			return c.fail("want a finite number, got %s", jsonType(ch))
		}
		start := c.i
		num, err := c.number()
		if err != nil {
			return err
		}
		// A decimal without an exponent and under 300 digits is finite.
		if bytes.ContainsAny(num, "eE") || len(num) >= 300 {
			if _, err := strconv.ParseFloat(string(num), 64); err != nil {
				c.i = start
				return c.fail("%s is not a finite number", quote(string(num)))
			}
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		switch c.peek() {
		case ',':
			c.i++
			c.space()
			continue
		case ']':
			if n+1 < lo {
				return c.fail("a position has %s numbers, %s; this one has %d", count, shape, n+1)
			}
			c.i++
			return nil
		}
		return c.malformed("',' or ']'")
	}
}

// valueStart reports whether ch can start a JSON value.
func valueStart(ch byte) bool {
	return ch == '{' || ch == '[' || ch == '"' || ch == 't' || ch == 'f' || ch == 'n' || ch == '-' || (ch >= '0' && ch <= '9')
}

// number reads a JSON number.
func (c *checker) number() ([]byte, error) {
	k := jsonNumberLen(c.b[c.i:])
	if k == 0 {
		if ch := c.peek(); ch == '-' || (ch >= '0' && ch <= '9') {
			return nil, c.malformed("a number")
		}
		return nil, c.malformed("a value")
	}
	c.i += k
	if ch := c.peek(); ch == '.' || ch == 'e' || ch == 'E' || (ch >= '0' && ch <= '9') {
		return nil, c.malformed("a number")
	}
	return c.b[c.i-k : c.i], nil
}

// jsonNumberLen returns the length of the JSON number at the start of b,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, or 0 if there is none.
func jsonNumberLen(b []byte) int {
	i := 0
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// literal reads true, false or null.
func (c *checker) literal() error {
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(c.b[c.i:], []byte(lit)) {
			c.i += len(lit)
			return nil
		}
	}
	return c.malformed("a value")
}

// key reads a member name.
func (c *checker) key() (string, error) {
	start, escaped, err := c.str(true)
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(c.b[start+1 : c.i-1]), nil
	}
	var k string
	if err := json.Unmarshal(c.b[start:c.i], &k); err != nil {
		return "", grids.Invalid("body", "malformed member name at byte %d", start)
	}
	return k, nil
}

// str reads a string, refusing control characters, invalid UTF-8 and NUL
// (\u0000), and returns its start and whether it has escapes.
func (c *checker) str(isKey bool) (int, bool, error) {
	start := c.i
	escaped := false
	nul := func() error {
		if isKey {
			return c.fail("a member name here holds a NUL character (\\u0000)")
		}
		return c.fail("holds a NUL character (\\u0000), which text cannot store")
	}
	c.i++
	for c.i < len(c.b) {
		ch := c.b[c.i]
		switch {
		case ch == '"':
			c.i++
			return start, escaped, nil
		case ch == '\\':
			escaped = true
			c.i++
			switch c.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i++
			case 'u':
				if c.i+5 > len(c.b) {
					return start, escaped, c.malformed("four hex digits")
				}
				hex := c.b[c.i+1 : c.i+5]
				if _, err := strconv.ParseUint(string(hex), 16, 16); err != nil {
					return start, escaped, c.malformed("four hex digits")
				}
				if string(hex) == "0000" {
					return start, escaped, nul()
				}
				c.i += 5
			default:
				return start, escaped, c.malformed("an escape sequence")
			}
		case ch < 0x20:
			if ch == 0 {
				return start, escaped, nul()
			}
			return start, escaped, c.malformed("no control character in a string")
		case ch < utf8.RuneSelf:
			c.i++
		default:
			r, n := utf8.DecodeRune(c.b[c.i:])
			if r == utf8.RuneError && n == 1 {
				return start, escaped, c.fail("is not valid UTF-8 (byte %d)", c.i)
			}
			c.i += n
		}
	}
	return start, escaped, c.malformed("the end of the string")
}

// componentBody is a component Feature as the API takes it, checked before
// grids.ComponentFromGeoJSON reads it: the properties its keepers set are
// strings (or null), and those gridd writes itself are taken and ignored,
// so that a feature read and sent back whole changes nothing.
type componentBody struct {
	Type       string          `json:"type"`
	ID         any             `json:"id"`
	BBox       []float64       `json:"bbox"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties *struct {
		Code        *string `json:"code"`
		LegacyCode  *string `json:"legacy_code"`
		ClassCode   *string `json:"class_code"`
		Name        *string `json:"name"`
		DeptCode    *string `json:"dept_code"`
		DeptName    *string `json:"dept_name"`
		OwnerUnit   *string `json:"owner_unit"`
		MaintUnit   *string `json:"maint_unit"`
		Status      *string `json:"status"`
		InitialDate *string `json:"initial_date"`
		ChangeDate  *string `json:"change_date"`
		DataSource  *string `json:"data_source"`
		Accuracy    *string `json:"accuracy"`
		Note        *string `json:"note"`
		// Written by gridd.
		ClassName     any `json:"class_name"`
		DistrictCode  any `json:"district_code"`
		GridCode      any `json:"grid_code"`
		Grids         any `json:"grids"`
		CommunityCode any `json:"community_code"`
		CommunityName any `json:"community_name"`
		StreetCode    any `json:"street_code"`
		StreetName    any `json:"street_name"`
		Snapped       any `json:"snapped"`
		SnapM         any `json:"snap_m"`
		Version       any `json:"version"`
		CreatedAt     any `json:"created_at"`
		UpdatedAt     any `json:"updated_at"`
	} `json:"properties"`
}

// gridFeatureBody is a grid Feature of PUT /v1/grids/{code} and of the OGC
// API's grid edits: a geometry (or null), the attributes an editor sets and
// the message recorded. The properties gridd writes itself are taken and
// ignored, so that a feature read and sent back whole (as QGIS does) only
// changes what was edited.
type gridFeatureBody struct {
	Type       string            `json:"type"`
	ID         any               `json:"id"`
	BBox       []float64         `json:"bbox"`
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties struct {
		grids.GridAttributes
		Message string `json:"message"`
		// Written by gridd.
		Code          any `json:"code"`
		CommunityCode any `json:"community_code"`
		StreetCode    any `json:"street_code"`
		DistrictCode  any `json:"district_code"`
		AreaM2        any `json:"area_m2"`
		Version       any `json:"version"`
		ValidFrom     any `json:"valid_from"`
	} `json:"properties"`
}
