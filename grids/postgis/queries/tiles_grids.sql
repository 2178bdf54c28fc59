-- Layer grids (current unit grids) of a vector tile. Feature id: the numeric
-- 15-digit code, stable across versions of the grid's shape.
--
-- $1 z, $2 x, $3 y, $4 extent, $5 buffer (tile units), $6 buffer as a
-- fraction of the tile; $TOL the layer's simplification in metres, $LABELZ
-- the zoom from which the layer carries label points.
--
-- Each row is drawn as its polygon, clipped to the tile and its buffer, and
-- from $LABELZ on also as a point (its stored label point, inside the
-- polygon) when that point lies in the tile proper, so each feature has one
-- label anchor however many tiles its polygon spans. ST_AsMVT skips rows
-- whose geometry ST_AsMVTGeom clipped away.
SELECT ST_AsMVT(t, 'grids', $4, 'geom', 'fid') FROM (
    SELECT g.code::bigint AS fid, g.code, g.community_code, g.street_code, g.district_code,
           g.area_m2, g.version,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(g.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true),
                        ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM unit_grids g
    WHERE g.valid_to IS NULL AND g.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
    UNION ALL
    SELECT g.code::bigint AS fid, g.code, g.community_code, g.street_code, g.district_code,
           g.area_m2, g.version,
           ST_AsMVTGeom(g.label_3857, ST_TileEnvelope($1, $2, $3), $4, 0, true) AS geom
    FROM unit_grids g
    WHERE $1 >= $LABELZ AND g.valid_to IS NULL AND g.geom_3857 && ST_TileEnvelope($1, $2, $3)
      AND ST_Intersects(g.label_3857, ST_TileEnvelope($1, $2, $3))
) t
