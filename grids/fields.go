package grids

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"unicode/utf8"

	"gridd/grids/catalog"
)

// FieldKind is what an import file holds, for its field mapping.
type FieldKind string

// The kinds of import file.
const (
	DivisionFields  FieldKind = "division"
	LineFields      FieldKind = "line"
	ComponentFields FieldKind = "component"
	BuildingFields  FieldKind = "building"
)

// componentCodeByShape is the target of property names that the field's
// files use for more than one code (部件代码 holds the 17-digit code in one
// census and the class code in another): each value goes to code (17
// digits), legacy_code (16) or class_code (up to 5) by its shape.
const componentCodeByShape = "code|legacy_code|class_code"

// recognisedFields lists, per kind and field, the property names an import
// recognises without a --field flag, compared without case. The first name
// present in the file wins.
var recognisedFields = map[FieldKind][][]string{
	DivisionFields: {
		{"code", "xzqdm", "qhdm", "行政区代码", "行政区划代码", "区划代码", "行政代码", "adcode", "代码", "编码"},
		{"name", "xzqmc", "qhmc", "行政区名称", "行政区划名称", "区划名称", "名称", "mc"},
	},
	LineFields: {
		{"id", "objectid", "fid", "编号", "bh"},
		{"class", "fclass", "type", "kind", "类型", "类别", "道路等级", "等级"},
		{"name", "名称", "道路名称", "dlmc", "mc"},
	},
	ComponentFields: {
		{"code", "部件标识码", "标识码", "bsm", "bjbsm", "部件编码", "bjbm"},
		{"legacy_code", "旧编码", "原编码", "原部件代码"},
		{"class_code", "部件类型代码", "部件类型", "小类代码", "部件小类代码", "类别代码", "xldm", "lbdm", "class"},
		{componentCodeByShape, "部件代码", "bjdm", "部件编号"},
		{"name", "部件名称", "bjmc", "名称", "mc"},
		{"dept_code", "主管部门代码", "主管部门统一社会信用代码", "zgbmdm"},
		{"dept_name", "主管部门", "主管部门名称", "zgbm", "zgbmmc"},
		{"owner_unit", "权属单位", "qsdw"},
		{"maint_unit", "养护单位", "yhdw"},
		{"status", "状态", "部件状态", "zt", "bjzt"},
		{"initial_date", "初始日期", "设立日期", "csrq"},
		{"change_date", "变更日期", "bgrq"},
		{"data_source", "数据来源", "sjly"},
		{"accuracy", "定位精度", "精度等级", "精度", "jd"},
		{"note", "备注", "bz", "remark"},
	},
	BuildingFields: {
		{"name", "楼栋号", "楼号", "楼栋", "楼栋名称", "building", "建筑名称", "名称", "mc"},
		{"households", "户数", "住户数", "总户数", "hs"},
		{"residents", "人口", "人口数", "人数", "居住人口", "常住人口", "总人口", "population", "rk"},
	},
}

// RecognisedFields returns the fields of a kind with the property names
// recognised for each, in order of preference.
func RecognisedFields(kind FieldKind) [][]string {
	return recognisedFields[kind]
}

// fieldTargets are the fields a --field flag may name, per kind.
func fieldTargets(kind FieldKind) []string {
	var out []string
	for _, names := range recognisedFields[kind] {
		if names[0] != componentCodeByShape {
			out = append(out, names[0])
		}
	}
	return out
}

// FieldMap is the field mapping asked for on the command line: field ←
// property name, as `--field code=XZQDM`.
type FieldMap struct {
	Kind     FieldKind
	Explicit map[string]string
}

