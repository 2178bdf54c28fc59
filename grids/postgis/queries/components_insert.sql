-- Inserts the new staged components, with a history row each. A create's
-- history row names the change and carries no copy of the record: the
-- record as created is the component's version 1, and the first update
-- records it as its "before".
-- $1: actor, $2: reason.
WITH ins AS (
    INSERT INTO components (code, district_code, class_code, seq, legacy_code, name, competent_dept_code, competent_dept_name,
                            owner_unit, maint_unit, status, initial_date, change_date, data_source, accuracy, note,
                            grid_code, community_code, street_code, grids, snapped, snap_m, geom, attrs)
    SELECT c.code, left(c.code, 6), substr(c.code, 7, 5), substr(c.code, 12, 6)::integer,
           s.legacy_code, s.name, s.competent_dept_code, s.competent_dept_name, s.owner_unit, s.maint_unit, s.status,
           s.initial_date, s.change_date, s.data_source, s.accuracy, s.note,
           r.grid_code, left(r.grid_code, 12), left(r.grid_code, 9), r.grids, r.snapped, r.snap_m, s.geom,
           coalesce(s.attrs, '{}')
    FROM staged_resolved r
    JOIN staged_components s USING (idx)
    LEFT JOIN staged_alloc a ON r.new_code IS NULL AND a.district_code = r.district_code AND a.class_code = r.class_code
    CROSS JOIN LATERAL (SELECT coalesce(r.new_code, r.district_code || r.class_code || lpad((a.base + r.rn)::text, 6, '0')) AS code) c
    WHERE r.match_id IS NULL
    RETURNING code
)
INSERT INTO history (actor, action, entity, code, reason)
SELECT $1, 'create', 'component', code, $2 FROM ins;
