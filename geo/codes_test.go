package geo

import "testing"

func TestParseCode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Code
		level   Level
		wantErr bool
	}{
		{"district", "110101", "110101", District, false},
		{"street", "110101001", "110101001", Street, false},
		{"community", "110101001007", "110101001007", Community, false},
		{"grid", "110101001007003", "110101001007003", Grid, false},
		{"legacy 14-digit grid", "11010100100703", "110101001007003", Grid, false},
		{"wrong length", "1101010", "", 0, true},
		{"letters", "11010A", "", 0, true},
		{"zero street", "110101000", "", 0, true},
		{"zero grid sequence", "110101001007000", "", 0, true},
		{"empty", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCode(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && (c != tt.want || c.Level() != tt.level) {
				t.Errorf("ParseCode(%q) = %q (%s), want %q (%s)", tt.in, c, c.Level(), tt.want, tt.level)
			}
		})
	}
}

func TestCodeParents(t *testing.T) {
	c := Code("110101001007003")
	if c.Parent() != "110101001007" || c.At(Street) != "110101001" || c.At(District) != "110101" {
		t.Errorf("parents of %s: %s %s %s", c, c.Parent(), c.At(Street), c.At(District))
	}
	if Code("110101").Parent() != "" {
		t.Error("a district has no parent")
	}
	if _, err := ParseCodeAt("110101001", Community); err == nil {
		t.Error("ParseCodeAt accepted a street code as a community")
	}
}
