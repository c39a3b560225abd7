//go:build linux

package provider

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fullBackend sets every attribute of lvs_haproxy_backend once.
func fullBackend() haproxyBackendResourceModel {
	return haproxyBackendResourceModel{haproxyBackendModel: haproxyBackendModel{
		Name: str("static"), Mode: str("http"), Balance: str("random"), BalanceArg: str("3"),
		Options: []types.String{str("option prefer-last-server")},
		Servers: []haproxyServerModel{
			{
				Name: str("s1"), Address: str("192.168.1.8"), Port: num(80), Weight: num(256), Check: flag(true),
				CheckPort: num(8080), CheckAddr: ip("192.168.1.9"), SendProxy: types.BoolNull(), SendProxyV2: flag(true),
				Slowstart: num(10000), Maxqueue: num(50), Inter: num(1000), Fall: num(3), Rise: num(2),
				Backup: types.BoolNull(), Maxconn: num(100), Options: str("minconn 10"),
			},
			{
				// Port-less: the client's destination port.
				Name: str("s2"), Address: str("192.168.1.10"), Port: types.Int64Null(), Weight: types.Int64Null(),
				Check: flag(true), CheckPort: num(80), CheckAddr: iptypes.NewIPAddressNull(), SendProxy: flag(true),
				SendProxyV2: types.BoolNull(), Slowstart: types.Int64Null(), Maxqueue: types.Int64Null(),
				Inter: types.Int64Null(), Fall: types.Int64Null(), Rise: types.Int64Null(), Backup: types.BoolNull(),
				Maxconn: types.Int64Null(), Options: types.StringNull(),
			},
		},
		HTTPCheck:            &haproxyHTTPCheckModel{Method: str("HEAD"), Path: str("/favicon.ico"), Host: types.StringNull(), ExpectStatus: types.StringNull()},
		haproxyTimeoutsModel: haproxyTimeoutsModel{TimeoutConnect: num(5000), TimeoutServer: num(5000)},
	}}
}

func TestBackendToWireAndBack(t *testing.T) {
	m := fullBackend()
	obj := m.object()
	if obj.Key != wire.HAProxyBackendKey("static") || obj.HAProxyBackend == nil {
		t.Fatalf("object %v", obj.Key)
	}
	b := obj.HAProxyBackend
	s := b.Servers[0]
	if b.Balance != "random" || b.BalanceArg != "3" || s.CheckPort != 8080 || s.CheckAddr != addr("192.168.1.9") ||
		!s.SendProxyV2 || s.Slowstart != 10000 || s.Maxqueue != 50 || *s.Weight != 256 || b.Servers[1].Port != 0 || !b.Servers[1].SendProxy {
		t.Fatalf("toModel: %+v", b)
	}
	if err := m.validate(); err != nil {
		t.Fatalf("valid backend refused: %v", err)
	}
	// Read back from the host: the same object again, every field kept.
	var imported haproxyBackendResourceModel
	imported.Name = str("static")
	imported.setFromWire(b)
	if d := cmp.Diff(*b, imported.toModel(), equal); d != "" {
		t.Fatalf("round trip (-stored +imported):\n%s", d)
	}
	// Each server field the host reports otherwise shows.
	for name, change := range map[string]func(*model.HAProxyServer){
		"port":          func(s *model.HAProxyServer) { s.Port = 81 },
		"check_port":    func(s *model.HAProxyServer) { s.CheckPort = 1 },
		"check_addr":    func(s *model.HAProxyServer) { s.CheckAddr = addr("10.9.9.9") },
		"send_proxy":    func(s *model.HAProxyServer) { s.SendProxy = true },
		"send_proxy_v2": func(s *model.HAProxyServer) { s.SendProxyV2 = false },
		"slowstart":     func(s *model.HAProxyServer) { s.Slowstart = 1 },
		"maxqueue":      func(s *model.HAProxyServer) { s.Maxqueue = 1 },
	} {
		stored := m.toModel()
		stored.Servers = append([]model.HAProxyServer(nil), stored.Servers...)
		change(&stored.Servers[0])
		read := fullBackend()
		read.setFromWire(&stored)
		if d := cmp.Diff(stored, read.toModel(), equal); d != "" {
			t.Errorf("%s: the host's value is not read back (-host +read):\n%s", name, d)
		}
	}
}

