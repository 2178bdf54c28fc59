-- Every lookup answer lists the management grids containing the point's
-- grid, so a change to management-grid membership must reach lookups like
-- any other edit. mgmt_grid_members has no geometry of its own: a change to
-- it is announced with the extent of the current unit grids whose
-- membership changed, and gridd patches its index over that extent.

CREATE FUNCTION gridd_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    codes text[];
    ext box2d;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, NULL);
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(grid_code) INTO codes FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(grid_code) INTO codes FROM old_rows;
    ELSE
        SELECT array_agg(grid_code) INTO codes FROM (
            SELECT grid_code FROM new_rows UNION ALL SELECT grid_code FROM old_rows) r;
    END IF;
    SELECT ST_Extent(geom) INTO ext FROM unit_grids WHERE code = ANY (codes) AND valid_to IS NULL;
    IF ext IS NOT NULL THEN
        PERFORM gridd_announce(TG_TABLE_NAME, TG_OP, ext);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gridd_changed_insert AFTER INSERT ON mgmt_grid_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_members_changed();
CREATE TRIGGER gridd_changed_update AFTER UPDATE ON mgmt_grid_members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_members_changed();
CREATE TRIGGER gridd_changed_delete AFTER DELETE ON mgmt_grid_members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_members_changed();
CREATE TRIGGER gridd_changed_truncate AFTER TRUNCATE ON mgmt_grid_members
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_members_changed();
