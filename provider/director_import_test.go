package provider

import (
	"reflect"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestForeignKeepalived(t *testing.T) {
	for _, c := range []struct {
		name string
		st   *wire.DaemonState
		want bool
	}{
		{"no keepalived", nil, false},
		{"no file", &wire.DaemonState{Running: true}, false},
		{"ours", &wire.DaemonState{ConfigSHA256: "ab", ConfigOurs: true}, false},
		{"hand-built", &wire.DaemonState{ConfigSHA256: "ab", Running: true}, true},
		{"hand-built, stopped", &wire.DaemonState{ConfigSHA256: "ab"}, true},
	} {
		if got := foreignKeepalived(&wire.Observed{Keepalived: c.st}); got != c.want {
			t.Errorf("%s: foreignKeepalived = %v, want %v", c.name, got, c.want)
		}
	}
}

// A director adoption puts the virtual and real servers of the file's
// virtual_server blocks the host does not store, and adopts the director
// and those services; services read from the IPVS table (the imported
// director then has the netlink engine) are left to lvs_virtual_server.
func TestKeepalivedAdoption(t *testing.T) {
	vsKey := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}
	rsKey := wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/10.0.1.1:80"}
	vs2Key := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.11:80"}
	rs2Key := wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.11:80/10.0.1.1:80"}
	imported := func(engine string) []wire.Object {
		return []wire.Object{
			{Key: directorKey, Director: &model.Director{RouterID: "dir1", Engine: engine}},
			{Key: vsKey, VirtualServer: &model.VirtualServer{}},
			{Key: rsKey, RealServer: &model.RealServer{}},
			{Key: vs2Key, VirtualServer: &model.VirtualServer{}},
			{Key: rs2Key, RealServer: &model.RealServer{}},
			{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{}},
			{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{}},
		}
	}
	keys := func(objs []wire.Object) []wire.Key {
		var out []wire.Key
		for _, o := range objs {
			out = append(out, o.Key)
		}
		return out
	}

	// keepalived engine, the host stores the second service already.
	obs := &wire.Observed{Objects: []wire.Object{{Key: vs2Key}, {Key: rs2Key}}}
	put, adopt := keepalivedAdoption(imported(""), obs)
	if want := []wire.Key{vsKey, rsKey}; !reflect.DeepEqual(keys(put), want) {
		t.Errorf("put %v, want %v", keys(put), want)
	}
	if want := []wire.Key{directorKey, vsKey}; !reflect.DeepEqual(adopt, want) {
		t.Errorf("adopt %v, want %v", adopt, want)
	}

	// Services from the IPVS table: the director alone.
	put, adopt = keepalivedAdoption(imported("netlink"), &wire.Observed{})
	if len(put) != 0 || !reflect.DeepEqual(adopt, []wire.Key{directorKey}) {
		t.Errorf("netlink import: put %v, adopt %v; want nothing put, the director adopted", keys(put), adopt)
	}

	// Nothing imported for the director: it is still the one adopted.
	put, adopt = keepalivedAdoption(nil, &wire.Observed{})
	if len(put) != 0 || !reflect.DeepEqual(adopt, []wire.Key{directorKey}) {
		t.Errorf("empty import: put %v, adopt %v", keys(put), adopt)
	}
}

func TestDirectorImportWarnings(t *testing.T) {
	all := []string{
		"/etc/keepalived/keepalived.conf:3: global_defs: \"notification_email\" is not carried by the model; left out",
		"/etc/haproxy/haproxy.cfg: listen app is imported as a frontend and a backend of that name",
		"the kernel has no IPVS: its table was not read",
	}
	got := directorImportWarnings(all)
	if want := []string{all[0], all[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("directorImportWarnings = %q, want %q", got, want)
	}
}
