-- Redraw one grid ($1) with a new geometry ($2, WKB, already clipped to its
-- community and snapped onto the stored vertices: taken as it is, so that
-- the grid gets exactly what its neighbours give up). Neighbours give up what
-- the grid takes; each piece the grid gives up goes to the neighbour sharing
-- the longest border with it. The overlays run on a 1e-10° precision grid
-- (snap-rounding): where the new and the old boundary nearly coincide, a
-- floating-point overlay leaves zero-width slivers and spikes; the caller
-- snaps the results back onto the stored vertices. Border lengths are
-- measured within 1e-9° of a neighbour, since the rounded boundary of a
-- piece runs beside the neighbour's edge rather than on it.
-- One row per affected neighbour: code, new geometry (empty when it would be
-- swallowed), and one row with code NULL for each released piece no neighbour
-- borders (a gap), with its area (m²) and a point in it.
WITH t AS (
    SELECT geom FROM unit_grids WHERE code = $1 AND valid_to IS NULL
), nw AS (
    SELECT ST_GeomFromWKB($2, 4326) AS g
), nb AS (
    SELECT u.code, u.geom, ST_Buffer(u.geom, 1e-9) AS buf FROM unit_grids u, t, nw
    WHERE u.community_code = left($1, 12) AND u.valid_to IS NULL AND u.code <> $1
      AND u.geom && ST_Expand(ST_Envelope(ST_Collect(t.geom, nw.g)), 1e-9)
), rel AS (
    SELECT (ST_Dump(ST_Difference(t.geom, nw.g, 1e-10))).geom AS p FROM t, nw
), gets AS (
    SELECT rel.p,
        (SELECT nb.code FROM nb ORDER BY ST_Length(ST_Intersection(nb.buf, ST_Boundary(rel.p))) DESC, nb.code LIMIT 1) AS code,
        (SELECT max(ST_Length(ST_Intersection(nb.buf, ST_Boundary(rel.p)))) FROM nb) AS len
    FROM rel WHERE ST_Area(rel.p) > 1e-14
), changed AS (
    SELECT nb.code, nb.geom,
        (SELECT ST_Union(gets.p) FROM gets WHERE gets.code = nb.code AND gets.len > 0) AS gained
    FROM nb, nw
)
SELECT ch.code,
    ST_AsBinary(ST_Union(ST_Difference(ch.geom, nw.g, 1e-10), coalesce(ch.gained, 'SRID=4326;POLYGON EMPTY'::geometry), 1e-10)) AS geom,
    0::float8 AS area_m2, NULL::text AS at
FROM changed ch, nw
WHERE ch.gained IS NOT NULL OR ST_Relate(ch.geom, nw.g, '2********')
UNION ALL
SELECT NULL, NULL, ST_Area(gets.p) * gridd_m2_per_deg2(ST_Y(ST_Centroid(gets.p))), ST_AsText(ST_PointOnSurface(gets.p), 7)
FROM gets WHERE coalesce(gets.len, 0) = 0
