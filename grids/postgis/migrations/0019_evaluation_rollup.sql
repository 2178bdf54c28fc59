-- The evaluation's daily rollup (grids/postgis/evaluation.go). Evaluating
-- a district's month from the log read every step of the month (half a
-- million over a million cases a year) and sorted them for the medians:
-- 1.3 s. The rollup keeps, per China-time day and group, what the measures
-- count, so that a period of whole days reads a few rows per day and
-- group instead of every step. It is kept up by the trigger that keeps
-- case_evaluation, in the step's own transaction, and can be rebuilt from
-- the log (gridd_evaluation_rebuild(), which also backfills it here).
--
-- Groups (lvl, grp): lvl 6, 9 and 12 are the district, street and
-- community of the grid a case counts under (case_evaluation.area_code, its
-- first 6, 9 or 12 digits); lvl 0 is a department within a district, grp =
-- district || ':' || department code ('' for none). Every step or case
-- counts once at each of the four levels.
--
--   case_eval_flow    steps taken per day: n, those after their deadline
--                     (late), and for 'rate' steps those satisfied or
--                     basically satisfied (satisfied).
--   case_eval_hours   stage durations per day and stage (file, dispatch,
--                     handle, verify, close) as a histogram, one row a
--                     day: counts[i] durations in bucket buckets[i]
--                     (unordered); bucket b > 0 holds durations of
--                     [1.01^(b-1), 1.01^b) seconds, b < 0 their negatives,
--                     b = 0 those under a second either way. One row per
--                     day and stage rather than per bucket: a district's
--                     day has a few hundred buckets of each stage.
--   case_eval_cohort  due cases per day of their first handling deadline
--                     (day) and per day the measure was reached (at_day):
--                     due and handled_on_time at the due day, handled,
--                     reworked, closed and closed_on_time at the day of
--                     the first handle, first rework and close.
--
-- area_code, area_version: the grid version a case counts under. It
-- starts as the grid version it was reported in (the report's grid_code
-- and grid_version; cases.grid_code keeps the code as it was) and follows
-- the grid's lineage when that version is retired
-- (gridd_evaluation_follow_lineage, at the commit of the edit or build
-- that retires it): to the current grid that descends from it and covers
-- the case's point.

ALTER TABLE case_evaluation ADD COLUMN area_code text, ADD COLUMN area_version integer;
UPDATE case_evaluation v SET area_code = v.grid_code, area_version = r.grid_version
FROM cases c JOIN reports r ON r.id = c.report_id WHERE c.id = v.case_id;
ALTER TABLE case_evaluation ALTER COLUMN area_code SET NOT NULL,
    ADD COLUMN moved boolean GENERATED ALWAYS AS (area_code <> grid_code) STORED; -- a column has statistics: few are
CREATE INDEX case_evaluation_moved ON case_evaluation (case_id) INCLUDE (area_code, grid_code) WHERE moved;
CREATE INDEX case_evaluation_area ON case_evaluation (area_code, area_version);

CREATE TABLE case_eval_flow (
    lvl       smallint NOT NULL,
    day       date NOT NULL,
    grp       text NOT NULL,
    step      text NOT NULL,
    n         integer NOT NULL,
    late      integer NOT NULL,
    satisfied integer NOT NULL,
    PRIMARY KEY (lvl, day, grp, step)
);
CREATE TABLE case_eval_hours (
    lvl     smallint NOT NULL,
    day     date NOT NULL,
    grp     text NOT NULL,
    stage   text NOT NULL,
    buckets integer[] NOT NULL,
    counts  integer[] NOT NULL,
    PRIMARY KEY (lvl, day, grp, stage)
);
CREATE TABLE case_eval_cohort (
    lvl     smallint NOT NULL,
    day     date NOT NULL,
    grp     text NOT NULL,
    measure text NOT NULL,
    at_day  date NOT NULL,
    n       integer NOT NULL,
    PRIMARY KEY (lvl, day, grp, measure, at_day)
);

