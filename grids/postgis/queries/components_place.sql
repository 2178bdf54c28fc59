-- Places the features staged for a component import (staged_components):
-- the owning unit grid of each one's representative point (the point, or
-- ST_PointOnSurface of a line or polygon) by the single-owner rule of
-- gridd_grid_at (smallest code among the current grids covering it); for the
-- few outside every grid, the nearest grid within $1 metres (snapped); and
-- for lines and polygons every grid they cross.
-- $1: snap distance in metres.
CREATE TEMP TABLE staged_place ON COMMIT DROP AS
SELECT s.idx,
       o.code AS grid_code,
       false AS snapped,
       0::double precision AS snap_m,
       CASE WHEN GeometryType(s.geom) = 'POINT' THEN '{}'::text[] ELSE gridd_component_grids(s.geom) END AS grids
FROM staged_components s
LEFT JOIN LATERAL (
    SELECT g.code FROM unit_grids g
    WHERE g.valid_to IS NULL
      AND ST_Covers(g.geom, CASE WHEN GeometryType(s.geom) = 'POINT' THEN s.geom ELSE ST_PointOnSurface(s.geom) END)
    ORDER BY g.code
    LIMIT 1
) o ON true;

UPDATE staged_place p
   SET grid_code = a.grid_code, snapped = a.snapped, snap_m = a.snap_m
  FROM staged_components s, LATERAL gridd_component_grid(s.geom, $1) a
 WHERE p.grid_code IS NULL AND s.idx = p.idx AND a.grid_code IS NOT NULL;
