-- Layer components (current 部件) of a vector tile.
--
-- $1 z, $2 x, $3 y, $4 extent, $5 buffer (tile units), $6 buffer as a
-- fraction of the tile; $TOL the layer's simplification in metres, $LABELZ
-- the zoom from which components are drawn one by one (16).
--
-- From $LABELZ on, every component meeting the tile and its buffer is drawn
-- as stored (lines and polygons clipped and simplified), with feature id the
-- component's row id and its code, class, class name, major class, status
-- and unit grid. Below it the tile draws the cluster cells kept by migration
-- 0009 (component_cells: 16 x 16 cells per tile) merged two by two into
-- 8 x 8 clusters per tile (64 screen pixels apart in MapLibre's 512-pixel
-- tiles, so that the bubbles leave room for the labels), one point per
-- non-empty cluster in the tile proper, at the centroid of its components,
-- with cluster = true, point_count, and the major class most of them belong
-- to; their ids are 2^50 + the key of the cluster's first cell, apart from
-- any row id. A centroid within half a tile unit of the tile's east or
-- south edge is moved one unit in: rounded onto the edge (x or y = extent)
-- MapLibre would drop it as outside the tile, and no other tile draws it.
-- The clusters' counts add up to the components whose
-- representative point lies in the tile, whatever their number, so the tile
-- stays small.
SELECT ST_AsMVT(t, 'components', $4, 'geom', 'fid') FROM (
    SELECT c.id AS fid, c.code, c.class_code, k.name AS class_name, left(c.class_code, 2) AS major_code,
           c.status, c.grid_code, NULL::boolean AS cluster, NULL::integer AS point_count,
           ST_AsMVTGeom(CASE WHEN GeometryType(c.geom_3857) = 'POINT' THEN c.geom_3857
                             ELSE ST_Simplify(ST_ClipByBox2D(c.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true) END,
                        ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM components c
    LEFT JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
    WHERE $1 >= $LABELZ AND c.valid_to IS NULL AND c.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
    UNION ALL
    SELECT 1125899906842624 + (($1::bigint * 1048576 + gx * 2) * 1048576 + gy * 2) AS fid,
           NULL, NULL, NULL,
           CASE greatest(n01, n02, n03, n04, n05) WHEN 0 THEN NULL WHEN n01 THEN '01' WHEN n02 THEN '02'
                WHEN n03 THEN '03' WHEN n04 THEN '04' ELSE '05' END,
           NULL, NULL, true, n,
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(
               least(greatest(sx / n, ST_XMin(e)), ST_XMax(e) - (ST_XMax(e) - ST_XMin(e)) / $4),
               least(greatest(sy / n, ST_YMin(e) + (ST_YMax(e) - ST_YMin(e)) / $4), ST_YMax(e))), 3857), e, $4, 0, true)
    FROM (SELECT ST_TileEnvelope($1, $2, $3) AS e) env, (
        SELECT cx / 2 AS gx, cy / 2 AS gy, sum(n)::integer AS n, sum(n01) AS n01, sum(n02) AS n02, sum(n03) AS n03,
               sum(n04) AS n04, sum(n05) AS n05, sum(sx) AS sx, sum(sy) AS sy
        FROM component_cells
        WHERE $1 < $LABELZ AND z = $1 AND n > 0
          AND cx BETWEEN $2 * 16 AND $2 * 16 + 15 AND cy BETWEEN $3 * 16 AND $3 * 16 + 15
        GROUP BY cx / 2, cy / 2
    ) g
) t
