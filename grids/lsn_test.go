package grids

import "testing"

func TestLSN(t *testing.T) {
	for _, s := range []string{"0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		p, err := ParseLSN(s)
		if err != nil || FormatLSN(p) != s {
			t.Errorf("%s: %d %v, prints %s", s, p, err, FormatLSN(p))
		}
	}
	if a, _ := ParseLSN("1/0"); a <= 0xFFFFFFFF {
		t.Errorf("1/0 is %d, want above 0/FFFFFFFF", a)
	}
	for _, bad := range []string{"", "16", "16/", "x/1", "1/100000000", "-1/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
