package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// The OpenAPI 3.0 document of the whole HTTP API (/openapi.json) is built
// from the router itself: every route the server mounts becomes an
// operation, its security comes from the access table, and its words from
// apiOps below. A route with no entry in apiOps fails TestOpenAPIEveryRoute;
// HEAD and OPTIONS routes are described from their GET or from CORS. QGIS
// and GDAL read the document's limit parameter (components.parameters.limit)
// to page OGC API items as large as the server allows.

const openAPIType = "application/vnd.oai.openapi+json;version=3.0"

// apiOp says what one route does, in the words of its users.
type apiOp struct {
	summary string
	tag     string
	// query lists the query parameters, by name in apiQueryParams.
	query []string
	// body is the request body: a schema name in apiSchemas, sent as
	// bodyType (default application/json).
	body, bodyType string
	// status is the success status (default 200); resp its schema name and
	// respType its media type (default application/json; "" schema: any).
	status         int
	resp, respType string
	// created: a PUT answers 201 when it made the record, else status.
	created bool
}

const (
	geoJSON = "application/geo+json"
	mvtType = "application/vnd.mapbox-vector-tile"
)

// apiOps is keyed like the access table: "METHOD pattern".
var apiOps = map[string]apiOp{
	"GET /healthz":      {summary: "Liveness: the process answers", tag: "service", resp: "Status"},
	"GET /readyz":       {summary: "Readiness: the database is reachable and the schema current (503 when not)", tag: "service", resp: "Status"},
	"GET /metrics":      {summary: "Prometheus metrics", tag: "service", respType: "text/plain"},
	"GET /openapi.json": {summary: "This document", tag: "service", respType: openAPIType},
	"GET /docs":         {summary: "This document as a web page", tag: "service", respType: "text/html"},

	"GET /map":               {summary: "The map page (MapLibre): districts, streets, communities, grids and components", tag: "map", respType: "text/html"},
	"GET /map/assets/{file}": {summary: "A static file of the map or editor page", tag: "map", respType: "*/*"},
	"GET /dashboard":         {summary: "The command-centre dashboard (MapLibre, uPlot): open cases, an evaluation rate by community, charts, a case's timeline", tag: "map", respType: "text/html"},
	"GET /edit":              {summary: "The browser editor of one community's grids", tag: "editing", query: []string{"community"}, respType: "text/html"},

	"GET /tiles/{layers}/{z}/{x}/{y}.mvt": {summary: "A vector tile of one or more layers (comma-separated: districts, streets, communities, mgmt_grids, social_grids, grids, components)", tag: "map", respType: mvtType},
	"GET /tiles/{layers}.json":            {summary: "TileJSON 3.0 of the layers", tag: "map", resp: "Object"},
	"GET /styles/gridd.json":              {summary: "The MapLibre style of the map page", tag: "map", resp: "Object"},
	"GET /fonts/{stack}/{range}.pbf":      {summary: "Label glyphs of a font stack for a range of 256 code points", tag: "map", respType: "application/x-protobuf"},
	"GET /v1/search":                      {summary: "Where a code is: a division, unit grid, management grid or component, with its bounds", tag: "map", query: []string{"code"}, resp: "Object"},

	"GET /v1/divisions":        {summary: "Districts, or the children of a division", tag: "divisions", query: []string{"parent"}, resp: "Object"},
	"GET /v1/divisions/{code}": {summary: "One division with its children", tag: "divisions", resp: "Object"},

	"GET /v1/grids":                        {summary: "The current unit grids of a community, as GeoJSON", tag: "grids", query: []string{"community"}, respType: geoJSON, resp: "FeatureCollection"},
	"GET /v1/grids/{code}":                 {summary: "One current unit grid; its version is the ETag", tag: "grids", respType: geoJSON, resp: "Feature"},
	"PUT /v1/grids/{code}":                 {summary: "Change a grid's attributes and, with a geometry, redraw it (needs If-Match)", tag: "editing", body: "GridFeature", resp: "Changeset"},
	"GET /v1/grids/{code}/history":         {summary: "Every recorded change of a grid: who, when, why, before and after", tag: "grids", resp: "Object"},
	"POST /v1/changesets":                  {summary: "Apply a changeset of grid operations (split, merge, reshape, replace, redraw) all or nothing", tag: "editing", body: "ChangesetRequest", status: http.StatusCreated, resp: "Changeset"},
	"GET /v1/changesets/{id}":              {summary: "What a changeset did", tag: "editing", resp: "Changeset"},
	"POST /v1/changesets/{id}/revert":      {summary: "Undo a changeset (if no later change touched its grids)", tag: "editing", body: "Reason", status: http.StatusCreated, resp: "Changeset"},
	"GET /v1/history":                      {summary: "Recorded changes of one entity kind or code", tag: "history", query: []string{"entity", "code"}, resp: "Object"},
	"GET /v1/history/{id}":                 {summary: "One recorded change", tag: "history", resp: "Object"},
	"POST /v1/history/{id}/revert":         {summary: "Undo one recorded change of a component, department or routing rule (some need an admin)", tag: "history", body: "Reason", status: http.StatusCreated, resp: "Object"},
	"POST /v1/builds":                      {summary: "Start building the unit grids of an area (a job; poll its URL)", tag: "building", body: "BuildRequest", status: http.StatusAccepted, resp: "Build"},
	"GET /v1/builds/{id}":                  {summary: "A build job's progress and report", tag: "building", resp: "Build"},
	"POST /v1/mgmt-grids":                  {summary: "Define a management grid as a union of unit grids", tag: "grids", body: "MgmtGridRequest", status: http.StatusCreated, respType: geoJSON, resp: "Feature"},
	"GET /v1/mgmt-grids/{code}":            {summary: "One management grid with its unit grids", tag: "grids", respType: geoJSON, resp: "Feature"},
	"GET /v1/mgmt-grids":                   {summary: "The current management grids with a unit grid in a community, social grids first: members, version, households and residents, and for social grids the community's target and the load", tag: "grids", query: []string{"community"}, resp: "MgmtGridList"},
	"POST /v1/mgmt-grids/{code}/move":      {summary: "Move a unit grid from this management grid to a neighbouring one of its kind (social: of its community), or with dry_run see the balance first: unit grids, households, residents and load of both before and after. A dry run is a read; a real move needs an editor token and a reason, and answers with the new versions", tag: "editing", body: "MgmtGridMove", resp: "MgmtGridMoved"},
	"GET /v1/grid-workers":                 {summary: "The current grid workers (网格员) and supervisors; with mgmt_grid, those with a duty on it that has not ended", tag: "workers", query: []string{"mgmt_grid"}, resp: "Object"},
	"POST /v1/grid-workers":                {summary: "Add a grid worker or supervisor", tag: "workers", body: "GridWorker", status: http.StatusCreated, resp: "Object"},
	"GET /v1/grid-workers/{id}/duties":     {summary: "A worker's duties (management grid, from, to), oldest first", tag: "workers", resp: "Object"},
	"POST /v1/grid-workers/{id}/duties":    {summary: "Put a worker on duty on a management grid from a time, to a time or open-ended; a period overlapping another duty of the worker on that grid is refused", tag: "workers", body: "Duty", status: http.StatusCreated, resp: "Object"},
	"POST /v1/grid-workers/{id}/leave":     {summary: "A worker leaves (at, default now): their running duties end then, later ones are cancelled", tag: "workers", body: "When", resp: "Object"},
	"POST /v1/grid-worker-duties/{id}/end": {summary: "End a duty (at, default now)", tag: "workers", body: "When", resp: "Object"},
	"GET /v1/classes":                      {summary: "The class catalogue of components (GB/T 30428.2) or matters", tag: "components", query: []string{"kind", "major"}, resp: "Object"},
	"GET /v1/classes/{code}":               {summary: "One class", tag: "components", resp: "Object"},
	"GET /v1/components":                   {summary: "Components by code, class, status, grid, community or bounds, in pages", tag: "components", query: componentParams, respType: geoJSON, resp: "FeatureCollection"},
	"POST /v1/components":                  {summary: "Add a component: checked, coded and assigned to its grid", tag: "components", query: []string{"crs", "reason"}, body: "Feature", bodyType: geoJSON, status: http.StatusCreated, respType: geoJSON, resp: "Feature"},
	"GET /v1/components/{code}":            {summary: "One current component; its version is the ETag", tag: "components", respType: geoJSON, resp: "Feature"},
	"PUT /v1/components/{code}":            {summary: "Replace a component (needs If-Match); its code never changes", tag: "components", query: []string{"crs", "reason"}, body: "Feature", bodyType: geoJSON, respType: geoJSON, resp: "Feature"},
	"DELETE /v1/components/{code}":         {summary: "Retire a component; its code is never used again", tag: "components", query: []string{"reason"}, status: http.StatusNoContent},
	"GET /v1/components/{code}/history":    {summary: "Every recorded change of a component", tag: "components", resp: "Object"},

	"GET /v1/lookup":                         {summary: "The grid, community, street, district and management grids of a point", tag: "lookup", query: lookupParams, resp: "Lookup"},
	"POST /v1/lookup":                        {summary: "Up to 100,000 points at once, answered in input order (null: outside)", tag: "lookup", body: "BatchLookup", resp: "Object"},
	"POST /v1/route":                         {summary: "Route a reported location and class to its grid, community, street, district and department", tag: "lookup", body: "RouteRequest", resp: "Routed"},
	"POST /v1/cases":                         {summary: "Report a problem: routed as POST /v1/route and opened as a case, with the open cases nearby that may be the same problem", tag: "cases", body: "CaseRequest", status: http.StatusCreated, resp: "Case"},
	"GET /v1/cases":                          {summary: "Cases, newest first, by state, department, area (district, street, community or grid code) and time", tag: "cases", query: []string{"state", "department", "area", "since", "until", "limit", "after"}, resp: "Object"},
	"GET /v1/cases/{id}":                     {summary: "One case with its reports and event log; its version is the ETag", tag: "cases", resp: "Case"},
	"GET /v1/evaluation":                     {summary: "Evaluation of the record (综合评价) per grid, community, street, district, management grid or department over [from, to): cases reported, filed, rejected, dispatched on time, due, handled on time, reworked, closed (on time), their rates, median stage times, score and grade; CSV with Accept: text/csv or format=csv", tag: "cases", query: []string{"by", "from", "to", "area", "format", "header"}, resp: "Object"},
	"POST /v1/cases/{id}/photos":             {summary: "Attach photos to an open case: one as the body (image/jpeg, image/png or image/webp, at most 8 MiB) or several as multipart/form-data; each answer says where and when the photo's EXIF says it was taken, how far from the case and how long from its report (201; 200 when the case had them all already)", tag: "cases", body: "Binary", bodyType: "image/*", status: http.StatusCreated, resp: "CasePhoto"},
	"GET /v1/cases/{id}/photos":              {summary: "A case's photos in the order they were added, with their EXIF position and time", tag: "cases", resp: "Object"},
	"POST /v1/cases/{id}/satisfaction":       {summary: "The reporter's satisfaction (满意度) with a closed case, once: by its reporter, or a supervisor on their behalf (201; 403 another reporter or role, 409 not closed or rated already); logged as a rate event", tag: "cases", body: "Satisfaction", status: http.StatusCreated, resp: "Object"},
	"GET /v1/photos/{hash}":                  {summary: "A photo's bytes by their SHA-256 (strong ETag, immutable)", tag: "cases", respType: "image/*", resp: "Binary"},
	"GET /v1/case-time-limits":               {summary: "The table of time limits (处置时限) per class, urgency and stage; rows with no class are the defaults", tag: "cases", resp: "Object"},
	"PUT /v1/case-time-limits":               {summary: "Replace the table of time limits whole ({\"limits\": [{kind, class, urgency, stage, limit}]}), checked first: a default for every stage and urgency, catalogue classes, work-clock limits (1wh, 2wd, 4h, 30m, 3d); cases keep their deadlines", tag: "cases", body: "Object", resp: "Object"},
	"GET /v1/cases/stats":                    {summary: "The cases opened in [from, to) per week (Monday to Sunday, China time) and per major class, for the dashboard's charts", tag: "cases", query: []string{"from", "to"}, resp: "Object"},
	"GET /v1/cases/feed":                     {summary: "Case changes as Server-Sent Events: event case {op, bbox} for each report, step and overdue flag; event reset when changes may have been missed", tag: "cases", respType: "text/event-stream"},
	"GET /v1/cases/hotspots/{z}/{x}/{y}.mvt": {summary: "Reports of the months from..to (default the last twelve) counted in H3 cells of the resolution suiting the zoom: a vector tile with layer hotspots (h3, res, reports, density per km²)", tag: "cases", query: []string{"from", "to"}, respType: "application/vnd.mapbox-vector-tile", resp: "Binary"},
	"POST /v1/cases/{id}/steps":              {summary: "Take a step of the loop (file, reject, dispatch, handle, verify, rework, close, suspend, resume, extend), as the token's role allows", tag: "cases", body: "CaseStep", resp: "Case"},
	"GET /v1/departments":                    {summary: "The responsible departments", tag: "routing", resp: "Object"},
	"PUT /v1/departments/{code}":             {summary: "Add or change a department (unified social credit code)", tag: "routing", query: []string{"reason"}, body: "Department", created: true, resp: "Object"},
	"DELETE /v1/departments/{code}":          {summary: "Remove a department no rule names", tag: "routing", query: []string{"reason"}, status: http.StatusNoContent},
	"GET /v1/routing/rules":                  {summary: "The routing rules (class and scope to department)", tag: "routing", resp: "Object"},
	"POST /v1/routing/rules":                 {summary: "Add a routing rule", tag: "routing", body: "Rule", status: http.StatusCreated, resp: "Object"},
	"DELETE /v1/routing/rules/{id}":          {summary: "Remove a routing rule", tag: "routing", query: []string{"reason"}, status: http.StatusNoContent},

	"GET /open311/v2/services.json":        {summary: "Open311 GeoReport v2: the catalogue's full classes as services (service_code <scheme>-<kind>-<class>, e.g. gb2026-matter-06010)", tag: "open311", query: []string{"jurisdiction_id"}, resp: "Array"},
	"GET /open311/v2/services.xml":         {summary: "Open311 GeoReport v2: the services as XML", tag: "open311", query: []string{"jurisdiction_id"}, respType: "application/xml"},
	"GET /open311/v2/services/{code}.json": {summary: "Open311 GeoReport v2: a service's definition (no attributes); 404 for an unknown code", tag: "open311", query: []string{"jurisdiction_id"}, resp: "Object"},
	"POST /open311/v2/requests.json":       {summary: "Open311 GeoReport v2: report a problem (form: service_code, lat, long, description, api_key of a reporter token or the Authorization header); opens a case as POST /v1/cases; errors are Open311's array [{code, description}] with the status", tag: "open311", query: []string{"jurisdiction_id"}, body: "Object", bodyType: "application/x-www-form-urlencoded", status: http.StatusCreated, resp: "Array"},
	"GET /open311/v2/requests.json":        {summary: "Open311 GeoReport v2: requests (cases) by id, service, time (default the last 90 days) and status, at most 1000; no reporter's identity", tag: "open311", query: []string{"service_request_id", "service_code", "start_date", "end_date", "open311_status", "jurisdiction_id"}, resp: "Array"},
	"GET /open311/v2/requests/{id}.json":   {summary: "Open311 GeoReport v2: one request, as an array of one", tag: "open311", query: []string{"jurisdiction_id"}, resp: "Array"},
	"GET /open311/v2/tokens/{id}.json":     {summary: "Open311 GeoReport v2: always 404: gridd answers service_request_id at once and issues no tokens", tag: "open311", query: []string{"jurisdiction_id"}, resp: "Array"},

	"GET /ogc":                                   {summary: "OGC API - Features landing page", tag: "ogc", query: []string{"f"}, resp: "Object"},
	"GET /ogc/":                                  {summary: "OGC API - Features landing page", tag: "ogc", query: []string{"f"}, resp: "Object"},
	"GET /ogc/conformance":                       {summary: "The conformance classes implemented", tag: "ogc", resp: "Object"},
	"GET /ogc/collections":                       {summary: "The feature collections with their extents", tag: "ogc", query: []string{"f"}, resp: "Object"},
	"GET /ogc/collections/{coll}":                {summary: "One collection with its extent", tag: "ogc", resp: "Object"},
	"GET /ogc/collections/{coll}/schema":         {summary: "The properties of a collection's features (JSON Schema; readOnly: set by gridd)", tag: "ogc", respType: "application/schema+json", resp: "Object"},
	"GET /ogc/collections/{coll}/queryables":     {summary: "The properties a request may filter on (none beyond bbox here)", tag: "ogc", respType: "application/schema+json", resp: "Object"},
	"GET /ogc/collections/{coll}/items":          {summary: "A page of a collection's features", tag: "ogc", query: ogcItemsParams, respType: geoJSON, resp: "FeatureCollection"},
	"POST /ogc/collections/{coll}/items":         {summary: "Add a feature (grids: carve a new grid; components: a new component)", tag: "ogc", body: "Feature", bodyType: geoJSON, status: http.StatusCreated},
	"GET /ogc/collections/{coll}/items/{id}":     {summary: "One feature; grids and components carry their version as the ETag", tag: "ogc", respType: geoJSON, resp: "Feature"},
	"PUT /ogc/collections/{coll}/items/{id}":     {summary: "Replace a feature (grids: redraw, the neighbours give and take; If-Match optional)", tag: "ogc", body: "Feature", bodyType: geoJSON},
	"PATCH /ogc/collections/{coll}/items/{id}":   {summary: "Change part of a feature (JSON merge patch)", tag: "ogc", body: "Feature", bodyType: "application/merge-patch+json"},
	"DELETE /ogc/collections/{coll}/items/{id}":  {summary: "Remove a feature (grids: dissolved into the neighbour with the longest border)", tag: "ogc", status: http.StatusNoContent},
	"OPTIONS /ogc/collections/{coll}/items":      {summary: "Which methods the collection takes (Allow)", tag: "ogc", status: http.StatusNoContent},
	"OPTIONS /ogc/collections/{coll}/items/{id}": {summary: "Which methods the feature takes (Allow)", tag: "ogc", status: http.StatusNoContent},
}

