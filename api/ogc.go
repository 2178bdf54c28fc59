package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// Features is what the OGC API Features endpoints read.
type Features interface {
	FeatureCollections() []string
	Items(ctx context.Context, coll string, q grids.FeatureQuery) (grids.FeaturePage, error)
	Item(ctx context.Context, coll, id string) (json.RawMessage, error)
}

// FeatureDescriber says what a collection holds: its extent (QGIS zooms
// to it) and its properties' schema (QGIS 3.40 builds its fields from it,
// readOnly ones not editable). Features that implement it get both.
type FeatureDescriber interface {
	CollectionExtent(ctx context.Context, coll string) (grids.CollectionExtent, error)
	FeatureSchema(coll string) []grids.FeatureProperty
}

// FeatureEditor takes OGC API - Features Part 4 edits of one collection
// other than grids (components, for one): each call gets the request's
// GeoJSON Feature and is one transaction. A positive version is the
// request's If-Match: the write applies only to that version (else a
// *grids.VersionError). Errors map as everywhere.
type FeatureEditor interface {
	CreateFeature(ctx context.Context, actor string, feature []byte) (id string, err error)
	ReplaceFeature(ctx context.Context, actor, id string, version int, feature []byte) error
	DeleteFeature(ctx context.Context, actor, id string, version int) error
}

// The OGC API - Features conformance classes gridd implements.
var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
}

var ogcTitles = map[string]string{
	"divisions":  "Administrative divisions (district, street, community)",
	"grids":      "Unit grids (单元网格); editable: each single-feature edit keeps the partition exact",
	"mgmt_grids": "Management grids (unions of unit grids)",
	"components": "Urban components (城市部件); editable: each edit is checked, coded and assigned to its grid",
	// QGIS gives a layer one geometry type and draws only features of it:
	// components that mix points, lines and polygons are also served by
	// kind, each kind editable like components.
	"components_point":   "Urban components (城市部件), points only; editable like components",
	"components_line":    "Urban components (城市部件), lines only; editable like components",
	"components_polygon": "Urban components (城市部件), polygons only; editable like components",
}

const (
	ogcDefaultLimit = 100
	ogcMaxLimit     = 10000
	crs84           = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
)

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// mountOGC mounts OGC API - Features under /ogc. Reads follow the public
// reads setting; Part 4 writes on grids need an editor token.
func (s *Server) mountOGC(r chi.Router) {
	read, edit := s.handle, s.handle // who may call which: the access table
	r.Method(http.MethodGet, "/ogc", read(s.ogcLanding))
	r.Method(http.MethodGet, "/ogc/", read(s.ogcLanding))
	r.Method(http.MethodGet, "/ogc/conformance", read(s.ogcConformance))
	r.Method(http.MethodGet, "/ogc/collections", read(s.ogcCollections))
	r.Method(http.MethodGet, "/ogc/collections/{coll}", read(s.ogcCollection))
	r.Method(http.MethodGet, "/ogc/collections/{coll}/schema", read(s.ogcSchema))
	r.Method(http.MethodGet, "/ogc/collections/{coll}/queryables", read(s.ogcQueryables))
	r.Method(http.MethodGet, "/ogc/collections/{coll}/items", read(s.ogcItems))
	r.Method(http.MethodHead, "/ogc/collections/{coll}/items", read(s.ogcItems))
	r.Method(http.MethodGet, "/ogc/collections/{coll}/items/{id}", read(s.ogcItem))
	r.Method(http.MethodHead, "/ogc/collections/{coll}/items/{id}", read(s.ogcItem))
	r.Method(http.MethodOptions, "/ogc/collections/{coll}/items", s.handle(s.ogcOptions))
	r.Method(http.MethodOptions, "/ogc/collections/{coll}/items/{id}", s.handle(s.ogcOptions))
	r.Method(http.MethodPost, "/ogc/collections/{coll}/items", edit(s.ogcCreate))
	r.Method(http.MethodPut, "/ogc/collections/{coll}/items/{id}", edit(s.ogcReplace))
	r.Method(http.MethodPatch, "/ogc/collections/{coll}/items/{id}", edit(s.ogcReplace))
	r.Method(http.MethodDelete, "/ogc/collections/{coll}/items/{id}", edit(s.ogcDelete))
}

