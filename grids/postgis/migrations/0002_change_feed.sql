-- The change feed: every committed statement that changes a watched table
-- sends one NOTIFY on channel gridd_changes, whatever its source (gridd,
-- another gridd instance, psql). The payload is JSON:
--   {"table": "unit_grids", "op": "UPDATE", "version": 42,
--    "bbox": [minlon, minlat, maxlon, maxlat]}   -- bbox null: everything
-- covering the geometry of every row before and after the change. NOTIFY is
-- delivered at commit, and not at all on rollback.
--
-- map_version is bumped by every such statement; readers compare it in a
-- periodic check to catch notifications lost with a connection.

CREATE SEQUENCE map_version;

CREATE FUNCTION gridd_announce(tab text, op text, ext box2d) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridd_changes', json_build_object(
        'table', tab, 'op', op, 'version', nextval('map_version'),
        'bbox', CASE WHEN ext IS NULL THEN NULL
                     ELSE json_build_array(ST_XMin(ext), ST_YMin(ext), ST_XMax(ext), ST_YMax(ext)) END
    )::text);
END $$;

CREATE FUNCTION gridd_changed_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ext box2d;
BEGIN
    SELECT ST_Extent(geom) INTO ext FROM new_rows;
    IF FOUND AND ext IS NOT NULL THEN PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, ext); END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridd_changed_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ext box2d;
BEGIN
    SELECT ST_Extent(geom) INTO ext FROM old_rows;
    IF ext IS NOT NULL THEN PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, ext); END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridd_changed_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ext box2d;
BEGIN
    SELECT ST_Extent(geom) INTO ext FROM (
        SELECT geom FROM new_rows UNION ALL SELECT geom FROM old_rows) g;
    IF ext IS NOT NULL THEN PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, ext); END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridd_changed_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, NULL);
    RETURN NULL;
END $$;

-- gridd_watch puts a table with a geom column on the change feed. Later
-- migrations call it for the tables they add.
CREATE FUNCTION gridd_watch(tab regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER gridd_changed_insert AFTER INSERT ON %s
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_insert()', tab);
    EXECUTE format('CREATE TRIGGER gridd_changed_update AFTER UPDATE ON %s
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_update()', tab);
    EXECUTE format('CREATE TRIGGER gridd_changed_delete AFTER DELETE ON %s
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_delete()', tab);
    EXECUTE format('CREATE TRIGGER gridd_changed_truncate AFTER TRUNCATE ON %s
        FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_truncate()', tab);
END $$;

SELECT gridd_watch('districts');
SELECT gridd_watch('streets');
SELECT gridd_watch('communities');
SELECT gridd_watch('unit_grids');
SELECT gridd_watch('mgmt_grids');

-- The single owner of a point: among the current unit grids that cover it
-- (boundary included), the one with the smallest code. Every point inside the
-- grids has exactly one owner, the same in SQL and in gridd's in-memory index.
CREATE FUNCTION gridd_grid_at(pt geometry) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT code FROM unit_grids
    WHERE valid_to IS NULL AND ST_Covers(geom, pt)
    ORDER BY code
    LIMIT 1
$$;
