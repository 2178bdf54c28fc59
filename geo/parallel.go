package geo

import "sync"

// inParallel splits [0, n) into up to workers contiguous ranges of at least
// 1,024 items and calls fn on each from its own goroutine, returning when
// all are done. Small inputs run on the caller's goroutine alone.
func inParallel(n, workers int, fn func(lo, hi int)) {
	workers = max(1, min(workers, n/1024))
	if workers == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
}
