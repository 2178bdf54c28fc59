package grids

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// Department is a competent or responsible body reports are routed to. A
// department with a TerritoryCode is the territorial office (属地) of that
// district, street or community.
type Department struct {
	Code          string   `json:"code"` // 18-character unified social credit code
	Name          string   `json:"name"`
	Contact       string   `json:"contact"`
	TerritoryCode geo.Code `json:"territory_code,omitempty"`
}

// DepartmentRef names a department in a routing answer.
type DepartmentRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

var creditCode = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{18}$`)

// CheckDepartment validates a department's fields.
func CheckDepartment(d Department) error {
	if !creditCode.MatchString(d.Code) {
		return Invalid("code", "%q is not an 18-character unified social credit code (digits and capitals except I, O, S, V, Z)", d.Code)
	}
	if strings.TrimSpace(d.Name) == "" {
		return Invalid("name", "is required")
	}
	if d.TerritoryCode != "" {
		c, err := geo.ParseCode(string(d.TerritoryCode))
		if err != nil || c.Level() == geo.Grid {
			return Invalid("territory_code", "%q is not a district, street or community code", d.TerritoryCode)
		}
	}
	return nil
}

// Scope levels of routing rules, most specific first.
const (
	ScopeGrid       = "grid"
	ScopeMgmt       = "mgmt"
	ScopeCommunity  = "community"
	ScopeStreet     = "street"
	ScopeDistrict   = "district"
	ScopeEverywhere = "everywhere"
)

var scopeRank = map[string]int{ScopeGrid: 0, ScopeMgmt: 1, ScopeCommunity: 2, ScopeStreet: 3, ScopeDistrict: 4, ScopeEverywhere: 5}

// Scope is where a rule applies.
type Scope struct {
	Level string `json:"level"`
	Code  string `json:"code,omitempty"`
}

// ParseScope reads a scope as the API and CLI write it: "*" (or empty) for
// everywhere, a 6/9/12/15-digit district, street, community or grid code, or
// "mgmt:CODE" for a management grid.
func ParseScope(s string) (Scope, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" || s == ScopeEverywhere {
		return Scope{Level: ScopeEverywhere}, nil
	}
	if m, ok := strings.CutPrefix(s, "mgmt:"); ok {
		if !regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`).MatchString(m) {
			return Scope{}, Invalid("scope", "management grid code %q: 1-32 letters, digits, _ or -", m)
		}
		return Scope{Level: ScopeMgmt, Code: m}, nil
	}
	c, err := geo.ParseCode(s)
	if err != nil {
		return Scope{}, Invalid("scope", "%v (or \"*\" for everywhere, \"mgmt:CODE\" for a management grid)", err)
	}
	return Scope{Level: c.Level().String(), Code: c.String()}, nil
}

func (s Scope) String() string {
	switch s.Level {
	case ScopeEverywhere:
		return "everywhere"
	case ScopeMgmt:
		return "management grid " + s.Code
	}
	return s.Level + " " + s.Code
}

// Rule is a routing rule: reports of Class in Scope go to Department.
// Priority breaks ties within one scope level (higher wins).
type Rule struct {
	ID         int64         `json:"id"`
	Class      Class         `json:"class"`
	Scope      Scope         `json:"scope"`
	Department DepartmentRef `json:"department"`
	Priority   int           `json:"priority"`
	Note       string        `json:"note,omitempty"`
}

// RoutingStore is the storage routing needs.
type RoutingStore interface {
	// RulesFor returns the current rules for any of the classes whose scope
	// is one of scopes, with their departments' names.
	RulesFor(ctx context.Context, classes []Class, scopes []Scope) ([]Rule, error)
	// TerritorialOffices returns the current departments whose territory is
	// one of the codes.
	TerritorialOffices(ctx context.Context, codes []geo.Code) ([]Department, error)
	// SaveReport stores a routed report and returns its id.
	SaveReport(ctx context.Context, r Report) (int64, error)
}

// ComponentDirectory tells a component's competent department. It is its
// own interface because the component census lives in its own part of the
// store.
type ComponentDirectory interface {
	// CompetentDepartment returns the component's competent department;
	// found is false when the component is unknown or has none.
	CompetentDepartment(ctx context.Context, component string) (dep DepartmentRef, found bool, err error)
}

