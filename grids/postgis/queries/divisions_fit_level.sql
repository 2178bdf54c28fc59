-- Fits the staged divisions of one level (staged_divisions, fit_params.lvl)
-- to their parents (fit_params.parent_lvl: the staged row, already fitted,
-- or else the stored one), in three steps, for every parent at once:
--   fit_kids: each child snapped to its parent's boundary within
--     fit_params.tol metres in the metric CRS fit_params.srid, then to the
--     siblings with a smaller code (so that two edges digitised separately
--     become one where they lie within the tolerance, rather than a chain of
--     slivers), then clipped to the parent in EPSG:4326;
--   fit_faces: per parent, the noded linework of the parent's and its
--     children's boundaries (snap-rounded to 1e-11 degree, the parent's own
--     vertices put back exactly, as the builder's gridd_node does) cut into
--     faces; faces outside the parent (its holes) are dropped;
--   owner: each face goes to the child holding its interior point, the
--     smaller code when siblings overlap there; a face no child holds (a gap
--     or sliver), and any face under 0.01 m² (so that no child keeps a
--     crumb apart from the rest of it), stays without owner until
--     divisions_fit_adopt gives it away.
-- Several statements, no arguments: the values are in the one-row fit_params.
DROP TABLE IF EXISTS fit_parents, fit_kids, fit_faces;

CREATE TEMP TABLE fit_parents ON COMMIT DROP AS
SELECT p.code, p.geom
FROM (
    SELECT code, geom FROM staged_divisions WHERE level = (SELECT parent_lvl FROM fit_params)
    UNION ALL
    SELECT d.code, d.geom FROM divisions d
    WHERE d.valid_to IS NULL AND d.level = (SELECT parent_lvl FROM fit_params)
      AND NOT EXISTS (SELECT 1 FROM staged_divisions s WHERE s.code = d.code)
) p
WHERE EXISTS (SELECT 1 FROM staged_divisions k WHERE k.level = (SELECT lvl FROM fit_params) AND k.parent_code = p.code);

CREATE TEMP TABLE fit_kids ON COMMIT DROP AS
WITH m AS (
    SELECT k.code, k.parent_code, p.geom AS pgeom, fp.srid, fp.tol,
           ST_CollectionExtract(ST_MakeValid(
               ST_Snap(gridd_to_metric(k.geom, fp.srid), gridd_to_metric(p.geom, fp.srid), fp.tol)), 3) AS mgeom
    FROM staged_divisions k
    JOIN fit_parents p ON p.code = k.parent_code
    CROSS JOIN fit_params fp
    WHERE k.level = fp.lvl
)
SELECT m.code, m.parent_code,
       ST_CollectionExtract(ST_Intersection(gridd_from_metric(coalesce(
           ST_CollectionExtract(ST_MakeValid(ST_Snap(m.mgeom,
               (SELECT ST_Collect(o.mgeom) FROM m o
                WHERE o.parent_code = m.parent_code AND o.code < m.code
                  AND o.mgeom && ST_Expand(m.mgeom, m.tol)), m.tol)), 3),
           m.mgeom)), m.pgeom), 3) AS geom
FROM m;
CREATE INDEX ON fit_kids USING gist (geom);
ANALYZE fit_kids;

CREATE TEMP TABLE fit_faces ON COMMIT DROP AS
SELECT row_number() OVER () AS id, e.parent_code, d.geom AS face,
       ST_PointOnSurface(d.geom) AS pos, NULL::text AS owner
FROM (
    SELECT p.code AS parent_code,
           ST_UnaryUnion(ST_Snap(ST_UnaryUnion(ST_Collect(ST_Boundary(p.geom),
               (SELECT ST_Collect(ST_Boundary(k.geom)) FROM fit_kids k WHERE k.parent_code = p.code)), 1e-11),
               p.geom, 1e-10)) AS lines
    FROM fit_parents p
) e
CROSS JOIN LATERAL ST_Dump(ST_Polygonize(ARRAY[e.lines])) d;

DELETE FROM fit_faces f USING fit_parents p
WHERE p.code = f.parent_code AND NOT ST_Intersects(p.geom, f.pos);

UPDATE fit_faces f SET owner = (
    SELECT k.code FROM fit_kids k
    WHERE k.parent_code = f.parent_code AND k.geom && f.pos AND ST_Intersects(k.geom, f.pos)
    ORDER BY k.code LIMIT 1)
WHERE gridd_area_m2(f.face, (SELECT srid FROM fit_params)) >= 0.01;
CREATE INDEX ON fit_faces USING gist (face);
ANALYZE fit_faces;
