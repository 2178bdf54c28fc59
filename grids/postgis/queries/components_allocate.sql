-- Allocates codes to the new staged components that have none: the counter
-- row of each district and class moves past every code given explicitly,
-- then by the number of features needing one; feature rn of a district and
-- class gets base + rn. The counter rows stay locked until commit, so
-- concurrent writers of the same district and class wait for each other and
-- no number is handed out twice.
INSERT INTO component_seq (district_code, class_code, last)
SELECT left(new_code, 6), substr(new_code, 7, 5), max(substr(new_code, 12, 6)::integer)
FROM staged_resolved WHERE match_id IS NULL AND new_code IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (district_code, class_code) DO UPDATE SET last = greatest(component_seq.last, excluded.last);

CREATE TEMP TABLE staged_alloc ON COMMIT DROP AS
WITH need AS (
    SELECT district_code, class_code, max(rn)::integer AS n
    FROM staged_resolved WHERE new_code IS NULL
    GROUP BY 1, 2
), got AS (
    INSERT INTO component_seq (district_code, class_code, last)
    SELECT district_code, class_code, n FROM need ORDER BY 1, 2
    ON CONFLICT (district_code, class_code) DO UPDATE SET last = component_seq.last + excluded.last
    RETURNING district_code, class_code, last
)
SELECT got.district_code, got.class_code, got.last - need.n AS base
FROM got JOIN need USING (district_code, class_code);
