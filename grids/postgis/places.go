package postgis

import (
	"context"
	"fmt"

	"github.com/paulmach/orb"

	"gridd/grids"
)

// Place implements the map search: the current division, unit grid,
// management grid or component with the code (a component also by its
// legacy code), with the bounding box of its geometry.
func (s *Store) Place(ctx context.Context, code string) (grids.Place, error) {
	var p grids.Place
	var minX, minY, maxX, maxY float64
	err := s.pool.QueryRow(ctx, query("place"), code).Scan(&p.Kind, &p.Code, &p.Name, &minX, &minY, &maxX, &maxY)
	if err != nil {
		err = translate(err)
		if err == grids.ErrNotFound {
			return p, fmt.Errorf("%w: no current division, grid, management grid or component has code %q", grids.ErrNotFound, code)
		}
		return p, fmt.Errorf("find code %q: %w", code, err)
	}
	p.BBox = orb.Bound{Min: orb.Point{minX, minY}, Max: orb.Point{maxX, maxY}}
	return p, nil
}
