package model

import (
	"net/netip"
	"strings"
	"testing"
)

func webHAProxy() *HAProxyConfig {
	return &HAProxyConfig{
		Global:   HAProxyGlobal{Maxconn: 4000, User: "haproxy", Group: "haproxy", Logs: []HAProxyLog{{Address: "/dev/log", Facility: "local0"}}},
		Defaults: HAProxyDefaults{Mode: "http", Timeouts: HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
		Frontends: []HAProxyFrontend{{
			Name:           "www",
			Binds:          []HAProxyBind{{Address: netip.MustParseAddr("192.168.0.10"), Port: 80}},
			DefaultBackend: "web",
			ACLs:           []HAProxyACL{{Name: "is_api", Criterion: "path_beg /api"}},
			UseBackends:    []HAProxyUseBackend{{Backend: "api", Condition: "is_api"}},
		}},
		Backends: []HAProxyBackend{
			{Name: "web", Balance: "roundrobin", Servers: []HAProxyServer{{Name: "w1", Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Check: true, Inter: 2000, Fall: 3}}},
			{Name: "api", Balance: "hdr", BalanceArg: "X-Tenant", Servers: []HAProxyServer{{Name: "a1", Address: netip.MustParseAddr("10.0.0.21"), Port: 8080}}},
		},
	}
}

func TestHAProxyRules(t *testing.T) {
	if err := webHAProxy().Validate(nil); err != nil {
		t.Fatalf("valid config refused:\n%v", err)
	}
	cases := []struct {
		name   string
		mutate func(c *HAProxyConfig)
		path   string
		msg    string
	}{
		{"unknown default backend", func(c *HAProxyConfig) { c.Frontends[0].DefaultBackend = "nope" },
			"frontend[0].default_backend", `"nope" is not the name of a backend`},
		{"unknown use_backend", func(c *HAProxyConfig) { c.Frontends[0].UseBackends[0].Backend = "nope" },
			"frontend[0].use_backend[0].backend", "not the name of a backend"},
		{"mode enum", func(c *HAProxyConfig) { c.Backends[0].Mode = "udp" },
			"backend[0].mode", `"tcp" or "http"`},
		{"balance enum", func(c *HAProxyConfig) { c.Backends[0].Balance = "rr" },
			"backend[0].balance", `"roundrobin"`},
		{"hdr needs a name", func(c *HAProxyConfig) { c.Backends[1].BalanceArg = "" },
			"backend[1].balance_arg", "must be set"},
		{"duplicate server", func(c *HAProxyConfig) {
			c.Backends[0].Servers = append(c.Backends[0].Servers, c.Backends[0].Servers[0])
		}, "backend[0].server[1].name", "already the name"},
		{"duplicate bind", func(c *HAProxyConfig) {
			f := c.Frontends[0]
			f.Name = "www2"
			f.UseBackends = nil
			c.Frontends = append(c.Frontends, f)
		}, "frontend[1].bind[0]", "already bound by frontend www"},
		{"check tuning without check", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Check = false },
			"backend[0].server[0].check", "set check = true"},
		{"injection in acl", func(c *HAProxyConfig) { c.Frontends[0].ACLs[0].Criterion = "path_beg /x\nbackend evil" },
			"frontend[0].acl[0].criterion", "line break"},
		{"comment in option", func(c *HAProxyConfig) { c.Defaults.Options = []string{"httplog # x"} },
			"defaults.options[0]", "`#`"},
		{"global log level", func(c *HAProxyConfig) { c.Global.Logs[0].Level = "verbose" },
			"global.log[0].level", `"emerg"`},
		{"mode mismatch", func(c *HAProxyConfig) { c.Backends[0].Mode = "tcp" },
			"frontend[0].mode", "haproxy refuses to join them"},
		{"frontend without backend", func(c *HAProxyConfig) {
			c.Frontends[0].DefaultBackend = ""
			c.Frontends[0].UseBackends = nil
		}, "frontend[0].default_backend", "must be set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := webHAProxy()
			tc.mutate(c)
			errs := AsErrors(c.Validate(nil))
			for _, e := range errs {
				if e.Path.String() == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("want an error at %s containing %q, got:\n%v", tc.path, tc.msg, errs)
		})
	}
}
