-- A revoked (or deleted) API token must stop working at once on every gridd
-- instance, not when the instance's short cache of recently seen tokens
-- expires. Changes to api_tokens therefore go on the change feed too, as a
-- notification with no extent and no map version: tokens are not map data,
-- so they neither move the map version nor touch the index or the tiles.
-- Instances forget their cached tokens when it arrives (and whenever their
-- feed connection is re-established, since a notification may have been
-- lost).

CREATE FUNCTION gridd_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridd_changes', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'version', 0, 'bbox', NULL)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER gridd_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION gridd_tokens_changed();
