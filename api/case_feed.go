package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"gridd/grids"
)

// GET /v1/cases/feed: the case changes as they happen, as Server-Sent
// Events (text/event-stream), for the dashboard to update without reload.
// Each report, step and overdue flag (migration 0020 announces them on the
// change feed) is one event "case" whose data is {"op": the step in capitals
// or OVERDUE, "bbox": the case's point as [x, y, x, y]}. An event "reset"
// says changes may have been missed (the server's feed connection was
// re-established, or this client read too slowly): reload what is shown.
// A comment every feedHeartbeat keeps proxies from closing an idle stream.
// Browsers' EventSource cannot send the Authorization header, so the
// dashboard reads the stream with fetch; any SSE client that can send the
// token works.

// CaseFeed subscribes fn to the server's change feed until ctx ends; fn
// must not block.
type CaseFeed func(ctx context.Context, fn func(grids.Change)) error

const (
	// maxCaseFeeds bounds the streams open at once; one more is a 503.
	maxCaseFeeds  = 256
	feedBuffer    = 64 // changes queued for a slow client before a reset
	feedHeartbeat = 25 * time.Second
)

type feedEvent struct {
	Op   string     `json:"op"`
	BBox [4]float64 `json:"bbox"`
}

func (s *Server) caseFeed(w http.ResponseWriter, r *http.Request) error {
	if !s.feeds.acquire(r.Context()) {
		return busy("case feeds")
	}
	defer s.feeds.release()
	rc := http.NewResponseController(w)
	// The stream outlives the server's write timeout; each write gets its own.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("case feed: %w", err)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	changes := make(chan grids.Change, feedBuffer)
	missed := make(chan struct{}, 1)
	go s.cfg.CaseFeed(ctx, func(c grids.Change) { //nolint:errcheck // ends with ctx
		if c.Table != "cases" && c.Table != "*" && c.Table != grids.NotificationsLost {
			return
		}
		select {
		case changes <- c:
		default:
			select {
			case missed <- struct{}{}:
			default:
			}
		}
	})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) error {
		if err := rc.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send("retry: 3000\n: connected\n\n"); err != nil {
		return nil // the client left; the status is sent
	}
	beat := time.NewTicker(feedHeartbeat)
	defer beat.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			err = send(": keep-alive\n\n")
		case <-missed:
			err = send("event: reset\ndata: {}\n\n")
		case c := <-changes:
			if c.Table == "*" || c.Table == grids.NotificationsLost {
				err = send("event: reset\ndata: {}\n\n")
				break
			}
			b, _ := json.Marshal(feedEvent{Op: c.Op, BBox: [4]float64{c.BBox.Min[0], c.BBox.Min[1], c.BBox.Max[0], c.BBox.Max[1]}})
			err = send("event: case\ndata: %s\n\n", b)
		}
		if err != nil {
			return nil // the client left
		}
	}
}
