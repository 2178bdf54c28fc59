-- Inserts the new staged components (codes allocated), with a history row
-- each.
-- $1: actor, $2: reason.
WITH ins AS (
    INSERT INTO components (code, district_code, class_code, seq, legacy_code, name, dept_code, dept_name,
                            owner_unit, maint_unit, status, initial_date, change_date, data_source, accuracy, note,
                            grid_code, community_code, street_code, grids, snapped, snap_m, geom)
    SELECT r.new_code, left(r.new_code, 6), substr(r.new_code, 7, 5), substr(r.new_code, 12, 6)::integer,
           s.legacy_code, s.name, s.dept_code, s.dept_name, s.owner_unit, s.maint_unit, s.status,
           s.initial_date, s.change_date, s.data_source, s.accuracy, s.note,
           r.grid_code, left(r.grid_code, 12), left(r.grid_code, 9), r.grids, r.snapped, r.snap_m, s.geom
    FROM staged_resolved r JOIN staged_components s USING (idx)
    WHERE r.match_id IS NULL
    RETURNING *
)
INSERT INTO history (actor, action, entity, code, reason, after)
SELECT $1, 'create', 'component', i.code, $2, gridd_component_json(ROW(i.*)::components)
FROM ins i;
