-- gridd builder: line layers, the unit-grid partition of a community, and
-- the rule that keeps management grids consistent with their unit grids.
--
-- Metric work happens in the CGCS2000 3-degree Gauss-Kruger zone of the
-- area's central longitude (EPSG:4534..4554, central meridians 75E..135E;
-- EPSG:4548 for Beijing). Geometry is stored and noded in EPSG:4326, so a
-- community's own vertices are never moved by a round trip through the
-- projection. Every area the builder reports or checks is gridd_area_m2:
-- ST_Area of the geometry, densified, in that metric CRS.

-- Line features that cut communities into blocks: roads, rivers, walls.
-- layer groups a file's features (the build can use one layer or all).
CREATE TABLE lines (
    id          bigserial PRIMARY KEY,
    layer       text NOT NULL CHECK (layer ~ '^[0-9A-Za-z_-]{1,64}$'),
    class       text NOT NULL DEFAULT '' ,
    name        text NOT NULL DEFAULT '',
    source_id   text,
    geom        geometry(Geometry, 4326) NOT NULL
                CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING') AND ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX lines_geom ON lines USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX lines_layer ON lines (layer) WHERE valid_to IS NULL;
SELECT gridd_watch('lines');

-- gridd_metric_srid: the CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534 to
-- 4554) whose central meridian is nearest the geometry's centre.
CREATE OR REPLACE FUNCTION gridd_metric_srid(g geometry) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 4534 + least(20, greatest(0, round(((ST_XMin(g) + ST_XMax(g)) / 2 - 75) / 3)::int))
$$;

-- gridd_to_metric projects an EPSG:4326 geometry into the metric CRS srid.
-- WGS-84 and CGCS2000 (EPSG:4490) are treated as the same datum (they lie
-- within about a metre of each other), which keeps the transform a pure
-- projection: fast, and exactly invertible by gridd_from_metric up to
-- floating point.
CREATE OR REPLACE FUNCTION gridd_to_metric(g geometry, srid integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_SetSRID(g, 4490), srid)
$$;

