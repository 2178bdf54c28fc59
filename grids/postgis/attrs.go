package postgis

import "encoding/json"

// attrsJSON is an imported feature's attributes as the JSON of an attrs
// column: an object, {} when there are none.
func attrsJSON(attrs map[string]any) string {
	if len(attrs) == 0 {
		return "{}"
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		// Attributes come decoded from JSON, so they encode back.
		panic("attrs: " + err.Error())
	}
	return string(b)
}
