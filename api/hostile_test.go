package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// The hostile-input table: every bad input the hardening probe found, and
// more of the same kinds, sent to a server with every part mounted over
// PostGIS, each case with the status it must get. No case may change the
// database: row counts and checksums of every table are compared before
// and after the whole table.
//
// To add a case, add it to hostileCases (or, for a polygon, a line to
// hostilePolygons: it is sent to every endpoint that takes one).

// hostileCase is one request and the answer it must get.
type hostileCase struct {
	name         string
	method, path string
	body         string
	header       []string // name, value, ...
	status       int
	want         string // in the answer's body
	// size, when positive, sends a body of that many bytes made of body's
	// text repeated (Content-Length set, or chunked when chunked is set).
	size    int64
	chunked bool
}

// Fixtures the cases name: created before the first snapshot.
const (
	hGrid      = "110101001007001"
	hDept      = "111101010000000001"
	hCommunity = "110101001007"
)

// hostilePolygons are polygons every geometry-taking edit must refuse
// (redraws, grid PUT, OGC PUT and POST), with the status and a part of the
// message. The coordinates are a Polygon's.
var hostilePolygons = []struct {
	name, coordinates string
	status            int
	want              string
}{
	{"non-finite coordinate", `[[[116.4,39.9,1e400],[116.4006,39.9],[116.4006,39.9005],[116.4,39.9]]]`, 400, `coordinates[0][0][2]: \"1e400\" is not a finite number`},
	{"extra coordinate members", `[[[116.4,39.9],[116.4006,39.9,"zz",{}],[116.4006,39.9005],[116.4,39.9]]]`, 400, `coordinates[0][1][2]: want a finite number, got a string`},
	{"four-member position", `[[[116.4,39.9],[116.4006,39.9],[116.4006,39.9005,1,2],[116.4,39.9]]]`, 400, `coordinates[0][2]: a position has 2 or 3 numbers`},
	{"one-member position", `[[[116.4,39.9],[116.4006],[116.4006,39.9005],[116.4,39.9]]]`, 400, `coordinates[0][1]: a position has 2 or 3 numbers`},
	{"ring for a polygon", `[[116.4,39.9],[116.4006,39.9],[116.4006,39.9005],[116.4,39.9]]`, 400, `coordinates: a Polygon's coordinates are an array of rings`},
	{"null in a position", `[[[116.4,39.9],[116.4006,null],[116.4006,39.9005],[116.4,39.9]]]`, 400, `coordinates[0][1][1]: want a finite number, got null`},
}

// polygonCases sends one polygon to every endpoint that takes one.
func polygonCases(name, coordinates string, status int, want string) []hostileCase {
	geom := `{"type":"Polygon","coordinates":` + coordinates + `}`
	return []hostileCase{
		{name: name + ": changeset redraw", method: "POST", path: "/v1/changesets", status: status, want: "operations[0].geometry." + want,
			body: `{"message":"m","operations":[{"op":"redraw","grids":[{"code":"` + hGrid + `","version":1}],"geometry":` + geom + `}]}`},
		{name: name + ": grid PUT", method: "PUT", path: "/v1/grids/" + hGrid, header: []string{"If-Match", `"v1"`}, status: status, want: "geometry." + want,
			body: `{"type":"Feature","properties":{},"geometry":` + geom + `}`},
		{name: name + ": OGC PUT", method: "PUT", path: "/ogc/collections/grids/items/" + hGrid, status: status, want: "geometry." + want,
			body: `{"type":"Feature","properties":{},"geometry":` + geom + `}`},
		{name: name + ": OGC POST", method: "POST", path: "/ogc/collections/grids/items", status: status, want: "geometry." + want,
			body: `{"type":"Feature","properties":{},"geometry":` + geom + `}`},
	}
}

