package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"runtime/debug"
	"time"

	"github.com/paulmach/orb"

	"gridd/grids/postgis"
	"gridd/grids/synth"
)

// -large: the lookup section loads 10 million synthetic grids instead (a
// province's urban area: ten districts of a million grids of about 100 m,
// each its own jittered lattice, with gaps between them; 2 districts with
// -quick) and reports load time, RSS and lookup rate.
var largeLookup = flag.Bool("large", false, "lookup section: 10M synthetic grids (a province's urban area): load time, RSS and lookup rate; and the partition section")

func benchLookupLarge(ctx context.Context, b *bench) error {
	districts := 10
	if b.quick {
		districts = 2
	}
	const side = 1000
	var lats []synth.Lattice
	var exts []orb.Bound
	for k := range districts {
		// Four districts a row, a degree apart.
		o := orb.Point{113.0 + float64(k%4)*1.0, 22.0 + float64(k/4)*1.0}
		lat := lookupLattice(side, o)
		lat.District = fmt.Sprintf("4401%02d", k+1)
		lats = append(lats, lat)
		exts = append(exts, orb.Bound{Min: o, Max: orb.Point{o[0] + side*lat.Cell, o[1] + side*lat.Cell}})
	}
	d, err := loadLookupMap(ctx, b, lats)
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("large map: %d districts of %d × %d grids loaded into PostGIS (COPY, names, management grids, ANALYZE)", districts, side, side),
		d.Round(time.Second).String(), "", "", "")
	runs := b.runs
	b.runs = min(b.runs, 3)
	err = benchIndexMemory(b, "large map: ")
	b.runs = runs
	if err != nil {
		return err
	}
	st := postgis.NewStore(b.pool)
	ix, err := st.BuildIndex(ctx)
	if err != nil {
		return err
	}
	debug.FreeOSMemory()
	rng := rand.New(rand.NewSource(11))
	n := 2_000_000
	pts := make([]orb.Point, 0, n)
	for range n {
		pts = append(pts, randomPoints(rng, 1, exts[rng.Intn(len(exts))])...)
	}
	found := 0
	for _, p := range pts {
		if _, ok := ix.Owner(p); ok {
			found++
		}
	}
	oneCore := func() float64 {
		c0 := cpuTime()
		for _, p := range pts {
			ix.Owner(p)
		}
		return float64(len(pts)) / (cpuTime() - c0).Seconds()
	}
	oneCore()
	r, err := repeat(b.runs, func() (float64, error) { return oneCore(), nil })
	if err != nil {
		return err
	}
	b.addStats(fmt.Sprintf("large map: point → grid in process, 1 goroutine, random over the districts, per CPU second (%d pts, %d inside, %d grids)", n, found, ix.Len()),
		"lookups/s", r, nil, "", perSec, "≥ 2.5M/s per core (the 1M floor)")
	return nil
}
