-- The social-grid tiles draw each social grid's households, residents and
-- buildings, summed over the current buildings of its unit grids. A building
-- that changes changes its grid's totals, which are drawn in every tile the
-- grid spans, not only near the building: the buildings' own announcements
-- (their extent) do not reach those tiles. So a statement on buildings also
-- announces the derived table 'social_grid_totals' with the extent of the
-- current social grids holding the old and new grid codes of the current
-- rows whose totals changed (grid, households, residents, or being current);
-- nothing when no social grid holds them, everything on TRUNCATE. As with
-- mgmt_grid_members (migration 0011), the extent comes from other rows than
-- the changed ones.

CREATE FUNCTION gridd_social_totals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    codes text[];
    ext box2d;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM gridd_announce('social_grid_totals', TG_OP, NULL);
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT grid_code) INTO codes FROM new_rows
         WHERE valid_to IS NULL AND grid_code IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT grid_code) INTO codes FROM old_rows
         WHERE valid_to IS NULL AND grid_code IS NOT NULL;
    ELSE
        -- The current rows before and after that differ in what the totals
        -- count: a renamed building or one whose footprint moved within its
        -- grid changes no total.
        SELECT array_agg(DISTINCT grid_code) INTO codes FROM (
            (SELECT id, grid_code, households, residents FROM old_rows WHERE valid_to IS NULL
             EXCEPT ALL
             SELECT id, grid_code, households, residents FROM new_rows WHERE valid_to IS NULL)
            UNION ALL
            (SELECT id, grid_code, households, residents FROM new_rows WHERE valid_to IS NULL
             EXCEPT ALL
             SELECT id, grid_code, households, residents FROM old_rows WHERE valid_to IS NULL)) d
         WHERE grid_code IS NOT NULL;
    END IF;
    IF codes IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT ST_Extent(g.geom) INTO ext
      FROM mgmt_grids g
     WHERE g.kind = 'social' AND g.valid_to IS NULL
       AND g.id IN (SELECT m.mgmt_grid_id FROM mgmt_grid_members m WHERE m.grid_code = ANY (codes));
    IF ext IS NOT NULL THEN
        PERFORM gridd_announce('social_grid_totals', TG_OP, ext);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gridd_social_totals_insert AFTER INSERT ON buildings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_social_totals_changed();
CREATE TRIGGER gridd_social_totals_update AFTER UPDATE ON buildings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_social_totals_changed();
CREATE TRIGGER gridd_social_totals_delete AFTER DELETE ON buildings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gridd_social_totals_changed();
CREATE TRIGGER gridd_social_totals_truncate AFTER TRUNCATE ON buildings
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_social_totals_changed();
