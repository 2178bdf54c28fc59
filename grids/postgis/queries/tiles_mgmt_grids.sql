-- Layer mgmt_grids (current responsibility grids, 责任网格, the management
-- grids drawn by hand) of a vector tile; social grids are the layer
-- social_grids (tiles_social_grids.sql). Feature id: the row id (codes are
-- not all digits).
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
SELECT ST_AsMVT(t, 'mgmt_grids', $4, 'geom', 'fid') FROM (
    SELECT m.id AS fid, m.code, m.name, m.street_code,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(m.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true),
                        ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM mgmt_grids m
    WHERE m.kind = 'responsibility' AND m.valid_to IS NULL AND m.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
    UNION ALL
    SELECT m.id AS fid, m.code, m.name, m.street_code,
           ST_AsMVTGeom(m.label_3857, ST_TileEnvelope($1, $2, $3), $4, 0, true) AS geom
    FROM mgmt_grids m
    WHERE $1 >= $LABELZ AND m.kind = 'responsibility' AND m.valid_to IS NULL AND m.geom_3857 && ST_TileEnvelope($1, $2, $3)
      AND ST_Intersects(m.label_3857, ST_TileEnvelope($1, $2, $3))
) t
