-- Replaces each fitted child's staged geometry by the union of its faces
-- (empty when none is left). $1: level.
UPDATE staged_divisions s
SET geom = coalesce(ST_Multi(ST_CollectionExtract(u.g, 3)), ST_SetSRID('MULTIPOLYGON EMPTY'::geometry, 4326))
FROM (SELECT k.code, (SELECT ST_Union(f.face) FROM fit_faces f WHERE f.owner = k.code) AS g FROM fit_kids k) u
WHERE s.code = u.code AND s.level = $1
