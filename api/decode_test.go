package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridd/grids"
)

// Every rule of the decoding policy refuses what it should with a 400
// naming the member, and lets through what a client sends.
func TestDecodePolicy(t *testing.T) {
	square := `{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.901],[116.4,39.9]]]}`
	op := func(geom string) string {
		return `{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007001","version":1}],"geometry":` + geom + `}]}`
	}
	for _, tc := range []struct {
		name, body string
		want       string // "" for accepted; else the error's field and a part of its message
	}{
		{"changeset", op(square), ""},
		{"3D positions", op(`{"type":"Polygon","coordinates":[[[116.4,39.9,12.5],[116.401,39.9,3],[116.4,39.901,0],[116.4,39.9,1]]]}`), ""},
		{"white space around", " \n" + op(square) + "\n\t ", ""},
		{"unknown member", `{"message":"m","operations":[],"note":"x"}`, `note: unknown field in the body (known: message, operations)`},
		{"unknown nested member", `{"message":"m","operations":[{"op":"merge","grid":[]}]}`, `operations[0].grid: unknown field`},
		{"member twice", `{"message":"m","message":"n"}`, `message: is given twice`},
		{"member case differs", `{"Message":"m"}`, `Message: unknown field`},
		{"number for a string", `{"message":123}`, `message: want a string, got a number`},
		{"string for an integer", `{"message":"m","operations":[{"op":"merge","grids":[{"code":"110101001007001","version":"1"}]}]}`, `operations[0].grids[0].version: want a whole number, got a string`},
		{"fraction for an integer", `{"message":"m","operations":[{"op":"merge","grids":[{"code":"110101001007001","version":1.5}]}]}`, `operations[0].grids[0].version: want a whole number`},
		{"integer beyond int64", `{"message":"m","operations":[{"op":"revert","changeset":99999999999999999999}]}`, `operations[0].changeset: want a whole number from`},
		{"bool for an array", `{"message":"m","operations":true}`, `operations: want an array, got true`},
		{"object for a string", `{"message":{}}`, `message: want a string, got an object`},
		{"trailing data", op(square) + `x`, `body: unexpected data after the JSON value`},
		{"second document", `{"message":"m"}{"message":"n"}`, `body: unexpected data after the JSON value`},
		{"cut off", `{"message":"m","operations":[{"op":"merge"`, `body: malformed JSON at byte 42 (in operations[0]): want ',' or '}', got the end of the body`},
		{"empty", "  ", `body: is empty`},
		{"NUL in a value", `{"message":"a\u0000b"}`, `message: holds a NUL character`},
		{"NUL in a nested value", op(`{"type":"Poly\u0000gon","coordinates":[]}`), `operations[0].geometry.type: holds a NUL character`},
		{"NUL in a member name", `{"message":"m","operations":[{"op\u0000":1}]}`, `operations[0]: a member name here holds a NUL character`},
		{"raw NUL byte", "{\"message\":\"a\x00b\"}", `message: holds a NUL character`},
		{"invalid UTF-8", "{\"message\":\"a\xffb\"}", `message: is not valid UTF-8`},
		{"control character", "{\"message\":\"a\nb\"}", `body: malformed JSON`},
		{"bad escape", `{"message":"a\qb"}`, `body: malformed JSON`},
		{"non-finite coordinate", op(`{"type":"Polygon","coordinates":[[[116.4,39.9,1e400],[116.401,39.9],[116.4,39.901],[116.4,39.9]]]}`), `operations[0].geometry.coordinates[0][0][2]: "1e400" is not a finite number`},
		{"string in a position", op(`{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9,"zz",{}],[116.4,39.901],[116.4,39.9]]]}`), `operations[0].geometry.coordinates[0][1][2]: want a finite number, got a string`},
		{"four numbers", op(`{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.4,39.901],[116.4,39.9,1,2]]]}`), `operations[0].geometry.coordinates[0][3]: a position has 2 or 3 numbers`},
		{"one number", op(`{"type":"Polygon","coordinates":[[[116.4],[116.401,39.9],[116.4,39.901],[116.4,39.9]]]}`), `operations[0].geometry.coordinates[0][0]: a position has 2 or 3 numbers, [lon, lat] or [lon, lat, height]; this one has 1`},
		{"empty position", op(`{"type":"Point","coordinates":[]}`), ``},
		{"null in a position", op(`{"type":"Point","coordinates":[116.4,null]}`), `operations[0].geometry.coordinates[1]: want a finite number, got null`},
		{"null coordinates", op(`{"type":"Point","coordinates":null}`), `operations[0].geometry.coordinates: want an array of positions, got null`},
		{"mixed nesting", op(`{"type":"Polygon","coordinates":[[[116.4,39.9]],116.4]}`), `operations[0].geometry.coordinates[1]: want a position or an array of positions, got a number`},
		{"hex number", op(`{"type":"Point","coordinates":[0x1p7,39.9]}`), `body: malformed JSON`},
		{"plus sign", op(`{"type":"Point","coordinates":[+116.4,39.9]}`), `body: malformed JSON`},
		{"leading zero", `{"message":"m","operations":[{"op":"revert","changeset":012}]}`, `body: malformed JSON`},
		{"move with three numbers", `{"message":"m","operations":[{"op":"reshape","moves":[{"from":[116.4,39.9,1],"to":[116.4,39.9]}]}]}`, `operations[0].moves[0].from: a position has 2 numbers, [lon, lat]; this one has more`},
		{"move with a string", `{"message":"m","operations":[{"op":"reshape","moves":[{"from":[116.4,39.9],"to":"here"}]}]}`, `operations[0].moves[0].to: want a position [lon, lat], got a string`},
		{"too deep", `{"message":"m","operations":[{"op":"merge","geometry":{"type":"Point","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}]}`, `nested deeper than 64 levels`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req grids.ChangesetRequest
			err := decodeJSON([]byte(tc.body), &req)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var inv *grids.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("got %v, want an *InvalidError %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want %q", err, tc.want)
			}
		})
	}
}

