-- Striped hot-spot counts. Every report of a month adds to the same count
-- rows of its coarse cells (a resolution-5 cell covers a district), so
-- concurrent reports queued on them. As the evaluation's rollup (migration
-- 0022), each count row now has a stripe, the report's id modulo 8, and
-- the tiles sum over stripes as they sum over months; reports counted in
-- bulk (Store.IndexReportCells) use stripe 0.

ALTER TABLE report_cells ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE report_cells DROP CONSTRAINT report_cells_pkey;
ALTER TABLE report_cells ADD PRIMARY KEY (res, cell, month, stripe);

DROP FUNCTION gridd_count_report(timestamptz, smallint[], bigint[], bytea[]);
-- As in migration 0021, with the report's id for its stripe.
CREATE FUNCTION gridd_count_report(p_id bigint, p_at timestamptz, p_res smallint[], p_cells bigint[], p_outlines bytea[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO h3_cells (res, cell, geom, area_m2)
    SELECT u.res, u.cell, ST_Transform(ST_GeomFromWKB(u.wkb, 4326), 3857), ST_Area(ST_GeomFromWKB(u.wkb, 4326)::geography)
    FROM unnest(p_res, p_cells, p_outlines) AS u(res, cell, wkb)
    WHERE u.wkb IS NOT NULL AND NOT EXISTS (SELECT 1 FROM h3_cells h WHERE h.res = u.res AND h.cell = u.cell)
    ON CONFLICT DO NOTHING;
    INSERT INTO report_cells AS rc (res, cell, month, stripe, reports)
    SELECT u.res, u.cell, date_trunc('month', p_at AT TIME ZONE 'Asia/Shanghai')::date, (p_id % 8)::smallint, 1
    FROM unnest(p_res, p_cells) AS u(res, cell)
    ON CONFLICT (res, cell, month, stripe) DO UPDATE SET reports = rc.reports + 1;
END $$;
