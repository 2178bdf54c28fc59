-- The quality report of the grids staged by a build (temp table
-- build_grids): one row for the whole built area ($1, its code length as
-- the group) and one per sub-area whose code has $2 digits.
-- $3 target m². Areas are those the builder measured (ST_Area in the metric
-- CRS). Compactness is the mean Polsby-Popper score 4πA/P².
SELECT g.code, coalesce(d.name, ''), g.n, g.mean, g.cv, g.min, g.max, g.within, g.pp, g.on_lines
FROM (
    SELECT CASE WHEN GROUPING(left(community_code, $2::int)) = 1 THEN $1::text ELSE left(community_code, $2::int) END AS code,
           GROUPING(left(community_code, $2::int)) AS total,
           count(*)::int AS n,
           avg(area_m2) AS mean,
           coalesce(stddev_pop(area_m2) / nullif(avg(area_m2), 0), 0) AS cv,
           min(area_m2) AS min, max(area_m2) AS max,
           avg((area_m2 BETWEEN 0.7 * $3::float8 AND 1.3 * $3::float8)::int) AS within,
           avg(4 * pi() * area_m2 / (perimeter_m * perimeter_m)) AS pp,
           coalesce(sum(on_lines_m) / nullif(sum(perimeter_m), 0), 0) AS on_lines
    FROM build_grids
    GROUP BY GROUPING SETS ((), (left(community_code, $2::int)))
) g
LEFT JOIN divisions d ON d.code = g.code AND d.valid_to IS NULL
ORDER BY g.total DESC, g.code
