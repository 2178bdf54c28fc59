package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"gridd/grids"
	"gridd/grids/postgis"
)

// gridd mgmt-grid build --kind social: each community's unit grids of the
// area partitioned into contiguous social grids balanced on households
// (and residents), written in one transaction with history, with a quality
// report. A rebuild keeps every social grid whose unit grids did not change,
// with its code.
func runMgmtGridBuild(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("mgmt-grid build", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	area := fs.String("area", "", "district, street or community code whose communities are built")
	kind := fs.String("kind", "social", "kind of management grid built: social (by households and residents)")
	households := fs.Int("target-households", 300, "households a social grid aims at")
	residents := fs.Int("target-residents", 0, "residents a social grid aims at, besides households (0: households only)")
	dryRun := fs.Bool("dry-run", false, "partition and report without writing")
	reason := fs.String("reason", "social grids built", "why, for the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kind != "social" {
		return fmt.Errorf("--kind %q: only social grids are built (management grids of other kinds are drawn with mgmt-grid create)", *kind)
	}
	if *area == "" {
		return errors.New("--area is required: a district, street or community code")
	}
	target := grids.SocialTarget{Households: *households, Residents: *residents}
	if err := target.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	plans, err := planSocialGrids(ctx, st, *area, target, e.stdout, true)
	if err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintln(e.stdout, "dry run: nothing written")
		return nil
	}
	ws, err := st.ReplaceSocialGridsOf(ctx, plans, *actor, *reason)
	if err != nil {
		return err
	}
	var kept, created, retired int
	for _, w := range ws {
		kept, created, retired = kept+len(w.Kept), created+len(w.Created), retired+len(w.Retired)
	}
	fmt.Fprintf(e.stdout, "written: %d social grids kept, %d created, %d retired\n", kept, created, retired)
	return nil
}

// planSocialGrids partitions each community of the area into social grids
// of the target and writes the quality report to w: one line per
// community when perCommunity, and the area's summary.
func planSocialGrids(ctx context.Context, st *postgis.Store, area string, target grids.SocialTarget, w io.Writer, perCommunity bool) ([]postgis.SocialPlan, error) {
	comms, err := st.SocialInputs(ctx, area)
	if err != nil {
		return nil, err
	}
	if len(comms) == 0 {
		return nil, fmt.Errorf("area %s has no community with current unit grids", area)
	}
	var plans []postgis.SocialPlan
	groups, within, total := 0, 0, 0
	for _, c := range comms {
		p, err := grids.PartitionSocial(c, target)
		if err != nil {
			return nil, fmt.Errorf("community %s: %w", c.Code, err)
		}
		q := p.Quality
		groups += q.Groups
		within += q.Within
		total += q.Households
		if perCommunity {
			fmt.Fprintf(w, "%s: %d unit grids, %d households, %d residents → %d social grids, load %.2f-%.2f (σ %.2f), %d within ±30%%\n",
				c.Code, q.UnitGrids, q.Households, q.Residents, q.Groups, q.MinLoad, q.MaxLoad, q.StdDevLoad, q.Within)
			for _, r := range q.Reasons {
				fmt.Fprintf(w, "  %s\n", r)
			}
		}
		plans = append(plans, postgis.SocialPlanOf(p, target))
	}
	fmt.Fprintf(w, "%d communities, %d households → %d social grids of %s, %d (%.0f%%) within ±30%%\n",
		len(comms), total, groups, target, within, 100*float64(within)/float64(max(1, groups)))
	return plans, nil
}
