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

.PHONY: all build run db db-stop test vet check-imports bench clean web browser-deps

all: build

build: web
	$(GO) build -o $(BIN) ./cmd/gridd

db:
ifdef PRIVATE_DB
	@scripts/db.sh start
endif

run: build db
	$(BIN) demo
	$(BIN) serve

test: db web browser-deps vet check-imports
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

# The pure packages (geo, grids, tiles) must not reach the database driver,
# the router or net/http, directly or through another package.
check-imports:
	@bad=$$($(GO) list -f '{{.ImportPath}}: {{join .Deps " "}}' ./geo/... gridd/grids ./tiles/... 2>/dev/null \
		| tr ' ' '\n' | grep -E '^(github.com/jackc/pgx|github.com/go-chi/chi|net/http)' | sort -u); \
	if [ -n "$$bad" ]; then echo "check-imports: pure packages import: $$bad"; \
		$(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' ./geo/... gridd/grids ./tiles/...; exit 1; fi; \
	echo "check-imports: geo, grids and tiles are free of pgx, chi and net/http"

# The map page's bundle (MapLibre GL JS from npm, bundled by esbuild) goes to
# api/mapweb/dist, which the binary embeds. Node and npm come from apt when
# missing.
WEB_DIST := api/mapweb/dist/map.js
web: $(WEB_DIST)
$(WEB_DIST): web/package.json web/package-lock.json $(wildcard web/src/*)
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	@touch $(WEB_DIST)

# The browser test drives Debian's chromium and needs a CJK font for labels.
browser-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
		else echo "browser-deps: chromium or fonts-noto-cjk missing and not root: the browser test will not run"; fi; fi

bench: build db
	$(GO) run ./cmd/griddbench

db-stop:
	@scripts/db.sh stop

clean:
	rm -rf bin
