-- Layer social_grids (current social-management grids, 社会管理网格) of a
-- vector tile, with each grid's totals and its load against the target its
-- community's grids were built to. Feature id: the row id (codes are not all
-- digits).
--
-- $1 z, $2 x, $3 y, $4 extent, $5 buffer (tile units), $6 buffer as a
-- fraction of the tile; $TOL the layer's simplification in metres, $LABELZ
-- the zoom from which the layer carries label points.
--
-- The grids meeting the tile's buffered square are picked first; their
-- totals are summed over the current buildings of their member unit grids
-- (households, residents, buildings), and load is as grids.SocialTarget.Load:
-- households over the households target, residents over the residents
-- target, the mean of the two when both are set, 0 without a target. Each
-- grid is drawn as its polygon, clipped to the tile and its buffer, and from
-- $LABELZ on also as its label point when that lies in the tile proper, as in
-- tiles_mgmt_grids.sql.
WITH g AS (
    SELECT m.id, m.code, m.name, m.community_code, m.geom_3857, m.label_3857
    FROM mgmt_grids m
    WHERE m.kind = 'social' AND m.valid_to IS NULL
      AND m.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => $6)
), s AS (
    SELECT g.*, coalesce(t.households, 0) AS target_households, coalesce(t.residents, 0) AS target_residents,
           tot.households, tot.residents, tot.buildings, tot.unit_grids
    FROM g
    LEFT JOIN social_targets t ON t.community_code = g.community_code
    CROSS JOIN LATERAL (
        SELECT count(*)::int AS unit_grids, coalesce(sum(b.households), 0)::int AS households,
               coalesce(sum(b.residents), 0)::int AS residents, coalesce(sum(b.buildings), 0)::int AS buildings
        FROM mgmt_grid_members mm
        LEFT JOIN LATERAL (
            SELECT sum(bb.households) AS households, sum(bb.residents) AS residents, count(*) AS buildings
            FROM buildings bb
            WHERE bb.grid_code = mm.grid_code AND bb.valid_to IS NULL
        ) b ON true
        WHERE mm.mgmt_grid_id = g.id
    ) tot
), f AS (
    SELECT s.*,
           coalesce((CASE WHEN s.target_households > 0 THEN s.households::float8 / s.target_households ELSE 0 END
                   + CASE WHEN s.target_residents > 0 THEN s.residents::float8 / s.target_residents ELSE 0 END)
                  / nullif((s.target_households > 0)::int + (s.target_residents > 0)::int, 0), 0) AS load
    FROM s
)
SELECT ST_AsMVT(t, 'social_grids', $4, 'geom', 'fid') FROM (
    SELECT f.id AS fid, f.code, f.name, f.community_code, f.households, f.residents, f.buildings, f.unit_grids,
           f.target_households, f.target_residents, f.load,
           ST_AsMVTGeom(ST_Simplify(ST_ClipByBox2D(f.geom_3857, ST_TileEnvelope($1, $2, $3, margin => $6)), $TOL, true),
                        ST_TileEnvelope($1, $2, $3), $4, $5, true) AS geom
    FROM f
    UNION ALL
    SELECT f.id AS fid, f.code, f.name, f.community_code, f.households, f.residents, f.buildings, f.unit_grids,
           f.target_households, f.target_residents, f.load,
           ST_AsMVTGeom(f.label_3857, ST_TileEnvelope($1, $2, $3), $4, 0, true) AS geom
    FROM f
    WHERE $1 >= $LABELZ AND ST_Intersects(f.label_3857, ST_TileEnvelope($1, $2, $3))
) t
