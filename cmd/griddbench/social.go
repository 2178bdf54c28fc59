package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The social section times building social grids (gridd mgmt-grid build
// --kind social, 300 households a grid) over the demo district with its
// synthetic buildings, and over the 10× district (ten translated copies of
// the demo, each with the demo's buildings translated with it): reading the
// communities' grids, households and adjacency, partitioning them, writing
// the grids with history; and the balance reached. There is no PostGIS
// counterpart to compare with.
func init() {
	sections["social"] = section{order: 12, run: benchSocial}
}

func benchSocial(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	if err := loadBenchDemo(ctx, st); err != nil {
		return err
	}
	if _, err := st.Build(ctx, grids.BuildRequest{Area: "110101", Actor: "bench"}, nil); err != nil {
		return fmt.Errorf("build 110101: %w", err)
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(benchDir + "/roads.geojson")
	if err != nil {
		return err
	}
	roads, _, err := grids.ParseLines(data, geo.WGS84)
	if err != nil {
		return err
	}
	buildings := grids.DemoBuildings(shapes, roads, 110101)
	if _, err := st.ImportBuildings(ctx, buildings, "bench", "bench"); err != nil {
		return err
	}
	if err := benchSocialArea(ctx, b, st, "110101", "demo district"); err != nil {
		return err
	}
	if b.quick {
		return nil
	}
	districts, err := tileDemo(ctx, b, 10)
	if err != nil {
		return err
	}
	for _, d := range districts {
		if _, err := st.Build(ctx, grids.BuildRequest{Area: geo.Code(d), Actor: "bench"}, nil); err != nil {
			return fmt.Errorf("build %s: %w", d, err)
		}
	}
	// The copies lie side by side, one demo width plus 0.001° apart (see
	// tileDemo); each gets the demo's buildings moved with it but the first,
	// which lies over the demo district itself: the demo's grids own its
	// points (the smaller code) and hold its buildings already, so its
	// communities have none.
	var w float64
	if err := b.pool.QueryRow(ctx, `SELECT ST_XMax(geom) - ST_XMin(geom) + 0.001 FROM districts WHERE code = '110101' AND valid_to IS NULL`).Scan(&w); err != nil {
		return err
	}
	var copies []grids.BuildingFeature
	for k := 1; k < 10; k++ {
		dx := float64(k) * w
		for _, f := range buildings {
			f.Geom = project.Geometry(orb.Clone(f.Geom), func(p orb.Point) orb.Point { return orb.Point{p[0] + dx, p[1]} })
			f.Index = len(copies)
			copies = append(copies, f)
		}
	}
	if _, err := st.ImportBuildings(ctx, copies, "bench", "bench"); err != nil {
		return err
	}
	return benchSocialArea(ctx, b, st, geo.Code(districts[0]), "10× district")
}

// benchSocialArea builds the social grids of an area and reports the time
// of each step and the balance.
func benchSocialArea(ctx context.Context, b *bench, st *postgis.Store, area geo.Code, what string) error {
	target := grids.SocialTarget{Households: 300}
	var comms []grids.SocialCommunity
	read, err := timeIt(func() error {
		var err error
		comms, err = st.SocialInputs(ctx, area.String())
		return err
	})
	if err != nil {
		return err
	}
	var plans []postgis.SocialPlan
	units, households, groups, within := 0, 0, 0, 0
	part, err := timeIt(func() error {
		for _, c := range comms {
			p, err := grids.PartitionSocial(c, target)
			if err != nil {
				return err
			}
			units += p.Quality.UnitGrids
			households += p.Quality.Households
			groups += p.Quality.Groups
			within += p.Quality.Within
			plans = append(plans, postgis.SocialPlanOf(p, target))
		}
		return nil
	})
	if err != nil {
		return err
	}
	write, err := timeIt(func() error {
		_, err := st.ReplaceSocialGridsOf(ctx, plans, "bench", "bench")
		return err
	})
	if err != nil {
		return err
	}
	again, err := timeIt(func() error {
		ws, err := st.ReplaceSocialGridsOf(ctx, plans, "bench", "bench")
		for _, w := range ws {
			if err == nil && len(w.Created)+len(w.Retired) > 0 {
				err = fmt.Errorf("an unchanged rebuild changed %s", w.Created)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	total := read + part + write
	b.add(fmt.Sprintf("social grids of the %s (%d communities, %d unit grids, %d households, 300 a grid): %d grids, %d (%.0f%%) within ±30%%",
		what, len(comms), units, households, groups, within, 100*float64(within)/float64(max(1, groups))),
		fmt.Sprintf("%.1fs (read %s, partition %s, write %s; unchanged rebuild %s)", total.Seconds(),
			read.Round(time.Millisecond), part.Round(time.Millisecond), write.Round(time.Millisecond), again.Round(time.Millisecond)),
		"", "", "")
	return nil
}