// TestBackendValidatePaths: the model's rules land on the resource's paths.
func TestBackendValidatePaths(t *testing.T) {
	m := fullBackend()
	m.Servers[1].CheckPort = types.Int64Null()
	m.Servers[0].SendProxy = flag(true)
	m.Balance, m.BalanceArg = str("hash"), types.StringNull()
	m.Options = []types.String{str("frontend evil")}
	var paths []string
	for _, e := range model.AsErrors(m.validate()) {
		paths = append(paths, e.Path.String()+": "+e.Msg)
	}
	got := strings.Join(paths, "\n")
	for _, want := range []string{
		"server[1].check_port: must be set for a port-less server",
		"server[0].send_proxy_v2: conflicts with send_proxy",
		"balance_arg: must be set for balance \"hash\"",
		"options[0]: \"frontend evil\" starts with \"frontend\", which opens a new section",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no error %q; errors:\n%s", want, got)
		}
	}
}

// TestFrontendRouting: a frontend with use_backend rules and a
// default_backend of the host owns no backend, round-trips, and its
// conditions are checked against its ACLs at plan time while the backends
// it names (the host's) are not refused as unknown.
func TestFrontendRouting(t *testing.T) {
	m := fullFrontend()
	m.Backend = nil
	m.Mode = str("tcp") // a tcp frontend may feed http backends
	m.DefaultBackend = str("dynamic")
	m.UseBackends = []haproxyUseBackendModel{
		{Backend: str("static"), Cond: types.StringNull(), Condition: str("{ hdr_beg(host) -i img }")},
		{Backend: str("static"), Cond: str("if"), Condition: str("{ path_beg /img /css }")},
		{Backend: str("admin"), Cond: str("unless"), Condition: str("!is_admin")},
	}
	fe := m.toWire()
	if fe.OwnsBackend() || fe.Frontend.DefaultBackend != "dynamic" || len(fe.Frontend.UseBackends) != 3 {
		t.Fatalf("toWire: %+v", fe)
	}
	if err := m.validate(); err != nil {
		t.Fatalf("valid routing refused: %v", err)
	}
	var read haproxyFrontendResourceModel
	read.setFromWire(&fe)
	if read.Backend != nil || !read.DefaultBackend.Equal(str("dynamic")) {
		t.Fatalf("read back backend %+v default %v", read.Backend, read.DefaultBackend)
	}
	if d := cmp.Diff(fe, read.toWire(), equal); d != "" {
		t.Fatalf("round trip (-stored +read):\n%s", d)
	}
	// The old shape (no default_backend) still owns its backend.
	old := fullFrontend()
	if w := old.toWire(); !w.OwnsBackend() || w.Frontend.DefaultBackend != "web" {
		t.Fatalf("the single-backend shape changed: %+v", w.Frontend)
	}

	bad := m
	bad.UseBackends = []haproxyUseBackendModel{{Backend: str("static"), Cond: types.StringNull(), Condition: str("is_static")}}
	errs := model.AsErrors(bad.validate())
	if len(errs) != 1 || errs[0].Path.String() != "use_backend[0].condition" || !strings.Contains(errs[0].Msg, `"is_static", which this frontend does not declare`) {
		t.Fatalf("undeclared ACL: %v", errs)
	}
	bad.UseBackends = []haproxyUseBackendModel{{Backend: str("bad name"), Cond: types.StringNull(), Condition: str("is_admin")}}
	if errs := model.AsErrors(bad.validate()); len(errs) != 1 || errs[0].Path.String() != "use_backend[0].backend" {
		t.Fatalf("bad backend name: %v", errs)
	}
	bad.UseBackends = nil
	bad.Options = []types.String{str("use_backend nowhere if TRUE")}
	if errs := model.AsErrors(bad.validate()); len(errs) != 1 || errs[0].Path.String() != "options[0]" {
		t.Fatalf("use_backend in options: %v", errs)
	}
}
