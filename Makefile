# gridd: `make run` sets everything up and serves the demo; `make test` sets
# up the same way and runs the tests against a real PostGIS.
#
# With no DATABASE_URL in the environment, scripts/db.sh installs PostgreSQL
# and PostGIS from the distribution if they are missing and runs a private
# cluster under .data/. With DATABASE_URL set, that database is used as is.

SHELL := /bin/bash
GO    ?= go
BIN   := bin/gridd

ifeq ($(origin DATABASE_URL), undefined)
PRIVATE_DB := 1
DATABASE_URL := $(shell scripts/db.sh url)
endif
export DATABASE_URL

.PHONY: all build run run-deps db db-stop test test-deps vet check-imports bench soak clean web fuzz

all: build

build: web
	$(GO) build -o $(BIN) ./cmd/gridd

db:
ifdef PRIVATE_DB
	@scripts/db.sh start
endif

run: build db run-deps
	$(BIN) demo
	$(BIN) serve

# Tools gridd runs: GDAL's ogr2ogr and ogrinfo read and write Shapefile,
# GeoPackage, KML and GML for gridd import and export; a CJK font makes the
# map's Chinese labels (gridd serves its glyphs from the fonts it finds).
# Installed from the distribution when missing and we are root.
run-deps:
	@missing=""; command -v ogr2ogr >/dev/null || missing="$$missing gdal-bin"; \
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "run-deps: installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "run-deps: missing$$missing (gdal-bin: importing or exporting Shapefile, GeoPackage or KML; fonts-noto-cjk: the map's Chinese labels)"; fi; \
	fi

test: db web test-deps vet check-imports
	$(GO) test -race -count=1 -timeout 20m ./...

# Tools the tests drive: GDAL's OGC API Features driver (ogrinfo), QGIS
# (Debian's python3-qgis with its data providers, run headless), Debian's
# headless Chromium for the map and editor pages, and a CJK font for their
# labels. Installed from the distribution when missing and we are root; under
# CI the tests that need them fail without them.
test-deps:
	@missing=""; command -v ogrinfo >/dev/null || missing="$$missing gdal-bin"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	/usr/bin/python3 -c 'import qgis.core' 2>/dev/null || missing="$$missing python3-qgis qgis-providers"; \
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "test-deps: installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "test-deps: missing$$missing (the OGC and browser tests skip, or fail under CI)"; fi; \
	fi
	cd testdata/open311 && npm ci --no-audit --no-fund --loglevel=error
	cd testdata/h3js && npm ci --no-audit --no-fund --loglevel=error

vet:
	$(GO) vet ./...

# The pure packages (geo, grids, tiles, workclock, h3) must not reach the database driver,
# the router or net/http, directly or through another package. One library
# is let through: brotli's package also carries an HTTP helper (it imports
# net/http for it), which tiles does not call; it only compresses tiles.
PURE_PKGS := ./geo/... gridd/grids ./tiles/... ./workclock/... ./h3/...
FORBIDDEN := ^(github.com/jackc/pgx|github.com/go-chi/chi|net/http)
check-imports:
	@bad=$$($(GO) list -deps -f '{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}' $(PURE_PKGS) \
		| awk -F: -v re='$(FORBIDDEN)' '$$1 !~ re && $$1 != "github.com/andybalholm/brotli" { \
			n = split($$2, a, " "); for (i = 1; i <= n; i++) if (a[i] ~ re) print "  " $$1 " imports " a[i] }'); \
	if [ -n "$$bad" ]; then echo "check-imports: the pure packages reach pgx, chi or net/http:"; echo "$$bad"; exit 1; fi; \
	echo "check-imports: geo, grids, tiles, workclock and h3 are free of pgx, chi and net/http"

# The map page's bundle (MapLibre GL JS from npm, bundled by esbuild) goes to
# api/mapweb/dist, which the binary embeds. Node and npm come from apt when
# missing.
WEB_DIST := api/mapweb/dist/map.js api/mapweb/dist/dashboard.js
web: $(WEB_DIST)
$(WEB_DIST) &: web/package.json web/package-lock.json $(wildcard web/src/*)
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	@touch $(WEB_DIST)

# Go native fuzzing: each target runs for FUZZTIME, one after another. The
# seed corpora (testdata/fuzz/<name>) also run in every make test; inputs
# that fail are written there, to be fixed and kept.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./api:FuzzBatchRequest \
	./api:FuzzQueryParams \
	./api:FuzzGridFeature \
	./api:FuzzChangesetBody \
	./geo:FuzzGeoJSONPolygon \
	./geo:FuzzPolygonLattice \
	./geo:FuzzParseCode \
	./tiles:FuzzTileAddress

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# BENCH_ARGS: e.g. -only lookup,tiles, -runs 9, -quick; the rows also go to
# .artifacts/bench.json.
BENCH_ARGS ?=
# With the private cluster, bench also runs its streaming standby (the edit
# section times an edit's way to an instance reading it); with DATABASE_URL
# set, GRIDD_BENCH_STANDBY_URL names a standby of that server, if any.
bench: build db
ifdef PRIVATE_DB
	@scripts/db.sh standby-start
	GRIDD_BENCH_STANDBY_URL=$$(scripts/db.sh standby-url) $(GO) run ./cmd/griddbench $(BENCH_ARGS)
else
	$(GO) run ./cmd/griddbench $(BENCH_ARGS)
endif

# A bounded load test of a served gridd on loopback: the demo district in a
# scratch database, SOAK_DURATION of mixed lookups, tiles, edits and imports
# with tokens; fails on any error or a growing RSS.
SOAK_DURATION ?= 3m
soak: build db
	SOAK_DURATION=$(SOAK_DURATION) $(GO) run ./cmd/griddsoak -gridd $(BIN)

db-stop:
	@scripts/db.sh stop

clean:
	rm -rf bin
