package grids

import (
	"os"
	"strings"
	"testing"
)

// The demo's table reads whole; each kind of mistake is refused with its
// line.
func TestParseTimeLimitsCSV(t *testing.T) {
	f, err := os.Open("../testdata/dongcheng/time_limits.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ls, err := ParseTimeLimitsCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 19 {
		t.Errorf("%d limits, want the file's 19", len(ls))
	}
	var rubbish TimeLimit
	for _, l := range ls {
		if l.Class == "06010" && l.Urgency == UrgencyNormal && l.Stage == "handle" {
			rubbish = l
		}
	}
	if rubbish.Limit != "2wh" || rubbish.Scheme != SchemeGB2026 || rubbish.Kind != KindMatter || rubbish.Name != "暴露垃圾" {
		t.Errorf("06010 handling: %+v", rubbish)
	}
	if ls[0].Class != "" || ls[0].Stage != "file" {
		t.Errorf("defaults do not come first: %+v", ls[0])
	}

	const head = "kind,class,urgency,stage,limit\n"
	defaults := ",,normal,file,1wh\n,,normal,dispatch,1wh\n,,normal,handle,1wd\n,,normal,verify,0.5wh\n,,normal,close,1wh\n" +
		",,urgent,file,30m\n,,urgent,dispatch,30m\n,,urgent,handle,4h\n,,urgent,verify,30m\n,,urgent,close,30m\n"
	for _, c := range []struct{ body, want string }{
		{defaults + "matter,06010,normal,处置,2wh\n", ""}, // the stage in Chinese
		{defaults + "matter,06010,normal,handle,2x\n", `line 12: workclock: time limit "2x": unknown unit "x"`},
		{defaults + "matter,06010,normal,repair,2wh\n", `line 12: stage "repair"`},
		{defaults + "matter,06010,soon,handle,2wh\n", `line 12: urgency "soon"`},
		{defaults + "matter,99999,normal,handle,2wh\n", "line 12: class 99999 is not a matter class"},
		{defaults + "thing,06010,normal,handle,2wh\n", `line 12: class 06010: kind "thing"`},
		{defaults + "matter,06010,normal,handle,2wh\nmatter,06010,normal,handle,3wh\n", "line 13: the same class, urgency and stage as line 12"},
		{strings.Replace(defaults, ",,urgent,handle,4h\n", "", 1), "no default for urgent cases' handle stage"},
		{"kind,class,stage,limit\n", "line 1: no urgency column"},
	} {
		in := c.body
		if !strings.HasPrefix(in, "kind,") {
			in = head + in
		}
		_, err := ParseTimeLimitsCSV(strings.NewReader(in))
		last := c.body[strings.LastIndex(strings.TrimSuffix(c.body, "\n"), "\n")+1:]
		switch {
		case c.want == "" && err != nil:
			t.Errorf("...%q: %v", last, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("...%q: error %v, want one saying %q", last, err, c.want)
		}
	}
}