// featureEditor is the Part 4 editor of a collection other than grids.
func (s *Server) featureEditor(r *http.Request) (FeatureEditor, bool) {
	fe, ok := s.cfg.FeatureEditors[chi.URLParam(r, "coll")]
	return fe, ok
}

// base is the absolute URL prefix of the server as the client reached it.
func base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func checkF(r *http.Request) error {
	if f := r.URL.Query().Get("f"); f != "" && f != "json" && f != "geojson" {
		return grids.Invalid("f", "only f=json is served")
	}
	return nil
}

func (s *Server) ogcLanding(w http.ResponseWriter, r *http.Request) error {
	if err := checkF(r); err != nil {
		return err
	}
	b := base(r)
	return writeJSON(w, http.StatusOK, map[string]any{
		"title":       "gridd",
		"description": "Unit grids, divisions, management grids and components of gridd, as OGC API - Features",
		"links": []link{
			{Href: b + "/ogc", Rel: "self", Type: "application/json"},
			{Href: b + "/openapi.json", Rel: "service-desc", Type: openAPIType, Title: "The API as OpenAPI 3.0"},
			{Href: b + "/docs", Rel: "service-doc", Type: "text/html", Title: "The API as a web page"},
			{Href: b + "/ogc/conformance", Rel: "conformance", Type: "application/json"},
			{Href: b + "/ogc/collections", Rel: "data", Type: "application/json"},
		},
	})
}

func (s *Server) ogcConformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"conformsTo": ogcConformance})
}

func (s *Server) collectionDoc(r *http.Request, id string) (map[string]any, error) {
	b := base(r) + "/ogc/collections/" + id
	doc := map[string]any{
		"id": id, "title": ogcTitles[id], "itemType": "feature", "crs": []string{crs84}, "storageCrs": crs84,
		"links": []link{
			{Href: b, Rel: "self", Type: "application/json"},
			{Href: b + "/items", Rel: "items", Type: "application/geo+json"},
		},
	}
	d, ok := s.cfg.Features.(FeatureDescriber)
	if !ok {
		return doc, nil
	}
	doc["links"] = append(doc["links"].([]link),
		link{Href: b + "/schema", Rel: "http://www.opengis.net/def/rel/ogc/1.0/schema", Type: "application/schema+json", Title: "Properties"},
		link{Href: b + "/queryables", Rel: "http://www.opengis.net/def/rel/ogc/1.0/queryables", Type: "application/schema+json", Title: "Queryables"})
	e, err := d.CollectionExtent(r.Context(), id)
	if err != nil {
		return nil, err
	}
	doc["itemCount"] = e.Count
	if e.BBox != nil {
		extent := map[string]any{"spatial": map[string]any{"crs": crs84,
			"bbox": [][]float64{{e.BBox.Min[0], e.BBox.Min[1], e.BBox.Max[0], e.BBox.Max[1]}}}}
		if e.Since != nil {
			// Open at the end: the features are the current ones.
			extent["temporal"] = map[string]any{"trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
				"interval": [][]any{{e.Since.UTC().Format(time.RFC3339), nil}}}
		}
		doc["extent"] = extent
	}
	return doc, nil
}

// GET /ogc/collections/{coll}/schema: the features' properties as JSON
// Schema (OGC API - Features Part 5), in the order clients show them.
func (s *Server) ogcSchema(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	d, ok := s.cfg.Features.(FeatureDescriber)
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no schema for collection " + id}
	}
	props := map[string]any{"geometry": map[string]any{"x-ogc-role": "primary-geometry", "format": geometryFormat[id]}}
	for i, p := range d.FeatureSchema(id) {
		prop := map[string]any{"type": []string{p.Type, "null"}, "title": p.Title, "x-ogc-propertySeq": i + 1}
		if p.Format != "" {
			prop["format"] = p.Format
		}
		if p.ReadOnly {
			prop["readOnly"] = true
		}
		if p.Name == "code" {
			prop["x-ogc-role"] = "id"
		}
		props[p.Name] = prop
	}
	return writeSchema(w, r, id, "schema", props)
}

