package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// fullFrontend sets every attribute of lvs_haproxy_frontend once.
func fullFrontend() haproxyFrontendResourceModel {
	return haproxyFrontendResourceModel{
		Name:    str("web"),
		Mode:    str("http"),
		Maxconn: num(2000),
		Options: []types.String{str("option forwardfor")},
		Binds: []haproxyBindModel{
			{Address: ip("10.0.0.10"), Port: num(80), Options: types.StringNull()},
			{Address: ip("10.0.0.10"), Port: num(443), Options: str("ssl crt /etc/haproxy/site.pem")},
		},
		ACLs: []haproxyACLModel{{Name: str("is_admin"), Criterion: str("path_beg /admin")}},
		haproxyTimeoutsModel: haproxyTimeoutsModel{
			TimeoutClient: num(30000), TimeoutHTTPRequest: num(5000),
		},
		Backend: &frontendBackend{
			Balance:    str("hdr"),
			BalanceArg: str("Host"),
			Options:    []types.String{str("http-reuse safe")},
			Servers: []haproxyServerModel{{
				Name: str("a"), Address: ip("192.168.1.10"), Port: num(8080), Weight: num(0), Check: flag(true),
				Inter: num(2000), Fall: num(3), Rise: num(2), Backup: flag(true), Maxconn: num(100), Options: str("send-proxy"),
			}},
			HTTPCheck: &haproxyHTTPCheckModel{Method: str("GET"), Path: str("/healthz"), Host: str("web"), ExpectStatus: str("200")},
			haproxyTimeoutsModel: haproxyTimeoutsModel{
				TimeoutServer: num(30000), TimeoutConnect: num(1000), TimeoutCheck: num(500),
			},
		},
	}
}

func TestFrontendToWire(t *testing.T) {
	m := fullFrontend()
	got := m.toWire()
	want := wire.HAProxyFrontend{
		Frontend: model.HAProxyFrontend{
			Name: "web", Mode: "http", Maxconn: 2000, DefaultBackend: "web",
			Binds: []model.HAProxyBind{
				{Address: addr("10.0.0.10"), Port: 80},
				{Address: addr("10.0.0.10"), Port: 443, Options: "ssl crt /etc/haproxy/site.pem"},
			},
			ACLs:     []model.HAProxyACL{{Name: "is_admin", Criterion: "path_beg /admin"}},
			Timeouts: model.HAProxyTimeouts{Client: 30000, HTTPRequest: 5000},
			Options:  []string{"option forwardfor"},
		},
		Backend: model.HAProxyBackend{
			Name: "web", Mode: "http", Balance: "hdr", BalanceArg: "Host",
			Servers: []model.HAProxyServer{{
				Name: "a", Address: addr("192.168.1.10"), Port: 8080, Weight: ptr(0), Check: true,
				Inter: 2000, Fall: 3, Rise: 2, Backup: true, Maxconn: 100, Options: "send-proxy",
			}},
			HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/healthz", Host: "web", ExpectStatus: "200"},
			Timeouts:  model.HAProxyTimeouts{Server: 30000, Connect: 1000, Check: 500},
			Options:   []string{"http-reuse safe"},
		},
	}
	if d := cmp.Diff(want, got, equal); d != "" {
		t.Fatalf("toWire (-want +got):\n%s", d)
	}
	obj := m.object()
	if obj.Key != (wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}) || obj.HAProxyFrontend == nil {
		t.Fatalf("object key %v", obj.Key)
	}
}

