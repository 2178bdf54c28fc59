package photo

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// The EXIF of the test WebP (api/testdata/photos/README.md, written by
// exiftool, little-endian) reads as exiftool shows it; cut short at every
// length and with bytes changed at random it never panics, and a cut
// block yields a position only when the GPS values are whole.
func TestReadEXIFWebPAndDamage(t *testing.T) {
	b, err := os.ReadFile("../api/testdata/photos/case_exif.webp")
	if err != nil {
		t.Fatal(err)
	}
	tiff := webpEXIF(b)
	if tiff == nil {
		t.Fatal("no EXIF chunk found")
	}
	x := ReadEXIF(tiff)
	if !x.HasPosition || math.Abs(x.Lat-39.9007) > 1e-6 || math.Abs(x.Lon-116.4008) > 1e-6 ||
		!x.Taken.Equal(time.Date(2026, 5, 1, 1, 30, 0, 0, time.UTC)) {
		t.Fatalf("read %+v", x)
	}
	for n := 0; n < len(tiff); n++ {
		if y := ReadEXIF(tiff[:n]); y.HasPosition && (y.Lat != x.Lat || y.Lon != x.Lon) {
			t.Errorf("cut at %d: position %v %v", n, y.Lon, y.Lat)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		d := append([]byte(nil), tiff...)
		for k := 0; k < 1+r.IntN(4); k++ {
			d[r.IntN(len(d))] = byte(r.IntN(256))
		}
		ReadEXIF(d)
		jpegEXIF(append([]byte{0xFF, 0xD8}, d...))
		webpEXIF(d)
		pngEXIF(d)
	}
}