// GET /ogc/collections/{coll}/queryables: items filter on bbox only, so
// the queryables are the geometry.
func (s *Server) ogcQueryables(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	return writeSchema(w, r, id, "queryables", map[string]any{
		"geometry": map[string]any{"x-ogc-role": "primary-geometry", "format": geometryFormat[id]}})
}

var geometryFormat = map[string]string{
	"divisions": "geometry-polygon-or-multipolygon", "grids": "geometry-polygon",
	"mgmt_grids": "geometry-polygon-or-multipolygon", "components": "geometry-any",
	"components_point": "geometry-point-or-multipoint", "components_line": "geometry-linestring-or-multilinestring",
	"components_polygon": "geometry-polygon-or-multipolygon",
}

func writeSchema(w http.ResponseWriter, r *http.Request, id, what string, props map[string]any) error {
	w.Header().Set("Content-Type", "application/schema+json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     base(r) + "/ogc/collections/" + id + "/" + what,
		"type":    "object", "title": ogcTitles[id], "properties": props,
	})
}

func (s *Server) knownCollection(r *http.Request) (string, error) {
	id := chi.URLParam(r, "coll")
	for _, c := range s.cfg.Features.FeatureCollections() {
		if c == id {
			return id, nil
		}
	}
	return "", &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no collection " + id}
}

func (s *Server) ogcCollections(w http.ResponseWriter, r *http.Request) error {
	if err := checkF(r); err != nil {
		return err
	}
	var cs []map[string]any
	for _, c := range s.cfg.Features.FeatureCollections() {
		doc, err := s.collectionDoc(r, c)
		if err != nil {
			return err
		}
		cs = append(cs, doc)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"links":       []link{{Href: base(r) + "/ogc/collections", Rel: "self", Type: "application/json"}},
		"collections": cs,
	})
}

