package api

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"

	"gridd/geo"
	"gridd/grids"
)

// FeaturePatcher is a FeatureEditor that also takes Part 4 updates (PATCH):
// a partial Feature whose properties replace those of the stored feature
// one by one (null clears one) and whose geometry, when given, replaces
// the stored one.
type FeaturePatcher interface {
	FeatureEditor
	PatchFeature(ctx context.Context, actor, id string, version int, patch []byte) error
}

// ComponentFeatures makes the component store the Part 4 editor of the OGC
// API's components collection: a create, replace, update or delete is the
// same write as on /v1/components (same checks, code allocation, grid
// assignment and history under the token's name), one transaction each.
// Bodies are GeoJSON Features in CRS84.
func ComponentFeatures(c Components) FeaturePatcher { return componentFeatures{c} }

// componentKinds are the collections of components of one kind of geometry
// (see ogcTitles) and the GeoJSON types each takes.
var componentKinds = map[string][]string{
	"components_point":   {"Point", "MultiPoint"},
	"components_line":    {"LineString", "MultiLineString"},
	"components_polygon": {"Polygon", "MultiPolygon"},
}

// ComponentFeatureEditors are the Part 4 editors of the components
// collection and of its collections by kind of geometry, which refuse a
// geometry of another kind.
func ComponentFeatureEditors(c Components) map[string]FeatureEditor {
	m := map[string]FeatureEditor{"components": componentFeatures{c}}
	for coll, types := range componentKinds {
		m[coll] = kindFeatures{componentFeatures{c}, coll, types}
	}
	return m
}

// kindFeatures edits the components of one kind of geometry.
type kindFeatures struct {
	componentFeatures
	coll  string
	types []string
}

// check refuses a body whose geometry is of another kind; a body without
// one (a PATCH of properties) passes, and a malformed one is left to the
// component parser to report.
func (k kindFeatures) check(body []byte) error {
	var f struct {
		Geometry *struct {
			Type string `json:"type"`
		} `json:"geometry"`
	}
	if json.Unmarshal(body, &f) != nil || f.Geometry == nil || slices.Contains(k.types, f.Geometry.Type) {
		return nil
	}
	other := "components"
	for coll, types := range componentKinds {
		if slices.Contains(types, f.Geometry.Type) {
			other = coll
		}
	}
	return grids.Invalid("geometry", "%s holds %s geometries, not %s: use the collection %s", k.coll,
		strings.Join(k.types, " and "), f.Geometry.Type, other)
}

func (k kindFeatures) CreateFeature(ctx context.Context, actor string, body []byte) (string, error) {
	if err := k.check(body); err != nil {
		return "", err
	}
	return k.componentFeatures.CreateFeature(ctx, actor, body)
}

func (k kindFeatures) ReplaceFeature(ctx context.Context, actor, id string, version int, body []byte) error {
	if err := k.check(body); err != nil {
		return err
	}
	return k.componentFeatures.ReplaceFeature(ctx, actor, id, version, body)
}

func (k kindFeatures) PatchFeature(ctx context.Context, actor, id string, version int, patch []byte) error {
	if err := k.check(patch); err != nil {
		return err
	}
	return k.componentFeatures.PatchFeature(ctx, actor, id, version, patch)
}

type componentFeatures struct{ c Components }

// write imports one feature under the create or replace rule and returns
// its code.
func (cf componentFeatures) write(ctx context.Context, actor string, f grids.ComponentFeature, opt grids.ComponentImport) (string, error) {
	opt.Mode, opt.Actor, opt.Reason = grids.AllOrNothing, actor, "OGC API"
	rep, err := cf.c.ImportComponents(ctx, []grids.ComponentFeature{f}, opt)
	if err != nil {
		return "", err
	}
	if len(rep.Codes) != 1 || rep.Codes[0] == "" {
		return "", errors.New("component write returned no code")
	}
	return rep.Codes[0], nil
}

// parseComponentFeature checks a component Feature against the decoding
// policy (componentBody) and reads it, its coordinates in crs.
func parseComponentFeature(body []byte, crs geo.CRS) (grids.ComponentFeature, error) {
	if len(body) > maxComponentBody {
		return grids.ComponentFeature{}, tooLarge(maxComponentBody)
	}
	if err := checkJSON(body, reflect.TypeFor[componentBody]()); err != nil {
		return grids.ComponentFeature{}, err
	}
	f, err := grids.ComponentFromGeoJSON(0, body, crs)
	if err != nil {
		return f, grids.Invalid("body", "%v", err)
	}
	return f, nil
}

