package ogr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// An output format: its name on gridd's command line, GDAL's driver, the
// file's extension and, for a Shapefile, the files beside the .shp.
type outputFormat struct {
	driver, ext string
	sidecars    []string
}

var outputFormats = map[string]outputFormat{
	"gpkg":    {driver: "GPKG", ext: ".gpkg"},
	"shp":     {driver: "ESRI Shapefile", ext: ".shp", sidecars: []string{".shx", ".dbf", ".prj", ".cpg"}},
	"geojson": {driver: "GeoJSON", ext: ".geojson"},
}

// OutputFormats lists the formats Write writes: gpkg, geojson, shp.
func OutputFormats() []string {
	names := make([]string, 0, len(outputFormats))
	for n := range outputFormats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OutputFormatOf names the output format a file's extension implies, or ""
// when it implies none.
func OutputFormatOf(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".json" {
		return "geojson"
	}
	for n, f := range outputFormats {
		if f.ext == ext {
			return n
		}
	}
	return ""
}

// WriteOptions say how Write writes a layer.
type WriteOptions struct {
	// Format is gpkg, shp or geojson.
	Format string
	// Layer names the layer written (a GeoPackage table, a GeoJSON name;
	// a Shapefile's layer is its file name) and, with Fields, the layer
	// read: the source FeatureCollection's name.
	Layer string
	// CRS is the coordinate system to write, "EPSG:NNNN" of any code PROJ
	// knows, or "" for WGS-84 longitude/latitude (EPSG:4326, CRS84).
	CRS string
	// Encoding is a Shapefile's DBF encoding: UTF-8 (the default) or GBK
	// (also GB18030), stated in the .cpg beside it. Other formats are UTF-8.
	Encoding string
	// Where keeps only the features matching this OGR SQL condition
	// (OGR_GEOMETRY = 'POINT' keeps the points).
	Where string
	// Fields, when given, are the attributes to write, in order, each with
	// its type, so that a layer has the same fields and types whatever its
	// values (a field with no value would otherwise be text, and text
	// that looks like dates would become dates).
	Fields []Field
	// Warn, when set, is told GDAL's warnings (a text value cut at a
	// DBF's 254 bytes, say), each once.
	Warn func(string)
	// GeometryType, when set, is the layer's geometry type (POINT,
	// LINESTRING, POLYGON, MULTIPOLYGON...), as ogr2ogr's -nlt takes it.
	GeometryType string
}

// Field is an attribute Write writes: its name and type, one of text,
// integer, real or date (read from YYYY-MM-DD text).
type Field struct{ Name, Type string }

var ogrCasts = map[string]string{"text": "", "integer": "integer", "real": "float", "date": "date"}

// selectFields is the OGR SQL statement that reads the fields from layer
// with their types, where the condition holds. Text is read as it is (a
// cast would give it a width: a GeoPackage's TEXT(n), a DBF field cut off
// at n bytes); the Shapefile driver makes text fields 80 bytes wide and
// widens them for longer values, up to the DBF's 254.
func selectFields(layer string, fields []Field, where string) (string, error) {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cast, ok := ogrCasts[f.Type]
		if !ok || strings.ContainsRune(f.Name, '"') {
			return "", fmt.Errorf("field %q of type %q cannot be written", f.Name, f.Type)
		}
		cols[i] = fmt.Sprintf(`CAST("%s" AS %s) AS "%s"`, f.Name, cast, f.Name)
		if cast == "" {
			cols[i] = fmt.Sprintf(`"%s"`, f.Name)
		}
	}
	q := fmt.Sprintf(`SELECT %s FROM "%s"`, strings.Join(cols, ", "), strings.ReplaceAll(layer, `"`, ""))
	if where != "" {
		q += " WHERE " + where
	}
	return q, nil
}

var epsgCode = regexp.MustCompile(`(?i)^EPSG:([0-9]{1,6})$`)

// NormalizeCRS checks that crs is "EPSG:NNNN" (or CRS84, WGS-84
// longitude/latitude) and that PROJ knows it, and returns it as GDAL is
// given it: "EPSG:NNNN", or "" for WGS-84 longitude/latitude.
func NormalizeCRS(ctx context.Context, crs string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(crs)) {
	case "", "CRS84", "OGC:CRS84", "EPSG:4326", "WGS84":
		return "", nil
	}
	m := epsgCode.FindStringSubmatch(strings.TrimSpace(crs))
	if m == nil {
		return "", fmt.Errorf("--crs %q: want EPSG:NNNN (like EPSG:4548) or CRS84", crs)
	}
	norm := "EPSG:" + strings.TrimLeft(m[1], "0")
	tool, err := gdalTool("gdalsrsinfo")
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, tool, "-o", "proj4", norm).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("+proj=")) {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("--crs %s: PROJ does not know this coordinate system", norm)
	}
	return norm, nil
}

// dbfEncoding returns the encoding GDAL writes a DBF in for the name a user
// gives: UTF-8 unless GBK (CP936) or GB18030.
func dbfEncoding(name string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(name), "_", "-")) {
	case "", "UTF-8", "UTF8":
		return "UTF-8", nil
	case "GBK", "CP936", "936", "GB2312":
		return "CP936", nil
	case "GB18030":
		return "GB18030", nil
	}
	return "", fmt.Errorf("--encoding %q: want UTF-8, GBK or GB18030", name)
}

