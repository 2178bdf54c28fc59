-- Writes the staged features that change a stored component, with a history
-- row holding the record before and after.
-- $1: actor, $2: reason.
WITH old AS (
    SELECT c.* FROM components c JOIN staged_resolved r ON c.id = r.match_id WHERE r.changed
), upd AS (
    UPDATE components c
       SET legacy_code = coalesce(s.legacy_code, c.legacy_code), name = s.name,
           competent_dept_code = s.competent_dept_code, competent_dept_name = s.competent_dept_name, owner_unit = s.owner_unit, maint_unit = s.maint_unit,
           status = s.status, initial_date = s.initial_date, change_date = s.change_date,
           data_source = s.data_source, accuracy = s.accuracy, note = s.note, geom = s.geom,
           attrs = coalesce(s.attrs, c.attrs),
           grid_code = r.grid_code, community_code = left(r.grid_code, 12), street_code = left(r.grid_code, 9),
           grids = r.grids, snapped = r.snapped, snap_m = r.snap_m,
           version = c.version + 1, updated_at = now()
      FROM staged_resolved r JOIN staged_components s USING (idx)
     WHERE c.id = r.match_id AND r.changed
    RETURNING c.*
)
INSERT INTO history (actor, action, entity, code, reason, before, after)
SELECT $1, 'update', 'component', u.code, $2,
       gridd_component_json(ROW(o.*)::components), gridd_component_json(ROW(u.*)::components)
FROM upd u JOIN old o ON o.id = u.id;
