package postgis_test

import (
	"context"
	"testing"

	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// TestQueriesPrepare prepares every embedded query against the real schema,
// so a typo fails here rather than in production.
func TestQueriesPrepare(t *testing.T) {
	errs, err := postgis.PrepareQueries(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) < 5 {
		t.Errorf("only %d embedded queries", len(errs))
	}
	for name, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