// ParseFieldMap reads --field values, each FIELD=PROPERTY, for a kind.
func ParseFieldMap(kind FieldKind, specs []string) (FieldMap, error) {
	m := FieldMap{Kind: kind, Explicit: map[string]string{}}
	targets := fieldTargets(kind)
	for _, s := range specs {
		field, prop, ok := strings.Cut(s, "=")
		field, prop = strings.ToLower(strings.TrimSpace(field)), strings.TrimSpace(prop)
		if !ok || field == "" || prop == "" {
			return m, Invalid("field", "%q: want FIELD=PROPERTY, e.g. code=XZQDM", s)
		}
		if !oneOf(field, targets) {
			return m, Invalid("field", "%q: a %s has no field %s (fields: %s)", s, kind, field, strings.Join(targets, ", "))
		}
		if prev, dup := m.Explicit[field]; dup {
			return m, Invalid("field", "%s is mapped twice (from %s and %s)", field, prev, prop)
		}
		m.Explicit[field] = prop
	}
	return m, nil
}

// Mapping is the field mapping an import used: which property of the file
// filled each field, and the properties kept as attributes.
type Mapping struct {
	Kind FieldKind
	// Fields maps each property used to its field, by the property's name
	// as the file spells it.
	Fields map[string]string
	// Attrs are the properties kept in the attrs column, in file order.
	Attrs []string
	// Ignored are properties gridd writes itself (an export read back).
	Ignored []string
	// Warnings name properties that look like a known field but were not
	// used for one.
	Warnings []string
}

// String says the mapping in one line: "field mapping: code ← XZQDM, name
// ← XZQMC; kept as attrs: SHAPE_Area".
func (m Mapping) String() string {
	type pair struct{ field, prop string }
	var ps []pair
	for prop, field := range m.Fields {
		ps = append(ps, pair{field, prop})
	}
	order := map[string]int{}
	for i, names := range recognisedFields[m.Kind] {
		order[names[0]] = i
	}
	sort.Slice(ps, func(i, j int) bool {
		if order[ps[i].field] != order[ps[j].field] {
			return order[ps[i].field] < order[ps[j].field]
		}
		return ps[i].prop < ps[j].prop
	})
	var b strings.Builder
	b.WriteString("field mapping: ")
	if len(ps) == 0 {
		b.WriteString("(none)")
	}
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		field := p.field
		if field == componentCodeByShape {
			field = "code/legacy_code/class_code (by length)"
		}
		fmt.Fprintf(&b, "%s ← %s", field, p.prop)
	}
	if len(m.Attrs) > 0 {
		fmt.Fprintf(&b, "; kept as attrs: %s", strings.Join(m.Attrs, ", "))
	}
	return b.String()
}

// Resolve decides the mapping for a file whose features have the property
// names props (in order of first appearance): the explicit fields first,
// then for every other field the first recognised name present. A name
// given with --field that no feature has is an error.
func (fm FieldMap) Resolve(props []string) (Mapping, error) {
	kind := fm.Kind
	m := Mapping{Kind: kind, Fields: map[string]string{}}
	lower := map[string]string{} // lower-case name → name in the file
	for _, p := range props {
		if _, ok := lower[strings.ToLower(p)]; !ok {
			lower[strings.ToLower(p)] = p
		}
	}
	taken := map[string]bool{}
	for field, prop := range fm.Explicit {
		p, ok := lower[strings.ToLower(prop)]
		if !ok {
			return m, Invalid("field", "--field %s=%s: no feature has a property %s (properties: %s)", field, prop, prop, strings.Join(props, ", "))
		}
		m.Fields[p] = field
		taken[field] = true
	}
	for _, names := range recognisedFields[kind] {
		field := names[0]
		if taken[field] || field == componentCodeByShape && (taken["code"] || taken["class_code"]) {
			continue
		}
		for _, n := range names {
			if p, ok := lower[n]; ok {
				if _, used := m.Fields[p]; used {
					continue
				}
				m.Fields[p] = field
				taken[field] = true
				break
			}
		}
	}
	for _, p := range props {
		if _, used := m.Fields[p]; used {
			continue
		}
		if kind == ComponentFields && readOnlyFields[strings.ToLower(p)] {
			m.Ignored = append(m.Ignored, p)
			continue
		}
		m.Attrs = append(m.Attrs, p)
		if w := nearMiss(kind, p, taken); w != "" {
			m.Warnings = append(m.Warnings, w)
		}
	}
	return m, nil
}

