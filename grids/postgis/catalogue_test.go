package postgis_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gridd/grids/catalog"
	"gridd/grids/postgis/pgtest"
)

var update = flag.Bool("update", false, "rewrite the catalogue block of migration 0006 from grids/catalog")

const catalogueMigration = "migrations/0006_components.sql"

// catalogueSQL renders the embedded catalogue as the INSERTs of migration 0006.
func catalogueSQL() string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var b strings.Builder
	b.WriteString("INSERT INTO classes (kind, code, major_code, major_name, name, standard) VALUES\n")
	cs := catalog.Classes()
	for i, c := range cs {
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %s, %s)", q(string(c.Kind)), q(c.Code), q(c.MajorCode), q(c.MajorName), q(c.Name), q(c.Standard))
		b.WriteString(map[bool]string{true: ";\n", false: ",\n"}[i == len(cs)-1])
	}
	b.WriteString("INSERT INTO legacy_classes (kind, code, major_code, major_name, name, new_code, how, note) VALUES\n")
	ls := catalog.LegacyClasses()
	for i, l := range ls {
		nc := "NULL"
		if l.NewCode != "" {
			nc = q(l.NewCode)
		}
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %s, %s, %s, %s)", q(string(l.Kind)), q(l.Code), q(l.MajorCode), q(l.MajorName), q(l.Name), nc, q(string(l.How)), q(l.Note))
		b.WriteString(map[bool]string{true: ";\n", false: ",\n"}[i == len(ls)-1])
	}
	return b.String()
}

var catalogueBlock = regexp.MustCompile(`(?s)-- BEGIN CATALOGUE\n.*-- END CATALOGUE\n`)

// TestCatalogueMigration checks that migration 0006 carries exactly the
// embedded catalogue, and that the database holds it.
func TestCatalogueMigration(t *testing.T) {
	raw, err := os.ReadFile(catalogueMigration)
	if err != nil {
		t.Fatal(err)
	}
	want := "-- BEGIN CATALOGUE\n" + catalogueSQL() + "-- END CATALOGUE\n"
	if *update {
		out := catalogueBlock.ReplaceAllLiteralString(string(raw), want)
		if err := os.WriteFile(catalogueMigration, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := catalogueBlock.FindString(string(raw)); got != want {
		t.Fatalf("%s: the catalogue block differs from grids/catalog; run go test ./grids/postgis -run TestCatalogue -update", catalogueMigration)
	}
	pool := pgtest.New(t)
	ctx := context.Background()
	var n, nLegacy, nMapped int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM classes WHERE standard = $1),
		(SELECT count(*) FROM legacy_classes), (SELECT count(*) FROM legacy_classes WHERE new_code IS NOT NULL)`,
		catalog.Standard).Scan(&n, &nLegacy, &nMapped); err != nil {
		t.Fatal(err)
	}
	mapped := 0
	for _, l := range catalog.LegacyClasses() {
		if l.NewCode != "" {
			mapped++
		}
	}
	if n != len(catalog.Classes()) || nLegacy != len(catalog.LegacyClasses()) || nMapped != mapped {
		t.Errorf("database holds %d classes, %d legacy (%d mapped); the catalogue has %d, %d (%d)",
			n, nLegacy, nMapped, len(catalog.Classes()), len(catalog.LegacyClasses()), mapped)
	}
}