// RouteRequest is a report to route.
type RouteRequest struct {
	InputCRS  geo.CRS
	Input     orb.Point // as given, in InputCRS
	Class     Class
	Component string // optional component code
	AccuracyM float64
	Actor     string
	MaxSnapM  float64
}

// Decision steps, in the order they are tried.
const (
	DecidedByComponent   = "component"
	DecidedByRule        = "rule"
	DecidedByTerritorial = "territorial"
	DecidedByNone        = "none"
)

// Routed is the answer to a report: where it is, who takes it, and why.
type Routed struct {
	Location
	ReportID   int64          `json:"report_id"`
	Class      ClassInfo      `json:"class"`
	Department *DepartmentRef `json:"department"`
	DecidedBy  string         `json:"decided_by"`
	Rule       *Rule          `json:"rule,omitempty"`
	Reason     string         `json:"reason"`
	// GridWorkers are the workers on duty at the point's management grids
	// when the report is routed ([] when none; absent when the router has
	// no worker directory); GridWorkersNote says which grids have nobody.
	GridWorkers     []OnDuty `json:"grid_workers,omitzero"`
	GridWorkersNote string   `json:"grid_workers_note,omitempty"`
}

// Report is what is stored for a routed report.
type Report struct {
	Request RouteRequest
	WGS84   orb.Point
	Routed  Routed
}

// Router routes reports: locate the point, then the component's competent
// department, else the most specific matching rule, else the territorial
// office of the community or its street; if there is none, the answer says
// so. Every answer is stored as a report.
type Router struct {
	Locator    *Locator
	Store      RoutingStore
	Components ComponentDirectory // may be nil: no component census yet
	Catalog    *Catalog
	Workers    WorkerDirectory // may be nil: answers name no grid workers
}

// Route routes one report and stores it.
func (rt *Router) Route(ctx context.Context, req RouteRequest) (Routed, error) {
	if req.Actor == "" {
		return Routed{}, Invalid("actor", "is required")
	}
	ci, ok := rt.Catalog.Lookup(req.Class)
	if !ok || req.Class.Major() {
		return Routed{}, Invalid("class", "unknown class %s", req.Class)
	}
	p := geo.ToWGS84(req.Input, req.InputCRS)
	loc, err := rt.Locator.Lookup(p, LookupOptions{AccuracyM: req.AccuracyM, MaxSnapM: req.MaxSnapM})
	if err != nil {
		return Routed{}, err
	}
	out := Routed{Location: loc, Class: ci}
	if err := rt.decide(ctx, req, &out); err != nil {
		return Routed{}, err
	}
	if rt.Workers != nil {
		now := time.Now()
		r, err := rt.Workers.RosterOf(ctx, loc, now)
		if err != nil {
			return Routed{}, err
		}
		out.GridWorkers = append([]OnDuty{}, r.Workers...)
		out.GridWorkersNote = WorkerNote(string(loc.Grid.Code), r, now)
	}
	id, err := rt.Store.SaveReport(ctx, Report{Request: req, WGS84: p, Routed: out})
	if err != nil {
		return Routed{}, err
	}
	out.ReportID = id
	return out, nil
}

