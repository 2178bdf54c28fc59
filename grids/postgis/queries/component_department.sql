-- The competent department of a current component, with the department's
-- current name. Assumes the component census table
-- components(code, competent_dept_code, valid_to).
SELECT d.code, d.name
FROM components c
JOIN departments d ON d.code = c.competent_dept_code AND d.valid_to IS NULL
WHERE c.code = $1 AND c.valid_to IS NULL
LIMIT 1
