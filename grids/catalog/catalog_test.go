package catalog

import "testing"

func TestDirectorySizes(t *testing.T) {
	n := map[Kind]int{}
	seen := map[string]bool{}
	for _, c := range Classes() {
		n[c.Kind]++
		if len(c.Code) != 5 || c.Code[:2] != c.MajorCode {
			t.Errorf("class %s: code does not start with its major %s", c.Code, c.MajorCode)
		}
		k := string(c.Kind) + c.Code
		if seen[k] {
			t.Errorf("class %s %s listed twice", c.Kind, c.Code)
		}
		seen[k] = true
	}
	if n[Component] != 153 || n[Matter] != 250 {
		t.Errorf("got %d components and %d matters, want 153 and 250", n[Component], n[Matter])
	}
}

func TestCrosswalk(t *testing.T) {
	byCode := map[string]Class{}
	for _, c := range Classes() {
		byCode[string(c.Kind)+c.Code] = c
	}
	count := map[How]int{}
	for _, l := range LegacyClasses() {
		count[l.How]++
		if l.How == NoMatch {
			if l.NewCode != "" {
				t.Errorf("legacy %s %s: no match but a target %s", l.Kind, l.Code, l.NewCode)
			}
			continue
		}
		c, ok := byCode[string(l.Kind)+l.NewCode]
		if !ok {
			t.Errorf("legacy %s %s %s maps to %s, which is not a %s class", l.Kind, l.Code, l.Name, l.NewCode, l.Kind)
			continue
		}
		if l.How == ByName && NormalizeName(c.Name) != NormalizeName(l.Name) {
			t.Errorf("legacy %s %s %s is mapped by name to %s %s", l.Kind, l.Code, l.Name, c.Code, c.Name)
		}
		if l.Kind == Matter && c.MajorCode < "06" {
			t.Errorf("legacy event %s maps to %s, an abnormal-component matter", l.Code, c.Code)
		}
	}
	if got := len(LegacyClasses()); got != 136 {
		t.Errorf("%d legacy classes, want 136", got)
	}
	// The examples of the domain notes.
	want := map[string]string{"component/0101": "01001", "component/0118": "01037", "matter/0102": "06010", "matter/0101": "06001"}
	for _, l := range LegacyClasses() {
		if w, ok := want[string(l.Kind)+"/"+l.Code]; ok && l.NewCode != w {
			t.Errorf("legacy %s %s maps to %s, want %s", l.Kind, l.Code, l.NewCode, w)
		}
	}
	t.Logf("crosswalk: %v", count)
}