-- gridd_from_metric brings a geometry of a metric CRS back to EPSG:4326.
CREATE OR REPLACE FUNCTION gridd_from_metric(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_SetSRID(ST_Transform(g, 4490), 4326)
$$;

-- gridd_area_m2: the area of an EPSG:4326 geometry in m², measured in the
-- metric CRS srid after densifying its edges to at most 1e-4 degree (about
-- 10 m). Every area the builder stores, reports or checks is this. Edges are
-- straight in EPSG:4326, where grids are noded exactly; a straight edge there
-- is slightly curved in the projection, so without densifying, a vertex that
-- a cut inserts on a community's long edge would bulge the grids' projected
-- areas away from the community's by up to a few m². Densified, the areas of
-- the grids sum to the area of their community within about 1e-4 m².
CREATE OR REPLACE FUNCTION gridd_area_m2(g geometry, srid integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Area(ST_Transform(ST_SetSRID(ST_Segmentize(g, 0.0001), 4490), srid))
$$;

-- gridd_width_m: the diameter of the largest circle inside the polygon, in
-- metres: the builder's measure of how narrow a piece is.
CREATE OR REPLACE FUNCTION gridd_width_m(g geometry, srid integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * radius FROM ST_MaximumInscribedCircle(gridd_to_metric(g, srid))
$$;

-- gridd_narrow: whether the polygon is narrower than min_width metres
-- everywhere, i.e. no circle of that diameter fits inside it (tested by
-- erosion, a fast stand-in for gridd_width_m).
CREATE OR REPLACE FUNCTION gridd_narrow(g geometry, srid integer, min_width double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_IsEmpty(ST_Buffer(gridd_to_metric(g, srid), -min_width / 2))
$$;

-- gridd_shared_m: length in metres of the boundary two pieces share.
CREATE OR REPLACE FUNCTION gridd_shared_m(a geometry, b geometry, srid integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(ST_Length(gridd_to_metric(ST_CollectionExtract(
        ST_Intersection(ST_Boundary(a), ST_Boundary(b)), 2), srid)), 0)
$$;

-- gridd_merge_small merges every piece that is smaller than min_area m² or
-- narrower than min_width m into the neighbour with which it shares the
-- longest edge, smallest first, until none is left that has a neighbour.
-- Pieces must share their edges exactly (polygonized or noded linework), so
-- each union is exact. Pieces with no neighbour are kept as they are.
CREATE OR REPLACE FUNCTION gridd_merge_small(pieces geometry[], min_area double precision,
                                  min_width double precision, srid integer)
RETURNS geometry[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n      integer := coalesce(array_length(pieces, 1), 0);
    areas  double precision[];
    narrow boolean[];
    alive  boolean[];
    stuck  boolean[];
    i integer; j integer; cand integer; best integer;
    len double precision; bestlen double precision;
    merged geometry;
    out    geometry[] := '{}';
BEGIN
    FOR i IN 1..n LOOP
        areas[i] := gridd_area_m2(pieces[i], srid);
        narrow[i] := areas[i] >= min_area AND gridd_narrow(pieces[i], srid, min_width);
        alive[i] := true;
        stuck[i] := false;
    END LOOP;
    LOOP
        cand := NULL;
        FOR i IN 1..n LOOP
            IF alive[i] AND NOT stuck[i] AND (areas[i] < min_area OR narrow[i])
               AND (cand IS NULL OR areas[i] < areas[cand]) THEN
                cand := i;
            END IF;
        END LOOP;
        EXIT WHEN cand IS NULL;
        best := NULL; bestlen := 0;
        FOR j IN 1..n LOOP
            IF j <> cand AND alive[j] AND pieces[j] && pieces[cand] THEN
                len := gridd_shared_m(pieces[cand], pieces[j], srid);
                IF len > bestlen THEN best := j; bestlen := len; END IF;
            END IF;
        END LOOP;
        IF best IS NULL OR bestlen <= 0 THEN
            stuck[cand] := true;
            CONTINUE;
        END IF;
        merged := ST_Union(pieces[best], pieces[cand]);
        IF GeometryType(merged) <> 'POLYGON' THEN
            stuck[cand] := true;
            CONTINUE;
        END IF;
        pieces[best] := merged;
        alive[cand] := false;
        areas[best] := gridd_area_m2(merged, srid);
        narrow[best] := areas[best] >= min_area AND gridd_narrow(merged, srid, min_width);
        stuck[best] := false;
    END LOOP;
    FOR i IN 1..n LOOP
        IF alive[i] THEN out := out || pieces[i]; END IF;
    END LOOP;
    RETURN out;
END $$;

-- gridd_kmeans_split splits a polygon into about k parts of similar area:
-- k-means clusters of points spread evenly over it, and the Voronoi cells of
-- the cluster centres cut by the polygon. Used where straight cuts would give
-- multipart pieces. Deterministic (fixed point seed).
CREATE OR REPLACE FUNCTION gridd_kmeans_split(b geometry, k integer, srid integer) RETURNS geometry[]
LANGUAGE sql IMMUTABLE AS $$
    WITH bm AS (SELECT gridd_to_metric(b, srid) AS g),
    pts AS (SELECT (ST_Dump(ST_GeneratePoints(g, 40 * k, 1))).geom AS p FROM bm),
    cl AS (SELECT p, ST_ClusterKMeans(p, k) OVER () AS c FROM pts),
    ctr AS (SELECT ST_Centroid(ST_Collect(p)) AS c FROM cl GROUP BY c),
    cells AS (
        SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(c), 0,
                   (SELECT ST_Expand(ST_Envelope(g), 50) FROM bm)))).geom AS cell
        FROM ctr)
    SELECT coalesce(array_agg(x.geom), ARRAY[b])
    FROM cells
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(b, gridd_from_metric(cell)), 3)) x
$$;

-- gridd_cut splits polygon b (EPSG:4326; bm is it in the metric CRS) with
-- the straight line across it, perpendicular to direction ang (radians, in
-- the metric CRS), that leaves frac of its area on one side. It returns the
-- two halves, or NULL when the cut does not give two single polygons that
-- keep the whole area (a concave or near-pinched outline).
CREATE OR REPLACE FUNCTION gridd_cut(b geometry, bm geometry, ang double precision, frac double precision,
                                     srid integer, OUT side1 geometry, OUT side2 geometry)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    c geometry := ST_Centroid(bm);
    r geometry := ST_Rotate(bm, -ang, c);
    want double precision := ST_Area(bm) * frac;
    x0 double precision := ST_XMin(r); x1 double precision := ST_XMax(r);
    y0 double precision := ST_YMin(r); y1 double precision := ST_YMax(r);
    lo double precision := ST_XMin(r); hi double precision := ST_XMax(r); mid double precision;
    flo double precision := -want; fhi double precision := ST_Area(bm) - want; fmid double precision;
    side integer := 0;
    cut geometry; it integer;
BEGIN
    -- In the turned frame the cut is the vertical line x = mid, where the
    -- area left of it is want: found by regula falsi (Illinois variant) to
    -- within 0.1% of the area.
    FOR it IN 1..30 LOOP
        mid := (lo * fhi - hi * flo) / (fhi - flo);
        fmid := ST_Area(ST_ClipByBox2D(r, ST_MakeEnvelope(x0 - 1, y0 - 1, mid, y1 + 1))) - want;
        EXIT WHEN abs(fmid) < 0.001 * want;
        IF fmid < 0 THEN
            lo := mid; flo := fmid;
            IF side = -1 THEN fhi := fhi / 2; END IF;
            side := -1;
        ELSE
            hi := mid; fhi := fmid;
            IF side = 1 THEN flo := flo / 2; END IF;
            side := 1;
        END IF;
    END LOOP;
    cut := ST_Rotate(ST_SetSRID(ST_MakeLine(ST_MakePoint(mid, y0 - 10), ST_MakePoint(mid, y1 + 10)), srid), ang, c);
    SELECT ST_Union(d.geom) FILTER (WHERE s.first), ST_Union(d.geom) FILTER (WHERE NOT s.first)
      INTO side1, side2
      FROM ST_Dump(ST_CollectionExtract(ST_Split(b, gridd_from_metric(cut)), 3)) d
      CROSS JOIN LATERAL (SELECT ST_Rotate(gridd_to_metric(ST_PointOnSurface(d.geom), srid), -ang, c) AS p) q
      CROSS JOIN LATERAL (SELECT ST_X(q.p) < mid AS first) s;
    IF side1 IS NULL OR side2 IS NULL
       OR GeometryType(side1) <> 'POLYGON' OR GeometryType(side2) <> 'POLYGON'
       OR abs(gridd_area_m2(side1, srid) + gridd_area_m2(side2, srid) - gridd_area_m2(b, srid)) >= 0.01 THEN
        side1 := NULL; side2 := NULL;
    END IF;
END $$;

-- gridd_bisect splits a polygon into k parts of nearly equal area by
-- recursive straight cuts across the long side of its bounding box in the
-- metric CRS (across the short side when that cut does not give two single
-- polygons keeping the area), falling back to gridd_kmeans_split. Cuts along
-- the minimum rotated rectangle were tried and gave less even, less compact
-- grids on the demo data (94% instead of 98% within ±30%).
CREATE OR REPLACE FUNCTION gridd_bisect(b geometry, k integer, srid integer) RETURNS geometry[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    bm geometry; k1 integer; axis double precision; h record; attempt integer;
BEGIN
    IF k <= 1 THEN RETURN ARRAY[b]; END IF;
    bm := gridd_to_metric(b, srid);
    k1 := k / 2;
    axis := CASE WHEN ST_XMax(bm) - ST_XMin(bm) >= ST_YMax(bm) - ST_YMin(bm) THEN 0 ELSE pi() / 2 END;
    FOR attempt IN 0..1 LOOP
        SELECT * INTO h FROM gridd_cut(b, bm, axis + attempt * pi() / 2, k1::double precision / k, srid);
        IF h.side1 IS NOT NULL THEN
            RETURN gridd_bisect(h.side1, k1, srid) || gridd_bisect(h.side2, k - k1, srid);
        END IF;
    END LOOP;
    -- Points spread over a polygon that fills little of its bounding box
    -- (a ring-like or pinched block) cost memory out of all proportion, and
    -- k-means can fail on degenerate input: such a block stays whole and the
    -- report names it if it is too large.
    IF ST_Area(bm) < 0.05 * ST_Area(ST_Envelope(bm)) THEN
        RETURN ARRAY[b];
    END IF;
    BEGIN
        RETURN gridd_kmeans_split(b, k, srid);
    EXCEPTION WHEN OTHERS THEN
        RETURN ARRAY[b];
    END;
END $$;

-- gridd_node rebuilds pieces from the noded union of their edges: the
-- linework is unioned with snap-rounding to a grid of 1e-11 degree (about
-- 1 µm), which nodes every vertex that lies on or next to another edge into
-- it, then the vertices of anchor (the community) are put back exactly where
-- they were (ST_Snap within 1e-10 degree); the result is polygonized, and
-- each face goes to the piece holding its interior point. Neighbours then
-- share their edges vertex for vertex, bit for bit; the community's own
-- vertices do not move; faces of no piece (a courtyard hole) stay out.
CREATE OR REPLACE FUNCTION gridd_node(pieces geometry[], anchor geometry) RETURNS geometry[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer := coalesce(array_length(pieces, 1), 0);
    faces geometry[]; owner integer[]; pos geometry;
    f integer; i integer; h integer; best integer;
    len double precision; bestlen double precision; changed boolean;
    out geometry[] := '{}';
    e geometry;
    g geometry;
BEGIN
    SELECT ST_UnaryUnion(ST_Collect(ST_Boundary(p)), 1e-11) INTO e FROM unnest(pieces) AS u(p);
    IF anchor IS NOT NULL THEN
        e := ST_UnaryUnion(ST_Snap(e, anchor, 1e-10));
    END IF;
    SELECT array_agg(d.geom) INTO faces
      FROM (SELECT ST_Polygonize(e) AS pg) s
     CROSS JOIN LATERAL ST_Dump(s.pg) d;
    FOR f IN 1..coalesce(array_length(faces, 1), 0) LOOP
        pos := ST_PointOnSurface(faces[f]);
        owner[f] := NULL;
        FOR i IN 1..n LOOP
            IF pieces[i] && pos AND ST_Intersects(pieces[i], pos) THEN owner[f] := i; EXIT; END IF;
        END LOOP;
        IF owner[f] IS NULL AND anchor IS NOT NULL AND ST_Intersects(anchor, pos) THEN
            owner[f] := 0; -- inside the community but in no piece: adopted below
        END IF;
    END LOOP;
    -- A face of the community that no piece holds (a sliver an earlier cut
    -- lost to rounding) goes to the neighbour it shares the longest edge with.
    LOOP
        changed := false;
        FOR f IN 1..coalesce(array_length(faces, 1), 0) LOOP
            CONTINUE WHEN owner[f] IS DISTINCT FROM 0;
            best := NULL; bestlen := 0;
            FOR h IN 1..array_length(faces, 1) LOOP
                IF owner[h] > 0 AND faces[h] && faces[f] THEN
                    len := ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(faces[f]), ST_Boundary(faces[h])), 2));
                    IF len > bestlen THEN best := h; bestlen := len; END IF;
                END IF;
            END LOOP;
            IF best IS NOT NULL THEN owner[f] := owner[best]; changed := true; END IF;
        END LOOP;
        EXIT WHEN NOT changed;
    END LOOP;
    FOR i IN 1..n LOOP
        SELECT ST_Union(faces[k]) INTO g FROM generate_subscripts(faces, 1) AS s(k) WHERE owner[k] = i;
        IF g IS NULL THEN CONTINUE; END IF;
        SELECT out || array_agg(d.geom) INTO out FROM ST_Dump(g) d;
    END LOOP;
    RETURN out;
