-- Checks the divisions staged for import (temp table staged_divisions)
-- against each other and against the current hierarchy, as it will be once
-- the staged rows replace the stored rows of the same code. One row per
-- problem: the feature's index, its code, and the reason.
-- $1: tolerance in m² for "outside its parent" and "overlaps a sibling".
-- Areas are gridd_area_m2 in the metric CRS: edges are straight in
-- EPSG:4326, as the builder and the fit treat them (measured as geodesics,
-- a child nested exactly along a long edge would stick out by a few m²).
WITH merged AS (
    SELECT level, code, parent_code, geom, idx FROM staged_divisions
    UNION ALL
    SELECT d.level, d.code, d.parent_code, d.geom, NULL
    FROM divisions d
    WHERE d.valid_to IS NULL
      AND NOT EXISTS (SELECT 1 FROM staged_divisions s WHERE s.code = d.code)
),
valid AS (
    SELECT * FROM merged WHERE ST_IsValid(geom) AND NOT ST_IsEmpty(geom)
)
SELECT s.idx, s.code, 'polygon is not valid: ' || ST_IsValidReason(s.geom) AS reason
FROM staged_divisions s
WHERE NOT ST_IsValid(s.geom)
UNION ALL
SELECT s.idx, s.code, 'geometry is empty'
FROM staged_divisions s
WHERE ST_IsEmpty(s.geom)
UNION ALL
SELECT s.idx, s.code, format('code %s appears more than once in the file (also feature %s)', s.code, o.idx)
FROM staged_divisions s
JOIN staged_divisions o ON o.code = s.code AND o.idx <> s.idx
UNION ALL
SELECT s.idx, s.code,
       format('its parent %s %s does not exist (neither in the file nor stored); a %s code starts with its parent''s code',
              CASE s.level WHEN 'street' THEN 'district' ELSE 'street' END, s.parent_code, s.level)
FROM staged_divisions s
WHERE s.level <> 'district'
  AND NOT EXISTS (SELECT 1 FROM merged m WHERE m.code = s.parent_code)
UNION ALL
SELECT s.idx, s.code, format('sticks out of its parent %s by %s m²', p.code, round(d.out_m2::numeric, 1))
FROM valid s
JOIN valid p ON p.code = s.parent_code
CROSS JOIN LATERAL (SELECT gridd_area_m2(ST_Difference(s.geom, p.geom), gridd_metric_srid(p.geom)) AS out_m2) d
WHERE s.idx IS NOT NULL
  AND NOT ST_CoveredBy(s.geom, p.geom)
  AND d.out_m2 > $1
UNION ALL
SELECT p.idx, p.code, format('the stored %s %s would stick out of the new boundary by %s m²', c.level, c.code, round(d.out_m2::numeric, 1))
FROM valid p
JOIN valid c ON c.parent_code = p.code AND c.idx IS NULL
CROSS JOIN LATERAL (SELECT gridd_area_m2(ST_Difference(c.geom, p.geom), gridd_metric_srid(p.geom)) AS out_m2) d
WHERE p.idx IS NOT NULL
  AND NOT ST_CoveredBy(c.geom, p.geom)
  AND d.out_m2 > $1
UNION ALL
SELECT s.idx, s.code, format('overlaps %s %s by %s m²', o.level, o.code, round(x.overlap_m2::numeric, 1))
FROM valid s
JOIN valid o ON o.level = s.level
            AND o.parent_code IS NOT DISTINCT FROM s.parent_code
            AND o.code <> s.code
            AND ST_Intersects(s.geom, o.geom)
CROSS JOIN LATERAL (SELECT gridd_area_m2(ST_Intersection(s.geom, o.geom), gridd_metric_srid(s.geom)) AS overlap_m2) x
WHERE s.idx IS NOT NULL
  AND x.overlap_m2 > $1
ORDER BY 1, 3
