package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gridd/geo"
	"gridd/ogr"
)

// source is how an import reads its file: --crs, --encoding and (for
// divisions and components) --layer.
type source struct {
	crs      *string
	encoding *string
	layer    *string
	// ownLayer: --layer is the command's own (the line layer to replace);
	// it picks the file's layer only when the file holds several.
	ownLayer bool
}

// sourceFlags registers the reading flags on fs; layer is the command's own
// --layer flag when it has one (import lines), else nil.
func sourceFlags(fs *flag.FlagSet, layer *string) *source {
	s := &source{
		crs: fs.String("crs", "", "coordinate system of the file: EPSG:NNNN, wgs84, cgcs2000, gcj02 or bd09 "+
			"(default: the file's own, from its .prj or GeoPackage; GeoJSON and CSV: wgs84)"),
		encoding: fs.String("encoding", "", "text encoding of a Shapefile's DBF, e.g. GBK (default: from its .cpg)"),
		layer:    layer,
		ownLayer: layer != nil,
	}
	if layer == nil {
		s.layer = fs.String("layer", "", "layer of the file to read, when it holds several (GeoPackage, KML)")
	}
	return s
}

var epsgCode = regexp.MustCompile(`^(?i:epsg):([0-9]{4,6})$`)

// parseSourceCRS reads --crs: the CRS for GDAL to read the file in (empty:
// the file's own) and the gridd system to convert from afterwards.
// GCJ-02 and BD-09 are not EPSG systems: GDAL reads such a file as it is
// and geo converts it.
func parseSourceCRS(s string) (gdal string, crs geo.CRS, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", geo.WGS84, nil
	}
	if m := epsgCode.FindStringSubmatch(s); m != nil && m[1] != "4326" && m[1] != "4490" {
		return "EPSG:" + m[1], geo.WGS84, nil
	}
	c, err := geo.ParseCRS(s)
	if err != nil {
		return "", "", fmt.Errorf("unknown crs %q (want EPSG:NNNN, wgs84, cgcs2000, gcj02 or bd09)", s)
	}
	switch c {
	case geo.CGCS2000:
		return "EPSG:4490", c, nil
	default:
		return "EPSG:4326", c, nil
	}
}

// read reads the import's file. GeoJSON and CSV in a gridd CRS go to
// gridd's own readers as they are (format "geojson" or "csv"); everything
// else, and GeoJSON in a projected CRS, is read by GDAL into WGS-84 GeoJSON,
// and what it found is printed. crs is the system the returned data is in.
func (s *source) read(ctx context.Context, e *env, path, format string) (data []byte, outFormat string, crs geo.CRS, err error) {
	gdalCRS, crs, err := s.parse()
	if err != nil {
		return nil, "", "", err
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".geojson", ".json":
			format = "geojson"
		case ".csv":
			format = "csv"
		}
	}
	own := gdalCRS == "" || gdalCRS == "EPSG:4326" || gdalCRS == "EPSG:4490"
	if format == "geojson" && gdalCRS == "" {
		// A GeoJSON file that names a projected CRS (as ogr2ogr writes
		// one) is read in it.
		named, err := geojsonCRS(path)
		if err != nil {
			return nil, "", "", err
		}
		own = !projected(named)
	}
	if (format == "geojson" || format == "csv") && own {
		data, err := os.ReadFile(path)
		return data, format, crs, err
	}
	opt := ogr.ReadOptions{Layer: *s.layer, Encoding: *s.encoding, SourceCRS: gdalCRS}
	if format == "csv" {
		// Projected coordinates in a CSV: GDAL reads the columns gridd's
		// CSV reader takes as lon and lat; the other columns stay text.
		opt.OpenOptions = []string{"X_POSSIBLE_NAMES=lon,lng,longitude,x,经度", "Y_POSSIBLE_NAMES=lat,latitude,y,纬度",
			"KEEP_GEOM_COLUMNS=NO"}
	}
	d, err := ogr.Read(ctx, path, opt)
	var le *ogr.LayerError
	if s.ownLayer && errors.As(err, &le) && le.Want != "" && len(le.Layers) == 1 {
		opt.Layer = ""
		d, err = ogr.Read(ctx, path, opt)
	}
	if err != nil {
		return nil, "", "", err
	}
	note := ""
	if crs == geo.GCJ02 || crs == geo.BD09 {
		note = fmt.Sprintf(", read as they are and converted from %s to WGS-84", crs)
	}
	fmt.Fprintf(e.stdout, "read %s: %s%s\n", path, d.Summary(), note)
	return d.GeoJSON, "geojson", crs, nil
}

// geojsonCRS is the name in a GeoJSON file's top-level "crs" member (the
// 2008 GeoJSON specification's), or "" when it has none before its
// features.
func geojsonCRS(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil // not an object: the reader says what is wrong
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil
		}
		switch t {
		case "crs":
			var crs struct {
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			}
			if dec.Decode(&crs) != nil {
				return "", nil
			}
			return crs.Properties.Name, nil
		case "features":
			return "", nil
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return "", nil
		}
	}
	return "", nil
}

// projected reports whether a GeoJSON crs name is other than WGS-84 or
// CGCS2000 longitude/latitude.
func projected(name string) bool {
	n := strings.ToUpper(name)
	if n == "" || strings.HasSuffix(n, "CRS84") {
		return false
	}
	for _, c := range []string{":4326", ":4490"} {
		if strings.HasSuffix(n, c) {
			return false
		}
	}
	return true
}

func (s *source) parse() (string, geo.CRS, error) {
	return parseSourceCRS(*s.crs)
}