END $$;

-- gridd_partition cuts one community (EPSG:4326) into unit grids of about
-- target_m2: blocks cut by the lines (EPSG:4326, may be NULL); blocks under
-- 0.6 × target or narrower than min_width merged into the neighbour sharing
-- the longest edge; blocks split into round(area / target) parts of equal
-- area; all pieces rebuilt from their noded edges; pieces under 0.5 × target
-- or too narrow merged again (and anything over 1.5 × target split again).
-- Rows come numbered west to east within rows of sqrt(target_m2) metres
-- from the community's northern edge, rows north to south. Areas are
-- gridd_area_m2; narrow says that no circle of diameter min_width fits
-- inside the grid (see gridd_narrow); on_lines_m is the part of the grid's
-- boundary lying within 0.5 m of a line.
CREATE OR REPLACE FUNCTION gridd_partition(community geometry, cutters geometry, target_m2 double precision,
                                srid integer, min_width double precision DEFAULT 20)
RETURNS TABLE (ord integer, geom geometry, area_m2 double precision, narrow boolean,
               perimeter_m double precision, on_lines_m double precision)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    cut geometry;
    blocks geometry[];
    pieces geometry[] := '{}';
    b geometry; a double precision; k integer;
    redo boolean;
    round_ integer;
    n_noded integer;
    band double precision := sqrt(target_m2);
    top double precision;
    lines_m geometry;
