-- Urban components (城市部件): the class catalogue of GB/T 47678.5-2026 with
-- the legacy CJ/T 214 classes and their crosswalk, the components themselves,
-- their sequence counters, and their re-assignment when unit grids change.

-- The 5-digit directory. Components and matters share codes (matter 01001 is
-- "abnormal 01001"), so the key is (kind, code). standard is the source:
-- 'GB/T 47678.5-2026' for the standard's rows, 'local' for a deployment's
-- extension classes, numbered from the top of their major's range down.
CREATE TABLE classes (
    kind       text NOT NULL CHECK (kind IN ('component', 'matter')),
    code       text NOT NULL CHECK (code ~ '^[0-9]{5}$'),
    major_code text NOT NULL CHECK (major_code = left(code, 2)),
    major_name text NOT NULL,
    name       text NOT NULL CHECK (name <> ''),
    standard   text NOT NULL,
    PRIMARY KEY (kind, code)
);

-- The legacy 4-digit directory, keyed by kind and code, and where each class
-- maps in the new one (new_code NULL when there is no counterpart).
CREATE TABLE legacy_classes (
    kind       text NOT NULL CHECK (kind IN ('component', 'matter')),
    code       text NOT NULL CHECK (code ~ '^[0-9]{4}$'),
    major_code text NOT NULL CHECK (major_code = left(code, 2)),
    major_name text NOT NULL,
    name       text NOT NULL,
    new_code   text,
    how        text NOT NULL CHECK (how IN ('name', 'renamed', 'none')),
    note       text NOT NULL DEFAULT '',
    PRIMARY KEY (kind, code),
    FOREIGN KEY (kind, new_code) REFERENCES classes (kind, code),
    CHECK ((how = 'none') = (new_code IS NULL))
);

-- Components. code = district (6) + class (5) + sequence (6); the parts are
-- kept in their own columns, checked against the code. A deleted component
-- keeps its row (valid_to set), so its code is never used again.
-- grid_code is the owning unit grid of the geometry's representative point
-- (the point itself, or ST_PointOnSurface of a line or polygon): the grid
-- gridd_grid_at gives, or the nearest grid within 50 m (snapped, snap_m).
-- grid_code is NULL only when a grid change left the component outside
-- every grid. grids lists every grid a line or polygon crosses.
CREATE TABLE components (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL CHECK (code ~ '^[0-9]{17}$'),
    district_code  text NOT NULL CHECK (district_code = left(code, 6)),
        class_code     text NOT NULL CHECK (class_code = substr(code, 7, 5)),
    seq            integer NOT NULL CHECK (seq BETWEEN 1 AND 999999 AND seq = substr(code, 12, 6)::integer),
    legacy_code    text CHECK (legacy_code ~ '^[0-9]{16}$'),
    name           text NOT NULL DEFAULT '',
    competent_dept_code      text CHECK (competent_dept_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    competent_dept_name      text NOT NULL DEFAULT '',
    owner_unit     text NOT NULL DEFAULT '',
    maint_unit     text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'intact'
                   CHECK (status IN ('intact', 'damaged', 'lost', 'abandoned', 'removed')),
    initial_date   date,
    change_date    date,
    data_source    text NOT NULL DEFAULT 'surveyed'
                   CHECK (data_source IN ('surveyed', 'topographic_map', 'base_geodata', 'other')),
    accuracy       text CHECK (accuracy IN ('A', 'B', 'C')),
    note           text NOT NULL DEFAULT '',
    grid_code      text CHECK (grid_code ~ '^[0-9]{15}$'),
    community_code text CHECK (community_code = left(grid_code, 12)),
    street_code    text CHECK (street_code = left(grid_code, 9)),
    grids          text[] NOT NULL DEFAULT '{}',
    snapped        boolean NOT NULL DEFAULT false,
    snap_m         double precision NOT NULL DEFAULT 0,
    geom           geometry(Geometry, 4326) NOT NULL
                   CHECK (GeometryType(geom) = 'POINT' OR (GeometryType(geom) IN ('LINESTRING', 'POLYGON') AND ST_IsValid(geom))),
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    valid_to       timestamptz CHECK (valid_to IS NULL OR valid_to >= created_at)
);
-- Few indexes: each costs every row of a bulk import. The grid index serves
-- both a grid and (by prefix) a community; a class search scans or combines
-- with another filter.
CREATE UNIQUE INDEX components_code ON components (code);
CREATE UNIQUE INDEX components_legacy_code ON components (legacy_code)
    WHERE legacy_code IS NOT NULL AND valid_to IS NULL;
CREATE INDEX components_geom ON components USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX components_grid ON components (grid_code text_pattern_ops) WHERE valid_to IS NULL;

SELECT gridd_watch('components');

-- Every component's class is a component class of the catalogue. Checked
-- per statement (a foreign key would probe the classes once per row, which
-- dominates a bulk import); classes are never deleted.
CREATE FUNCTION components_check_class() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad text;
BEGIN
    SELECT n.class_code INTO bad FROM (SELECT DISTINCT class_code FROM new_rows) n
    WHERE NOT EXISTS (SELECT 1 FROM classes k WHERE k.kind = 'component' AND k.code = n.class_code) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown component class %', bad USING ERRCODE = '23503';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER components_check_class_insert AFTER INSERT ON components
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_check_class();
CREATE TRIGGER components_check_class_update AFTER UPDATE ON components
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_check_class();

-- Sequence counters: the last sequence handed out per district and class.
-- Writers allocate with INSERT ... ON CONFLICT DO UPDATE ... RETURNING inside
-- their transaction, so the row lock serialises concurrent writers of the
-- same district and class and a number is never handed out twice.
CREATE TABLE component_seq (
    district_code text NOT NULL CHECK (district_code ~ '^[0-9]{6}$'),
    class_code    text NOT NULL CHECK (class_code ~ '^[0-9]{5}$'),
    last          integer NOT NULL CHECK (last BETWEEN 0 AND 999999),
    PRIMARY KEY (district_code, class_code)
);

-- Whatever the writer (gridd, psql), the counter never falls behind a stored
-- sequence, so a code given explicitly is never handed out again.
CREATE FUNCTION components_bump_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO component_seq (district_code, class_code, last)
    SELECT district_code, class_code, max(seq) FROM new_rows GROUP BY 1, 2
    ON CONFLICT (district_code, class_code)
    DO UPDATE SET last = greatest(component_seq.last, excluded.last)
    WHERE component_seq.last < excluded.last;
    RETURN NULL;
END $$;
CREATE TRIGGER components_bump_seq AFTER INSERT ON components
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_bump_seq();

-- gridd_component_grid places a geometry: its representative point's owner
-- (gridd_grid_at), else the nearest current grid within snap_max metres.
-- Returns NULL grid_code when there is none.
CREATE FUNCTION gridd_component_grid(g geometry, snap_max double precision DEFAULT 50,
    OUT grid_code text, OUT snapped boolean, OUT snap_m double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    pt geometry := CASE WHEN GeometryType(g) = 'POINT' THEN g ELSE ST_PointOnSurface(g) END;
    deg double precision := snap_max / (111320.0 * greatest(cos(radians(ST_Y(pt))), 0.1)) * 1.01;
BEGIN
    grid_code := gridd_grid_at(pt);
    snapped := false;
    snap_m := 0;
    IF grid_code IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT u.code, ST_Distance(u.geom::geography, pt::geography)
      INTO grid_code, snap_m
      FROM unit_grids u
     WHERE u.valid_to IS NULL AND u.geom && ST_Expand(pt, deg)
       AND ST_DWithin(u.geom::geography, pt::geography, snap_max)
     ORDER BY 2, 1
     LIMIT 1;
    IF grid_code IS NULL THEN
        snap_m := 0;
    ELSE
        snapped := true;
    END IF;
END $$;

-- gridd_component_grids lists the current grids a line or polygon crosses
-- (sharing more than a boundary), in code order; a point gives '{}'.
CREATE FUNCTION gridd_component_grids(g geometry) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN GeometryType(g) = 'POINT' THEN '{}'::text[] ELSE coalesce((
        SELECT array_agg(code ORDER BY code) FROM unit_grids
        WHERE valid_to IS NULL AND geom && g AND ST_Intersects(geom, g) AND NOT ST_Touches(geom, g)), '{}') END
$$;

-- Re-assignment when unit grids change, whoever writes them. Statement
-- triggers on unit_grids note the extent each statement touched (widened by
-- the snap distance) in a transaction-local table; a deferred constraint
-- trigger re-places the components in those extents once, at commit, and
-- records every move in the history (actor: the gridd.actor setting, else
-- 'system'; changeset_id: the gridd.changeset setting of a grid edit).
CREATE FUNCTION components_note_grid_change(ext box2d) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.gridd_touched_extents') IS NULL THEN
        CREATE TEMP TABLE gridd_touched_extents (box geometry) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO gridd_touched_extents
    VALUES (CASE WHEN ext IS NULL THEN NULL ELSE ST_Expand(ST_SetSRID(ext::geometry, 4326), 0.001) END);
    PERFORM set_config('gridd.grids_touched', 'on', true);
END $$;

CREATE FUNCTION components_grids_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ext box2d;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO ext FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO ext FROM old_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT ST_Extent(geom) INTO ext FROM (
            SELECT geom FROM new_rows UNION ALL SELECT geom FROM old_rows) g;
    END IF;
    IF ext IS NOT NULL THEN
        PERFORM components_note_grid_change(ext);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION components_grids_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM components_note_grid_change(NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER components_grids_insert AFTER INSERT ON unit_grids
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_grids_changed();
CREATE TRIGGER components_grids_update AFTER UPDATE ON unit_grids
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION components_grids_changed();
CREATE TRIGGER components_grids_delete AFTER DELETE ON unit_grids
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION components_grids_changed();
CREATE TRIGGER components_grids_truncate AFTER TRUNCATE ON unit_grids
    FOR EACH STATEMENT EXECUTE FUNCTION components_grids_truncated();

-- The JSON of a component as the history records it.
CREATE FUNCTION gridd_component_json(c components) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'code', c.code, 'legacy_code', c.legacy_code, 'class_code', c.class_code, 'name', c.name,
        'competent_dept_code', c.competent_dept_code, 'competent_dept_name', c.competent_dept_name, 'owner_unit', c.owner_unit,
        'maint_unit', c.maint_unit, 'status', c.status, 'initial_date', c.initial_date,
        'change_date', c.change_date, 'data_source', c.data_source, 'accuracy', c.accuracy,
        'note', c.note, 'grid_code', c.grid_code, 'grids', c.grids, 'snapped', c.snapped,
        'snap_m', round(c.snap_m::numeric, 2), 'geometry', ST_AsGeoJSON(c.geom)::jsonb))
$$;

-- Re-places the components in the noted extents; runs once per transaction
-- (the first deferred trigger event does the work and clears the note).
CREATE FUNCTION components_reassign() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('gridd.actor', true), ''), 'system');
    everything boolean;