// nearMiss says why an unused property looks like a known field: a second
// name of a field already filled, a field's name misspelt by one letter,
// or a name another kind of file uses.
func nearMiss(kind FieldKind, prop string, taken map[string]bool) string {
	lp := strings.ToLower(prop)
	for _, names := range recognisedFields[kind] {
		for _, n := range names {
			if n == lp {
				return fmt.Sprintf("property %s also names the field %s, which another property fills; kept as attrs", prop, strings.ReplaceAll(names[0], "|", "/"))
			}
			if utf8.RuneCountInString(n) >= 4 && editDistanceAtMost1(lp, n) {
				return fmt.Sprintf("property %s looks like %s (field %s) but does not match it; kept as attrs (map it with --field %s=%s)", prop, n, names[0], strings.SplitN(names[0], "|", 2)[0], prop)
			}
		}
	}
	for other, fields := range recognisedFields {
		// Line files carry generic names (OBJECTID, type) that any
		// file may have: only divisions and components are told apart.
		// Building files carry counts (population) that division files
		// may carry too: they are not told apart either.
		if other == kind || other == LineFields || kind == LineFields || other == BuildingFields || kind == BuildingFields {
			continue
		}
		for _, names := range fields {
			for _, n := range names[1:] {
				if n == lp && utf8.RuneCountInString(n) >= 4 {
					return fmt.Sprintf("property %s is a %s field (%s), not a %s one; kept as attrs", prop, other, names[0], kind)
				}
			}
		}
	}
	return ""
}

// editDistanceAtMost1 says whether a and b differ by at most one inserted,
// deleted or replaced character or one swap of neighbours.
func editDistanceAtMost1(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if i == len(ra) {
		return true
	}
	if len(ra) == len(rb) {
		// One replaced character, or two neighbours swapped (STATSU).
		return string(ra[i+1:]) == string(rb[i+1:]) ||
			i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	}
	return string(ra[i:]) == string(rb[i+1:])
}

// fileFeature is one GeoJSON feature of an import file with its properties
// decoded exactly: numbers stay json.Number, so a 12-digit code written as
// a number reads as its digits.
type fileFeature struct {
	raw   json.RawMessage
	props map[string]any
	order []string
}

