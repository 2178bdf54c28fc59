-- The evaluation's rollup by unit grid too (lvl 15, grp the grid a case
-- counts under, case_evaluation.area_code). A month of a district's grids
-- read from the log took 1.5-1.9 s over a million cases; from the rollup it
-- reads a few rows per grid and day. Cases that follow a grid's lineage
-- move in the rollup as they already did at the other levels (the move
-- takes away and adds back through these groups), so the grid they count
-- under is the one the rollup holds. Every step or case now counts once at
-- each of five levels.
CREATE OR REPLACE FUNCTION gridd_eval_groups(area text, dep text) RETURNS TABLE (lvl smallint, grp text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    VALUES (6::smallint, left(area, 6)), (9::smallint, left(area, 9)), (12::smallint, left(area, 12)),
        (15::smallint, area), (0::smallint, left(area, 6) || ':' || coalesce(dep, ''))
$$;

SELECT gridd_evaluation_rebuild();

-- A case that follows a grid's lineage within its community (the common
-- case: a split or reshape) now changes one group, its grid: the move takes
-- away and adds back its steps and cohort at that level only (grid_only),
-- a fifth of the work of a move to another community, which changes every
-- level as before.
DROP FUNCTION gridd_eval_add_cohort(case_evaluation, integer);
CREATE FUNCTION gridd_eval_add_cohort(v case_evaluation, sign integer, grid_only boolean DEFAULT false) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_eval_cohort AS r (lvl, day, grp, measure, at_day, stripe, n)
    SELECT c.lvl, c.day, c.grp, c.measure, c.at_day, (v.case_id % 16)::smallint, sign * c.n FROM gridd_eval_cohort_rows(v) c
    WHERE NOT grid_only OR c.lvl = 15
    ON CONFLICT (lvl, day, grp, measure, at_day, stripe) DO UPDATE SET n = r.n + EXCLUDED.n;
END $$;
DROP FUNCTION gridd_eval_add_event(case_events, text, text, integer);
CREATE FUNCTION gridd_eval_add_event(e case_events, area text, dep text, sign integer, grid_only boolean DEFAULT false) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_eval_flow AS r (lvl, day, grp, step, stripe, n, late, satisfied)
    SELECT f.lvl, f.day, f.grp, f.step, (e.case_id % 16)::smallint, sign * f.n, sign * f.late, sign * f.satisfied
    FROM gridd_eval_flow_rows(e, area, dep) f
    WHERE NOT grid_only OR f.lvl = 15
    ON CONFLICT (lvl, day, grp, step, stripe) DO UPDATE
        SET n = r.n + EXCLUDED.n, late = r.late + EXCLUDED.late, satisfied = r.satisfied + EXCLUDED.satisfied;
    INSERT INTO case_eval_hours AS r (lvl, day, grp, stage, stripe, buckets, counts)
    SELECT h.lvl, h.day, h.grp, h.stage, (e.case_id % 16)::smallint, ARRAY[h.bucket], ARRAY[sign * h.n]
    FROM gridd_eval_hours_rows(e, area, dep) h
    WHERE NOT grid_only OR h.lvl = 15
    ON CONFLICT (lvl, day, grp, stage, stripe) DO UPDATE SET
        counts = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.counts || EXCLUDED.counts
            ELSE r.counts[:array_position(r.buckets, EXCLUDED.buckets[1]) - 1]
                || (r.counts[array_position(r.buckets, EXCLUDED.buckets[1])] + EXCLUDED.counts[1])
                || r.counts[array_position(r.buckets, EXCLUDED.buckets[1]) + 1:] END,
        buckets = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.buckets || EXCLUDED.buckets
            ELSE r.buckets END;
END $$;

CREATE OR REPLACE FUNCTION gridd_eval_move_case(p_case bigint, p_code text, p_version integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v case_evaluation;
    e case_events;
    grid_only boolean;
BEGIN
    PERFORM 1 FROM cases WHERE id = p_case FOR UPDATE;
    SELECT * INTO v FROM case_evaluation WHERE case_id = p_case;
    IF v.case_id IS NULL THEN
        RETURN;
    END IF;
    IF v.area_code = p_code THEN
        UPDATE case_evaluation SET area_version = p_version WHERE case_id = p_case;
        RETURN;
    END IF;
    grid_only := left(v.area_code, 12) = left(p_code, 12);
    FOR e IN SELECT * FROM case_events WHERE case_id = p_case ORDER BY id LOOP
        PERFORM gridd_eval_add_event(e, v.area_code, coalesce(e.department_code, v.routed_department), -1, grid_only);
    END LOOP;
    PERFORM gridd_eval_add_cohort(v, -1, grid_only);
    UPDATE case_evaluation SET area_code = p_code, area_version = p_version WHERE case_id = p_case RETURNING * INTO v;
    FOR e IN SELECT * FROM case_events WHERE case_id = p_case ORDER BY id LOOP
        PERFORM gridd_eval_add_event(e, v.area_code, coalesce(e.department_code, v.routed_department), 1, grid_only);
    END LOOP;
    PERFORM gridd_eval_add_cohort(v, 1, grid_only);
END $$;