func (s *Server) ogcCollection(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	doc, err := s.collectionDoc(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// GET /ogc/collections/{coll}/items?bbox=minlon,minlat,maxlon,maxlat&limit=&offset=
func (s *Server) ogcItems(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	q, err := featureQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.cfg.Features.Items(r.Context(), id, q)
	if err != nil {
		return err
	}
	self := base(r) + r.URL.Path
	withOffset := func(off int) string {
		vv := r.URL.Query()
		vv.Set("offset", strconv.Itoa(off))
		vv.Set("limit", strconv.Itoa(q.Limit))
		return self + "?" + vv.Encode()
	}
	links := []link{{Href: withOffset(q.Offset), Rel: "self", Type: "application/geo+json"}}
	if q.Offset+len(page.Features) < page.Matched {
		links = append(links, link{Href: withOffset(q.Offset + q.Limit), Rel: "next", Type: "application/geo+json"})
	}
	if q.Offset > 0 {
		links = append(links, link{Href: withOffset(max(0, q.Offset-q.Limit)), Rel: "prev", Type: "application/geo+json"})
	}
	feats := page.Features
	if feats == nil {
		feats = []json.RawMessage{}
	}
	return writeGeoJSON(w, http.StatusOK, map[string]any{
		"type": "FeatureCollection", "features": feats, "links": links,
		"numberMatched": page.Matched, "numberReturned": len(feats),
		"timeStamp": time.Now().UTC().Format(time.RFC3339),
	})
}

func (s *Server) ogcItem(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	item, err := pathText(r, "id")
	if err != nil {
		return err
	}
	f, err := s.cfg.Features.Item(r.Context(), id, item)
	if err != nil {
		return err
	}
	if id == "grids" || strings.HasPrefix(id, "components") {
		var v struct {
			Properties struct {
				Version int `json:"version"`
			} `json:"properties"`
		}
		if json.Unmarshal(f, &v) == nil && v.Properties.Version > 0 && notModified(w, r, v.Properties.Version) {
			return nil
		}
	}
	return writeGeoJSON(w, http.StatusOK, f)
}

// OPTIONS on items: the Allow header tells clients (QGIS 3.32+) which
// collections take Part 4 edits.
func (s *Server) ogcOptions(w http.ResponseWriter, r *http.Request) error {
	id, err := s.knownCollection(r)
	if err != nil {
		return err
	}
	allow := "GET, HEAD, OPTIONS"
	_, editable := s.featureEditor(r)
	if (id == "grids" && s.cfg.Editor != nil) || editable {
		if chi.URLParam(r, "id") == "" {
			allow += ", POST"
		} else {
			allow += ", PUT, PATCH, DELETE"
		}
	}
	w.Header().Set("Allow", allow)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) editableGrids(r *http.Request) error {
	if chi.URLParam(r, "coll") != "grids" || s.cfg.Editor == nil {
		return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "collection " + chi.URLParam(r, "coll") + " is read-only here"}
	}
	return nil
}

// ogcFeatureBody reads a GeoJSON Feature of a grid edit: its polygon (if
// any), attributes and message. An attribute sent as null is cleared (a
// pointer to ""): QGIS sends null for a field the user cleared, in a PATCH
// (merge patch: null removes) as in a PUT or POST (the whole feature).
// A body that changes nothing because it only names properties gridd
// writes is refused naming them: QGIS, which learns the fields from the
// features, lets its users edit every one and PATCHes what they changed.
func ogcFeatureBody(w http.ResponseWriter, r *http.Request) (orb.Polygon, grids.GridAttributes, string, error) {
	var f gridFeatureBody
	b, err := readBytes(w, r, maxEditBody)
	if err != nil {
		return nil, grids.GridAttributes{}, "", err
	}
	if err := decodeJSON(b, &f); err != nil {
		return nil, grids.GridAttributes{}, "", err
	}
	var raw struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, grids.GridAttributes{}, "", grids.Invalid("body", "%v", err)
	}
	a := &f.Properties.GridAttributes
	editable := map[string]**string{"land_use": &a.LandUse, "mgmt_level": &a.MgmtLevel, "responsible": &a.Responsible, "note": &a.Note}
	var written []string
	for name, v := range raw.Properties {
		field, ok := editable[name]
		switch {
		case ok && string(v) == "null":
			*field = new(string)
		case !ok && name != "message":
			written = append(written, name)
		}
	}
	if f.Geometry == nil && *a == (grids.GridAttributes{}) && len(written) > 0 {
		slices.Sort(written)
		return nil, grids.GridAttributes{}, "", grids.Invalid("properties",
			"%s: written by gridd, not editable; a grid's editable fields are land_use, mgmt_level, responsible and note", strings.Join(written, ", "))
	}
	var p orb.Polygon
	if f.Geometry != nil {
		switch g := f.Geometry.Geometry().(type) {
		case orb.Polygon:
			p = g
		case orb.MultiPolygon:
			if len(g) != 1 {
				return nil, grids.GridAttributes{}, "", grids.Invalid("geometry", "a grid is one polygon; got %d", len(g))
			}
			p = g[0]
		default:
			return nil, grids.GridAttributes{}, "", grids.Invalid("geometry", "want a Polygon")
		}
	}
	return p, f.Properties.GridAttributes, f.Properties.Message, nil
}

// POST /ogc/collections/grids/items: a new grid carved out of the grids it
// covers.
func (s *Server) ogcCreate(w http.ResponseWriter, r *http.Request) error {
	if fe, ok := s.featureEditor(r); ok {
		body, err := readFeatureBody(w, r, maxComponentBody)
		if err != nil {
			return err
		}
		id, err := fe.CreateFeature(r.Context(), actor(r), body)
		if err != nil {
			return err
		}
		w.Header().Set("Location", base(r)+"/ogc/collections/"+chi.URLParam(r, "coll")+"/items/"+id)
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	if err := s.editableGrids(r); err != nil {
		return err
	}
	shaper, ok := s.cfg.Editor.(grids.GridShaper)
	if !ok {
		return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "creating grids is not available"}
	}
	p, attrs, msg, err := ogcFeatureBody(w, r)
	if err != nil {
		return err
	}
	if p == nil {
		return grids.Invalid("geometry", "a new grid needs a polygon")
	}
	// QGIS sends the attributes filled in its form with the new feature,
	// null for those left empty (the new grid keeps what it inherits), and
	// reads the feature back after the Location.
	cs, err := shaper.CarveGrid(r.Context(), actor(r), p, setAttributes(attrs), msg)
	if err != nil {
		return err
	}
	if len(cs.Result.Created) != 1 {
		return writeJSON(w, http.StatusCreated, cs)
	}
	created := cs.Result.Created[0]
	w.Header().Set("Location", base(r)+"/ogc/collections/grids/items/"+created.Code.String())
	return writeJSON(w, http.StatusCreated, cs)
}