// A refused value is quoted short: no message echoes a huge input.
func TestDecodeQuotesShort(t *testing.T) {
	huge := strings.Repeat("9", 1<<20)
	for _, body := range []string{
		`{"message":"m","operations":[{"op":"revert","changeset":` + huge + `}]}`,
		`{"` + strings.Repeat("k", 1<<20) + `":1}`,
		`{"message":"m"}` + strings.Repeat("x", 1<<20),
	} {
		var req grids.ChangesetRequest
		err := decodeJSON([]byte(body), &req)
		if err == nil || len(err.Error()) > 400 {
			t.Errorf("error of %d bytes: %.200v", len(err.Error()), err)
		}
	}
	if m := clipMessage(strings.Repeat("é", 5000)); len(m) > maxMessage+100 || !strings.Contains(m, "message cut") {
		t.Errorf("clipMessage: %d bytes", len(m))
	}
}

// Whatever the component API writes, a client may send back.
func TestComponentBodyTakesOwnOutput(t *testing.T) {
	d := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	c := grids.Component{Code: "11010101001000001", ClassCode: "01001", LegacyCode: "1101010101000001", Grids: []string{"110101001007001"},
		Snapped: true, SnapM: 3, Geom: orb.Point{116.4, 39.9}}
	c.InitialDate, c.ChangeDate = &d, &d
	b, err := json.Marshal(componentFeature(c))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkJSON(b, reflect.TypeFor[componentBody]()); err != nil {
		t.Errorf("own output refused: %v\n%s", err, b)
	}
	for body, want := range map[string]string{
		`{"type":"Feature","properties":{"class_code":"01001","name":123},"geometry":{"type":"Point","coordinates":[116.4,39.9]}}`:         "properties.name: want a string, got a number",
		`{"type":"Feature","properties":{"class_code":"01001","colour":"red"},"geometry":{"type":"Point","coordinates":[116.4,39.9]}}`:     "properties.colour: unknown field",
		`{"type":"Feature","properties":{"class_code":"01001"},"geometry":{"type":"Point","coordinates":[116.4,39.9,1e400]}}`:              `geometry.coordinates[2]: "1e400" is not a finite number`,
		`{"type":"Feature","properties":{"class_code":"01001","version":7,"grids":["x"]},"geometry":{"type":"Point","coordinates":[1,2]}}`: "",
	} {
		err := checkJSON([]byte(body), reflect.TypeFor[componentBody]())
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}

// Query numbers are plain decimals.
func TestParseNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"116.397": true, "-39.9": true, "0": true, "007.5": true, "1e-7": true, "1E+3": true,
		"0x1p7": false, "0X10": false, "inf": false, "+Inf": false, "NaN": false, "1_000": false, "+5": false,
		".5": false, "5.": false, "": false, " 5": false, "5 ": false, "1e400": false, "1e": false, "--1": false, "١٢": false,
	} {
		if _, ok := parseNumber(s); ok != want {
			t.Errorf("parseNumber(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

// The OGC API and component query parameters refuse what they do not
// understand.
func TestQueryParams(t *testing.T) {
	for _, tc := range []struct {
		query, want string // want: "" accepted, else the error's start
	}{
		{"limit=10&offset=20&bbox=116.4,39.9,116.5,40", ""},
		{"limit=999999999999999999999999", ""}, // clamped to the most a page holds
		{"crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox=116,39,117,40", ""},
		{"bbox=NaN,39.9,116.5,40", `bbox: "NaN" is not a number`},
		{"bbox=116.4,39.9,116.5,Infinity", `bbox: "Infinity" is not a number`},
		{"bbox=116.4,39.9,116.5", "bbox: want four numbers"},
		{"bbox=116.4,39.9,116.5,40,1,2", "bbox: want four numbers"},
		{"bbox=116.4,40,116.5,39.9", "bbox: minimum latitude 40 is above the maximum 39.9"},
		{"bbox=116.4,39.9,116.5,95", "bbox: latitude 95 is out of range"},
		{"bbox=0x1p7,39.9,130,40", `bbox: "0x1p7" is not a number`},
		{"crs=bogus", `crs: "bogus" is not supported; supported: http://www.opengis.net/def/crs/OGC/1.3/CRS84`},
		{"bbox-crs=bogus&bbox=116,39,117,40", `bbox-crs: "bogus" is not supported`},
		{"crs=http://www.opengis.net/def/crs/EPSG/0/4326", "crs: "},
		{"bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84", "bbox-crs: is given without a bbox"},
		{"datetime=garbage", `datetime: "garbage" is not an RFC 3339 instant`},
		{"datetime=2026-13-01", `datetime: "2026-13-01" is not`},
		{"datetime=2026-03-01T00:00:00Z/2026-01-01T00:00:00Z", "datetime: the interval"},
		{"datetime=2026-01-01T00:00:00Z/..", "datetime: filtering by time is not served"},
		{"limit=0", "limit: want a whole number from 1"},
		{"limit=-5", "limit: want a whole number from 1"},
		{"limit=+5", "limit: want a whole number from 1"},
		{"offset=-1", "offset: want a whole number from 0"},
		{"offset=1e3", "offset: want a whole number from 0"},
		{"offset=99999999999", "offset: want a whole number from 0"},
		{"limit=5&limit=6", "limit: is given 2 times"},
		{"sortby=code", "sortby: unknown query parameter"},
		{"f=json%00", "f: holds a NUL character"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		_, err = featureQuery(q)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.query, err, tc.want)
		}
	}
	for _, tc := range []struct {
		query, want string
	}{
		{"code=11010101037&status=lost&limit=2&bbox=116.4,39.9,116.5,40&after=11010101037000002", ""},
		{"status=bogus", `status: "bogus" is not a component status; want one of intact, damaged, lost, abandoned, removed`},
		{"stauts=lost", "stauts: unknown query parameter"},
		{"limit=1001", "limit: want a whole number from 1 to 1000"},
		{"limit=0x10", "limit: want a whole number from 1 to 1000"},
		{"class=01001x", `class: want up to 5 digits, got "01001x"`},
		{"bbox=1,2,3", "bbox: want four numbers"},
	} {
		q, _ := url.ParseQuery(tc.query)
		_, err := componentQuery(q)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.query, err, tc.want)
		}
	}
}