// TestFrontendFromWire proves that a frontend read back from the host
// (import, or a change another run made) maps to the value that stores
// the same object again, and that a value equal to what is stored is kept
// as written.
func TestFrontendFromWire(t *testing.T) {
	full := fullFrontend()
	stored := full.toWire()

	var imported haproxyFrontendResourceModel
	imported.setFromWire(&stored)
	if d := cmp.Diff(stored, imported.toWire(), equal); d != "" {
		t.Fatalf("round trip (-stored +imported):\n%s", d)
	}
	if !imported.Binds[0].Options.IsNull() || !imported.Backend.Servers[0].Weight.Equal(num(0)) {
		t.Fatalf("unset bind options must be null and weight 0 kept: %+v", imported.Binds[0])
	}

	// An explicit false that maps to the stored object is kept.
	written := fullFrontend()
	written.Backend.Servers[0].Backup = flag(false)
	storedFalse := written.toWire()
	written.setFromWire(&storedFalse)
	if !written.Backend.Servers[0].Backup.Equal(flag(false)) {
		t.Fatalf("backup = false became %v", written.Backend.Servers[0].Backup)
	}

	// A stored object that differs replaces the value.
	changed := fullFrontend()
	storedChanged := stored
	storedChanged.Backend.Servers = append([]model.HAProxyServer(nil), stored.Backend.Servers...)
	storedChanged.Backend.Servers[0].Port = 9090
	changed.setFromWire(&storedChanged)
	if !changed.Backend.Servers[0].Port.Equal(num(9090)) {
		t.Fatalf("stored port 9090 not read back: %v", changed.Backend.Servers[0].Port)
	}

	// No backend settings at all read back as no backend block.
	bare := haproxyFrontendResourceModel{Name: str("tcp1"), Binds: []haproxyBindModel{{Address: ip("10.0.0.1"), Port: num(22)}}}
	storedBare := bare.toWire()
	var readBare haproxyFrontendResourceModel
	readBare.setFromWire(&storedBare)
	if readBare.Backend != nil {
		t.Fatalf("empty backend read back as %+v", readBare.Backend)
	}
}

// TestFrontendValidatePaths proves that the model's rules land on the
// resource's own attribute paths.
func TestFrontendValidatePaths(t *testing.T) {
	m := fullFrontend()
	m.Name = str("bad name")
	m.Binds = nil
	m.Backend.Servers[0].Port = num(0)
	m.Backend.haproxyTimeoutsModel.TimeoutServer = num(-1)
	errs := model.AsErrors(m.validate())
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path.String())
	}
	for _, want := range []string{"name", "bind", "backend.server[0].port", "backend.timeout_server"} {
		found := false
		for _, p := range paths {
			found = found || p == want
		}
		if !found {
			t.Errorf("no error at %s; errors at %v", want, paths)
		}
	}
	for _, p := range paths {
		if p == "backend.name" || p == "frontend" || p == "backend" {
			t.Errorf("error at %s, which the resource does not have", p)
		}
	}
	ok := fullFrontend()
	if err := ok.validate(); err != nil {
		t.Fatalf("full frontend: %v", err)
	}
}

func TestFrontendSchemaValid(t *testing.T) {
	for _, r := range []resource.Resource{NewHAProxyFrontendResource(), NewHAProxyResource()} {
		var resp resource.SchemaResponse
		r.Schema(context.Background(), resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("schema: %v", resp.Diagnostics)
		}
		if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
			t.Fatalf("schema: %v", d)
		}
	}
}

// TestHAProxyFrontendResource_planTimeRules runs terraform: broken rules
// are refused at plan time, at the attribute, before any host is reached.
func TestHAProxyFrontendResource_planTimeRules(t *testing.T) {
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config: `
resource "lvs_haproxy_frontend" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name = "web"
  bind {
    port = 80
  }
  backend {
    server {
      name    = "a"
      address = "192.0.2.10"
      port    = 80
      inter   = 2000
    }
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`backend.server[0].check: inter, fall and rise tune the health check`),
		}, {
			Config: `
resource "lvs_haproxy" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  global {
    nbthread = 65
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`global.nbthread`),
		}, {
			Config: `
resource "lvs_haproxy_frontend" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name = "web"
  mode = "udp"
  bind {
    port = 80
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`Attribute mode value must be one of`),
		}},
	})
}