// apiQueryParams are the query parameters by name.
var apiQueryParams = map[string]map[string]any{
	"community":  qp("A community's 12-digit code", str()),
	"mgmt_grid":  qp("A management grid's code", str()),
	"code":       qp("A code (division, grid, management grid or component)", str()),
	"parent":     qp("A division's code: list its children", str()),
	"kind":       qp("component or matter", enum("component", "matter")),
	"major":      qp("A major class code (two digits)", str()),
	"entity":     qp("The kind of record: grid, component, department, rule…", str()),
	"crs":        qp("Coordinates' CRS: wgs84 (default), gcj02, bd09, cgcs2000 or an EPSG code; on OGC routes the CRS84 URI", str()),
	"reason":     qp("Why, for the history", str()),
	"lon":        qp("Longitude", num()),
	"lat":        qp("Latitude", num()),
	"accuracy_m": qp("The position's accuracy in metres: list the other grids that close", num()),
	"max_snap_m": qp("Snap a point outside every grid to the nearest within this many metres (default 50)", num()),
	"class":      qp("A class code", str()),
	"status":     qp("A component status", str()),
	"grid":       qp("A unit grid's code", str()),
	"bbox":       form("minlon,minlat,maxlon,maxlat", map[string]any{"type": "array", "items": num(), "minItems": 4, "maxItems": 4}),
	"bbox-crs":   qp("CRS of bbox (CRS84 only)", str()),
	"limit":      {"$ref": "#/components/parameters/limit"},
	"after":      qp("The last code of the previous page", str()),
	"offset":     qp("Features to skip", map[string]any{"type": "integer", "minimum": 0}),
	"datetime":   qp("Accepted for clients that send it; features are the current ones", str()),
	"f":          qp("Output format: json", enum("json", "geojson")),
	"state":      qp("A case state", enum("reported", "filed", "rejected", "dispatched", "handled", "verified", "closed", "suspended")),
	"department": qp("A department's unified social credit code", str()),
	"area":       qp("A district, street, community or grid code", str()),
	"since":      qp("From this time (RFC 3339)", str()),
	"until":      qp("Before this time (RFC 3339)", str()),
	"by":         qp("Group evaluation rows by", enum("grid", "community", "street", "district", "mgmt", "department")),
	"from":       qp("The period's start: a date (midnight China time) or an RFC 3339 time", str()),
	"to":         qp("The period's end, excluded: a date (midnight China time) or an RFC 3339 time", str()),
	"format":     qp("Answer as json (default) or csv", enum("json", "csv")),
	"header":     qp("CSV header language: en (default) or zh", enum("en", "zh")),

	// Open311 GeoReport v2's parameters.
	"jurisdiction_id":    qp("Open311 jurisdiction: accepted and ignored (one jurisdiction per server)", str()),
	"service_request_id": qp("Open311 request ids (case ids), comma-separated; overrides the other filters", str()),
	"service_code":       qp("Open311 service codes, comma-separated", str()),
	"start_date":         qp("Requests from this time (W3C date and time); default 90 days before end_date or now", str()),
	"end_date":           qp("Requests before this time (W3C date and time)", str()),
	"open311_status":     open311Param("status", "Open311 status: open or closed, comma-separated"),
}

