-- Places the features staged for a component import (staged_components):
-- the owning unit grid of each one's representative point pt (the point, or
-- ST_PointOnSurface of a line or polygon) by the single-owner rule of
-- gridd_grid_at (smallest code among the current grids covering it); for the
-- few outside every grid, the nearest grid within $1 metres (snapped); and
-- for lines and polygons every grid they cross.
--
-- Set-based: each grid is registered in the cells of a coarse lon/lat raster
-- its bounding box touches (cell side about 0.7 of a typical grid's), each
-- point joins the grids of its cell by a hash join, and ST_Covers decides.
-- A GiST probe per point costs far more than the join, and a probe per grid
-- into the staged points would need an index on them. Codes are digits, so
-- they compare bytewise (COLLATE "C"): the same order as any collation, and
-- many times faster than the database's locale.
CREATE TEMP TABLE staged_cells ON COMMIT DROP AS
WITH ext AS (
    SELECT ST_SetSRID(ST_Extent(pt)::geometry, 4326) AS box FROM staged_components
), g AS (
    SELECT u.code, u.geom FROM unit_grids u, ext
    WHERE u.valid_to IS NULL AND u.geom && ext.box
), side AS (
    SELECT greatest(coalesce(0.7 * sqrt(avg(ST_Area(Box2D(geom)::geometry))), 0.001), 1e-5) AS d FROM g
)
SELECT g.code, g.geom, side.d, cx, cy
FROM g, side,
     LATERAL generate_series(floor(ST_XMin(g.geom) / side.d)::integer, floor(ST_XMax(g.geom) / side.d)::integer) cx,
     LATERAL generate_series(floor(ST_YMin(g.geom) / side.d)::integer, floor(ST_YMax(g.geom) / side.d)::integer) cy;
ANALYZE staged_cells;

CREATE TEMP TABLE staged_place ON COMMIT DROP AS
WITH d AS (
    SELECT coalesce(min(d), 1) AS d FROM (SELECT d FROM staged_cells LIMIT 1) x
), hit AS (
    SELECT s.idx, min(c.code COLLATE "C") AS grid_code
    FROM staged_components s CROSS JOIN d
    JOIN staged_cells c ON c.cx = floor(ST_X(s.pt) / d.d)::integer AND c.cy = floor(ST_Y(s.pt) / d.d)::integer
    WHERE ST_Covers(c.geom, s.pt)
    GROUP BY s.idx
)
SELECT s.idx, hit.grid_code, false AS snapped, 0::double precision AS snap_m,
       CASE WHEN GeometryType(s.geom) = 'POINT' THEN '{}'::text[] ELSE gridd_component_grids(s.geom) END AS grids
FROM staged_components s
LEFT JOIN hit USING (idx);

UPDATE staged_place p
   SET grid_code = a.grid_code, snapped = a.snapped, snap_m = a.snap_m
  FROM staged_components s, LATERAL gridd_component_grid(s.geom, $1) a
 WHERE p.grid_code IS NULL AND s.idx = p.idx AND a.grid_code IS NOT NULL;
