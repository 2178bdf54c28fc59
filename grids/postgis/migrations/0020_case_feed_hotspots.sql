-- The command-centre dashboard's live parts (api/dashboard.go).
--
-- Case changes on the change feed. Every event appended to case_events (a
-- report, a step, a duplicate merged) is announced on gridd_changes as
-- table "cases", op the step, the case's point as the extent and its id,
-- with map version 0: cases are not map data, so they neither move the map
-- version nor touch the lookup index or any cached tile (no tile layer
-- reads the cases table). GET /v1/cases/feed pushes them to open
-- dashboards. FlagOverdue announces OVERDUE the same way.
--
-- Hot spots: reports aggregated in H3 cells (package gridd/h3), drawn by
-- GET /v1/cases/hotspots/{z}/{x}/{y}.mvt at the resolution that suits each
-- zoom. Each report keeps its point's cell at resolution 15 (h3, the cell
-- id as a signed 64-bit integer); report_cells counts the reports of each
-- month (China time) in each cell of resolutions 4 to 11, and h3_cells
-- holds each counted cell's outline in Web Mercator. gridd computes cells
-- and outlines (PostgreSQL has no H3 here) and writes them in the statement
-- that stores the report (grids/postgis/hotspots.go), so the counts always
-- match the reports; reports stored before this migration are counted by
-- Store.IndexReportCells, which gridd serve runs at start.

CREATE FUNCTION gridd_case_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    SELECT ST_X(geom) AS x, ST_Y(geom) AS y, state INTO c FROM cases WHERE id = NEW.case_id;
    PERFORM pg_notify('gridd_changes', json_build_object(
        'table', 'cases', 'op', upper(NEW.step), 'version', 0,
        'bbox', json_build_array(c.x, c.y, c.x, c.y), 'id', NEW.case_id, 'state', c.state)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER gridd_case_event_notify AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION gridd_case_event_notify();

ALTER TABLE reports ADD COLUMN h3 bigint;
CREATE INDEX reports_unindexed ON reports (id) WHERE h3 IS NULL;

CREATE TABLE h3_cells (
    res  smallint NOT NULL CHECK (res BETWEEN 0 AND 15),
    cell bigint NOT NULL,
    geom geometry(Polygon, 3857) NOT NULL,
    area_m2 double precision NOT NULL CHECK (area_m2 > 0), -- on the ellipsoid
    PRIMARY KEY (res, cell)
);

-- One GiST index per resolution: a tile reads one resolution, and an index
-- over all of them would return the finer cells under the tile too.
DO $$
BEGIN
    FOR r IN 4..11 LOOP
        EXECUTE format('CREATE INDEX h3_cells_geom_%s ON h3_cells USING gist (geom) WHERE res = %s', r, r);
    END LOOP;
END $$;

CREATE TABLE report_cells (
    res     smallint NOT NULL,
    cell    bigint NOT NULL,
    month   date NOT NULL CHECK (extract(day FROM month) = 1),
    reports integer NOT NULL CHECK (reports > 0),
    PRIMARY KEY (res, cell, month),
    FOREIGN KEY (res, cell) REFERENCES h3_cells (res, cell)
);

-- The dashboard's weekly series reads cases by when they were opened.
CREATE INDEX cases_created ON cases (created);
