-- Where a code is: the current division, unit grid or management grid with
-- code $1, as kind, code, name and the WGS-84 bbox of its geometry.
WITH hit AS (
    SELECT level AS kind, code, name, geom FROM divisions WHERE code = $1 AND valid_to IS NULL
    UNION ALL
    SELECT 'grid', code, code, geom FROM unit_grids WHERE code = $1 AND valid_to IS NULL
    UNION ALL
    SELECT 'mgmt_grid', code, name, geom FROM mgmt_grids WHERE code = $1 AND valid_to IS NULL AND geom IS NOT NULL
)
SELECT kind, code, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM hit LIMIT 1