// hostileCases builds the table; component is the code of a stored
// component, rule the id of a stored routing rule.
func hostileCases(component string, rule int64) []hostileCase {
	const (
		edit  = 4 << 20
		comp  = 1 << 20
		small = 64 << 10
	)
	point := `{"type":"Point","coordinates":[116.4005,39.9005]}`
	feature := func(props string) string {
		return `{"type":"Feature","properties":{"class_code":"01001"` + props + `},"geometry":` + point + `}`
	}
	ifV1 := []string{"If-Match", `"v1"`}
	ruleURL := "/v1/routing/rules/" + strconv.FormatInt(rule, 10)
	nul := `\u0000`
	cases := []hostileCase{
		// Sanity: the server answers good requests (so that the refusals below
		// are the checks', not a broken server's).
		{name: "good lookup", method: "GET", path: "/v1/lookup?lon=116.4005&lat=39.9013", status: 200, want: hGrid},
		{name: "good OGC items in CRS84", method: "GET", path: "/ogc/collections/grids/items?crs=" + url.QueryEscape("http://www.opengis.net/def/crs/OGC/1.3/CRS84") + "&bbox=116.4,39.9,116.41,39.91", status: 200, want: hGrid},
		{name: "good component search", method: "GET", path: "/v1/components?status=intact", status: 200, want: component},

		// Oversize bodies: 413 naming the limit, never a cut-off body.
		{name: "oversize changeset", method: "POST", path: "/v1/changesets", body: `{"message":"`, size: edit + 1, status: 413, want: "larger than 4 MiB"},
		{name: "oversize changeset, streamed", method: "POST", path: "/v1/changesets", body: `{"message":"`, size: 9 << 20, chunked: true, status: 413, want: "larger than 4 MiB"},
		{name: "oversize changeset revert", method: "POST", path: "/v1/changesets/1/revert", body: `{"message":"`, size: small + 1, status: 413, want: "larger than 64 KiB"},
		{name: "oversize grid PUT", method: "PUT", path: "/v1/grids/" + hGrid, header: ifV1, body: `{"geometry":`, size: edit + 1, status: 413, want: "too_large"},
		{name: "oversize grid PUT, streamed", method: "PUT", path: "/v1/grids/" + hGrid, header: ifV1, body: `[1,`, size: edit + 1, chunked: true, status: 413, want: "too_large"},
		{name: "oversize component POST", method: "POST", path: "/v1/components", body: `{"type":"`, size: comp + 1, status: 413, want: "larger than 1 MiB"},
		{name: "oversize component PUT", method: "PUT", path: "/v1/components/" + component, header: ifV1, body: `{"type":"`, size: comp + 1, chunked: true, status: 413, want: "larger than 1 MiB"},
		{name: "oversize OGC grid POST", method: "POST", path: "/ogc/collections/grids/items", body: `{"type":"`, size: edit + 1, status: 413, want: "too_large"},
		{name: "oversize OGC grid PUT", method: "PUT", path: "/ogc/collections/grids/items/" + hGrid, body: `{"type":"`, size: edit + 1, chunked: true, status: 413, want: "too_large"},
		{name: "oversize OGC component POST", method: "POST", path: "/ogc/collections/components/items", body: `{"type":"`, size: comp + 1, status: 413, want: "too_large"},
		{name: "oversize OGC component PATCH", method: "PATCH", path: "/ogc/collections/components/items/" + component, body: `{"type":"`, size: comp + 1, chunked: true, status: 413, want: "too_large"},
		{name: "oversize department", method: "PUT", path: "/v1/departments/" + hDept, body: `{"name":"`, size: small + 1, status: 413, want: "larger than 64 KiB"},
		{name: "oversize rule", method: "POST", path: "/v1/routing/rules", body: `{"note":"`, size: small + 1, chunked: true, status: 413, want: "too_large"},
		{name: "oversize report", method: "POST", path: "/v1/route", body: `{"component":"`, size: small + 1, status: 413, want: "too_large"},
		{name: "oversize build (200 MB area)", method: "POST", path: "/v1/builds", body: `{"area":"`, size: 200 << 20, status: 413, want: "larger than 64 KiB"},
		{name: "oversize build, streamed", method: "POST", path: "/v1/builds", body: `{"area":"`, size: 2 << 20, chunked: true, status: 413, want: "larger than 64 KiB"},
		{name: "oversize management grid", method: "POST", path: "/v1/mgmt-grids", body: `{"name":"`, size: 200 << 20, status: 413, want: "larger than 1 MiB"},
		{name: "oversize history revert", method: "POST", path: "/v1/history/1/revert", body: `{"reason":"`, size: small + 1, chunked: true, status: 413, want: "too_large"},
		{name: "oversize batch lookup", method: "POST", path: "/v1/lookup", body: `[116.4,39.9],`, size: 64<<20 + 1, status: 413, want: "too_large"},

		// NUL in text: 400 naming the field, on every write endpoint.
		{name: "NUL: changeset message", method: "POST", path: "/v1/changesets", body: `{"message":"a` + nul + `","operations":[{"op":"merge","grids":[{"code":"` + hGrid + `","version":1}]}]}`, status: 400, want: "message: holds a NUL character"},
		{name: "NUL: changeset revert", method: "POST", path: "/v1/changesets/1/revert", body: `{"message":"` + nul + `"}`, status: 400, want: "message: holds a NUL"},
		{name: "NUL: grid PUT", method: "PUT", path: "/v1/grids/" + hGrid, header: ifV1, body: `{"type":"Feature","properties":{"note":"a` + nul + `b"},"geometry":null}`, status: 400, want: "properties.note: holds a NUL"},
		{name: "NUL: component POST", method: "POST", path: "/v1/components", body: feature(`,"name":"` + nul + `"`), status: 400, want: "properties.name: holds a NUL"},
		{name: "NUL: component PUT", method: "PUT", path: "/v1/components/" + component, header: ifV1, body: feature(`,"note":"x` + nul + `"`), status: 400, want: "properties.note: holds a NUL"},
		{name: "NUL: component PUT reason", method: "PUT", path: "/v1/components/" + component + "?reason=a%00b", header: ifV1, body: feature(""), status: 400, want: "reason: holds a NUL"},
		{name: "NUL: component DELETE reason", method: "DELETE", path: "/v1/components/" + component + "?reason=%00", status: 400, want: "reason: holds a NUL"},
		{name: "NUL: OGC grid POST", method: "POST", path: "/ogc/collections/grids/items", body: `{"type":"Feature","properties":{"message":"` + nul + `"},"geometry":null}`, status: 400, want: "properties.message: holds a NUL"},
		{name: "NUL: OGC grid PATCH", method: "PATCH", path: "/ogc/collections/grids/items/" + hGrid, body: `{"type":"Feature","properties":{"land_use":"` + nul + `"}}`, status: 400, want: "properties.land_use: holds a NUL"},
		{name: "NUL: OGC component POST", method: "POST", path: "/ogc/collections/components/items", body: feature(`,"maint_unit":"` + nul + `"`), status: 400, want: "properties.maint_unit: holds a NUL"},
		{name: "NUL: OGC component PUT", method: "PUT", path: "/ogc/collections/components/items/" + component, body: feature(`,"name":"` + nul + `"`), status: 400, want: "properties.name: holds a NUL"},
		{name: "NUL: OGC component PATCH", method: "PATCH", path: "/ogc/collections/components/items/" + component, body: `{"properties":{"owner_unit":"` + nul + `"}}`, status: 400, want: "properties.owner_unit: holds a NUL"},
		{name: "NUL: department", method: "PUT", path: "/v1/departments/" + hDept, body: `{"name":"x` + nul + `"}`, status: 400, want: "name: holds a NUL"},
		{name: "NUL: department DELETE reason", method: "DELETE", path: "/v1/departments/" + hDept + "?reason=%00", status: 400, want: "reason: holds a NUL"},
		{name: "NUL: rule", method: "POST", path: "/v1/routing/rules", body: `{"class":"01001","kind":"component","scope":"everywhere","department":"` + hDept + `","note":"` + nul + `"}`, status: 400, want: "note: holds a NUL"},
		{name: "NUL: rule DELETE reason", method: "DELETE", path: ruleURL + "?reason=%00", status: 400, want: "reason: holds a NUL"},
		{name: "NUL: report", method: "POST", path: "/v1/route", body: `{"lon":116.4005,"lat":39.9005,"class":"01001","component":"` + nul + `"}`, status: 400, want: "component: holds a NUL"},
		{name: "NUL: build", method: "POST", path: "/v1/builds", body: `{"area":"110101","reason":"` + nul + `"}`, status: 400, want: "reason: holds a NUL"},
		{name: "NUL: management grid", method: "POST", path: "/v1/mgmt-grids", body: `{"code":"M1","name":"` + nul + `","grids":["` + hGrid + `"]}`, status: 400, want: "name: holds a NUL"},
		{name: "NUL: history revert", method: "POST", path: "/v1/history/1/revert", body: `{"reason":"` + nul + `"}`, status: 400, want: "reason: holds a NUL"},
		{name: "NUL: member name", method: "POST", path: "/v1/builds", body: `{"are` + nul + `a":"110101"}`, status: 400, want: "a member name here holds a NUL"},
		{name: "NUL: component code in the path", method: "GET", path: "/v1/components/%00", status: 400, want: "code:"},
		{name: "NUL: component DELETE path", method: "DELETE", path: "/v1/components/1101010100100%00001", status: 400, want: "code:"},
		{name: "NUL: OGC item path", method: "GET", path: "/ogc/collections/grids/items/%00", status: 400, want: "id:"},
		{name: "NUL: OGC component DELETE path", method: "DELETE", path: "/ogc/collections/components/items/%00", status: 400, want: "id:"},
		{name: "NUL: management grid path", method: "GET", path: "/v1/mgmt-grids/%00", status: 400, want: "code:"},
		{name: "NUL: history query", method: "GET", path: "/v1/history?entity=component&code=%00", status: 400, want: "code: holds a NUL"},
		{name: "NUL: code search", method: "GET", path: "/v1/search?code=110101%00", status: 400, want: "code: holds a NUL"},
		{name: "invalid UTF-8", method: "PUT", path: "/v1/departments/" + hDept, body: "{\"name\":\"\xff\"}", status: 400, want: "name: is not valid UTF-8"},

		// Wrong types: 400 naming the field, no conversion.
		{name: "number for a component name", method: "POST", path: "/v1/components", body: feature(`,"name":123`), status: 400, want: "properties.name: want a string, got a number"},
		{name: "number for an OGC component name", method: "POST", path: "/ogc/collections/components/items", body: feature(`,"name":123`), status: 400, want: "properties.name: want a string, got a number"},
		{name: "number for a changeset message", method: "POST", path: "/v1/changesets", body: `{"message":123,"operations":[]}`, status: 400, want: "message: want a string, got a number"},
		{name: "string for a grid version", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[{"op":"merge","grids":[{"code":"` + hGrid + `","version":"1"}]}]}`, status: 400, want: "operations[0].grids[0].version: want a whole number, got a string"},
		{name: "string for a priority", method: "POST", path: "/v1/routing/rules", body: `{"class":"01001","kind":"component","scope":"everywhere","department":"` + hDept + `","priority":"high"}`, status: 400, want: "priority: want a whole number, got a string"},
		{name: "string for a target", method: "POST", path: "/v1/builds", body: `{"area":"110101","target_m2":"big"}`, status: 400, want: "target_m2: want a number, got a string"},
		{name: "string for a grid list", method: "POST", path: "/v1/mgmt-grids", body: `{"code":"M1","name":"n","grids":"` + hGrid + `"}`, status: 400, want: "grids: want an array, got a string"},
		{name: "number for a department name", method: "PUT", path: "/v1/departments/" + hDept, body: `{"name":5}`, status: 400, want: "name: want a string, got a number"},
		{name: "boolean for a land use", method: "PUT", path: "/v1/grids/" + hGrid, header: ifV1, body: `{"type":"Feature","properties":{"land_use":true}}`, status: 400, want: "properties.land_use: want a string, got true"},
		{name: "string for lon", method: "POST", path: "/v1/route", body: `{"lon":"116.4","lat":39.9,"class":"01001"}`, status: 400, want: "lon: want a number, got a string"},
		{name: "priority beyond int32", method: "POST", path: "/v1/routing/rules", body: `{"class":"01001","kind":"component","scope":"everywhere","department":"` + hDept + `","priority":2147483648}`, status: 400, want: "priority: want a whole number from -2147483648 to 2147483647"},
		{name: "priority below int32", method: "POST", path: "/v1/routing/rules", body: `{"class":"01001","kind":"component","scope":"everywhere","department":"` + hDept + `","priority":-2147483649}`, status: 400, want: "priority: want a whole number from -2147483648"},
		{name: "priority beyond int64", method: "POST", path: "/v1/routing/rules", body: `{"class":"01001","kind":"component","scope":"everywhere","department":"` + hDept + `","priority":99999999999999999999}`, status: 400, want: "priority: want a whole number"},
		{name: "non-finite target", method: "POST", path: "/v1/builds", body: `{"area":"110101","target_m2":1e400}`, status: 400, want: `target_m2: \"1e400\" is not a finite number`},

		// Unknown members.
		{name: "unknown build field", method: "POST", path: "/v1/builds", body: `{"area":"110101","size":5}`, status: 400, want: "size: unknown field"},
		{name: "unknown changeset field", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[],"force":true}`, status: 400, want: "force: unknown field"},
		{name: "unknown grid property", method: "PUT", path: "/v1/grids/" + hGrid, header: ifV1, body: `{"type":"Feature","properties":{"landuse":"park"}}`, status: 400, want: "properties.landuse: unknown field"},
		{name: "unknown component property", method: "POST", path: "/v1/components", body: feature(`,"colour":"red"`), status: 400, want: "properties.colour: unknown field"},
		{name: "unknown report field", method: "POST", path: "/v1/route", body: `{"lon":116.4005,"lat":39.9005,"class":"01001","urgent":true}`, status: 400, want: "urgent: unknown field"},
		{name: "unknown department field", method: "PUT", path: "/v1/departments/" + hDept, body: `{"name":"x","phone":"1"}`, status: 400, want: "phone: unknown field"},
		{name: "unknown OGC PATCH member", method: "PATCH", path: "/ogc/collections/components/items/" + component, body: `{"properties":{},"links":[]}`, status: 400, want: "links: unknown field"},
		{name: "member given twice", method: "POST", path: "/v1/mgmt-grids", body: `{"code":"M1","code":"M2","name":"n","grids":["` + hGrid + `"]}`, status: 400, want: "code: is given twice"},

		// Trailing data.
		{name: "trailing garbage after a changeset", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[]}garbage`, status: 400, want: "unexpected data after the JSON value"},
		{name: "second document after a component", method: "POST", path: "/v1/components", body: feature("") + ` {}`, status: 400, want: "unexpected data after the JSON value"},
		{name: "trailing garbage after a build", method: "POST", path: "/v1/builds", body: `{"area":"110101"}]`, status: 400, want: "unexpected data"},
		{name: "trailing garbage after a lookup batch", method: "POST", path: "/v1/lookup", body: `{"points":[[116.4005,39.9005]]}garbage`, status: 400, want: "want the end of the body"},
		{name: "unknown member in a lookup batch", method: "POST", path: "/v1/lookup", body: `{"points":[[116.4005,39.9005]],"acuracy_m":5}`, status: 400, want: "acuracy_m: unknown member"},
		{name: "hex number in a lookup batch", method: "POST", path: "/v1/lookup", body: `{"points":[[0x1p7,39.9]]}`, status: 400, want: `points[0]: \"0x1p7\" is not a JSON number`},
		{name: "cut-off changeset", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[{"op":"merge"`, status: 400, want: "malformed JSON at byte"},

		// Extra coordinate members beyond the polygons below.
		{name: "component point with four members", method: "POST", path: "/v1/components", body: `{"type":"Feature","properties":{"class_code":"01001"},"geometry":{"type":"Point","coordinates":[116.4005,39.9005,1,2]}}`, status: 400, want: "geometry.coordinates: a position has 2 or 3 numbers"},
		{name: "OGC component point 1e400", method: "POST", path: "/ogc/collections/components/items", body: `{"type":"Feature","properties":{"class_code":"01001"},"geometry":{"type":"Point","coordinates":[116.4005,39.9005,1e400]}}`, status: 400, want: `geometry.coordinates[2]: \"1e400\" is not a finite number`},
		{name: "split line with a string", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[{"op":"split","grids":[{"code":"` + hGrid + `","version":1}],"line":{"type":"LineString","coordinates":[[116.4,39.9],[116.401,"39.91"]]}}]}`, status: 400, want: "operations[0].line.coordinates[1][1]: want a finite number, got a string"},
		{name: "moved vertex with three numbers", method: "POST", path: "/v1/changesets", body: `{"message":"m","operations":[{"op":"reshape","grids":[{"code":"` + hGrid + `","version":1}],"moves":[{"from":[116.4,39.9],"to":[116.4,39.9,5]}]}]}`, status: 400, want: "operations[0].moves[0].to: a position has 2 numbers"},

		// Query parameters.
		{name: "lon=0x1p7", method: "GET", path: "/v1/lookup?lon=0x1p7&lat=39.9", status: 400, want: `lon: \"0x1p7\" is not a number`},
		{name: "lat=inf", method: "GET", path: "/v1/lookup?lon=116.4&lat=inf", status: 400, want: `lat: \"inf\" is not a number`},
		{name: "lon=1_16", method: "GET", path: "/v1/lookup?lon=1_16&lat=39.9", status: 400, want: "lon:"},
		{name: "accuracy_m=1e400", method: "GET", path: "/v1/lookup?lon=116.4&lat=39.9&accuracy_m=1e400", status: 400, want: "accuracy_m:"},
		{name: "lookup parameter twice", method: "GET", path: "/v1/lookup?lon=116.4&lat=39.9&lon=120", status: 400, want: "lon: is given 2 times"},
		{name: "unknown lookup parameter", method: "GET", path: "/v1/lookup?lon=116.4&lat=39.9&accuracy=30", status: 400, want: "accuracy: unknown query parameter"},
		{name: "OGC bbox=NaN", method: "GET", path: "/ogc/collections/grids/items?bbox=NaN,39.9,116.5,40", status: 400, want: `bbox: \"NaN\" is not a number`},
		{name: "OGC bbox infinite", method: "GET", path: "/ogc/collections/grids/items?bbox=116.4,39.9,1e400,40", status: 400, want: "bbox:"},
		{name: "OGC bbox of three", method: "GET", path: "/ogc/collections/grids/items?bbox=116.4,39.9,116.5", status: 400, want: "bbox: want four numbers"},
		{name: "OGC bbox min lat above max", method: "GET", path: "/ogc/collections/grids/items?bbox=116.4,40,116.5,39.9", status: 400, want: "bbox: minimum latitude"},
		{name: "OGC crs=bogus", method: "GET", path: "/ogc/collections/grids/items?crs=bogus", status: 400, want: "crs: \\\"bogus\\\" is not supported; supported: http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
		{name: "OGC bbox-crs=bogus", method: "GET", path: "/ogc/collections/grids/items?bbox=116.4,39.9,116.5,40&bbox-crs=bogus", status: 400, want: "bbox-crs: \\\"bogus\\\" is not supported"},
		{name: "OGC datetime=garbage", method: "GET", path: "/ogc/collections/grids/items?datetime=garbage", status: 400, want: "datetime: \\\"garbage\\\" is not an RFC 3339"},
		{name: "OGC limit=-1", method: "GET", path: "/ogc/collections/components/items?limit=-1", status: 400, want: "limit:"},
		{name: "OGC offset=abc", method: "GET", path: "/ogc/collections/components/items?offset=abc", status: 400, want: "offset:"},
		{name: "OGC unknown parameter", method: "GET", path: "/ogc/collections/grids/items?filter=code%3D1", status: 400, want: "filter: unknown query parameter"},
		{name: "components status=bogus", method: "GET", path: "/v1/components?status=bogus", status: 400, want: "status: \\\"bogus\\\" is not a component status; want one of intact, damaged, lost, abandoned, removed"},
		{name: "components limit=0x10", method: "GET", path: "/v1/components?limit=0x10", status: 400, want: "limit:"},
		{name: "components bbox=NaN", method: "GET", path: "/v1/components?bbox=NaN,39.9,116.5,40", status: 400, want: "bbox:"},
		{name: "components unknown parameter", method: "GET", path: "/v1/components?stauts=lost", status: 400, want: "stauts: unknown query parameter"},
	}
	for _, p := range hostilePolygons {
		cases = append(cases, polygonCases(p.name, p.coordinates, p.status, p.want)...)
	}
	return cases
}

// newHostileServer serves every part of the API over one database with a
// small map, a component, a department and a rule; it returns the server,
// its pool, an admin token and the component's code and the rule's id.
func newHostileServer(t *testing.T) (*httptest.Server, *pgxpool.Pool, string, string, int64) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	seedEditable(t, pool)
	loc := runningLocator(t, st)
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Editor: st, Features: st, Tokens: st,
		FeatureEditors: map[string]api.FeatureEditor{"components": api.ComponentFeatures(st)},
		Lookup:         loc,
		Router:         &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog},
		RoutingAdmin:   st, Classes: st, Components: st, History: st, Builder: st, MgmtGrids: st,
		Tiles: tiles.NewService(st, 16<<20, 0), Places: st, Version: "test"})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tok, err := st.CreateToken(ctx, "hostile-admin", grids.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, body := request(t, "POST", ts.URL+"/v1/components", tok,
		`{"type":"Feature","properties":{"class_code":"01001","name":"井盖"},"geometry":{"type":"Point","coordinates":[116.4005,39.9005]}}`)
	if status != 201 {
		t.Fatalf("component: %d %s", status, body)
	}
	component := strings.TrimPrefix(hdr.Get("Location"), "/v1/components/")
	if status, _, body := request(t, "PUT", ts.URL+"/v1/departments/"+hDept, tok, `{"name":"东华门街道城管科"}`); status != 201 {
		t.Fatalf("department: %d %s", status, body)
	}
	status, _, body = request(t, "POST", ts.URL+"/v1/routing/rules", tok,
		`{"class":"01001","kind":"component","scope":"everywhere","department":"`+hDept+`"}`)
	if status != 201 {
		t.Fatalf("rule: %d %s", status, body)
	}
	var rule struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &rule); err != nil || rule.ID == 0 {
		t.Fatalf("rule: %v %s", err, body)
	}
	return ts, pool, tok, component, rule.ID
}

