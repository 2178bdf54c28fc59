package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"gridd/grids"
)

// photoJSON is a photo's info as answered.
type photoJSON struct {
	SHA256          string     `json:"sha256"`
	URL             string     `json:"url"`
	MediaType       string     `json:"media_type"`
	Size            int        `json:"size"`
	W               int        `json:"width"`
	H               int        `json:"height"`
	EXIFLon         *float64   `json:"exif_lon"`
	EXIFLat         *float64   `json:"exif_lat"`
	EXIFTime        *time.Time `json:"exif_time"`
	DistanceM       *float64   `json:"distance_m"`
	TimeFromReportS *float64   `json:"time_from_report_s"`
	Warnings        []string   `json:"warnings"`
	CaseID          int64      `json:"case_id"`
	Actor, Role     string
	EventID         *int64 `json:"event_id"`
	Step, State     string
	New             bool `json:"new"`
}

// sendPhoto sends body with its Content-Type (none when "") and extra
// headers, and reads the answer whole.
func sendPhoto(t *testing.T, method, url, tok, contentType string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// upload posts one photo to a case and wants status; on 200 and 201 it
// decodes the answer.
func upload(t *testing.T, ts *httptest.Server, tok string, caseID int64, contentType string, b []byte, want int) photoJSON {
	t.Helper()
	status, _, body := sendPhoto(t, "POST", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, caseID), tok, contentType, b, nil)
	if status != want {
		t.Fatalf("upload %s (%d bytes) to case %d: %d %.300s, want %d", contentType, len(b), caseID, status, body, want)
	}
	var p photoJSON
	if status == 200 || status == 201 {
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
	}
	return p
}

// uploadErr posts a photo that must be refused with status, its message
// containing want.
func uploadErr(t *testing.T, ts *httptest.Server, tok string, caseID int64, contentType string, b []byte, status int, want string) {
	t.Helper()
	got, _, body := sendPhoto(t, "POST", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, caseID), tok, contentType, b, nil)
	if got != status || !strings.Contains(string(body), want) {
		t.Errorf("upload %s to case %d: %d %.300s, want %d with %q", contentType, caseID, got, body, status, want)
	}
}

// testImage is a small picture, different for each seed.
func testImage(seed int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{uint8(x*6 + seed), uint8(y * 8), uint8(seed * 37), 255})
		}
	}
	return img
}

func jpegOf(t *testing.T, seed int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(seed), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngOf(t *testing.T, seed int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(seed)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// byteOrder writes TIFF's numbers: binary.BigEndian or LittleEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// rational is a TIFF RATIONAL.
type rational struct{ num, den uint32 }

// exifAPP1 builds an EXIF APP1 segment byte by byte, by the TIFF/EXIF
// layout (not with the server's reader): IFD0 with the pointers to the
// Exif and GPS IFDs; the Exif IFD with DateTimeOriginal and, when offset is
// not "", OffsetTimeOriginal; the GPS IFD with GPSVersionID, the latitude
// and longitude and their references. Values longer than 4 bytes follow
// each IFD.
func exifAPP1(bo byteOrder, latRef string, lat [3]rational, lonRef string, lon [3]rational, dateTime, offset string) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		value    []byte
	}
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	rationals := func(v [3]rational) []byte {
		var b []byte
		for _, r := range v {
			b = bo.AppendUint32(b, r.num)
			b = bo.AppendUint32(b, r.den)
		}
		return b
	}
	// ifd lays out an IFD at off: its entries, the next-IFD offset (0) and
	// the values that do not fit in 4 bytes.
	ifd := func(off uint32, entries []entry) []byte {
		var head, data []byte
		head = bo.AppendUint16(head, uint16(len(entries)))
		dataOff := off + 2 + 12*uint32(len(entries)) + 4
		for _, e := range entries {
			head = bo.AppendUint16(head, e.tag)
			head = bo.AppendUint16(head, e.typ)
			head = bo.AppendUint32(head, e.count)
			if len(e.value) <= 4 {
				v := make([]byte, 4)
				copy(v, e.value)
				head = append(head, v...)
				continue
			}
			head = bo.AppendUint32(head, dataOff+uint32(len(data)))
			data = append(data, e.value...)
			if len(data)%2 == 1 {
				data = append(data, 0) // values start on a word boundary
			}
		}
		head = bo.AppendUint32(head, 0)
		return append(head, data...)
	}
	const ifd0Off = 8
	ifd0Len := uint32(2 + 2*12 + 4)
	exifOff := ifd0Off + ifd0Len
	exifEntries := []entry{{0x9003, 2, 20, ascii(dateTime)}}
	if offset != "" {
		exifEntries = append(exifEntries, entry{0x9011, 2, 7, ascii(offset)})
	}
	exifIFD := ifd(exifOff, exifEntries)
	gpsOff := exifOff + uint32(len(exifIFD))
	gpsIFD := ifd(gpsOff, []entry{
		{0x0000, 1, 4, []byte{2, 3, 0, 0}},
		{0x0001, 2, 2, ascii(latRef)},
		{0x0002, 5, 3, rationals(lat)},
		{0x0003, 2, 2, ascii(lonRef)},
		{0x0004, 5, 3, rationals(lon)},
	})
	ifd0 := ifd(ifd0Off, []entry{{0x8769, 4, 1, bo.AppendUint32(nil, exifOff)}, {0x8825, 4, 1, bo.AppendUint32(nil, gpsOff)}})
	var tiff []byte
	if bo == binary.BigEndian {
		tiff = []byte("MM")
	} else {
		tiff = []byte("II")
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, ifd0Off)
	tiff = append(tiff, ifd0...)
	tiff = append(tiff, exifIFD...)
	tiff = append(tiff, gpsIFD...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+6+len(tiff)))
	seg = append(seg, "Exif\x00\x00"...)
	return append(seg, tiff...)
}

