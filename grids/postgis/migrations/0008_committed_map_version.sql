-- The map version readers compare must only count committed changes, and
-- must agree with the snapshot they read the map in. The map_version
-- sequence moves as soon as a writer's statement runs, before it commits (or
-- even if it rolls back), so a reader could take a version that claims a
-- change its snapshot does not hold. Each announced change now also records
-- its version in map_changes, transactionally: max(version) seen from a
-- snapshot is the newest change that snapshot includes.

CREATE TABLE map_changes (
    version bigint PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION gridd_announce(tab text, op text, ext box2d) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE v bigint := nextval('map_version');
BEGIN
    INSERT INTO map_changes (version) VALUES (v);
    PERFORM pg_notify('gridd_changes', json_build_object(
        'table', tab, 'op', op, 'version', v,
        'bbox', CASE WHEN ext IS NULL THEN NULL
                     ELSE json_build_array(ST_XMin(ext), ST_YMin(ext), ST_XMax(ext), ST_YMax(ext)) END
    )::text);
END $$;

-- gridd_map_version is the newest committed change visible to the caller's
-- snapshot (0 before any).
CREATE FUNCTION gridd_map_version() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(version), 0) FROM map_changes
$$;
