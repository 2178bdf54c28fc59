package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/workclock"
)

// The demo's year of cases: reports over the demo district's grids, each
// taken round the loop through the store as staff would take it (the
// store's case clock set to each step's time), with the lateness, rework,
// rejections and suspensions a real year has, so that the evaluation, the
// dashboard and the time limits have a record to show. Deterministic: the
// same seed gives the same year.
const (
	demoCaseSeed   = 20251201
	demoCasesYear  = 2500 // reports in the year: about 10 a working day
	demoCaseWorker = 2
)

// demoCaseClasses are the classes reported, with their weights: the
// commonest matters and components of a city centre.
var demoCaseClasses = []struct {
	kind, code string
	weight     int
}{
	{grids.KindMatter, "06010", 30},   // 暴露垃圾
	{grids.KindMatter, "06012", 14},   // 道路不洁
	{grids.KindMatter, "06011", 6},    // 积存垃圾渣土
	{grids.KindMatter, "07001", 16},   // 非法小广告
	{grids.KindMatter, "09001", 12},   // 无照经营游商
	{grids.KindMatter, "08001", 4},    // 施工扰民
	{grids.KindComponent, "01001", 7}, // 供水井盖
	{grids.KindComponent, "01002", 7}, // 污水井盖
}

// demoCases loads the year of cases if the database holds none, after the
// demo's table of time limits (time_limits.csv in dir).
func demoCases(ctx context.Context, e *env, db, dir string) error {
	st, err := openStore(ctx, e, db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: %d cases already loaded\n", n)
		return nil
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil || len(shapes) == 0 {
		return err
	}
	path := filepath.Join(dir, "time_limits.csv")
	if _, err := os.Stat(path); err == nil {
		limits, err := readTimeLimits(path)
		if err == nil {
			err = st.ReplaceTimeLimits(ctx, limits)
		}
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(e.stdout, "demo: loaded %s: %d time limits\n", path, len(limits))
	}
	loc := grids.NewLocator(st, e.log)
	if err := loc.Load(ctx); err != nil {
		return err
	}
	cal, err := st.WorkCalendar(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, cal.Location())
	begin := end.AddDate(-1, 0, 0)
	// Each worker has a store of its own: the case clock is per store.
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	counts := map[grids.CaseState]int{}
	for w := 0; w < demoCaseWorker; w++ {
		wst := postgis.NewStore(st.Pool())
		rt := &grids.Router{Locator: loc, Store: wst, Components: wst, Catalog: grids.DefaultCatalog}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				state, err := demoCase(ctx, wst, rt, cal, shapes, begin, end, i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("demo case %d: %w", i, err)
				}
				counts[state]++
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < demoCasesYear && ctx.Err() == nil; i++ {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(e.stdout, "demo: %d cases over %s to %s in %.1f s: %v\n", demoCasesYear,
		begin.Format("2006-01-02"), end.Format("2006-01-02"), time.Since(start).Seconds(), counts)
	return nil
}

// demoCase reports case i and takes it as far round the loop as its time
// allows before end.
func demoCase(ctx context.Context, st *postgis.Store, rt *grids.Router, cal *workclock.Calendar,
	shapes []grids.GridShape, begin, end time.Time, i int) (grids.CaseState, error) {
	rng := rand.New(rand.NewPCG(demoCaseSeed, uint64(i)))
	// When: a working day mostly (supervisors patrol in working hours),
	// some at weekends and in the evening.
	t := begin.Add(time.Duration(rng.Float64() * float64(end.Sub(begin))))
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	if rng.Float64() < 0.85 {
		for !cal.IsWorkingDay(day) {
			day = day.AddDate(0, 0, 1)
		}
		t = day.Add(8*time.Hour + time.Duration(rng.Float64()*10*float64(time.Hour)))
	}
	if !t.Before(end) {
		t = end.Add(-time.Hour)
	}
	// Where: a random point in a random grid.
	g := shapes[rng.IntN(len(shapes))]
	p, ok := pointIn(rng, g.Geom)
	if !ok {
		return "", nil
	}
	// What.
	total := 0
	for _, c := range demoCaseClasses {
		total += c.weight
	}
	pick := rng.IntN(total)
	cls := demoCaseClasses[0]
	for _, c := range demoCaseClasses {
		if pick < c.weight {
			cls = c
			break
		}
		pick -= c.weight
	}
	urgency := grids.UrgencyNormal
	if rng.Float64() < 0.05 {
		urgency = grids.UrgencyUrgent
	}
	reporter := fmt.Sprintf("demo:supervisor-%02d", rng.IntN(24)+1)
	req := grids.RouteRequest{InputCRS: geo.WGS84, Input: p, Class: grids.Class{Scheme: "gb2026", Kind: cls.kind, Code: cls.code},
		AccuracyM: 5, Actor: reporter}
	st.SetCaseClock(func() time.Time { return t })
	routed, err := rt.Route(ctx, req)
	if err != nil {
		return "", err
	}
	c, err := st.OpenCase(ctx, grids.NewCase{Routed: routed, Request: req, Role: grids.RoleSupervisor, Urgency: urgency})
	if err != nil {
		return "", err
	}
	dispatcher := grids.CaseActor{Name: fmt.Sprintf("demo:dispatcher-%d", rng.IntN(4)+1), Role: grids.RoleDispatcher}
	supervisor := grids.CaseActor{Name: reporter, Role: grids.RoleSupervisor}
	// after advances t by a share of the stage's time limit (most steps
	// well within it, some late), on the work clock for work units.
	after := func(lateShare float64) bool {
		l, err := workclock.ParseLimit(c.TimeLimit)
		if err != nil || c.Deadline == nil {
			l = workclock.Limit{Amount: 1, Unit: workclock.WorkHours}
		}
		share := 0.1 + 0.8*rng.Float64()
		if rng.Float64() < lateShare {
			share = 1.05 + 1.5*rng.ExpFloat64()
		}
		d := time.Duration(share * float64(l.Duration()))
		if l.Unit.Continuous() {
			t = t.Add(d)
		} else {
			t = cal.Add(t, d)
		}
		return t.Before(end)
	}
	stepAt := func(who grids.CaseActor, r grids.CaseStepRequest) error {
		st.SetCaseClock(func() time.Time { return t })
		c, err = st.StepCase(ctx, c.ID, r, who)
		return err
	}
	if !after(0.03) {
		return c.State, nil
	}
	if rng.Float64() < 0.07 {
		return grids.CaseRejected, stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepReject, RejectKind: grids.RejectOutOfScope, Reason: "不属于城市管理范围"})
	}
	if err := stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepFile}); err != nil {
		return "", err
	}
	if !after(0.04) {
		return c.State, nil
	}
	if err := stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepDispatch}); err != nil {
		return "", err
	}
	department := grids.CaseActor{Name: "demo:department-" + c.Department.Code, Role: grids.RoleDepartment, Department: c.Department.Code}
	if rng.Float64() < 0.03 {
		if err := stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepSuspend, Reason: "等待产权单位确认"}); err != nil {
			return "", err
		}
		t = cal.Add(t, time.Duration(1+rng.IntN(16))*time.Hour)
		if !t.Before(end) {
			return c.State, nil
		}
		if err := stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepResume}); err != nil {
			return "", err
		}
	}
	for round := 0; ; round++ {
		if !after(0.18) {
			return c.State, nil
		}
		if err := stepAt(department, grids.CaseStepRequest{Step: grids.StepHandle, Note: "已处置"}); err != nil {
			return "", err
		}
		if !after(0.05) {
			return c.State, nil
		}
		if round == 0 && rng.Float64() < 0.08 {
			if err := stepAt(supervisor, grids.CaseStepRequest{Step: grids.StepRework, Reason: "现场核查未处置到位"}); err != nil {
				return "", err
			}
			continue
		}
		if err := stepAt(supervisor, grids.CaseStepRequest{Step: grids.StepVerify}); err != nil {
			return "", err
		}
		break
	}
	if !after(0.02) {
		return c.State, nil
	}
	if err := stepAt(dispatcher, grids.CaseStepRequest{Step: grids.StepClose}); err != nil {
		return "", err
	}
	// 回访: the centre asks most reporters within two days; a case sent
	// back for rework pleases them less often.
	if rng.Float64() < 0.6 {
		t = t.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
		if t.Before(end) {
			rating, r := grids.RatingSatisfied, rng.Float64()
			switch unhappy := 0.06 + 0.3*float64(min(c.Reworks, 1)); {
			case r < unhappy:
				rating = grids.RatingDissatisfied
			case r < unhappy+0.2:
				rating = grids.RatingBasically
			}
			st.SetCaseClock(func() time.Time { return t })
			if _, err := st.RateCase(ctx, c.ID, grids.SatisfactionRequest{Rating: rating}, supervisor); err != nil {
				return "", err
			}
		}
	}
	return grids.CaseClosed, nil
}

// pointIn is a random point inside the polygon (rejection sampling in its
// bounds).
func pointIn(rng *rand.Rand, poly orb.Polygon) (orb.Point, bool) {
	b := poly.Bound()
	for range 100 {
		p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		if planar.PolygonContains(poly, p) {
			return p, true
		}
	}
	return orb.Point{}, false
}
