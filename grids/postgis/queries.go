package postgis

import (
	"embed"
	"fmt"
)

// Long spatial queries live in queries/*.sql so that psql -f can EXPLAIN
// them. Values are always $n arguments.
//
//go:embed queries/*.sql
var queryFS embed.FS

// query returns the embedded query of that name; a missing one is a
// programming error, caught by the test that prepares every query.
func query(name string) string {
	b, err := queryFS.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("postgis: no embedded query %s", name))
	}
	return string(b)
}
