package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// StoredFormat is the format of the object documents the agent keeps on a
// host (one file per object). A host is shared by Terraform runs of
// different provider versions, so every format ever written stays
// readable: testdata/store-v1 holds documents as format 1 wrote them, and
// a test reads them with this code.
//
//   - Format 1 (provider releases before the format field): the object with
//     its body in the model's Go field names (no json tags); no "format" key.
//   - Format 2: "format": 2, and the body in the snake_case names of the
//     model's json tags, which are the contract: renaming a Go field keeps
//     its tag, and a golden test fails when a tag changes.
const StoredFormat = 2

// stored is the document: the format beside the object's fields.
type stored struct {
	Format int `json:"format"`
	Object
}

// MarshalStored encodes o as a stored document of the current format.
func MarshalStored(o Object) ([]byte, error) {
	return json.MarshalIndent(stored{Format: StoredFormat, Object: o}, "", "  ")
}

// UnmarshalStored decodes a stored document of any format this code knows
// and checks it as a request's object is checked. A format newer than this
// code is an error (a newer provider wrote it; never guess at its fields).
// It returns the format the document was written in.
func UnmarshalStored(data []byte) (Object, int, error) {
	var head struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Object{}, 0, err
	}
	switch head.Format {
	case 0, 1:
		migrated, err := migrateV1(data)
		if err != nil {
			return Object{}, 1, fmt.Errorf("format 1 document: %w", err)
		}
		data = migrated
	case StoredFormat:
	default:
		return Object{}, head.Format, fmt.Errorf("document format %d is newer than this agent's %d: a newer provider stored it; run that provider (or a newer one)", head.Format, StoredFormat)
	}
	var s stored
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	format := max(head.Format, 1)
	if err := dec.Decode(&s); err != nil {
		return Object{}, format, err
	}
	if err := s.Object.check(); err != nil {
		return Object{}, format, err
	}
	return s.Object, format, nil
}

// bodyTypes are the Go types of the object fields that carry model values,
// by their json name in Object.
var bodyTypes = map[string]reflect.Type{
	"director":             reflect.TypeFor[model.Director](),
	"virtual_server":       reflect.TypeFor[model.VirtualServer](),
	"virtual_server_group": reflect.TypeFor[model.VirtualServerGroup](),
	"real_server":          reflect.TypeFor[model.RealServer](),
	"real_server_host":     reflect.TypeFor[model.RealServerHost](),
	"haproxy_settings":     reflect.TypeFor[HAProxySettings](),
	"haproxy_frontend":     reflect.TypeFor[HAProxyFrontend](),
	"haproxy_backend":      reflect.TypeFor[model.HAProxyBackend](),
	"haproxy_certificate":  reflect.TypeFor[model.HAProxyCertificate](),
}

// migrateV1 rewrites a format 1 document into format 2: every key that is
// a Go field name of the body's types becomes that field's json name.
// Format 1 wrote the Go names exactly, so the rewrite is exact for the
// fields as they are named today; were a field renamed, the format 1
// fixture test fails and this function gets the old name.
func migrateV1(data []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	for name, body := range doc {
		if t, ok := bodyTypes[name]; ok {
			doc[name] = renameKeys(body, t)
		}
	}
	doc["format"] = StoredFormat
	return json.Marshal(doc)
}

// renameKeys maps the Go field names in v (decoded JSON of a value of type
// t) to their json names, recursively; map keys (data, such as sysctl
// names) are left as they are.
func renameKeys(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		if list, ok := v.([]any); ok {
			for i := range list {
				list[i] = renameKeys(list[i], t.Elem())
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				m[k] = renameKeys(m[k], t.Elem())
			}
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[k] = val
		}
		renameFields(out, t)
		return out
	}
	return v
}

// renameFields renames, in m, the keys of t's fields (and of the fields of
// its embedded structs, which encoding/json flattens).
func renameFields(m map[string]any, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			renameFields(m, f.Type)
			continue
		}
		name := jsonName(f)
		if val, ok := m[f.Name]; ok {
			delete(m, f.Name)
			m[name] = renameKeys(val, f.Type)
		} else if val, ok := m[name]; ok {
			m[name] = renameKeys(val, f.Type)
		}
	}
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			tag = tag[:i]
			break
		}
	}
	if tag == "" {
		return f.Name
	}
	return tag
}
