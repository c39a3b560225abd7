package provider

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The read mappings are complete by test, from the model's side: every
// leaf field of what a host stores (walked through nested structs,
// pointers and one element of each list) changes what Read maps back
// when it alone changes. A model field added without its line in the
// *From mapping fails here instead of hiding drift from a user; a field
// Read leaves out on purpose is listed with the reason.

// walkLeaves calls visit for every leaf of v (a settable value whose
// pointers and lists fill allocated, one element each), with its path.
func walkLeaves(v reflect.Value, path string, visit func(path string, leaf reflect.Value)) {
	switch {
	case isLeafType(v.Type()):
		visit(path, v)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = f.Name
			}
			walkLeaves(v.Field(i), strings.TrimPrefix(path+"."+name, "."), visit)
		}
	case v.Kind() == reflect.Pointer:
		walkLeaves(v.Elem(), path, visit)
	case v.Kind() == reflect.Slice:
		walkLeaves(v.Index(0), path+"[0]", visit)
	default:
		panic(fmt.Sprintf("walkLeaves: %s: no rule for %s", path, v.Type()))
	}
}

var (
	addrType     = reflect.TypeFor[netip.Addr]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
)

// isLeafType: scalars, addresses, prefixes, and pointers to and lists of
// them.
func isLeafType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Float64:
		return true
	case reflect.Pointer, reflect.Slice:
		return isLeafType(t.Elem())
	}
	return t == addrType || t == prefixType || t == addrPortType
}

// filled is a zero T whose pointers to structs are allocated and whose
// lists of structs hold one filled element, so that every leaf exists.
func filled[T any]() T {
	var x T
	fill(reflect.ValueOf(&x).Elem())
	return x
}

func fill(v reflect.Value) {
	switch {
	case isLeafType(v.Type()):
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	}
}

// setLeaf gives leaf a value unlike its zero and unlike any default.
func setLeaf(leaf reflect.Value) {
	t := leaf.Type()
	switch {
	case t == addrType:
		leaf.Set(reflect.ValueOf(netip.MustParseAddr("192.0.2.77")))
	case t == prefixType:
		leaf.Set(reflect.ValueOf(netip.MustParsePrefix("192.0.2.0/24")))
	case t == addrPortType:
		leaf.Set(reflect.ValueOf(netip.MustParseAddrPort("192.0.2.53:53")))
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		setLeaf(p.Elem())
		leaf.Set(p)
	case t.Kind() == reflect.Slice:
		s := reflect.MakeSlice(t, 1, 1)
		setLeaf(s.Index(0))
		leaf.Set(s)
	case t.Kind() == reflect.String:
		leaf.SetString("perturbed")
	case t.Kind() == reflect.Bool:
		leaf.SetBool(!leaf.Bool())
	case t.Kind() == reflect.Float64:
		leaf.SetFloat(7.5)
	case leaf.CanInt():
		leaf.SetInt(7)
	default:
		leaf.SetUint(7)
	}
}

// checkModelReadBack perturbs each leaf of a filled T alone and asserts
// that read maps the result to something else than the filled T itself;
// notRead lists the leaf paths read leaves out, with why. It returns the
// paths it checked.
func checkModelReadBack[T any](t *testing.T, notRead map[string]string, read func(T) any) []string {
	t.Helper()
	base := filled[T]()
	want := read(base)
	var paths []string
	walkLeaves(reflect.ValueOf(&base).Elem(), "", func(p string, _ reflect.Value) { paths = append(paths, p) })
	for name := range notRead {
		if !slices.ContainsFunc(paths, func(p string) bool { return under(p, name) }) {
			t.Errorf("notRead lists %q, which the model does not have", name)
		}
	}
	for i, p := range paths {
		if slices.ContainsFunc(slices.Collect(maps.Keys(notRead)), func(name string) bool { return under(p, name) }) {
			continue
		}
		x := filled[T]() // shares no list or pointer with base
		k := 0
		walkLeaves(reflect.ValueOf(&x).Elem(), "", func(_ string, leaf reflect.Value) {
			if k == i {
				setLeaf(leaf)
			}
			k++
		})
		if got := read(x); reflect.DeepEqual(got, want) {
			t.Errorf("%s: the host storing another value is not read back (no drift would show): map it, or list it in notRead with why", p)
		}
	}
	return paths
}

// under reports whether path is name or lies below it.
func under(path, name string) bool {
	return path == name || strings.HasPrefix(path, name+".") || strings.HasPrefix(path, name+"[")
}

func TestReadBackEveryDirectorField(t *testing.T) {
	paths := checkModelReadBack[model.Director](t, map[string]string{
		"sysctls[0].optional": "only the derived IPVS defaults are optional; a director's own sysctl never is, so the model has no attribute for it",
	}, func(d model.Director) any { return directorModelFrom(d) })
	t.Logf("%d director fields checked", len(paths))
}

