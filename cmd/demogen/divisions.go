package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strings"
)

// division is one row of the division list: a real code and name.
type division struct {
	Level  string // district | street | community
	Code   string
	Name   string
	Parent string
}

// divisions is the district's hierarchy as listed in the CSV.
type divisions struct {
	district    division
	streets     []division
	communities map[string][]division // by street code, in CSV order
}

func (d *divisions) communityCount() int {
	n := 0
	for _, cs := range d.communities {
		n += len(cs)
	}
	return n
}

func (d *divisions) street(code string) (int, bool) {
	for i, s := range d.streets {
		if s.Code == code {
			return i, true
		}
	}
	return 0, false
}

// readDivisions reads level,code,name,parent_code rows and checks the code
// hierarchy (each code extends its parent's code).
func readDivisions(path string) (*divisions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &divisions{communities: map[string][]division{}}
	for i, r := range rows {
		if i == 0 {
			continue // header
		}
		if len(r) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 fields", path, i+1)
		}
		v := division{Level: r[0], Code: r[1], Name: r[2], Parent: r[3]}
		if !strings.HasPrefix(v.Code, v.Parent) {
			return nil, fmt.Errorf("%s:%d: code %s does not extend parent %s", path, i+1, v.Code, v.Parent)
		}
		switch v.Level {
		case "district":
			d.district = v
		case "street":
			d.streets = append(d.streets, v)
		case "community":
			d.communities[v.Parent] = append(d.communities[v.Parent], v)
		default:
			return nil, fmt.Errorf("%s:%d: unknown level %q", path, i+1, v.Level)
		}
	}
	if d.district.Code == "" || len(d.streets) == 0 {
		return nil, fmt.Errorf("%s: no district or no streets", path)
	}
	for _, s := range d.streets {
		if len(d.communities[s.Code]) == 0 {
			return nil, fmt.Errorf("%s: street %s has no communities", path, s.Code)
		}
	}
	return d, nil
}
