package postgis_test

import (
	"context"
	"testing"
	"time"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

func TestChangeFeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := postgis.NewStore(pgtest.New(t))
	got := make(chan grids.Change, 16)
	go st.Listen(ctx, 200*time.Millisecond, func(c grids.Change) { got <- c }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)                                         // let the listener connect

	// A rolled-back write announces nothing.
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, `INSERT INTO districts (code, name, geom) VALUES ('110102', '西城区',
		ST_Multi(ST_MakeEnvelope(116.30, 39.88, 116.39, 39.97, 4326)))`)
	tx.Rollback(ctx)

	// A committed write from plain SQL is announced with its extent.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区',
		ST_Multi(ST_MakeEnvelope(116.37, 39.86, 116.45, 39.97, 4326)))`); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-got:
		if c.Table != "districts" || c.Op != "INSERT" || c.All || c.BBox.Min[0] != 116.37 || c.BBox.Max[1] != 39.97 {
			t.Errorf("change %+v, want the insert into districts with its bbox", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5 s of the commit")
	}
	// An update covers both the old and the new extent.
	st.Pool().Exec(ctx, `UPDATE districts SET geom = ST_Multi(ST_MakeEnvelope(116.38, 39.85, 116.46, 39.96, 4326))`)
	c := <-got
	if c.Op != "UPDATE" || c.BBox.Min[0] != 116.37 || c.BBox.Max[0] != 116.46 || c.BBox.Min[1] != 39.85 {
		t.Errorf("update change %+v, want the union of old and new extents", c)
	}
	v, err := st.MapVersion(ctx)
	if err != nil || v != c.Version {
		t.Errorf("MapVersion %d (%v), want %d", v, err, c.Version)
	}
	st.Pool().Exec(ctx, `TRUNCATE districts`)
	if c := <-got; !c.All {
		t.Errorf("truncate change %+v, want All", c)
	}
	select {
	case c := <-got:
		t.Errorf("unexpected change %+v (the rolled-back insert?)", c)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestGridAtSingleOwner(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	// Two grids sharing the edge lon = 116.41.
	_, err := pool.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2) VALUES
		('110101001001002', '110101001001', '110101001', '110101', ST_MakeEnvelope(116.40, 39.90, 116.41, 39.91, 4326), 1),
		('110101001001001', '110101001001', '110101001', '110101', ST_MakeEnvelope(116.41, 39.90, 116.42, 39.91, 4326), 1)`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		lon  float64
		lat  float64
		want *string
	}{
		{"inside the west grid", 116.405, 39.905, ptr("110101001001002")},
		{"on the shared edge: the smaller code", 116.41, 39.905, ptr("110101001001001")},
		{"on the shared corner", 116.41, 39.90, ptr("110101001001001")},
		{"on the west grid's outer edge", 116.40, 39.905, ptr("110101001001002")},
		{"outside", 116.43, 39.905, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *string
			if err := pool.QueryRow(ctx, `SELECT gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326))`, tt.lon, tt.lat).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("owner %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}
