package grids

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// MgmtGrid is a management (responsibility) grid: a named union of whole
// unit grids of one street, with its own code. Its geometry is derived from
// its members and follows them when unit grids are rebuilt or edited.
type MgmtGrid struct {
	Code       string
	Name       string
	StreetCode geo.Code
	Members    []geo.Code
	Geom       orb.MultiPolygon
	AreaM2     float64
	ValidFrom  time.Time
}

// MgmtStore is the storage management grids need.
type MgmtStore interface {
	// CreateMgmtGrid defines a management grid from current unit grids of
	// one street, recorded in the history. A current management grid with the
	// same code is ErrConflict; a member that is not a current unit grid, or
	// members of different streets, are an *InvalidError.
	CreateMgmtGrid(ctx context.Context, code, name string, members []geo.Code, actor, reason string) (MgmtGrid, error)
	// MgmtGrid returns the current management grid with the code.
	MgmtGrid(ctx context.Context, code string) (MgmtGrid, error)
}

var mgmtCode = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// ParseMgmtGrid checks a management grid's definition on its own: code
// (1-32 letters, digits, _ or -), name, and at least one unit-grid code of
// one street, without repeats.
func ParseMgmtGrid(code, name string, members []string) (string, string, []geo.Code, error) {
	code, name = strings.TrimSpace(code), strings.TrimSpace(name)
	if !mgmtCode.MatchString(code) {
		return "", "", nil, Invalid("code", "%q is not a management grid code (1-32 letters, digits, _ or -)", code)
	}
	if name == "" {
		return "", "", nil, Invalid("name", "is empty")
	}
	if len(members) == 0 {
		return "", "", nil, Invalid("grids", "a management grid needs at least one unit grid")
	}
	seen := map[geo.Code]bool{}
	var out []geo.Code
	for _, m := range members {
		c, err := geo.ParseCodeAt(m, geo.Grid)
		if err != nil {
			return "", "", nil, Invalid("grids", "%v", err)
		}
		if seen[c] {
			return "", "", nil, Invalid("grids", "unit grid %s is listed twice", c)
		}
		seen[c] = true
		if len(out) > 0 && c.At(geo.Street) != out[0].At(geo.Street) {
			return "", "", nil, Invalid("grids", "unit grids %s and %s are in different streets (%s, %s); a management grid lies in one street",
				out[0], c, out[0].At(geo.Street), c.At(geo.Street))
		}
		out = append(out, c)
	}
	return code, name, out, nil
}
