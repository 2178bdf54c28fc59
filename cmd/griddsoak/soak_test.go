package main

import "testing"

func TestPathShape(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/components/11010101001000455?reason=soak": "/v1/components/{n}",
		"/tiles/grids,components/15/26980/12412.mvt":   "/tiles/grids,components/{n}/{n}/{n}.mvt",
		"/v1/changesets/12/revert":                     "/v1/changesets/{n}/revert",
		"/v1/lookup?lon=1&lat=2":                       "/v1/lookup",
	} {
		if got := pathShape(in); got != want {
			t.Errorf("pathShape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The RSS rule compares the last third's mean with the middle third's; the
// warm-up in the first third does not count.
func TestJudgeRSS(t *testing.T) {
	series := func(first, middle, last int64) []int64 {
		var s []int64
		for _, v := range []int64{first, middle, last} {
			for i := 0; i < 10; i++ {
				s = append(s, v)
			}
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		samples []int64
		flat    bool
	}{
		{"flat", series(100, 100, 100), true},
		{"warm-up, then flat", series(50, 100, 105), true},
		{"shrinking", series(100, 120, 90), true},
		{"at the limit", series(100, 100, 115), true},
		{"growing", series(100, 100, 116), false},
		{"leaking", series(100, 200, 300), false},
	} {
		if v := judgeRSS(tc.samples, 0.15); v.flat != tc.flat {
			t.Errorf("%s: flat %v (growth %.3f), want %v", tc.name, v.flat, v.growth, tc.flat)
		}
	}
	if v := judgeRSS([]int64{1, 2}, 0.15); v.flat {
		t.Error("two samples judged flat: too few to tell")
	}
}
