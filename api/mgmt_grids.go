package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// MgmtGrids is what the management grid endpoints need.
type MgmtGrids interface {
	CreateMgmtGrid(ctx context.Context, code, name string, members []geo.Code, actor, reason string) (grids.MgmtGrid, error)
	MgmtGrid(ctx context.Context, code string) (grids.MgmtGrid, error)
	grids.MgmtMover
}

type mgmtGridRequest struct {
	Code   string   `json:"code"`
	Name   string   `json:"name"`
	Grids  []string `json:"grids"`
	Reason string   `json:"reason"`
}

// POST /v1/mgmt-grids {"code":"DC-01","name":"...","grids":["110101001001001",...]}:
// defines a management grid; answers 201 with it as a GeoJSON Feature.
// Needs an editor token.
func (s *Server) createMgmtGrid(w http.ResponseWriter, r *http.Request) error {
	var body mgmtGridRequest
	if err := readJSON(w, r, maxMgmtGridBody, &body); err != nil {
		return err
	}
	code, name, members, err := grids.ParseMgmtGrid(body.Code, body.Name, body.Grids)
	if err != nil {
		return err
	}
	reason := body.Reason
	if reason == "" {
		reason = "management grid defined"
	}
	m, err := s.cfg.MgmtGrids.CreateMgmtGrid(r.Context(), code, name, members, actor(r), reason)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/mgmt-grids/"+m.Code)
	return writeGeoJSON(w, http.StatusCreated, mgmtGridFeature(m))
}

// GET /v1/mgmt-grids/{code}: the current management grid as a GeoJSON
// Feature with its members.
func (s *Server) getMgmtGrid(w http.ResponseWriter, r *http.Request) error {
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	m, err := s.cfg.MgmtGrids.MgmtGrid(r.Context(), code)
	if err != nil {
		return err
	}
	return writeGeoJSON(w, http.StatusOK, mgmtGridFeature(m))
}

func mgmtGridFeature(m grids.MgmtGrid) *geojson.Feature {
	f := geojson.NewFeature(m.Geom)
	f.ID = m.Code
	members := make([]string, len(m.Members))
	for i, c := range m.Members {
		members[i] = c.String()
	}
	f.Properties = geojson.Properties{
		"code":        m.Code,
		"name":        m.Name,
		"street_code": m.StreetCode.String(),
		"grids":       members,
		"area_m2":     m.AreaM2,
		"valid_from":  m.ValidFrom.UTC().Format(time.RFC3339),
	}
	return f
}

// mgmtMoveRequest is the body of POST /v1/mgmt-grids/{code}/move.
type mgmtMoveRequest struct {
	Grid        string `json:"grid"`
	To          string `json:"to"`
	DryRun      bool   `json:"dry_run"`
	Reason      string `json:"reason"`
	FromVersion int    `json:"from_version"`
	ToVersion   int    `json:"to_version"`
}

// POST /v1/mgmt-grids/{code}/move {"grid":"110101001007001","to":"...",
// "dry_run":true}: moves a unit grid from the management grid {code} to a
// neighbouring one of the same kind (and community, for social grids), or
// with dry_run only computes the balance. The answer is the balance of both
// grids before and after (and, once saved, their new versions).
// from_version and to_version, when given, are the versions the client read
// (GET /v1/mgmt-grids?community=): another version is a 412. A dry run is a
// read; a real move needs an editor token and a reason.
func (s *Server) moveUnitGrid(w http.ResponseWriter, r *http.Request) error {
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	var body mgmtMoveRequest
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	if !body.DryRun {
		if err := needRole(r, grids.RoleEditor, "moving a unit grid between management grids (dry_run false)"); err != nil {
			return err
		}
	}
	m, reason, err := grids.ParseMgmtMove(body.Grid, code, body.To, body.FromVersion, body.ToVersion, body.DryRun, body.Reason)
	if err != nil {
		return err
	}
	res, err := s.cfg.MgmtGrids.MoveUnitGrid(r.Context(), m, actor(r), reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// GET /v1/mgmt-grids?community=CODE: the current management grids with a
// unit grid in the community (social grids first), each with its members,
// version, households and residents, and for social grids the community's
// target and the grid's load.
func (s *Server) listMgmtGrids(w http.ResponseWriter, r *http.Request) error {
	c := strings.TrimSpace(r.URL.Query().Get("community"))
	code, err := geo.ParseCodeAt(c, geo.Community)
	if err != nil {
		return grids.Invalid("community", "%v", err)
	}
	list, err := s.cfg.MgmtGrids.MgmtGridsOf(r.Context(), code)
	if err != nil {
		return err
	}
	if list == nil {
		list = []grids.MgmtGridSummary{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"community": code.String(), "mgmt_grids": list})
}
