-- Grid workers (网格员) and their supervisors, and their duties: who owns
-- which management grid (social grids first of all) for which period.
-- POST /v1/route names the workers on duty for the reported point.
--
-- A worker who leaves keeps the row, with valid_to set. A duty is a period
-- [starts, ends) on one management grid, named by its code (management
-- grids are versioned rows; the code is what stays); ends NULL is
-- open-ended. The store refuses a duty overlapping another duty of the same
-- worker on the same grid; every worker and duty change is in the history
-- (entities 'grid_worker' and 'grid_worker_duty', code: the id).
CREATE TABLE grid_workers (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (btrim(name) <> ''),
    phone      text NOT NULL DEFAULT '',
    role       text NOT NULL CHECK (role IN ('grid_worker', 'supervisor')),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

CREATE TABLE grid_worker_duties (
    id             bigserial PRIMARY KEY,
    worker_id      bigint NOT NULL REFERENCES grid_workers (id),
    mgmt_grid_code text NOT NULL CHECK (mgmt_grid_code ~ '^[0-9A-Za-z_-]{1,32}$'),
    starts         timestamptz NOT NULL,
    ends           timestamptz,  -- NULL: open-ended
    CONSTRAINT grid_worker_duties_period CHECK (ends IS NULL OR ends > starts)
);
CREATE INDEX grid_worker_duties_grid ON grid_worker_duties (mgmt_grid_code, starts);
CREATE INDEX grid_worker_duties_worker ON grid_worker_duties (worker_id, mgmt_grid_code);