// tableSums returns, for every table of the database (not the temporary
// ones of sessions), its row count and the md5 of its rows' text in order.
func tableSums(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND c.relpersistence IN ('p', 'u') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, tbl := range tables {
		var n int64
		var sum string
		err := pool.QueryRow(ctx, `SELECT count(*), md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')) FROM `+tbl+` r`).Scan(&n, &sum)
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		sums[tbl] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return sums
}

func TestHostileInput(t *testing.T) {
	ts, pool, tok, component, rule := newHostileServer(t)
	cases := hostileCases(component, rule)
	before := tableSums(t, pool)
	if len(before) < 20 {
		t.Fatalf("only %d tables: %v", len(before), before)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body string
			if tc.size > 0 {
				status, body = sendLarge(t, ts.URL, tok, tc)
			} else {
				req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				for i := 0; i+1 < len(tc.header); i += 2 {
					req.Header.Set(tc.header[i], tc.header[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status, body = resp.StatusCode, string(b)
			}
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %.600s\nwant %d with %q", tc.method, tc.path, status, body, tc.status, tc.want)
			}
			if status >= 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("not an error document: %.300s", body)
				}
				if len(body) > 3000 {
					t.Errorf("answer of %d bytes echoes the input", len(body))
				}
			}
		})
	}
	after := tableSums(t, pool)
	for tbl, sum := range before {
		if after[tbl] != sum {
			t.Errorf("table %s changed: %s, now %s", tbl, sum, after[tbl])
		}
	}
	for tbl := range after {
		if _, ok := before[tbl]; !ok {
			t.Errorf("table %s appeared", tbl)
		}
	}
}

