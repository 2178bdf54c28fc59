package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/geo"
	"gridd/grids"
)

// Builder is what the build endpoints need.
type Builder interface {
	Build(ctx context.Context, req grids.BuildRequest, progress func(grids.BuildProgress)) (grids.BuildReport, error)
}

// buildJob is one build started through the API. Jobs live in the memory of
// the instance that started them, for buildJobRetention after they finish.
type buildJob struct {
	mu       sync.Mutex
	id       string
	req      grids.BuildRequest
	status   string // queued, running, done, failed
	progress grids.BuildProgress
	report   *grids.BuildReport
	err      error
	started  time.Time
	finished time.Time
}

// buildJobs holds the jobs of one Server and runs at most one build at a
// time (a build already uses several database connections).
type buildJobs struct {
	mu   sync.Mutex
	jobs map[string]*buildJob
	run  sync.Mutex
}

// buildJobRetention is how long a finished job stays readable; the
// history keeps what a build wrote for good.
const buildJobRetention = 24 * time.Hour

// add registers a new job and forgets the jobs that finished more than
// buildJobRetention before now.
func (b *buildJobs) add(job *buildJob, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jobs == nil {
		b.jobs = map[string]*buildJob{}
	}
	for id, j := range b.jobs {
		j.mu.Lock()
		old := !j.finished.IsZero() && now.Sub(j.finished) > buildJobRetention
		j.mu.Unlock()
		if old {
			delete(b.jobs, id)
		}
	}
	b.jobs[job.id] = job
}

type buildRequestJSON struct {
	Area     string  `json:"area"`
	TargetM2 float64 `json:"target_m2"`
	Layer    string  `json:"layer"`
	DryRun   bool    `json:"dry_run"`
	Reason   string  `json:"reason"`
}

// POST /v1/builds {"area":"110101","target_m2":10000,"dry_run":false}:
// starts a build job and answers 202 with its id and where to poll it.
// Needs an editor token.
func (s *Server) startBuild(w http.ResponseWriter, r *http.Request) error {
	var body buildRequestJSON
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	area, err := geo.ParseCode(body.Area)
	if err != nil && len(body.Area) > maxQuoted {
		return grids.Invalid("area", "%s is not a division code", quote(body.Area))
	}
	if err != nil {
		return grids.Invalid("area", "%v", err)
	}
	req := grids.BuildRequest{Area: area, TargetM2: body.TargetM2, Layer: body.Layer, DryRun: body.DryRun,
		Actor: actor(r), Reason: body.Reason}
	if err := req.Validate(); err != nil {
		return err
	}
	if req.Layer != "" {
		if _, err := grids.ParseLayer(req.Layer); err != nil {
			return err
		}
	}
	job := &buildJob{id: newJobID(), req: req, status: "queued", started: time.Now()}
	s.builds.add(job, job.started)
	go s.runBuild(job)
	w.Header().Set("Location", "/v1/builds/"+job.id)
	return writeJSON(w, http.StatusAccepted, job.view())
}

// runBuild runs a job to its end, detached from the request that started it.
func (s *Server) runBuild(job *buildJob) {
	s.builds.run.Lock()
	defer s.builds.run.Unlock()
	job.mu.Lock()
	job.status = "running"
	job.mu.Unlock()
	rep, err := s.cfg.Builder.Build(context.Background(), job.req, func(p grids.BuildProgress) {
		job.mu.Lock()
		job.progress = p
		job.mu.Unlock()
	})
	job.mu.Lock()
	defer job.mu.Unlock()
	job.finished = time.Now()
	if err != nil {
		job.status, job.err = "failed", err
		s.log.Error("build_failed", "job", job.id, "area", job.req.Area.String(), "error", err.Error())
		return
	}
	job.status, job.report = "done", &rep
}

// GET /v1/builds/{id}: the job's status, progress and, once done, its report
// with the quality figures.
func (s *Server) getBuild(w http.ResponseWriter, r *http.Request) error {
	s.builds.mu.Lock()
	job := s.builds.jobs[chi.URLParam(r, "id")]
	s.builds.mu.Unlock()
	if job == nil {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no build job " + chi.URLParam(r, "id") +
			" on this instance (jobs are kept in the memory of the instance that started them, for 24 h after they finish)"}
	}
	return writeJSON(w, http.StatusOK, job.view())
}

type buildJobJSON struct {
	ID       string              `json:"id"`
	Area     string              `json:"area"`
	TargetM2 float64             `json:"target_m2"`
	DryRun   bool                `json:"dry_run"`
	Status   string              `json:"status"`
	Progress grids.BuildProgress `json:"progress"`
	Report   *grids.BuildReport  `json:"report,omitempty"`
	Error    *buildErrorJSON     `json:"error,omitempty"`
	Started  string              `json:"started"`
	Finished string              `json:"finished,omitempty"`
}

type buildErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (j *buildJob) view() buildJobJSON {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := buildJobJSON{ID: j.id, Area: j.req.Area.String(), TargetM2: j.req.Target(), DryRun: j.req.DryRun,
		Status: j.status, Progress: j.progress, Report: j.report, Started: j.started.UTC().Format(time.RFC3339)}
	if j.err != nil {
		status, code, msg := statusOf(j.err)
		if status >= 500 {
			msg = "the build failed; the previous grids stay in force (see the server log)"
		}
		v.Error = &buildErrorJSON{Code: code, Message: msg}
	}
	if !j.finished.IsZero() {
		v.Finished = j.finished.UTC().Format(time.RFC3339)
	}
	return v
}

func newJobID() string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck
	return hex.EncodeToString(b)
}
