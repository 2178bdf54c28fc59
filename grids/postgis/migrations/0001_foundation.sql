-- gridd foundation: the administrative hierarchy, unit grids, management
-- grids, departments and the history of every change.
--
-- Codes are text (leading zeros matter) with CHECKs on their shape and on
-- their parent prefix. Geometry is EPSG:4326. Every boundary record carries
-- valid_from / valid_to: a change retires the old row and inserts a new one,
-- so at most one row per code is current (valid_to IS NULL).

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE districts (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]{6}$'),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text,
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX districts_current_code ON districts (code) WHERE valid_to IS NULL;
CREATE INDEX districts_geom ON districts USING gist (geom);

CREATE TABLE streets (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]{9}$'),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text NOT NULL CHECK (parent_code = left(code, 6)),
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX streets_current_code ON streets (code) WHERE valid_to IS NULL;
CREATE INDEX streets_geom ON streets USING gist (geom);
CREATE INDEX streets_parent ON streets (parent_code) WHERE valid_to IS NULL;

CREATE TABLE communities (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]{12}$'),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text NOT NULL CHECK (parent_code = left(code, 9)),
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX communities_current_code ON communities (code) WHERE valid_to IS NULL;
CREATE INDEX communities_geom ON communities USING gist (geom);
CREATE INDEX communities_parent ON communities (parent_code) WHERE valid_to IS NULL;

-- All three division levels as one relation, for code look-ups.
CREATE VIEW divisions AS
    SELECT 'district'::text AS level, id, code, name, parent_code, geom, valid_from, valid_to FROM districts
    UNION ALL
    SELECT 'street', id, code, name, parent_code, geom, valid_from, valid_to FROM streets
    UNION ALL
    SELECT 'community', id, code, name, parent_code, geom, valid_from, valid_to FROM communities;

-- Unit grids (单元网格): 15-digit code = community code + 3-digit sequence.
-- A grid whose shape changes keeps its code in a new row (version + 1); a
-- retired code is never used again.
CREATE TABLE unit_grids (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL CHECK (code ~ '^[0-9]{12}(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})$'),
    community_code  text NOT NULL CHECK (community_code = left(code, 12)),
    street_code     text NOT NULL CHECK (street_code = left(code, 9)),
    district_code   text NOT NULL CHECK (district_code = left(code, 6)),
    geom            geometry(Polygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2         double precision NOT NULL CHECK (area_m2 > 0),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    land_use        text,
    mgmt_level      text,
    responsible     text,
    note            text,
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX unit_grids_current_code ON unit_grids (code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX unit_grids_code_version ON unit_grids (code, version);
CREATE INDEX unit_grids_geom ON unit_grids USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX unit_grids_community ON unit_grids (community_code) WHERE valid_to IS NULL;

-- Management (responsibility) grids: named unions of whole unit grids of one
-- street. Their geometry is derived from the members.
CREATE TABLE mgmt_grids (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9A-Za-z_-]{1,32}$'),
    name        text NOT NULL CHECK (name <> ''),
    street_code text NOT NULL CHECK (street_code ~ '^[0-9]{9}$'),
    geom        geometry(MultiPolygon, 4326),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX mgmt_grids_current_code ON mgmt_grids (code) WHERE valid_to IS NULL;
CREATE INDEX mgmt_grids_geom ON mgmt_grids USING gist (geom) WHERE valid_to IS NULL;

CREATE TABLE mgmt_grid_members (
    mgmt_grid_id bigint NOT NULL REFERENCES mgmt_grids (id) ON DELETE CASCADE,
    grid_code    text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    PRIMARY KEY (mgmt_grid_id, grid_code)
);
CREATE INDEX mgmt_grid_members_grid ON mgmt_grid_members (grid_code);

-- Departments: the competent and responsible bodies cases are routed to,
-- keyed by the 18-character unified social credit code. A department with a
-- territory_code is the territorial office (属地) of that division.
CREATE TABLE departments (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL CHECK (code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    name           text NOT NULL CHECK (name <> ''),
    contact        text NOT NULL DEFAULT '',
    territory_code text CHECK (territory_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    valid_from     timestamptz NOT NULL DEFAULT now(),
    valid_to       timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX departments_current_code ON departments (code) WHERE valid_to IS NULL;

-- History: every change to grids, divisions, components, rules and
-- departments, with who, when, why, and the record before and after.
CREATE TABLE history (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL CHECK (action IN ('create', 'update', 'retire', 'revert')),
    entity       text NOT NULL,
    code         text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    before       jsonb,
    after        jsonb,
    changeset_id bigint
);
CREATE INDEX history_entity_code ON history (entity, code, at);
