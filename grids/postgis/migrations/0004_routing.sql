-- Routing: the rules that send a report of some class in some area to a
-- department, and the reports with the routing decision stored alongside,
-- so that later boundary or rule edits never silently change an old case.

-- A rule: reports of class (scheme, kind, code; a 2-digit code is a major-
-- class wildcard) whose location falls in the scope go to the department.
-- Scope levels, most specific first: grid, mgmt (management grid),
-- community, street, district, everywhere (scope_code '').
CREATE TABLE routing_rules (
    id              bigserial PRIMARY KEY,
    scheme          text NOT NULL CHECK (scheme IN ('gb2026', 'legacy')),
    kind            text NOT NULL CHECK (kind IN ('component', 'matter')),
    class           text NOT NULL CHECK (
                        (scheme = 'gb2026' AND class ~ '^[0-9]{2}([0-9]{3})?$') OR
                        (scheme = 'legacy' AND class ~ '^[0-9]{2}([0-9]{2})?$')),
    scope_level     text NOT NULL CHECK (scope_level IN ('grid', 'mgmt', 'community', 'street', 'district', 'everywhere')),
    scope_code      text NOT NULL DEFAULT '' CHECK (
                        (scope_level = 'everywhere' AND scope_code = '') OR
                        (scope_level = 'grid' AND scope_code ~ '^[0-9]{15}$') OR
                        (scope_level = 'community' AND scope_code ~ '^[0-9]{12}$') OR
                        (scope_level = 'street' AND scope_code ~ '^[0-9]{9}$') OR
                        (scope_level = 'district' AND scope_code ~ '^[0-9]{6}$') OR
                        (scope_level = 'mgmt' AND scope_code ~ '^[0-9A-Za-z_-]{1,32}$')),
    department_code text NOT NULL CHECK (department_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    priority        integer NOT NULL DEFAULT 0,
    note            text NOT NULL DEFAULT '',
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX routing_rules_class ON routing_rules (scheme, kind, class) WHERE valid_to IS NULL;
-- One current rule per class, scope and priority: two would tie.
CREATE UNIQUE INDEX routing_rules_current ON routing_rules (scheme, kind, class, scope_level, scope_code, priority)
    WHERE valid_to IS NULL;
CREATE INDEX departments_territory ON departments (territory_code) WHERE valid_to IS NULL;

-- A routed report: the input as given, the location it resolved to, and the
-- decision (department, which step decided, the rule, the reason), with the
-- map version and grid version the decision was made against.
CREATE TABLE reports (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    input_crs       text NOT NULL,
    input_lon       double precision NOT NULL,
    input_lat       double precision NOT NULL,
    geom            geometry(Point, 4326) NOT NULL,
    scheme          text NOT NULL,
    kind            text NOT NULL,
    class           text NOT NULL,
    component_code  text,
    grid_code       text NOT NULL,
    grid_version    integer NOT NULL,
    mgmt_codes      text[] NOT NULL DEFAULT '{}',
    community_code  text NOT NULL,
    street_code     text NOT NULL,
    district_code   text NOT NULL,
    snapped         boolean NOT NULL,
    distance_m      double precision NOT NULL,
    map_version     bigint NOT NULL,
    department_code text,
    decided_by      text NOT NULL CHECK (decided_by IN ('component', 'rule', 'territorial', 'none')),
    rule_id         bigint REFERENCES routing_rules (id),
    reason          text NOT NULL,
    result          jsonb NOT NULL,
    CHECK ((decided_by = 'none') = (department_code IS NULL)),
    CHECK ((decided_by = 'rule') = (rule_id IS NOT NULL))
);
CREATE INDEX reports_grid ON reports (grid_code, at);
CREATE INDEX reports_department ON reports (department_code, at);