func qp(desc string, schema map[string]any) map[string]any {
	return map[string]any{"in": "query", "description": desc, "required": false, "schema": schema}
}

func form(desc string, schema map[string]any) map[string]any {
	p := qp(desc, schema)
	p["style"], p["explode"] = "form", false
	return p
}

func str() map[string]any { return map[string]any{"type": "string"} }
func num() map[string]any { return map[string]any{"type": "number"} }
func enum(v ...string) map[string]any {
	return map[string]any{"type": "string", "enum": v}
}
func obj(required []string, props map[string]any) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

var pathParamDesc = map[string]string{
	"code":   "The record's code",
	"id":     "The record's id (OGC items: its code)",
	"coll":   "Collection: divisions, grids, mgmt_grids or components",
	"layers": "Layers, comma-separated",
	"z":      "Zoom", "x": "Column", "y": "Row",
	"file":  "File name",
	"hash":  "A photo's SHA-256, 64 hex digits",
	"stack": "Font stack", "range": "Code point range, e.g. 19968-20223",
}

// apiSchemas are the shapes named in apiOps.
var apiSchemas = map[string]any{
	"Object": map[string]any{"type": "object"},
	"Array":  map[string]any{"type": "array", "items": map[string]any{}},
	"Status": obj([]string{"status"}, map[string]any{"status": str(), "version": str()}),
	"Error": obj([]string{"error"}, map[string]any{"error": obj([]string{"code", "message"}, map[string]any{
		"code":    map[string]any{"type": "string", "description": "Stable: invalid, partition, stale_version, rejected, not_found, unauthorized, forbidden, too_large, unavailable, busy…"},
		"message": map[string]any{"type": "string", "description": "What is wrong and where"},
		"details": map[string]any{"description": "For stale_version: the current versions"},
	})}),
	"Geometry": obj([]string{"type"}, map[string]any{"type": str(), "coordinates": map[string]any{"type": "array", "items": map[string]any{}}}),
	"Feature": obj([]string{"type"}, map[string]any{
		"type": enum("Feature"), "id": map[string]any{},
		"geometry":   map[string]any{"$ref": "#/components/schemas/Geometry"},
		"properties": map[string]any{"type": "object", "nullable": true},
	}),
	"FeatureCollection": obj([]string{"type", "features"}, map[string]any{
		"type":           enum("FeatureCollection"),
		"features":       map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Feature"}},
		"numberMatched":  map[string]any{"type": "integer"},
		"numberReturned": map[string]any{"type": "integer"},
		"links":          map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
	}),
	"GridFeature": obj(nil, map[string]any{
		"type":     enum("Feature"),
		"geometry": map[string]any{"$ref": "#/components/schemas/Geometry"},
		"properties": obj(nil, map[string]any{
			"land_use": str(), "mgmt_level": str(), "responsible": str(), "note": str(),
			"message": map[string]any{"type": "string", "description": "Why, for the history"},
		}),
	}),
	"Reason": obj(nil, map[string]any{"reason": str()}),
	"ChangesetRequest": obj([]string{"message", "operations"}, map[string]any{
		"message": str(),
		"operations": map[string]any{"type": "array", "minItems": 1, "items": obj([]string{"op"}, map[string]any{
			"op":       enum("split", "merge", "reshape", "replace", "redraw"),
			"grids":    map[string]any{"type": "array", "items": obj([]string{"code", "version"}, map[string]any{"code": str(), "version": map[string]any{"type": "integer"}})},
			"line":     map[string]any{"$ref": "#/components/schemas/Geometry"},
			"geometry": map[string]any{"$ref": "#/components/schemas/Geometry"},
			"moves":    map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			"parts":    map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		}),
		},
	}),
	"Changeset": obj(nil, map[string]any{
		"id": map[string]any{"type": "integer"}, "message": str(), "actor": str(),
		"result": obj(nil, map[string]any{
			"created": map[string]any{"type": "array", "items": map[string]any{}},
			"changed": map[string]any{"type": "array", "items": map[string]any{}},
			"retired": map[string]any{"type": "array", "items": map[string]any{}},
		}),
		"warnings": map[string]any{"type": "array", "items": map[string]any{}},
	}),
	"BuildRequest": obj([]string{"area"}, map[string]any{
		"area": str(), "target_m2": num(), "layer": str(), "dry_run": map[string]any{"type": "boolean"}, "reason": str(),
	}),
	"Build": obj(nil, map[string]any{
		"id": str(), "area": str(), "status": str(), "progress": map[string]any{"type": "object"},
		"report": map[string]any{"type": "object"}, "error": map[string]any{"type": "object"},
	}),
	"MgmtGridRequest": obj([]string{"code", "name", "grids"}, map[string]any{
		"code": str(), "name": str(), "grids": map[string]any{"type": "array", "items": str()}, "reason": str(),
	}),
	"MgmtGridMove": obj([]string{"grid", "to"}, map[string]any{
		"grid":         map[string]any{"type": "string", "description": "The unit grid that moves (15 digits), a member of the management grid in the path"},
		"to":           map[string]any{"type": "string", "description": "The management grid it moves to: current, of the same kind (social: same community; responsibility: same street), sharing a boundary line with the unit grid"},
		"dry_run":      map[string]any{"type": "boolean", "description": "Only compute the balance; nothing is written"},
		"reason":       map[string]any{"type": "string", "description": "Why, for the history (needed by a real move)"},
		"from_version": map[string]any{"type": "integer", "minimum": 0, "description": "The version of the path's grid the client read (0 or absent: not checked; another: 412)"},
		"to_version":   map[string]any{"type": "integer", "minimum": 0, "description": "The version of the receiving grid the client read"},
	}),
	"MgmtTotals": obj([]string{"unit_grids", "households", "residents", "load"}, map[string]any{
		"unit_grids": map[string]any{"type": "integer"}, "households": map[string]any{"type": "integer"}, "residents": map[string]any{"type": "integer"},
		"load": map[string]any{"type": "number", "nullable": true, "description": "Against the community's social target (1 is on target); null for responsibility grids and without a target"},
	}),
	"MgmtMoveSide": obj([]string{"code", "name", "version", "members", "before", "after"}, map[string]any{
		"code": str(), "name": str(), "version": map[string]any{"type": "integer", "description": "The version read"},
		"new_version": map[string]any{"type": "integer", "description": "The version written (a saved move only)"},
		"valid_from":  str(), "members": map[string]any{"type": "array", "items": str(), "description": "The members after the move"},
		"before": map[string]any{"$ref": "#/components/schemas/MgmtTotals"}, "after": map[string]any{"$ref": "#/components/schemas/MgmtTotals"},
	}),
	"MgmtGridMoved": obj([]string{"grid", "kind", "from", "to", "dry_run", "saved"}, map[string]any{
		"grid": str(), "grid_totals": map[string]any{"$ref": "#/components/schemas/MgmtTotals"},
		"kind": enum("social", "responsibility"), "community": str(),
		"target": map[string]any{"type": "object", "nullable": true, "description": "The households and residents a social grid of the community was built to; null when none", "properties": map[string]any{"households": map[string]any{"type": "integer"}, "residents": map[string]any{"type": "integer"}}},
		"from":   map[string]any{"$ref": "#/components/schemas/MgmtMoveSide"}, "to": map[string]any{"$ref": "#/components/schemas/MgmtMoveSide"},
		"dry_run": map[string]any{"type": "boolean"}, "saved": map[string]any{"type": "boolean"},
	}),
	"MgmtGridList": obj([]string{"community", "mgmt_grids"}, map[string]any{
		"community": str(),
		"mgmt_grids": map[string]any{"type": "array", "items": obj([]string{"code", "name", "kind", "version", "members", "households", "residents"}, map[string]any{
			"code": str(), "name": str(), "kind": enum("social", "responsibility"), "community": str(), "street_code": str(),
			"version": map[string]any{"type": "integer"}, "valid_from": str(), "members": map[string]any{"type": "array", "items": str()},
			"households": map[string]any{"type": "integer"}, "residents": map[string]any{"type": "integer"},
			"target": map[string]any{"type": "object", "nullable": true, "description": "The households and residents a social grid of the community was built to; null when none", "properties": map[string]any{"households": map[string]any{"type": "integer"}, "residents": map[string]any{"type": "integer"}}},
			"load":   map[string]any{"type": "number", "nullable": true},
		})},
	}),
	"Lookup": obj(nil, map[string]any{
		"grid": str(), "community": map[string]any{"type": "object"}, "street": map[string]any{"type": "object"},
		"district": map[string]any{"type": "object"}, "mgmt_grids": map[string]any{"type": "array", "items": map[string]any{}},
		"grid_workers": gridWorkersSchema("now (to a request with a token only: names and telephone numbers are personal)"), "grid_workers_note": gridWorkersNote,
	}),
	"BatchLookup": obj([]string{"points"}, map[string]any{
		"crs":        str(),
		"points":     map[string]any{"type": "array", "maxItems": 100000, "items": map[string]any{"type": "array", "items": num(), "minItems": 2, "maxItems": 2}},
		"accuracy_m": num(), "max_snap_m": num(),
	}),
	"RouteRequest": obj([]string{"lon", "lat", "class"}, map[string]any{
		"lon": num(), "lat": num(), "crs": str(), "class": str(), "kind": enum("component", "matter"),
		"component": str(), "accuracy_m": num(),
	}),
	"Routed": obj([]string{"grid", "department", "decided_by", "reason"}, map[string]any{
		"report_id": map[string]any{"type": "integer"}, "grid": map[string]any{"type": "object"},
		"community": map[string]any{"type": "object"}, "street": map[string]any{"type": "object"}, "district": map[string]any{"type": "object"},
		"mgmt_grids": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		"class":      map[string]any{"type": "object"}, "department": map[string]any{"type": "object", "nullable": true},
		"decided_by": enum("component", "rule", "territorial", "none"), "rule": map[string]any{"type": "object"}, "reason": str(),
		"grid_workers":      gridWorkersSchema("when the report is routed"),
		"grid_workers_note": gridWorkersNote,
	}),
	"CaseRequest": obj([]string{"lon", "lat", "class"}, map[string]any{
		"lon": num(), "lat": num(), "crs": str(), "class": str(), "kind": enum("component", "matter"),
		"component": str(), "accuracy_m": num(), "description": str(), "urgency": enum("normal", "urgent"),
	}),
	"CaseStep": obj([]string{"step"}, map[string]any{
		"step":    enum("file", "reject", "dispatch", "handle", "verify", "rework", "close", "suspend", "resume", "extend"),
		"version": map[string]any{"type": "integer"}, "reason": str(), "note": str(), "department": str(),
		"reject_kind": enum("duplicate", "out_of_scope"), "duplicate_of": map[string]any{"type": "integer"}, "hours": num(),
	}),
	"Case": obj([]string{"id", "state", "version"}, map[string]any{
		"id": map[string]any{"type": "integer"}, "state": str(), "version": map[string]any{"type": "integer"},
		"class": map[string]any{"type": "object"}, "grid": str(), "community": str(), "street": str(), "district": str(),
		"routed_department": map[string]any{"type": "object", "nullable": true}, "department": map[string]any{"type": "object", "nullable": true},
		"events":       map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		"grid_workers": gridWorkersSchema("now, where the case lies"), "grid_workers_note": gridWorkersNote,
	}),
	"GridWorker": obj([]string{"name"}, map[string]any{
		"name": str(), "phone": str(), "role": enum("grid_worker", "supervisor"), "reason": str(),
	}),
	"Duty": obj([]string{"mgmt_grid", "from"}, map[string]any{
		"mgmt_grid": str(), "from": map[string]any{"type": "string", "format": "date-time"},
		"to": map[string]any{"type": "string", "format": "date-time", "description": "Excluded; absent: open-ended"}, "reason": str(),
	}),
	"When": obj(nil, map[string]any{"at": map[string]any{"type": "string", "format": "date-time"}, "reason": str()}),
	"Satisfaction": obj([]string{"rating"}, map[string]any{
		"rating": enum("satisfied", "basically_satisfied", "dissatisfied"), "comment": str(),
	}),
	"Binary": map[string]any{"type": "string", "format": "binary"},
	"CasePhoto": obj([]string{"sha256", "url", "media_type", "size", "width", "height"}, map[string]any{
		"sha256": str(), "url": str(), "media_type": enum("image/jpeg", "image/png", "image/webp"),
		"size": map[string]any{"type": "integer"}, "width": map[string]any{"type": "integer"}, "height": map[string]any{"type": "integer"},
		"exif_lon": num(), "exif_lat": num(), "exif_time": str(),
		"case_id": map[string]any{"type": "integer"}, "added": str(), "actor": str(), "role": str(),
		"event_id": map[string]any{"type": "integer"}, "step": str(), "state": str(), "new": map[string]any{"type": "boolean"},
		"distance_m":         map[string]any{"type": "number", "description": "From the EXIF position (read as WGS-84) to the case's location"},
		"time_from_report_s": map[string]any{"type": "number", "description": "EXIF time minus the report's time; negative: taken before"},
		"warnings":           map[string]any{"type": "array", "items": str()},
	}),
	"Department": obj([]string{"name"}, map[string]any{
		"name": str(), "contact": str(), "territory_code": str(), "reason": str(),
	}),
	"Rule": obj([]string{"class", "department"}, map[string]any{
		"class": str(), "kind": enum("component", "matter"), "scheme": str(), "scope": str(),
		"department": str(), "priority": map[string]any{"type": "integer"}, "note": str(), "reason": str(),
	}),
}

