package api_test

// TestQGISReplayGrids and TestQGISReplayComponents replay, request by
// request, what QGIS 3.40's OGC API - Features provider sends when a user
// edits a gridd layer (Debian bookworm ships QGIS 3.22, whose OAPIF
// provider is read-only, so QGIS itself cannot run here). Every request is
// built as the QGIS source builds it. The source read (qgis/QGIS as stored
// in 2025-26; the Part 4 request classes are dated March 2023, so QGIS
// 3.32 is the first to edit; the read-back GET after an insert is dated May
// 2024, in 3.38; fields from /schema came with Part 5 support in 2025, and
// only for a server declaring that conformance class, which gridd does
// not, so QGIS learns the fields from the first features):
//
//   src/providers/wfs/oapif/qgsoapifprovider.cpp
//     computeCapabilities(): OPTIONS on .../items; only if its Allow has
//       POST: AddFeatures, then OPTIONS on .../items/{id of the first
//       feature of "items?limit=10"} ("unknown_id" when there is none):
//       PUT -> ChangeAttributeValues|ChangeGeometries, DELETE ->
//       DeleteFeatures, PATCH -> mSupportsPatch.
//     Content-Crs is only set when the layer CRS is not CRS84 (it is CRS84
//       unless the server conforms to Part 2 "crs", which gridd does not);
//       no "crs" query parameter is ever added to a write.
//     changeGeometryValues(): mSupportsPatch -> one PATCH per feature with
//       the geometry only; else GET the feature and PUT it whole.
//     changeAttributeValues(): mSupportsPatch -> one PATCH per feature with
//       the changed attributes only; else PUT the whole feature.
//     addFeatures(): one POST per feature, the id taken from the answer's
//       Location, then GET items/{id} (QgsOapifSingleItemRequest) to refresh
//       the feature's attributes from the server.
//     deleteFeatures(): one DELETE items/{id} per feature.
//     On a refused write the provider pushes "Feature creation failed: %1"
//       or "Feature deletion failed: %1" with the request's message, and
//       for PATCH/PUT "Cannot modify feature of id %1" (the request's
//       message then goes to the OAPIF tab of the message log).
//   src/providers/wfs/oapif/qgsoapifpatchfeaturerequest.cpp
//     j["geometry"] = geomModified.asJsonObject();  (precision 17)
//     properties[fieldName] = QgsJsonUtils::jsonFromVariant(value);  (a
//       NULL QVariant -> null)
//     sendPATCH(url, "application/merge-patch+json", j.dump(), extraHeaders)
//   src/providers/wfs/oapif/qgsoapifcreatefeaturerequest.cpp
//     QgsJsonExporter exporter;  (precision 6: qgsjsonutils.h)
//     j = exporter.exportFeatureToJsonObject(f); "id" and "bbox" erased;
//       properties["id"] erased unless the server has an "id" property;
//     sendPOST(mItemsUrl, "application/geo+json", ...); the created id is
//       what follows the last "/items/" of the Location header (looked up
//       case-insensitively); without it the creation fails.
//   src/providers/wfs/oapif/qgsoapifputfeaturerequest.cpp
//     exportFeatureToJsonObject(f, {}, jsonId) -> sendPUT(url,
//       "application/geo+json", ...)  (not used: gridd allows PATCH)
//   src/providers/wfs/qgsbasenetworkrequest.cpp
//     sendPOSTOrPUTOrPATCH(): headers are the extra ones plus Content-Type;
//       no Accept. sendOPTIONS()/sendDELETE(): no body, no Content-Type,
//       no Accept; the Allow value is split on ',' and trimmed.
//     replyFinished() on an HTTP error: if the body parses as XML whose
//       root's tag name is "ExceptionReport", the message becomes
//       "WFS exception report (code=<Exception@exceptionCode> text=<first
//       ExceptionText>)", else the Qt reason ("... server replied: Bad
//       Request"). A 2xx with an empty body is fine for the writes.
//   src/core/qgsjsonutils.cpp: nlohmann::json objects keep their keys
//     sorted (std::map), numbers are dumped in their shortest round-trip
//     form, a double with no fraction as "116.0".
//   src/core/network/qgsnetworkaccessmanager.cpp: User-Agent
//     "Mozilla/5.0 QGIS/<versionInt>/<OS pretty name>".
// The API Header authentication configuration adds its header (here
// Authorization: Bearer <token>) to every request, OPTIONS included.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// qgisUserAgent is QGIS 3.40.0's on Debian bookworm:
// "Mozilla/5.0 QGIS/%1/%2" with Qgis::versionInt() and the OS name.
const qgisUserAgent = "Mozilla/5.0 QGIS/34000/Debian GNU/Linux 12 (bookworm)"

// qgisReplay sends requests as QgsBaseNetworkRequest does.
type qgisReplay struct {
	t     *testing.T
	base  string
	token string
	log   []string
}

// qgisAnswer is what QGIS gets back, and the message it would show.
type qgisAnswer struct {
	status int
	header http.Header
	body   string
}