// CreateFeature adds a component; its code is allocated unless the feature
// names a new one.
func (cf componentFeatures) CreateFeature(ctx context.Context, actor string, body []byte) (string, error) {
	f, err := parseComponentFeature(body, geo.WGS84)
	if err != nil {
		return "", err
	}
	return cf.write(ctx, actor, f, grids.ComponentImport{OnlyNew: true})
}

// ReplaceFeature replaces a component's attributes and geometry; its code
// never changes. Read-only properties (grid, names, version) are ignored;
// the version that counts is If-Match's.
func (cf componentFeatures) ReplaceFeature(ctx context.Context, actor, id string, version int, body []byte) error {
	if err := grids.CheckComponentCode(id); err != nil {
		return grids.Invalid("id", "%v", err)
	}
	// The feature may carry the code or not; the URL's id decides.
	var head struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return grids.Invalid("body", "not a GeoJSON Feature: %v", err)
	}
	f, err := parseComponentFeature(withCode(body, head.Properties, id), geo.WGS84)
	if err != nil {
		return err
	}
	if f.Code != id {
		return grids.Invalid("code", "the body's code %s is not the URL's %s; a component's code never changes", f.Code, id)
	}
	if f.ClassCode == "" {
		f.ClassCode = id[6:11]
	}
	_, err = cf.write(ctx, actor, f, grids.ComponentImport{OnlyExisting: true, IfVersion: version})
	return err
}

// withCode gives a feature without a code (and without a class) the URL's,
// so that the checks that read the class from the code apply.
func withCode(body []byte, props map[string]any, id string) []byte {
	if c, ok := props["code"].(string); ok && c != "" {
		return body
	}
	var f map[string]any
	if json.Unmarshal(body, &f) != nil {
		return body
	}
	if props == nil {
		props = map[string]any{}
	}
	props["code"] = id
	f["properties"] = props
	b, err := json.Marshal(f)
	if err != nil {
		return body
	}
	return b
}

// patchAttempts bounds how often a PATCH without If-Match merges again
// when another writer changed the component between its read and its write.
const patchAttempts = 3

// PatchFeature merges the patch into the stored component and replaces it.
// The replace is made against the version the merge read, so a write that
// comes in between is never overwritten with the older fields: with
// If-Match that is a 412, without it the merge is done again.
func (cf componentFeatures) PatchFeature(ctx context.Context, actor, id string, version int, patch []byte) error {
	if err := grids.CheckComponentCode(id); err != nil {
		return grids.Invalid("id", "%v", err)
	}
	var p struct {
		Type       string                     `json:"type"`
		ID         any                        `json:"id"`
		BBox       []float64                  `json:"bbox"`
		Geometry   json.RawMessage            `json:"geometry"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := decodeJSON(patch, &p); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := cf.patchOnce(ctx, actor, id, version, p.Geometry, p.Properties)
		var verr *grids.VersionError
		if version > 0 || attempt == patchAttempts || !errors.As(err, &verr) || len(verr.Current) == 0 {
			return err
		}
	}
}

// patchOnce reads the component, merges the patch and writes it against
// the version read (or the one wanted, when positive).
func (cf componentFeatures) patchOnce(ctx context.Context, actor, id string, version int, geom json.RawMessage, props map[string]json.RawMessage) error {
	c, err := cf.c.Component(ctx, id)
	if err != nil {
		return err
	}
	if version > 0 && c.Version != version {
		return grids.NewVersionError("component", id, version, c.Version)
	}
	cur, err := json.Marshal(componentFeature(c))
	if err != nil {
		return err
	}
	var f struct {
		Type       string                     `json:"type"`
		ID         any                        `json:"id"`
		Geometry   json.RawMessage            `json:"geometry"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(cur, &f); err != nil {
		return err
	}
	if len(geom) > 0 && string(geom) != "null" {
		f.Geometry = geom
	}
	for k, v := range props {
		if string(v) == "null" {
			delete(f.Properties, k)
		} else {
			f.Properties[k] = v
		}
	}
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return cf.ReplaceFeature(ctx, actor, id, c.Version, body)
}

// DeleteFeature retires a component; its code is never used again.
func (cf componentFeatures) DeleteFeature(ctx context.Context, actor, id string, version int) error {
	if err := cf.c.RetireComponent(ctx, id, version, actor, "deleted through the OGC API"); err != nil {
		return err
	}
	return nil
}
