-- The durable change log. map_changes (migration 0008) recorded only the
-- version of each announced change; it now keeps the whole change (table,
-- operation, extent) and the transaction that made it, so that an instance
-- can read every change it has not applied from the table itself instead of
-- relying on NOTIFY, which a hot standby never delivers and a lost
-- connection loses.
--
-- Readers follow the log by snapshot, not by version: versions are taken
-- from a sequence before commit, so a change with a smaller version can
-- commit after one with a larger. A reader keeps the snapshot of its last
-- read (pg_current_snapshot(), the statement's own) and next reads the rows
-- that snapshot did not see:
--   xid >= pg_snapshot_xmin(cursor) AND NOT pg_visible_in_snapshot(xid, cursor)
-- which is every change committed since, exactly once, in any commit order,
-- on the primary or on a streaming standby alike (a standby's snapshot holds
-- what it has replayed).
--
-- Rows older than the retention are pruned (gridd_prune_changes, run by
-- gridd serve on the primary); map_changes_pruned keeps the newest pruned
-- transaction, so that a reader whose cursor predates it knows it may have
-- missed changes and reloads everything. The newest row is never pruned:
-- gridd_map_version() reads it.

ALTER TABLE map_changes
    ADD COLUMN tab  text,
    ADD COLUMN op   text,
    ADD COLUMN bbox double precision[] CHECK (bbox IS NULL OR cardinality(bbox) = 4), -- NULL: everything
    ADD COLUMN xid  xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX map_changes_xid ON map_changes (xid);
CREATE INDEX map_changes_at ON map_changes (at);

CREATE TABLE map_changes_pruned (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    xid     xid8 NOT NULL,
    version bigint NOT NULL,
    at      timestamptz NOT NULL
);
INSERT INTO map_changes_pruned VALUES (true, '0', 0, now());

CREATE OR REPLACE FUNCTION gridd_announce(tab text, op text, ext box2d) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v bigint := nextval('map_version');
    b double precision[] := CASE WHEN ext IS NULL THEN NULL
        ELSE ARRAY[ST_XMin(ext), ST_YMin(ext), ST_XMax(ext), ST_YMax(ext)] END;
BEGIN
    INSERT INTO map_changes (version, tab, op, bbox) VALUES (v, tab, op, b);
    PERFORM pg_notify('gridd_changes', json_build_object(
        'table', tab, 'op', op, 'version', v, 'bbox', b)::text);
END $$;

-- gridd_prune_changes deletes the changes older than keep, except the
-- newest, and returns how many it deleted.
CREATE FUNCTION gridd_prune_changes(keep interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    x xid8;
    v bigint;
BEGIN
    WITH d AS (
        DELETE FROM map_changes
        WHERE at < now() - keep AND version < (SELECT max(version) FROM map_changes)
        RETURNING xid, version)
    SELECT count(*), max(xid), max(version) INTO n, x, v FROM d;
    IF n > 0 THEN
        UPDATE map_changes_pruned p SET xid = greatest(p.xid, x), version = greatest(p.version, v), at = now();
    END IF;
    RETURN n;
END $$;
