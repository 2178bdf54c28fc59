package api

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// The command-centre dashboard: open cases on the gridd map, a choropleth of
// an evaluation rate by community, charts, and a clicked case's timeline.
// dashboard.html is committed next to the map page; its bundle
// (dist/dashboard.js and .css) is built by `make web` and served by the map
// page's asset route. The page reads cases, so it always asks for a token.

// mountDashboard mounts /dashboard (with the map: it needs the style and tiles).
func (s *Server) mountDashboard(r chi.Router) {
	r.Get("/dashboard", s.handle(s.dashboardPage))
}

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	page, err := mapFS.ReadFile("mapweb/dashboard.html")
	if err != nil {
		return err
	}
	if _, err := fs.Stat(mapFS, "mapweb/dist/dashboard.js"); err != nil {
		page = []byte(strings.Replace(string(page), "<body>",
			`<body><p style="position:absolute;z-index:9;left:390px;background:#fee;padding:8px">`+
				`This gridd binary was built without the dashboard bundle: run <code>make web</code> (or <code>make build</code>) and rebuild.</p>`, 1))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(page)
	return err
}
