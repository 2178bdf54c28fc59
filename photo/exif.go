package photo

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// A small EXIF reader: only the few tags a case needs, read defensively
// (every offset is checked; a malformed EXIF block just yields nothing).
//
// EXIF is a TIFF structure (CIPA DC-008): a byte order mark (II little
// endian, MM big endian), 42, the offset of IFD0. IFD0 points to the Exif
// IFD (tag 0x8769), which holds DateTimeOriginal (0x9003, "YYYY:MM:DD
// HH:MM:SS", local time) and OffsetTimeOriginal (0x9011, "+08:00", EXIF
// 2.31), and to the GPS IFD (0x8825), which holds GPSLatitudeRef (1, "N" or
// "S"), GPSLatitude (2, three rationals: degrees, minutes, seconds),
// GPSLongitudeRef (3, "E" or "W") and GPSLongitude (4).
//
// Where the EXIF block is: JPEG, an APP1 segment starting "Exif\0\0"; PNG,
// the eXIf chunk; WebP, the EXIF chunk of the extended format (some writers
// start it with "Exif\0\0" too).

// EXIF is what a photo's EXIF says.
type EXIF struct {
	HasPosition bool
	Lon, Lat    float64 // WGS-84 degrees, east and north positive
	// Taken is DateTimeOriginal at OffsetTimeOriginal, or in China
	// Standard Time (UTC+8, Asia/Shanghai: no daylight saving since 1991)
	// when the offset is not recorded; zero when not recorded.
	Taken time.Time
}

// chinaTime is Asia/Shanghai, which has kept UTC+8 all year since 1991;
// a fixed zone needs no time zone database on the server.
var chinaTime = time.FixedZone("CST", 8*3600)

// TIFF field types and their sizes in bytes.
const (
	tByte      = 1
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tRational  = 5
	tUndefined = 7
	tSLong     = 9
	tSRational = 10
)

var typeSize = map[uint16]int{tByte: 1, tASCII: 1, tShort: 2, tLong: 4, tRational: 8, tUndefined: 1, tSLong: 4, tSRational: 8}

type tiffReader struct {
	b  []byte
	bo binary.ByteOrder
}

type field struct {
	typ   uint16
	count int
	data  []byte
}

// ReadEXIF reads a TIFF-structured EXIF block.
func ReadEXIF(b []byte) EXIF {
	var x EXIF
	if len(b) < 8 {
		return x
	}
	t := tiffReader{b: b}
	switch string(b[:2]) {
	case "II":
		t.bo = binary.LittleEndian
	case "MM":
		t.bo = binary.BigEndian
	default:
		return x
	}
	if t.bo.Uint16(b[2:]) != 42 {
		return x
	}
	ifd0 := t.ifd(t.bo.Uint32(b[4:]))
	if f, ok := ifd0[0x8769]; ok {
		if off, ok := t.uint(f); ok {
			x.Taken = t.taken(t.ifd(off))
		}
	}
	if f, ok := ifd0[0x8825]; ok {
		if off, ok := t.uint(f); ok {
			x.Lon, x.Lat, x.HasPosition = t.position(t.ifd(off))
		}
	}
	return x
}

// ifd reads the fields of the IFD at off (nil if it is not inside b).
func (t tiffReader) ifd(off uint32) map[uint16]field {
	b := t.b
	if uint64(off)+2 > uint64(len(b)) {
		return nil
	}
	n := int(t.bo.Uint16(b[off:]))
	start := int(off) + 2
	if start+12*n > len(b) {
		return nil
	}
	out := make(map[uint16]field, n)
	for i := 0; i < n; i++ {
		e := b[start+12*i : start+12*i+12]
		tag, typ, count := t.bo.Uint16(e), t.bo.Uint16(e[2:]), t.bo.Uint32(e[4:])
		size, known := typeSize[typ]
		if !known || count > 1<<20 {
			continue
		}
		total := size * int(count)
		var data []byte
		if total <= 4 {
			data = e[8 : 8+total]
		} else {
			vo := uint64(t.bo.Uint32(e[8:]))
			if vo+uint64(total) > uint64(len(b)) {
				continue
			}
			data = b[vo : vo+uint64(total)]
		}
		out[tag] = field{typ: typ, count: int(count), data: data}
	}
	return out
}

