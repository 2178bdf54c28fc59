-- Buildings (楼栋) and their residents: the data of social-management grids
-- (社会治理网格), which are sized by households and population rather than
-- by area. A building is a point (its address point) or its footprint.
--
-- grid_code is the unit grid that owns the building's representative point
-- (the point itself, or ST_PointOnSurface of a footprint): gridd_grid_at,
-- the current grid with the smallest code covering it. An import refuses a
-- building whose point lies in no grid, so every stored building has one.
-- A building that changes keeps its old row (valid_to set) and gets a new
-- one; the current rows are those with valid_to NULL.
CREATE TABLE buildings (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL DEFAULT '',  -- 楼栋号 or name, as the file gives it
    households     integer NOT NULL DEFAULT 0 CHECK (households >= 0),  -- 户数
    residents      integer NOT NULL DEFAULT 0 CHECK (residents >= 0),   -- 人口
    grid_code      text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    community_code text NOT NULL CHECK (community_code = left(grid_code, 12)),
    street_code    text NOT NULL CHECK (street_code = left(grid_code, 9)),
    district_code  text NOT NULL CHECK (district_code = left(grid_code, 6)),
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
