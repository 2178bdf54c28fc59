-- Evaluation of the record (综合评价, grids/postgis/evaluation.go) judges
-- each step against the deadline of the stage it ended, and times stages.
-- cases.deadline is only the current stage's deadline, so every event now
-- keeps, as it is inserted (case_events is append-only: nothing can be
-- filled in later):
--
--   deadline       the case's deadline as it stood just before the step,
--                  that is the deadline of the stage the step acted in and,
--                  for a step that ends a stage (file, reject, dispatch,
--                  handle, verify, rework, close, return), the deadline of
--                  the stage it ended, extensions and suspensions included.
--                  NULL where the case had none (the report event).
--   stage_started  when that stage started: the time of the case's latest
--                  earlier event other than suspend, resume and extend (the
--                  steps that stay within a stage). NULL for the report.
--
-- How the deadline before the step is found: a step UPDATEs its case row
-- (setting the next stage's deadline) and then INSERTs its event, in one
-- transaction (grids/postgis/cases.go), so when the event is inserted
-- cases.deadline already holds the NEW deadline. A BEFORE UPDATE trigger on
-- cases therefore keeps the deadline the row had before the transaction's
-- first update of it in cases.prev_deadline, with the transaction's id in
-- cases.prev_deadline_xact; the BEFORE INSERT trigger on case_events takes
-- cases.prev_deadline when the row was updated by the same transaction and
-- cases.deadline (unchanged, so still the one in force) when it was not.
-- Either order of update and insert within a step gives the same answer; a
-- later transaction (FlagOverdue's update, the next step) stashes afresh.
-- Values given explicitly in the INSERT are kept (bulk loads of history).
-- Events logged before this migration keep a NULL deadline (not known: a
-- NULL deadline is never late) and get stage_started from the log.

ALTER TABLE cases ADD COLUMN prev_deadline timestamptz,
                  ADD COLUMN prev_deadline_xact bigint;
ALTER TABLE case_events ADD COLUMN deadline timestamptz,
                        ADD COLUMN stage_started timestamptz;

CREATE FUNCTION gridd_cases_prev_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.prev_deadline_xact IS DISTINCT FROM txid_current() THEN
        NEW.prev_deadline := OLD.deadline;
        NEW.prev_deadline_xact := txid_current();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gridd_cases_prev_deadline BEFORE UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION gridd_cases_prev_deadline();

CREATE FUNCTION gridd_case_events_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deadline IS NULL AND NEW.step <> 'report' THEN
        SELECT CASE WHEN c.prev_deadline_xact = txid_current() THEN c.prev_deadline ELSE c.deadline END
            INTO NEW.deadline FROM cases c WHERE c.id = NEW.case_id;
    END IF;
    IF NEW.stage_started IS NULL THEN
        SELECT e.at INTO NEW.stage_started FROM case_events e
            WHERE e.case_id = NEW.case_id AND e.step NOT IN ('suspend', 'resume', 'extend')
            ORDER BY e.id DESC LIMIT 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gridd_case_events_stage BEFORE INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION gridd_case_events_stage();

-- The log so far: stage starts from the log itself (the append-only
-- trigger is lifted for this one backfill, inside this migration's
-- transaction).
ALTER TABLE case_events DISABLE TRIGGER gridd_case_events_append_only;
UPDATE case_events e SET stage_started = s.started
FROM (SELECT id, max(at) FILTER (WHERE step NOT IN ('suspend', 'resume', 'extend'))
             OVER (PARTITION BY case_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS started
      FROM case_events) s
WHERE s.id = e.id AND s.started IS NOT NULL;
ALTER TABLE case_events ENABLE TRIGGER gridd_case_events_append_only;

-- What evaluation reads: the steps of a period by kind (flow measures),
-- each case's first handling by its deadline (the due cohort), and the
-- cases still in their first handling by their deadline.
CREATE INDEX case_events_step_at ON case_events (step, at) INCLUDE (case_id, deadline, stage_started, department_code);
CREATE INDEX case_events_handle_deadline ON case_events (deadline) INCLUDE (case_id) WHERE step = 'handle';
CREATE INDEX cases_handling_deadline ON cases (deadline) WHERE state = 'dispatched';
