-- Layer districts of a vector tile. $1 z, $2 x, $3 y, $4 extent, $5 buffer
-- (tile units), $6 buffer as a fraction of the tile, $TOL simplification in
-- metres. Feature id: the numeric code.
SELECT ST_AsMVT(t, 'districts', $4, 'geom', 'fid') FROM (
    SELECT d.code::bigint AS fid, d.code, d.name, d.parent_code,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(d.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true), ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM districts d
    WHERE d.valid_to IS NULL AND d.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
) t