// sendLarge sends tc's method and path with a body of tc.size bytes (tc.body
// repeated) over a raw connection, writing while it reads the answer: a
// server that refuses without reading the whole body still answers.
func sendLarge(t *testing.T, base, tok string, tc hostileCase) (int, string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n", tc.method, tc.path, u.Host, tok)
	for i := 0; i+1 < len(tc.header); i += 2 {
		head += tc.header[i] + ": " + tc.header[i+1] + "\r\n"
	}
	if tc.chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.FormatInt(tc.size, 10) + "\r\n\r\n"
	}
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		w.WriteString(head) //nolint:errcheck
		chunk := []byte(strings.Repeat(tc.body, (64<<10)/len(tc.body)+1)[:64<<10])
		for left := tc.size; left > 0; {
			n := min(left, int64(len(chunk)))
			var err error
			if tc.chunked {
				_, err = fmt.Fprintf(w, "%x\r\n%s\r\n", n, chunk[:n])
			} else {
				_, err = w.Write(chunk[:n])
			}
			if err != nil {
				return
			}
			left -= n
		}
		if tc.chunked {
			w.WriteString("0\r\n\r\n") //nolint:errcheck
		}
		w.Flush() //nolint:errcheck
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// No route answers a NUL in its path parameters with a server error, and
// none writes anything: every {parameter} of every mounted route is sent
// as "a\x00b", with an empty JSON object as the body.
func TestHostileEveryRoute(t *testing.T) {
	ts, pool, tok, _, _ := newHostileServer(t)
	routes, ok := ts.Config.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is a %T, not a chi router", ts.Config.Handler)
	}
	param := regexp.MustCompile(`\{[^}]*\}|\*$`)
	before := tableSums(t, pool)
	n := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		path := param.ReplaceAllString(route, "a%00b")
		body := ""
		if method == "POST" || method == "PUT" || method == "PATCH" {
			body = "{}"
		}
		status, _, resp := request(t, method, ts.URL+path, tok, body)
		if status >= 500 {
			t.Errorf("%s %s: %d %.300s", method, path, status, resp)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("only %d routes walked", n)
	}
	t.Logf("%d routes", n)
	after := tableSums(t, pool)
	for tbl, sum := range before {
		if after[tbl] != sum {
			t.Errorf("table %s changed: %s, now %s", tbl, sum, after[tbl])
		}
	}
}
