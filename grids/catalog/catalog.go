// Package catalog is gridd's embedded class directory: the component and
// matter (event) classes of GB/T 47678.5-2026 with their 5-digit codes, the
// legacy 4-digit classes of CJ/T 214-2007 / GB/T 30428.2-2013, and the
// crosswalk from legacy to new. The files are copies of the project's
// reference data (see README.md here); nothing is read from disk at run time.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
)

// Standard names the catalogue the embedded classes come from.
const Standard = "GB/T 47678.5-2026"

// Kind is what a class describes: a component (部件, a fixed object) or a
// matter (事项/事件, an event or problem). Legacy codes of the two kinds
// overlap, so a code means nothing without its kind.
type Kind string

// The kinds.
const (
	Component Kind = "component"
	Matter    Kind = "matter"
)

// ParseKind reads "component" or "matter" (also the Chinese names used by the
// standard's tables, and "event" for matter).
func ParseKind(s string) (Kind, error) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "component", "管理部件", "部件":
		return Component, nil
	case "matter", "event", "管理事项", "事件":
		return Matter, nil
	}
	return "", fmt.Errorf("unknown class kind %q (want component or matter)", s)
}

// Class is one entry of the 5-digit directory: code = 2-digit major + 3-digit
// minor.
type Class struct {
	Kind      Kind   `json:"kind"`
	Code      string `json:"code"`
	MajorCode string `json:"major_code"`
	MajorName string `json:"major_name"`
	Name      string `json:"name"`
	// Standard is the source of the class: Standard for the embedded ones,
	// "local" for a deployment's extension classes.
	Standard string `json:"standard"`
}

// How says how a legacy class was mapped to a new one.
type How string

// The crosswalk methods.
const (
	ByName  How = "name"    // the same name (after normalising brackets and punctuation)
	Renamed How = "renamed" // an explicit mapping of a renamed kind
	NoMatch How = "none"    // no counterpart; an import must give the new class itself
)

// LegacyClass is a 4-digit CJ/T 214 class and where it maps in the new
// directory. NewCode is empty when How is NoMatch.
type LegacyClass struct {
	Kind      Kind   `json:"kind"`
	Code      string `json:"code"`
	MajorCode string `json:"major_code"`
	MajorName string `json:"major_name"`
	Name      string `json:"name"`
	NewCode   string `json:"new_code,omitempty"`
	How       How    `json:"how"`
	Note      string `json:"note,omitempty"`
}

//go:embed classes_gb47678_5_2026.csv
var classesCSV []byte

//go:embed classes_legacy_cjt214.csv
var legacyCSV []byte

//go:embed crosswalk_cjt214_gb47678.csv
var crosswalkCSV []byte

// Classes returns the standard's directory, components first, in code order
// within each kind as the file lists them.
func Classes() []Class {
	rows := mustRead(classesCSV, "kind,code5,major_code,major_name,minor_code,name")
	out := make([]Class, 0, len(rows))
	for _, r := range rows {
		k, err := ParseKind(r[0])
		if err != nil {
			panic("catalog: " + err.Error())
		}
		out = append(out, Class{Kind: k, Code: r[1], MajorCode: r[2], MajorName: r[3], Name: r[5], Standard: Standard})
	}
	return out
}

// LegacyClasses returns the legacy directory with each class's crosswalk
// target.
func LegacyClasses() []LegacyClass {
	rows := mustRead(legacyCSV, "kind,code4,major_code,major_name,minor_code,name")
	walk := map[string][]string{}
	for _, r := range mustRead(crosswalkCSV, "kind,code4,name,code5,how,note") {
		walk[r[0]+"/"+r[1]] = r
	}
	out := make([]LegacyClass, 0, len(rows))
	for _, r := range rows {
		k, err := ParseKind(r[0])
		if err != nil {
			panic("catalog: " + err.Error())
		}
		lc := LegacyClass{Kind: k, Code: r[1], MajorCode: r[2], MajorName: r[3], Name: r[5], How: NoMatch}
		if w, ok := walk[r[0]+"/"+r[1]]; ok {
			lc.NewCode, lc.How, lc.Note = w[3], How(w[4]), w[5]
		}
		out = append(out, lc)
	}
	return out
}

// NormalizeName folds the spelling differences between the two directories
// (full-width brackets, enumeration commas, spaces) so that equal kinds
// compare equal.
func NormalizeName(s string) string {
	return strings.NewReplacer("（", "(", "）", ")", "、", "", " ", "", "　", "").Replace(s)
}

func mustRead(data []byte, header string) [][]string {
	r := csv.NewReader(bytes.NewReader(data))
	rows, err := r.ReadAll()
	if err != nil {
		panic("catalog: " + err.Error())
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != header {
		panic("catalog: unexpected header in embedded file")
	}
	return rows[1:]
}
