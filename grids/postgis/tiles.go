package postgis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"gridd/tiles"
)

// The tile source: each layer's SQL is queries/tiles_<layer>.sql, one
// ST_AsMVT over the layer's stored Web-Mercator column, with $1 z, $2 x, $3 y,
// $4 extent, $5 buffer, $6 buffer/extent, and the tokens $TOL for the layer's
// simplification tolerance (metres) and $LABELZ for the zoom its label points
// start at, which become parameters of their own. A
// multi-layer tile is one statement: the layers' MVTs concatenated (an MVT is
// a sequence of layers, so concatenation is the multi-layer tile).

// tileQuery composes the statement for the layers visible at zoom z and
// returns it with the parameter count beyond the first six.
func tileQuery(layers []*tiles.Layer, z int) (string, []*tiles.Layer) {
	var parts []string
	var used []*tiles.Layer
	for _, l := range layers {
		if !l.Visible(z) {
			continue
		}
		q := strings.TrimSpace(query("tiles_" + l.Name))
		q = strings.ReplaceAll(q, "$TOL", "$"+strconv.Itoa(7+2*len(used))+"::float8")
		q = strings.ReplaceAll(q, "$LABELZ", "$"+strconv.Itoa(8+2*len(used))+"::int")
		parts = append(parts, "COALESCE(("+q+"), ''::bytea)")
		used = append(used, l)
	}
	if len(parts) == 0 {
		return "", nil
	}
	return "SELECT " + strings.Join(parts, "\n || "), used
}

// TileArgs are the arguments of a tile statement for the layers it draws.
func tileArgs(used []*tiles.Layer, t tiles.ID, opt tiles.RenderOptions) []any {
	args := []any{t.Z, t.X, t.Y, opt.Extent, opt.Buffer, float64(opt.Buffer) / float64(opt.Extent)}
	pixel := 2 * tiles.WorldHalf / float64(int(1)<<t.Z) / 256 // metres per screen pixel
	for _, l := range used {
		args = append(args, l.Simplify*opt.SimplifyScale*pixel, l.LabelMinZoom)
	}
	return args
}

// TileSQL returns the statement and arguments that render the tile, as
// RenderTile runs them (the benchmark runs them bare as its floor). The
// statement is empty when no layer is visible at t.Z.
func TileSQL(layers []*tiles.Layer, t tiles.ID, opt tiles.RenderOptions) (string, []any) {
	q, used := tileQuery(layers, t.Z)
	if q == "" {
		return "", nil
	}
	return q, tileArgs(used, t, opt)
}

// RenderTile implements tiles.Source.
func (s *Store) RenderTile(ctx context.Context, layers []*tiles.Layer, t tiles.ID, opt tiles.RenderOptions) ([]byte, error) {
	q, args := TileSQL(layers, t, opt)
	if q == "" {
		return []byte{}, nil
	}
	var data []byte
	if err := s.readDB().QueryRow(ctx, q, args...).Scan(&data); err != nil {
		return nil, err
	}
	return data, nil
}

// DataBounds implements tiles.Source: the extent of the current rows of the
// layers' tables, or an empty bound when they hold nothing.
func (s *Store) DataBounds(ctx context.Context, layers []*tiles.Layer) (orb.Bound, error) {
	var parts []string
	seen := map[string]bool{}
	for _, l := range layers {
		if seen[l.Table] {
			continue
		}
		seen[l.Table] = true
		// Table names come from the closed layer list, never from a request.
		parts = append(parts, "SELECT ST_Extent(geom) AS e FROM "+l.Table+" WHERE valid_to IS NULL")
	}
	if len(parts) == 0 {
		return orb.Bound{}, nil
	}
	var minX, minY, maxX, maxY *float64
	err := s.readDB().QueryRow(ctx, `SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x)
		FROM (SELECT ST_Extent(e::geometry) AS x FROM (`+strings.Join(parts, " UNION ALL ")+`) u) v`).
		Scan(&minX, &minY, &maxX, &maxY)
	if err != nil {
		return orb.Bound{}, fmt.Errorf("tile bounds: %w", err)
	}
	if minX == nil {
		return orb.Bound{}, nil
	}
	return orb.Bound{Min: orb.Point{*minX, *minY}, Max: orb.Point{*maxX, *maxY}}, nil
}
