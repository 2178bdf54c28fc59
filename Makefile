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

.PHONY: all build run db db-stop test test-deps vet check-imports bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gridd

db:
ifdef PRIVATE_DB
	@scripts/db.sh start
endif

run: build db
	$(BIN) demo
	$(BIN) serve

test: db test-deps vet check-imports
	$(GO) test -race -count=1 -timeout 20m ./...

# Tools the tests drive: GDAL's OGC API Features driver (ogrinfo) and a
# headless Chromium for the editor page. Installed from the distribution
# when missing and apt-get is usable (as root); under CI the tests fail
# without them.
test-deps:
	@missing=""; command -v ogrinfo >/dev/null || missing="$$missing gdal-bin"; \
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "test-deps: installing$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
		else echo "test-deps: missing$$missing (the OGC and browser tests will skip, or fail under CI)"; fi; \
	fi

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

bench: build db
	$(GO) run ./cmd/griddbench

db-stop:
	@scripts/db.sh stop

clean:
	rm -rf bin
