package grids

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"gridd/geo"
)

const square = `{"type":"Polygon","coordinates":[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]]]}`

func TestReadDivisionsRecognisesChineseFields(t *testing.T) {
	// A DBF numeric XZQDM arrives as a JSON number: read as its digits,
	// not through a float (110101001001 and 110101001001.0 alike).
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"XZQDM":110101001001,"xzqmc":"多福巷社区","SHAPE_Area":1234.5,"备注":"x"},"geometry":` + square + `},
		{"type":"Feature","properties":{"XZQDM":110101001002.0,"xzqmc":"银闸社区"},"geometry":` + square + `},
		{"type":"Feature","properties":{"XZQDM":"110101001","xzqmc":"东华门街道","行政区名称":"also a name"},"geometry":` + square + `}]}`
	feats, rejected, m, err := ReadDivisions([]byte(file), geo.WGS84, FieldMap{})
	if err != nil || len(rejected) > 0 {
		t.Fatalf("err %v, rejected %v", err, rejected)
	}
	if got, want := m.String(), "field mapping: code ← XZQDM, name ← xzqmc; kept as attrs: SHAPE_Area, 备注, 行政区名称"; got != want {
		t.Errorf("mapping\n got %s\nwant %s", got, want)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "行政区名称 also names the field name") {
		t.Errorf("warnings %q, want one about 行政区名称", m.Warnings)
	}
	if feats[0].Code != "110101001001" || feats[0].Name != "多福巷社区" || feats[1].Code != "110101001002" || feats[2].Code != "110101001" {
		t.Errorf("codes/names: %+v %+v %+v", feats[0].Code, feats[0].Name, feats[1].Code)
	}
	b, _ := json.Marshal(feats[0].Attrs)
	if string(b) != `{"SHAPE_Area":1234.5,"备注":"x"}` {
		t.Errorf("attrs %s", b)
	}
	if feats[1].Attrs != nil {
		t.Errorf("feature without extra properties has attrs %v", feats[1].Attrs)
	}
}

func TestReadDivisionsExplicitFields(t *testing.T) {
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"DM":"110101001001","MC":"多福巷社区","name":"not this"},"geometry":` + square + `}]}`
	fm, err := ParseFieldMap(DivisionFields, []string{"code=dm", "name=MC"})
	if err != nil {
		t.Fatal(err)
	}
	feats, rejected, m, err := ReadDivisions([]byte(file), geo.WGS84, fm)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("err %v, rejected %v", err, rejected)
	}
	if feats[0].Code != "110101001001" || feats[0].Name != "多福巷社区" {
		t.Errorf("got %s %s", feats[0].Code, feats[0].Name)
	}
	if !strings.Contains(m.String(), "code ← DM, name ← MC") || feats[0].Attrs["name"] != "not this" {
		t.Errorf("mapping %s, attrs %v", m, feats[0].Attrs)
	}
	// Without the flags nothing is recognised: each feature is refused
	// saying how to name the property.
	_, rejected, _, err = ReadDivisions([]byte(file), geo.WGS84, FieldMap{})
	if err != nil || len(rejected) != 1 || !strings.Contains(rejected[0].Reason, "no code: no property is recognised as the code (recognised: code, xzqdm,") ||
		!strings.Contains(rejected[0].Reason, "--field code=PROPERTY") {
		t.Errorf("err %v, rejected %v", err, rejected)
	}
	// A mapped property no feature has is an error naming it.
	fm, _ = ParseFieldMap(DivisionFields, []string{"code=XZQDM"})
	_, _, _, err = ReadDivisions([]byte(file), geo.WGS84, fm)
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "no feature has a property XZQDM") {
		t.Errorf("err %v", err)
	}
}

func TestParseFieldMapRefusals(t *testing.T) {
	for _, c := range []struct {
		kind  FieldKind
		specs []string
		want  string
	}{
		{DivisionFields, []string{"code"}, "want FIELD=PROPERTY"},
		{DivisionFields, []string{"status=ZT"}, "a division has no field status"},
		{ComponentFields, []string{"name=A", "name=B"}, "name is mapped twice"},
		{LineFields, []string{"=X"}, "want FIELD=PROPERTY"},
	} {
		if _, err := ParseFieldMap(c.kind, c.specs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err %v, want %q", c.kind, c.specs, err, c.want)
		}
	}
}

func TestNearMissWarnings(t *testing.T) {
	fm := FieldMap{Kind: ComponentFields}
	m, err := fm.Resolve([]string{"部件代码", "部件名称", "STATSU", "XZQDM", "养护单位名", "其它"})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(m.Warnings, "\n")
	for _, want := range []string{"STATSU looks like status", "XZQDM is a division field (code)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", m.Warnings, want)
		}
	}
	if strings.Contains(joined, "其它") {
		t.Errorf("an unrelated property is warned about: %q", m.Warnings)
	}
	if len(m.Attrs) != 4 {
		t.Errorf("attrs %v, want the 4 unmatched properties", m.Attrs)
	}
}

