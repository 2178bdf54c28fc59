-- Counting a report in its hot-spot cells (migration 0020) as a function:
-- the statement that stores a report calls it instead of carrying the
-- counting as common table expressions, which PostgreSQL planned afresh
-- for every report (0.4 ms of planning a report). PL/pgSQL keeps the plans
-- of its statements.
--
-- Resolution 4 (drawn at zooms 0-4 only) is no longer counted; its rows
-- are dropped.
DELETE FROM report_cells WHERE res < 5;
DELETE FROM h3_cells WHERE res < 5;
DROP INDEX IF EXISTS h3_cells_geom_4;
--
-- p_at: the report's time; p_res, p_cells, p_outlines: its cells, sorted by
-- resolution (so that concurrent reports lock count rows in one order),
-- with the WGS-84 outline (WKB) of each, or NULL where the caller knows
-- h3_cells has it. Outlines are transformed and measured only for cells
-- new to h3_cells.
CREATE FUNCTION gridd_count_report(p_at timestamptz, p_res smallint[], p_cells bigint[], p_outlines bytea[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO h3_cells (res, cell, geom, area_m2)
    SELECT u.res, u.cell, ST_Transform(ST_GeomFromWKB(u.wkb, 4326), 3857), ST_Area(ST_GeomFromWKB(u.wkb, 4326)::geography)
    FROM unnest(p_res, p_cells, p_outlines) AS u(res, cell, wkb)
    WHERE u.wkb IS NOT NULL AND NOT EXISTS (SELECT 1 FROM h3_cells h WHERE h.res = u.res AND h.cell = u.cell)
    ON CONFLICT DO NOTHING;
    INSERT INTO report_cells AS rc (res, cell, month, reports)
    SELECT u.res, u.cell, date_trunc('month', p_at AT TIME ZONE 'Asia/Shanghai')::date, 1
    FROM unnest(p_res, p_cells) AS u(res, cell)
    ON CONFLICT (res, cell, month) DO UPDATE SET reports = rc.reports + 1;
END $$;
