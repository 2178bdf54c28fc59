-- Vector tiles: every table the tiles draw keeps a Web-Mercator (EPSG:3857)
-- copy of its geometry, generated from geom so it can never disagree with it,
-- with its own GiST index, so that the tile queries filter and clip without
-- transforming a row per request. The WGS-84 geom stays the record.

ALTER TABLE districts   ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE streets     ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE communities ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE unit_grids  ADD COLUMN geom_3857 geometry(Polygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE mgmt_grids  ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;

-- Label points: one point inside each polygon, where the map writes its name
-- or code (ST_PointOnSurface is immutable, so it can be generated too).
ALTER TABLE districts   ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_PointOnSurface(ST_Transform(geom, 3857))) STORED;
ALTER TABLE streets     ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_PointOnSurface(ST_Transform(geom, 3857))) STORED;
ALTER TABLE communities ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_PointOnSurface(ST_Transform(geom, 3857))) STORED;
ALTER TABLE unit_grids  ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_PointOnSurface(ST_Transform(geom, 3857))) STORED;
ALTER TABLE mgmt_grids  ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_PointOnSurface(ST_Transform(geom, 3857))) STORED;

CREATE INDEX districts_geom_3857   ON districts   USING gist (geom_3857) WHERE valid_to IS NULL;
CREATE INDEX streets_geom_3857     ON streets     USING gist (geom_3857) WHERE valid_to IS NULL;
CREATE INDEX communities_geom_3857 ON communities USING gist (geom_3857) WHERE valid_to IS NULL;
CREATE INDEX unit_grids_geom_3857  ON unit_grids  USING gist (geom_3857) WHERE valid_to IS NULL;
CREATE INDEX mgmt_grids_geom_3857  ON mgmt_grids  USING gist (geom_3857) WHERE valid_to IS NULL;
