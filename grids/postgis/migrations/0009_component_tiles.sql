-- Vector tiles of components (部件). Like the other tiled tables, components
-- keep a Web-Mercator copy of their geometry, generated from geom so it can
-- never disagree with it, with its own GiST index. The bulk import drops and
-- rebuilds this index with the others (components_geom_3857).
ALTER TABLE components ADD COLUMN geom_3857 geometry(Geometry, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
CREATE INDEX components_geom_3857 ON components USING gist (geom_3857) WHERE valid_to IS NULL;

-- Cluster cells: below zoom 16 a components tile draws one point per cell
-- instead of every component, so that no tile grows with the census. The
-- cells of zoom z are the tiles of zoom z + 4 (16 x 16 cells per tile, about
-- 16 screen pixels each); each holds how many current components have their
-- representative point (the point itself, or ST_PointOnSurface of a line or
-- polygon) in it, how many of those are of each major class (01 municipal,
-- 02 traffic, 03 sanitation, 04 landscaping, 05 other), and the sum of their
-- Web-Mercator coordinates, so the cluster is drawn at their centroid.
-- Statement triggers keep the cells in step with every writer in the writer's
-- own transaction, so a tile rendered after a commit counts what it
-- committed. Cells are kept from gridd_component_cells_minz() to 15.
CREATE TABLE component_cells (
    z  smallint NOT NULL CHECK (z BETWEEN 0 AND 15),
    cx integer NOT NULL,
    cy integer NOT NULL,
    n   integer NOT NULL, -- a delta may be negative until it meets its cell
    n01 integer NOT NULL DEFAULT 0,
    n02 integer NOT NULL DEFAULT 0,
    n03 integer NOT NULL DEFAULT 0,
    n04 integer NOT NULL DEFAULT 0,
    n05 integer NOT NULL DEFAULT 0,
    sx double precision NOT NULL DEFAULT 0,
    sy double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (z, cx, cy)
);
-- Emptied cells are deleted after each change; this index finds them.
CREATE INDEX component_cells_empty ON component_cells (z) WHERE n = 0;

CREATE FUNCTION gridd_component_cells_minz() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 10';

-- gridd_component_cells_sql is the statement that adds signed rows (w, major,
-- x, y) given by the query src to the cells of every kept zoom: w = +1 for a
-- current component written, -1 for one replaced, deleted or retired; major
-- its major class; x, y its representative point in EPSG:3857. It groups
-- the rows into the finest cells (zoom 15, i.e. tile grid 19) once and
-- derives the coarser ones from those, and writes the cells in key order so
-- that concurrent writers lock them in one order. The trigger functions run
-- it with EXECUTE, where their transition tables are visible to src.
CREATE FUNCTION gridd_component_cells_sql(src text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
SELECT format($q$
    INSERT INTO component_cells AS c (z, cx, cy, n, n01, n02, n03, n04, n05, sx, sy)
    SELECT z, cx >> (15 - z), cy >> (15 - z), sum(n), sum(n01), sum(n02), sum(n03), sum(n04), sum(n05), sum(sx), sum(sy)
    FROM (
        SELECT floor((x + 20037508.342789244) / (40075016.685578488 / 524288))::integer AS cx,
               floor((20037508.342789244 - y) / (40075016.685578488 / 524288))::integer AS cy,
               sum(w) AS n,
               coalesce(sum(w) FILTER (WHERE major = '01'), 0) AS n01, coalesce(sum(w) FILTER (WHERE major = '02'), 0) AS n02,
               coalesce(sum(w) FILTER (WHERE major = '03'), 0) AS n03, coalesce(sum(w) FILTER (WHERE major = '04'), 0) AS n04,
               coalesce(sum(w) FILTER (WHERE major = '05'), 0) AS n05,
               sum(w * x) AS sx, sum(w * y) AS sy
        FROM (%s) d(w, major, x, y)
        GROUP BY 1, 2
    ) f, generate_series(gridd_component_cells_minz(), 15) z
    GROUP BY 1, 2, 3
    HAVING sum(n) <> 0 OR sum(sx) <> 0 OR sum(sy) <> 0
        OR sum(n01) <> 0 OR sum(n02) <> 0 OR sum(n03) <> 0 OR sum(n04) <> 0 OR sum(n05) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (z, cx, cy) DO UPDATE SET
        n = c.n + excluded.n,
        n01 = c.n01 + excluded.n01, n02 = c.n02 + excluded.n02, n03 = c.n03 + excluded.n03,
        n04 = c.n04 + excluded.n04, n05 = c.n05 + excluded.n05,
        sx = c.sx + excluded.sx, sy = c.sy + excluded.sy$q$, src)
$f$;

-- gridd_component_pt is a component's representative point in EPSG:3857:
-- the point itself, or ST_PointOnSurface of a line or polygon.
CREATE FUNCTION gridd_component_pt(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN GeometryType(g) = 'POINT' THEN g ELSE ST_PointOnSurface(g) END
$$;

CREATE FUNCTION components_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE gridd_component_cells_sql($s$
        SELECT 1, left(class_code, 2), ST_X(p), ST_Y(p)
        FROM (SELECT class_code, gridd_component_pt(geom_3857) AS p FROM new_rows WHERE valid_to IS NULL) r$s$);
    RETURN NULL;
END $$;

CREATE FUNCTION components_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE gridd_component_cells_sql($s$
        SELECT -1, left(class_code, 2), ST_X(p), ST_Y(p)
        FROM (SELECT class_code, gridd_component_pt(geom_3857) AS p FROM old_rows WHERE valid_to IS NULL) r$s$);
    DELETE FROM component_cells WHERE n = 0;
    RETURN NULL;
END $$;

-- An update counts only the rows whose geometry, class or currency changed
-- (grid re-assignment and attribute edits leave the cells alone).
CREATE FUNCTION components_cells_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE gridd_component_cells_sql($s$
        SELECT v.w, left(v.class_code, 2), ST_X(v.p), ST_Y(v.p)
        FROM new_rows nw JOIN old_rows o ON o.id = nw.id
        CROSS JOIN LATERAL (VALUES
            (1, nw.class_code, nw.valid_to, gridd_component_pt(nw.geom_3857)),
            (-1, o.class_code, o.valid_to, gridd_component_pt(o.geom_3857))) v(w, class_code, valid_to, p)
        WHERE v.valid_to IS NULL
          AND (nw.class_code <> o.class_code OR nw.valid_to IS DISTINCT FROM o.valid_to
               OR NOT ST_OrderingEquals(nw.geom_3857, o.geom_3857))$s$);
    DELETE FROM component_cells WHERE n = 0;
    RETURN NULL;
END $$;

CREATE FUNCTION components_cells_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM component_cells;
    RETURN NULL;
END $$;

CREATE TRIGGER components_cells_insert AFTER INSERT ON components
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_cells_insert();
CREATE TRIGGER components_cells_update AFTER UPDATE ON components
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_cells_update();
CREATE TRIGGER components_cells_delete AFTER DELETE ON components
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION components_cells_delete();
CREATE TRIGGER components_cells_truncate AFTER TRUNCATE ON components
    FOR EACH STATEMENT EXECUTE FUNCTION components_cells_truncate();

-- The cells of the components already stored.
DO $$ BEGIN
    EXECUTE gridd_component_cells_sql($s$
        SELECT 1, left(class_code, 2), ST_X(p), ST_Y(p)
        FROM (SELECT class_code, gridd_component_pt(geom_3857) AS p FROM components WHERE valid_to IS NULL) r$s$);
END $$;
