-- Social-management grids (社会管理网格): management grids built from the
-- households of their unit grids, inside one community, coded per
-- community (COMMUNITY-S01, -S02, ...). Management grids drawn by hand are
-- of kind 'responsibility' and are never touched by the social builder.

ALTER TABLE mgmt_grids
    ADD COLUMN kind text NOT NULL DEFAULT 'responsibility' CHECK (kind IN ('responsibility', 'social')),
    ADD COLUMN community_code text CHECK (community_code ~ '^[0-9]{12}$'),
    ADD CONSTRAINT mgmt_grids_social_community CHECK (kind <> 'social' OR community_code IS NOT NULL);

CREATE INDEX mgmt_grids_social ON mgmt_grids (community_code) WHERE kind = 'social' AND valid_to IS NULL;
