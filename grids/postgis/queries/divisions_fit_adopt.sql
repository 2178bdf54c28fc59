-- Gives every face without owner (a gap or a sliver inside a parent) to the
-- child it shares the longest border with (the smaller code on a tie). Run
-- until it updates nothing: a face whose neighbours are all gaps waits for
-- them. $1: metric SRID.
WITH c AS (
    SELECT g.id, n.owner, sum(gridd_shared_m(g.face, n.face, $1)) AS len
    FROM fit_faces g
    JOIN fit_faces n ON n.parent_code = g.parent_code AND n.owner IS NOT NULL AND n.face && g.face
    WHERE g.owner IS NULL
    GROUP BY g.id, n.owner
), best AS (
    SELECT DISTINCT ON (id) id, owner FROM c WHERE len > 0 ORDER BY id, len DESC, owner
)
UPDATE fit_faces f SET owner = b.owner FROM best b WHERE f.id = b.id
