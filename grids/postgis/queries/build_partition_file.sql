-- Partitions one community into unit grids and checks how exactly they
-- cover it. Cutting lines: the rows of the session's temporary table
-- build_lines (a file given for this build only).
-- $1 community code, $2 target m², $3 metric SRID.
WITH c AS (
    SELECT geom FROM communities WHERE code = $1 AND valid_to IS NULL
),
p AS MATERIALIZED (
    SELECT p.* FROM c
    CROSS JOIN LATERAL gridd_partition(c.geom,
        (SELECT ST_Collect(l.geom) FROM build_lines l WHERE l.geom && c.geom),
        $2, $3, 20) p
),
k AS (
    SELECT ck.* FROM c CROSS JOIN LATERAL gridd_cover_check((SELECT array_agg(geom) FROM p), c.geom, $3) ck
)
SELECT p.ord, ST_AsBinary(p.geom), p.area_m2, p.narrow, p.perimeter_m, p.on_lines_m,
       k.mismatch_m2, k.overlap_m2
FROM p, k
ORDER BY p.ord
