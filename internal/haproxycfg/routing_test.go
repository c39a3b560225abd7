package haproxycfg

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// TestParseRoutingAndServers: the routing and server forms the model
// carries are read into its fields, with the lines they came from.
func TestParseRoutingAndServers(t *testing.T) {
	const text = `global
  uid 200
  gid 201
defaults
  balance random(3)
frontend f
  bind :80
  acl is_api path_beg /api
  use_backend api if is_api
  use_backend api if { path_beg /v2 /v3 }
  use_backend b
  default_backend b
backend b
  balance hash req.hdr(host)
  server s1 10.0.0.1 check port 8080
  server s2 [2001:db8::2]
  server s3 10.0.0.3:80
backend api
  balance rdp-cookie(msts)
  server a1 10.0.1.1:80
`
	cfg, _, lines, err := ParseWithLines(strings.NewReader(text), "h.cfg")
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Frontends[0]
	want := []model.HAProxyUseBackend{
		{Backend: "api", Cond: "if", Condition: "is_api"},
		{Backend: "api", Cond: "if", Condition: "{ path_beg /v2 /v3 }"},
		{Backend: "b", Cond: "if", Condition: "TRUE"},
	}
	for i, u := range want {
		if f.UseBackends[i] != u {
			t.Errorf("use_backend %d: %+v, want %+v", i, f.UseBackends[i], u)
		}
	}
	if cfg.Global.UID != 200 || cfg.Global.GID != 201 || cfg.Defaults.Balance != "random" || cfg.Defaults.BalanceArg != "3" {
		t.Errorf("global %+v defaults %+v", cfg.Global, cfg.Defaults)
	}
	b := cfg.Backends[0]
	if b.Balance != "hash" || b.BalanceArg != "req.hdr(host)" || cfg.Backends[1].Balance != "rdp-cookie" || cfg.Backends[1].BalanceArg != "msts" {
		t.Errorf("balances %q %q / %q %q", b.Balance, b.BalanceArg, cfg.Backends[1].Balance, cfg.Backends[1].BalanceArg)
	}
	if s := b.Servers[0]; s.Port != 0 || !s.Check || s.CheckPort != 8080 || s.Options != "" {
		t.Errorf("port-less server %+v", s)
	}
	if s := b.Servers[1]; s.Address != netip.MustParseAddr("2001:db8::2") || s.Port != 0 {
		t.Errorf("port-less IPv6 server %+v", s)
	}
	if err := cfg.Validate(nil); err != nil {
		t.Errorf("the parsed file is refused: %v", err)
	}
	for path, no := range map[string]int{"frontend[0].use_backend[1]": 10, "backend[0].server[2]": 17, "backend[1]": 18, "global.uid": 2} {
		if got := lines[path]; got != no {
			t.Errorf("line of %s: %d, want %d", path, got, no)
		}
	}
	if got := lines.Of(model.Path{"frontend", 0, "use_backend", 2, "condition"}); got != 11 {
		t.Errorf("line of a rule's condition: %d, want 11", got)
	}
}
