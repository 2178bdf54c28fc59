package api

// AccessRoutes lists the routes of the access table as "METHOD pattern".
func AccessRoutes() []string {
	routes := make([]string, 0, len(access))
	for r := range access {
		routes = append(routes, r)
	}
	return routes
}

// BatchLookupsRunning is how many batch lookups hold a slot of the limit.
func (s *Server) BatchLookupsRunning() int { return len(s.batches.c) }
