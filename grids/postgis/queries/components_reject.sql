-- Every reason to refuse a staged component feature, one row per problem:
-- the feature's index, its code (or legacy code), and the reason.
-- $1: snap distance in metres.
--
-- Only the features resolve marked as suspect can fail a check.
WITH dup_code AS MATERIALIZED (
    SELECT code, string_agg(idx::text, ', ' ORDER BY idx) AS idxs FROM staged_components
    WHERE code IS NOT NULL GROUP BY code HAVING count(*) > 1
), dup_legacy AS MATERIALIZED (
    SELECT legacy_code, string_agg(idx::text, ', ' ORDER BY idx) AS idxs FROM staged_components
    WHERE legacy_code IS NOT NULL GROUP BY legacy_code HAVING count(*) > 1
)
SELECT s.idx, coalesce(s.code, s.legacy_code, '') AS code, x.reason
FROM staged_resolved r
JOIN staged_components s USING (idx)
CROSS JOIN LATERAL (
    SELECT 'geometry is not valid: ' || ST_IsValidReason(s.geom) AS reason
    WHERE NOT ST_IsValid(s.geom)
    UNION ALL
    SELECT format('legacy code %s: %s is not a CJ/T 214 component class', s.legacy_code, substr(s.legacy_code, 7, 4))
    WHERE s.legacy_code IS NOT NULL AND r.legacy_class IS NULL
    UNION ALL
    SELECT format('legacy class %s %s has no counterpart in GB/T 47678.5-2026: give class_code', r.legacy_class, r.legacy_name)
    WHERE r.legacy_how = 'none' AND s.class_code IS NULL AND s.code IS NULL
    UNION ALL
    SELECT format('legacy code %s is class %s %s, which maps to %s, but the class given is %s',
                  s.legacy_code, r.legacy_class, r.legacy_name, r.legacy_target, coalesce(s.class_code, substr(s.code, 7, 5)))
    WHERE r.legacy_target IS NOT NULL AND coalesce(s.class_code, substr(s.code, 7, 5)) <> r.legacy_target
    UNION ALL
    SELECT CASE WHEN EXISTS (SELECT 1 FROM classes k WHERE k.kind = 'matter' AND k.code = r.class_code)
                THEN format('class %s is a matter (event) class, not a component class', r.class_code)
                ELSE format('unknown component class %s (neither in GB/T 47678.5-2026 nor a local class)', r.class_code) END
    WHERE r.class_code IS NOT NULL AND NOT r.class_known
    UNION ALL
    SELECT coalesce((
        SELECT format('outside every unit grid: the nearest, %s, is %s m away (beyond the %s m snap distance)',
                      g.code, round(ST_Distance(g.geom::geography, s.geom::geography)), $1::float8)
        FROM unit_grids g WHERE g.valid_to IS NULL ORDER BY g.geom <-> s.geom LIMIT 1),
        'outside every unit grid: there are no unit grids yet')
    WHERE r.grid_code IS NULL
    UNION ALL
    SELECT format('code %s has district part %s but the component lies in district %s (unit grid %s)',
                  r.new_code, left(r.new_code, 6), left(r.grid_code, 6), r.grid_code)
    WHERE r.new_code IS NOT NULL AND left(r.new_code, 6) <> left(r.grid_code, 6)
    UNION ALL
    SELECT format('legacy code %s has district part %s but the component lies in district %s (unit grid %s)',
                  s.legacy_code, left(s.legacy_code, 6), left(r.grid_code, 6), r.grid_code)
    WHERE s.legacy_code IS NOT NULL AND left(s.legacy_code, 6) <> left(r.grid_code, 6)
    UNION ALL
    SELECT format('class %s disagrees with the stored component %s (class %s)', r.class_code, r.match_code, substr(r.match_code, 7, 5))
    WHERE r.match_code IS NOT NULL AND s.code IS NULL AND r.class_code <> substr(r.match_code, 7, 5)
    UNION ALL
    SELECT format('component %s was deleted on %s; deleted codes are never used again', s.code, to_char(r.match_valid_to, 'YYYY-MM-DD'))
    WHERE r.match_valid_to IS NOT NULL
    UNION ALL
    SELECT format('legacy code %s belongs to component %s', s.legacy_code, r.legacy_owner)
    WHERE r.legacy_owner IS NOT NULL
    UNION ALL
    SELECT format('code %s appears more than once in the file (features %s)', s.code, d.idxs)
    FROM dup_code d WHERE s.code IS NOT NULL AND d.code = s.code
    UNION ALL
    SELECT format('legacy code %s appears more than once in the file (features %s)', s.legacy_code, d.idxs)
    FROM dup_legacy d WHERE s.legacy_code IS NOT NULL AND d.legacy_code = s.legacy_code
) x
WHERE r.suspect
ORDER BY s.idx;
