package ogr

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gridd/geo"
)

// ReadOptions say how to read a file.
type ReadOptions struct {
	// Layer is the layer to read; it may be empty when the file has one.
	Layer string
	// Encoding is the DBF encoding of a Shapefile (GBK, UTF-8, ...),
	// overriding its .cpg.
	Encoding string
	// SourceCRS is the file's coordinate system as GDAL takes it
	// (EPSG:4548), overriding the file's own (.prj, GeoPackage).
	SourceCRS string
	// OpenOptions are GDAL open options (NAME=VALUE), such as a CSV's
	// coordinate columns (X_POSSIBLE_NAMES=x).
	OpenOptions []string
}

// Dataset is one layer of a file, read and transformed.
type Dataset struct {
	// GeoJSON is a FeatureCollection in WGS-84, longitude first.
	GeoJSON []byte
	// Driver is GDAL's name of the format ("ESRI Shapefile", "GPKG").
	Driver string
	// Layer is the layer read; Layers all the file holds.
	Layer  string
	Layers []string
	// SourceCRS names the coordinate system the coordinates were read in
	// ("EPSG:4548 CGCS2000 / 3-degree Gauss-Kruger CM 117E"), and
	// CRSFromFile says whether it came from the file rather than
	// ReadOptions.SourceCRS.
	SourceCRS   string
	CRSFromFile bool
	// Encoding is the text encoding the attributes were read in, when the
	// driver says (Shapefile: .cpg, the DBF header or ReadOptions.Encoding).
	Encoding string
	// Features is the number of features read.
	Features int
}

// Summary is one line describing what was read.
func (d *Dataset) Summary() string {
	crs := d.SourceCRS
	if d.CRSFromFile {
		crs += " (from the file)"
	} else {
		crs += " (given)"
	}
	s := fmt.Sprintf("%s, layer %q, %s, %d features", d.Driver, d.Layer, crs, d.Features)
	if d.Encoding != "" {
		s += ", text in " + d.Encoding
	}
	return s
}

// LayerError is a layer that the file does not hold, or a file of several
// layers read without naming one.
type LayerError struct {
	Path   string
	Want   string
	Layers []string
}

func (e *LayerError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("%s holds %d layers; name one with --layer: %s", e.Path, len(e.Layers), strings.Join(e.Layers, ", "))
	}
	return fmt.Sprintf("%s has no layer %q; its layers: %s", e.Path, e.Want, strings.Join(e.Layers, ", "))
}

// NoCRSError is a file that does not say its coordinate system, read
// without one.
type NoCRSError struct{ Path, Layer string }

func (e *NoCRSError) Error() string {
	return fmt.Sprintf("%s: layer %q does not say its coordinate system (a Shapefile without its .prj?); "+
		"pass --crs, e.g. --crs EPSG:4490 for CGCS2000 longitude/latitude or --crs EPSG:4548 for its Gauss-Kruger CM 117E", e.Path, e.Layer)
}

// OutsideError is a file whose coordinates, read in their coordinate
// system, fall outside China. Hint names the likely mistake.
type OutsideError struct {
	Path      string
	SourceCRS string
	Bound     *[4]float64 // lon/lat of the transformed coordinates, when they could be transformed
	Hint      string
}

