-- The partition guard remembered the communities it had checked in one
-- string setting, searched and rewritten on every row: quadratic in the
-- number of communities a transaction touches (a build of thousands of
-- communities spent minutes there). It now keeps them in a session temp
-- table with a primary key, emptied at commit.

CREATE OR REPLACE FUNCTION gridd_partition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    comms text[];
    comm text;
    problem text;
BEGIN
    IF TG_TABLE_NAME = 'communities' THEN
        IF TG_OP <> 'DELETE' THEN comms := comms || NEW.code; END IF;
        IF TG_OP <> 'INSERT' THEN comms := comms || OLD.code; END IF;
    ELSE
        IF TG_OP <> 'DELETE' THEN comms := comms || NEW.community_code; END IF;
        IF TG_OP <> 'INSERT' THEN comms := comms || OLD.community_code; END IF;
    END IF;
    IF to_regclass('pg_temp.gridd_partition_checked') IS NULL THEN
        CREATE TEMP TABLE gridd_partition_checked (code text PRIMARY KEY) ON COMMIT DELETE ROWS;
    END IF;
    FOREACH comm IN ARRAY comms LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM gridd_partition_checked WHERE code = comm);
        problem := gridd_partition_problem(comm);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'GD001', MESSAGE = 'partition broken: ' || problem,
                HINT = 'the grids of a community must cover it exactly, without gaps or overlaps';
        END IF;
        INSERT INTO gridd_partition_checked VALUES (comm);
    END LOOP;
    RETURN NULL;
END $$;

-- A write after a check (with SET CONSTRAINTS ... IMMEDIATE) makes every
-- community due again.
CREATE OR REPLACE FUNCTION gridd_partition_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.gridd_partition_checked') IS NOT NULL THEN
        DELETE FROM gridd_partition_checked;
    END IF;
    RETURN NULL;
END $$;
