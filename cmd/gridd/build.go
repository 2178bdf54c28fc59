package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"gridd/geo"
	"gridd/grids"
)

func init() {
	commands["build"] = command{help: "build the unit grids of a district, street or community", run: runBuild}
}

func runBuild(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	areaFlag := fs.String("area", "", "district, street or community code to build (required)")
	target := fs.Float64("target-m2", grids.DefaultTargetM2, "target grid area in m²")
	roads := fs.String("roads", "", "cutting lines: a stored line layer, or a GeoJSON file used for this build only (default: every stored layer)")
	crsName := fs.String("crs", "wgs84", "coordinate system of a --roads file")
	dryRun := fs.Bool("dry-run", false, "compute, check and report without writing")
	workers := fs.Int("workers", 2, "database connections computing communities in parallel")
	reason := fs.String("reason", "", "why, for the history")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *areaFlag == "" || fs.NArg() > 0 {
		return errors.New("usage: gridd build --area CODE [--target-m2 10000] [--roads LAYER|FILE] [--dry-run]")
	}
	area, err := geo.ParseCode(*areaFlag)
	if err != nil {
		return fmt.Errorf("--area: %w", err)
	}
	req := grids.BuildRequest{Area: area, TargetM2: *target, DryRun: *dryRun, Actor: *actor, Reason: *reason, Workers: *workers}
	if *roads != "" {
		if st, err := os.Stat(*roads); err == nil && !st.IsDir() {
			crs, err := geo.ParseCRS(*crsName)
			if err != nil {
				return err
			}
			if req.Lines, err = readLines(*roads, crs); err != nil {
				return err
			}
		} else if req.Layer, err = grids.ParseLayer(*roads); err != nil {
			return fmt.Errorf("--roads %s is neither a file nor a layer name", *roads)
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	var bar *progressBar
	var progress func(grids.BuildProgress)
	if !*quiet {
		bar = &progressBar{w: e.stderr, start: time.Now()}
		progress = bar.update
	}
	rep, err := st.Build(ctx, req, progress)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return err
	}
	writeBuildReport(e.stdout, rep)
	return nil
}

// readLines reads and checks a GeoJSON file of lines, all or nothing.
func readLines(path string, crs geo.CRS) ([]grids.LineFeature, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	feats, rejected, err := grids.ParseLines(data, crs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rejected) > 0 {
		return nil, fmt.Errorf("%s: %w", path, &grids.RejectedError{What: "line", Rejected: rejected})
	}
	return feats, nil
}

// progressBar draws one line on stderr: communities done, grids made, time
// left (extrapolated from the communities done so far).
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  time.Time
	drawn bool
}

func (b *progressBar) update(p grids.BuildProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if p.Stage == "partition" && p.CommunitiesDone < p.CommunitiesTotal && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	const width = 30
	filled := 0
	if p.CommunitiesTotal > 0 {
		filled = width * p.CommunitiesDone / p.CommunitiesTotal
	}
	left := "?"
	if p.CommunitiesDone > 0 {
		el := now.Sub(b.start)
		rest := time.Duration(float64(el) * float64(p.CommunitiesTotal-p.CommunitiesDone) / float64(p.CommunitiesDone))
		left = rest.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d communities, %d grids, %s left, %s   ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.CommunitiesDone, p.CommunitiesTotal, p.GridsMade, left, p.Stage)
	b.drawn = true
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// writeBuildReport prints what the build did and the quality table.
func writeBuildReport(w io.Writer, rep grids.BuildReport) {
	verb := "built"
	if rep.DryRun {
		verb = "dry run of"
	}
	fmt.Fprintf(w, "%s %s in %.1fs: %d created, %d retired, %d unchanged (target %.0f m²)\n\n",
		verb, rep.Area, rep.Seconds, rep.Created, rep.Retired, rep.Unchanged, rep.TargetM2)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "area\tname\tgrids\tmean m²\tCV\tmin m²\tmax m²\twithin ±30%\tPolsby-Popper\ton lines\t")
	for _, q := range rep.Quality.Areas {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.3f\t%.0f\t%.0f\t%.1f%%\t%.3f\t%.1f%%\t\n",
			q.Code, q.Name, q.Grids, q.MeanM2, q.CV, q.MinM2, q.MaxM2, 100*q.WithinShare, q.Compactness, 100*q.OnLinesShare)
	}
	tw.Flush()
	if len(rep.Quality.Problems) == 0 {
		fmt.Fprintln(w, "\nevery community meets every guarantee")
		return
	}
	fmt.Fprintf(w, "\n%d grid(s) could not meet a guarantee:\n", len(rep.Quality.Problems))
	for _, p := range rep.Quality.Problems {
		fmt.Fprintf(w, "  %s %s: %s: %s\n", p.Community, p.Grid, p.Guarantee, p.Reason)
	}
}
