package grids

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"gridd/geo"
)

// DefaultTargetM2 is the size of a unit grid (万米单元网格): about 10,000 m².
const DefaultTargetM2 = 10000

// MinGridWidthM is the narrowest a unit grid may be: the diameter of the
// largest circle inside it, in metres.
const MinGridWidthM = 20

// BuildRequest asks for the unit grids of a district, street or community to
// be (re)built.
type BuildRequest struct {
	// Area is the district, street or community whose communities are built.
	Area geo.Code
	// TargetM2 is the wanted grid area; 0 means DefaultTargetM2.
	TargetM2 float64
	// Layer limits the cutting lines to one stored line layer; empty means
	// every stored layer.
	Layer string
	// Lines, when not nil, are the cutting lines for this build instead of
	// the stored layers (a file given on the command line). They are not
	// stored.
	Lines []LineFeature
	// DryRun computes, checks and reports without writing anything.
	DryRun bool
	// Actor and Reason are what the history records.
	Actor  string
	Reason string
	// Workers is how many database connections compute communities in
	// parallel; 0 means 2.
	Workers int
}

// Target is the request's target area in m².
func (r BuildRequest) Target() float64 {
	if r.TargetM2 <= 0 {
		return DefaultTargetM2
	}
	return r.TargetM2
}

// Validate checks the request on its own.
func (r BuildRequest) Validate() error {
	if _, err := geo.ParseCode(r.Area.String()); err != nil {
		return Invalid("area", "%v", err)
	}
	if l := r.Area.Level(); l != geo.District && l != geo.Street && l != geo.Community {
		return Invalid("area", "%s is a unit-grid code; build a district, street or community", r.Area)
	}
	if r.TargetM2 < 0 || math.IsNaN(r.TargetM2) || math.IsInf(r.TargetM2, 0) {
		return Invalid("target_m2", "must be a positive number of m², got %v", r.TargetM2)
	}
	if t := r.Target(); t < 500 || t > 1_000_000 {
		return Invalid("target_m2", "%.0f m² is outside 500-1,000,000 m²", t)
	}
	return nil
}

// BuildProgress is how far a running build has come.
type BuildProgress struct {
	CommunitiesDone  int `json:"communities_done"`
	CommunitiesTotal int `json:"communities_total"`
	GridsMade        int `json:"grids_made"`
	// Stage is "partition" while communities are computed, then "check",
	// "write" and "done".
	Stage string `json:"stage"`
}

// BuildReport says what a build did (or, for a dry run, would do) and how
// good the grids are.
type BuildReport struct {
	Area      string        `json:"area"`
	TargetM2  float64       `json:"target_m2"`
	DryRun    bool          `json:"dry_run"`
	Created   int           `json:"created"`
	Retired   int           `json:"retired"`
	Unchanged int           `json:"unchanged"`
	Duration  time.Duration `json:"-"`
	Seconds   float64       `json:"seconds"`
	Quality   Quality       `json:"quality"`
}

// Quality is the quality report of a build: figures per area (the built
// area first, then each street, or each community when a street or a
// community was built) and the communities that could not meet a guarantee.
type Quality struct {
	Areas    []AreaQuality `json:"areas"`
	Problems []Problem     `json:"problems"`
}

// AreaQuality measures the grids of one area. Areas are ST_Area in the
// area's metric Gauss-Kruger zone.
type AreaQuality struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Grids int    `json:"grids"`
	// MeanM2, CV, MinM2, MaxM2: mean area, coefficient of variation
	// (standard deviation / mean), smallest and largest area.
	MeanM2 float64 `json:"mean_m2"`
	CV     float64 `json:"cv"`
	MinM2  float64 `json:"min_m2"`
	MaxM2  float64 `json:"max_m2"`
	// WithinShare is the share of grids whose area is within ±30% of the
	// target.
	WithinShare float64 `json:"within_30pct_share"`
	// Compactness is the mean Polsby-Popper score 4πA/P² (1 for a circle,
	// 0.785 for a square).
	Compactness float64 `json:"compactness"`
	// OnLinesShare is the share of the grids' boundary length (each grid's
	// whole boundary) that lies within 0.5 m of a cutting line.
	OnLinesShare float64 `json:"on_lines_share"`
}

// Problem is a community (or one of its grids) that could not meet a
// guarantee, with the reason.
type Problem struct {
	Community string `json:"community"`
	Grid      string `json:"grid,omitempty"`
	Guarantee string `json:"guarantee"`
	Reason    string `json:"reason"`
}

// Builder builds unit grids.
type Builder interface {
	// Build partitions every current community of the request's area into
	// unit grids, checks the guarantees, and in one transaction retires the
	// grids that changed and writes the new ones (nothing when DryRun). A
	// failure leaves the previous grids in force. progress, when not nil, is
	// called as communities are done.
	Build(ctx context.Context, req BuildRequest, progress func(BuildProgress)) (BuildReport, error)
}

// BuildError is a build refused because its grids broke a hard guarantee
// (coverage, overlap, validity, codes); nothing was written.
type BuildError struct {
	Problems []Problem
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build refused, nothing was written; %d guarantee(s) broken:", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Problems)-i)
			break
		}
		fmt.Fprintf(&b, "\n  community %s", p.Community)
		if p.Grid != "" {
			fmt.Fprintf(&b, " grid %s", p.Grid)
		}
		fmt.Fprintf(&b, ": %s: %s", p.Guarantee, p.Reason)
	}
	return b.String()
}
