package grids

import (
	"errors"
	"strings"
	"testing"
)

func TestCatalogResolve(t *testing.T) {
	c := DefaultCatalog
	ok := []struct {
		code, kind, scheme string
		major              bool
		want               Class
	}{
		{"06010", "", "", false, Class{SchemeGB2026, KindMatter, "06010"}},
		{"01001", "component", "", false, Class{SchemeGB2026, KindComponent, "01001"}},
		{"01001", "事项", "", false, Class{SchemeGB2026, KindMatter, "01001"}},
		{"0102", "event", "", false, Class{SchemeLegacy, KindMatter, "0102"}},
		{"0601", "", "", false, Class{SchemeLegacy, KindComponent, "0601"}},
		{"06", "matter", "", true, Class{SchemeGB2026, KindMatter, "06"}},
		{"04", "event", "legacy", true, Class{SchemeLegacy, KindMatter, "04"}},
	}
	for _, o := range ok {
		got, err := c.Resolve("class", o.code, o.kind, o.scheme, o.major)
		if err != nil || got != o.want {
			t.Errorf("Resolve(%s, %s, %s) = %v, %v; want %v", o.code, o.kind, o.scheme, got, err, o.want)
		}
	}
	bad := []struct {
		code, kind, scheme string
		major              bool
		want               string
	}{
		{"01001", "", "", false, "both component"},
		{"06999", "", "", false, "nearest valid: 06"},
		{"0699", "component", "", false, "unknown legacy component class"},
		{"06", "matter", "", false, "major class"},
		{"123", "", "", false, "has 3 digits"},
		{"06", "matter", "cjt", true, "unknown scheme"},
		{"06", "matter", "legacy", true, "unknown legacy matter class"},
		{"06010", "thing", "", false, "unknown kind"},
	}
	for _, b := range bad {
		_, err := c.Resolve("class", b.code, b.kind, b.scheme, b.major)
		var inv *InvalidError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Resolve(%s, %s, %s): %v; want an InvalidError with %q", b.code, b.kind, b.scheme, err, b.want)
		}
	}
}

func TestSortRules(t *testing.T) {
	cl := Class{SchemeGB2026, KindMatter, "06010"}
	major := cl.MajorOf()
	rules := []Rule{
		{ID: 1, Class: major, Scope: Scope{Level: ScopeEverywhere}},
		{ID: 2, Class: cl, Scope: Scope{Level: ScopeEverywhere}},
		{ID: 3, Class: major, Scope: Scope{Level: ScopeEverywhere}, Priority: 2},
		{ID: 4, Class: major, Scope: Scope{Level: ScopeStreet, Code: "110101001"}},
		{ID: 5, Class: major, Scope: Scope{Level: ScopeMgmt, Code: "M"}},
		{ID: 6, Class: major, Scope: Scope{Level: ScopeGrid, Code: "110101001001001"}, Priority: -9},
		{ID: 7, Class: cl, Scope: Scope{Level: ScopeCommunity, Code: "110101001001"}},
	}
	SortRules(rules)
	var got []int64
	for _, r := range rules {
		got = append(got, r.ID)
	}
	want := []int64{6, 5, 7, 4, 3, 2, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]Scope{
		"*": {Level: ScopeEverywhere}, "": {Level: ScopeEverywhere}, "110101": {ScopeDistrict, "110101"},
		"110101001": {ScopeStreet, "110101001"}, "110101001001": {ScopeCommunity, "110101001001"},
		"110101001001001": {ScopeGrid, "110101001001001"}, "mgmt:DHM-01": {ScopeMgmt, "DHM-01"},
	} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1101", "mgmt:", "mgmt:a b", "abc"} {
		if _, err := ParseScope(in); err == nil {
			t.Errorf("ParseScope(%q) accepted", in)
		}
	}
}