// Part of a batch lookup's strictness: nothing after the body, and only
// JSON numbers.
func TestBatchStrict(t *testing.T) {
	for body, want := range map[string]string{
		`{"points":[[116.4,39.9]]}`:               "",
		`{"points":[[116.4,39.9]]}  ` + "\n":      "",
		`{"points":[[116.4,39.9]]}garbage`:        "want the end of the body",
		`{"points":[[116.4,39.9]]} {}`:            "want the end of the body",
		`{"points":[[0x1p7,39.9]]}`:               `points[0]: "0x1p7" is not a JSON number`,
		`{"points":[[+116.4,39.9]]}`:              `points[0]: "+116.4" is not a JSON number`,
		`{"points":[[0116.4,39.9]]}`:              `points[0]: "0116.4" is not a JSON number`,
		`{"points":[[116.,39.9]]}`:                `points[0]: "116." is not a JSON number`,
		`{"points":[[.5,39.9]]}`:                  `points[0]: ".5" is not a JSON number`,
		`{"points":[[Infinity,39.9]]}`:            `points[0]: "Infinity" is not a JSON number`,
		`{"points":[[116.4,39.9e0]]}`:             "",
		`{"points":[[116.4,3_9.9]]}`:              `points[0]: "3_9.9" is not a JSON number`,
		`{"points":[[116.4,39.9]],"crs":"wgs84"}`: "",
	} {
		_, err := parseBatchRequest([]byte(body))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}

// BenchmarkDecodeRedraw decodes a redraw of a 100,000-vertex polygon
// (about 4 MB, the edit limit) through the policy.
func BenchmarkDecodeRedraw(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007001","version":1}],"geometry":{"type":"Polygon","coordinates":[[`)
	for i := range 100_000 {
		fmt.Fprintf(&sb, "[%.7f,%.7f],", 116.4+float64(i)*1e-7, 39.9+float64(i%7)*1e-7)
	}
	sb.WriteString(`[116.4,39.9]]]}}]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req grids.ChangesetRequest
		if err := decodeJSON(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// A geometry's coordinates nest as deep as its type says.
func TestCoordinatesDepth(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]]]}`:       "",
		`{"coordinates":[[[1,2],[3,4],[5,6],[1,2]]],"type":"Polygon"}`:       "",
		`{"type":"Polygon","coordinates":[]}`:                                "",
		`{"type":"Polygon","coordinates":[[],[[1,2]]]}`:                      "",
		`{"type":"Point","coordinates":[1,2]}`:                               "",
		`{"type":"MultiPolygon","coordinates":[[[[1,2],[3,4],[1,2]]]]}`:      "",
		`{"type":"Polygon","coordinates":[[1,2],[3,4],[5,6],[1,2]]}`:         "coordinates: a Polygon's coordinates are an array of rings",
		`{"coordinates":[1,2],"type":"LineString"}`:                          "coordinates: a LineString's coordinates are an array of positions",
		`{"type":"Point","coordinates":[[1,2]]}`:                             "coordinates: a Point's coordinates are one position",
		`{"type":"Polygon","coordinates":[[[1,2],[3,4]],[[[1,2]]]]}`:         "coordinates[1]: is nested 2 deep where the members before it are nested 1 deep",
		`{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]],[1,2]]}`: "coordinates[1]: is nested 0 deep",
	} {
		err := checkJSON([]byte(body), nil)
		if (want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), want)) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}
