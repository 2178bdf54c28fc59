-- Layer mgmt_grids (current management grids) of a vector tile. $1 z, $2 x,
-- $3 y, $4 extent, $5 buffer (tile units), $6 buffer as a fraction of the
-- tile, $TOL simplification in metres. Feature id: the row id (codes are not
-- all digits).
SELECT ST_AsMVT(t, 'mgmt_grids', $4, 'geom', 'fid') FROM (
    SELECT m.id AS fid, m.code, m.name, m.street_code,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(m.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true), ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM mgmt_grids m
    WHERE m.valid_to IS NULL AND m.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
) t
