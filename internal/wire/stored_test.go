package wire

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var cmpAddrs = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// Documents that format 1 stored on hosts (written by the provider before
// the format field, with every field of every kind set) are read by this
// code into the same values, with no field lost: upgrading the provider
// never loses what other Terraform runs stored on a shared host.
//
// The proof is the fixture itself: what was read, written back in format
// 1's names, must be the fixture, key for key and value for value. A field
// added to the model since format 1 is not in the fixture and is read as
// unset; it must be omitzero (so that an unset one is not written), and
// then it needs neither a format nor a change here.
func TestStoredFormat1Fixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/store-v1/*/*.json")
	if kinds := len(filledObjects()); len(files) != kinds {
		t.Fatalf("%d format 1 fixtures, want one per kind (%d)", len(files), kinds)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fixture map[string]any
		if err := json.Unmarshal(data, &fixture); err != nil {
			t.Fatal(err)
		}
		if zero := zeroJSON(fixture, ""); len(zero) > 0 {
			t.Fatalf("%s: the fixture has unset values, so it cannot prove they are read: %v", f, zero)
		}
		got, format, err := UnmarshalStored(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if format != 1 {
			t.Errorf("%s: read as format %d, want 1", f, format)
		}
		back, err := format1Names(got)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(fixture, back); d != "" {
			t.Errorf("%s: read differently from what was stored (-stored +read, in format 1's names); "+
				"a field only on the + side was added after format 1 and must be omitzero:\n%s", f, d)
		}
	}
}

// format1Names is o encoded as now, with the body's json names turned
// back into the Go field names format 1 wrote.
func format1Names(o Object) (map[string]any, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	for name, body := range doc {
		if t, ok := bodyTypes[name]; ok {
			doc[name] = goNames(body, t)
		}
	}
	return doc, nil
}

// goNames undoes renameKeys: json names of t's fields become Go names
// where t is a model type (wire's own types had json tags in format 1
// already).
func goNames(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		if list, ok := v.([]any); ok {
			for i := range list {
				list[i] = goNames(list[i], t.Elem())
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				m[k] = goNames(m[k], t.Elem())
			}
		}
	case reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			goFields(m, t)
		}
	}
	return v
}

var modelPkg = reflect.TypeFor[model.Director]().PkgPath()

func goFields(m map[string]any, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			goFields(m, f.Type)
			continue
		}
		if val, ok := m[jsonName(f)]; ok {
			name := jsonName(f)
			if t.PkgPath() == modelPkg {
				delete(m, name)
				name = f.Name
			}
			m[name] = goNames(val, f.Type)
		}
	}
}

// zeroJSON lists the paths of unset values (false, 0, "", null, empty) in
// decoded JSON.
func zeroJSON(v any, path string) []string {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return []string{path}
		}
		var out []string
		for k, e := range x {
			out = append(out, zeroJSON(e, path+"."+k)...)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []string{path}
		}
		var out []string
		for i, e := range x {
			out = append(out, zeroJSON(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case nil:
		return []string{path}
	case bool:
		if !x {
			return []string{path}
		}
	case float64:
		if x == 0 {
			return []string{path}
		}
	case string:
		if x == "" {
			return []string{path}
		}
	}
	return nil
}

// The current format is golden: a changed json tag (or a field added or
// removed) shows here as a diff to review, refreshed with -update, and
// round-trips with nothing lost.
func TestStoredFormat2Golden(t *testing.T) {
	for _, o := range append(filledObjects(), filledSinceFormat1()...) {
		data, err := MarshalStored(o)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "store-v2", string(o.Kind)+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if d := cmp.Diff(string(want), string(data)+"\n"); d != "" {
			t.Errorf("%s changed (-golden +now); if intended, add a format and a migration, or run -update for a compatible change:\n%s", golden, d)
		}
		got, format, err := UnmarshalStored(data)
		if err != nil || format != StoredFormat {
			t.Fatalf("%s: format %d, %v", o.Key, format, err)
		}
		if d := cmp.Diff(o, got, cmpAddrs...); d != "" {
			t.Errorf("%s: round trip changed the object:\n%s", o.Key, d)
		}
	}
}

func TestUnmarshalStoredRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"newer format":  `{"format":3,"kind":"director","id":"director","director":{}}`,
		"unknown field": `{"format":2,"kind":"director","id":"director","director":{"flush":true}}`,
		"wrong body":    `{"format":2,"kind":"director","id":"director","real_server":{}}`,
		"not json":      `director`,
	} {
		if _, _, err := UnmarshalStored([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
}

// A request with every field set is golden too: it is the protocol.
func TestRequestGolden(t *testing.T) {
	req := Request{Version: Version, Verb: VerbApply, Put: append(filledObjects(), filledSinceFormat1()...),
		Delete: []Key{{KindRealServer, "tcp/10.0.0.10:80/10.0.1.1:80"}}, Adopt: []Key{{KindDirector, "director"}}, LockTimeoutSeconds: 30}
	data, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "request.json")
	if *update {
		if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(data)+"\n"); d != "" {
		t.Errorf("the protocol changed (-golden +now); bump Version if it is incompatible, then -update:\n%s", d)
	}
}
