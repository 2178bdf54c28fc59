-- What fitting did to each staged division: area as given and after
-- fitting, the ground it took and gave up (m², metric CRS $1), and the
-- largest displacement of its boundary in metres (discrete Hausdorff
-- distance with every edge densified to quarters; NULL when nothing is
-- left of it).
SELECT s.idx, s.code, s.name,
       gridd_area_m2(s.given, $1),
       CASE WHEN ST_IsEmpty(s.geom) THEN 0 ELSE gridd_area_m2(s.geom, $1) END,
       CASE WHEN ST_OrderingEquals(s.given, s.geom) THEN 0
            ELSE coalesce(gridd_area_m2(ST_Difference(s.geom, s.given), $1), 0) END,
       CASE WHEN ST_OrderingEquals(s.given, s.geom) THEN 0
            ELSE coalesce(gridd_area_m2(ST_Difference(s.given, s.geom), $1), 0) END,
       CASE WHEN ST_OrderingEquals(s.given, s.geom) THEN 0
            WHEN ST_IsEmpty(s.geom) THEN NULL
            ELSE ST_HausdorffDistance(gridd_to_metric(s.given, $1), gridd_to_metric(s.geom, $1), 0.25) END
FROM staged_divisions s
ORDER BY s.idx