func (q *qgisReplay) send(method, url, contentType, accept string, body []byte) qgisAnswer {
	q.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		q.t.Fatal(err)
	}
	req.Header.Set("User-Agent", qgisUserAgent)
	req.Header.Set("Authorization", "Bearer "+q.token) // the API Header auth configuration
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	// What Qt's QNetworkAccessManager adds to every HTTP request.
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	req.Header.Set("Accept-Language", "en-US,*")
	req.Header.Set("Connection", "Keep-Alive")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		q.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			q.t.Fatal(err)
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		q.t.Fatal(err)
	}
	line := method + " " + strings.TrimPrefix(url, q.base)
	if contentType != "" {
		line += " [" + contentType + "] " + string(body)
	}
	q.log = append(q.log, fmt.Sprintf("%s -> %d", line, resp.StatusCode))
	return qgisAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// options is QgsBaseNetworkRequest::sendOPTIONS: the Allow header, split on
// ',' and trimmed.
func (q *qgisReplay) options(url string) []string {
	a := q.send(http.MethodOptions, url, "", "", nil)
	var out []string
	for _, m := range strings.Split(a.header.Get("Allow"), ",") {
		out = append(out, strings.TrimSpace(m))
	}
	return out
}

// qgisError is the message QGIS logs for a failed request: the
// ExceptionReport's code and text when the body is one (as
// QgsBaseNetworkRequest::replyFinished reads it: the root's tag name, its
// first Exception child, that one's first ExceptionText child), else "".
func qgisError(body string) string {
	type node struct {
		name     string
		attrs    map[string]string
		children []*node
		text     strings.Builder
	}
	dec := xml.NewDecoder(strings.NewReader(body))
	var stack []*node
	var root *node
	for {
		tok, err := dec.RawToken() // raw: the qualified name, as QDom's tagName()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: map[string]string{}}
			if t.Name.Space != "" {
				n.name = t.Name.Space + ":" + t.Name.Local
			}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			for _, n := range stack {
				n.text.Write(t)
			}
		}
	}
	first := func(n *node, name string) *node {
		for _, c := range n.children {
			if c.name == name {
				return c
			}
		}
		return &node{}
	}
	if root == nil || root.name != "ExceptionReport" {
		return ""
	}
	ex := first(root, "Exception")
	code, ok := ex.attrs["exceptionCode"]
	if !ok {
		code = "missing"
	}
	return fmt.Sprintf("WFS exception report (code=%s text=%s)", code, first(ex, "ExceptionText").text.String())
}

// qgsRound is QGIS's qgsRound (qgis.h): std::round(number * m *
// scaleFactor) / scaleFactor * m, scaleFactor = std::pow(10.0, places).
func qgsRound(x float64, places int) float64 {
	m := 1.0
	if x < 0 {
		m = -1
	}
	sf := math.Pow10(places)
	return math.Round(x*m*sf) / sf * m
}

// nlohmannNumber is how nlohmann::json dumps a double: the shortest
// round-trip digits, ".0" on a whole number.
func nlohmannNumber(x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// nlohmannValue dumps a JSON value as nlohmann::json does: compact, object
// keys sorted, numbers as above.
func nlohmannValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case float64:
		return nlohmannNumber(v)
	case int:
		return strconv.Itoa(v)
	case string:
		b, _ := json.Marshal(v)
		// nlohmann escapes only what JSON requires; Go's "<>&" escapes
		// would differ.
		return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sb strings.Builder
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(nlohmannValue(k) + ":" + nlohmannValue(v[k]))
		}
		return sb.String() + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = nlohmannValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	panic(fmt.Sprintf("nlohmannValue: %T", v))
}

// qgisPolygon is QgsPolygon::asJsonObject(precision): each coordinate
// through qgsRound.
func qgisPolygon(rings [][][2]float64, precision int) map[string]any {
	var rs []any
	for _, ring := range rings {
		var pts []any
		for _, p := range ring {
			pts = append(pts, []any{qgsRound(p[0], precision), qgsRound(p[1], precision)})
		}
		rs = append(rs, pts)
	}
	return map[string]any{"type": "Polygon", "coordinates": rs}
}

func qgisPoint(lon, lat float64, precision int) map[string]any {
	return map[string]any{"type": "Point", "coordinates": []any{qgsRound(lon, precision), qgsRound(lat, precision)}}
}

// servedFeature is an item as gridd serves it (and as QGIS, through OGR,
// holds it: the same doubles).
type servedFeature struct {
	ID       string `json:"id"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

func (f servedFeature) polygon(t *testing.T) [][][2]float64 {
	t.Helper()
	var p [][][2]float64
	if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// gridState is what PostGIS holds for a current grid.
type gridState struct {
	Version                               int
	LandUse, MgmtLevel, Responsible, Note *string
	Geom                                  string // WKT
	History                               []string
}

func readGridState(t *testing.T, st *postgis.Store, code string) (gridState, bool) {
	t.Helper()
	ctx := context.Background()
	var g gridState
	err := st.Pool().QueryRow(ctx, `SELECT version, land_use, mgmt_level, responsible, note, ST_AsText(geom)
		FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, code).Scan(&g.Version, &g.LandUse, &g.MgmtLevel, &g.Responsible, &g.Note, &g.Geom)
	if err != nil {
		return g, false
	}
	rows, err := st.Pool().Query(ctx, `SELECT action || ' v' || coalesce(after ->> 'version', before ->> 'version') || ' by ' || actor
		FROM history WHERE entity = 'unit_grid' AND code = $1 ORDER BY id`, code)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		g.History = append(g.History, s)
	}
	return g, true
}

