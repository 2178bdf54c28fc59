package grids

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DivisionImport says how a division import writes.
type DivisionImport struct {
	Actor, Reason string
	// Fit, in metres, repairs imperfect boundaries when above 0: level by
	// level from the districts down, children are snapped to their parent's
	// boundary within Fit and clipped to it, an overlap of siblings goes to
	// the one with the smaller code, a gap or sliver inside a parent goes to
	// the child sharing the longest border with it, and siblings are noded
	// so that they share their vertices exactly. A feature that would move
	// farther than Fit is refused by name with the distance. 0 keeps the
	// strict check: children must lie inside their parent and siblings must
	// not overlap.
	Fit float64
	// DryRun does everything and reports it, then writes nothing.
	DryRun bool
}

// DivisionFit is what fitting did to one feature.
type DivisionFit struct {
	Index   int     `json:"index"`
	Code    string  `json:"code"`
	Name    string  `json:"name"`
	AreaM2  float64 `json:"area_m2"`  // as given in the file
	FitM2   float64 `json:"fit_m2"`   // after fitting
	TakenM2 float64 `json:"taken_m2"` // ground it took from gaps and siblings
	GivenM2 float64 `json:"given_m2"` // ground it gave up to siblings or lost outside its parent
	MovedM  float64 `json:"moved_m"`  // largest displacement of its boundary (Hausdorff distance)
}

// Changed says whether fitting moved the feature by 5 mm or more (noding
// moves every vertex it touches by up to about a micrometre).
func (f DivisionFit) Changed() bool { return f.MovedM >= 0.005 }

// DivisionImportReport is what a division import did; Fit lists every
// feature when the import fitted boundaries.
type DivisionImportReport struct {
	ImportReport
	DryRun bool          `json:"dry_run,omitempty"`
	Fit    []DivisionFit `json:"fit,omitempty"`
}

// DivisionImporter imports divisions with options.
type DivisionImporter interface {
	ImportDivisionsWith(ctx context.Context, feats []DivisionFeature, opt DivisionImport) (DivisionImportReport, error)
}

// ParseDistance reads a distance in metres such as "2m", "0.5 m", "20cm" or
// "2" (metres).
func ParseDistance(s string) (float64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	scale := 1.0
	switch {
	case strings.HasSuffix(t, "cm"):
		t, scale = strings.TrimSuffix(t, "cm"), 0.01
	case strings.HasSuffix(t, "mm"):
		t, scale = strings.TrimSuffix(t, "mm"), 0.001
	case strings.HasSuffix(t, "km"):
		t, scale = strings.TrimSuffix(t, "km"), 1000
	case strings.HasSuffix(t, "m"):
		t = strings.TrimSuffix(t, "m")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, Invalid("distance", "%q is not a distance (want e.g. 2m, 50cm)", s)
	}
	return v * scale, nil
}

// FormatMetres writes a distance for people: 2 m, 0.35 m, 0.001 m.
func FormatMetres(m float64) string {
	return strconv.FormatFloat(m, 'f', -1, 64) + " m"
}

// String is one line of the fit report.
func (f DivisionFit) String() string {
	return fmt.Sprintf("%s %s: %.2f m² given, %.2f m² after fitting (took %.2f m², gave up %.2f m²), moved at most %.2f m",
		f.Code, f.Name, f.AreaM2, f.FitM2, f.TakenM2, f.GivenM2, f.MovedM)
}
