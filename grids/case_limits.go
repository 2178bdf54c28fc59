package grids

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gridd/workclock"
)

// TimeLimit is one row of the supervision centre's table of time limits
// (处置时限): how long a stage may take for cases of a class and urgency.
// An empty Class is the default of its stage and urgency; a two-digit
// Class is a major class's limit, which its classes without their own
// take. A case's stage takes the most specific row (class, else major
// class, else default).
type TimeLimit struct {
	Scheme  string `json:"scheme,omitempty"` // gb2026 or legacy; empty with the default
	Kind    string `json:"kind,omitempty"`   // component or matter; empty with the default
	Class   string `json:"class,omitempty"`  // 5-digit class, 2-digit major class, or empty: the default
	Name    string `json:"name,omitempty"`   // the class's name (answers only)
	Urgency string `json:"urgency"`          // normal or urgent
	Stage   string `json:"stage"`            // file, dispatch, handle, verify or close
	Limit   string `json:"limit"`            // 1wh, 2wd, 4h, 30m, 3d (workclock notation)
}

// TimeLimitStages are the stages a limit applies to, in the loop's order.
var TimeLimitStages = []string{"file", "dispatch", "handle", "verify", "close"}

// stageNames reads a stage in English or as the centre's table names it.
var stageNames = map[string]string{
	"file": "file", "立案": "file", "受理": "file",
	"dispatch": "dispatch", "派遣": "dispatch",
	"handle": "handle", "处置": "handle",
	"verify": "verify", "核查": "verify",
	"close": "close", "结案": "close",
}

var urgencyNames = map[string]string{
	"normal": UrgencyNormal, "一般": UrgencyNormal, "普通": UrgencyNormal,
	"urgent": UrgencyUrgent, "紧急": UrgencyUrgent,
}

// TimeLimitStore keeps the table of time limits.
type TimeLimitStore interface {
	TimeLimits(ctx context.Context) ([]TimeLimit, error)
	// ReplaceTimeLimits replaces the whole table, in one transaction, with
	// rows CheckTimeLimits accepts.
	ReplaceTimeLimits(ctx context.Context, limits []TimeLimit) error
}

// CheckTimeLimits normalises a table of time limits in place (stage and
// urgency names, the limit's notation, the scheme of a class) and checks
// it: each row's class is in the catalogue, its limit is a valid
// workclock limit, no row is there twice, and every stage has a default for
// both urgencies, so that every case gets a deadline. The error names the
// row (1-based) and what is wrong.
func CheckTimeLimits(limits []TimeLimit) error {
	return checkTimeLimits(limits, func(i int) string { return fmt.Sprintf("row %d", i+1) })
}

// checkTimeLimits is CheckTimeLimits with rows named by where.
func checkTimeLimits(limits []TimeLimit, where func(i int) string) error {
	var errs []error
	seen := map[TimeLimit]int{} // row index + 1
	for i := range limits {
		l := &limits[i]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where(i), fmt.Sprintf(format, args...)))
		}
		stage, ok := stageNames[strings.TrimSpace(l.Stage)]
		if !ok {
			bad("stage %q: want one of %s (or 立案, 派遣, 处置, 核查, 结案)", l.Stage, strings.Join(TimeLimitStages, ", "))
		}
		urgency, ok := urgencyNames[strings.TrimSpace(l.Urgency)]
		if !ok {
			bad("urgency %q: want normal or urgent (一般, 紧急)", l.Urgency)
		}
		lim, err := workclock.ParseLimit(strings.TrimSpace(l.Limit))
		if err != nil {
			bad("%v", err)
		}
		l.Stage, l.Urgency, l.Limit = stage, urgency, lim.String()
		l.Class, l.Name = strings.TrimSpace(l.Class), ""
		if l.Class == "" {
			if l.Kind != "" || (l.Scheme != "" && l.Scheme != SchemeGB2026) {
				bad("a default (no class) names kind %q or scheme %q: leave both empty", l.Kind, l.Scheme)
			}
			l.Scheme, l.Kind = "", ""
		} else {
			kind, err := ParseKind(l.Kind)
			if err != nil || kind == "" {
				bad("class %s: kind %q: want component (部件) or matter (事件)", l.Class, l.Kind)
			}
			l.Kind = kind
			if l.Scheme == "" {
				l.Scheme = SchemeGB2026
			}
			ci, ok := DefaultCatalog.Lookup(Class{Scheme: l.Scheme, Kind: l.Kind, Code: l.Class})
			if !ok && kind != "" {
				bad("class %s is not a %s class or major class of %s", l.Class, l.Kind, l.Scheme)
			}
			l.Name = ci.Name
		}
		k := *l
		k.Limit, k.Name = "", ""
		if j, dup := seen[k]; dup {
			bad("the same class, urgency and stage as %s", where(j-1))
		}
		seen[k] = i + 1
	}
	if len(errs) > 0 {
		return Invalid("limits", "%v", errors.Join(errs...))
	}
	for _, u := range []string{UrgencyNormal, UrgencyUrgent} {
		for _, st := range TimeLimitStages {
			if _, ok := seen[TimeLimit{Urgency: u, Stage: st}]; !ok {
				errs = append(errs, fmt.Errorf("no default for %s cases' %s stage (a row with no class)", u, st))
			}
		}
	}
	if len(errs) > 0 {
		return Invalid("limits", "%v", errors.Join(errs...))
	}
	slices.SortStableFunc(limits, func(a, b TimeLimit) int {
		return cmp.Or(cmp.Compare(a.Scheme, b.Scheme), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Class, b.Class),
			cmp.Compare(a.Urgency, b.Urgency), cmp.Compare(slices.Index(TimeLimitStages, a.Stage), slices.Index(TimeLimitStages, b.Stage)))
	})
	return nil
}

// ParseTimeLimitsCSV reads a table of time limits: a header naming the
// columns (kind, class, urgency, stage, limit; scheme and note optional;
// 类型, 类别, 紧急程度, 阶段, 时限 also read), then one row a limit. Rows
// are checked as CheckTimeLimits does, with errors naming the line.
func ParseTimeLimitsCSV(r io.Reader) ([]TimeLimit, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, Invalid("limits", "line 1: reading the header: %v", err)
	}
	col := map[string]int{}
	aliases := map[string]string{"类型": "kind", "类别": "class", "紧急程度": "urgency", "阶段": "stage", "时限": "limit", "方案": "scheme", "备注": "note"}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if a, ok := aliases[h]; ok {
			h = a
		}
		col[strings.ToLower(h)] = i
	}
	for _, need := range []string{"kind", "class", "urgency", "stage", "limit"} {
		if _, ok := col[need]; !ok {
			return nil, Invalid("limits", "line 1: no %s column (the header has %s)", need, strings.Join(head, ","))
		}
	}
	var out []TimeLimit
	lines := []int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, Invalid("limits", "line %d: %v", line, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		out = append(out, TimeLimit{Scheme: get("scheme"), Kind: get("kind"), Class: get("class"),
			Urgency: get("urgency"), Stage: get("stage"), Limit: get("limit")})
		lines = append(lines, line)
	}
	if err := checkTimeLimits(out, func(i int) string { return fmt.Sprintf("line %d", lines[i]) }); err != nil {
		return nil, err
	}
	return out, nil
}
