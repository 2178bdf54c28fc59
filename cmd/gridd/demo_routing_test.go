package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridd/api"
	"gridd/grids"
)

// The demo's departments and rules files are well formed: every department
// passes the checks the store makes, every street of the demo has its
// street office, and every rule parses and names a department of the file.
func TestDemoRoutingFiles(t *testing.T) {
	dir := "../../testdata/dongcheng"
	deps, err := readDemoCSV(filepath.Join(dir, "departments.csv"), "code", "name", "contact", "territory_code")
	if err != nil || len(deps) == 0 {
		t.Fatalf("departments.csv: %d rows, %v", len(deps), err)
	}
	codes := map[string]bool{}
	offices := map[string]string{}
	for _, r := range deps {
		d := grids.Department{Code: r.get("code"), Name: r.get("name"), Contact: r.get("contact")}
		if err := grids.CheckDepartment(d); err != nil {
			t.Errorf("departments.csv line %d: %v", r.line, err)
		}
		if !validCreditCode(d.Code) {
			t.Errorf("departments.csv line %d: %s: wrong check character (GB 32100-2015 or GB 11714)", r.line, d.Code)
		}
		if codes[d.Code] {
			t.Errorf("departments.csv line %d: code %s twice", r.line, d.Code)
		}
		codes[d.Code] = true
		if tc := r.get("territory_code"); tc != "" {
			offices[tc] = d.Name
		}
	}
	// The street offices: one for each of the 17 streets of 110101, named
	// after its street.
	streets, err := readDemoCSV("../../testdata/divisions_110101.csv", "level", "code", "name", "parent_code")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range streets {
		if len(s.get("code")) != 9 {
			continue
		}
		n++
		if want := s.get("name") + "办事处"; offices[s.get("code")] != want {
			t.Errorf("street %s %s: territorial office %q, want %q", s.get("code"), s.get("name"), offices[s.get("code")], want)
		}
	}
	if n != 17 {
		t.Errorf("divisions_110101.csv: %d streets, want 17", n)
	}

	rules, err := readDemoCSV(filepath.Join(dir, "routing_rules.csv"), "kind", "class", "scope", "department_code", "priority", "note")
	if err != nil || len(rules) == 0 {
		t.Fatalf("routing_rules.csv: %d rows, %v", len(rules), err)
	}
	for _, r := range rules {
		if _, err := api.ParseRule(r.get("class"), r.get("kind"), "", r.get("scope"), r.get("department_code"), 0, r.get("note")); err != nil {
			t.Errorf("routing_rules.csv line %d: %v", r.line, err)
		}
		if !codes[r.get("department_code")] {
			t.Errorf("routing_rules.csv line %d: department %s is not in departments.csv", r.line, r.get("department_code"))
		}
	}
}

// A demo CSV file without a column the loader needs is refused with the
// file, the header and the column; a missing file loads nothing.
func TestDemoCSVErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "departments.csv")
	if err := os.WriteFile(path, []byte("code,name,phone,territory_code\n111101010000130712,东华门街道办事处,,110101001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readDemoCSV(path, "code", "name", "contact", "territory_code")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `no column "contact"`) {
		t.Errorf("a header without contact: %v", err)
	}
	if err := os.WriteFile(path, []byte("code,name,contact,territory_code\n111101010000130712,东华门街道办事处,110101001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDemoCSV(path, "code", "name", "contact", "territory_code"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a row of 3 fields: %v", err)
	}
	rows, err := readDemoCSV(filepath.Join(t.TempDir(), "none.csv"), "code")
	if rows != nil || err != nil {
		t.Errorf("a missing file: %v, %v", rows, err)
	}
}

// validCreditCode checks both check characters of a unified social credit
// code: the organisation code's (GB 11714, the 17th) and the code's own
// (GB 32100-2015, the 18th).
func validCreditCode(code string) bool {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if len(code) != 18 {
		return false
	}
	org, sum := code[8:17], 0
	for i, w := range []int{3, 7, 9, 10, 5, 8, 4, 2} {
		v := strings.IndexByte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", org[i])
		if v < 0 {
			return false
		}
		sum += v * w
	}
	want := byte('0' + 11 - sum%11)
	switch 11 - sum%11 {
	case 10:
		want = 'X'
	case 11:
		want = '0'
	}
	if org[8] != want {
		return false
	}
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(chars, code[i])
		if v < 0 {
			return false
		}
		sum += v * w
		w = w * 3 % 31
	}
	return code[17] == chars[(31-sum%31)%31]
}

func TestValidCreditCode(t *testing.T) {
	for code, want := range map[string]bool{
		"914403001922038216": true, // a published code
		"914403001922038217": false,
		"914403001922038316": false,
		"11110101MB1234567X": false,
	} {
		if got := validCreditCode(code); got != want {
			t.Errorf("validCreditCode(%s) = %v, want %v", code, got, want)
		}
	}
}