BEGIN
    -- 1. blocks: the community's rings and the lines inside it, noded and polygonized
    IF cutters IS NOT NULL THEN
        cut := ST_CollectionExtract(ST_Intersection(cutters, community), 2);
    END IF;
    SELECT array_agg(d.geom ORDER BY d.path) INTO blocks
      FROM (SELECT ST_Polygonize(ST_Union(ST_Boundary(community), coalesce(cut, ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, ST_SRID(community))))) AS pg) s
     CROSS JOIN LATERAL ST_Dump(s.pg) d
     WHERE ST_Intersects(community, ST_PointOnSurface(d.geom));
    -- 2. merge blocks far below the target (or too narrow), then split those far above it
    blocks := gridd_merge_small(blocks, 0.6 * target_m2, min_width, srid);
    FOREACH b IN ARRAY blocks LOOP
        a := gridd_area_m2(b, srid);
        k := greatest(1, round(a / target_m2)::integer);
        pieces := pieces || gridd_bisect(b, k, srid);
    END LOOP;
    FOR round_ IN 1..3 LOOP
        -- 3. rebuild from the noded edges, then merge what is still too small or narrow
        pieces := gridd_node(pieces, community);
        n_noded := array_length(pieces, 1);
        pieces := gridd_merge_small(pieces, 0.5 * target_m2, min_width, srid);
        redo := false;
        blocks := pieces; pieces := '{}';
        FOREACH b IN ARRAY blocks LOOP
            a := gridd_area_m2(b, srid);
            IF a > 1.5 * target_m2 THEN
                pieces := pieces || gridd_bisect(b, round(a / target_m2)::integer, srid);
                redo := true;
            ELSE
                pieces := pieces || b;
            END IF;
        END LOOP;
        EXIT WHEN NOT redo;
    END LOOP;
    -- a merge's union can pass a neighbour's vertex within the snapping
    -- tolerance without taking it in; a last noding settles every vertex
    IF redo OR array_length(pieces, 1) <> n_noded THEN
        pieces := gridd_node(pieces, community);
    END IF;
    -- 4. number and measure
    top := ST_YMax(gridd_to_metric(community, srid));
    IF cutters IS NOT NULL THEN
        lines_m := ST_Buffer(gridd_to_metric(cut, srid),
                             0.5, 'quad_segs=1 endcap=flat');
    END IF;
    RETURN QUERY
    SELECT (row_number() OVER (ORDER BY floor((top - ST_Y(q.c)) / band), ST_X(q.c), ST_Y(q.c) DESC))::integer,
           q.g, gridd_area_m2(q.g, srid), ST_IsEmpty(ST_Buffer(q.m, -min_width / 2)), ST_Perimeter(q.m),
           CASE WHEN lines_m IS NULL THEN 0
                ELSE ST_Length(ST_Intersection(ST_Boundary(q.m), ST_ClipByBox2D(lines_m, ST_Expand(q.m::box2d, 1)))) END
    FROM (SELECT u.g, gridd_to_metric(u.g, srid) AS m, ST_Centroid(gridd_to_metric(u.g, srid)) AS c
          FROM unnest(pieces) AS u(g)) q;
