package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridd/grids/postgis"
)

// watchFollow exposes where the instance stands in the change log and, when
// it reads a replica, the replica's lag.
func watchFollow(reg *prometheus.Registry, st *postgis.Store) {
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge("gridd_change_log_version", "Newest map version read from the change log.",
		func() float64 { return float64(st.FollowStatus().Version) })
	gauge("gridd_change_log_read_age_seconds", "Time since the change log was last read successfully.",
		func() float64 {
			f := st.FollowStatus()
			if f.Read.IsZero() {
				return -1
			}
			return time.Since(f.Read).Seconds()
		})
	counter("gridd_change_log_rows_total", "Changes read from the change log.",
		func() float64 { return float64(st.FollowStatus().Rows) })
	counter("gridd_change_log_resets_total", "Times the change log had been pruned past the instance's cursor, and everything was reloaded.",
		func() float64 { return float64(st.FollowStatus().Resets) })
	if !st.Replica() {
		return
	}
	gauge("gridd_replica_in_use", "Which of the --read-db replicas the map is read from (0: the first).",
		func() float64 { return float64(st.ReplicaInUse()) })
	gauge("gridd_replica_up", "1 when the read replica in use answers.", func() float64 {
		if st.ReplicaStatus().Err != nil {
			return 0
		}
		return 1
	})
	gauge("gridd_replica_lag_seconds", "How long the oldest change the primary wrote and the read replica has not replayed has waited.",
		func() float64 { return st.ReplicaStatus().Lag.Seconds() })
	gauge("gridd_replica_lag_bytes", "WAL the read replica has still to replay.",
		func() float64 { return float64(st.ReplicaStatus().Bytes) })
}