// gdalTool finds one of GDAL's command-line tools.
func gdalTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: GDAL's command-line tools are needed (Debian: apt-get install gdal-bin)", name)
	}
	return p, nil
}

// Check says whether the options can write the file dst: a known format,
// a Shapefile named .shp, and an encoding only for a Shapefile. The
// coordinate system is checked by NormalizeCRS.
func (o WriteOptions) Check(dst string) error {
	if _, ok := outputFormats[o.Format]; !ok {
		return fmt.Errorf("--format %q: want one of %s", o.Format, strings.Join(OutputFormats(), ", "))
	}
	if o.Format == "shp" && strings.ToLower(filepath.Ext(dst)) != ".shp" {
		return fmt.Errorf("%s: a Shapefile's name ends in .shp", dst)
	}
	enc, err := dbfEncoding(o.Encoding)
	if err != nil {
		return err
	}
	if o.Format != "shp" && o.Encoding != "" && enc != "UTF-8" {
		return fmt.Errorf("--encoding %s: only a Shapefile's DBF takes an encoding; %s is always UTF-8", o.Encoding, o.Format)
	}
	return nil
}

// Write writes the GeoJSON FeatureCollection in the file src (WGS-84
// longitude/latitude) to dst in the options' format and coordinate system
// through ogr2ogr, and returns the files it wrote. The output is made in a
// directory beside dst and moved onto dst (and a Shapefile's companion
// files) only when ogr2ogr finished without an error, so a failed write
// leaves no partial file and an earlier dst as it was.
func Write(ctx context.Context, src, dst string, o WriteOptions) ([]string, error) {
	if err := o.Check(dst); err != nil {
		return nil, err
	}
	f := outputFormats[o.Format]
	var lco []string
	if o.Format == "shp" {
		enc, _ := dbfEncoding(o.Encoding)
		lco = append(lco, "-lco", "ENCODING="+enc)
	}
	crs, err := NormalizeCRS(ctx, o.CRS)
	if err != nil {
		return nil, err
	}
	tool, err := gdalTool("ogr2ogr")
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", dst)
	}

	dir, base := filepath.Dir(dst), filepath.Base(dst)
	tmp, err := os.MkdirTemp(dir, "."+base+".partial-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, base)
	args := []string{"-f", f.driver}
	if o.Layer != "" && o.Format != "shp" {
		args = append(args, "-nln", o.Layer)
	}
	if crs != "" {
		args = append(args, "-t_srs", crs)
	}
	// Text stays text: GDAL's GeoJSON reader would make dates of text
	// that looks like dates.
	args = append(args, "-oo", "DATE_AS_STRING=YES")
	if len(o.Fields) > 0 {
		q, err := selectFields(o.Layer, o.Fields, o.Where)
		if err != nil {
			return nil, err
		}
		args = append(args, "-sql", q)
	} else if o.Where != "" {
		args = append(args, "-where", o.Where)
	}
	if o.GeometryType != "" {
		args = append(args, "-nlt", o.GeometryType)
	}
	args = append(args, lco...)
	args = append(args, out, src)
	cmd := exec.CommandContext(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if msg := gdalErrors(stderr.String()); runErr != nil || msg != "" {
		if msg == "" {
			msg = runErr.Error()
		}
		return nil, fmt.Errorf("ogr2ogr writing %s: %s", dst, msg)
	}
	if o.Warn != nil {
		seen := map[string]bool{}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "Warning") && !seen[line] {
				seen[line] = true
				o.Warn(line)
			}
		}
	}

	if o.Format == "shp" {
		if err := markGBK(filepath.Join(tmp, strings.TrimSuffix(base, filepath.Ext(base))), o.Encoding); err != nil {
			return nil, err
		}
	}

	// Move the result into place: the main file last, so that a reader who
	// sees it sees its companions.
	var written []string
	names := append(append([]string{}, f.sidecars...), "")
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	for _, ext := range names {
		from, to := out, dst
		if ext != "" {
			from = filepath.Join(tmp, stem+ext)
			to = filepath.Join(dir, stem+ext)
		}
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			if ext != "" {
				os.Remove(to) // a companion left from an earlier file would not describe this one
				continue
			}
			return nil, fmt.Errorf("ogr2ogr wrote no %s", dst)
		}
		if err := os.Rename(from, to); err != nil {
			return written, err
		}
		written = append(written, to)
	}
	// The main file first.
	return append(written[len(written)-1:], written[:len(written)-1]...), nil
}

// gdalErrors returns GDAL's ERROR lines (warnings are not errors), joined.
func gdalErrors(s string) string {
	var errs []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "FAILURE") {
			errs = append(errs, line)
		}
	}
	return strings.Join(errs, "; ")
}

// markGBK makes a GBK DBF say so the ways desktop tools look for it: the
// .cpg holds the code page number 936 (as ArcGIS writes it; GDAL reads it
// too) and the DBF header's language driver byte is 0x4D (GBK), for tools
// that read no .cpg. stem is the Shapefile's path without extension.
func markGBK(stem, encoding string) error {
	if enc, _ := dbfEncoding(encoding); enc != "CP936" {
		return nil
	}
	if err := os.WriteFile(stem+".cpg", []byte("936"), 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(stem+".dbf", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	const languageDriver = 29 // the header byte dBASE calls the language driver ID
	if _, err := f.WriteAt([]byte{0x4D}, languageDriver); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
