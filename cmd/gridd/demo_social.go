package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gridd/grids"
)

// demoSocialTarget is what the demo's social grids aim at: about 300
// households a grid, as in the Loudi model.
var demoSocialTarget = grids.SocialTarget{Households: 300}

// demoDutyStart is when the demo's grid workers went on duty.
var demoDutyStart = time.Date(2026, 1, 1, 0, 0, 0, 0, beijing)

// demoUncoveredEvery leaves every n-th demo social grid without a worker,
// so that the map and routing show what a grid with nobody on duty looks
// like.
const demoUncoveredEvery = 25

// demoSocialGrids builds the demo district's social grids from its
// buildings and puts one grid worker on duty in each (but every
// demoUncoveredEvery-th), unless the district has social grids already.
func demoSocialGrids(ctx context.Context, e *env, db string) error {
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	codes, err := st.SocialGridCodes(ctx, demoDistrict)
	if err != nil {
		return err
	}
	if len(codes) > 0 {
		fmt.Fprintf(e.stdout, "demo: %d social grids already built\n", len(codes))
		return nil
	}
	started := time.Now()
	fmt.Fprint(e.stdout, "demo: social grids: ")
	plans, err := planSocialGrids(ctx, st, demoDistrict, demoSocialTarget, e.stdout, false)
	if err != nil {
		return err
	}
	if _, err := st.ReplaceSocialGridsOf(ctx, plans, "demo", "demo social grids"); err != nil {
		return err
	}
	if codes, err = st.SocialGridCodes(ctx, demoDistrict); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(demoCensusSeed, 17))
	assigned := 0
	for i, code := range codes {
		if i%demoUncoveredEvery == demoUncoveredEvery-1 {
			continue
		}
		w, err := st.AddWorker(ctx, grids.GridWorker{Name: demoPersonName(rng), Phone: fmt.Sprintf("138%08d", rng.IntN(1e8)),
			Role: grids.WorkerRoleGridWorker}, "demo", "demo grid worker")
		if err != nil {
			return err
		}
		if _, err := st.AssignDuty(ctx, grids.Duty{WorkerID: w.ID, MgmtGrid: code, Starts: demoDutyStart}, "demo", "demo duty"); err != nil {
			return err
		}
		assigned++
	}
	fmt.Fprintf(e.stdout, "demo: %d social grids, %d with a grid worker on duty, in %.1f s\n",
		len(codes), assigned, time.Since(started).Seconds())
	return nil
}

var (
	demoSurnames   = []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎")
	demoGivenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文雪梅海燕春晓东")
)

// demoPersonName is a plausible synthetic Chinese name: a surname and one
// or two given characters.
func demoPersonName(rng *rand.Rand) string {
	name := []rune{demoSurnames[rng.IntN(len(demoSurnames))], demoGivenChars[rng.IntN(len(demoGivenChars))]}
	if rng.IntN(3) > 0 {
		name = append(name, demoGivenChars[rng.IntN(len(demoGivenChars))])
	}
	return string(name)
}
