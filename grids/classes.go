package grids

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gridd/grids/catalog"
)

// Class schemes. A class code means something only with its scheme and kind:
// both schemes reuse the same numbers for components and for matters.
const (
	// SchemeGB2026 is GB/T 47678.5-2026: 5-digit codes (2-digit major +
	// 3-digit minor).
	SchemeGB2026 = "gb2026"
	// SchemeLegacy is CJ/T 214-2007 / GB/T 30428.2-2013: 4-digit codes
	// (2 + 2).
	SchemeLegacy = "legacy"

	// KindComponent is a component (部件) class; KindMatter a matter or
	// event (事项/事件) class.
	KindComponent = string(catalog.Component)
	KindMatter    = string(catalog.Matter)
)

// Class identifies a report class: a full code, or in a routing rule also a
// 2-digit major class that stands for every class under it.
type Class struct {
	Scheme string `json:"scheme"`
	Kind   string `json:"kind"`
	Code   string `json:"code"`
}

// Major reports whether the class is a 2-digit major-class wildcard.
func (c Class) Major() bool { return len(c.Code) == 2 }

// MajorOf is the major class a full class falls under.
func (c Class) MajorOf() Class { return Class{Scheme: c.Scheme, Kind: c.Kind, Code: c.Code[:2]} }

func (c Class) String() string {
	s := c.Scheme + " " + c.Kind + " " + c.Code
	if c.Major() {
		s += " (major class)"
	}
	return s
}

// ClassInfo is one entry of the class catalogue.
type ClassInfo struct {
	Class
	Name      string `json:"name"`
	MajorName string `json:"major_name"`
}

// Catalog is a class directory: every full class and every major class, by
// scheme and kind.
type Catalog struct {
	classes map[Class]ClassInfo
	sorted  []ClassInfo
}

// DefaultCatalog is the embedded directory of both schemes.
var DefaultCatalog = mustCatalog()

// mustCatalog indexes the embedded directories of package catalog by scheme
// and kind, with an entry for every major class too.
func mustCatalog() *Catalog {
	c := &Catalog{classes: map[Class]ClassInfo{}}
	add := func(scheme string, kind catalog.Kind, code, major, majorName, name string) {
		full := ClassInfo{Class: Class{scheme, string(kind), code}, Name: name, MajorName: majorName}
		c.classes[full.Class] = full
		c.classes[Class{scheme, string(kind), major}] = ClassInfo{Class: Class{scheme, string(kind), major}, Name: majorName, MajorName: majorName}
	}
	for _, cl := range catalog.Classes() {
		add(SchemeGB2026, cl.Kind, cl.Code, cl.MajorCode, cl.MajorName, cl.Name)
	}
	for _, cl := range catalog.LegacyClasses() {
		add(SchemeLegacy, cl.Kind, cl.Code, cl.MajorCode, cl.MajorName, cl.Name)
	}
	for _, ci := range c.classes {
		c.sorted = append(c.sorted, ci)
	}
	sort.Slice(c.sorted, func(i, j int) bool {
		a, b := c.sorted[i], c.sorted[j]
		if a.Scheme != b.Scheme {
			return a.Scheme < b.Scheme
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Code < b.Code
	})
	return c
}

// Lookup returns the catalogue entry of a class.
func (c *Catalog) Lookup(cl Class) (ClassInfo, bool) {
	ci, ok := c.classes[cl]
	return ci, ok
}

// ParseKind reads a kind name: component (部件) or matter (事项, event, 事件).
func ParseKind(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "component", "部件", "管理部件":
		return KindComponent, nil
	case "matter", "event", "事项", "事件", "管理事项":
		return KindMatter, nil
	case "":
		return "", nil
	}
	return "", fmt.Errorf("unknown kind %q (want component or matter)", s)
}

// Resolve validates a class code as a report or rule gives it. The scheme
// comes from the code's length (5 digits: GB/T 47678.5-2026; 4 digits:
// legacy); a 2-digit major class is accepted only when allowMajor is set,
// and then needs scheme (default gb2026). kind may be empty when the code
// exists in only one kind. An unknown code is an *InvalidError on field that
// lists the nearest valid classes.
func (c *Catalog) Resolve(field, code, kind, scheme string, allowMajor bool) (Class, error) {
	code = strings.TrimSpace(code)
	k, err := ParseKind(kind)
	if err != nil {
		return Class{}, Invalid("kind", "%v", err)
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return Class{}, Invalid(field, "class %q: only digits are allowed (5-digit GB/T 47678.5 code, 4-digit legacy code%s)", code, majorHint(allowMajor))
		}
	}
	switch len(code) {
	case 5:
		scheme = SchemeGB2026
	case 4:
		scheme = SchemeLegacy
	case 2:
		if !allowMajor {
			return Class{}, Invalid(field, "class %q is a major class; a report needs a full class (5-digit GB/T 47678.5 code or 4-digit legacy code)", code)
		}
		switch scheme {
		case "":
			scheme = SchemeGB2026
		case SchemeGB2026, SchemeLegacy:
		default:
			return Class{}, Invalid("scheme", "unknown scheme %q (want gb2026 or legacy)", scheme)
		}
	default:
		return Class{}, Invalid(field, "class %q has %d digits; want 5 (GB/T 47678.5-2026) or 4 (legacy)%s", code, len(code), majorHint(allowMajor))
	}
	var found []Class
	for _, kk := range []string{KindComponent, KindMatter} {
		if k != "" && kk != k {
			continue
		}
		if _, ok := c.classes[Class{scheme, kk, code}]; ok {
			found = append(found, Class{scheme, kk, code})
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 2:
		a, b := c.classes[found[0]], c.classes[found[1]]
		return Class{}, Invalid("kind", "class %s is both component %q and matter %q in %s; say which with kind", code, a.Name, b.Name, scheme)
	}
	what := scheme
	if k != "" {
		what += " " + k
	}
	return Class{}, Invalid(field, "unknown %s class %q; nearest valid: %s", what, code, c.nearest(scheme, k, code, 5))
}

func majorHint(allowMajor bool) string {
	if allowMajor {
		return ", or a 2-digit major class"
	}
	return ""
}

// nearest lists up to n catalogue classes of the scheme (and kind) with the
// same length closest to code: longest common prefix first, then nearest in
// number.
func (c *Catalog) nearest(scheme, kind, code string, n int) string {
	type cand struct {
		ci     ClassInfo
		prefix int
		dist   int
	}
	want, _ := strconv.Atoi(code)
	var cs []cand
	for _, ci := range c.sorted {
		if ci.Scheme != scheme || (kind != "" && ci.Kind != kind) || len(ci.Code) != len(code) {
			continue
		}
		p := 0
		for p < len(code) && code[p] == ci.Code[p] {
			p++
		}
		v, _ := strconv.Atoi(ci.Code)
		d := v - want
		if d < 0 {
			d = -d
		}
		cs = append(cs, cand{ci, p, d})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].prefix != cs[j].prefix {
			return cs[i].prefix > cs[j].prefix
		}
		return cs[i].dist < cs[j].dist
	})
	var parts []string
	for i := 0; i < len(cs) && i < n; i++ {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", cs[i].ci.Code, cs[i].ci.Name, cs[i].ci.Kind))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
