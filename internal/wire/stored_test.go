package wire

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var cmpAddrs = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// Documents that format 1 stored on hosts (written by the provider before
// the format field, with every field of every kind set) are read by this
// code into the same objects, with no field lost: upgrading the provider
// never loses what other Terraform runs stored on a shared host.
func TestStoredFormat1Fixtures(t *testing.T) {
	want := map[string]Object{}
	for _, o := range filledObjectsExcept(sinceFormat1) {
		if !slices.Contains(kindsSinceFormat1, o.Kind) {
			want[string(o.Kind)] = o
		}
	}
	files, _ := filepath.Glob("testdata/store-v1/*/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d format 1 fixtures, want one per kind (%d)", len(files), len(want))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, format, err := UnmarshalStored(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if format != 1 {
			t.Errorf("%s: read as format %d, want 1", f, format)
		}
		if zero := zeroFieldsExcept(bodyOf(got), sinceFormat1); len(zero) > 0 {
			t.Errorf("%s: fields lost in the migration: %v", f, zero)
		}
		if d := cmp.Diff(want[string(got.Kind)], got, cmpAddrs...); d != "" {
			t.Errorf("%s: read differently from what was stored (-stored +read):\n%s", f, d)
		}
	}
}

// The current format is golden: a changed json tag (or a field added or
// removed) shows here as a diff to review, refreshed with -update, and
// round-trips with nothing lost.
func TestStoredFormat2Golden(t *testing.T) {
	for _, o := range filledObjects() {
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
	req := Request{Version: Version, Verb: VerbApply, Put: filledObjects(),
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

func bodyOf(o Object) any {
	switch o.Kind {
	case KindDirector:
		return o.Director
	case KindVirtualServer:
		return []any{o.VirtualServer, o.VirtualServerGroup}
	case KindRealServer:
		return o.RealServer
	case KindRealServerHost:
		return o.RealServerHost
	case KindHAProxySettings:
		return o.HAProxySettings
	case KindHAProxyFrontend:
		return o.HAProxyFrontend
	}
	return nil
}