BEGIN
    IF coalesce(current_setting('gridd.grids_touched', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('gridd.grids_touched', 'off', true);
    SELECT bool_or(box IS NULL) INTO everything FROM gridd_touched_extents;
    CREATE TEMP TABLE gridd_reassigned ON COMMIT DROP AS
    SELECT c.id, a.grid_code, a.snapped, a.snap_m, gridd_component_grids(c.geom) AS grids
      FROM components c, LATERAL gridd_component_grid(c.geom) a
     WHERE c.valid_to IS NULL
       AND (everything OR EXISTS (SELECT 1 FROM gridd_touched_extents t WHERE c.geom && t.box));
    DELETE FROM gridd_reassigned r USING components c
     WHERE c.id = r.id AND c.grid_code IS NOT DISTINCT FROM r.grid_code AND c.grids = r.grids
       AND c.snapped = r.snapped AND abs(c.snap_m - r.snap_m) < 0.01;
    INSERT INTO history (actor, action, entity, code, reason, before, after, changeset_id)
    SELECT who, 'update', 'component', c.code,
           CASE WHEN r.grid_code IS NULL THEN 'unit grids changed: now outside every grid'
                ELSE 'unit grids changed: re-assigned' END,
           jsonb_build_object('grid_code', c.grid_code, 'grids', c.grids, 'snapped', c.snapped),
           jsonb_build_object('grid_code', r.grid_code, 'grids', r.grids, 'snapped', r.snapped),
           -- The grid editor's changeset, when the change is one.
           nullif(current_setting('gridd.changeset', true), '')::bigint
      FROM gridd_reassigned r JOIN components c ON c.id = r.id;
    UPDATE components c
       SET grid_code = r.grid_code, community_code = left(r.grid_code, 12), street_code = left(r.grid_code, 9),
           grids = r.grids, snapped = r.snapped, snap_m = r.snap_m,
           version = c.version + 1, updated_at = now()
      FROM gridd_reassigned r WHERE c.id = r.id;
    DROP TABLE gridd_reassigned;
    DELETE FROM gridd_touched_extents;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER components_reassign AFTER INSERT OR UPDATE OR DELETE ON unit_grids
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION components_reassign();

-- The catalogue data, generated from grids/catalog/*.csv (see the README
-- there). Do not edit by hand.
-- BEGIN CATALOGUE
INSERT INTO classes (kind, code, major_code, major_name, name, standard) VALUES
('component', '01001', '01', '市政公用设施', '供水井盖', 'GB/T 47678.5-2026'),
('component', '01002', '01', '市政公用设施', '污水井盖', 'GB/T 47678.5-2026'),
('component', '01003', '01', '市政公用设施', '雨水井盖', 'GB/T 47678.5-2026'),
('component', '01004', '01', '市政公用设施', '雨水箅子', 'GB/T 47678.5-2026'),
('component', '01005', '01', '市政公用设施', '电力井盖', 'GB/T 47678.5-2026'),
('component', '01006', '01', '市政公用设施', '路灯井盖', 'GB/T 47678.5-2026'),
('component', '01007', '01', '市政公用设施', '通信井盖', 'GB/T 47678.5-2026'),
('component', '01008', '01', '市政公用设施', '电视井盖', 'GB/T 47678.5-2026'),
('component', '01009', '01', '市政公用设施', '网络井盖', 'GB/T 47678.5-2026'),
('component', '01010', '01', '市政公用设施', '热力井盖', 'GB/T 47678.5-2026'),
('component', '01011', '01', '市政公用设施', '燃气井盖', 'GB/T 47678.5-2026'),
('component', '01012', '01', '市政公用设施', '公安井盖', 'GB/T 47678.5-2026'),
('component', '01013', '01', '市政公用设施', '消防设施', 'GB/T 47678.5-2026'),
('component', '01014', '01', '市政公用设施', '园林井盖', 'GB/T 47678.5-2026'),
('component', '01015', '01', '市政公用设施', '信号灯电源井盖', 'GB/T 47678.5-2026'),
('component', '01017', '01', '市政公用设施', '电缆井盖', 'GB/T 47678.5-2026'),
('component', '01018', '01', '市政公用设施', '化粪池井盖', 'GB/T 47678.5-2026'),
('component', '01019', '01', '市政公用设施', '中水井盖', 'GB/T 47678.5-2026'),
('component', '01020', '01', '市政公用设施', '公交井盖', 'GB/T 47678.5-2026'),
('component', '01021', '01', '市政公用设施', '输油（气）井盖', 'GB/T 47678.5-2026'),
('component', '01022', '01', '市政公用设施', '特殊井盖', 'GB/T 47678.5-2026'),
('component', '01023', '01', '市政公用设施', '不明井盖', 'GB/T 47678.5-2026'),
('component', '01024', '01', '市政公用设施', '水井', 'GB/T 47678.5-2026'),
('component', '01025', '01', '市政公用设施', '供水器', 'GB/T 47678.5-2026'),
('component', '01026', '01', '市政公用设施', '沟槽盖板', 'GB/T 47678.5-2026'),
('component', '01027', '01', '市政公用设施', '通信交接箱', 'GB/T 47678.5-2026'),
('component', '01028', '01', '市政公用设施', '电力设施', 'GB/T 47678.5-2026'),
('component', '01029', '01', '市政公用设施', '电力设施标识牌', 'GB/T 47678.5-2026'),
('component', '01030', '01', '市政公用设施', '电力立杆', 'GB/T 47678.5-2026'),
('component', '01031', '01', '市政公用设施', '通信立杆', 'GB/T 47678.5-2026'),
('component', '01032', '01', '市政公用设施', '公交立杆', 'GB/T 47678.5-2026'),
('component', '01033', '01', '市政公用设施', '特殊立杆', 'GB/T 47678.5-2026'),
('component', '01034', '01', '市政公用设施', '不明立杆', 'GB/T 47678.5-2026'),
('component', '01035', '01', '市政公用设施', '旗杆', 'GB/T 47678.5-2026'),
('component', '01036', '01', '市政公用设施', '输油（气）标志', 'GB/T 47678.5-2026'),
('component', '01037', '01', '市政公用设施', '路灯', 'GB/T 47678.5-2026'),
('component', '01038', '01', '市政公用设施', '地灯', 'GB/T 47678.5-2026'),
('component', '01039', '01', '市政公用设施', '景观灯', 'GB/T 47678.5-2026'),
('component', '01040', '01', '市政公用设施', '报刊亭', 'GB/T 47678.5-2026'),
('component', '01041', '01', '市政公用设施', '电话亭', 'GB/T 47678.5-2026'),
('component', '01042', '01', '市政公用设施', '邮筒', 'GB/T 47678.5-2026'),
('component', '01043', '01', '市政公用设施', '信息亭', 'GB/T 47678.5-2026'),
('component', '01044', '01', '市政公用设施', '售货亭', 'GB/T 47678.5-2026'),
('component', '01045', '01', '市政公用设施', '自动售货机', 'GB/T 47678.5-2026'),
('component', '01046', '01', '市政公用设施', '户外健身设施', 'GB/T 47678.5-2026'),
('component', '01047', '01', '市政公用设施', '高压线铁塔', 'GB/T 47678.5-2026'),
('component', '01048', '01', '市政公用设施', '变压器（箱）', 'GB/T 47678.5-2026'),
('component', '01049', '01', '市政公用设施', '燃气调压站（箱）', 'GB/T 47678.5-2026'),
('component', '01050', '01', '市政公用设施', '监控电子眼设施', 'GB/T 47678.5-2026'),
('component', '01051', '01', '市政公用设施', '治安岗亭', 'GB/T 47678.5-2026'),
('component', '01052', '01', '市政公用设施', '休息亭', 'GB/T 47678.5-2026'),
('component', '01053', '01', '市政公用设施', '自助缴费机', 'GB/T 47678.5-2026'),
('component', '01054', '01', '市政公用设施', '充电桩', 'GB/T 47678.5-2026'),
('component', '01055', '01', '市政公用设施', '防蚊闸', 'GB/T 47678.5-2026'),
('component', '01056', '01', '市政公用设施', '跨河管道', 'GB/T 47678.5-2026'),
('component', '01057', '01', '市政公用设施', '露天燃气管道', 'GB/T 47678.5-2026'),
('component', '01058', '01', '市政公用设施', '晒衣架', 'GB/T 47678.5-2026'),
('component', '01059', '01', '市政公用设施', '旧衣物回收箱', 'GB/T 47678.5-2026'),
('component', '01060', '01', '市政公用设施', '路灯配电箱', 'GB/T 47678.5-2026'),
('component', '01061', '01', '市政公用设施', '露天供热管道', 'GB/T 47678.5-2026'),
('component', '01062', '01', '市政公用设施', '通信基站', 'GB/T 47678.5-2026'),
('component', '01063', '01', '市政公用设施', '水塔', 'GB/T 47678.5-2026'),
('component', '01064', '01', '市政公用设施', '牌楼（门楼）', 'GB/T 47678.5-2026'),
('component', '01065', '01', '市政公用设施', '管理责任公示牌', 'GB/T 47678.5-2026'),
('component', '01066', '01', '市政公用设施', '紧急报警点SOS', 'GB/T 47678.5-2026'),
('component', '01067', '01', '市政公用设施', '防汛监测设施', 'GB/T 47678.5-2026'),
('component', '01068', '01', '市政公用设施', '水鹤', 'GB/T 47678.5-2026'),
('component', '01069', '01', '市政公用设施', '水域附属设施', 'GB/T 47678.5-2026'),
('component', '01070', '01', '市政公用设施', '水域护栏', 'GB/T 47678.5-2026'),
('component', '01071', '01', '市政公用设施', '防汛墙', 'GB/T 47678.5-2026'),
('component', '01072', '01', '市政公用设施', '排水泵站', 'GB/T 47678.5-2026'),
('component', '01073', '01', '市政公用设施', '雨污水排放口', 'GB/T 47678.5-2026'),
('component', '01074', '01', '市政公用设施', '综合管廊附属设施', 'GB/T 47678.5-2026'),
('component', '01075', '01', '市政公用设施', '快递柜', 'GB/T 47678.5-2026'),
('component', '01076', '01', '市政公用设施', '公用电梯', 'GB/T 47678.5-2026'),
('component', '01077', '01', '市政公用设施', '综合杆', 'GB/T 47678.5-2026'),
('component', '02001', '02', '交通设施', '停车场', 'GB/T 47678.5-2026'),
('component', '02002', '02', '交通设施', '立体车库', 'GB/T 47678.5-2026'),
('component', '02003', '02', '交通设施', '停车计费设备', 'GB/T 47678.5-2026'),
('component', '02004', '02', '交通设施', '公交站设施', 'GB/T 47678.5-2026'),
('component', '02005', '02', '交通设施', '出租车停靠站', 'GB/T 47678.5-2026'),
('component', '02006', '02', '交通设施', '过街天桥', 'GB/T 47678.5-2026'),
('component', '02007', '02', '交通设施', '地下通道', 'GB/T 47678.5-2026'),
('component', '02008', '02', '交通设施', '立交桥', 'GB/T 47678.5-2026'),
('component', '02009', '02', '交通设施', '跨河桥', 'GB/T 47678.5-2026'),
('component', '02010', '02', '交通设施', '交通标志牌及标线', 'GB/T 47678.5-2026'),
('component', '02011', '02', '交通设施', '限高架标志', 'GB/T 47678.5-2026'),
('component', '02012', '02', '交通设施', '路名牌', 'GB/T 47678.5-2026'),
('component', '02013', '02', '交通设施', '地名牌', 'GB/T 47678.5-2026'),
('component', '02014', '02', '交通设施', '交通信号灯', 'GB/T 47678.5-2026'),
('component', '02015', '02', '交通设施', '交通信号设施', 'GB/T 47678.5-2026'),
('component', '02016', '02', '交通设施', '交通岗亭', 'GB/T 47678.5-2026'),
('component', '02017', '02', '交通设施', '交通护栏', 'GB/T 47678.5-2026'),
('component', '02018', '02', '交通设施', '防撞桶', 'GB/T 47678.5-2026'),
('component', '02019', '02', '交通设施', '安全岛', 'GB/T 47678.5-2026'),
('component', '02020', '02', '交通设施', '人行横道桩', 'GB/T 47678.5-2026'),
('component', '02021', '02', '交通设施', '便道桩', 'GB/T 47678.5-2026'),
('component', '02022', '02', '交通设施', '柔性隔离体', 'GB/T 47678.5-2026'),
('component', '02023', '02', '交通设施', '道路信息显示屏', 'GB/T 47678.5-2026'),
('component', '02024', '02', '交通设施', '道路隔音屏', 'GB/T 47678.5-2026'),
('component', '02025', '02', '交通设施', '非机动车停放点', 'GB/T 47678.5-2026'),
('component', '02026', '02', '交通设施', '自行车租赁点', 'GB/T 47678.5-2026'),
('component', '02027', '02', '交通设施', '存车支架', 'GB/T 47678.5-2026'),
('component', '02028', '02', '交通设施', '铁道口设施', 'GB/T 47678.5-2026'),
('component', '02029', '02', '交通设施', '栈桥', 'GB/T 47678.5-2026'),
('component', '02030', '02', '交通设施', '水域标示牌', 'GB/T 47678.5-2026'),
('component', '02031', '02', '交通设施', '港监设施', 'GB/T 47678.5-2026'),
('component', '02032', '02', '交通设施', '轨道交通设施', 'GB/T 47678.5-2026'),
('component', '02033', '02', '交通设施', '交通反视镜', 'GB/T 47678.5-2026'),
('component', '02034', '02', '交通设施', '无障碍设施', 'GB/T 47678.5-2026'),
('component', '02035', '02', '交通设施', '应急避难指示牌', 'GB/T 47678.5-2026'),
('component', '02036', '02', '交通设施', '救助站指示牌', 'GB/T 47678.5-2026'),
('component', '02037', '02', '交通设施', '文物建筑标志牌', 'GB/T 47678.5-2026'),
('component', '02038', '02', '交通设施', '门（楼号）牌', 'GB/T 47678.5-2026'),
('component', '02039', '02', '交通设施', '公安指示牌', 'GB/T 47678.5-2026'),
('component', '02040', '02', '交通设施', '景区标识牌', 'GB/T 47678.5-2026'),
('component', '02041', '02', '交通设施', '停车信息显示屏', 'GB/T 47678.5-2026'),
('component', '02042', '02', '交通设施', '铁路桥涵', 'GB/T 47678.5-2026'),
('component', '02043', '02', '交通设施', '减速带', 'GB/T 47678.5-2026'),
('component', '02044', '02', '交通设施', '公路隧道', 'GB/T 47678.5-2026'),
('component', '03001', '03', '市容环卫设施', '公共厕所', 'GB/T 47678.5-2026'),
('component', '03002', '03', '市容环卫设施', '公厕指示牌', 'GB/T 47678.5-2026'),
('component', '03003', '03', '市容环卫设施', '化粪池', 'GB/T 47678.5-2026'),
('component', '03004', '03', '市容环卫设施', '垃圾间（楼）', 'GB/T 47678.5-2026'),
('component', '03005', '03', '市容环卫设施', '垃圾箱', 'GB/T 47678.5-2026'),
('component', '03006', '03', '市容环卫设施', '户外广告', 'GB/T 47678.5-2026'),
('component', '03007', '03', '市容环卫设施', '牌匾标识', 'GB/T 47678.5-2026'),
('component', '03008', '03', '市容环卫设施', '宣传栏', 'GB/T 47678.5-2026'),
('component', '03009', '03', '市容环卫设施', '气象监测站', 'GB/T 47678.5-2026'),
('component', '03010', '03', '市容环卫设施', '环保监测站', 'GB/T 47678.5-2026'),
('component', '03011', '03', '市容环卫设施', '污水口监测站', 'GB/T 47678.5-2026'),
('component', '03012', '03', '市容环卫设施', '污水监测器', 'GB/T 47678.5-2026'),
('component', '03013', '03', '市容环卫设施', '噪声显示屏', 'GB/T 47678.5-2026'),
('component', '03014', '03', '市容环卫设施', '环卫工具间（箱）', 'GB/T 47678.5-2026'),
('component', '03015', '03', '市容环卫设施', '宠物拾便纸箱', 'GB/T 47678.5-2026'),
('component', '03016', '03', '市容环卫设施', '烟头收集器或灭烟处', 'GB/T 47678.5-2026'),
('component', '04001', '04', '园林绿化设施', '古树名木', 'GB/T 47678.5-2026'),
('component', '04002', '04', '园林绿化设施', '行道树', 'GB/T 47678.5-2026'),
('component', '04003', '04', '园林绿化设施', '独立树', 'GB/T 47678.5-2026'),
('component', '04004', '04', '园林绿化设施', '护树设施', 'GB/T 47678.5-2026'),
('component', '04005', '04', '园林绿化设施', '花架花钵', 'GB/T 47678.5-2026'),
('component', '04006', '04', '园林绿化设施', '雕塑', 'GB/T 47678.5-2026'),
('component', '04007', '04', '园林绿化设施', '街头座椅', 'GB/T 47678.5-2026'),
('component', '04008', '04', '园林绿化设施', '绿地护栏', 'GB/T 47678.5-2026'),
('component', '04009', '04', '园林绿化设施', '绿地附属设施', 'GB/T 47678.5-2026'),
('component', '04010', '04', '园林绿化设施', '喷泉', 'GB/T 47678.5-2026'),
('component', '04011', '04', '园林绿化设施', '树池树穴', 'GB/T 47678.5-2026'),
('component', '04012', '04', '园林绿化设施', '高架挂箱', 'GB/T 47678.5-2026'),
('component', '04013', '04', '园林绿化设施', '绿地', 'GB/T 47678.5-2026'),
('component', '04014', '04', '园林绿化设施', '林地及林地管护设施', 'GB/T 47678.5-2026'),
('component', '05002', '05', '其他管理部件', '公房地下室', 'GB/T 47678.5-2026'),
('component', '05003', '05', '其他管理部件', '车辆加油（气、电）站', 'GB/T 47678.5-2026'),
('component', '05009', '05', '其他管理部件', '文物古迹', 'GB/T 47678.5-2026'),
('matter', '01001', '01', '市政公用设施类', '供水井盖异常', 'GB/T 47678.5-2026'),
('matter', '01002', '01', '市政公用设施类', '污水井盖异常', 'GB/T 47678.5-2026'),
('matter', '01003', '01', '市政公用设施类', '雨水井盖异常', 'GB/T 47678.5-2026'),
('matter', '01004', '01', '市政公用设施类', '雨水箅子异常', 'GB/T 47678.5-2026'),
('matter', '01005', '01', '市政公用设施类', '电力井盖异常', 'GB/T 47678.5-2026'),
('matter', '01006', '01', '市政公用设施类', '路灯井盖异常', 'GB/T 47678.5-2026'),
('matter', '01007', '01', '市政公用设施类', '通信井盖异常', 'GB/T 47678.5-2026'),
('matter', '01008', '01', '市政公用设施类', '电视井盖异常', 'GB/T 47678.5-2026'),
('matter', '01009', '01', '市政公用设施类', '网络井盖异常', 'GB/T 47678.5-2026'),
('matter', '01010', '01', '市政公用设施类', '热力井盖异常', 'GB/T 47678.5-2026'),
('matter', '01011', '01', '市政公用设施类', '燃气井盖异常', 'GB/T 47678.5-2026'),
('matter', '01012', '01', '市政公用设施类', '公安井盖异常', 'GB/T 47678.5-2026'),
('matter', '01013', '01', '市政公用设施类', '消防设施异常', 'GB/T 47678.5-2026'),
('matter', '01014', '01', '市政公用设施类', '园林井盖异常', 'GB/T 47678.5-2026'),
('matter', '01015', '01', '市政公用设施类', '信号灯电源井盖异常', 'GB/T 47678.5-2026'),
('matter', '01017', '01', '市政公用设施类', '电缆井盖异常', 'GB/T 47678.5-2026'),
('matter', '01018', '01', '市政公用设施类', '化粪池井盖异常', 'GB/T 47678.5-2026'),
('matter', '01019', '01', '市政公用设施类', '中水井盖异常', 'GB/T 47678.5-2026'),
('matter', '01020', '01', '市政公用设施类', '公交井盖异常', 'GB/T 47678.5-2026'),
('matter', '01021', '01', '市政公用设施类', '输油（气）井盖异常', 'GB/T 47678.5-2026'),
('matter', '01022', '01', '市政公用设施类', '特殊井盖异常', 'GB/T 47678.5-2026'),
('matter', '01023', '01', '市政公用设施类', '不明井盖异常', 'GB/T 47678.5-2026'),
('matter', '01024', '01', '市政公用设施类', '水井异常', 'GB/T 47678.5-2026'),
('matter', '01025', '01', '市政公用设施类', '供水器异常', 'GB/T 47678.5-2026'),
('matter', '01026', '01', '市政公用设施类', '沟槽盖板异常', 'GB/T 47678.5-2026'),
('matter', '01027', '01', '市政公用设施类', '通信交接箱异常', 'GB/T 47678.5-2026'),
('matter', '01028', '01', '市政公用设施类', '电力设施异常', 'GB/T 47678.5-2026'),
('matter', '01029', '01', '市政公用设施类', '电力设施标识牌异常', 'GB/T 47678.5-2026'),
('matter', '01030', '01', '市政公用设施类', '电力立杆异常', 'GB/T 47678.5-2026'),
('matter', '01031', '01', '市政公用设施类', '通信立杆异常', 'GB/T 47678.5-2026'),
('matter', '01032', '01', '市政公用设施类', '公交立杆异常', 'GB/T 47678.5-2026'),
('matter', '01033', '01', '市政公用设施类', '特殊立杆异常', 'GB/T 47678.5-2026'),
('matter', '01034', '01', '市政公用设施类', '不明立杆异常', 'GB/T 47678.5-2026'),
('matter', '01035', '01', '市政公用设施类', '旗杆异常', 'GB/T 47678.5-2026'),
('matter', '01036', '01', '市政公用设施类', '输油（气）标志异常', 'GB/T 47678.5-2026'),
('matter', '01037', '01', '市政公用设施类', '路灯异常', 'GB/T 47678.5-2026'),
('matter', '01038', '01', '市政公用设施类', '地灯异常', 'GB/T 47678.5-2026'),
('matter', '01039', '01', '市政公用设施类', '景观灯异常', 'GB/T 47678.5-2026'),
('matter', '01040', '01', '市政公用设施类', '报刊亭异常', 'GB/T 47678.5-2026'),
('matter', '01041', '01', '市政公用设施类', '电话亭异常', 'GB/T 47678.5-2026'),
('matter', '01042', '01', '市政公用设施类', '邮筒异常', 'GB/T 47678.5-2026'),
('matter', '01043', '01', '市政公用设施类', '信息亭异常', 'GB/T 47678.5-2026'),
('matter', '01044', '01', '市政公用设施类', '售货亭异常', 'GB/T 47678.5-2026'),
('matter', '01045', '01', '市政公用设施类', '自动售货机异常', 'GB/T 47678.5-2026'),
('matter', '01046', '01', '市政公用设施类', '户外健身设施异常', 'GB/T 47678.5-2026'),
('matter', '01047', '01', '市政公用设施类', '高压线铁塔异常', 'GB/T 47678.5-2026'),
('matter', '01048', '01', '市政公用设施类', '变压器（箱）异常', 'GB/T 47678.5-2026'),
('matter', '01049', '01', '市政公用设施类', '燃气调压站（箱）异常', 'GB/T 47678.5-2026'),
('matter', '01050', '01', '市政公用设施类', '监控电子眼设施异常', 'GB/T 47678.5-2026'),
('matter', '01051', '01', '市政公用设施类', '治安岗亭异常', 'GB/T 47678.5-2026'),
('matter', '01052', '01', '市政公用设施类', '休息亭异常', 'GB/T 47678.5-2026'),
('matter', '01053', '01', '市政公用设施类', '自助缴费机异常', 'GB/T 47678.5-2026'),
('matter', '01054', '01', '市政公用设施类', '充电桩异常', 'GB/T 47678.5-2026'),
('matter', '01055', '01', '市政公用设施类', '防蚊闸异常', 'GB/T 47678.5-2026'),
('matter', '01056', '01', '市政公用设施类', '跨河管道异常', 'GB/T 47678.5-2026'),
('matter', '01057', '01', '市政公用设施类', '露天燃气管道异常', 'GB/T 47678.5-2026'),
('matter', '01058', '01', '市政公用设施类', '晒衣架异常', 'GB/T 47678.5-2026'),
('matter', '01059', '01', '市政公用设施类', '旧衣物回收箱异常', 'GB/T 47678.5-2026'),
('matter', '01060', '01', '市政公用设施类', '路灯配电箱异常', 'GB/T 47678.5-2026'),
('matter', '01061', '01', '市政公用设施类', '露天供热管道异常', 'GB/T 47678.5-2026'),
('matter', '01062', '01', '市政公用设施类', '通信基站异常', 'GB/T 47678.5-2026'),
('matter', '01063', '01', '市政公用设施类', '水塔异常', 'GB/T 47678.5-2026'),
('matter', '01064', '01', '市政公用设施类', '牌楼（门楼）异常', 'GB/T 47678.5-2026'),
('matter', '01065', '01', '市政公用设施类', '管理责任公示牌异常', 'GB/T 47678.5-2026'),
('matter', '01066', '01', '市政公用设施类', '紧急报警点异常SOS', 'GB/T 47678.5-2026'),
('matter', '01067', '01', '市政公用设施类', '防汛监测设施异常', 'GB/T 47678.5-2026'),
('matter', '01068', '01', '市政公用设施类', '水鹤异常', 'GB/T 47678.5-2026'),
('matter', '01069', '01', '市政公用设施类', '水域附属设施异常', 'GB/T 47678.5-2026'),
('matter', '01070', '01', '市政公用设施类', '水域护栏异常', 'GB/T 47678.5-2026'),
('matter', '01071', '01', '市政公用设施类', '防汛墙异常', 'GB/T 47678.5-2026'),
('matter', '01072', '01', '市政公用设施类', '排水泵站异常', 'GB/T 47678.5-2026'),
('matter', '01073', '01', '市政公用设施类', '雨污水排放口异常', 'GB/T 47678.5-2026'),
('matter', '01074', '01', '市政公用设施类', '综合管廊附属设施异常', 'GB/T 47678.5-2026'),
('matter', '01075', '01', '市政公用设施类', '快递柜异常', 'GB/T 47678.5-2026'),
('matter', '01076', '01', '市政公用设施类', '公用电梯异常', 'GB/T 47678.5-2026'),
('matter', '01077', '01', '市政公用设施类', '综合杆异常', 'GB/T 47678.5-2026'),
('matter', '02001', '02', '交通设施类', '停车场异常', 'GB/T 47678.5-2026'),
('matter', '02002', '02', '交通设施类', '立体车库异常', 'GB/T 47678.5-2026'),
('matter', '02003', '02', '交通设施类', '停车计费设备异常', 'GB/T 47678.5-2026'),
('matter', '02004', '02', '交通设施类', '公交站设施异常', 'GB/T 47678.5-2026'),
('matter', '02005', '02', '交通设施类', '出租车停靠站异常', 'GB/T 47678.5-2026'),
('matter', '02006', '02', '交通设施类', '过街天桥异常', 'GB/T 47678.5-2026'),
('matter', '02007', '02', '交通设施类', '地下通道异常', 'GB/T 47678.5-2026'),
('matter', '02008', '02', '交通设施类', '立交桥异常', 'GB/T 47678.5-2026'),
('matter', '02009', '02', '交通设施类', '跨河桥异常', 'GB/T 47678.5-2026'),
('matter', '02010', '02', '交通设施类', '交通标志牌及标线异常', 'GB/T 47678.5-2026'),
('matter', '02011', '02', '交通设施类', '限高架标志异常', 'GB/T 47678.5-2026'),
('matter', '02012', '02', '交通设施类', '路名牌异常', 'GB/T 47678.5-2026'),
('matter', '02013', '02', '交通设施类', '地名牌异常', 'GB/T 47678.5-2026'),
('matter', '02014', '02', '交通设施类', '交通信号灯异常', 'GB/T 47678.5-2026'),
('matter', '02015', '02', '交通设施类', '交通信号设施异常', 'GB/T 47678.5-2026'),
('matter', '02016', '02', '交通设施类', '交通岗亭异常', 'GB/T 47678.5-2026'),
('matter', '02017', '02', '交通设施类', '交通护栏异常', 'GB/T 47678.5-2026'),
('matter', '02018', '02', '交通设施类', '防撞桶异常', 'GB/T 47678.5-2026'),
('matter', '02019', '02', '交通设施类', '安全岛异常', 'GB/T 47678.5-2026'),
('matter', '02020', '02', '交通设施类', '人行横道桩异常', 'GB/T 47678.5-2026'),
('matter', '02021', '02', '交通设施类', '便道桩异常', 'GB/T 47678.5-2026'),
('matter', '02022', '02', '交通设施类', '柔性隔离体异常', 'GB/T 47678.5-2026'),
('matter', '02023', '02', '交通设施类', '道路信息显示屏异常', 'GB/T 47678.5-2026'),
('matter', '02024', '02', '交通设施类', '道路隔音屏异常', 'GB/T 47678.5-2026'),
('matter', '02025', '02', '交通设施类', '非机动车停放点异常', 'GB/T 47678.5-2026'),
('matter', '02026', '02', '交通设施类', '自行车租赁点异常', 'GB/T 47678.5-2026'),
('matter', '02027', '02', '交通设施类', '存车支架异常', 'GB/T 47678.5-2026'),
('matter', '02028', '02', '交通设施类', '铁道口设施异常', 'GB/T 47678.5-2026'),
('matter', '02029', '02', '交通设施类', '栈桥异常', 'GB/T 47678.5-2026'),
('matter', '02030', '02', '交通设施类', '水域标示牌异常', 'GB/T 47678.5-2026'),
('matter', '02031', '02', '交通设施类', '港监设施异常', 'GB/T 47678.5-2026'),
('matter', '02032', '02', '交通设施类', '轨道交通设施异常', 'GB/T 47678.5-2026'),
('matter', '02033', '02', '交通设施类', '交通反视镜异常', 'GB/T 47678.5-2026'),
('matter', '02034', '02', '交通设施类', '无障碍设施异常', 'GB/T 47678.5-2026'),
('matter', '02035', '02', '交通设施类', '应急避难指示牌异常', 'GB/T 47678.5-2026'),
('matter', '02036', '02', '交通设施类', '救助站指示牌异常', 'GB/T 47678.5-2026'),
('matter', '02037', '02', '交通设施类', '文物建筑标志牌异常', 'GB/T 47678.5-2026'),
('matter', '02038', '02', '交通设施类', '门（楼号）牌异常', 'GB/T 47678.5-2026'),
('matter', '02039', '02', '交通设施类', '公安指示牌异常', 'GB/T 47678.5-2026'),
('matter', '02040', '02', '交通设施类', '景区标识牌异常', 'GB/T 47678.5-2026'),
('matter', '02041', '02', '交通设施类', '停车信息显示屏异常', 'GB/T 47678.5-2026'),
('matter', '02042', '02', '交通设施类', '铁路桥涵异常', 'GB/T 47678.5-2026'),
('matter', '02043', '02', '交通设施类', '减速带异常', 'GB/T 47678.5-2026'),
('matter', '02044', '02', '交通设施类', '公路隧道异常', 'GB/T 47678.5-2026'),
('matter', '03001', '03', '市容环卫设施类', '公共厕所异常', 'GB/T 47678.5-2026'),
('matter', '03002', '03', '市容环卫设施类', '公厕指示牌异常', 'GB/T 47678.5-2026'),
('matter', '03003', '03', '市容环卫设施类', '化粪池异常', 'GB/T 47678.5-2026'),
('matter', '03004', '03', '市容环卫设施类', '垃圾间（楼）异常', 'GB/T 47678.5-2026'),
('matter', '03005', '03', '市容环卫设施类', '垃圾箱异常', 'GB/T 47678.5-2026'),
('matter', '03006', '03', '市容环卫设施类', '户外广告异常', 'GB/T 47678.5-2026'),
('matter', '03007', '03', '市容环卫设施类', '牌匾标识异常', 'GB/T 47678.5-2026'),
('matter', '03008', '03', '市容环卫设施类', '宣传栏异常', 'GB/T 47678.5-2026'),
('matter', '03009', '03', '市容环卫设施类', '气象监测站异常', 'GB/T 47678.5-2026'),
('matter', '03010', '03', '市容环卫设施类', '环保监测站异常', 'GB/T 47678.5-2026'),
('matter', '03011', '03', '市容环卫设施类', '污水口监测站异常', 'GB/T 47678.5-2026'),
('matter', '03012', '03', '市容环卫设施类', '污水监测器异常', 'GB/T 47678.5-2026'),
('matter', '03013', '03', '市容环卫设施类', '噪声显示屏异常', 'GB/T 47678.5-2026'),
('matter', '03014', '03', '市容环卫设施类', '环卫工具间（箱）异常', 'GB/T 47678.5-2026'),
('matter', '03015', '03', '市容环卫设施类', '宠物拾便纸箱异常', 'GB/T 47678.5-2026'),
('matter', '03016', '03', '市容环卫设施类', '烟头收集器或灭烟处异常', 'GB/T 47678.5-2026'),
('matter', '04001', '04', '园林绿化设施类', '古树名木异常', 'GB/T 47678.5-2026'),
('matter', '04002', '04', '园林绿化设施类', '行道树异常', 'GB/T 47678.5-2026'),
('matter', '04003', '04', '园林绿化设施类', '独立树异常', 'GB/T 47678.5-2026'),
('matter', '04004', '04', '园林绿化设施类', '护树设施异常', 'GB/T 47678.5-2026'),
('matter', '04005', '04', '园林绿化设施类', '花架花钵异常', 'GB/T 47678.5-2026'),
('matter', '04006', '04', '园林绿化设施类', '雕塑异常', 'GB/T 47678.5-2026'),
('matter', '04007', '04', '园林绿化设施类', '街头座椅异常', 'GB/T 47678.5-2026'),
('matter', '04008', '04', '园林绿化设施类', '绿地护栏异常', 'GB/T 47678.5-2026'),
('matter', '04009', '04', '园林绿化设施类', '绿地附属设施异常', 'GB/T 47678.5-2026'),
('matter', '04010', '04', '园林绿化设施类', '喷泉异常', 'GB/T 47678.5-2026'),
('matter', '04011', '04', '园林绿化设施类', '树池树穴异常', 'GB/T 47678.5-2026'),
('matter', '04012', '04', '园林绿化设施类', '高架挂箱异常', 'GB/T 47678.5-2026'),
('matter', '04013', '04', '园林绿化设施类', '绿地异常', 'GB/T 47678.5-2026'),
('matter', '04014', '04', '园林绿化设施类', '林地及林地管护设施异常', 'GB/T 47678.5-2026'),
('matter', '05002', '05', '其他管理部件类', '公房地下室异常', 'GB/T 47678.5-2026'),
('matter', '05003', '05', '其他管理部件类', '车辆加油（气、电）站异常', 'GB/T 47678.5-2026'),
('matter', '05009', '05', '其他管理部件类', '文物古迹异常', 'GB/T 47678.5-2026'),
('matter', '06001', '06', '市容环境类', '私搭乱建', 'GB/T 47678.5-2026'),
('matter', '06002', '06', '市容环境类', '店面无证装修', 'GB/T 47678.5-2026'),
('matter', '06003', '06', '市容环境类', '违章接坡', 'GB/T 47678.5-2026'),
('matter', '06004', '06', '市容环境类', '建筑物外立面污损', 'GB/T 47678.5-2026'),
('matter', '06005', '06', '市容环境类', '临街阳台、屋顶脏乱差', 'GB/T 47678.5-2026'),
('matter', '06006', '06', '市容环境类', '擅自在临街的建筑物上挂彩旗', 'GB/T 47678.5-2026'),
('matter', '06007', '06', '市容环境类', '沿街晾挂', 'GB/T 47678.5-2026'),
('matter', '06008', '06', '市容环境类', '擅自架设管线、杆线设施', 'GB/T 47678.5-2026'),
('matter', '06009', '06', '市容环境类', '空调室外机低挂', 'GB/T 47678.5-2026'),
('matter', '06010', '06', '市容环境类', '暴露垃圾', 'GB/T 47678.5-2026'),
('matter', '06011', '06', '市容环境类', '积存垃圾渣土', 'GB/T 47678.5-2026'),
('matter', '06012', '06', '市容环境类', '道路不洁', 'GB/T 47678.5-2026'),
('matter', '06013', '06', '市容环境类', '道路破损', 'GB/T 47678.5-2026'),
('matter', '06014', '06', '市容环境类', '道路遗撒（洒）', 'GB/T 47678.5-2026'),
('matter', '06015', '06', '市容环境类', '沙（河）滩不洁', 'GB/T 47678.5-2026'),
('matter', '06016', '06', '市容环境类', '交通标线不清晰', 'GB/T 47678.5-2026'),
('matter', '06017', '06', '市容环境类', '绿地脏乱', 'GB/T 47678.5-2026'),
('matter', '06018', '06', '市容环境类', '绿化弃料', 'GB/T 47678.5-2026'),
('matter', '06019', '06', '市容环境类', '非装饰性吊挂', 'GB/T 47678.5-2026'),
('matter', '06020', '06', '市容环境类', '焚烧垃圾、树叶', 'GB/T 47678.5-2026'),
('matter', '06021', '06', '市容环境类', '病虫害', 'GB/T 47678.5-2026'),
('matter', '06022', '06', '市容环境类', '非法伐树', 'GB/T 47678.5-2026'),
('matter', '06023', '06', '市容环境类', '堤岸破损', 'GB/T 47678.5-2026'),
('matter', '06024', '06', '市容环境类', '水域秩序乱象', 'GB/T 47678.5-2026'),
('matter', '06025', '06', '市容环境类', '水域不洁', 'GB/T 47678.5-2026'),
('matter', '06026', '06', '市容环境类', '河道污染', 'GB/T 47678.5-2026'),
('matter', '06027', '06', '市容环境类', '油烟污染', 'GB/T 47678.5-2026'),
('matter', '06028', '06', '市容环境类', '噪声扰民', 'GB/T 47678.5-2026'),
('matter', '06029', '06', '市容环境类', '露天烧烤', 'GB/T 47678.5-2026'),
('matter', '06030', '06', '市容环境类', '乱倒乱排污水、废水', 'GB/T 47678.5-2026'),
('matter', '06032', '06', '市容环境类', '非正规垃圾填埋场', 'GB/T 47678.5-2026'),
('matter', '06033', '06', '市容环境类', '乱丢弃医疗废物', 'GB/T 47678.5-2026'),
('matter', '06034', '06', '市容环境类', '废弃车辆', 'GB/T 47678.5-2026'),
('matter', '06035', '06', '市容环境类', '废弃家具设备', 'GB/T 47678.5-2026'),
('matter', '06036', '06', '市容环境类', '乱堆杂物', 'GB/T 47678.5-2026'),
('matter', '06037', '06', '市容环境类', '动物尸体', 'GB/T 47678.5-2026'),
('matter', '06038', '06', '市容环境类', '擅自饲养家禽家畜', 'GB/T 47678.5-2026'),
('matter', '06039', '06', '市容环境类', '违章开设道口', 'GB/T 47678.5-2026'),
('matter', '06040', '06', '市容环境类', '私设地锁、阻车桩', 'GB/T 47678.5-2026'),
('matter', '06041', '06', '市容环境类', '垃圾未分类', 'GB/T 47678.5-2026'),
('matter', '06042', '06', '市容环境类', '垃圾站（箱）满溢', 'GB/T 47678.5-2026'),
('matter', '06043', '06', '市容环境类', '遮阳篷（棚、伞）破损', 'GB/T 47678.5-2026'),
('matter', '06044', '06', '市容环境类', '节庆装饰物破损', 'GB/T 47678.5-2026'),
('matter', '06045', '06', '市容环境类', '非法占绿毁绿', 'GB/T 47678.5-2026'),
('matter', '06046', '06', '市容环境类', '占用河道', 'GB/T 47678.5-2026'),
('matter', '06047', '06', '市容环境类', '公园秩序', 'GB/T 47678.5-2026'),
('matter', '06048', '06', '市容环境类', '边坡（挡土墙）破损', 'GB/T 47678.5-2026'),
('matter', '06049', '06', '市容环境类', '台阶破损', 'GB/T 47678.5-2026'),
('matter', '06050', '06', '市容环境类', '路缘石缺损', 'GB/T 47678.5-2026'),
('matter', '06051', '06', '市容环境类', '盲道缺损', 'GB/T 47678.5-2026'),
('matter', '06052', '06', '市容环境类', '无障碍坡道破损', 'GB/T 47678.5-2026'),
('matter', '07001', '07', '宣传广告类', '非法小广告', 'GB/T 47678.5-2026'),
('matter', '07002', '07', '宣传广告类', '街头散发广告', 'GB/T 47678.5-2026'),
('matter', '07003', '07', '宣传广告类', '违规户外广告', 'GB/T 47678.5-2026'),
('matter', '07004', '07', '宣传广告类', '广告语言文字不规范', 'GB/T 47678.5-2026'),
('matter', '07006', '07', '宣传广告类', '违规牌匾标识', 'GB/T 47678.5-2026'),
('matter', '07007', '07', '宣传广告类', '违规标语宣传品', 'GB/T 47678.5-2026'),
('matter', '07008', '07', '宣传广告类', '公益性宣传品缺损', 'GB/T 47678.5-2026'),
('matter', '08001', '08', '施工管理类', '施工扰民', 'GB/T 47678.5-2026'),
('matter', '08002', '08', '施工管理类', '施工占道', 'GB/T 47678.5-2026'),
('matter', '08003', '08', '施工管理类', '无证掘路', 'GB/T 47678.5-2026'),
('matter', '08004', '08', '施工管理类', '工地扬尘', 'GB/T 47678.5-2026'),
('matter', '08005', '08', '施工管理类', '施工废弃料', 'GB/T 47678.5-2026'),
('matter', '08006', '08', '施工管理类', '施工物料乱堆放', 'GB/T 47678.5-2026'),
('matter', '08007', '08', '施工管理类', '施工工地围挡问题', 'GB/T 47678.5-2026'),
('matter', '08008', '08', '施工管理类', '施工工地道路未硬化', 'GB/T 47678.5-2026'),
('matter', '08009', '08', '施工管理类', '施工工地出入口道路破损', 'GB/T 47678.5-2026'),
('matter', '08010', '08', '施工管理类', '施工完成后未场光地净', 'GB/T 47678.5-2026'),
('matter', '08011', '08', '施工管理类', '渣土运输车辆未安装密闭装置', 'GB/T 47678.5-2026'),
('matter', '08012', '08', '施工管理类', '施工工地车轮夹带', 'GB/T 47678.5-2026'),
('matter', '08013', '08', '施工管理类', '违规高空悬吊作业', 'GB/T 47678.5-2026'),
('matter', '08014', '08', '施工管理类', '预埋件设施裸露', 'GB/T 47678.5-2026'),
('matter', '08015', '08', '施工管理类', '施工公示牌污损', 'GB/T 47678.5-2026'),
('matter', '08016', '08', '施工管理类', '无证建设', 'GB/T 47678.5-2026'),
('matter', '09001', '09', '街面秩序类', '无照经营游商', 'GB/T 47678.5-2026'),
('matter', '09002', '09', '街面秩序类', '早（夜）市管理问题', 'GB/T 47678.5-2026'),
('matter', '09003', '09', '街面秩序类', '流浪乞讨', 'GB/T 47678.5-2026'),
('matter', '09004', '09', '街面秩序类', '废品收购乱象', 'GB/T 47678.5-2026'),
('matter', '09005', '09', '街面秩序类', '店外经营', 'GB/T 47678.5-2026'),
('matter', '09006', '09', '街面秩序类', '占道经营', 'GB/T 47678.5-2026'),
('matter', '09008', '09', '街面秩序类', '非法出版物销售', 'GB/T 47678.5-2026'),
('matter', '09009', '09', '街面秩序类', '机动车乱停放', 'GB/T 47678.5-2026'),
('matter', '09010', '09', '街面秩序类', '非机动车乱停放', 'GB/T 47678.5-2026'),
('matter', '09011', '09', '街面秩序类', '共享单车乱象', 'GB/T 47678.5-2026'),
('matter', '09012', '09', '街面秩序类', '占用消防通道', 'GB/T 47678.5-2026'),
('matter', '09013', '09', '街面秩序类', '临街屠宰', 'GB/T 47678.5-2026'),
('matter', '09014', '09', '街面秩序类', '畜力车进城', 'GB/T 47678.5-2026'),
('matter', '09015', '09', '街面秩序类', '无证餐饮', 'GB/T 47678.5-2026'),
('matter', '09016', '09', '街面秩序类', '违规设置停车场', 'GB/T 47678.5-2026'),
('matter', '09017', '09', '街面秩序类', '违规占用桥下空间', 'GB/T 47678.5-2026'),
('matter', '09018', '09', '街面秩序类', '履带车（铁轮车）违规上路行驶', 'GB/T 47678.5-2026'),
('matter', '09019', '09', '街面秩序类', '占用无障碍通道', 'GB/T 47678.5-2026'),
('matter', '09020', '09', '街面秩序类', '农贸市场秩序问题', 'GB/T 47678.5-2026'),
('matter', '09021', '09', '街面秩序类', '占道洗车', 'GB/T 47678.5-2026'),
('matter', '09022', '09', '街面秩序类', '占道促销宣传', 'GB/T 47678.5-2026'),
('matter', '10001', '10', '其他事项类', '道路积雪、结冰', 'GB/T 47678.5-2026'),
('matter', '10002', '10', '其他事项类', '架空线缆脱落', 'GB/T 47678.5-2026');
INSERT INTO legacy_classes (kind, code, major_code, major_name, name, new_code, how, note) VALUES
('component', '0101', '01', '公用设施', '上水井盖', '01001', 'renamed', ''),
('component', '0102', '01', '公用设施', '污水井盖', '01002', 'name', ''),
('component', '0103', '01', '公用设施', '雨水井盖', '01003', 'name', ''),
('component', '0104', '01', '公用设施', '雨水箅子', '01004', 'name', ''),
('component', '0105', '01', '公用设施', '电力井盖', '01005', 'name', ''),
('component', '0106', '01', '公用设施', '路灯井盖', '01006', 'name', ''),
('component', '0107', '01', '公用设施', '通讯井盖', '01007', 'renamed', ''),
('component', '0108', '01', '公用设施', '电视井盖', '01008', 'name', ''),
('component', '0109', '01', '公用设施', '网络井盖', '01009', 'name', ''),
('component', '0110', '01', '公用设施', '热力井盖', '01010', 'name', ''),
('component', '0111', '01', '公用设施', '燃气井盖', '01011', 'name', ''),
('component', '0112', '01', '公用设施', '公安井盖', '01012', 'name', ''),
('component', '0113', '01', '公用设施', '消防设施', '01013', 'name', ''),
('component', '0114', '01', '公用设施', '无主井盖', '01023', 'renamed', ''),
('component', '0115', '01', '公用设施', '通讯交接箱', '01027', 'renamed', ''),
('component', '0116', '01', '公用设施', '电力设施', '01028', 'name', ''),
('component', '0117', '01', '公用设施', '立杆', NULL, 'none', 'split in the new standard into 01030-01034 (power, telecom, bus, special, unknown poles): give class_code'),
('component', '0118', '01', '公用设施', '路灯', '01037', 'name', ''),
('component', '0119', '01', '公用设施', '地灯', '01038', 'name', ''),
('component', '0120', '01', '公用设施', '景观灯', '01039', 'name', ''),
('component', '0121', '01', '公用设施', '报刊亭', '01040', 'name', ''),
('component', '0122', '01', '公用设施', '电话亭', '01041', 'name', ''),
('component', '0123', '01', '公用设施', '邮筒', '01042', 'name', ''),
('component', '0124', '01', '公用设施', '信息亭', '01043', 'name', ''),
('component', '0125', '01', '公用设施', '自动售货机', '01045', 'name', ''),
('component', '0126', '01', '公用设施', '健身设施', '01046', 'renamed', ''),
('component', '0127', '01', '公用设施', '中水井盖', '01019', 'name', ''),
('component', '0128', '01', '公用设施', '公交井盖', '01020', 'name', ''),
('component', '0129', '01', '公用设施', '输油(气)井盖', '01021', 'name', ''),
('component', '0130', '01', '公用设施', '特殊井盖', '01022', 'name', ''),
('component', '0131', '01', '公用设施', '民用水井', '01024', 'renamed', ''),
('component', '0132', '01', '公用设施', '供水器', '01025', 'name', ''),
('component', '0133', '01', '公用设施', '高压线铁塔', '01047', 'name', ''),
('component', '0134', '01', '公用设施', '变压器(箱)', '01048', 'name', ''),
('component', '0135', '01', '公用设施', '燃气调压站(箱)', '01049', 'name', ''),
('component', '0136', '01', '公用设施', '监控电子眼', '01050', 'renamed', ''),
('component', '0137', '01', '公用设施', '售货亭', '01044', 'name', ''),
('component', '0138', '01', '公用设施', '治安岗亭', '01051', 'name', ''),
('component', '0201', '02', '道路交通', '停车场', '02001', 'name', ''),
('component', '0202', '02', '道路交通', '停车咪表', '02003', 'renamed', ''),
('component', '0203', '02', '道路交通', '公交站亭', '02004', 'renamed', ''),
('component', '0204', '02', '道路交通', '出租车站牌', '02005', 'renamed', ''),
('component', '0205', '02', '道路交通', '过街天桥', '02006', 'name', ''),
('component', '0206', '02', '道路交通', '地下通道', '02007', 'name', ''),
('component', '0207', '02', '道路交通', '高架立交桥', '02008', 'renamed', ''),
('component', '0208', '02', '道路交通', '跨河桥', '02009', 'name', ''),
('component', '0209', '02', '道路交通', '交通标志牌', '02010', 'renamed', ''),
('component', '0210', '02', '道路交通', '交通信号灯', '02014', 'name', ''),
('component', '0211', '02', '道路交通', '交通护栏', '02017', 'name', ''),
('component', '0212', '02', '道路交通', '存车支架', '02027', 'name', ''),
('component', '0213', '02', '道路交通', '路名牌', '02012', 'name', ''),
('component', '0214', '02', '道路交通', '交通信号设施', '02015', 'name', ''),
('component', '0215', '02', '道路交通', '道路信息显示屏', '02023', 'name', ''),
('component', '0216', '02', '道路交通', '道路隔音屏', '02024', 'name', ''),
('component', '0217', '02', '道路交通', '交通岗亭', '02016', 'name', ''),
('component', '0301', '03', '市容环境', '公共厕所', '03001', 'name', ''),
('component', '0302', '03', '市容环境', '化粪池', '03003', 'name', ''),
('component', '0303', '03', '市容环境', '公厕指示牌', '03002', 'name', ''),
('component', '0304', '03', '市容环境', '垃圾间(楼)', '03004', 'name', ''),
('component', '0305', '03', '市容环境', '垃圾箱', '03005', 'name', ''),
('component', '0306', '03', '市容环境', '灯箱霓虹灯', '03006', 'renamed', ''),
('component', '0307', '03', '市容环境', '广告牌匾', '03007', 'renamed', ''),
('component', '0308', '03', '市容环境', '环保监测站', '03010', 'name', ''),
('component', '0309', '03', '市容环境', '气象监测站', '03009', 'name', ''),
('component', '0310', '03', '市容环境', '污水口监测站', '03011', 'name', ''),
('component', '0401', '04', '园林绿化', '古树名木', '04001', 'name', ''),
('component', '0402', '04', '园林绿化', '行道树', '04002', 'name', ''),
('component', '0403', '04', '园林绿化', '护树设施', '04004', 'name', ''),
('component', '0404', '04', '园林绿化', '花架花钵', '04005', 'name', ''),
('component', '0405', '04', '园林绿化', '绿地', '04013', 'name', ''),
('component', '0406', '04', '园林绿化', '雕塑', '04006', 'name', ''),
('component', '0407', '04', '园林绿化', '街头坐椅', '04007', 'renamed', ''),
('component', '0408', '04', '园林绿化', '绿地护栏', '04008', 'name', ''),
('component', '0409', '04', '园林绿化', '绿地维护设施', '04009', 'renamed', ''),
('component', '0410', '04', '园林绿化', '喷泉', '04010', 'name', ''),
('component', '0501', '05', '房屋土地', '宣传栏', '03008', 'name', ''),
('component', '0502', '05', '房屋土地', '人防工事', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('component', '0601', '06', '其他设施', '重大危险源', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('component', '0602', '06', '其他设施', '工地', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('component', '0603', '06', '其他设施', '水域附属设施', '01069', 'name', ''),
('component', '0604', '06', '其他设施', '水域护栏', '01070', 'name', ''),
('component', '0606', '06', '其他设施', '防洪墙', '01071', 'renamed', ''),
('matter', '0101', '01', '市容环境', '私搭乱建', '06001', 'name', ''),
('matter', '0102', '01', '市容环境', '暴露垃圾', '06010', 'name', ''),
('matter', '0103', '01', '市容环境', '积存垃圾渣土', '06011', 'name', ''),
('matter', '0104', '01', '市容环境', '道路不洁', '06012', 'name', ''),
('matter', '0105', '01', '市容环境', '水域不洁', '06025', 'name', ''),
('matter', '0106', '01', '市容环境', '绿地脏乱', '06017', 'name', ''),
('matter', '0107', '01', '市容环境', '废弃车辆', '06034', 'name', ''),
('matter', '0108', '01', '市容环境', '废弃家具设施', '06035', 'renamed', ''),
('matter', '0109', '01', '市容环境', '非装饰性树挂', '06019', 'renamed', ''),
('matter', '0110', '01', '市容环境', '道路破损', '06013', 'name', ''),
('matter', '0111', '01', '市容环境', '河堤破损', '06023', 'renamed', ''),
('matter', '0112', '01', '市容环境', '道路遗撒', '06014', 'renamed', ''),
('matter', '0113', '01', '市容环境', '建筑物外立面不洁', '06004', 'renamed', ''),
('matter', '0114', '01', '市容环境', '水域秩序问题', '06024', 'renamed', ''),
('matter', '0115', '01', '市容环境', '焚烧树叶、垃圾', '06020', 'renamed', ''),
('matter', '0116', '01', '市容环境', '油烟污染', '06027', 'name', ''),
('matter', '0117', '01', '市容环境', '动物尸体清理', '06037', 'renamed', ''),
('matter', '0118', '01', '市容环境', '私自饲养家禽家畜', '06038', 'renamed', ''),
('matter', '0199', '01', '市容环境', '其他市容环境问题', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0201', '02', '宣传广告', '非法小广告', '07001', 'name', ''),
('matter', '0202', '02', '宣传广告', '违章张贴悬挂广告牌匾', '07003', 'renamed', ''),
('matter', '0203', '02', '宣传广告', '占道广告牌', '07003', 'renamed', ''),
('matter', '0204', '02', '宣传广告', '街头散发广告', '07002', 'name', ''),
('matter', '0205', '02', '宣传广告', '广告招牌破损', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0301', '03', '施工管理', '施工扰民', '08001', 'name', ''),
('matter', '0302', '03', '施工管理', '工地扬尘', '08004', 'name', ''),
('matter', '0303', '03', '施工管理', '施工废弃料', '08005', 'name', ''),
('matter', '0304', '03', '施工管理', '施工占道', '08002', 'name', ''),
('matter', '0305', '03', '施工管理', '无证掘路', '08003', 'name', ''),
('matter', '0399', '03', '施工管理', '其他施工管理问题', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0401', '04', '突发事件', '路面塌陷', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0402', '04', '突发事件', '自来水管破裂', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0403', '04', '突发事件', '燃气管道破裂', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0404', '04', '突发事件', '下水道堵塞或破损', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0405', '04', '突发事件', '热力管道破裂', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0406', '04', '突发事件', '道路积水', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0407', '04', '突发事件', '道路积雪结冰', '10001', 'name', ''),
('matter', '0408', '04', '突发事件', '架空线缆损坏', '10002', 'renamed', ''),
('matter', '0409', '04', '突发事件', '群发性事件', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0499', '04', '突发事件', '其他突发事件', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0501', '05', '街面秩序', '无照经营游商', '09001', 'name', ''),
('matter', '0502', '05', '街面秩序', '流浪乞讨', '09003', 'name', ''),
('matter', '0503', '05', '街面秩序', '占道废品收购', '09004', 'renamed', ''),
('matter', '0504', '05', '街面秩序', '店外经营', '09005', 'name', ''),
('matter', '0505', '05', '街面秩序', '机动车乱停放', '09009', 'name', ''),
('matter', '0506', '05', '街面秩序', '非机动车乱停放', '09010', 'name', ''),
('matter', '0507', '05', '街面秩序', '乱堆物堆料', '06036', 'renamed', ''),
('matter', '0508', '05', '街面秩序', '商业噪音', '06028', 'renamed', ''),
('matter', '0509', '05', '街面秩序', '黑车拉客', NULL, 'none', 'no counterpart in GB/T 47678.5-2026'),
('matter', '0510', '05', '街面秩序', '露天烧烤', '06029', 'name', ''),
('matter', '0511', '05', '街面秩序', '沿街晾挂', '06007', 'name', ''),
('matter', '0512', '05', '街面秩序', '非法出版物销售', '09008', 'name', ''),
('matter', '0513', '05', '街面秩序', '空调室外机低挂', '06009', 'name', ''),
('matter', '0599', '05', '街面秩序', '其他街面秩序问题', NULL, 'none', 'no counterpart in GB/T 47678.5-2026');
-- END CATALOGUE
