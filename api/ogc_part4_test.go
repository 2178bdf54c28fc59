package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gridd/api"
	"gridd/grids"
)

// memFeatures is a ten-line collection for the Part 4 plumbing: what a
// components store plugs in as Features and FeatureEditor.
type memFeatures struct {
	mu    sync.Mutex
	items map[string]json.RawMessage
	next  int
}

func (m *memFeatures) FeatureCollections() []string { return []string{"components"} }
func (m *memFeatures) Items(ctx context.Context, coll string, q grids.FeatureQuery) (grids.FeaturePage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p grids.FeaturePage
	for _, f := range m.items {
		p.Features = append(p.Features, f)
	}
	p.Matched = len(p.Features)
	return p, nil
}
func (m *memFeatures) Item(ctx context.Context, coll, id string) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.items[id]; ok {
		return f, nil
	}
	return nil, grids.ErrNotFound
}
func (m *memFeatures) CreateFeature(ctx context.Context, actor string, f []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !json.Valid(f) {
		return "", grids.Invalid("body", "not JSON")
	}
	m.next++
	id := fmt.Sprintf("1101010100100000%d", m.next)
	m.items[id] = f
	return id, nil
}
func (m *memFeatures) ReplaceFeature(ctx context.Context, actor, id string, version int, f []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[id]; !ok {
		return grids.ErrNotFound
	}
	m.items[id] = f
	return nil
}
func (m *memFeatures) DeleteFeature(ctx context.Context, actor, id string, version int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[id]; !ok {
		return grids.ErrNotFound
	}
	delete(m.items, id)
	return nil
}

type oneToken struct{}

func (oneToken) Authenticate(ctx context.Context, secret string) (grids.Token, error) {
	if secret == "gridd_editor" {
		return grids.Token{Name: "ed", Role: grids.RoleEditor}, nil
	}
	return grids.Token{}, grids.ErrNotFound
}

// Part 4 create, replace and delete reach a plugged-in collection's editor
// over plain HTTP, behind the editor role.
func TestOGCPart4Plugged(t *testing.T) {
	m := &memFeatures{items: map[string]json.RawMessage{}}
	ts := httptest.NewServer(api.New(api.Config{Features: m, Tokens: oneToken{},
		FeatureEditors: map[string]api.FeatureEditor{"components": m}}).Handler())
	defer ts.Close()
	c := client{t: t, base: ts.URL, token: "gridd_editor"}
	_, hdr, _ := c.do("OPTIONS", "/ogc/collections/components/items", "")
	if !strings.Contains(hdr.Get("Allow"), "POST") {
		t.Errorf("Allow %q lacks POST", hdr.Get("Allow"))
	}
	f := `{"type":"Feature","properties":{"class":"01001"},"geometry":{"type":"Point","coordinates":[116.4,39.9]}}`
	if status, _, _ := (client{t: t, base: ts.URL}).do("POST", "/ogc/collections/components/items", f); status != 401 {
		t.Errorf("anonymous create: %d", status)
	}
	status, hdr, _ := c.do("POST", "/ogc/collections/components/items", f)
	loc := hdr.Get("Location")
	if status != 201 || !strings.Contains(loc, "/ogc/collections/components/items/") {
		t.Fatalf("create: %d %q", status, loc)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	f2 := strings.Replace(f, "01001", "01002", 1)
	if status, _, _ := c.do("PUT", "/ogc/collections/components/items/"+id, f2); status != 204 {
		t.Errorf("replace: %d", status)
	}
	if _, _, body := c.do("GET", "/ogc/collections/components/items/"+id, ""); !strings.Contains(body, "01002") {
		t.Errorf("after replace: %s", body)
	}
	if status, _, _ := c.do("DELETE", "/ogc/collections/components/items/"+id, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := c.do("GET", "/ogc/collections/components/items/"+id, ""); status != 404 {
		t.Errorf("after delete: %d", status)
	}
}