// setAttributes keeps the attributes that set a value: on a new grid, one
// sent as null keeps what the grid inherits.
func setAttributes(a grids.GridAttributes) grids.GridAttributes {
	for _, f := range []**string{&a.LandUse, &a.MgmtLevel, &a.Responsible, &a.Note} {
		if *f != nil && **f == "" {
			*f = nil
		}
	}
	return a
}

// PUT or PATCH /ogc/collections/grids/items/{code}: a redraw and/or new
// attributes. QGIS sends no If-Match: then the edit applies to the current
// version; the partition guard keeps it exact either way. Other editable
// collections take If-Match the same way: optional, and a stale one is 412.
func (s *Server) ogcReplace(w http.ResponseWriter, r *http.Request) error {
	if fe, ok := s.featureEditor(r); ok {
		version, err := ifMatch(r)
		if err != nil {
			return err
		}
		body, err := readFeatureBody(w, r, maxComponentBody)
		if err != nil {
			return err
		}
		if fp, ok := fe.(FeaturePatcher); ok && r.Method == http.MethodPatch {
			err = fp.PatchFeature(r.Context(), actor(r), chi.URLParam(r, "id"), version, body)
		} else {
			err = fe.ReplaceFeature(r.Context(), actor(r), chi.URLParam(r, "id"), version, body)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.editableGrids(r); err != nil {
		return err
	}
	code, err := geo.ParseCodeAt(chi.URLParam(r, "id"), geo.Grid)
	if err != nil {
		return grids.Invalid("id", "%v", err)
	}
	// Without If-Match (QGIS sends none) the edit applies to the current
	// version, and the store refuses a geometry from a copy that an edit of
	// a neighbour has made stale.
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	ref := grids.GridRef{Code: code, Version: v}
	p, attrs, msg, err := ogcFeatureBody(w, r)
	if err != nil {
		return err
	}
	if p == nil && attrs == (grids.GridAttributes{}) {
		return grids.Invalid("body", "nothing to change: give a geometry or properties")
	}
	cs, err := s.cfg.Editor.UpdateGrid(r.Context(), actor(r), ref, attrs, p, msg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

// DELETE /ogc/collections/grids/items/{code}: the grid is dissolved into the
// neighbour sharing its longest border.
func (s *Server) ogcDelete(w http.ResponseWriter, r *http.Request) error {
	if fe, ok := s.featureEditor(r); ok {
		version, err := ifMatch(r)
		if err != nil {
			return err
		}
		item, err := pathText(r, "id")
		if err != nil {
			return err
		}
		if err := fe.DeleteFeature(r.Context(), actor(r), item, version); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.editableGrids(r); err != nil {
		return err
	}
	shaper, ok := s.cfg.Editor.(grids.GridShaper)
	if !ok {
		return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "removing grids is not available"}
	}
	code, err := geo.ParseCodeAt(chi.URLParam(r, "id"), geo.Grid)
	if err != nil {
		return grids.Invalid("id", "%v", err)
	}
	ref, err := s.gridRef(r, code)
	if err != nil {
		return err
	}
	if _, err := shaper.DissolveGrid(r.Context(), actor(r), ref, ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// gridRef is the version a single-feature edit is made against: If-Match
// when given, else (also for If-Match: *) the current one.
func (s *Server) gridRef(r *http.Request, code geo.Code) (grids.GridRef, error) {
	if v, err := ifMatch(r); err != nil || v > 0 {
		return grids.GridRef{Code: code, Version: v}, err
	}
	g, err := s.cfg.Editor.Grid(r.Context(), code)
	if err != nil {
		return grids.GridRef{}, err
	}
	return grids.GridRef{Code: code, Version: g.Version}, nil
}
