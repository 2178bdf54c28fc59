package postgis_test

import (
	"context"
	"testing"

	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// TestBuildQueriesPrepare prepares every embedded query of the builder
// against the real schema, so a typo fails here rather than in production.
func TestBuildQueriesPrepare(t *testing.T) {
	errs, err := postgis.PrepareQueries(context.Background(), pgtest.New(t), "build_")
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) < 4 {
		t.Errorf("only %d embedded queries", len(errs))
	}
	for name, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
