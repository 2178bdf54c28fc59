package grids

import "testing"

func TestParseDistance(t *testing.T) {
	for in, want := range map[string]float64{
		"2m": 2, "2": 2, "0.5 m": 0.5, "20cm": 0.2, "5mm": 0.005, "1km": 1000, " 2M ": 2, "0m": 0,
	} {
		got, err := ParseDistance(in)
		if err != nil || got != want {
			t.Errorf("ParseDistance(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "two metres", "-1m", "NaN", "Inf m", "2 ft"} {
		if got, err := ParseDistance(in); err == nil {
			t.Errorf("ParseDistance(%q) = %v, want an error", in, got)
		}
	}
}
