-- Grid editing: changesets, lineage, API tokens, and the partition guard.
--
-- The partition guard is a deferred constraint trigger on unit_grids (and on
-- communities): at commit, every community touched by the transaction is
-- checked once, whatever wrote to it (gridd's editor, the builder, psql):
--   * a community with current grids must itself be current (grids of a
--     community that was never imported are not checked: there is no
--     boundary to hold them to);
--   * no current grid sticks out of its community by more than 0.01 m²;
--   * no two current grids overlap by more than 0.01 m²;
--   * the grids leave no gap in the community larger than 0.01 m².
-- (Grids are valid single polygons by the column type and CHECK of 0001.)
-- A community with no current grid at all is "not built yet" and passes.
-- A violation aborts the commit with SQLSTATE GD001 and a message that names
-- the community, the grids and the size and place of the problem.
--
-- Area and width limits (hard and soft) are the editor's: they apply to the
-- grids an edit creates or changes, not to the guard, so a community smaller
-- than the smallest allowed grid can still be one grid.

-- Metres per degree at a latitude (WGS-84 ellipsoid series), for areas that
-- add up exactly: planar lon/lat areas scaled at the community's latitude.
CREATE FUNCTION gridd_m2_per_deg2(lat double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (111132.92 - 559.82 * cos(radians(2 * lat)) + 1.175 * cos(radians(4 * lat)))
         * (111412.84 * cos(radians(lat)) - 93.5 * cos(radians(3 * lat)))
$$;

-- A metric (UTM) version of a WGS-84 geometry, for widths and reported areas.
CREATE FUNCTION gridd_edit_metric(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Transform(g, (CASE WHEN ST_Y(ST_Centroid(g)) >= 0 THEN 32600 ELSE 32700 END)
        + least(60, greatest(1, floor((ST_X(ST_Centroid(g)) + 180) / 6)::int + 1)))
$$;

-- The width of a polygon in metres: the diameter of its largest inscribed circle.
CREATE FUNCTION gridd_edit_width_m(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * (ST_MaximumInscribedCircle(gridd_edit_metric(g))).radius
$$;

-- The problem with a community's partition, or NULL when it is exact.
-- Takes the community's editing lock, so that two transactions checking the
-- same community see each other's committed grids.
CREATE FUNCTION gridd_partition_problem(comm text, tol_m2 double precision DEFAULT 0.01) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c geometry;
    k double precision;
    n int;
    sum_area double precision;
    r record;
    gap geometry;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('gridd.community:' || comm, 0));
    SELECT count(*), sum(ST_Area(geom)) INTO n, sum_area
        FROM unit_grids WHERE community_code = comm AND valid_to IS NULL;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    SELECT geom INTO c FROM communities WHERE code = comm AND valid_to IS NULL;
    IF c IS NULL THEN
        -- Divisions never imported: there is no boundary to hold the grids to.
        IF NOT EXISTS (SELECT 1 FROM communities WHERE code = comm) THEN
            RETURN NULL;
        END IF;
        RETURN format('community %s: %s current grid(s) but the community is retired', comm, n);
    END IF;
    k := gridd_m2_per_deg2(ST_Y(ST_Centroid(c)));

    SELECT g.code, ST_Area(ST_Difference(g.geom, c)) * k AS a,
           ST_AsText(ST_PointOnSurface(ST_Difference(g.geom, c)), 7) AS at INTO r
        FROM unit_grids g
        WHERE g.community_code = comm AND g.valid_to IS NULL AND NOT ST_CoveredBy(g.geom, c)
          AND ST_Area(ST_Difference(g.geom, c)) * k > tol_m2
        ORDER BY g.code LIMIT 1;
    IF FOUND THEN
        RETURN format('community %s: grid %s sticks out of the community by %s m² near %s',
            comm, r.code, round(r.a::numeric, 2), r.at);
    END IF;

    SELECT a.code AS a_code, b.code AS b_code, ST_Area(ST_Intersection(a.geom, b.geom)) * k AS a,
           ST_AsText(ST_PointOnSurface(ST_Intersection(a.geom, b.geom)), 7) AS at INTO r
        FROM unit_grids a JOIN unit_grids b
          ON a.community_code = b.community_code AND a.code < b.code AND a.geom && b.geom
        WHERE a.community_code = comm AND a.valid_to IS NULL AND b.valid_to IS NULL
          AND ST_Relate(a.geom, b.geom, '2********')
          AND ST_Area(ST_Intersection(a.geom, b.geom)) * k > tol_m2
        ORDER BY a.code, b.code LIMIT 1;
    IF FOUND THEN
        RETURN format('community %s: grids %s and %s overlap by %s m² near %s',
            comm, r.a_code, r.b_code, round(r.a::numeric, 2), r.at);
    END IF;

    -- No overlap and nothing outside: the grids cover exactly their summed area.
    IF (ST_Area(c) - sum_area) * k > tol_m2 THEN
        SELECT ST_Difference(c, ST_Union(geom)) INTO gap
            FROM unit_grids WHERE community_code = comm AND valid_to IS NULL;
        RETURN format('community %s: a gap of %s m² near %s is covered by no grid',
            comm, round((ST_Area(gap) * k)::numeric, 2),
            coalesce(ST_AsText(ST_PointOnSurface(gap), 7), 'its boundary'));
    END IF;
    RETURN NULL;
END $$;

-- gridd.partition_checked holds ';code;' for every community checked since
-- the last write of the transaction, so each is checked once at commit.
CREATE FUNCTION gridd_partition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    comms text[];
    comm text;
    problem text;
    checked text;
BEGIN
    IF TG_TABLE_NAME = 'communities' THEN
        IF TG_OP <> 'DELETE' THEN comms := comms || NEW.code; END IF;
        IF TG_OP <> 'INSERT' THEN comms := comms || OLD.code; END IF;
    ELSE
        IF TG_OP <> 'DELETE' THEN comms := comms || NEW.community_code; END IF;
        IF TG_OP <> 'INSERT' THEN comms := comms || OLD.community_code; END IF;
    END IF;
    FOREACH comm IN ARRAY comms LOOP
        checked := coalesce(current_setting('gridd.partition_checked', true), '');
        CONTINUE WHEN position(';' || comm || ';' IN checked) > 0;
        problem := gridd_partition_problem(comm);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'GD001', MESSAGE = 'partition broken: ' || problem,
                HINT = 'the grids of a community must cover it exactly, without gaps or overlaps';
        END IF;
        PERFORM set_config('gridd.partition_checked', checked || ';' || comm || ';', true);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION gridd_partition_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('gridd.partition_checked', '', true);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER gridd_partition_guard_ins AFTER INSERT OR DELETE ON unit_grids
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gridd_partition_guard();
CREATE CONSTRAINT TRIGGER gridd_partition_guard_upd AFTER UPDATE ON unit_grids
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.valid_to IS DISTINCT FROM NEW.valid_to
          OR OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION gridd_partition_guard();
CREATE TRIGGER gridd_partition_touched AFTER INSERT OR UPDATE OR DELETE ON unit_grids
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_partition_touched();

CREATE CONSTRAINT TRIGGER gridd_partition_guard_ins AFTER INSERT OR DELETE ON communities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gridd_partition_guard();
CREATE CONSTRAINT TRIGGER gridd_partition_guard_upd AFTER UPDATE ON communities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.valid_to IS DISTINCT FROM NEW.valid_to)
    EXECUTE FUNCTION gridd_partition_guard();
CREATE TRIGGER gridd_partition_touched AFTER INSERT OR UPDATE OR DELETE ON communities
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_partition_touched();

-- Changesets: one row per applied edit (or revert), with what was asked and
-- what it did.
CREATE TABLE changesets (
    id          bigserial PRIMARY KEY,
    message     text NOT NULL CHECK (message <> ''),
    actor       text NOT NULL,
    created     timestamptz NOT NULL DEFAULT now(),
    operations  jsonb NOT NULL,
    result      jsonb NOT NULL DEFAULT '{}',
    reverts     bigint REFERENCES changesets (id),
    reverted_by bigint REFERENCES changesets (id)
);
CREATE INDEX history_changeset ON history (changeset_id) WHERE changeset_id IS NOT NULL;

-- Lineage: which grid versions each grid version came from, and how.
CREATE TABLE grid_lineage (
    id             bigserial PRIMARY KEY,
    parent_code    text NOT NULL,
    parent_version integer NOT NULL,
    child_code     text NOT NULL,
    child_version  integer NOT NULL,
    operation      text NOT NULL CHECK (operation IN ('reshape', 'split', 'merge', 'replace', 'redraw', 'revert')),
    changeset_id   bigint NOT NULL REFERENCES changesets (id)
);
CREATE INDEX grid_lineage_parent ON grid_lineage (parent_code);
CREATE INDEX grid_lineage_child ON grid_lineage (child_code);

-- API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name ~ '^[A-Za-z0-9._@:-]{1,64}$'),
    role       text NOT NULL CHECK (role IN ('viewer', 'reporter', 'editor', 'admin')),
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created    timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- One version of a grid as the history records it (before / after).
CREATE FUNCTION gridd_grid_json(u unit_grids) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'code', u.code, 'version', u.version, 'area_m2', round(u.area_m2::numeric, 2),
        'land_use', u.land_use, 'mgmt_level', u.mgmt_level, 'responsible', u.responsible, 'note', u.note,
        'geometry', ST_AsGeoJSON(u.geom, 9)::jsonb))
$$;
