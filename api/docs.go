package api

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// The docs page is the OpenAPI document as one plain HTML page: every
// operation by tag, with who may call it, its parameters and its body. It
// needs no script, so it works wherever gridd runs.

type docsOp struct {
	Method, Path, Summary, Who, Body, Success string
	Params                                    []string
}

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>gridd API</title>
<style>
body{font:15px/1.45 system-ui,"Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2em}table{border-collapse:collapse;width:100%}
td{vertical-align:top;padding:.35em .5em;border-bottom:1px solid #eee}code{font-size:90%}
.m{font-weight:bold;width:5em}.who{color:#666;white-space:nowrap}
</style></head><body>
<h1>gridd API</h1>
<p>{{.Description}}</p>
<p>The machine-readable document: <a href="openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.0).
OGC API - Features: <a href="ogc"><code>/ogc</code></a>.</p>
{{range .Tags}}<h2 id="{{.Name}}">{{.Name}}</h2><table>
{{range .Ops}}<tr><td class="m">{{.Method}}</td><td><code>{{.Path}}</code><br>{{.Summary}}
{{if .Params}}<br><small>query: {{range $i, $p := .Params}}{{if $i}}, {{end}}<code>{{$p}}</code>{{end}}</small>{{end}}
{{if .Body}}<br><small>body: {{.Body}}</small>{{end}}</td><td class="who">{{.Who}}</td><td>{{.Success}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

func (s *Server) docsHandler(mux chi.Routes) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		doc := s.openAPI(mux, base(r))
		paths := doc["paths"].(map[string]map[string]any)
		type tag struct {
			Name string
			Ops  []docsOp
		}
		var tags []*tag
		byName := map[string]*tag{}
		for _, p := range sortedPaths(doc) {
			for _, m := range []string{"get", "head", "post", "put", "patch", "delete", "options"} {
				op, ok := paths[p][m].(map[string]any)
				if !ok {
					continue
				}
				name := op["tags"].([]string)[0]
				t := byName[name]
				if t == nil {
					t = &tag{Name: name}
					byName[name] = t
					tags = append(tags, t)
				}
				d := docsOp{Method: strings.ToUpper(m), Path: p, Summary: op["summary"].(string), Who: "anyone"}
				if role, ok := op["x-gridd-role"].(string); ok {
					d.Who = role
					if sec := op["security"].([]any); len(sec) > 0 && len(sec[0].(map[string]any)) == 0 {
						d.Who = "public (" + role + " with private reads)"
					}
				}
				if ps, ok := op["parameters"].([]any); ok {
					for _, pp := range ps {
						if q, ok := pp.(map[string]any); ok && q["in"] == "query" {
							d.Params = append(d.Params, q["name"].(string))
						} else if ok && q["$ref"] != nil {
							d.Params = append(d.Params, strings.TrimPrefix(q["$ref"].(string), "#/components/parameters/"))
						}
					}
				}
				if rb, ok := op["requestBody"].(map[string]any); ok {
					for t, c := range rb["content"].(map[string]any) {
						ref := c.(map[string]any)["schema"].(map[string]any)["$ref"].(string)
						d.Body = strings.TrimPrefix(ref, "#/components/schemas/") + " (" + t + ")"
					}
				}
				for code := range op["responses"].(map[string]any) {
					if code != "default" && (d.Success == "" || code < d.Success) {
						d.Success = code
					}
				}
				t.Ops = append(t.Ops, d)
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", s.cacheControl(300))
		return docsPage.Execute(w, map[string]any{"Description": doc["info"].(map[string]any)["description"], "Tags": tags})
	}
}
