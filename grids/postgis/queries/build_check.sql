-- Checks the grids staged by a build (temp tables build_grids and
-- build_communities) against the guarantees, before anything is written.
-- One row per problem: community, grid (its number in the build, or NULL
-- for the whole community), the guarantee, the reason, and whether it is
-- hard (the build is refused) or a property of the data that the report
-- names (the build goes ahead).
-- $1 target m², $2 metric SRID, $3 tolerance m² for gaps and overlaps.
WITH c AS (
    SELECT d.code, d.geom, gridd_area_m2(d.geom, $2::int) AS area_m2, ST_NumGeometries(d.geom) AS parts
    FROM communities d JOIN build_communities b ON b.code = d.code
    WHERE d.valid_to IS NULL
),
sums AS (
    SELECT community_code, sum(area_m2) AS area_m2, count(*) AS n FROM build_grids GROUP BY community_code
)
SELECT community, grid, guarantee, reason, hard FROM (
    SELECT c.code AS community, NULL::integer AS grid, 'coverage' AS guarantee,
           'no grids were made' AS reason, true AS hard
    FROM c WHERE NOT EXISTS (SELECT 1 FROM build_grids b WHERE b.community_code = c.code)
    UNION ALL
    SELECT b.community_code, b.ord, 'valid single polygon', 'not valid: ' || ST_IsValidReason(b.geom), true
    FROM build_grids b WHERE NOT ST_IsValid(b.geom)
    UNION ALL
    SELECT b.community_code, b.ord, 'valid single polygon', 'is a ' || GeometryType(b.geom), true
    FROM build_grids b WHERE GeometryType(b.geom) <> 'POLYGON'
    UNION ALL
    SELECT DISTINCT ON (b.community_code) b.community_code, NULL, 'coverage',
           format('the grids'' union differs from the community by %s m² and they overlap by %s m² (tolerance %s m²)',
                  round(b.mismatch_m2::numeric, 3), round(b.overlap_m2::numeric, 3), $3::float8), true
    FROM build_grids b WHERE b.mismatch_m2 > $3::float8 OR b.overlap_m2 > $3::float8
    UNION ALL
    SELECT c.code, NULL, 'coverage',
           format('the grids'' areas sum to %s m², the community has %s m²', round(s.area_m2::numeric, 3), round(c.area_m2::numeric, 3)), true
    FROM c JOIN sums s ON s.community_code = c.code
    WHERE abs(s.area_m2 - c.area_m2) > $3::float8
    UNION ALL
    SELECT c.code, NULL, 'codes', format('%s grids do not fit in the 3-digit sequence (at most 999)', s.n), true
    FROM c JOIN sums s ON s.community_code = c.code WHERE s.n > 999
    UNION ALL
    SELECT b.community_code, b.ord, 'area',
           CASE
               WHEN c.area_m2 < 0.5 * $1::float8 THEN
                   format('the community has only %s m², less than half the target of %s m²; it is one grid',
                          round(c.area_m2::numeric), $1::float8)
               WHEN c.parts > 1 AND EXISTS (
                   SELECT 1 FROM ST_Dump(c.geom) d WHERE abs(gridd_area_m2(d.geom, $2::int) - b.area_m2) < 1) THEN
                   format('a separate part of the multipart community, of %s m², touching no other part: it is one grid',
                          round(b.area_m2::numeric))
               ELSE format('%s m² is outside %s-%s m² and has no neighbour in the community to merge with or is too small to split',
                           round(b.area_m2::numeric), 0.5 * $1::float8, 1.5 * $1::float8)
           END, false
    FROM build_grids b JOIN c ON c.code = b.community_code
    WHERE b.area_m2 < 0.5 * $1::float8 OR b.area_m2 > 1.5 * $1::float8
    UNION ALL
    SELECT b.community_code, b.ord, 'width',
           format('the largest circle inside is %s m across, under %s m: the community is that narrow here',
                  round(gridd_width_m(b.geom, $2::int)::numeric, 1), 20), false
    FROM build_grids b WHERE b.narrow
) x
ORDER BY community, grid NULLS FIRST, guarantee