func (rt *Router) decide(ctx context.Context, req RouteRequest, out *Routed) error {
	loc := out.Location
	var notes []string
	if req.Component != "" {
		if rt.Components == nil {
			notes = append(notes, fmt.Sprintf("component %s named, but no component census is loaded", req.Component))
		} else {
			dep, found, err := rt.Components.CompetentDepartment(ctx, req.Component)
			if err != nil {
				return err
			}
			if found {
				out.Department, out.DecidedBy = &dep, DecidedByComponent
				out.Reason = fmt.Sprintf("the report names component %s, whose competent department is %s %s; the component's record beats the class rules", req.Component, dep.Code, dep.Name)
				return nil
			}
			notes = append(notes, fmt.Sprintf("component %s has no competent department on record", req.Component))
		}
	}

	classes := []Class{req.Class, req.Class.MajorOf()}
	scopes := []Scope{{Level: ScopeGrid, Code: string(loc.Grid.Code)}}
	for _, m := range loc.Mgmt {
		scopes = append(scopes, Scope{Level: ScopeMgmt, Code: m.Code})
	}
	scopes = append(scopes,
		Scope{Level: ScopeCommunity, Code: loc.Community.Code},
		Scope{Level: ScopeStreet, Code: loc.Street.Code},
		Scope{Level: ScopeDistrict, Code: loc.District.Code},
		Scope{Level: ScopeEverywhere})
	rules, err := rt.Store.RulesFor(ctx, classes, scopes)
	if err != nil {
		return err
	}
	if len(rules) > 0 {
		SortRules(rules)
		r := rules[0]
		out.Department, out.DecidedBy, out.Rule = &r.Department, DecidedByRule, &r
		why := []string{fmt.Sprintf("rule %d sends %s in %s to %s %s", r.ID, r.Class, r.Scope, r.Department.Code, r.Department.Name)}
		if len(rules) > 1 {
			o := rules[1]
			switch {
			case scopeRank[o.Scope.Level] > scopeRank[r.Scope.Level]:
				why = append(why, fmt.Sprintf("its scope (%s) is more specific than the next matching rule's (%s, rule %d)", r.Scope.Level, o.Scope.Level, o.ID))
			case o.Priority < r.Priority:
				why = append(why, fmt.Sprintf("same scope level as rule %d, higher priority (%d over %d)", o.ID, r.Priority, o.Priority))
			case o.Class.Major() && !r.Class.Major():
				why = append(why, fmt.Sprintf("same scope level and priority as rule %d, and the exact class beats the major-class wildcard", o.ID))
			default:
				why = append(why, fmt.Sprintf("same scope level, priority and class as rule %d; the older rule wins", o.ID))
			}
			why = append(why, fmt.Sprintf("%d rules matched", len(rules)))
		} else {
			why = append(why, "the only matching rule")
		}
		out.Reason = strings.Join(append(notes, why...), "; ")
		return nil
	}
	notes = append(notes, fmt.Sprintf("no rule for %s (or its major class %s) covers grid %s or its areas", req.Class.Code, req.Class.Code[:2], loc.Grid.Code))

	offices, err := rt.Store.TerritorialOffices(ctx, []geo.Code{geo.Code(loc.Community.Code), geo.Code(loc.Street.Code)})
	if err != nil {
		return err
	}
	sort.Slice(offices, func(i, j int) bool {
		// The community's own office before the street's; then by code.
		li, lj := len(offices[i].TerritoryCode), len(offices[j].TerritoryCode)
		if li != lj {
			return li > lj
		}
		return offices[i].Code < offices[j].Code
	})
	if len(offices) > 0 {
		o := offices[0]
		out.Department = &DepartmentRef{Code: o.Code, Name: o.Name}
		out.DecidedBy = DecidedByTerritorial
		level := "community " + loc.Community.Code
		if len(o.TerritoryCode) == 9 {
			level = "street " + loc.Street.Code + " (the community " + loc.Community.Code + " has no office of its own)"
		}
		out.Reason = strings.Join(append(notes, fmt.Sprintf("territorial fallback (属地兜底): %s %s is the territorial office of %s", o.Code, o.Name, level)), "; ")
		return nil
	}
	out.DecidedBy = DecidedByNone
	out.Reason = strings.Join(append(notes, fmt.Sprintf("NO DEPARTMENT: no territorial office is recorded for community %s or street %s; the report is stored unassigned and needs a dispatcher", loc.Community.Code, loc.Street.Code)), "; ")
	return nil
}

// SortRules orders matching rules by precedence: the most specific scope
// (grid, management grid, community, street, district, everywhere), then the
// higher priority, then the exact class before its major-class wildcard,
// then the older rule.
func SortRules(rules []Rule) {
	sort.SliceStable(rules, func(i, j int) bool {
		a, b := rules[i], rules[j]
		if ra, rb := scopeRank[a.Scope.Level], scopeRank[b.Scope.Level]; ra != rb {
			return ra < rb
		}
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if a.Class.Major() != b.Class.Major() {
			return !a.Class.Major()
		}
		return a.ID < b.ID
	})
}

// RoutingAdmin is the storage behind department and rule management. Every
// change is recorded in the history with its actor and reason, in the same
// transaction.
type RoutingAdmin interface {
	Departments(ctx context.Context) ([]Department, error)
	PutDepartment(ctx context.Context, d Department, actor, reason string) (created bool, err error)
	RetireDepartment(ctx context.Context, code, actor, reason string) error
	Rules(ctx context.Context) ([]Rule, error)
	// AddRule stores a rule whose department and scope exist; it returns
	// the rule with its id and department name.
	AddRule(ctx context.Context, r Rule, actor, reason string) (Rule, error)
	RetireRule(ctx context.Context, id int64, actor, reason string) error
}
