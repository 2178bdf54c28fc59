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
--   grid_code      the case's grid code (as stored on the case: it never
--                  changes, even when the grid is later retired); its
--                  community, street and district codes are its first 12,
--                  9 and 6 digits (unit_grids checks it), so a period's
--                  steps are grouped by area from this index alone.
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
-- NULL deadline is never late) and get stage_started and grid_code from
-- the log and the case.
--
-- case_evaluation keeps, per case, what the cohort measures ask of its
-- whole log (when it was first handled, against which deadline and by
-- which department, first sent back for rework, closed, first late), kept
-- up by an AFTER INSERT trigger on case_events, so that evaluating a
-- period reads one row per due case instead of every case's log.

ALTER TABLE cases ADD COLUMN prev_deadline timestamptz,
                  ADD COLUMN prev_deadline_xact bigint;
ALTER TABLE case_events ADD COLUMN deadline timestamptz,
                        ADD COLUMN stage_started timestamptz,
                        ADD COLUMN grid_code text;

CREATE TABLE case_evaluation (
    case_id                 bigint PRIMARY KEY REFERENCES cases (id),
    grid_code               text NOT NULL,
    mgmt_codes              text[] NOT NULL DEFAULT '{}',
    routed_department       text,
    first_handle_at         timestamptz, -- the first handle step
    first_handle_deadline   timestamptz, -- the deadline it recorded
    first_handle_department text,        -- the department that took it
    first_rework_at         timestamptz,
    closed_at               timestamptz,
    first_late_at           timestamptz  -- the first stage-ending step after its deadline
);

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
DECLARE
    c record;
BEGIN
    SELECT deadline, prev_deadline, prev_deadline_xact, grid_code INTO c FROM cases WHERE id = NEW.case_id;
    IF NEW.deadline IS NULL AND NEW.step <> 'report' THEN
        NEW.deadline := CASE WHEN c.prev_deadline_xact = txid_current() THEN c.prev_deadline ELSE c.deadline END;
    END IF;
    IF NEW.stage_started IS NULL THEN
        SELECT e.at INTO NEW.stage_started FROM case_events e
            WHERE e.case_id = NEW.case_id AND e.step NOT IN ('suspend', 'resume', 'extend')
            ORDER BY e.id DESC LIMIT 1;
    END IF;
    NEW.grid_code := coalesce(NEW.grid_code, c.grid_code);
    RETURN NEW;
END $$;
CREATE TRIGGER gridd_case_events_stage BEFORE INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION gridd_case_events_stage();

CREATE FUNCTION gridd_case_evaluation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_evaluation AS v (case_id, grid_code, mgmt_codes, routed_department, first_handle_at,
        first_handle_deadline, first_handle_department, first_rework_at, closed_at, first_late_at)
    SELECT NEW.case_id, c.grid_code, c.mgmt_codes, c.routed_department,
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
        first_late_at = coalesce(v.first_late_at, EXCLUDED.first_late_at);
    RETURN NULL;
END $$;
CREATE TRIGGER gridd_case_evaluation AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION gridd_case_evaluation();

-- The log so far: stage starts from the log itself, grid codes from the
-- cases (the append-only trigger is lifted for this one backfill, inside
-- this migration's transaction), and each case's summary.
ALTER TABLE case_events DISABLE TRIGGER gridd_case_events_append_only;
UPDATE case_events e SET stage_started = s.started, grid_code = s.grid_code
FROM (SELECT e.id, c.grid_code, max(e.at) FILTER (WHERE e.step NOT IN ('suspend', 'resume', 'extend'))
             OVER (PARTITION BY e.case_id ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS started
      FROM case_events e JOIN cases c ON c.id = e.case_id) s
WHERE s.id = e.id;
ALTER TABLE case_events ENABLE TRIGGER gridd_case_events_append_only;
INSERT INTO case_evaluation (case_id, grid_code, mgmt_codes, routed_department, first_handle_at,
    first_handle_deadline, first_handle_department, first_rework_at, closed_at)
SELECT c.id, c.grid_code, c.mgmt_codes, c.routed_department,
    (array_agg(e.at ORDER BY e.id) FILTER (WHERE e.step = 'handle'))[1], NULL,
    (array_agg(e.department_code ORDER BY e.id) FILTER (WHERE e.step = 'handle'))[1],
    min(e.at) FILTER (WHERE e.step = 'rework'), min(e.at) FILTER (WHERE e.step = 'close')
FROM cases c JOIN case_events e ON e.case_id = c.id
GROUP BY c.id;

-- What evaluation reads: a period's steps with what groups and times them
-- (index only), due cases by their first handling deadline, and cases
-- still in their first handling by their deadline.
CREATE INDEX case_events_evaluation ON case_events (at)
    INCLUDE (step, grid_code, department_code, deadline, stage_started, case_id);
CREATE INDEX case_evaluation_due ON case_evaluation (first_handle_deadline);
CREATE INDEX cases_handling_deadline ON cases (deadline) WHERE state = 'dispatched';