// withAPP1 puts a segment right after a JPEG's SOI.
func withAPP1(jpg, seg []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// haversineM is the great-circle distance on the mean Earth radius (PostGIS
// measures on the spheroid: they differ by well under 0.5%).
func haversineM(lon1, lat1, lon2, lat2 float64) float64 {
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * 6371008.8 * math.Asin(math.Sqrt(a))
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Photos through a case: a reporter's JPEG with EXIF (built here byte by
// byte), a supervisor's PNG, a dispatcher's WebP with EXIF (made by
// exiftool and cwebp, testdata/photos/README.md), several at once as
// multipart, a department's photo of its work; stored once by hash in
// PostGIS, their EXIF position and time read and compared with the case's
// location and report time; the bytes served with a strong ETag.
func TestCasePhotos(t *testing.T) {
	ts, st, tok := caseServer(t)
	ctx := context.Background()
	pool := st.Pool()
	const caseLon, caseLat = 116.4005, 39.9005
	c := openCase(t, ts, tok["reporter"], fmt.Sprintf(`{"lon":%g,"lat":%g,"class":"06010","description":"井盖缺失"}`, caseLon, caseLat))
	var reportAt time.Time
	var reportEvent int64
	if err := pool.QueryRow(ctx, `SELECT r.at, e.id FROM cases c JOIN reports r ON r.id = c.report_id
		JOIN case_events e ON e.case_id = c.id AND e.step = 'report' WHERE c.id = $1`, c.ID).Scan(&reportAt, &reportEvent); err != nil {
		t.Fatal(err)
	}

	// A reporter's JPEG, EXIF big-endian: 39°54'2"N 116°24'2"E, taken
	// 2026-03-02 08:15:30 with no offset recorded (so China time).
	jpg := withAPP1(jpegOf(t, 1), exifAPP1(binary.BigEndian,
		"N", [3]rational{{39, 1}, {54, 1}, {2, 1}}, "E", [3]rational{{116, 1}, {24, 1}, {200, 100}}, "2026:03:02 08:15:30", ""))
	p := upload(t, ts, tok["reporter"], c.ID, "image/jpeg", jpg, 201)
	wantLat, wantLon := 39+54/60.0+2/3600.0, 116+24/60.0+2/3600.0
	wantTaken := time.Date(2026, 3, 2, 8, 15, 30, 0, time.FixedZone("", 8*3600))
	if p.SHA256 != shaHex(jpg) || p.URL != "/v1/photos/"+shaHex(jpg) || p.MediaType != "image/jpeg" || p.Size != len(jpg) ||
		p.W != 40 || p.H != 30 || !p.New || p.Actor != "token:reporter" || p.Role != "reporter" || p.State != "reported" ||
		p.Step != "report" || p.EventID == nil || *p.EventID != reportEvent || p.CaseID != c.ID {
		t.Fatalf("reporter's photo: %+v", p)
	}
	if p.EXIFLat == nil || p.EXIFLon == nil || math.Abs(*p.EXIFLat-wantLat) > 1e-9 || math.Abs(*p.EXIFLon-wantLon) > 1e-9 {
		t.Errorf("EXIF position %v %v, want %v %v", p.EXIFLon, p.EXIFLat, wantLon, wantLat)
	}
	if p.EXIFTime == nil || !p.EXIFTime.Equal(wantTaken) {
		t.Errorf("EXIF time %v, want %v", p.EXIFTime, wantTaken)
	}
	if d := haversineM(caseLon, caseLat, wantLon, wantLat); p.DistanceM == nil || math.Abs(*p.DistanceM-d) > 0.1 || d < 5 || d > 10 {
		t.Errorf("distance %v m, want %.2f m", p.DistanceM, d)
	}
	if dt := wantTaken.Sub(reportAt).Seconds(); p.TimeFromReportS == nil || math.Abs(*p.TimeFromReportS-dt) > 1e-3 {
		t.Errorf("time from report %v s, want %.3f", p.TimeFromReportS, dt)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "days before the case was reported") {
		t.Errorf("a photo taken months before the report: warnings %q", p.Warnings)
	}
	// Stored once, under the hash of its bytes.
	var dbHash string
	var dbSize, links int
	if err := pool.QueryRow(ctx, `SELECT encode(sha256(bytes), 'hex'), size,
			(SELECT count(*) FROM case_photos cp WHERE cp.sha256 = p.sha256)
		FROM photos p WHERE p.sha256 = decode($1, 'hex')`, shaHex(jpg)).Scan(&dbHash, &dbSize, &links); err != nil {
		t.Fatal(err)
	}
	if dbHash != shaHex(jpg) || dbSize != len(jpg) || links != 1 {
		t.Errorf("stored photo: hash %s size %d links %d", dbHash, dbSize, links)
	}
	// The same bytes again: nothing new.
	if again := upload(t, ts, tok["supervisor"], c.ID, "image/jpeg", jpg, 200); again.New || again.Actor != "token:reporter" {
		t.Errorf("the same photo again: %+v", again)
	}
	// To another case: one more link, still one photo.
	other := openCase(t, ts, tok["reporter"], `{"lon":116.4035,"lat":39.9035,"class":"06010"}`)
	if p2 := upload(t, ts, tok["reporter"], other.ID, "image/jpeg", jpg, 201); !p2.New || p2.CaseID != other.ID || p2.DistanceM == nil || *p2.DistanceM < 300 {
		t.Errorf("the photo on another case: %+v", p2)
	}
	var photos, caseLinks int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos WHERE sha256 = decode($1, 'hex')),
		(SELECT count(*) FROM case_photos WHERE sha256 = decode($1, 'hex'))`, shaHex(jpg)).Scan(&photos, &caseLinks); err != nil || photos != 1 || caseLinks != 2 {
		t.Errorf("after two cases: %d photos, %d links (%v), want 1 and 2", photos, caseLinks, err)
	}

	// Little-endian EXIF, southern and western hemispheres, with an
	// offset: 22°54'30"S 43°10'15"W at 2026-04-01 10:00:00-03:00.
	far := withAPP1(jpegOf(t, 2), exifAPP1(binary.LittleEndian,
		"S", [3]rational{{22, 1}, {54, 1}, {30, 1}}, "W", [3]rational{{43, 1}, {10, 1}, {15, 1}}, "2026:04:01 10:00:00", "-03:00"))
	pf := upload(t, ts, tok["supervisor"], c.ID, "image/jpeg", far, 201)
	fLat, fLon := -(22 + 54/60.0 + 30/3600.0), -(43 + 10/60.0 + 15/3600.0)
	if pf.EXIFLat == nil || math.Abs(*pf.EXIFLat-fLat) > 1e-9 || math.Abs(*pf.EXIFLon-fLon) > 1e-9 ||
		pf.EXIFTime == nil || !pf.EXIFTime.Equal(time.Date(2026, 4, 1, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("southern/western EXIF: %v %v %v", pf.EXIFLon, pf.EXIFLat, pf.EXIFTime)
	}
	if d := haversineM(caseLon, caseLat, fLon, fLat); pf.DistanceM == nil || math.Abs(*pf.DistanceM-d)/d > 0.005 {
		t.Errorf("distance %v, want about %.0f m", pf.DistanceM, d)
	}
	if len(pf.Warnings) != 2 || !strings.Contains(pf.Warnings[0], "km from the case's location") {
		t.Errorf("far photo's warnings: %q", pf.Warnings)
	}

	// A supervisor's PNG: no EXIF.
	pngB := pngOf(t, 3)
	pp := upload(t, ts, tok["supervisor"], c.ID, "image/png", pngB, 201)
	if pp.MediaType != "image/png" || pp.W != 40 || pp.H != 30 || pp.EXIFLon != nil || pp.EXIFTime != nil || pp.DistanceM != nil || pp.TimeFromReportS != nil {
		t.Errorf("PNG: %+v", pp)
	}
	// A dispatcher's WebP with EXIF (testdata/photos/README.md): 39.9007 N,
	// 116.4008 E, 2026-05-01 09:30:00+08:00.
	webpB, err := os.ReadFile("testdata/photos/case_exif.webp")
	if err != nil {
		t.Fatal(err)
	}
	pw := upload(t, ts, tok["dispatcher"], c.ID, "image/webp", webpB, 201)
	if pw.MediaType != "image/webp" || pw.W != 64 || pw.H != 48 || pw.EXIFLat == nil ||
		math.Abs(*pw.EXIFLat-39.9007) > 1e-6 || math.Abs(*pw.EXIFLon-116.4008) > 1e-6 ||
		pw.EXIFTime == nil || !pw.EXIFTime.Equal(time.Date(2026, 5, 1, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("WebP: %+v", pw)
	}
	if d := haversineM(caseLon, caseLat, 116.4008, 39.9007); pw.DistanceM == nil || math.Abs(*pw.DistanceM-d) > 0.2 {
		t.Errorf("WebP distance %v, want %.2f", pw.DistanceM, d)
	}

	// Two at once, as multipart (one already on the case).
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for i, f := range []struct {
		name, ct string
		b        []byte
	}{{"a.jpg", "image/jpeg", jpegOf(t, 4)}, {"b.png", "image/png", pngB}, {"c.bin", "application/octet-stream", pngOf(t, 5)}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="photo%d"; filename=%q`, i, f.name))
		h.Set("Content-Type", f.ct)
		w, _ := mw.CreatePart(h)
		w.Write(f.b) //nolint:errcheck
	}
	mw.Close()
	status, _, body := sendPhoto(t, "POST", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID), tok["admin"], mw.FormDataContentType(), mp.Bytes(), nil)
	var multi struct{ Photos []photoJSON }
	if status != 201 || json.Unmarshal(body, &multi) != nil || len(multi.Photos) != 3 ||
		!multi.Photos[0].New || multi.Photos[1].New || multi.Photos[1].SHA256 != shaHex(pngB) || multi.Photos[2].MediaType != "image/png" {
		t.Fatalf("multipart: %d %s", status, body)
	}

	// The list, in order.
	status, _, body = sendPhoto(t, "GET", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID), tok["viewer"], "", nil, nil)
	var list struct{ Photos []photoJSON }
	if status != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("list: %d %s", status, body)
	}
	var got []string
	for _, q := range list.Photos {
		got = append(got, q.SHA256[:8])
	}
	want := []string{shaHex(jpg)[:8], shaHex(far)[:8], shaHex(pngB)[:8], shaHex(webpB)[:8], multi.Photos[0].SHA256[:8], multi.Photos[2].SHA256[:8]}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("list: %v, want %v", got, want)
	}
	if status, _, _ := sendPhoto(t, "GET", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID), "", "", nil, nil); status != 401 {
		t.Errorf("list without a token: %d", status)
	}
	if status, _, _ := sendPhoto(t, "GET", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID+1000), tok["viewer"], "", nil, nil); status != 404 {
		t.Errorf("list of no case: %d", status)
	}

	// The bytes, with a strong ETag; 304 when the client has them.
	purl := ts.URL + "/v1/photos/" + shaHex(jpg)
	status, h, b := sendPhoto(t, "GET", purl, tok["viewer"], "", nil, nil)
	if status != 200 || !bytes.Equal(b, jpg) || h.Get("Content-Type") != "image/jpeg" || h.Get("ETag") != `"`+shaHex(jpg)+`"` ||
		!strings.Contains(h.Get("Cache-Control"), "immutable") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET photo: %d %v (%d bytes)", status, h, len(b))
	}
	if status, h, b = sendPhoto(t, "GET", purl, tok["viewer"], "", nil, map[string]string{"If-None-Match": h.Get("ETag")}); status != 304 || len(b) != 0 || h.Get("ETag") == "" {
		t.Errorf("GET photo If-None-Match: %d %v", status, h)
	}
	if status, _, b = sendPhoto(t, "GET", ts.URL+"/v1/photos/"+shaHex(webpB), tok["viewer"], "", nil, nil); status != 200 || !bytes.Equal(b, webpB) {
		t.Errorf("GET WebP: %d", status)
	}
	if status, _, _ = sendPhoto(t, "GET", purl, "", "", nil, nil); status != 401 {
		t.Errorf("GET photo without a token: %d", status)
	}
	if status, _, _ = sendPhoto(t, "GET", ts.URL+"/v1/photos/"+shaHex([]byte("nothing")), tok["viewer"], "", nil, nil); status != 404 {
		t.Errorf("GET unknown photo: %d", status)
	}
	if status, _, _ = sendPhoto(t, "GET", ts.URL+"/v1/photos/xyz", tok["viewer"], "", nil, nil); status != 400 {
		t.Errorf("GET photo by a bad hash: %d", status)
	}

	// Who may add: not a viewer or an editor, nor a department to a case
	// not with it, nor anyone without a token.
	uploadErr(t, ts, "", c.ID, "image/jpeg", jpegOf(t, 9), 401, "token")
	uploadErr(t, ts, tok["viewer"], c.ID, "image/jpeg", jpegOf(t, 9), 403, "reporter")
	uploadErr(t, ts, tok["editor"], c.ID, "image/jpeg", jpegOf(t, 9), 403, "has role editor")
	uploadErr(t, ts, tok["depA"], c.ID, "image/jpeg", jpegOf(t, 9), 403, "not with department")
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"dispatch"}`, 200) // to depA
	uploadErr(t, ts, tok["depB"], c.ID, "image/jpeg", jpegOf(t, 9), 403, "not with department")
	pd := upload(t, ts, tok["depA"], c.ID, "image/jpeg", jpegOf(t, 10), 201)
	if pd.Role != "department" || pd.Step != "dispatch" || pd.State != "dispatched" {
		t.Errorf("department's photo: %+v", pd)
	}
	step(t, ts, tok["depA"], c.ID, `{"step":"handle","note":"已加盖"}`, 200)
	upload(t, ts, tok["supervisor"], c.ID, "image/jpeg", jpegOf(t, 11), 201) // the check's photo
	step(t, ts, tok["supervisor"], c.ID, `{"step":"verify"}`, 200)
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"close"}`, 200)
	uploadErr(t, ts, tok["admin"], c.ID, "image/jpeg", jpegOf(t, 12), 409, "is closed")
	rej := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9015,"class":"06010"}`)
	step(t, ts, tok["dispatcher"], rej.ID, `{"step":"reject","reject_kind":"out_of_scope","reason":"私人院落"}`, 200)
	uploadErr(t, ts, tok["reporter"], rej.ID, "image/jpeg", jpegOf(t, 12), 409, "is rejected")
	uploadErr(t, ts, tok["reporter"], c.ID+1000, "image/jpeg", jpegOf(t, 12), 404, "not found")
}

// What is refused, and why: too large, types not taken or not what they
// say, bytes that are no image or are cut off, too many photos.
func TestCasePhotoRefusals(t *testing.T) {
	ts, st, tok := caseServer(t)
	c := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010"}`)
	rep := tok["reporter"]
	big := append(jpegOf(t, 1), make([]byte, grids.MaxPhotoBytes)...)
	uploadErr(t, ts, rep, c.ID, "image/jpeg", big, 413, "8 MiB")
	uploadErr(t, ts, rep, c.ID, "image/jpeg", pngOf(t, 1), 400, "the bytes are image/png but Content-Type says image/jpeg")
	uploadErr(t, ts, rep, c.ID, "image/webp", jpegOf(t, 1), 400, "the bytes are image/jpeg but Content-Type says image/webp")
	uploadErr(t, ts, rep, c.ID, "image/gif", []byte("GIF89a...."), 415, "image/gif is not taken")
	uploadErr(t, ts, rep, c.ID, "application/json", []byte(`{}`), 415, "image/jpeg, image/png or image/webp")
	uploadErr(t, ts, rep, c.ID, "", jpegOf(t, 1), 415, "Content-Type is missing")
	uploadErr(t, ts, rep, c.ID, "image/jpeg", nil, 400, "empty")
	uploadErr(t, ts, rep, c.ID, "image/jpeg", []byte("not an image at all"), 400, "not an image")
	uploadErr(t, ts, rep, c.ID, "image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x55}, 500)...), 400, "not a readable image/jpeg")
	whole := jpegOf(t, 1)
	uploadErr(t, ts, rep, c.ID, "image/jpeg", whole[:len(whole)-100], 400, "does not decode")
	heic := append([]byte{0, 0, 0, 0x18}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)
	uploadErr(t, ts, rep, c.ID, "image/jpeg", heic, 400, "HEIC")
	// A 6000 × 6000 PNG (36 megapixels, a few hundred KB compressed) is
	// refused before it is decoded.
	var huge bytes.Buffer
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, 6000, 6000))); err != nil {
		t.Fatal(err)
	}
	uploadErr(t, ts, rep, c.ID, "image/png", huge.Bytes(), 400, "at most 30 megapixels")
	// Nothing refused was stored.
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM case_photos WHERE case_id = $1`, c.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused photos stored: %d %v", n, err)
	}

	// Limits: 9 photos per event, 30 per case; a refused upload stores
	// none of its photos.
	seed := 100
	multi := func(tok string, k int, want int) string {
		t.Helper()
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		for i := 0; i < k; i++ {
			w, _ := mw.CreateFormFile("photo", fmt.Sprintf("p%d.png", i))
			w.Write(pngOf(t, seed)) //nolint:errcheck
			seed++
		}
		mw.Close()
		status, _, body := sendPhoto(t, "POST", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID), tok, mw.FormDataContentType(), mp.Bytes(), nil)
		if status != want {
			t.Fatalf("%d photos: %d %.300s, want %d", k, status, body, want)
		}
		return string(body)
	}
	if b := multi(rep, 10, 400); !strings.Contains(b, "at most 9 photos in one upload") {
		t.Errorf("10 at once: %s", b)
	}
	multi(rep, 8, 201)
	if b := multi(rep, 2, 409); !strings.Contains(b, "the most one step takes (9)") {
		t.Errorf("10th photo of the report: %s", b)
	}
	multi(rep, 1, 201) // the 9th
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"file"}`, 200)
	multi(tok["dispatcher"], 9, 201)
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"dispatch"}`, 200)
	multi(tok["depA"], 9, 201)
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"suspend","reason":"等待"}`, 200)
	multi(tok["dispatcher"], 3, 201) // 30
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"resume"}`, 200)
	if b := multi(tok["dispatcher"], 1, 409); !strings.Contains(b, "the most a case takes (30)") {
		t.Errorf("31st photo: %s", b)
	}
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM case_photos WHERE case_id = $1`, c.ID).Scan(&n); err != nil || n != 30 {
		t.Errorf("case photos: %d %v, want 30", n, err)
	}
	// Multipart parts are checked as single photos are.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	w, _ := mw.CreateFormFile("photo", "x.jpg")
	w.Write([]byte("garbage")) //nolint:errcheck
	mw.Close()
	status, _, body := sendPhoto(t, "POST", fmt.Sprintf("%s/v1/cases/%d/photos", ts.URL, c.ID), rep, mw.FormDataContentType(), mp.Bytes(), nil)
	if status != 400 || !strings.Contains(string(body), `part 1 (\"x.jpg\")`) {
		t.Errorf("a garbage part: %d %s", status, body)
	}
}
