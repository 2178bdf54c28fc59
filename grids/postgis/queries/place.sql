-- Where a code is: the current division, unit grid, management grid or
-- component with code $1 (a component also by its legacy 16-digit code), as
-- kind, code, name and the WGS-84 bbox of its geometry. A component's name is
-- its own, else its class's.
WITH hit AS (
    SELECT level AS kind, code, name, geom FROM divisions WHERE code = $1 AND valid_to IS NULL
    UNION ALL
    SELECT 'grid', code, code, geom FROM unit_grids WHERE code = $1 AND valid_to IS NULL
    UNION ALL
    SELECT 'mgmt_grid', code, name, geom FROM mgmt_grids WHERE code = $1 AND valid_to IS NULL AND geom IS NOT NULL
    UNION ALL
    SELECT 'component', c.code, coalesce(nullif(c.name, ''), k.name, c.class_code), c.geom
    FROM components c LEFT JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
    WHERE (c.code = $1 OR c.legacy_code = $1) AND c.valid_to IS NULL
)
SELECT kind, code, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM hit LIMIT 1