// uint reads a single SHORT or LONG (an IFD pointer).
func (t tiffReader) uint(f field) (uint32, bool) {
	switch {
	case f.typ == tLong && f.count == 1:
		return t.bo.Uint32(f.data), true
	case f.typ == tShort && f.count == 1:
		return uint32(t.bo.Uint16(f.data)), true
	}
	return 0, false
}

func ascii(f field) (string, bool) {
	if f.typ != tASCII && f.typ != tUndefined {
		return "", false
	}
	s, _, _ := strings.Cut(string(f.data), "\x00")
	return strings.TrimSpace(s), true
}

// degrees reads three rationals (degrees, minutes, seconds).
func (t tiffReader) degrees(f field) (float64, bool) {
	if (f.typ != tRational && f.typ != tSRational) || f.count != 3 {
		return 0, false
	}
	var v [3]float64
	for i := range v {
		num, den := t.bo.Uint32(f.data[8*i:]), t.bo.Uint32(f.data[8*i+4:])
		if den == 0 {
			return 0, false
		}
		if f.typ == tSRational {
			v[i] = float64(int32(num)) / float64(int32(den))
		} else {
			v[i] = float64(num) / float64(den)
		}
		if v[i] < 0 || math.IsNaN(v[i]) {
			return 0, false
		}
	}
	return v[0] + v[1]/60 + v[2]/3600, true
}

// position reads the GPS IFD's latitude and longitude with their
// hemispheres. A missing reference is taken as north or east; 0, 0 (a
// phone that had no fix writes it) is no position.
func (t tiffReader) position(gps map[uint16]field) (lon, lat float64, ok bool) {
	lat, okLat := t.degrees(gps[2])
	lon, okLon := t.degrees(gps[4])
	if !okLat || !okLon || lat > 90 || lon > 180 || (lat == 0 && lon == 0) {
		return 0, 0, false
	}
	if ref, _ := ascii(gps[1]); strings.EqualFold(ref, "S") {
		lat = -lat
	} else if ref != "" && !strings.EqualFold(ref, "N") {
		return 0, 0, false
	}
	if ref, _ := ascii(gps[3]); strings.EqualFold(ref, "W") {
		lon = -lon
	} else if ref != "" && !strings.EqualFold(ref, "E") {
		return 0, 0, false
	}
	return lon, lat, true
}

// taken reads DateTimeOriginal at OffsetTimeOriginal, or in China Standard
// Time without one.
func (t tiffReader) taken(exif map[uint16]field) time.Time {
	s, ok := ascii(exif[0x9003])
	if !ok || s == "" {
		return time.Time{}
	}
	loc := chinaTime
	if off, ok := ascii(exif[0x9011]); ok && off != "" {
		if z, err := time.Parse("-07:00", off); err == nil {
			_, secs := z.Zone()
			loc = time.FixedZone(off, secs)
		}
	}
	tm, err := time.ParseInLocation("2006:01:02 15:04:05", s, loc)
	if err != nil || tm.Year() < 1990 {
		return time.Time{}
	}
	return tm
}

// jpegEXIF finds the EXIF block of a JPEG: the first APP1 segment that
// starts "Exif\0\0", before the image data.
func jpegEXIF(b []byte) []byte {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngEXIF finds a PNG's eXIf chunk.
func pngEXIF(b []byte) []byte {
	i := 8
	for i+12 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n < 0 || n > len(b)-i-12 {
			return nil
		}
		if typ == "eXIf" {
			return b[i+8 : i+8+n]
		}
		if typ == "IEND" {
			return nil
		}
		i += 12 + n
	}
	return nil
}

// webpEXIF finds the EXIF chunk of a WebP (RIFF) file.
func webpEXIF(b []byte) []byte {
	i := 12
	for i+8 <= len(b) {
		typ := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || n > len(b)-i-8 {
			return nil
		}
		if typ == "EXIF" {
			return bytes.TrimPrefix(b[i+8:i+8+n], []byte("Exif\x00\x00"))
		}
		i += 8 + n + n&1
	}
	return nil
}
