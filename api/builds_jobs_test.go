package api

import (
	"testing"
	"time"
)

// Finished jobs are forgotten after the retention; running ones never.
func TestBuildJobsPruned(t *testing.T) {
	now := time.Now()
	var b buildJobs
	b.add(&buildJob{id: "old", finished: now.Add(-buildJobRetention - time.Minute)}, now.Add(-time.Hour))
	b.add(&buildJob{id: "recent", finished: now.Add(-time.Hour)}, now.Add(-time.Hour))
	b.add(&buildJob{id: "running"}, now.Add(-48*time.Hour))
	b.add(&buildJob{id: "new"}, now)
	for id, want := range map[string]bool{"old": false, "recent": true, "running": true, "new": true} {
		if _, ok := b.jobs[id]; ok != want {
			t.Errorf("job %s kept: %v, want %v", id, ok, want)
		}
	}
}
