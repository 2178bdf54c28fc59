package main

import "fmt"

// summary prints what was generated, and an indication of the blocks the
// unit-grid builder will see: each community cut by the roads (dead ends
// dropped), the way the builder starts.
func (g *gen) summary() error {
	var distKm2, minLon, minLat, maxLon, maxLat float64
	if err := g.conn.QueryRow(g.ctx, `SELECT ST_Area(ST_Transform(g, 4548)) / 1e6, ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
		FROM demo_district`).Scan(&distKm2, &minLon, &minLat, &maxLon, &maxLat); err != nil {
		return err
	}
	var nStreet, nComm int
	var sMin, sMax, cMin, cMean, cMax float64
	if err := g.conn.QueryRow(g.ctx, `SELECT
		(SELECT count(*) FROM demo_street), (SELECT min(ST_Area(ST_Transform(g, 4548))) FROM demo_street),
		(SELECT max(ST_Area(ST_Transform(g, 4548))) FROM demo_street),
		count(*), min(a), avg(a), max(a)
		FROM (SELECT ST_Area(ST_Transform(g, 4548)) AS a FROM demo_comm) c`).
		Scan(&nStreet, &sMin, &sMax, &nComm, &cMin, &cMean, &cMax); err != nil {
		return err
	}
	fmt.Printf("\ndistrict  %s %s: %.3f km², lon %.4f..%.4f, lat %.4f..%.4f\n",
		g.divs.district.Code, g.divs.district.Name, distKm2, minLon, maxLon, minLat, maxLat)
	fmt.Printf("streets   %d: area %.2f..%.2f km²\n", nStreet, sMin/1e6, sMax/1e6)
	fmt.Printf("communities %d: area min %.0f m², mean %.0f m², max %.0f m²\n", nComm, cMin, cMean, cMax)

	rows, err := g.conn.Query(g.ctx, `SELECT class, count(*), sum(ST_Length(ST_Transform(g, 4548))) / 1000
		FROM demo_road GROUP BY class ORDER BY class`)
	if err != nil {
		return err
	}
	var total float64
	var totalN int
	for rows.Next() {
		var class string
		var n int
		var km float64
		if err := rows.Scan(&class, &n, &km); err != nil {
			return err
		}
		fmt.Printf("roads     %-8s %4d lines, %7.1f km\n", class, n, km)
		total += km
		totalN += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Printf("roads     total    %4d lines, %7.1f km\n", totalN, total)

	var nBlocks int
	var p10, p50, p90, mean, small, target, smallArea, targetArea, bigArea float64
	if err := g.conn.QueryRow(g.ctx, `
		WITH lines AS (
			SELECT c.i, ST_Union(l.g) AS g
			FROM demo_comm c CROSS JOIN LATERAL (
				SELECT ST_Boundary(c.g) AS g
				UNION ALL
				SELECT ST_CollectionExtract(ST_Intersection(r.g, c.g), 2) FROM demo_road r WHERE ST_Intersects(r.g, c.g)
			) l GROUP BY c.i
		), blocks AS (
			SELECT ST_Area(ST_Transform((ST_Dump(ST_Polygonize(g))).geom, 4548)) AS a FROM lines GROUP BY i
		)
		SELECT count(*), percentile_cont(0.1) WITHIN GROUP (ORDER BY a), percentile_cont(0.5) WITHIN GROUP (ORDER BY a),
			percentile_cont(0.9) WITHIN GROUP (ORDER BY a), avg(a),
			avg((a < 5000)::int), avg((a BETWEEN 15000 AND 60000)::int),
			sum(a) FILTER (WHERE a < 5000) / sum(a), sum(a) FILTER (WHERE a BETWEEN 15000 AND 60000) / sum(a),
			sum(a) FILTER (WHERE a > 60000) / sum(a)
		FROM blocks`).Scan(&nBlocks, &p10, &p50, &p90, &mean, &small, &target, &smallArea, &targetArea, &bigArea); err != nil {
		return err
	}
	fmt.Printf("blocks    %d (communities cut by roads): p10 %.0f m², median %.0f m², p90 %.0f m², mean %.0f m²\n",
		nBlocks, p10, p50, p90, mean)
	fmt.Printf("blocks    by count: %.0f%% < 5,000 m², %.0f%% in 15,000-60,000 m²; by area: %.1f%% < 5,000 m², %.0f%% in 15,000-60,000 m², %.0f%% > 60,000 m²\n",
		100*small, 100*target, 100*smallArea, 100*targetArea, 100*bigArea)
	return nil
}
