-- A build that replaces grids records their lineage like an edit does: each
-- grid version it retires is linked to every new grid that overlaps it, so
-- reports and components filed under a retired code can be followed to the
-- grids that took over its ground. Builds have no changeset; the history
-- rows of the build carry its actor and reason.

ALTER TABLE grid_lineage ALTER COLUMN changeset_id DROP NOT NULL;
ALTER TABLE grid_lineage DROP CONSTRAINT grid_lineage_operation_check;
ALTER TABLE grid_lineage ADD CONSTRAINT grid_lineage_operation_check
    CHECK (operation IN ('reshape', 'split', 'merge', 'replace', 'redraw', 'revert', 'build'));
ALTER TABLE grid_lineage ADD CONSTRAINT grid_lineage_changeset_check
    CHECK ((operation = 'build') = (changeset_id IS NULL));
