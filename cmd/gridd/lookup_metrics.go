package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridd/geo"
	"gridd/grids"
)

// watchIndex exports the grid index's state as metrics: its size, its patch
// layer, the map version it answers from, and how long swaps take.
func watchIndex(reg *prometheus.Registry, loc *grids.Locator) {
	g := func(name, help string) prometheus.Gauge {
		m := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(m)
		return m
	}
	size := g("gridd_index_grids", "Unit grids in the lookup index (base and patch layer).")
	delta := g("gridd_index_patch_grids", "Unit grids in the index's patch layer.")
	version := g("gridd_index_map_version", "Change-feed map version the lookup index answers from.")
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gridd_index_swap_seconds", Help: "Time to bring a change into the lookup index, by kind (patch or full).",
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30},
	}, []string{"kind"})
	reg.MustRegister(took)
	loc.Rebuilt = func(v *geo.View, full bool, d time.Duration) {
		size.Set(float64(v.Len()))
		delta.Set(float64(v.DeltaLen()))
		version.Set(float64(v.MapVersion()))
		kind := "patch"
		if full {
			kind = "full"
		}
		took.WithLabelValues(kind).Observe(d.Seconds())
	}
}