func TestReadComponentsAsCensusFilesWriteThem(t *testing.T) {
	pt := `{"type":"Point","coordinates":[116.4005,39.9005]}`
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"部件代码":"11010101001000123","部件名称":"上水井盖","状态":"完好","初始日期":"2023/5/1","变更日期":20230601,"数据来源":"实测","主管部门":"区水务局","权属单位":"自来水公司","养护单位":"养护中心","备注":"n","普查员":"张三"},"geometry":` + pt + `},
		{"type":"Feature","properties":{"部件代码":1001,"部件名称":"井盖","状态":"破损","初始日期":"2023-05-01"},"geometry":` + pt + `},
		{"type":"Feature","properties":{"部件代码":"0101","状态":"丢失"},"geometry":` + pt + `},
		{"type":"Feature","properties":{"部件代码":"3205080101000001","状态":"移除"},"geometry":` + pt + `},
		{"type":"Feature","properties":{"部件代码":"01001","状态":"坏了"},"geometry":` + pt + `}]}`
	feats, rejected, m, err := ReadComponentsGeoJSON([]byte(file), geo.WGS84, FieldMap{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || rejected[0].Index != 4 || !strings.Contains(rejected[0].Reason, `status "坏了"`) {
		t.Errorf("rejected %v, want feature 4's unknown status", rejected)
	}
	for _, want := range []string{"name ← 部件名称", "status ← 状态", "dept_name ← 主管部门", "initial_date ← 初始日期", "kept as attrs: 普查员"} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("mapping %s lacks %s", m, want)
		}
	}
	if len(feats) != 4 {
		t.Fatalf("%d features", len(feats))
	}
	f := feats[0]
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	if f.Code != "11010101001000123" || f.Status != "intact" || f.DataSource != "surveyed" || f.DeptName != "区水务局" ||
		f.OwnerUnit != "自来水公司" || f.MaintUnit != "养护中心" || f.Note != "n" ||
		!f.InitialDate.Equal(day("2023-05-01")) || !f.ChangeDate.Equal(day("2023-06-01")) || f.Attrs["普查员"] != "张三" {
		t.Errorf("feature 0: %+v", f)
	}
	if feats[1].ClassCode != "01001" || feats[1].Status != "damaged" {
		t.Errorf("feature 1: class %q status %q, want 01001 damaged", feats[1].ClassCode, feats[1].Status)
	}
	// 0101 is a legacy class (CJ/T 214 上水井盖), taken through the crosswalk.
	if feats[2].ClassCode != "01001" || feats[2].Status != "lost" {
		t.Errorf("feature 2: class %q status %q, want 01001 lost", feats[2].ClassCode, feats[2].Status)
	}
	if feats[3].LegacyCode != "3205080101000001" || feats[3].Status != "removed" {
		t.Errorf("feature 3: legacy %q status %q", feats[3].LegacyCode, feats[3].Status)
	}
}

func TestNormalizeClassCode(t *testing.T) {
	for in, want := range map[string]string{"01001": "01001", "1001": "01001", "2001": "02001", "0101": "01001"} {
		if got, err := NormalizeClassCode(in); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %s", in, got, err, want)
		}
	}
	if _, err := NormalizeClassCode("0999"); err == nil {
		t.Errorf("0999 (no such legacy class) accepted")
	}
}

func TestParseDateAsFilesWriteIt(t *testing.T) {
	for _, s := range []string{"2023-05-01", "2023/5/1", "20230501", "2023/05/01", "2023.5.1", "2023年5月1日", "2023/05/01 00:00:00", "2023-05-01T00:00:00"} {
		d, err := ParseDate(s)
		if err != nil || d.Format(time.DateOnly) != "2023-05-01" {
			t.Errorf("%s: %v %v", s, d, err)
		}
	}
	for _, s := range []string{"2023-13-01", "5/1/2023", "2023/05/01 10:30:00"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestComponentsCSVWithChineseHeader(t *testing.T) {
	csv := "经度,纬度,部件类型,部件名称,状态,数据来源,自定义\n116.4005,39.9005,01001,井盖,废弃,地形图,x\n"
	feats, rejected, m, err := ReadComponentsCSV(strings.NewReader(csv), geo.WGS84, FieldMap{})
	if err != nil || len(rejected) > 0 {
		t.Fatalf("err %v rejected %v mapping %s", err, rejected, m)
	}
	f := feats[0]
	if f.ClassCode != "01001" || f.Name != "井盖" || f.Status != "abandoned" || f.DataSource != "topographic_map" || f.Attrs["自定义"] != "x" {
		t.Errorf("feature %+v (mapping %s)", f, m)
	}
}
