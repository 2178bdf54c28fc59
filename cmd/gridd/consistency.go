package main

import (
	"context"
	"time"

	"gridd/grids"
	"gridd/grids/postgis"
)

// consistency is the read-your-writes rule of the API (api.Consistency):
// the store knows the WAL position the change log has been read up to, the
// lookup index how many of the changes handed to it it reflects. Tiles are
// invalidated as the changes are handed out, before the position moves.
type consistency struct {
	st  *postgis.Store
	loc *grids.Locator
}

func (c consistency) WritePosition(ctx context.Context) (uint64, error) {
	return c.st.WritePosition(ctx)
}

func (c consistency) Applied() uint64 { return c.st.Position() }

// WaitApplied polls every 2 ms, asking for a read of the change log every
// 20 ms, until the log has been read up to pos and the index has applied
// what that read handed it.
func (c consistency) WaitApplied(ctx context.Context, pos uint64) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for i := 0; c.st.Position() < pos; i++ {
		if i%10 == 0 {
			c.st.ReadLogNow()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	n := c.loc.Enqueued()
	for c.loc.Applied() < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