// gridWorkersSchema is the grid_workers member of the answers naming who
// is on duty (lookup, route, case), at the time said.
func gridWorkersSchema(when string) map[string]any {
	return map[string]any{"type": "array", "description": "The grid workers (网格员) and supervisors on duty " + when + " on the management grids containing the point's grid, social grids first; [] when nobody is on duty (grid_workers_note says where); absent when the server keeps no workers",
		"items": obj([]string{"mgmt_grid", "worker_id", "name", "role"}, map[string]any{
			"mgmt_grid": obj(nil, map[string]any{"code": str(), "name": str(), "kind": enum("social", "responsibility")}),
			"worker_id": map[string]any{"type": "integer"}, "name": str(), "phone": str(), "role": enum("grid_worker", "supervisor"),
			"duty_id": map[string]any{"type": "integer"}, "since": str(), "until": str(),
		})}
}

var gridWorkersNote = map[string]any{"type": "string", "description": "Present when some of the point's management grids have nobody on duty, or the grid is in none: e.g. \"no grid worker on duty at 2026-03-01T08:00:00Z for social grid 110101001007-S02 南池子二网格\""}

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// openAPI builds the document from the routes mux serves.
func (s *Server) openAPI(mux chi.Routes, serverURL string) map[string]any {
	paths := map[string]map[string]any{}
	_ = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		op, ok := s.apiOperation(method, route)
		if !ok {
			return nil
		}
		if paths[route] == nil {
			paths[route] = map[string]any{}
		}
		paths[route][strings.ToLower(method)] = op
		return nil
	})
	limit := form("How many features a page holds", map[string]any{
		"type": "integer", "minimum": 1, "maximum": ogcMaxLimit, "default": ogcDefaultLimit})
	limit["name"] = "limit"
	reads := "Reads are public"
	if s.cfg.PrivateReads {
		reads = "Reads need a token (lookups a reporter's, the rest a viewer's)"
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "gridd",
			"version": s.cfg.Version,
			"description": "Unit grids (单元网格), divisions, management grids and urban components (城市部件) of a district: " +
				"lookups and routing of reported locations, grid editing that keeps the partition exact, vector tiles, and " +
				"OGC API - Features (Part 1 and Part 4) for QGIS and GDAL. " + reads + "; writes need a token with the role " +
				"each operation names. Every error has the shape of the Error schema.",
		},
		"servers": []any{map[string]any{"url": serverURL}},
		"paths":   paths,
		"components": map[string]any{
			"parameters": map[string]any{"limit": limit},
			"schemas":    apiSchemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API token made by `gridd token create`"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The same token, for clients that send a fixed header"},
			},
			"responses": map[string]any{
				"Error": map[string]any{"description": "What is wrong and where. Under /ogc, a client that takes no JSON (QGIS) gets an OWS ExceptionReport with the same code and message.",
					"content": map[string]any{
						"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}},
						"application/xml":  map[string]any{"schema": map[string]any{"type": "string"}},
					}},
			},
		},
	}
}

