-- Buildings (楼栋) and their residents: the data of social-management grids
-- (社会治理网格), which are sized by households and population rather than
-- by area. A building is a point (its address point) or its footprint.
--
-- grid_code is the unit grid that owns the building's representative point
-- (the point itself, or ST_PointOnSurface of a footprint): gridd_grid_at,
-- the current grid with the smallest code covering it. An import refuses a
-- building whose point lies in no grid; grid_code is NULL only when a later
-- change of the grids left a building outside every grid.
-- A building that changes keeps its old row (valid_to set) and gets a new
-- one; the current rows are those with valid_to NULL.
CREATE TABLE buildings (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL DEFAULT '',  -- 楼栋号 or name, as the file gives it
    households     integer NOT NULL DEFAULT 0 CHECK (households >= 0),  -- 户数
    residents      integer NOT NULL DEFAULT 0 CHECK (residents >= 0),   -- 人口
    grid_code      text CHECK (grid_code ~ '^[0-9]{15}$'),
    community_code text CHECK (community_code = left(grid_code, 12)),
    street_code    text CHECK (street_code = left(grid_code, 9)),
    district_code  text CHECK (district_code = left(grid_code, 6)),
    geom           geometry(Geometry, 4326) NOT NULL
                   CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON') AND ST_IsValid(geom)),
    attrs          jsonb,
    valid_from     timestamptz NOT NULL DEFAULT now(),
    valid_to       timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX buildings_geom ON buildings USING gist (geom) WHERE valid_to IS NULL;
-- Serves a grid and, by prefix, a community, street or district.
CREATE INDEX buildings_grid ON buildings (grid_code text_pattern_ops) WHERE valid_to IS NULL;

SELECT gridd_watch('buildings');

-- The JSON of a building as the history records it (entity 'building',
-- code: the building's id).
CREATE FUNCTION gridd_building_json(b buildings) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', b.id, 'name', nullif(b.name, ''), 'households', b.households, 'residents', b.residents,
        'grid_code', b.grid_code, 'attrs', b.attrs, 'geometry', ST_AsGeoJSON(b.geom)::jsonb))
$$;

-- Re-placement when unit grids change, whoever writes them (the builder, an
-- editor, psql), as components are re-placed (0006): statement triggers on
-- unit_grids note the extent each statement touched in a transaction-local
-- table; a deferred constraint trigger re-places the buildings in those
-- extents once, at commit, and records every move in the history (actor:
-- the gridd.actor setting, else 'system'; changeset_id: gridd.changeset).
CREATE FUNCTION buildings_note_grid_change(ext box2d, everything boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ext IS NULL AND NOT everything THEN
        RETURN;
    END IF;
    IF to_regclass('pg_temp.gridd_building_extents') IS NULL THEN
        CREATE TEMP TABLE gridd_building_extents (box geometry) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO gridd_building_extents
    VALUES (CASE WHEN everything THEN NULL ELSE ST_Expand(ST_SetSRID(ext::geometry, 4326), 0.0001) END);
    PERFORM set_config('gridd.buildings_touched', 'on', true);
END $$;

CREATE FUNCTION buildings_grids_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ext box2d;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO ext FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO ext FROM old_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT ST_Extent(geom) INTO ext FROM (
            SELECT geom FROM new_rows UNION ALL SELECT geom FROM old_rows) g;
    END IF;
    PERFORM buildings_note_grid_change(ext, TG_OP = 'TRUNCATE');
    RETURN NULL;
END $$;

CREATE TRIGGER buildings_grids_insert AFTER INSERT ON unit_grids
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION buildings_grids_changed();
CREATE TRIGGER buildings_grids_update AFTER UPDATE ON unit_grids
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION buildings_grids_changed();
CREATE TRIGGER buildings_grids_delete AFTER DELETE ON unit_grids
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION buildings_grids_changed();
CREATE TRIGGER buildings_grids_truncate AFTER TRUNCATE ON unit_grids
    FOR EACH STATEMENT EXECUTE FUNCTION buildings_grids_changed();

CREATE FUNCTION buildings_reassign() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('gridd.actor', true), ''), 'system');
    everything boolean;
BEGIN
    IF coalesce(current_setting('gridd.buildings_touched', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('gridd.buildings_touched', 'off', true);
    SELECT bool_or(box IS NULL) INTO everything FROM gridd_building_extents;
    WITH placed AS (
        SELECT b.id, b.grid_code AS old_code, gridd_grid_at(ST_PointOnSurface(b.geom)) AS new_code
          FROM buildings b
         WHERE b.valid_to IS NULL
           AND (everything OR EXISTS (SELECT 1 FROM gridd_building_extents t WHERE b.geom && t.box))
    ), moved AS (
        SELECT * FROM placed WHERE old_code IS DISTINCT FROM new_code
    ), recorded AS (
        INSERT INTO history (actor, action, entity, code, reason, before, after, changeset_id)
        SELECT who, 'update', 'building', m.id::text,
               CASE WHEN m.new_code IS NULL THEN 'unit grids changed: now outside every grid'
                    ELSE 'unit grids changed: re-assigned' END,
               jsonb_build_object('grid_code', m.old_code), jsonb_build_object('grid_code', m.new_code),
               nullif(current_setting('gridd.changeset', true), '')::bigint
          FROM moved m
    )
    UPDATE buildings b
       SET grid_code = m.new_code, community_code = left(m.new_code, 12),
           street_code = left(m.new_code, 9), district_code = left(m.new_code, 6)
      FROM moved m WHERE b.id = m.id;
    DELETE FROM gridd_building_extents;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER buildings_reassign AFTER INSERT OR UPDATE OR DELETE ON unit_grids
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION buildings_reassign();
