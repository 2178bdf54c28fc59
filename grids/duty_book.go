package grids

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"gridd/geo"
)

// DutyBook is who is on duty on which management grid, held in memory so
// that lookups and routing name the grid workers of a point without a
// database query. It holds the current management grids (for their kind)
// and every duty that had not ended when it was read, with its worker;
// Roster picks those in force at the time asked.
type DutyBook struct {
	grids  map[string]MgmtGridRef
	duties map[string][]BookDuty
}

// BookDuty is one duty of a DutyBook: the worker's fields, the duty's
// period, and when the worker left (nil: still a worker).
type BookDuty struct {
	OnDuty
	WorkerUntil *time.Time
}

// NewDutyBook makes a book of the current management grids and of duties
// (each naming its grid in MgmtGrid.Code).
func NewDutyBook(current []MgmtGridRef, duties []BookDuty) *DutyBook {
	b := &DutyBook{grids: make(map[string]MgmtGridRef, len(current)), duties: map[string][]BookDuty{}}
	for _, g := range current {
		b.grids[g.Code] = g
	}
	for _, d := range duties {
		b.duties[d.MgmtGrid.Code] = append(b.duties[d.MgmtGrid.Code], d)
	}
	for _, ds := range b.duties {
		// Grid workers before supervisors, then by name: the order of the
		// database's Roster.
		slices.SortFunc(ds, func(x, y BookDuty) int {
			if (x.Role == WorkerRoleGridWorker) != (y.Role == WorkerRoleGridWorker) {
				if x.Role == WorkerRoleGridWorker {
					return -1
				}
				return 1
			}
			if x.Name != y.Name {
				if x.Name < y.Name {
					return -1
				}
				return 1
			}
			return int(x.DutyID - y.DutyID)
		})
	}
	return b
}

// Roster is who is on duty at at on the management grids a point lies in
// (a Location's Mgmt), social grids first: the workers, and the grids with
// nobody.
func (b *DutyBook) Roster(covering []geo.Named, at time.Time) Roster {
	var r Roster
	for _, n := range covering {
		m, ok := b.grids[n.Code]
		if !ok { // the index knows a grid the book does not yet
			m = MgmtGridRef{Code: n.Code, Name: n.Name}
		}
		r.Covering = append(r.Covering, m)
	}
	slices.SortStableFunc(r.Covering, func(x, y MgmtGridRef) int {
		if (x.Kind == "social") != (y.Kind == "social") {
			if x.Kind == "social" {
				return -1
			}
			return 1
		}
		if x.Code < y.Code {
			return -1
		}
		if x.Code > y.Code {
			return 1
		}
		return 0
	})
	for _, m := range r.Covering {
		n := len(r.Workers)
		for _, d := range b.duties[m.Code] {
			if d.Since.After(at) || d.Until != nil && !d.Until.After(at) || d.WorkerUntil != nil && !d.WorkerUntil.After(at) {
				continue
			}
			w := d.OnDuty
			w.MgmtGrid = m
			r.Workers = append(r.Workers, w)
		}
		if len(r.Workers) == n {
			r.Uncovered = append(r.Uncovered, m)
		}
	}
	return r
}

// DutySource is the storage Duties reads: the book, and the change feed.
type DutySource interface {
	// DutyBook reads the current management grids and the duties not
	// ended at now.
	DutyBook(ctx context.Context, now time.Time) (*DutyBook, error)
	Listen(ctx context.Context, poll time.Duration, fn func(Change)) error
}

// dutyTables are the tables whose changes make Duties read its book again.
var dutyTables = map[string]bool{"*": true, NotificationsLost: true,
	"grid_workers": true, "grid_worker_duties": true, "mgmt_grids": true}

// Duties keeps a DutyBook fresh from the change feed: a change to workers,
// duties or management grids reads the book again (it is small: a row per
// duty not ended and per management grid). It is the WorkerDirectory of
// gridd serve.
type Duties struct {
	// Refresh is how often the book is read again with no change said: the
	// safety net for a change committed while the feed was starting.
	// NewDuties sets it to DutyRefresh.
	Refresh time.Duration
	src     DutySource
	log     *slog.Logger
	book    atomic.Pointer[DutyBook]
	loads   atomic.Uint64
	dirty   chan struct{}
}

// DutyRefresh is Duties' default Refresh.
const DutyRefresh = time.Minute

// NewDuties makes a Duties reading src; Run loads and follows it.
func NewDuties(src DutySource, log *slog.Logger) *Duties {
	return &Duties{Refresh: DutyRefresh, src: src, log: log, dirty: make(chan struct{}, 1)}
}

// Book is the current book, nil until the first read.
func (d *Duties) Book() *DutyBook { return d.book.Load() }

// Loads counts the reads of the book so far.
func (d *Duties) Loads() uint64 { return d.loads.Load() }

// Run reads the book, then again after each change to what it holds and
// every Refresh, until ctx ends. A failed read is retried every second.
func (d *Duties) Run(ctx context.Context) error {
	go d.src.Listen(ctx, 0, func(c Change) { //nolint:errcheck // ends with ctx
		if dutyTables[c.Table] {
			d.markDirty()
		}
	})
	d.markDirty()
	next := time.NewTimer(d.Refresh)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.dirty:
		case <-next.C:
		}
		b, err := d.src.DutyBook(ctx, time.Now())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.log.Warn("duty_book_read_failed", "err", err)
			next.Reset(time.Second)
			continue
		}
		d.book.Store(b)
		d.loads.Add(1)
		next.Reset(d.Refresh)
	}
}

func (d *Duties) markDirty() {
	select {
	case d.dirty <- struct{}{}:
	default:
	}
}

// RosterOf implements WorkerDirectory from the book in memory.
func (d *Duties) RosterOf(_ context.Context, loc Location, at time.Time) (Roster, error) {
	b := d.book.Load()
	if b == nil {
		return Roster{}, ErrNotReady
	}
	return b.Roster(loc.Mgmt, at), nil
}