END $$;

-- gridd_cover_check measures how exactly pieces cover a community, in m²:
-- the area where the pieces' union and the community differ (a gap or a
-- part sticking out: mismatch), and the area covered more than once
-- (overlap = the pieces' summed area minus the area of their union).
CREATE OR REPLACE FUNCTION gridd_cover_check(pieces geometry[], community geometry, srid integer,
    OUT mismatch_m2 double precision, OUT overlap_m2 double precision)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    u geometry;
BEGIN
    u := ST_Union(pieces);
    mismatch_m2 := gridd_area_m2(ST_SymDifference(community, u), srid);
    SELECT sum(gridd_area_m2(p, srid)) - gridd_area_m2(u, srid) INTO overlap_m2 FROM unnest(pieces) p;
END $$;

-- Management grids follow their unit grids. Whatever writes unit_grids (a
-- build, an edit, SQL by hand), a deferred constraint trigger re-resolves at
-- commit every current management grid that has one of the changed codes
-- as a member: members that are no longer current are replaced by the
-- current unit grids of the same street that lie mostly (more than half of
-- their area) inside the management grid's previous geometry; the geometry is
-- recomputed as the union of the members, and the change is recorded in the
-- history (actor from the setting gridd.actor, else the database user). When
-- no unit grid is left, the commit is refused with an error that names the
-- management grid.
CREATE OR REPLACE FUNCTION gridd_mgmt_resolve(mid bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m mgmt_grids%ROWTYPE;
    stale text[];
    members text[];
    g geometry;
BEGIN
    SELECT * INTO m FROM mgmt_grids WHERE id = mid AND valid_to IS NULL;
    IF NOT FOUND THEN RETURN; END IF;
    SELECT array_agg(mm.grid_code ORDER BY mm.grid_code) INTO stale
      FROM mgmt_grid_members mm
     WHERE mm.mgmt_grid_id = mid
       AND NOT EXISTS (SELECT 1 FROM unit_grids u WHERE u.code = mm.grid_code AND u.valid_to IS NULL);
    IF stale IS NOT NULL THEN
        SELECT array_agg(DISTINCT code ORDER BY code) INTO members FROM (
            SELECT mm.grid_code AS code FROM mgmt_grid_members mm
             WHERE mm.mgmt_grid_id = mid AND mm.grid_code <> ALL (stale)
            UNION
            SELECT u.code FROM unit_grids u
             WHERE u.valid_to IS NULL AND u.street_code = m.street_code
               AND m.geom IS NOT NULL AND u.geom && m.geom
               AND ST_Area(ST_Intersection(u.geom, m.geom)) > 0.5 * ST_Area(u.geom)) c;
        IF members IS NULL THEN
            RAISE EXCEPTION 'management grid % (%) would have no unit grids left: its members % are retired and no current unit grid lies inside its area; change or retire the management grid in the same transaction', m.code, m.name, array_to_string(stale, ',')
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        DELETE FROM mgmt_grid_members WHERE mgmt_grid_id = mid;
        INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code) SELECT mid, unnest(members);
    END IF;
    SELECT ST_Multi(ST_Union(u.geom)) INTO g
      FROM unit_grids u JOIN mgmt_grid_members mm ON mm.grid_code = u.code AND u.valid_to IS NULL
     WHERE mm.mgmt_grid_id = mid;
    IF stale IS NULL AND g IS NOT DISTINCT FROM m.geom THEN RETURN; END IF;
    IF stale IS NULL AND g IS NOT NULL AND m.geom IS NOT NULL AND ST_Equals(g, m.geom) THEN RETURN; END IF;
    UPDATE mgmt_grids SET geom = g WHERE id = mid;
    INSERT INTO history (actor, action, entity, code, reason, before, after)
    VALUES (coalesce(nullif(current_setting('gridd.actor', true), ''), current_user), 'update', 'mgmt_grid', m.code,
            'unit grids changed: members re-resolved',
            jsonb_build_object('members', (SELECT to_jsonb(array_agg(grid_code)) FROM unnest(stale) grid_code), 'geometry', ST_AsGeoJSON(m.geom)::jsonb),
            jsonb_build_object('members', to_jsonb((SELECT array_agg(grid_code ORDER BY grid_code) FROM mgmt_grid_members WHERE mgmt_grid_id = mid)),
                               'geometry', ST_AsGeoJSON(g)::jsonb));
END $$;

CREATE OR REPLACE FUNCTION gridd_mgmt_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    codes text[] := '{}';
    mid bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN codes := codes || OLD.code; END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN codes := codes || NEW.code; END IF;
    FOR mid IN SELECT DISTINCT mm.mgmt_grid_id FROM mgmt_grid_members mm
                WHERE mm.grid_code = ANY (codes) ORDER BY 1 LOOP
        PERFORM gridd_mgmt_resolve(mid);
    END LOOP;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER gridd_mgmt_follow AFTER INSERT OR UPDATE OR DELETE ON unit_grids
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gridd_mgmt_follow();
