-- Layer grids (current unit grids) of a vector tile. $1 z, $2 x, $3 y,
-- $4 extent, $5 buffer (tile units), $6 buffer as a fraction of the tile,
-- $TOL simplification in metres. Feature id: the numeric 15-digit code,
-- stable across versions of the grid's shape.
SELECT ST_AsMVT(t, 'grids', $4, 'geom', 'fid') FROM (
    SELECT g.code::bigint AS fid, g.code, g.community_code, g.street_code, g.district_code,
           g.area_m2, g.version,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(g.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true), ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM unit_grids g
    WHERE g.valid_to IS NULL AND g.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
) t
