-- Properties of an imported file that are not fields of gridd's records
-- (a census's own columns, a GIS's SHAPE_Area, a district's remarks) are
-- kept with the record they came with instead of being refused or dropped:
-- the import's field mapping puts them in attrs, a JSON object of the
-- file's property names and values. An import that brings no such
-- properties leaves a component's attrs as they were.

ALTER TABLE districts ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE streets ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE communities ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE lines ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE components ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}';