// communityState is every current grid of the test community with its
// version and geometry, and what the partition guard says of it.
func communityState(t *testing.T, st *postgis.Store) (string, string) {
	t.Helper()
	var grids, problem *string
	err := st.Pool().QueryRow(context.Background(), `SELECT
		(SELECT string_agg(code || ' v' || version || ' ' || ST_AsText(geom), '; ' ORDER BY code) FROM unit_grids
			WHERE community_code = '110101001007' AND valid_to IS NULL),
		gridd_partition_problem('110101001007')`).Scan(&grids, &problem)
	if err != nil {
		t.Fatal(err)
	}
	if problem == nil {
		problem = new(string)
	}
	return *grids, *problem
}

func sqlText(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

func TestQGISReplayGrids(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	ts := httptest.NewServer(api.New(configOn(t, st)).Handler())
	t.Cleanup(ts.Close)
	tok, err := st.CreateToken(ctx, "qgis-gis", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	q := &qgisReplay{t: t, base: ts.URL, token: tok}
	defer func() {
		for _, l := range q.log {
			t.Log(l)
		}
	}()
	items := ts.URL + "/ogc/collections/grids/items"
	const geoJSON = "application/geo+json, application/json" // the items and single item requests' Accept

	// Opening the layer: the first page, then the capabilities.
	a := q.send(http.MethodGet, items+"?limit=10", "", geoJSON, nil)
	var page struct {
		Features []servedFeature `json:"features"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &page) != nil || len(page.Features) != 6 {
		t.Fatalf("items?limit=10: %d %.300s", a.status, a.body)
	}
	if allow := q.options(items); !allows(allow, "POST") {
		t.Fatalf("OPTIONS items: Allow %v lacks POST: QGIS would not edit the layer at all", allow)
	}
	allow := q.options(items + "/" + page.Features[0].ID)
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if !allows(allow, m) {
			t.Fatalf("OPTIONS items/%s: Allow %v lacks %s", page.Features[0].ID, allow, m)
		}
	}
	served := map[string]servedFeature{}
	for _, f := range page.Features {
		served[f.ID] = f
	}

	// hasVertex says whether the current grid has a vertex within 1e-9° of p.
	hasVertex := func(code string, p [2]float64) bool {
		var has bool
		if err := st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit_grids u, ST_DumpPoints(u.geom) d
			WHERE u.code = $1 AND u.valid_to IS NULL AND ST_DWithin(d.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326), 1e-9))`,
			code, p[0], p[1]).Scan(&has); err != nil {
			t.Fatal(err)
		}
		return has
	}
	// (1) A vertex move: QGIS's vertex tool moves the corner shared by 002,
	// 003, 005 and 006 (the north-east one of 005) about 1 m north-east; it
	// PATCHes 005's whole polygon as it holds it (as served, through
	// qgsRound(x, 17)), one vertex moved.
	const g5 = "110101001007005"
	before5, _ := readGridState(t, st, g5)
	poly := served[g5].polygon(t)
	cx, cy := eLon0+2*eDLon, eLat0+eDLat
	moved := -1
	for i, p := range poly[0] {
		if math.Abs(p[0]-cx) < 1e-9 && math.Abs(p[1]-cy) < 1e-9 {
			poly[0][i] = [2]float64{p[0] + 0.000008, p[1] + 0.000006} // 0.68 m east, 0.67 m north
			moved = i
		}
	}
	if moved < 0 {
		t.Fatalf("served 005 has no vertex at %v,%v: %v", cx, cy, poly)
	}
	to := poly[0][moved]
	body := nlohmannValue(map[string]any{"geometry": qgisPolygon(poly, 17)})
	if !strings.HasPrefix(body, `{"geometry":{"coordinates":[[[`) || !strings.HasSuffix(body, `]]],"type":"Polygon"}}`) {
		t.Fatalf("not the nlohmann shape: %s", body)
	}
	a = q.send(http.MethodPatch, items+"/"+g5, "application/merge-patch+json", "", []byte(body))
	if a.status/100 != 2 {
		t.Fatalf("vertex move: %d %s (QGIS: %s)", a.status, a.body, qgisError(a.body))
	}
	after5, _ := readGridState(t, st, g5)
	if after5.Version != before5.Version+1 {
		t.Errorf("vertex move: 005 is v%d, want v%d", after5.Version, before5.Version+1)
	}
	for _, code := range []string{"110101001007002", "110101001007003", g5, "110101001007006"} {
		if g, _ := readGridState(t, st, code); !hasVertex(code, to) || hasVertex(code, [2]float64{cx, cy}) {
			t.Errorf("after the vertex move, %s lacks the moved vertex %v or keeps the old corner: %s", code, to, g.Geom)
		}
	}
	if h := after5.History; len(h) == 0 || !strings.HasSuffix(h[len(h)-1], "by token:qgis-gis") {
		t.Errorf("005's history after the move: %v", h)
	}
	if _, problem := communityState(t, st); problem != "" {
		t.Errorf("after the vertex move the partition guard says %s", problem)
	}

	// topoMove is QGIS's vertex tool with topological editing on: the
	// vertex at `at` moved by d in every feature of `held` (the geometries
	// QGIS holds) having it, then one PATCH per such feature, in feature id
	// order (changeGeometryValues walks a QMap keyed by feature id: here
	// the order the features were read, which is code order).
	topoMove := func(held map[string][][][2]float64, at, d [2]float64) [2]float64 {
		var to [2]float64
		codes := make([]string, 0, len(held))
		for c := range held {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, code := range codes {
			p, n := held[code], 0
			for i, v := range p[0] {
				if math.Abs(v[0]-at[0]) < 1e-9 && math.Abs(v[1]-at[1]) < 1e-9 {
					p[0][i] = [2]float64{v[0] + d[0], v[1] + d[1]}
					to, n = p[0][i], n+1
				}
			}
			if n == 0 {
				continue
			}
			a := q.send(http.MethodPatch, items+"/"+code, "application/merge-patch+json", "",
				[]byte(nlohmannValue(map[string]any{"geometry": qgisPolygon(p, 17)})))
			if a.status/100 != 2 {
				t.Fatalf("topological move, PATCH %s: %d %s (QGIS: %s)", code, a.status, a.body, qgisError(a.body))
			}
		}
		return to
	}

	// (1c) What QGIS holds after (1): 005 as it sent it, the neighbours as
	// first read: gridd moved the corner in 002, 003 and 006 too, but
	// QGIS's feature cache does not know (it keeps what it sent, and
	// re-reads nothing until the layer is reloaded). A topological move of
	// the vertex 002 and 003 share on the community's north edge (1 m west,
	// along the edge) then PATCHes 002 and 003 with the corner where it was
	// before (1). Taken as asked, that would undo (1) in all four grids;
	// gridd refuses it (their current versions came from an edit of 005),
	// QGIS shows the reason, and the user reloads the layer.
	held := map[string][][][2]float64{}
	for code, f := range served {
		held[code] = f.polygon(t)
	}
	held[g5] = poly
	northV := [2]float64{eLon0 + 2*eDLon, eLat0 + 2*eDLat}
	for _, code := range []string{"110101001007002", "110101001007003"} {
		before, _ := readGridState(t, st, code)
		p := held[code]
		for i, v := range p[0] {
			if math.Abs(v[0]-northV[0]) < 1e-9 && math.Abs(v[1]-northV[1]) < 1e-9 {
				p[0][i] = [2]float64{v[0] - 0.0000117, v[1]}
			}
		}
		a := q.send(http.MethodPatch, items+"/"+code, "application/merge-patch+json", "",
			[]byte(nlohmannValue(map[string]any{"geometry": qgisPolygon(p, 17)})))
		if msg := qgisError(a.body); a.status != http.StatusConflict || !strings.Contains(msg, "reload the layer") {
			t.Errorf("a stale copy of %s sent back: %d %q, want 409 telling QGIS to reload the layer", code, a.status, msg)
		}
		if after, _ := readGridState(t, st, code); after.Version != before.Version || after.Geom != before.Geom {
			t.Errorf("the refused stale edit changed %s (v%d → v%d)", code, before.Version, after.Version)
		}
	}
	for _, code := range []string{"110101001007002", "110101001007003", g5, "110101001007006"} {
		if !hasVertex(code, to) || hasVertex(code, [2]float64{cx, cy}) {
			t.Errorf("after the refused stale edits %s lost the corner moved in (1)", code)
		}
	}
	if _, problem := communityState(t, st); problem != "" {
		t.Errorf("after the refused stale edits the partition guard says %s", problem)
	}

	// (1b) The layer reloaded (the first page read again), a topological
	// move of the corner of 001, 002, 004 and 005 (1 m east) PATCHes the
	// four: the first moves the vertex in all four grids, the others find
	// it already there and change nothing.
	a = q.send(http.MethodGet, items+"?limit=10", "", geoJSON, nil)
	page.Features = nil
	if err := json.Unmarshal([]byte(a.body), &page); err != nil || len(page.Features) != 6 {
		t.Fatalf("reload: %v %.200s", err, a.body)
	}
	held = map[string][][][2]float64{}
	versionsBefore := map[string]int{}
	for _, f := range page.Features {
		held[f.ID] = f.polygon(t)
		g, _ := readGridState(t, st, f.ID)
		versionsBefore[f.ID] = g.Version
	}
	tto := topoMove(held, [2]float64{eLon0 + eDLon, eLat0 + eDLat}, [2]float64{0.0000117, 0})
	for _, code := range []string{"110101001007001", "110101001007002", "110101001007004", g5} {
		g, _ := readGridState(t, st, code)
		if !hasVertex(code, tto) || g.Version != versionsBefore[code]+1 {
			t.Errorf("after the topological move %s is v%d (was v%d), has the moved vertex: %v", code, g.Version, versionsBefore[code], hasVertex(code, tto))
		}
	}
	for _, code := range []string{"110101001007003", "110101001007006"} {
		if g, _ := readGridState(t, st, code); g.Version != versionsBefore[code] {
			t.Errorf("the topological move changed %s", code)
		}
	}
	if _, problem := communityState(t, st); problem != "" {
		t.Errorf("after the topological move the partition guard says %s", problem)
	}

	// (2) Attribute changes: one PATCH per feature with only the changed
	// fields, sorted; a field cleared in the form is sent as null.
	const g4 = "110101001007004"
	before4, _ := readGridState(t, st, g4)
	body = nlohmannValue(map[string]any{"properties": map[string]any{"land_use": "居住用地", "responsible": "东华门街道城管科", "note": "巡查重点 <胡同>"}})
	if body != `{"properties":{"land_use":"居住用地","note":"巡查重点 <胡同>","responsible":"东华门街道城管科"}}` {
		t.Fatalf("attribute PATCH body: %s", body)
	}
	a = q.send(http.MethodPatch, items+"/"+g4, "application/merge-patch+json", "", []byte(body))
	if a.status/100 != 2 {
		t.Fatalf("attribute change: %d %s (QGIS: %s)", a.status, a.body, qgisError(a.body))
	}
	g, _ := readGridState(t, st, g4)
	if sqlText(g.LandUse) != `"居住用地"` || sqlText(g.Responsible) != `"东华门街道城管科"` || sqlText(g.Note) != `"巡查重点 <胡同>"` ||
		g.MgmtLevel != nil || g.Version != before4.Version+1 || g.Geom != before4.Geom {
		t.Errorf("after the attribute change 004 is v%d %s %s %s %s (geometry kept: %v)", g.Version,
			sqlText(g.LandUse), sqlText(g.MgmtLevel), sqlText(g.Responsible), sqlText(g.Note), g.Geom == before4.Geom)
	}
	// The clear button of the note field (NULL), then the responsible
	// field's text deleted (an empty string).
	for _, tc := range []struct{ body, field string }{
		{`{"properties":{"note":null}}`, "note"},
		{`{"properties":{"responsible":""}}`, "responsible"},
	} {
		prev, _ := readGridState(t, st, g4)
		a = q.send(http.MethodPatch, items+"/"+g4, "application/merge-patch+json", "", []byte(tc.body))
		if a.status/100 != 2 {
			t.Fatalf("clearing %s: %d %s (QGIS: %s)", tc.field, a.status, a.body, qgisError(a.body))
		}
		g, _ = readGridState(t, st, g4)
		if g.Version != prev.Version+1 || sqlText(g.LandUse) != `"居住用地"` {
			t.Errorf("clearing %s: 004 is v%d land_use %s", tc.field, g.Version, sqlText(g.LandUse))
		}
		if v := map[string]*string{"note": g.Note, "responsible": g.Responsible}[tc.field]; v != nil {
			t.Errorf("clearing %s: the database holds %s, want NULL", tc.field, sqlText(v))
		}
		// As QGIS would read it again: null.
		a = q.send(http.MethodGet, items+"/"+g4, "", geoJSON, nil)
		var f servedFeature
		if json.Unmarshal([]byte(a.body), &f) != nil || f.Properties[tc.field] != nil {
			t.Errorf("clearing %s: served %.300s", tc.field, a.body)
		}
	}
	if h := g.History; len(h) != len(before4.History)+3 || !strings.HasPrefix(h[len(h)-1], fmt.Sprintf("update v%d by token:qgis-gis", before4.Version+3)) {
		t.Errorf("004's history: %v", h)
	}

	// (3) An insert: the new feature exported whole (QgsJsonExporter,
	// precision 6, every field of the layer, unset ones null, "id" and
	// "bbox" erased): the west half of 001, its attributes filled in.
	const g1 = "110101001007001"
	before1, _ := readGridState(t, st, g1)
	west, north, south, mid := eLon0, eLat0+2*eDLat, eLat0+eDLat, eLon0+eDLon/2
	newPoly := [][][2]float64{{{west, south}, {mid, south}, {mid, north}, {west, north}, {west, south}}}
	props := map[string]any{}
	for k := range page.Features[0].Properties {
		props[k] = nil
	}
	props["land_use"], props["note"] = "绿地", "新划网格"
	body = nlohmannValue(map[string]any{"type": "Feature", "geometry": qgisPolygon(newPoly, 6), "properties": props})
	if !strings.HasPrefix(body, `{"geometry":{"coordinates":[[[116.4,39.9009],[116.400585,39.9009],`) {
		t.Fatalf("POST body: %s", body)
	}
	a = q.send(http.MethodPost, items, "application/geo+json", "", []byte(body))
	loc := a.header.Get("Location")
	if a.status != 201 || !strings.Contains(loc, "/items/") {
		t.Fatalf("insert: %d Location %q %s (QGIS: %s)", a.status, loc, a.body, qgisError(a.body))
	}
	newCode := loc[strings.LastIndex(loc, "/items/")+len("/items/"):]
	if loc != items+"/"+newCode || newCode != "110101001007007" {
		t.Errorf("insert: Location %q, want %s/110101001007007", loc, items)
	}
	// QGIS reads the new feature back to show what the server made of it.
	a = q.send(http.MethodGet, items+"/"+newCode, "", geoJSON, nil)
	var nf servedFeature
	if a.status != 200 || json.Unmarshal([]byte(a.body), &nf) != nil || nf.ID != newCode ||
		nf.Properties["land_use"] != "绿地" || nf.Properties["note"] != "新划网格" {
		t.Errorf("the new grid read back: %d %.400s", a.status, a.body)
	}
	g, ok := readGridState(t, st, newCode)
	if !ok || sqlText(g.LandUse) != `"绿地"` || sqlText(g.Note) != `"新划网格"` || g.MgmtLevel != nil || g.Responsible != nil ||
		g.Version != 1 || len(g.History) != 1 || !strings.HasPrefix(g.History[0], "create v1 by token:qgis-gis") {
		t.Errorf("the new grid in the database: %+v (found %v)", g, ok)
	}
	after1, _ := readGridState(t, st, g1)
	if after1.Version != before1.Version+1 {
		t.Errorf("001 gave up its west half but is v%d", after1.Version)
	}
	var overlap float64
	st.Pool().QueryRow(ctx, `SELECT ST_Area(ST_Intersection(a.geom, b.geom), true) FROM unit_grids a, unit_grids b
		WHERE a.code = $1 AND b.code = $2 AND a.valid_to IS NULL AND b.valid_to IS NULL`, g1, newCode).Scan(&overlap) //nolint:errcheck
	if overlap > 0.01 {
		t.Errorf("the new grid overlaps 001 by %.3f m²", overlap)
	}
	if _, problem := communityState(t, st); problem != "" {
		t.Errorf("after the insert the partition guard says %s", problem)
	}

	// (4) A delete: no body, no Content-Type; 2xx is all QGIS reads.
	a = q.send(http.MethodDelete, items+"/"+newCode, "", "", nil)
	if a.status/100 != 2 {
		t.Fatalf("delete: %d %s (QGIS: %s)", a.status, a.body, qgisError(a.body))
	}
	if _, ok := readGridState(t, st, newCode); ok {
		t.Errorf("the deleted grid is still current")
	}
	var retired int
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE code = $1 AND valid_to IS NOT NULL`, newCode).Scan(&retired) //nolint:errcheck
	if retired == 0 {
		t.Errorf("the deleted grid left no retired version")
	}
	if g, _ := readGridState(t, st, g1); g.Version != after1.Version+1 || !strings.Contains(strings.Join(g.History, ","), "token:qgis-gis") {
		t.Errorf("001 took the deleted grid back: %+v", g)
	}
	if a = q.send(http.MethodGet, items+"/"+newCode, "", geoJSON, nil); a.status != 404 {
		t.Errorf("the deleted grid still reads: %d", a.status)
	}
	if _, problem := communityState(t, st); problem != "" {
		t.Errorf("after the delete the partition guard says %s", problem)
	}

	// (5) Refused edits leave the database as it was and answer what
	// QGIS shows: an ExceptionReport with gridd's code and message.
	served3 := q.send(http.MethodGet, items+"/110101001007003", "", geoJSON, nil)
	var f3 servedFeature
	if err := json.Unmarshal([]byte(served3.body), &f3); err != nil {
		t.Fatal(err)
	}
	out := f3.polygon(t)
	for i, p := range out[0] { // 003's north-east corner, the community's, moved 1 m out
		if math.Abs(p[0]-(eLon0+3*eDLon)) < 1e-9 && math.Abs(p[1]-(eLat0+2*eDLat)) < 1e-9 {
			out[0][i] = [2]float64{p[0] + 0.00001, p[1] + 0.000005}
		}
	}
	// A vertex of the community's boundary dragged 1 m out of it is not
	// refused: a redraw is clipped to its community (grids/editing.go,
	// Redraw), so gridd answers 200 and keeps 003 inside. QGIS shows the
	// vertex where the user left it until the layer is reloaded.
	a = q.send(http.MethodPatch, items+"/110101001007003", "application/merge-patch+json", "",
		[]byte(nlohmannValue(map[string]any{"geometry": qgisPolygon(out, 17)})))
	if a.status/100 != 2 {
		t.Errorf("a vertex moved out of the community: %d (QGIS: %s)", a.status, qgisError(a.body))
	}
	var inside bool
	if err := st.Pool().QueryRow(ctx, `SELECT ST_CoveredBy(u.geom, c.geom) FROM unit_grids u, communities c
		WHERE u.code = '110101001007003' AND u.valid_to IS NULL AND c.code = '110101001007' AND c.valid_to IS NULL`).Scan(&inside); err != nil || !inside {
		t.Errorf("003 after a vertex moved out of its community: inside %v (%v)", inside, err)
	}
	community, problem := communityState(t, st)
	if problem != "" {
		t.Errorf("after a vertex moved out of the community the partition guard says %s", problem)
	}

	// A vertex dragged across the opposite edge: a self-intersecting ring.
	bow := f3.polygon(t)
	bow[0][0], bow[0][1] = bow[0][1], bow[0][0]
	bow[0][len(bow[0])-1] = bow[0][0]
	lost := [][][2]float64{{{eLon0 + 0.01, eLat0 + 0.01}, {eLon0 + 0.011, eLat0 + 0.01}, {eLon0 + 0.011, eLat0 + 0.011}, {eLon0 + 0.01, eLat0 + 0.01}}}
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		code, text                      string
	}{
		{"a self-intersecting ring", http.MethodPatch, "/110101001007003", "application/merge-patch+json",
			nlohmannValue(map[string]any{"geometry": qgisPolygon(bow, 17)}), 400, "invalid", "geometry"},
		{"a new grid in no community", http.MethodPost, "", "application/geo+json",
			nlohmannValue(map[string]any{"type": "Feature", "geometry": qgisPolygon(lost, 6), "properties": props}), 400, "invalid", "no community"},
		{"a read-only field edited", http.MethodPatch, "/110101001007003", "application/merge-patch+json",
			`{"properties":{"version":9}}`, 400, "invalid", "version: written by gridd"},
		{"a grid that is gone", http.MethodPatch, "/" + newCode, "application/merge-patch+json",
			`{"properties":{"note":"x"}}`, 404, "not_found", newCode},
		{"a delete of a grid that is gone", http.MethodDelete, "/" + newCode, "", "", 404, "not_found", newCode},
	} {
		var b []byte
		if tc.ctype != "" {
			b = []byte(tc.body)
		}
		a := q.send(tc.method, items+tc.path, tc.ctype, "", b)
		msg := qgisError(a.body)
		if a.status < 400 || a.status >= 500 || (tc.status != 0 && a.status != tc.status) {
			t.Errorf("%s: %d, want %d: %s", tc.name, a.status, tc.status, a.body)
		}
		if !strings.HasPrefix(a.header.Get("Content-Type"), "application/xml") || msg == "" ||
			(tc.code != "" && !strings.Contains(msg, "(code="+tc.code+" ")) || !strings.Contains(msg, tc.text) {
			t.Errorf("%s: QGIS would show %q from %s", tc.name, msg, a.body)
		}
		t.Logf("%s: QGIS shows %q", tc.name, msg)
		if now, problem := communityState(t, st); now != community || problem != "" {
			t.Errorf("%s changed the grids (partition problem %q):\n%s\n%s", tc.name, problem, community, now)
		}
	}
	// A stale version: QGIS sends no If-Match, so its edits apply to the
	// current version; a client that names an old one gets a 412 in the
	// same shape.
	a = q.send(http.MethodGet, items+"/"+g4, "", geoJSON, nil)
	etag := a.header.Get("ETag")
	req, _ := http.NewRequest(http.MethodPatch, items+"/"+g4, strings.NewReader(`{"properties":{"note":"stale"}}`))
	req.Header.Set("User-Agent", qgisUserAgent)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", `"v1"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if msg := qgisError(string(rb)); resp.StatusCode != 412 || !strings.Contains(msg, "(code=stale_version ") || etag == `"v1"` {
		t.Errorf("stale If-Match: %d %q (ETag %s)", resp.StatusCode, msg, etag)
	}
	if g, _ := readGridState(t, st, g4); g.Note != nil {
		t.Errorf("the stale write changed 004's note to %s", sqlText(g.Note))
	}
}

func allows(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// componentState is what PostGIS holds for a component code.
type componentState struct {
	Version                  int
	Name, Status, Note, Grid string
	Lon, Lat                 float64
	Retired                  bool
	History                  string
}

func readComponentState(t *testing.T, st *postgis.Store, code string) (componentState, bool) {
	t.Helper()
	var c componentState
	err := st.Pool().QueryRow(context.Background(), `SELECT version, name, status, note, coalesce(grid_code, ''), ST_X(geom), ST_Y(geom),
			valid_to IS NOT NULL, (SELECT string_agg(action || ' by ' || actor, ', ' ORDER BY id) FROM history
				WHERE entity = 'component' AND code = $1)
		FROM components WHERE code = $1 ORDER BY valid_to IS NULL DESC LIMIT 1`, code).
		Scan(&c.Version, &c.Name, &c.Status, &c.Note, &c.Grid, &c.Lon, &c.Lat, &c.Retired, &c.History)
	return c, err == nil
}

// TestQGISReplayComponents replays QGIS 3.40 editing the components layer:
// an insert, attribute changes (one cleared), a move, a delete and refused
// edits, each checked against PostGIS. QGIS 3.40 learns the layer's fields
// from the first features (gridd does not declare Part 5 schemas), so the
// collection holds one component, made through the API, when the layer is
// opened.
func TestQGISReplayComponents(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	ts := httptest.NewServer(api.New(configOn(t, st)).Handler())
	t.Cleanup(ts.Close)
	tok, err := st.CreateToken(ctx, "qgis-gis", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	items := ts.URL + "/ogc/collections/components/items"
	const geoJSON = "application/geo+json, application/json"
	first := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"class_code":"01037","name":"路灯 1","status":"intact"}}`,
		eLon0+eDLon*0.5, eLat0+eDLat*0.5)
	if status, _, body := (client{t: t, base: ts.URL, token: tok}).do("POST", "/ogc/collections/components/items", first); status != 201 {
		t.Fatalf("the first component: %d %s", status, body)
	}
	q := &qgisReplay{t: t, base: ts.URL, token: tok}
	defer func() {
		for _, l := range q.log {
			t.Log(l)
		}
	}()

	// Opening the layer.
	a := q.send(http.MethodGet, items+"?limit=10", "", geoJSON, nil)
	var page struct {
		Features []servedFeature `json:"features"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &page) != nil || len(page.Features) != 1 {
		t.Fatalf("items?limit=10: %d %.300s", a.status, a.body)
	}
	if allow := q.options(items); !allows(allow, "POST") {
		t.Fatalf("OPTIONS items: Allow %v lacks POST", allow)
	}
	allow := q.options(items + "/" + page.Features[0].ID)
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if !allows(allow, m) {
			t.Fatalf("OPTIONS items/%s: Allow %v lacks %s", page.Features[0].ID, allow, m)
		}
	}

	// Insert: every field of the layer, the unset ones null, the point at
	// 6 decimals, in grid 005.
	props := map[string]any{}
	for k := range page.Features[0].Properties {
		props[k] = nil
	}
	props["class_code"], props["name"], props["status"] = "01037", "路灯 2", "intact"
	lon, lat := qgsRound(eLon0+eDLon*1.5, 6), qgsRound(eLat0+eDLat*0.5, 6)
	body := nlohmannValue(map[string]any{"type": "Feature", "geometry": qgisPoint(lon, lat, 6), "properties": props})
	a = q.send(http.MethodPost, items, "application/geo+json", "", []byte(body))
	loc := a.header.Get("Location")
	const code = "11010101037000002"
	if a.status != 201 || loc[strings.LastIndex(loc, "/items/")+len("/items/"):] != code || loc != items+"/"+code {
		t.Fatalf("insert: %d Location %q %s (QGIS: %s)", a.status, loc, a.body, qgisError(a.body))
	}
	a = q.send(http.MethodGet, items+"/"+code, "", geoJSON, nil)
	var f servedFeature
	if a.status != 200 || json.Unmarshal([]byte(a.body), &f) != nil || f.Properties["grid_code"] != "110101001007005" || f.Properties["class_name"] == nil {
		t.Errorf("the new component read back: %d %.400s", a.status, a.body)
	}
	c, ok := readComponentState(t, st, code)
	if !ok || c.Version != 1 || c.Name != "路灯 2" || c.Status != "intact" || c.Grid != "110101001007005" ||
		c.Lon != lon || c.Lat != lat || c.History != "create by token:qgis-gis" {
		t.Fatalf("after the insert the database holds %+v (found %v)", c, ok)
	}

	// Attribute changes, then the note cleared (a component's note is
	// never NULL: cleared, it is empty, and served so).
	for _, tc := range []struct {
		body, status, note  string
		version, historyLen int
	}{
		{`{"properties":{"note":"灯罩破损","status":"damaged"}}`, "damaged", "灯罩破损", 2, 2},
		{`{"properties":{"note":null}}`, "damaged", "", 3, 3},
	} {
		a = q.send(http.MethodPatch, items+"/"+code, "application/merge-patch+json", "", []byte(tc.body))
		if a.status/100 != 2 {
			t.Fatalf("PATCH %s: %d %s (QGIS: %s)", tc.body, a.status, a.body, qgisError(a.body))
		}
		c, _ = readComponentState(t, st, code)
		if c.Version != tc.version || c.Status != tc.status || c.Note != tc.note || c.Name != "路灯 2" ||
			c.Lon != lon || len(strings.Split(c.History, ", ")) != tc.historyLen {
			t.Errorf("after PATCH %s the database holds %+v", tc.body, c)
		}
	}

	// A move to grid 006: the geometry only, at QGIS's precision 17.
	lon2 := eLon0 + eDLon*2.5 + 0.0000123
	a = q.send(http.MethodPatch, items+"/"+code, "application/merge-patch+json", "",
		[]byte(nlohmannValue(map[string]any{"geometry": qgisPoint(lon2, lat, 17)})))
	if a.status/100 != 2 {
		t.Fatalf("move: %d %s (QGIS: %s)", a.status, a.body, qgisError(a.body))
	}
	c, _ = readComponentState(t, st, code)
	if c.Version != 4 || c.Grid != "110101001007006" || c.Lon != qgsRound(lon2, 17) || c.Lat != lat ||
		c.Status != "damaged" || c.Note != "" || c.Name != "路灯 2" {
		t.Errorf("after the move the database holds %+v", c)
	}

	// Refused: a class change (the code names the class), a point outside
	// every grid; nothing changes.
	before := c
	for _, tc := range []struct{ name, body, code string }{
		{"a class change", `{"properties":{"class_code":"01001"}}`, "invalid"},
		{"a point outside every grid", nlohmannValue(map[string]any{"geometry": qgisPoint(117.5, 40.5, 17)}), ""},
		{"an unknown status", `{"properties":{"status":"stolen"}}`, ""},
	} {
		a = q.send(http.MethodPatch, items+"/"+code, "application/merge-patch+json", "", []byte(tc.body))
		msg := qgisError(a.body)
		if a.status < 400 || a.status >= 500 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/xml") || msg == "" ||
			(tc.code != "" && !strings.Contains(msg, "(code="+tc.code+" ")) {
			t.Errorf("%s: %d, QGIS would show %q from %s", tc.name, a.status, msg, a.body)
		}
		t.Logf("%s: QGIS shows %q", tc.name, msg)
		if c, _ := readComponentState(t, st, code); c != before {
			t.Errorf("%s changed the component: %+v", tc.name, c)
		}
	}

	// Delete.
	a = q.send(http.MethodDelete, items+"/"+code, "", "", nil)
	if a.status/100 != 2 {
		t.Fatalf("delete: %d %s (QGIS: %s)", a.status, a.body, qgisError(a.body))
	}
	c, _ = readComponentState(t, st, code)
	if !c.Retired || !strings.HasSuffix(c.History, "retire by token:qgis-gis") {
		t.Errorf("after the delete the database holds %+v", c)
	}
	a = q.send(http.MethodDelete, items+"/"+code, "", "", nil)
	if msg := qgisError(a.body); a.status != 404 || !strings.Contains(msg, "(code=not_found ") {
		t.Errorf("a second delete: %d %q", a.status, msg)
	}
}
