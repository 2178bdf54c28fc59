package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// serverKind collects what goes wrong on the server's side outside a
// request: an error line in its log, an exit, an unreadable RSS.
const serverKind = "server"

// maxSamples bounds the latencies kept per kind for the summary; beyond it
// the summary's percentiles are those of the first maxSamples requests.
const maxSamples = 2_000_000

// stats collects what the workers report: per kind of request the count,
// the latencies of the current interval and of the whole run, and every
// distinct error once.
type stats struct {
	mu     sync.Mutex
	kinds  map[string]*kindStats
	order  []string
	errors map[string]int // distinct error → how many times
	busy   map[string]int // distinct 503 answered with Retry-After → how many times
	errOut io.Writer
}

type kindStats struct {
	total, errors int
	retries       int // 503s with Retry-After, repeated
	interval      []time.Duration
	all           []time.Duration
	hits, misses  int // tiles: the server's X-Tile-Cache answer
}

func newStats(kinds []string, errOut io.Writer) *stats {
	s := &stats{kinds: map[string]*kindStats{}, order: kinds, errors: map[string]int{}, busy: map[string]int{}, errOut: errOut}
	for _, k := range kinds {
		s.kinds[k] = &kindStats{}
	}
	return s
}

// ok records a successful request.
func (s *stats) ok(kind string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[kind]
	k.total++
	k.interval = append(k.interval, d)
	if len(k.all) < maxSamples {
		k.all = append(k.all, d)
	}
}

// tile records whether a tile came from the server's cache.
func (s *stats) tile(kind string, hit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hit {
		s.kinds[kind].hits++
	} else {
		s.kinds[kind].misses++
	}
}

// fail records a failed request; the first of each distinct error is
// printed at once.
func (s *stats) fail(kind, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[kind]
	k.total++
	k.errors++
	key := kind + ": " + what
	if s.errors[key] == 0 {
		fmt.Fprintf(s.errOut, "griddsoak: error: %s\n", key)
	}
	s.errors[key]++
}

// retry records a 503 with Retry-After that the request repeats; the first
// of each distinct answer is printed at once.
func (s *stats) retry(kind, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kinds[kind].retries++
	key := kind + ": " + what
	if s.busy[key] == 0 {
		fmt.Fprintf(s.errOut, "griddsoak: busy, retrying: %s\n", key)
	}
	s.busy[key]++
}

func (s *stats) errorCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.errors {
		n += c
	}
	return n
}

// line is one interval's report, and starts the next interval.
func (s *stats) line(elapsed time.Duration, rssKB int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	errs := 0
	for _, c := range s.errors {
		errs += c
	}
	retries := 0
	for _, c := range s.busy {
		retries += c
	}
	fmt.Fprintf(&b, "[%4.0fs] rss %s errors %d retries %d", elapsed.Seconds(), mib(rssKB), errs, retries)
	for _, name := range s.order {
		k := s.kinds[name]
		if name == serverKind {
			continue
		}
		if len(k.interval) == 0 {
			fmt.Fprintf(&b, " | %s 0", name)
			continue
		}
		p50, p99 := percentile(k.interval, 0.50), percentile(k.interval, 0.99)
		fmt.Fprintf(&b, " | %s %d %s/%s", name, len(k.interval), ms(p50), ms(p99))
		k.interval = k.interval[:0]
	}
	return b.String()
}

// summary writes the table of the whole run.
func (s *stats) summary(w io.Writer, run time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\tper s\terrors\tretried 503\tp50\tp90\tp99\tmax\tcache misses\t")
	for _, name := range s.order {
		k := s.kinds[name]
		miss := ""
		if k.hits+k.misses > 0 {
			miss = fmt.Sprintf("%.0f%%", 100*float64(k.misses)/float64(k.hits+k.misses))
		}
		if name == serverKind { // what the server logged or did: no requests
			fmt.Fprintf(tw, "%s\t-\t-\t%d\t\t\t\t\t\t\t\n", name, k.errors)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, k.total, float64(k.total)/run.Seconds(), k.errors, k.retries,
			ms(percentile(k.all, 0.5)), ms(percentile(k.all, 0.9)), ms(percentile(k.all, 0.99)), ms(percentile(k.all, 1)), miss)
	}
	tw.Flush()
	for _, set := range []struct {
		title string
		m     map[string]int
	}{{"distinct errors:", s.errors}, {"distinct 503s with Retry-After, repeated (not errors):", s.busy}} {
		if len(set.m) == 0 {
			continue
		}
		keys := make([]string, 0, len(set.m))
		for k := range set.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, set.title)
		for _, k := range keys {
			fmt.Fprintf(w, "  %6d × %s\n", set.m[k], k)
		}
	}
}

// percentile of a set of latencies (q in [0, 1]); it sorts the slice.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(q*float64(len(ds)-1) + 0.5)
	return ds[i]
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(kb int64) string { return fmt.Sprintf("%.1fMiB", float64(kb)/1024) }

// rssKB reads a process's resident set size (VmRSS) from /proc, in kB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// rssVerdict compares the mean RSS of the last third of the samples with
// that of the middle third (the first third is warm-up: caches and the heap
// filling): flat when the last is at most growth above the middle.
type rssVerdict struct {
	first, middle, last float64 // mean kB of each third
	max                 int64
	growth              float64 // last / middle - 1
	flat                bool
}

func judgeRSS(samples []int64, allowed float64) rssVerdict {
	var v rssVerdict
	n := len(samples)
	if n < 3 {
		return v
	}
	mean := func(xs []int64) float64 {
		var s float64
		for _, x := range xs {
			s += float64(x)
		}
		return s / float64(len(xs))
	}
	v.first, v.middle, v.last = mean(samples[:n/3]), mean(samples[n/3:2*n/3]), mean(samples[2*n/3:])
	for _, x := range samples {
		v.max = max(v.max, x)
	}
	v.growth = v.last/v.middle - 1
	v.flat = v.growth <= allowed
	return v
}
