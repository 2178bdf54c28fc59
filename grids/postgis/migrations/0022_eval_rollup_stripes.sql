-- Striped rollup rows. Every step of every case adds to the same rollup
-- rows of its day (its district's, its street's, its department's), and a
-- row's lock is held until the step's transaction commits: concurrent
-- filings queued behind one another on the district's row of the day
-- (a fifth of the waits when four reporters filed at once). Each row now
-- has a stripe, the case's id modulo 16, so that steps of different cases
-- mostly add to different rows; a case's own additions and removals keep
-- to its stripe. Readers sum over stripes as they already summed over
-- days, so only the keys change; the rebuild writes stripe 0.
--
-- The two functions that add to the rollup are PL/pgSQL now: as SQL
-- functions called from the trigger, their statements were planned afresh
-- at every step; PL/pgSQL keeps the plans.

ALTER TABLE case_eval_flow ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE case_eval_flow DROP CONSTRAINT case_eval_flow_pkey;
ALTER TABLE case_eval_flow ADD PRIMARY KEY (lvl, day, grp, step, stripe);
ALTER TABLE case_eval_hours ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE case_eval_hours DROP CONSTRAINT case_eval_hours_pkey;
ALTER TABLE case_eval_hours ADD PRIMARY KEY (lvl, day, grp, stage, stripe);
ALTER TABLE case_eval_cohort ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE case_eval_cohort DROP CONSTRAINT case_eval_cohort_pkey;
ALTER TABLE case_eval_cohort ADD PRIMARY KEY (lvl, day, grp, measure, at_day, stripe);

DROP FUNCTION gridd_eval_add_cohort(case_evaluation, integer);
CREATE FUNCTION gridd_eval_add_cohort(v case_evaluation, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_eval_cohort AS r (lvl, day, grp, measure, at_day, stripe, n)
    SELECT c.lvl, c.day, c.grp, c.measure, c.at_day, (v.case_id % 16)::smallint, sign * c.n FROM gridd_eval_cohort_rows(v) c
    ON CONFLICT (lvl, day, grp, measure, at_day, stripe) DO UPDATE SET n = r.n + EXCLUDED.n;
END $$;
DROP FUNCTION gridd_eval_add_event(case_events, text, text, integer);
CREATE FUNCTION gridd_eval_add_event(e case_events, area text, dep text, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_eval_flow AS r (lvl, day, grp, step, stripe, n, late, satisfied)
    SELECT f.lvl, f.day, f.grp, f.step, (e.case_id % 16)::smallint, sign * f.n, sign * f.late, sign * f.satisfied
    FROM gridd_eval_flow_rows(e, area, dep) f
    ON CONFLICT (lvl, day, grp, step, stripe) DO UPDATE
        SET n = r.n + EXCLUDED.n, late = r.late + EXCLUDED.late, satisfied = r.satisfied + EXCLUDED.satisfied;
    INSERT INTO case_eval_hours AS r (lvl, day, grp, stage, stripe, buckets, counts)
    SELECT h.lvl, h.day, h.grp, h.stage, (e.case_id % 16)::smallint, ARRAY[h.bucket], ARRAY[sign * h.n]
    FROM gridd_eval_hours_rows(e, area, dep) h
    ON CONFLICT (lvl, day, grp, stage, stripe) DO UPDATE SET
        counts = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.counts || EXCLUDED.counts
            ELSE r.counts[:array_position(r.buckets, EXCLUDED.buckets[1]) - 1]
                || (r.counts[array_position(r.buckets, EXCLUDED.buckets[1])] + EXCLUDED.counts[1])
                || r.counts[array_position(r.buckets, EXCLUDED.buckets[1]) + 1:] END,
        buckets = CASE WHEN array_position(r.buckets, EXCLUDED.buckets[1]) IS NULL THEN r.buckets || EXCLUDED.buckets
            ELSE r.buckets END;
END $$;
