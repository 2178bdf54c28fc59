// Package ogr reads (and writes) the files GIS staff hold — Shapefile,
// GeoPackage, KML/KMZ, GML, GeoJSON — through GDAL's OGR command-line tools,
// ogr2ogr and ogrinfo, run as child processes.
//
// It is an I/O adapter like grids/postgis: the domain sees only GeoJSON in
// WGS-84 longitude/latitude and a description of what was read (driver,
// layer, source coordinate system, feature count).
//
// Why the tools rather than Go bindings: ogr2ogr is the one reader every GIS
// desktop and server uses, so a file that opens in QGIS opens in gridd with
// the same drivers, the same .prj and .cpg handling and the same PROJ
// transformations; driving the binary needs no cgo toolchain, so gridd stays
// a plain `go build`; and the tests drive the very same binary (Debian's
// gdal-bin), which `make test-deps` and `make run` install.
package ogr