func TestReadBackEveryHAProxyField(t *testing.T) {
	t.Run("global", func(t *testing.T) {
		checkModelReadBack[model.HAProxyGlobal](t, map[string]string{}, func(g model.HAProxyGlobal) any { return globalFromModel(g) })
	})
	t.Run("defaults", func(t *testing.T) {
		checkModelReadBack[model.HAProxyDefaults](t, map[string]string{}, func(d model.HAProxyDefaults) any { return defaultsFromModel(d) })
	})
	t.Run("backend", func(t *testing.T) {
		checkModelReadBack[model.HAProxyBackend](t, map[string]string{}, func(b model.HAProxyBackend) any { return backendFromModel(b) })
	})
	// lvs_haproxy reads the host's settings object whole: global,
	// defaults and resolvers.
	t.Run("settings", func(t *testing.T) {
		checkModelReadBack[wire.HAProxySettings](t, map[string]string{}, func(s wire.HAProxySettings) any {
			var m haproxyResourceModel
			m.setFromWire(&s)
			return m
		})
	})
}

// A frontend with a backend of its own reads both sections back.
func TestReadBackEveryHAProxyFrontendField(t *testing.T) {
	paths := checkModelReadBack[wire.HAProxyFrontend](t, map[string]string{
		"frontend.default_backend": "a frontend with a backend of its own routes to it by default; read for frontends on shared backends (below)",
	}, func(f wire.HAProxyFrontend) any {
		if f.Backend.Name == "" {
			f.Backend.Name = "own" // a backend of its own (OwnsBackend)
		}
		var m haproxyFrontendResourceModel
		m.setFromWire(&f)
		return m
	})
	t.Logf("%d frontend fields checked", len(paths))
}

// A frontend on shared backends (lvs_haproxy_backend) reads its own
// section back, default_backend included.
func TestReadBackEveryHAProxySharedFrontendField(t *testing.T) {
	checkModelReadBack[model.HAProxyFrontend](t, map[string]string{}, func(f model.HAProxyFrontend) any {
		var m haproxyFrontendResourceModel
		m.setFromWire(&wire.HAProxyFrontend{Frontend: f})
		return m
	})
}

func TestReadBackEveryVirtualServerField(t *testing.T) {
	m := vsModel()
	paths := checkModelReadBack[model.VirtualServer](t, map[string]string{
		"address": "identity: in the id, changing it replaces", "port": "identity", "protocol": "identity",
		"fwmark": "identity", "family": "identity",
		"group":        "identity and members: read by GroupService, tested in virtual_server_group_test.go",
		"real_servers": "read per destination: TestReadMapsEveryInlineRealServerAttribute",
	}, func(vs model.VirtualServer) any {
		if vs.Fwmark == 0 {
			vs.Fwmark = 1 // fwmark_match belongs to a fwmark service
		}
		for i := range vs.FwmarkMatches {
			if len(vs.FwmarkMatches[i].Destinations) == 0 { // a match marks packets to somewhere
				vs.FwmarkMatches[i].Destinations = []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32")}
			}
		}
		return m.withObserved(&vs)
	})
	t.Logf("%d virtual server fields checked", len(paths))
}

func TestReadBackEveryRealServerField(t *testing.T) {
	var m realServerResourceModel
	paths := checkModelReadBack[model.RealServer](t, map[string]string{
		"address": "identity: in the id, changing it replaces", "port": "identity",
		"ping_check.CheckCommon.connect_port": "PING_CHECK has no port: the schema has none",
	}, func(rs model.RealServer) any { return m.withObserved(&rs, "dr") })
	t.Logf("%d real server fields checked", len(paths))
}

// checkModelRoundTrip perturbs each leaf of a filled T alone and asserts
// that write(read(x)) gives x back: a field Read maps but the
// configuration's toModel forgets (or the other way round) fails here
// instead of reaching a host as its zero value.
func checkModelRoundTrip[T any](t *testing.T, roundTrip func(T) T) {
	t.Helper()
	var paths []string
	base := filled[T]()
	walkLeaves(reflect.ValueOf(&base).Elem(), "", func(p string, _ reflect.Value) { paths = append(paths, p) })
	for i, p := range paths {
		x := filled[T]()
		k := 0
		walkLeaves(reflect.ValueOf(&x).Elem(), "", func(_ string, leaf reflect.Value) {
			if k == i {
				setLeaf(leaf)
			}
			k++
		})
		if got := roundTrip(x); !reflect.DeepEqual(got, x) {
			t.Errorf("%s: read then written back is %+v, want %+v: map it in both directions", p, got, x)
		}
	}
}

// The haproxy shapes make the trip model -> Terraform -> model unchanged.
func TestHAProxyMappingsRoundTrip(t *testing.T) {
	t.Run("backend", func(t *testing.T) {
		checkModelRoundTrip(t, func(b model.HAProxyBackend) model.HAProxyBackend {
			m := backendFromModel(b)
			return m.toModel()
		})
	})
	t.Run("settings", func(t *testing.T) {
		checkModelRoundTrip(t, func(s wire.HAProxySettings) wire.HAProxySettings {
			var m haproxyResourceModel
			m.setFromWire(&s)
			return m.toWire()
		})
	})
}