// apiOperation is the OpenAPI operation of a mounted route; false for a
// route apiOps does not describe (TestOpenAPIEveryRoute fails on it).
func (s *Server) apiOperation(method, route string) (map[string]any, bool) {
	key := method + " " + route
	d, ok := apiOps[key]
	switch {
	case ok:
	case method == http.MethodHead:
		if d, ok = apiOps["GET "+route]; !ok {
			return nil, false
		}
		d.summary = "Headers of GET " + route + " (no body)"
		d.body, d.resp, d.respType = "", "", "-"
	case method == http.MethodOptions && access[key].kind == open:
		d = apiOp{summary: "CORS preflight", tag: apiOps["GET "+route].tag, status: http.StatusNoContent}
	default:
		return nil, false
	}
	op := map[string]any{
		"summary":     d.summary,
		"operationId": operationID(method, route),
		"tags":        []string{d.tag},
	}
	var params []any
	for _, m := range pathParamRE.FindAllStringSubmatch(route, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
			"description": pathParamDesc[m[1]], "schema": str()})
	}
	for _, name := range d.query {
		p, known := apiQueryParams[name]
		if !known {
			return nil, false
		}
		if _, ref := p["$ref"]; !ref {
			c := map[string]any{"name": name}
			for k, v := range p {
				c[k] = v
			}
			p = c
		}
		params = append(params, p)
	}
	if params != nil {
		op["parameters"] = params
	}
	if d.body != "" {
		t := d.bodyType
		if t == "" {
			t = "application/json"
		}
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			t: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + d.body}}}}
	}
	status := d.status
	if status == 0 {
		status = http.StatusOK
	}
	ok200 := map[string]any{"description": http.StatusText(status)}
	if status != http.StatusNoContent && d.respType != "-" {
		t := d.respType
		if t == "" {
			t = "application/json"
		}
		schema := map[string]any{}
		if d.resp != "" {
			schema = map[string]any{"$ref": "#/components/schemas/" + d.resp}
		}
		ok200["content"] = map[string]any{t: map[string]any{"schema": schema}}
	}
	responses := map[string]any{
		strconv.Itoa(status): ok200,
		"default":            map[string]any{"$ref": "#/components/responses/Error"},
	}
	if d.created {
		responses[strconv.Itoa(http.StatusCreated)] = ok200
	}
	op["responses"] = responses
	ru := access[key]
	switch ru.kind {
	case open:
		op["security"] = []any{}
	case read, metrics:
		op["security"] = []any{map[string]any{}, map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}}
		op["x-gridd-role"] = ru.role.String()
		op["description"] = "With private reads this needs a token with role " + ru.role.String() + " or above."
	case need:
		op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}}
		op["x-gridd-role"] = ru.role.String()
		op["description"] = "Needs a token with role " + ru.role.String() + " or above."
		if key == "POST /v1/history/{id}/revert" {
			op["description"] = "Needs a token with role editor; reverting a department or a routing rule needs admin."
		}
	}
	return op, true
}

// operationID is a stable name for a route: getV1GridsCode.
func operationID(method, route string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	up := true
	for _, r := range route {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	if strings.HasSuffix(route, "/") {
		b.WriteString("Slash")
	}
	return b.String()
}

// openAPIHandler serves the document, built once per host the clients use.
func (s *Server) openAPIHandler(mux chi.Routes) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", s.cacheControl(300))
		w.Header().Set("Content-Type", openAPIType)
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(s.openAPI(mux, base(r)))
	}
}

// sortedPaths lists a document's paths in order, for the docs page.
func sortedPaths(doc map[string]any) []string {
	paths := doc["paths"].(map[string]map[string]any)
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
