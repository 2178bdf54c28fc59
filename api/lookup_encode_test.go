package api

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// appendCentis must write exactly what strconv writes for a value rounded
// to hundredths.
func TestAppendCentis(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	vals := []float64{0, 0.004, 0.005, 0.01, 0.1, 0.5, 0.995, 1, 9.999, 10, 100.05, 12345.675, 1e6, 1e13, 9e13, 1e15, 1e300}
	for range 200_000 {
		vals = append(vals, rng.Float64()*math.Pow(10, float64(rng.Intn(12))))
	}
	for _, v := range vals {
		want := strconv.AppendFloat(nil, math.Round(v*100)/100, 'f', -1, 64)
		if got := appendCentis(nil, v); string(got) != string(want) {
			t.Fatalf("appendCentis(%v) = %s, want %s", v, got, want)
		}
	}
}

// Large point arrays are parsed in two halves; the result must be what one
// pass reads, whatever the layout, and errors must name the right point.
func TestParseBatchRequest(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var want []orb.Point
	var sb strings.Builder
	sb.WriteString(`{"crs":"gcj02", "points" : [ `)
	seps := []string{",", " , ", ",\n", "\t,"}
	for i := range 40_000 {
		p := orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90}
		want = append(want, p)
		if i > 0 {
			sb.WriteString(seps[rng.Intn(len(seps))])
		}
		if i%2 == 0 {
			fmt.Fprintf(&sb, "[%v,%v]", p[0], p[1])
		} else {
			fmt.Fprintf(&sb, "[ %v , %v ]", p[0], p[1])
		}
	}
	sb.WriteString(` ] , "accuracy_m": 5}`)
	body := sb.String()
	req, err := parseBatchRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.CRS != "gcj02" || req.AccuracyM == nil || *req.AccuracyM != 5 || !slices.Equal(req.Points, want) {
		t.Fatalf("parsed %d points (want %d), crs %q, accuracy %v", len(req.Points), len(want), req.CRS, req.AccuracyM)
	}

	// The middle of the body is in a later member, not in the points.
	filler := strings.Repeat(" ", 480_000)
	req, err = parseBatchRequest([]byte(`{"points":[[116.4,39.9],[116.5,39.8]],"crs":` + filler + `"gcj02"}`))
	if err != nil || len(req.Points) != 2 || req.Points[1] != (orb.Point{116.5, 39.8}) {
		t.Fatalf("points before a long member: %v, %v", req.Points, err)
	}

	// Errors in either half name their point.
	for _, bad := range []int{3, 25_000, 39_999} {
		b := []byte(body)
		k := 0
		for range bad + 1 {
			k += bytes.IndexByte(b[k:], '[') + 1
			if k == 1+bytes.IndexByte(b, '[') { // the points array's own '['
				k += bytes.IndexByte(b[k:], '[') + 1
			}
		}
		b = slices.Concat(b[:k], []byte(`"x",`), b[k:])
		_, err := parseBatchRequest(b)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("points[%d]: not a number", bad)) {
			t.Errorf("bad point %d: %v", bad, err)
		}
	}

	// One point too many, split or not.
	many := `{"points":[` + strings.Repeat(`[116.4,39.9],`, MaxBatchPoints) + `[116.4,39.9]]}`
	if _, err := parseBatchRequest([]byte(many)); err == nil || !strings.Contains(err.Error(), "at most 100000 per request") {
		t.Errorf("oversized batch: %v", err)
	}
}

// parseDecimal must agree bit for bit with strconv.ParseFloat wherever it
// answers, and answer for coordinates as GPS apps send them.
func TestParseDecimal(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	cases := []string{"0", "-0", "0.0", "116.3971234", "-33.8688", "39.9", "007.5", "1234567890.12345", "0.000000000000001",
		"1.", ".5", "-", "1e5", "1.5e-3", "12345678901234567", "1.2.3", "+1", "", "9007199254740993", "0.1234567890123456789012"}
	for range 300_000 {
		whole := strconv.FormatInt(rng.Int63n(1000), 10)
		if rng.Intn(2) == 0 {
			whole = "-" + whole
		}
		fracDigits := rng.Intn(20)
		frac := ""
		for range fracDigits {
			frac += string(rune('0' + rng.Intn(10)))
		}
		if fracDigits > 0 {
			whole += "." + frac
		}
		cases = append(cases, whole)
	}
	fast := 0
	for _, c := range cases {
		got, n := parseDecimal([]byte(c))
		if n == 0 {
			continue
		}
		if n != len(c) {
			t.Fatalf("parseDecimal(%q) took %d bytes", c, n)
		}
		fast++
		want, err := strconv.ParseFloat(c, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v, strconv says %v (%v)", c, got, want, err)
		}
	}
	for _, c := range []string{"116.3971234", "-33.8688", "0"} {
		if _, n := parseDecimal([]byte(c + "]")); n != len(c) {
			t.Errorf("parseDecimal(%q) declined a plain coordinate", c)
		}
	}
	t.Logf("%d of %d decimals read by the fast path", fast, len(cases))
}
