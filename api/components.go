package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// Components is what the component endpoints need.
type Components interface {
	ImportComponents(ctx context.Context, feats []grids.ComponentFeature, opt grids.ComponentImport) (grids.ComponentImportReport, error)
	Component(ctx context.Context, code string) (grids.Component, error)
	SearchComponents(ctx context.Context, q grids.ComponentQuery) (grids.ComponentPage, error)
	RetireComponent(ctx context.Context, code string, version int, actor, reason string) error
	ComponentHistory(ctx context.Context, code string) ([]grids.ComponentHistoryEntry, error)
}

// mountComponents mounts the component endpoints: reads as public as the
// configuration makes them, writes for editors.
func (s *Server) mountComponents(r chi.Router) {
	read, write := s.handle, s.handle // who may call which: the access table
	r.Method(http.MethodGet, "/v1/components", read(s.listComponents))
	r.Method(http.MethodPost, "/v1/components", write(s.createComponent))
	r.Method(http.MethodGet, "/v1/components/{code}", read(s.getComponent))
	r.Method(http.MethodHead, "/v1/components/{code}", read(s.getComponent))
	r.Method(http.MethodPut, "/v1/components/{code}", write(s.replaceComponent))
	r.Method(http.MethodDelete, "/v1/components/{code}", write(s.deleteComponent))
	r.Method(http.MethodGet, "/v1/components/{code}/history", read(s.componentHistory))
}

// componentFeature renders a component as a GeoJSON Feature.
func componentFeature(c grids.Component) *geojson.Feature {
	f := geojson.NewFeature(c.Geom)
	f.ID = c.Code
	p := geojson.Properties{
		"code": c.Code, "class_code": c.ClassCode, "class_name": c.ClassName, "district_code": c.DistrictCode,
		"grid_code": c.GridCode, "community_code": c.CommunityCode, "community_name": c.CommunityName,
		"street_code": c.StreetCode, "street_name": c.StreetName, "snapped": c.Snapped,
		"name": c.Name, "dept_code": c.DeptCode, "dept_name": c.DeptName, "owner_unit": c.OwnerUnit,
		"maint_unit": c.MaintUnit, "status": c.Status, "data_source": c.DataSource, "accuracy": c.Accuracy,
		"note": c.Note, "version": c.Version,
		"created_at": c.CreatedAt.UTC().Format(time.RFC3339), "updated_at": c.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if c.LegacyCode != "" {
		p["legacy_code"] = c.LegacyCode
	}
	if len(c.Grids) > 0 {
		p["grids"] = c.Grids
	}
	if c.Snapped {
		p["snap_m"] = float64(int(c.SnapM*10+0.5)) / 10
	}
	if c.InitialDate != nil {
		p["initial_date"] = c.InitialDate.Format(time.DateOnly)
	}
	if c.ChangeDate != nil {
		p["change_date"] = c.ChangeDate.Format(time.DateOnly)
	}
	f.Properties = p
	return f
}

// GET /v1/components?code=PREFIX&class=&status=&grid=&community=&bbox=&limit=&after=:
// one page of current components as a FeatureCollection, in code order;
// "next" is the after= of the next page.
func (s *Server) listComponents(w http.ResponseWriter, r *http.Request) error {
	q, err := componentQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.cfg.Components.SearchComponents(r.Context(), q)
	if err != nil {
		return err
	}
	fc := geojson.NewFeatureCollection()
	for _, c := range page.Components {
		fc.Append(componentFeature(c))
	}
	fc.ExtraMembers = geojson.Properties{"next": page.Next, "count": len(page.Components)}
	return writeGeoJSON(w, http.StatusOK, fc)
}

// GET /v1/components/{code}: the component with its version as a strong
// ETag (304 when If-None-Match names it).
func (s *Server) getComponent(w http.ResponseWriter, r *http.Request) error {
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	c, err := s.cfg.Components.Component(r.Context(), code)
	if err != nil {
		return err
	}
	if notModified(w, r, c.Version) {
		return nil
	}
	return writeGeoJSON(w, http.StatusOK, componentFeature(c))
}

// readComponent reads a GeoJSON Feature from the body (?crs= says its
// coordinate system, ?reason= why it is written).
func readComponent(w http.ResponseWriter, r *http.Request) (grids.ComponentFeature, error) {
	q := r.URL.Query()
	if err := checkParams(q, "crs", "reason"); err != nil {
		return grids.ComponentFeature{}, err
	}
	crs, err := geo.ParseCRS(q.Get("crs"))
	if err != nil {
		return grids.ComponentFeature{}, grids.Invalid("crs", "%v", err)
	}
	body, err := readBytes(w, r, maxComponentBody)
	if err != nil {
		return grids.ComponentFeature{}, err
	}
	return parseComponentFeature(body, crs)
}

// writeOne imports one feature and answers with the stored component.
func (s *Server) writeOne(w http.ResponseWriter, r *http.Request, f grids.ComponentFeature, opt grids.ComponentImport, status int) error {
	opt.Mode, opt.Actor = grids.AllOrNothing, actor(r)
	if opt.Reason = r.URL.Query().Get("reason"); opt.Reason == "" {
		opt.Reason = "api"
	}
	rep, err := s.cfg.Components.ImportComponents(r.Context(), []grids.ComponentFeature{f}, opt)
	if err != nil {
		return err
	}
	code := rep.Codes[0]
	if code == "" {
		return errors.New("component write returned no code")
	}
	c, err := s.cfg.Components.Component(r.Context(), code)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/components/"+code)
	w.Header().Set("ETag", etag(c.Version))
	return writeGeoJSON(w, status, componentFeature(c))
}

// POST /v1/components: create one component from a GeoJSON Feature; the code
// is allocated unless given.
func (s *Server) createComponent(w http.ResponseWriter, r *http.Request) error {
	f, err := readComponent(w, r)
	if err != nil {
		return err
	}
	return s.writeOne(w, r, f, grids.ComponentImport{OnlyNew: true}, http.StatusCreated)
}

// PUT /v1/components/{code} with If-Match: replace a component's
// attributes and geometry, if it is still at the version named.
func (s *Server) replaceComponent(w http.ResponseWriter, r *http.Request) error {
	code := chi.URLParam(r, "code")
	if err := grids.CheckComponentCode(code); err != nil {
		return grids.Invalid("code", "%v", err)
	}
	version, err := requireIfMatch(r, "PUT on a component", "/v1/components/"+code)
	if err != nil {
		return err
	}
	f, err := readComponent(w, r)
	if err != nil {
		return err
	}
	if f.Code != "" && f.Code != code {
		return grids.Invalid("code", "the body's code %s is not the URL's %s; a component's code never changes", f.Code, code)
	}
	f.Code = code
	if f.ClassCode == "" {
		f.ClassCode = code[6:11]
	}
	if err := grids.CheckComponentFeature(&f); err != nil {
		return grids.Invalid("body", "%v", err)
	}
	return s.writeOne(w, r, f, grids.ComponentImport{OnlyExisting: true, IfVersion: version}, http.StatusOK)
}

// DELETE /v1/components/{code}[?reason=]: retire a component; its code is
// never used again. With If-Match, only the version named.
func (s *Server) deleteComponent(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	reason, err := textParam(r.URL.Query(), "reason")
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "deleted through the API"
	}
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	if err := s.cfg.Components.RetireComponent(r.Context(), code, version, actor(r), reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /v1/components/{code}/history: every recorded change, oldest first.
func (s *Server) componentHistory(w http.ResponseWriter, r *http.Request) error {
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	hs, err := s.cfg.Components.ComponentHistory(r.Context(), code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": code, "history": hs})
}