// readFileFeatures reads the features of a FeatureCollection and the names
// of their properties, in order of first appearance.
func readFileFeatures(data []byte) ([]fileFeature, []string, error) {
	raws, err := featureCollection(data)
	if err != nil {
		return nil, nil, err
	}
	out := make([]fileFeature, len(raws))
	seen := map[string]bool{}
	var names []string
	for i, raw := range raws {
		out[i].raw = raw
		var head struct {
			Properties json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(raw, &head) != nil || len(head.Properties) == 0 || string(head.Properties) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(head.Properties))
		dec.UseNumber()
		if dec.Decode(&out[i].props) != nil {
			continue // the feature's own parse reports it
		}
		out[i].order = propertyOrder(head.Properties)
		for _, k := range out[i].order {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	return out, names, nil
}

// propertyOrder lists an object's keys in the order the file writes them.
func propertyOrder(obj json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// missing says why a feature has no value for a field: the property the
// mapping took it from is empty, or no property was recognised for it.
func (m Mapping) missing(field string) string {
	for prop, f := range m.Fields {
		if f == field {
			return fmt.Sprintf("property %s is missing or empty", prop)
		}
	}
	var names []string
	for _, ns := range recognisedFields[m.Kind] {
		if ns[0] == field {
			names = ns
		}
	}
	return fmt.Sprintf("no property is recognised as the %s (recognised: %s); name it with --field %s=PROPERTY", field, strings.Join(names, ", "), field)
}

// mapped splits one feature's properties by the mapping: the fields' text
// values, and the attributes (nil when there are none).
func (m Mapping) mapped(f fileFeature) (map[string]string, map[string]any, error) {
	fields := map[string]string{}
	var attrs map[string]any
	for _, k := range f.order {
		v := f.props[k]
		field, ok := m.Fields[k]
		if !ok {
			if oneOf(k, m.Ignored) || v == nil {
				continue
			}
			if attrs == nil {
				attrs = map[string]any{}
			}
			attrs[k] = v
			continue
		}
		s, err := propertyText(v)
		if err != nil {
			return fields, attrs, fmt.Errorf("property %s (%s): %v", k, field, err)
		}
		if s != "" {
			fields[field] = s
		}
	}
	return fields, attrs, nil
}

// propertyText is a property's value as text: a string trimmed, a number
// as its digits (an integral number written with a fraction or an exponent,
// as some writers store numeric codes, as its integer digits).
func propertyText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case json.Number:
		s := v.String()
		if strings.ContainsAny(s, ".eE") {
			if r, ok := new(big.Rat).SetString(s); ok && r.IsInt() {
				return r.Num().String(), nil
			}
		}
		return s, nil
	case bool:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", jsonType(v))
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// statusValues are the status spellings of the standard's tables and of
// census files, by status.
var statusValues = map[string]string{
	"intact": "intact", "完好": "intact", "正常": "intact", "良好": "intact",
	"damaged": "damaged", "破损": "damaged", "损坏": "damaged", "损毁": "damaged",
	"lost": "lost", "丢失": "lost", "缺失": "lost",
	"abandoned": "abandoned", "废弃": "abandoned",
	"removed": "removed", "移除": "removed", "拆除": "removed",
}

// dataSourceValues are the spellings of the data sources.
var dataSourceValues = map[string]string{
	"surveyed": "surveyed", "实测": "surveyed", "普查": "surveyed", "测量": "surveyed",
	"topographic_map": "topographic_map", "地形图": "topographic_map",
	"base_geodata": "base_geodata", "基础地理数据": "base_geodata", "基础地理信息数据": "base_geodata", "基础地理信息": "base_geodata",
	"other": "other", "其他": "other", "其它": "other",
}

// NormalizeStatus reads a component status as the standard's tables write
// it, in Chinese (完好, 破损, 丢失, 废弃, 移除) or as gridd does (intact,
// damaged, lost, abandoned, removed). Anything else comes back unchanged,
// for the check to refuse.
func NormalizeStatus(s string) string {
	if v, ok := statusValues[strings.ToLower(strings.TrimSpace(s))]; ok {
		return v
	}
	return s
}

// NormalizeDataSource reads a data source in Chinese (实测, 地形图,
// 基础地理数据, 其他) or as gridd writes it.
func NormalizeDataSource(s string) string {
	if v, ok := dataSourceValues[strings.ToLower(strings.TrimSpace(s))]; ok {
		return v
	}
	return s
}

// NormalizeClassCode reads a component class code from a file where the
// leading zero may be lost (a DBF or spreadsheet number: 1001 for 01001) or
// where the class is a 4-digit legacy (CJ/T 214) one. Component majors are
// 01-05 in the current directory and 01-06 in the legacy one, so:
//   - 5 digits are the class as given;
//   - 4 digits not starting with 0 are a 5-digit class that lost its zero
//     (1001 → 01001): no legacy class has a major of 10 or more;
//   - 4 digits starting with 0 are a legacy class, taken through the
//     catalogue's crosswalk (0101 → its new class), refused if it has none;
//   - fewer digits are a 5-digit class of the catalogue padded with zeros,
//     else a legacy class padded to 4, else refused.
func NormalizeClassCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !allDigits(s) || len(s) >= 5 {
		return s, nil // the check names what is wrong
	}
	if len(s) == 4 && s[0] != '0' {
		return "0" + s, nil
	}
	if len(s) < 4 {
		five := strings.Repeat("0", 5-len(s)) + s
		for _, c := range catalog.Classes() {
			if c.Kind == catalog.Component && c.Code == five {
				return five, nil
			}
		}
	}
	four := strings.Repeat("0", 4-len(s)) + s
	for _, lc := range catalog.LegacyClasses() {
		if lc.Kind == catalog.Component && lc.Code == four {
			if lc.NewCode == "" {
				return s, fmt.Errorf("class_code %s is the legacy class %s %s, which has no class in %s: give the 5-digit class", s, four, lc.Name, catalog.Standard)
			}
			return lc.NewCode, nil
		}
	}
	return s, fmt.Errorf("class_code %q is neither a 5-digit class nor a legacy 4-digit one", s)
}
