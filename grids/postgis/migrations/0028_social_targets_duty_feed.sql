-- The target a community's social grids were built to (households and,
-- when set, residents per grid), so that the map and the editor can show
-- each grid's load against it. One row per community; the builder writes
-- it with the grids, and every change is in the history (entity
-- 'social_target', code: the community).
CREATE TABLE social_targets (
    community_code text PRIMARY KEY CHECK (community_code ~ '^[0-9]{12}$'),
    households     integer NOT NULL CHECK (households >= 0),
    residents      integer NOT NULL DEFAULT 0 CHECK (residents >= 0),
    set_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (households > 0 OR residents > 0)
);

-- Grid workers and their duties go on the change log with no extent:
-- serving instances keep who is on duty in memory (for lookups and routing)
-- and reload it when the log says it changed. The target goes there too:
-- the social-grid tiles draw each grid's load against it. (An announcement
-- with no extent is what gridd_changed_truncate makes.)
CREATE TRIGGER gridd_changed AFTER INSERT OR UPDATE OR DELETE ON grid_workers
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_truncate();
CREATE TRIGGER gridd_changed AFTER INSERT OR UPDATE OR DELETE ON grid_worker_duties
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_truncate();
CREATE TRIGGER gridd_changed AFTER INSERT OR UPDATE OR DELETE ON social_targets
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_changed_truncate();