func (e *OutsideError) Error() string {
	s := fmt.Sprintf("%s: read as %s, the coordinates fall outside China", e.Path, e.SourceCRS)
	if b := e.Bound; b != nil {
		s += fmt.Sprintf(" (lon %.4f..%.4f, lat %.4f..%.4f)", b[0], b[2], b[1], b[3])
	} else {
		s += " (outside the projection's domain)"
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// Available reports whether ogr2ogr and ogrinfo can be run.
func Available() error {
	for _, t := range []string{"ogr2ogr", "ogrinfo", "gdalsrsinfo"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("this needs GDAL's %s (Debian: apt-get install gdal-bin): %w", t, err)
		}
	}
	return nil
}

// Read reads one layer of the file at path and transforms it to WGS-84.
// A .zip is read inside (a zipped Shapefile), a .kmz through LIBKML.
func Read(ctx context.Context, path string, opt ReadOptions) (*Dataset, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	src, err := sourceName(path)
	if err != nil {
		return nil, err
	}
	// A KML placemark's <name> and <description> come as the fields name
	// and description, as in every other format, not LIBKML's Name.
	cfg := []string{"--config", "LIBKML_NAME_FIELD", "name", "--config", "LIBKML_DESCRIPTION_FIELD", "description"}
	if opt.Encoding != "" {
		cfg = append(cfg, "--config", "SHAPE_ENCODING", opt.Encoding)
	}
	for _, o := range opt.OpenOptions {
		cfg = append(cfg, "-oo", o)
	}
	info, err := inspect(ctx, path, src, cfg)
	if err != nil {
		return nil, err
	}
	var layers []string
	for _, l := range info.layers {
		layers = append(layers, l.name)
	}
	var lay *layerInfo
	switch {
	case opt.Layer != "":
		for i := range info.layers {
			if info.layers[i].name == opt.Layer {
				lay = &info.layers[i]
			}
		}
		if lay == nil {
			return nil, &LayerError{Path: path, Want: opt.Layer, Layers: layers}
		}
	case len(info.layers) == 1:
		lay = &info.layers[0]
	case len(info.layers) == 0:
		return nil, fmt.Errorf("%s: GDAL (%s) finds no layer in it", path, info.driver)
	default:
		return nil, &LayerError{Path: path, Layers: layers}
	}
	d := &Dataset{Driver: info.driver, Layer: lay.name, Layers: layers, Features: lay.count}
	if opt.Encoding != "" && info.driver != "ESRI Shapefile" {
		return nil, fmt.Errorf("%s: --encoding applies to Shapefile DBFs; this file is %s, whose text is UTF-8", path, info.driver)
	}
	if info.driver == "ESRI Shapefile" {
		d.Encoding = lay.encoding
	}
	srsArg := lay.crsCode
	switch {
	case opt.SourceCRS != "":
		d.SourceCRS, srsArg = opt.SourceCRS, opt.SourceCRS
	case lay.wkt == "":
		return nil, &NoCRSError{Path: path, Layer: lay.name}
	default:
		d.SourceCRS, d.CRSFromFile = lay.crsName(), true
		if srsArg == "" {
			srsArg = lay.wkt
		}
	}

	args := append([]string{}, cfg...)
	args = append(args, "-f", "GeoJSON", "/vsistdout/", "-t_srs", "OGC:CRS84", "-dim", "XY", "-lco", "WRITE_NAME=NO")
	if opt.SourceCRS != "" {
		args = append(args, "-s_srs", opt.SourceCRS)
	}
	args = append(args, src, lay.name)
	out, stderr, err := run(ctx, "ogr2ogr", args...)
	if err != nil && strings.Contains(stderr, "outside of projection domain") {
		return nil, &OutsideError{Path: path, SourceCRS: d.SourceCRS, Hint: diagnose(ctx, srsArg, lay.extent)}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: GDAL could not read layer %q: %s", path, lay.name, gdalMessage(stderr, err))
	}
	if strings.Contains(stderr, "couldn't be converted correctly") || !utf8.Valid(out) {
		if d.Encoding == "" {
			return nil, fmt.Errorf("%s: the text is not UTF-8 and the file does not say its encoding (no .cpg); "+
				"pass --encoding, e.g. --encoding GBK for most Chinese GIS files", path)
		}
		return nil, fmt.Errorf("%s: the text is not valid %s; pass the file's encoding with --encoding (GBK, UTF-8, ...)", path, d.Encoding)
	}
	if sample, ok := misdecoded(out); ok && info.driver == "ESRI Shapefile" {
		return nil, fmt.Errorf("%s: the text read as %s looks mis-decoded (%q); if the file is Chinese, pass --encoding GBK "+
			"(or the encoding it was written in)", path, cmp.Or(d.Encoding, "ISO-8859-1"), sample)
	}
	d.GeoJSON = out
	n, bound, outside, err := scan(out)
	if err != nil {
		return nil, fmt.Errorf("%s: GDAL's output: %w", path, err)
	}
	d.Features = n
	if outside {
		return nil, &OutsideError{Path: path, SourceCRS: d.SourceCRS, Bound: &bound,
			Hint: diagnose(ctx, srsArg, lay.extent)}
	}
	return d, nil
}

// misdecoded reports whether the text of a GeoJSON document looks like
// Chinese read in a single-byte Western encoding: most of its non-ASCII
// characters (and at least four) are Latin-1 letters and signs (U+0080 to
// U+00FF), as GBK bytes read as ISO-8859-1 or CP1252 become ("东城区" →
// "¶«³ÇÇø"). It returns a sample string.
func misdecoded(data []byte) (string, bool) {
	latin, other := 0, 0
	first := -1
	for i, r := range string(data) {
		switch {
		case r < 0x80:
		case r <= 0xFF:
			latin++
			if first < 0 {
				first = i
			}
		default:
			other++
		}
	}
	if latin < 4 || latin <= 2*other {
		return "", false
	}
	// The sample is the JSON string holding the first such character.
	start := bytes.LastIndexByte(data[:first], '"') + 1
	end := bytes.IndexByte(data[first:], '"')
	if end < 0 || first-start > 80 {
		return string(data[first:min(first+20, len(data))]), true
	}
	return string(data[start : first+end]), true
}

// sourceName is the name GDAL opens for path: a .zip is opened inside,
// at its one dataset (or its one folder of Shapefiles).
func sourceName(path string) (string, error) {
	if !strings.EqualFold(filepath.Ext(path), ".zip") {
		return path, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable zip archive: %w", path, err)
	}
	defer zr.Close()
	var found []string
	dirs := map[string]bool{}
	for _, f := range zr.File {
		switch strings.ToLower(filepath.Ext(f.Name)) {
		case ".shp", ".gpkg", ".kml", ".gml", ".geojson", ".json":
			if strings.HasPrefix(filepath.Base(f.Name), ".") || strings.HasPrefix(f.Name, "__MACOSX") {
				continue
			}
			found = append(found, f.Name)
			dirs[filepath.Dir(f.Name)] = true
		}
	}
	sort.Strings(found)
	base := "/vsizip/" + abs
	switch {
	case len(found) == 1:
		return base + "/" + found[0], nil
	case len(found) > 1 && len(dirs) == 1 && allShp(found):
		if d := filepath.Dir(found[0]); d != "." {
			return base + "/" + d, nil
		}
		return base, nil
	case len(found) == 0:
		return "", fmt.Errorf("%s: the archive holds no Shapefile, GeoPackage, KML, GML or GeoJSON", path)
	}
	return "", fmt.Errorf("%s: the archive holds several datasets (%s); unzip it and import one", path, strings.Join(found, ", "))
}

func allShp(names []string) bool {
	for _, n := range names {
		if !strings.EqualFold(filepath.Ext(n), ".shp") {
			return false
		}
	}
	return true
}

type layerInfo struct {
	name     string
	count    int
	extent   [4]float64 // in the layer's own coordinates, x first
	wkt      string
	crsCode  string // EPSG:NNNN when the CRS is identified
	encoding string
}

func (l *layerInfo) crsName() string {
	name := ""
	if m := wktName.FindStringSubmatch(l.wkt); m != nil {
		name = m[1]
	}
	switch {
	case l.crsCode != "" && name != "":
		return l.crsCode + " " + name
	case l.crsCode != "":
		return l.crsCode
	case name != "":
		return name
	}
	return "the file's coordinate system"
}

type fileInfo struct {
	driver string
	layers []layerInfo
}

var (
	wktName    = regexp.MustCompile(`^[A-Z0-9]+\["([^"]*)"`)
	wktTopID   = regexp.MustCompile(`ID\["EPSG",(\d+)\]\]\s*$`)
	driverLine = regexp.MustCompile("using driver `([^']+)' successful")
	extentLine = regexp.MustCompile(`^Extent: \(([-0-9.e+]+), ([-0-9.e+]+)\) - \(([-0-9.e+]+), ([-0-9.e+]+)\)`)
)

// inspect runs ogrinfo over every layer's summary.
func inspect(ctx context.Context, path, src string, cfg []string) (*fileInfo, error) {
	args := append(append([]string{}, cfg...), "-ro", "-so", "-al", "-mdd", "SHAPEFILE", src)
	out, stderr, err := run(ctx, "ogrinfo", args...)
	if err != nil {
		return nil, fmt.Errorf("%s: GDAL cannot read it: %s", path, gdalMessage(stderr, err))
	}
	info := &fileInfo{}
	var cur *layerInfo
	inWKT, depth := false, 0
	var wkt []string
	endWKT := func() {
		if cur != nil && inWKT {
			cur.wkt = strings.TrimSpace(strings.Join(wkt, "\n"))
			// GeoPackage's srs_id 0 and -1 say the CRS is not known.
			if m := wktName.FindStringSubmatch(cur.wkt); m != nil && strings.HasPrefix(m[1], "Undefined ") {
				cur.wkt = ""
			}
			if m := wktTopID.FindStringSubmatch(cur.wkt); m != nil {
				cur.crsCode = "EPSG:" + m[1]
			}
		}
		inWKT, wkt = false, nil
	}
	for _, line := range strings.Split(string(out), "\n") {
		if m := driverLine.FindStringSubmatch(line); m != nil {
			info.driver = m[1]
			continue
		}
		if name, ok := strings.CutPrefix(line, "Layer name: "); ok {
			endWKT()
			info.layers = append(info.layers, layerInfo{name: name})
			cur = &info.layers[len(info.layers)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if inWKT {
			// The WKT runs until its brackets close; "(unknown)" is none.
			if line == "(unknown)" {
				inWKT, wkt = false, nil
				continue
			}
			wkt = append(wkt, line)
			depth += strings.Count(line, "[") - strings.Count(line, "]")
			if depth <= 0 {
				endWKT()
			}
			continue
		}
		switch {
		case line == "Layer SRS WKT:":
			inWKT, depth = true, 0
		case strings.HasPrefix(line, "Feature Count: "):
			cur.count, _ = strconv.Atoi(strings.TrimPrefix(line, "Feature Count: "))
		case extentLine.MatchString(line):
			m := extentLine.FindStringSubmatch(line)
			for i := range 4 {
				cur.extent[i], _ = strconv.ParseFloat(m[i+1], 64)
			}
		case strings.HasPrefix(line, "  SOURCE_ENCODING="):
			cur.encoding = strings.TrimPrefix(line, "  SOURCE_ENCODING=")
		}
	}
	endWKT()
	if info.driver == "" {
		info.driver = "unknown driver"
	}
	return info, nil
}

// scan counts the features of a GeoJSON FeatureCollection and finds the
// bounds of its coordinates and whether every feature with a geometry lies
// partly outside China (a few such features are left to the importer's
// checks, which name them).
func scan(data []byte) (n int, bound [4]float64, outside bool, err error) {
	var fc struct {
		Features []struct {
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return 0, bound, false, err
	}
	bound = [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	out := false // the current feature has a point outside China
	var walk func(v any)
	walk = func(v any) {
		a, ok := v.([]any)
		if !ok {
			return
		}
		if len(a) >= 2 {
			x, okx := a[0].(float64)
			y, oky := a[1].(float64)
			if okx && oky {
				bound[0], bound[1] = min(bound[0], x), min(bound[1], y)
				bound[2], bound[3] = max(bound[2], x), max(bound[3], y)
				if x < geo.ChinaBounds.Min[0] || x > geo.ChinaBounds.Max[0] || y < geo.ChinaBounds.Min[1] || y > geo.ChinaBounds.Max[1] {
					out = true
				}
				return
			}
		}
		for _, e := range a {
			walk(e)
		}
	}
	var geom struct {
		Coordinates any               `json:"coordinates"`
		Geometries  []json.RawMessage `json:"geometries"`
	}
	var visit func(raw json.RawMessage)
	visit = func(raw json.RawMessage) {
		if len(raw) == 0 || string(raw) == "null" {
			return
		}
		geom.Coordinates, geom.Geometries = nil, nil
		if json.Unmarshal(raw, &geom) != nil {
			return
		}
		walk(geom.Coordinates)
		for _, g := range geom.Geometries {
			visit(g)
		}
	}
	located, outsiders := 0, 0
	for _, f := range fc.Features {
		if len(f.Geometry) == 0 || string(f.Geometry) == "null" {
			continue
		}
		out = false
		visit(f.Geometry)
		located++
		if out {
			outsiders++
		}
	}
	return len(fc.Features), bound, located > 0 && outsiders == located, nil
}

// diagnose names the likely reason why coordinates read in srs (a GDAL
// CRS definition) fall outside China, given the layer's extent in its own
// coordinates: swapped axes, Gauss-Kruger eastings with or without the zone
// prefix under the other kind of CRS, degrees under a projected CRS or
// metres under a geographic one. It names a fix only when the fix lands in
// China.
func diagnose(ctx context.Context, srs string, ext [4]float64) string {
	x, y := (ext[0]+ext[2])/2, (ext[1]+ext[3])/2
	code := 0
	if c, ok := strings.CutPrefix(strings.ToUpper(srs), "EPSG:"); ok {
		code, _ = strconv.Atoi(c)
	}
	degrees := func(v float64) bool { return v >= -180 && v <= 180 }
	if in(ctx, srs, y, x) {
		return fmt.Sprintf("the two coordinates are swapped (the file gives %s first); swapped, they land in China — write longitude/easting first",
			map[bool]string{true: "latitude", false: "northing"}[degrees(x) && degrees(y)])
	}
	zone := int(x / 1e6)
	switch {
	case code >= 4534 && code <= 4554 && zone >= 25 && zone <= 45:
		if alt := fmt.Sprintf("EPSG:%d", 4488+zone); in(ctx, alt, x, y) {
			return fmt.Sprintf("the eastings carry the zone prefix %d (%.0f), which %s does not expect; the file is likely in %s (CGCS2000 3-degree Gauss-Kruger zone %d)", zone, x, srs, alt, zone)
		}
	case code >= 4513 && code <= 4533 && x > 0 && x < 1e6:
		if alt := fmt.Sprintf("EPSG:%d", code+21); in(ctx, alt, x, y) {
			return fmt.Sprintf("the eastings have no zone prefix (%.0f), which %s expects; the file is likely in %s (CGCS2000 3-degree Gauss-Kruger CM %dE, without the prefix)", x, srs, alt, 75+3*(code-4513))
		}
	}
	if degrees(x) && degrees(y) && !in(ctx, "EPSG:4490", x, y) && in(ctx, "EPSG:4490", y, x) {
		return "the coordinates look like degrees with latitude first; write longitude first"
	}
	if degrees(x) && degrees(y) && in(ctx, "EPSG:4490", x, y) {
		return "the coordinates look like longitude/latitude in degrees, not metres; read them with --crs EPSG:4490 (or EPSG:4326)"
	}
	if !degrees(x) || !degrees(y) {
		if zone >= 25 && zone <= 45 {
			if alt := fmt.Sprintf("EPSG:%d", 4488+zone); in(ctx, alt, x, y) {
				return fmt.Sprintf("the coordinates look like Gauss-Kruger metres with the zone prefix %d; read them with --crs %s", zone, alt)
			}
		}
		if x > 0 && x < 1e6 && in(ctx, "EPSG:4548", x, y) {
			return "the coordinates look like Gauss-Kruger metres without a zone prefix; read them with --crs EPSG:4534..4554 by central meridian (EPSG:4548 for CM 117E, Beijing)"
		}
	}
	return ""
}

// in reports whether the point (x, y) in srs lands in China.
func in(ctx context.Context, srs string, x, y float64) bool {
	if srs == "" {
		return false
	}
	cmd := exec.CommandContext(ctx, "gdaltransform", "-s_srs", srs, "-t_srs", "OGC:CRS84")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("%.10g %.10g\n", x, y))
	out, err := cmd.Output()
	if err != nil {
		return false
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return false
	}
	lon, err1 := strconv.ParseFloat(f[0], 64)
	lat, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		return false
	}
	b := geo.ChinaBounds
	return lon >= b.Min[0] && lon <= b.Max[0] && lat >= b.Min[1] && lat <= b.Max[1]
}

// run runs a GDAL tool and returns its standard output and error.
func run(ctx context.Context, name string, args ...string) ([]byte, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil && strings.Contains(stderr.String(), "ERROR ") {
		err = errors.New("GDAL reported an error")
	}
	return stdout.Bytes(), stderr.String(), err
}

// gdalMessage is the gist of a GDAL tool's error output.
func gdalMessage(stderr string, err error) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "Warning") {
			continue
		}
		l = strings.TrimPrefix(l, "ERROR 1: ")
		l = strings.TrimPrefix(l, "ERROR 4: ")
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return err.Error()
	}
	if len(lines) > 4 {
		lines = lines[:4]
	}
	return strings.Join(lines, " ")
}