-- The day of a time: its date in China.
CREATE FUNCTION gridd_eval_day(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (t AT TIME ZONE 'Asia/Shanghai')::date $$;

-- The histogram bucket of a duration in seconds.
CREATE FUNCTION gridd_eval_bucket(s double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN abs(s) < 1 THEN 0
                ELSE sign(s)::integer * (floor(ln(abs(s)) / ln(1.01))::integer + 1) END $$;

-- The four groups of a case: its district, street and community (by the
-- grid it counts under) and its department within its district.
CREATE FUNCTION gridd_eval_groups(area text, dep text) RETURNS TABLE (lvl smallint, grp text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    VALUES (6::smallint, left(area, 6)), (9::smallint, left(area, 9)), (12::smallint, left(area, 12)),
        (0::smallint, left(area, 6) || ':' || coalesce(dep, ''))
$$;

-- What one step adds to the flow and hours (steps other than these add
-- nothing). dep: the department the step counts for.
CREATE FUNCTION gridd_eval_flow_rows(e case_events, area text, dep text)
    RETURNS TABLE (lvl smallint, day date, grp text, step text, n integer, late integer, satisfied integer)
    LANGUAGE sql STABLE
    AS $$
    SELECT g.lvl, gridd_eval_day(e.at), g.grp, e.step, 1, CASE WHEN e.at > e.deadline THEN 1 ELSE 0 END,
            CASE WHEN e.step = 'rate' AND e.data->>'rating' IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END
        FROM gridd_eval_groups(area, dep) g
        WHERE e.step IN ('report', 'file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'rate')
$$;
CREATE FUNCTION gridd_eval_hours_rows(e case_events, area text, dep text)
    RETURNS TABLE (lvl smallint, day date, grp text, stage text, bucket integer, n integer)
    LANGUAGE sql STABLE
    AS $$
    SELECT g.lvl, gridd_eval_day(e.at), g.grp,
            CASE e.step WHEN 'reject' THEN 'file' WHEN 'rework' THEN 'verify' ELSE e.step END,
            gridd_eval_bucket(date_part('epoch', e.at - e.stage_started)), 1
        FROM gridd_eval_groups(area, dep) g
        WHERE e.step IN ('file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close') AND e.stage_started IS NOT NULL
$$;

-- What a case's summary adds to the cohort: nothing until its first
-- handling has a deadline.
CREATE FUNCTION gridd_eval_cohort_rows(v case_evaluation)
    RETURNS TABLE (lvl smallint, day date, grp text, measure text, at_day date, n integer)
    LANGUAGE sql STABLE
    AS $$
    SELECT g.lvl, gridd_eval_day(v.first_handle_deadline), g.grp, m.measure, m.at_day, 1
        FROM gridd_eval_groups(v.area_code, v.first_handle_department) g,
        LATERAL (VALUES
            ('due', gridd_eval_day(v.first_handle_deadline), true),
            ('handled', gridd_eval_day(v.first_handle_at), v.first_handle_at IS NOT NULL),
            ('handled_on_time', gridd_eval_day(v.first_handle_deadline), v.first_handle_at <= v.first_handle_deadline),
            ('reworked', gridd_eval_day(v.first_rework_at), v.first_rework_at IS NOT NULL),
            ('closed', gridd_eval_day(v.closed_at), v.closed_at IS NOT NULL),
            ('closed_on_time', gridd_eval_day(v.closed_at),
                v.closed_at IS NOT NULL AND (v.first_late_at IS NULL OR v.first_late_at > v.closed_at))
        ) m(measure, at_day, taken)
        WHERE v.first_handle_deadline IS NOT NULL AND coalesce(m.taken, false)
$$;

-- Adding rows (sign -1 takes them away).
CREATE FUNCTION gridd_eval_add_cohort(v case_evaluation, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_eval_cohort AS r (lvl, day, grp, measure, at_day, n)
    SELECT lvl, day, grp, measure, at_day, sign * n FROM gridd_eval_cohort_rows(v)
    ON CONFLICT (lvl, day, grp, measure, at_day) DO UPDATE SET n = r.n + EXCLUDED.n;
$$;
CREATE FUNCTION gridd_eval_add_event(e case_events, area text, dep text, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_eval_flow AS r (lvl, day, grp, step, n, late, satisfied)
    SELECT lvl, day, grp, step, sign * n, sign * late, sign * satisfied FROM gridd_eval_flow_rows(e, area, dep)
    ON CONFLICT (lvl, day, grp, step) DO UPDATE
        SET n = r.n + EXCLUDED.n, late = r.late + EXCLUDED.late, satisfied = r.satisfied + EXCLUDED.satisfied;
    INSERT INTO case_eval_hours AS r (lvl, day, grp, stage, buckets, counts)
    SELECT lvl, day, grp, stage, ARRAY[bucket], ARRAY[sign * n] FROM gridd_eval_hours_rows(e, area, dep)
    ON CONFLICT (lvl, day, grp, stage) DO UPDATE SET
        counts = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.counts || EXCLUDED.counts
            ELSE r.counts[:array_position(r.buckets, EXCLUDED.buckets[1]) - 1]
                || (r.counts[array_position(r.buckets, EXCLUDED.buckets[1])] + EXCLUDED.counts[1])
                || r.counts[array_position(r.buckets, EXCLUDED.buckets[1]) + 1:] END,
        buckets = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.buckets || EXCLUDED.buckets
            ELSE r.buckets END;
$$;

-- The trigger of migration 0018, now also keeping the rollup: the step's
-- flow, and the change its case's summary makes to the cohort.
CREATE OR REPLACE FUNCTION gridd_case_evaluation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_v case_evaluation;
    new_v case_evaluation;
BEGIN
    SELECT * INTO old_v FROM case_evaluation WHERE case_id = NEW.case_id;
    INSERT INTO case_evaluation AS v (case_id, grid_code, area_code, area_version, mgmt_codes, routed_department, first_handle_at,
        first_handle_deadline, first_handle_department, first_rework_at, closed_at, first_late_at)
    SELECT NEW.case_id, c.grid_code, c.grid_code, (SELECT r.grid_version FROM reports r WHERE r.id = c.report_id),
        c.mgmt_codes, c.routed_department,
        CASE WHEN NEW.step = 'handle' THEN NEW.at END,
        CASE WHEN NEW.step = 'handle' THEN NEW.deadline END,
        CASE WHEN NEW.step = 'handle' THEN NEW.department_code END,
        CASE WHEN NEW.step = 'rework' THEN NEW.at END,
        CASE WHEN NEW.step = 'close' THEN NEW.at END,
        CASE WHEN NEW.step IN ('file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'return')
            AND NEW.at > NEW.deadline THEN NEW.at END
    FROM cases c WHERE c.id = NEW.case_id
    ON CONFLICT (case_id) DO UPDATE SET
        first_handle_deadline = CASE WHEN v.first_handle_at IS NULL THEN EXCLUDED.first_handle_deadline ELSE v.first_handle_deadline END,
        first_handle_department = CASE WHEN v.first_handle_at IS NULL THEN EXCLUDED.first_handle_department ELSE v.first_handle_department END,
        first_handle_at = coalesce(v.first_handle_at, EXCLUDED.first_handle_at),
        first_rework_at = coalesce(v.first_rework_at, EXCLUDED.first_rework_at),
        closed_at = coalesce(v.closed_at, EXCLUDED.closed_at),
        first_late_at = coalesce(v.first_late_at, EXCLUDED.first_late_at)
    RETURNING * INTO new_v;
    PERFORM gridd_eval_add_event(NEW, new_v.area_code, coalesce(NEW.department_code, new_v.routed_department), 1);
    IF old_v.case_id IS NOT NULL AND old_v IS DISTINCT FROM new_v THEN
        PERFORM gridd_eval_add_cohort(old_v, -1);
    END IF;
    IF old_v.case_id IS NULL OR old_v IS DISTINCT FROM new_v THEN
        PERFORM gridd_eval_add_cohort(new_v, 1);
    END IF;
    RETURN NULL;
END $$;

-- A case moved to another grid (code, version): its summary, and when its
-- community changes, what it added to the rollup, taken away from the
-- groups of the old grid and added to those of the new. The case row is
-- locked first, as a step locks it, so no step of the case is half seen.
CREATE FUNCTION gridd_eval_move_case(p_case bigint, p_code text, p_version integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v case_evaluation;
    e case_events;
BEGIN
    PERFORM 1 FROM cases WHERE id = p_case FOR UPDATE;
    SELECT * INTO v FROM case_evaluation WHERE case_id = p_case;
    IF v.case_id IS NULL THEN
        RETURN;
    END IF;
    IF left(v.area_code, 12) = left(p_code, 12) THEN
        UPDATE case_evaluation SET area_code = p_code, area_version = p_version WHERE case_id = p_case;
        RETURN;
    END IF;
    FOR e IN SELECT * FROM case_events WHERE case_id = p_case ORDER BY id LOOP
        PERFORM gridd_eval_add_event(e, v.area_code, coalesce(e.department_code, v.routed_department), -1);
    END LOOP;
    PERFORM gridd_eval_add_cohort(v, -1);
    UPDATE case_evaluation SET area_code = p_code, area_version = p_version WHERE case_id = p_case RETURNING * INTO v;
    FOR e IN SELECT * FROM case_events WHERE case_id = p_case ORDER BY id LOOP
        PERFORM gridd_eval_add_event(e, v.area_code, coalesce(e.department_code, v.routed_department), 1);
    END LOOP;
    PERFORM gridd_eval_add_cohort(v, 1);
END $$;

-- The cases counted under a grid version no longer current follow its
-- lineage: each to the current grid descending from it (through any
-- number of edits and builds) that covers the case's point, the lowest
-- code if several do (a point on a shared edge). A case no descendant
-- covers stays where it was. Returns how many cases moved.
CREATE FUNCTION gridd_evaluation_follow_lineage(p_code text, p_version integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m record;
    moved integer := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM unit_grids WHERE code = p_code AND version = p_version AND valid_to IS NULL) THEN
        RETURN 0;
    END IF;
    FOR m IN
        WITH RECURSIVE d(code, version) AS (
            SELECT p_code, p_version
            UNION
            SELECT l.child_code, l.child_version FROM grid_lineage l JOIN d ON l.parent_code = d.code AND l.parent_version = d.version
        ), cur AS (
            SELECT u.code, u.version, u.geom FROM unit_grids u JOIN d ON d.code = u.code AND d.version = u.version
            WHERE u.valid_to IS NULL
        )
        SELECT v.case_id, g.code, g.version
        FROM case_evaluation v JOIN cases c ON c.id = v.case_id
        CROSS JOIN LATERAL (SELECT cur.code, cur.version FROM cur WHERE ST_Covers(cur.geom, c.geom) ORDER BY cur.code LIMIT 1) g
        WHERE v.area_code = p_code AND v.area_version = p_version
    LOOP
        PERFORM gridd_eval_move_case(m.case_id, m.code, m.version);
        moved := moved + 1;
    END LOOP;
    RETURN moved;
END $$;

-- At the commit of an edit or build, when every grid it writes is in
-- place.
CREATE FUNCTION gridd_grid_lineage_evaluation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridd_evaluation_follow_lineage(NEW.parent_code, NEW.parent_version);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER gridd_grid_lineage_evaluation AFTER INSERT ON grid_lineage
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gridd_grid_lineage_evaluation();

-- Cases of grid versions retired before this migration.
SELECT gridd_evaluation_follow_lineage(area_code, area_version)
FROM (SELECT DISTINCT area_code, area_version FROM case_evaluation WHERE area_version IS NOT NULL) v;

-- Reporters' satisfaction (满意度), collected once a case is closed: one
-- rating per case, from its reporter or a supervisor on the reporter's
-- behalf (grids/postgis/case_satisfaction.go), also logged as a 'rate'
-- event of the closed case (its data holds the rating; the rollup counts
-- it from there). The department is the one the case was closed with.
ALTER TABLE case_events DROP CONSTRAINT case_events_step_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_step_check CHECK (step IN
    ('report', 'file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'suspend', 'resume', 'extend', 'return', 'rate'));
CREATE TABLE case_satisfaction (
    case_id         bigint PRIMARY KEY REFERENCES cases (id),
    rating          text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    comment         text NOT NULL DEFAULT '',
    at              timestamptz NOT NULL,
    actor           text NOT NULL,
    role            text NOT NULL,
    on_behalf       boolean NOT NULL,
    department_code text,
    event_id        bigint NOT NULL REFERENCES case_events (id)
);
CREATE INDEX case_satisfaction_at ON case_satisfaction (at);

-- The rollup rebuilt from the log and the case summaries, written in the
-- order of its keys (a period's rows then lie together).
CREATE FUNCTION gridd_evaluation_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE case_eval_flow, case_eval_hours, case_eval_cohort;
    INSERT INTO case_eval_flow (lvl, day, grp, step, n, late, satisfied)
    SELECT r.lvl, r.day, r.grp, r.step, sum(r.n), sum(r.late), sum(r.satisfied)
    FROM case_events e JOIN case_evaluation v ON v.case_id = e.case_id,
        LATERAL gridd_eval_flow_rows(e, v.area_code, coalesce(e.department_code, v.routed_department)) r
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
    INSERT INTO case_eval_hours (lvl, day, grp, stage, buckets, counts)
    SELECT lvl, day, grp, stage, array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket)
    FROM (SELECT r.lvl, r.day, r.grp, r.stage, r.bucket, sum(r.n)::integer AS n
          FROM case_events e JOIN case_evaluation v ON v.case_id = e.case_id,
              LATERAL gridd_eval_hours_rows(e, v.area_code, coalesce(e.department_code, v.routed_department)) r
          GROUP BY 1, 2, 3, 4, 5) b
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
    INSERT INTO case_eval_cohort (lvl, day, grp, measure, at_day, n)
    SELECT r.lvl, r.day, r.grp, r.measure, r.at_day, sum(r.n)
    FROM case_evaluation v, LATERAL gridd_eval_cohort_rows(v) r
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
END $$;
SELECT gridd_evaluation_rebuild();
