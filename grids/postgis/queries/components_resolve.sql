-- Resolves each staged component feature: its class (class_code, else the
-- code's class part, else the legacy class through the crosswalk), its
-- stored match (by code; else by legacy code among current components; a
-- feature with neither matches a current component of the same class at
-- exactly the same place, so that re-importing a file without codes changes
-- nothing), its
-- district, and whether it needs the per-feature checks (suspect: a new
-- point with a known class, a grid and no code cannot fail one). One row
-- per feature in staged_resolved; new_code is the matched or given code,
-- NULL where one is to be allocated, and rn then numbers the feature among
-- those of its district and class. changed is filled for matches by
-- components_changed.sql.
CREATE TEMP TABLE staged_resolved ON COMMIT DROP AS
SELECT x.*,
       CASE WHEN x.new_code IS NULL THEN
           row_number() OVER (PARTITION BY x.new_code IS NULL, x.district_code COLLATE "C", x.class_code COLLATE "C" ORDER BY x.idx) END AS rn
FROM (
    SELECT s.idx, p.grid_code, p.snapped, p.snap_m, p.grids,
           coalesce(s.class_code, substr(s.code, 7, 5), lc.new_code) AS class_code,
           k.code IS NOT NULL AS class_known,
           lc.code AS legacy_class, lc.how AS legacy_how, lc.new_code AS legacy_target, lc.name AS legacy_name,
           coalesce(mc.id, CASE WHEN s.code IS NULL THEN ml.id END, mgc.id) AS match_id,
           coalesce(mc.code, CASE WHEN s.code IS NULL THEN ml.code END, mgc.code) AS match_code,
           mc.valid_to AS match_valid_to,
           CASE WHEN ml.id IS NOT NULL AND ml.id IS DISTINCT FROM coalesce(mc.id, ml.id) THEN ml.code END AS legacy_owner,
           coalesce(left(s.code, 6), left(CASE WHEN s.code IS NULL THEN ml.code END, 6), left(mgc.code, 6), left(p.grid_code, 6)) AS district_code,
           coalesce(s.code, CASE WHEN s.code IS NULL THEN ml.code END, mgc.code) AS new_code,
           false AS changed,
           s.code IS NOT NULL OR s.legacy_code IS NOT NULL OR p.grid_code IS NULL OR k.code IS NULL
               OR GeometryType(s.geom) <> 'POINT' AS suspect
    FROM staged_components s
    JOIN staged_place p USING (idx)
    LEFT JOIN legacy_classes lc ON lc.kind = 'component' AND lc.code = substr(s.legacy_code, 7, 4)
    LEFT JOIN classes k ON k.kind = 'component' AND k.code = coalesce(s.class_code, substr(s.code, 7, 5), lc.new_code)
    LEFT JOIN components mc ON mc.code = s.code
    LEFT JOIN components ml ON ml.legacy_code = s.legacy_code AND ml.legacy_code IS NOT NULL AND ml.valid_to IS NULL
    LEFT JOIN (
        SELECT class_code, ST_AsEWKB(geom) AS ewkb, min(id) AS id FROM components
        WHERE valid_to IS NULL GROUP BY 1, 2
    ) mg ON s.code IS NULL AND s.legacy_code IS NULL
        AND mg.class_code = s.class_code AND mg.ewkb = ST_AsEWKB(s.geom)
    LEFT JOIN components mgc ON mgc.id = mg.id
) x;
ALTER TABLE staged_resolved ADD PRIMARY KEY (idx);
ANALYZE staged_resolved (idx, match_id, new_code, suspect);

UPDATE staged_resolved r SET changed = (
           m.legacy_code IS DISTINCT FROM coalesce(s.legacy_code, m.legacy_code)
           OR m.name <> s.name OR m.competent_dept_code IS DISTINCT FROM s.competent_dept_code OR m.competent_dept_name <> s.competent_dept_name
           OR m.owner_unit <> s.owner_unit OR m.maint_unit <> s.maint_unit OR m.status <> s.status
           OR m.initial_date IS DISTINCT FROM s.initial_date OR m.change_date IS DISTINCT FROM s.change_date
           OR m.data_source <> s.data_source OR m.accuracy IS DISTINCT FROM s.accuracy OR m.note <> s.note
           OR m.grid_code IS DISTINCT FROM r.grid_code OR m.grids <> r.grids OR m.snapped <> r.snapped
           OR (s.attrs IS NOT NULL AND m.attrs <> s.attrs)
           OR NOT ST_OrderingEquals(m.geom, s.geom))
  FROM components m, staged_components s
 WHERE r.match_id IS NOT NULL AND m.id = r.match_id AND s.idx = r.idx;
