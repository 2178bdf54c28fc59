package api

import (
	"context"
	"net/http"
	"time"

	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// MgmtGrids is what the management grid endpoints need.
type MgmtGrids interface {
	CreateMgmtGrid(ctx context.Context, code, name string, members []geo.Code, actor, reason string) (grids.MgmtGrid, error)
	MgmtGrid(ctx context.Context, code string) (grids.MgmtGrid, error)
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
