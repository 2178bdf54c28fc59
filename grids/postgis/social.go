package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// socialUnits lists the current unit grids under an area with the
// households and residents of their current buildings (zeros for a grid
// without any), by code.
const socialUnits = `
SELECT u.community_code, u.code, coalesce(b.households, 0)::bigint, coalesce(b.residents, 0)::bigint
FROM unit_grids u
LEFT JOIN (SELECT grid_code, sum(households) AS households, sum(residents) AS residents
           FROM buildings WHERE valid_to IS NULL AND grid_code LIKE $1 || '%'
           GROUP BY 1) b ON b.grid_code = u.code
WHERE u.valid_to IS NULL AND u.code LIKE $1 || '%'
ORDER BY u.code`

// socialEdges lists the pairs of current unit grids of one community whose
// boundaries share a line longer than $2 metres, with the shared length in
// metres (in the community's CGCS2000 Gauss-Krüger zone, gridd_metric_srid:
// within a part in a thousand of the spheroid's), and whether at least half
// of that length lies within $3 metres of a current stored line (a road,
// river or railway the grids were cut along). The GiST indexes on current
// grids and lines find the candidates (lines within a box of $3 metres
// around the shared boundary, $3 / 60,000 degrees: enough up to latitude
// 57°), clipped to that box before they are projected and buffered (a road
// is kilometres long, the boundary tens of metres); touching at a corner
// gives only points and no length. Both steps are materialized: inlined,
// the planner computed each intersection three times (the empty test, the
// length test and the output), which made the statement four times slower.
const socialEdges = `
WITH shared AS MATERIALIZED (
	SELECT a.code AS a_code, b.code AS b_code,
	       ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2) AS geom
	FROM unit_grids a
	JOIN unit_grids b ON a.geom && b.geom AND a.code < b.code
	     AND b.valid_to IS NULL AND b.community_code = a.community_code
	WHERE a.valid_to IS NULL AND a.code LIKE $1 || '%'
), measured AS MATERIALIZED (
	SELECT a_code, b_code, geom, mgeom, ST_Length(mgeom) AS length_m
	FROM (SELECT a_code, b_code, geom, gridd_to_metric(geom, gridd_metric_srid(geom)) AS mgeom
	      FROM shared WHERE NOT ST_IsEmpty(geom)) s
)
SELECT m.a_code, m.b_code, m.length_m,
       coalesce((SELECT ST_Length(ST_Intersection(m.mgeom, ST_Buffer(ST_Collect(gridd_to_metric(ST_ClipByBox2D(l.geom, ST_Expand(m.geom, $3 / 60000.0)), ST_SRID(m.mgeom))), $3)))
                 FROM lines l
                 WHERE l.valid_to IS NULL AND l.geom && ST_Expand(m.geom, $3 / 60000.0)), 0) >= 0.5 * m.length_m
FROM measured m
WHERE m.length_m > $2
ORDER BY m.a_code, m.b_code`

// SocialRoadM is how near a stored line a shared boundary runs to count as
// along it, in metres.
const SocialRoadM = 10

// SocialMinSharedM is the shortest shared boundary that makes two unit
// grids neighbours for social grids: shorter ones are slivers or corners.
const SocialMinSharedM = 0.5

// SocialInputs reads what partitioning social grids needs, per community
// under area (a district, street or community code): its current unit
// grids with the households and residents of their current buildings, and
// which grids share a boundary, with the shared length and whether it runs
// along a stored line (SocialRoadM). Communities come
// in code order; a community without unit grids is not listed.
func (s *Store) SocialInputs(ctx context.Context, area string) ([]grids.SocialCommunity, error) {
	if n := len(area); (n != 6 && n != 9 && n != 12) || !digitsOnly(area) {
		return nil, grids.Invalid("area", "%q is not a district, street or community code", area)
	}
	var out []grids.SocialCommunity
	index := map[string]int{}
	rows, err := s.pool.Query(ctx, socialUnits, area)
	if err != nil {
		return nil, fmt.Errorf("social grid inputs of %s: %w", area, err)
	}
	var community string
	var u grids.SocialUnit
	_, err = pgx.ForEachRow(rows, []any{&community, &u.Code, &u.Households, &u.Residents}, func() error {
		i, ok := index[community]
		if !ok {
			i = len(out)
			index[community] = i
			out = append(out, grids.SocialCommunity{Code: community})
		}
		out[i].Units = append(out[i].Units, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("social grid inputs of %s: %w", area, err)
	}
	rows, err = s.pool.Query(ctx, socialEdges, area, SocialMinSharedM, SocialRoadM)
	if err != nil {
		return nil, fmt.Errorf("social grid adjacency of %s: %w", area, err)
	}
	var e grids.SocialEdge
	_, err = pgx.ForEachRow(rows, []any{&e.A, &e.B, &e.LengthM, &e.Road}, func() error {
		i, ok := index[e.A[:12]]
		if !ok {
			return fmt.Errorf("unit grid %s has a neighbour but was not read", e.A)
		}
		out[i].Edges = append(out[i].Edges, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("social grid adjacency of %s: %w", area, err)
	}
	return out, nil
}
