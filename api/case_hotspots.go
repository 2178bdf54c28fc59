package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
	"gridd/tiles"
)

// Hotspots draws reports aggregated in H3 cells (grids/postgis/hotspots.go).
type Hotspots interface {
	HotspotTile(ctx context.Context, t tiles.ID, from, to time.Time) ([]byte, error)
}

// hotspotMonths is the default period: the last twelve months, this one
// included.
const hotspotMonths = 12

// GET /v1/cases/hotspots/{z}/{x}/{y}.mvt?from=2026-01&to=2026-06: the
// reports of the months from..to (both included, China time; by default the
// last twelve) counted in H3 cells of the resolution that suits the zoom, a
// vector tile with one layer, hotspots: feature id the cell, h3 (its index
// in hexadecimal), res, reports, density (reports a square kilometre).
// Reports are case data, so the tiles always need a viewer token and are
// not kept in the map's tile cache; each is one indexed query.
func (s *Server) hotspotTile(w http.ResponseWriter, r *http.Request) error {
	id, err := tiles.ParseID(chi.URLParam(r, "z"), chi.URLParam(r, "x"), chi.URLParam(r, "y"))
	if err != nil {
		return err
	}
	now := time.Now().In(grids.ChinaTime)
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, grids.ChinaTime)
	from := to.AddDate(0, 1-hotspotMonths, 0)
	q := r.URL.Query()
	month := func(name string, def time.Time) (time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		t, err := time.ParseInLocation("2006-01", v, grids.ChinaTime)
		if err != nil {
			return t, grids.Invalid(name, "%q is not a month (2026-01)", v)
		}
		return t, nil
	}
	if from, err = month("from", from); err != nil {
		return err
	}
	if to, err = month("to", to); err != nil {
		return err
	}
	if from.After(to) {
		return grids.Invalid("to", "%s is before from (%s)", q.Get("to"), q.Get("from"))
	}
	b, err := s.cfg.Hotspots.HotspotTile(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.mapbox-vector-tile")
	h.Set("Cache-Control", "private, max-age=10")
	if len(b) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	_, err = w.Write(b)
	return err
}
