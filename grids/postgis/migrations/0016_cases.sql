-- Cases: the closed loop from a report to its closing (docs/domain.md).
-- A case is opened for a routed report (reports, migration 0004) and keeps
-- where it is (grid, community, street, district, management grids, as the
-- report resolved them), the department routing chose and the one it is
-- with, and its state. Every step is appended to case_events, which is
-- never updated or deleted; the case row is the latest state, moved only
-- together with its event (grids/postgis/cases.go).

-- New roles for the loop; a department token names its department.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('viewer', 'reporter', 'supervisor', 'department', 'dispatcher', 'editor', 'admin'));
ALTER TABLE api_tokens ADD COLUMN department_code text
    CHECK (department_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$');
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_department
    CHECK ((role = 'department') = (department_code IS NOT NULL));

CREATE TABLE cases (
    id                  bigserial PRIMARY KEY,
    state               text NOT NULL CHECK (state IN
                            ('reported', 'filed', 'rejected', 'dispatched', 'handled', 'verified', 'closed', 'suspended')),
    suspended_from      text CHECK (suspended_from IN ('filed', 'dispatched')),
    version             integer NOT NULL DEFAULT 1,
    created             timestamptz NOT NULL DEFAULT now(),
    updated             timestamptz NOT NULL DEFAULT now(),
    report_id           bigint NOT NULL UNIQUE REFERENCES reports (id),
    reporter            text NOT NULL,
    scheme              text NOT NULL,
    kind                text NOT NULL,
    class               text NOT NULL,
    component_code      text,
    description         text NOT NULL DEFAULT '',
    urgency             text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    geom                geometry(Point, 4326) NOT NULL,
    grid_code           text NOT NULL,
    community_code      text NOT NULL,
    street_code         text NOT NULL,
    district_code       text NOT NULL,
    mgmt_codes          text[] NOT NULL DEFAULT '{}',
    routed_department   text,
    department_code     text,
    reject_kind         text CHECK (reject_kind IN ('duplicate', 'out_of_scope')),
    duplicate_of        bigint REFERENCES cases (id),
    reworks             integer NOT NULL DEFAULT 0,
    extended_hours      double precision NOT NULL DEFAULT 0,
    -- The time limit of the stage the case is in (the limit as written,
    -- e.g. 1wd, and when it ends), set when the stage starts; while
    -- suspended the clock stops and the deadline moves on by the time
    -- spent suspended when the case resumes. overdue_since is set once the
    -- deadline has passed in that stage (and announced on the change feed).
    time_limit          text,
    deadline            timestamptz,
    suspended_at        timestamptz,
    overdue_since       timestamptz,
    CHECK ((state = 'suspended') = (suspended_from IS NOT NULL)),
    CHECK ((state = 'rejected') = (reject_kind IS NOT NULL)),
    CHECK ((reject_kind = 'duplicate') = (duplicate_of IS NOT NULL))
);
CREATE INDEX cases_state ON cases (state, created);
CREATE INDEX cases_department ON cases (department_code, state);
CREATE INDEX cases_grid ON cases (grid_code, created);
CREATE INDEX cases_community ON cases (community_code, created);
CREATE INDEX cases_geom ON cases USING gist (geom);
CREATE INDEX cases_due ON cases (deadline) WHERE overdue_since IS NULL AND deadline IS NOT NULL;

-- Time limits per stage (named by the step that ends it: file, dispatch,
-- handle, verify, close), urgency and class: the most specific row wins
-- (the class, then its major class, then the row for every class, with
-- scheme, kind and class empty). Limits are written in the work clock's
-- notation (workclock.ParseLimit): 30m and 4h run continuously, 4wh are
-- work hours, 2wd work days (8 work hours each), 3d natural days. The rows
-- below are the defaults for every class: urgent cases run on continuous
-- hours, on-site checks take 30 minutes (docs/domain.md).
CREATE TABLE case_time_limits (
    scheme     text NOT NULL DEFAULT '',
    kind       text NOT NULL DEFAULT '',
    class      text NOT NULL DEFAULT '',
    urgency    text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    stage      text NOT NULL CHECK (stage IN ('file', 'dispatch', 'handle', 'verify', 'close')),
    time_limit text NOT NULL CHECK (time_limit ~ '^[0-9]+(\.[0-9]+)?(m|h|wh|wd|d)$'),
    PRIMARY KEY (scheme, kind, class, urgency, stage)
);
INSERT INTO case_time_limits (urgency, stage, time_limit) VALUES
    ('normal', 'file', '1wh'), ('normal', 'dispatch', '1wh'), ('normal', 'handle', '1wd'),
    ('normal', 'verify', '0.5wh'), ('normal', 'close', '1wh'),
    ('urgent', 'file', '30m'), ('urgent', 'dispatch', '30m'), ('urgent', 'handle', '4h'),
    ('urgent', 'verify', '30m'), ('urgent', 'close', '30m');

-- The holiday calendar as imported (gridd calendar import FILE.csv): a
-- year's statutory holidays and adjusted working days (调休), replacing
-- the calendar gridd carries for that year.
CREATE TABLE work_calendar (
    day  date PRIMARY KEY,
    year integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name text NOT NULL DEFAULT ''
);

-- The reports of a case: the one it was opened for, and those of the
-- duplicates merged into it.
CREATE TABLE case_reports (
    case_id   bigint NOT NULL REFERENCES cases (id),
    report_id bigint NOT NULL REFERENCES reports (id),
    PRIMARY KEY (case_id, report_id)
);

-- The log: who took which step when, from and to which state, and why.
CREATE TABLE case_events (
    id              bigserial PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id),
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text NOT NULL,
    role            text NOT NULL,
    step            text NOT NULL CHECK (step IN
                        ('report', 'file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'suspend', 'resume', 'extend', 'return')),
    from_state      text,
    to_state        text NOT NULL,
    department_code text,
    reason          text NOT NULL DEFAULT '',
    note            text NOT NULL DEFAULT '',
    data            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE INDEX case_events_at ON case_events (at);

CREATE FUNCTION gridd_case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER gridd_case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION gridd_case_events_append_only();
