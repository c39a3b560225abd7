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
			"frontend[0].mode", "haproxy refuses an http frontend feeding a tcp backend"},
		{"frontend without backend", func(c *HAProxyConfig) {
			c.Frontends[0].DefaultBackend = ""
			c.Frontends[0].UseBackends = nil
		}, "frontend[0].default_backend", "must be set"},
		{"frontend without backend whose options are not stats", func(c *HAProxyConfig) {
			c.Frontends[0].DefaultBackend = ""
			c.Frontends[0].UseBackends = nil
			c.Frontends[0].Options = []string{"option forwardfor", "http-request set-header X-Stats 1"}
		}, "frontend[0].default_backend", "must be set (or give use_backend rules); a frontend without a backend drops every request"},
		{"stats frontend without backend in tcp mode", func(c *HAProxyConfig) {
			c.Frontends[0].DefaultBackend = ""
			c.Frontends[0].UseBackends = nil
			c.Frontends[0].Options = []string{"stats uri /"}
			c.Frontends[0].Mode = "tcp"
		}, "frontend[0].default_backend", "haproxy ignores them in tcp mode"},
		{"undeclared acl", func(c *HAProxyConfig) { c.Frontends[0].UseBackends[0].Condition = "is_api or !is_static" },
			"frontend[0].use_backend[0].condition", `uses the ACL "is_static", which this frontend does not declare`},
		{"unclosed anonymous acl", func(c *HAProxyConfig) { c.Frontends[0].UseBackends[0].Condition = "{ path_beg /img" },
			"frontend[0].use_backend[0].condition", "never closes it"},
		{"brace glued to a word", func(c *HAProxyConfig) { c.Frontends[0].UseBackends[0].Condition = "{path_beg /img }" },
			"frontend[0].use_backend[0].condition", "braces of an anonymous ACL are words of their own"},
		{"use_backend in options", func(c *HAProxyConfig) { c.Frontends[0].Options = []string{"use_backend nowhere if TRUE"} },
			"frontend[0].options[0]", "give it as a use_backend block"},
		{"section keyword in options", func(c *HAProxyConfig) { c.Backends[0].Options = []string{"backend evil"} },
			"backend[0].options[0]", "opens a new section"},
		{"port-less check without check port", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Port = 0 },
			"backend[0].server[0].check_port", "port-less server"},
		{"both proxy versions", func(c *HAProxyConfig) {
			c.Backends[0].Servers[0].SendProxy, c.Backends[0].Servers[0].SendProxyV2 = true, true
		}, "backend[0].server[0].send_proxy_v2", "conflicts with send_proxy"},
		{"check addr without check", func(c *HAProxyConfig) {
			c.Backends[1].Servers[0].CheckAddr = netip.MustParseAddr("10.0.0.99")
		}, "backend[1].server[0].check", "set check = true"},
		{"weight above 256", func(c *HAProxyConfig) { w := 257; c.Backends[0].Servers[0].Weight = &w },
			"backend[0].server[0].weight", "256"},
		{"random draws", func(c *HAProxyConfig) { c.Backends[0].Balance, c.Backends[0].BalanceArg = "random", "x" },
			"backend[0].balance_arg", "number of draws"},
		{"hash needs an expression", func(c *HAProxyConfig) { c.Backends[0].Balance = "hash" },
			"backend[0].balance_arg", "sample expression"},
		{"defaults balance", func(c *HAProxyConfig) { c.Defaults.Balance = "rand" },
			"defaults.balance", `"random"`},
		{"bad host name", func(c *HAProxyConfig) { byName(c, "app_1.example.com") },
			"backend[0].server[0].address", "RFC 1123 host name"},
		{"host name label too long", func(c *HAProxyConfig) { byName(c, strings.Repeat("a", 64)+".example") },
			"backend[0].server[0].address", "RFC 1123"},
		{"mistyped address", func(c *HAProxyConfig) { byName(c, "10.0.0.256") },
			"backend[0].server[0].address", "the last one not all digits"},
		{"no address", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Address = netip.Addr{} },
			"backend[0].server[0].address", "an IP address or an RFC 1123 host name"},
		{"address and host name", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Hostname = "app.example.com" },
			"backend[0].server[0].address", "give one"},
		{"undeclared resolvers", func(c *HAProxyConfig) { byName(c, "app.example.com").Resolvers = "dns" },
			"backend[0].server[0].resolvers", `"dns" is not the name of a resolvers section`},
		{"resolvers for an IP address", func(c *HAProxyConfig) {
			c.Resolvers = []HAProxyResolvers{dnsResolvers()}
			c.Backends[0].Servers[0].Resolvers = "dns"
		}, "backend[0].server[0].resolvers", "resolves a host name"},
		{"resolve_prefer enum", func(c *HAProxyConfig) { byName(c, "app.example.com").ResolvePrefer = "ipv5" },
			"backend[0].server[0].resolve_prefer", `"ipv4" or "ipv6"`},
		{"init_addr method", func(c *HAProxyConfig) { byName(c, "app.example.com").InitAddr = []string{"last", "dns"} },
			"backend[0].server[0].init_addr[1]", `"last", "libc" or "none" or an IP address`},
		{"init_addr twice", func(c *HAProxyConfig) { byName(c, "app.example.com").InitAddr = []string{"libc", "libc"} },
			"backend[0].server[0].init_addr[1]", "listed twice"},
		{"init_addr for an IP address", func(c *HAProxyConfig) { c.Backends[0].Servers[0].InitAddr = []string{"none"} },
			"backend[0].server[0].init_addr", "says how haproxy finds a host name's address"},
		{"resolvers without nameservers", func(c *HAProxyConfig) { c.Resolvers = []HAProxyResolvers{{Name: "dns"}} },
			"resolvers[0].nameservers", "would resolve nothing"},
		{"nameserver without port", func(c *HAProxyConfig) {
			c.Resolvers = []HAProxyResolvers{{Name: "dns", Nameservers: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("10.0.0.53"), 0)}}}
		}, "resolvers[0].nameservers[0]", "port 0"},
		{"duplicate resolvers", func(c *HAProxyConfig) { c.Resolvers = []HAProxyResolvers{dnsResolvers(), dnsResolvers()} },
			"resolvers[1].name", "already the name of another resolvers section"},
		{"payload size", func(c *HAProxyConfig) {
			r := dnsResolvers()
			r.AcceptedPayloadSize = 100
			c.Resolvers = []HAProxyResolvers{r}
		}, "resolvers[0].accepted_payload_size", "512 to 65535"},
		{"ssl without a CA file", func(c *HAProxyConfig) { c.Backends[0].Servers[0].SSL = true },
			"backend[0].server[0].ca_file", `must be set: with ssl or check_ssl haproxy verifies the server's certificate (verify = "required")`},
		{"verify required without a CA file", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.CheckSSL, s.Verify = true, "required"
		}, "backend[0].server[0].ca_file", "must be set"},
		{"verify enum", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.Verify = true, "optional"
		}, "backend[0].server[0].verify", `"none" or "required"`},
		{"verify without ssl", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Verify = "none" },
			"backend[0].server[0].verify", "set ssl = true"},
		{"sni without ssl", func(c *HAProxyConfig) { c.Backends[0].Servers[0].SNI = "str(app.example.com)" },
			"backend[0].server[0].sni", "set ssl = true"},
		{"CA file outside the certificate directories", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.CAFile = true, "/tmp/ca.pem"
		}, "backend[0].server[0].ca_file", "outside the directories CA files may be in; give a path below `/etc/haproxy/` or `/etc/ssl/`"},
		{"CA file leading out", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.CAFile = true, "/etc/ssl/../shadow"
		}, "backend[0].server[0].ca_file", `".." segment`},
		{"verifyhost without verification", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.Verify, s.VerifyHost = true, "none", "app.example.com"
		}, "backend[0].server[0].verifyhost", `verify = "none" checks no certificate`},
		{"verifyhost not a name", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.CAFile, s.VerifyHost = true, "/etc/ssl/certs/ca-certificates.crt", "app example"
		}, "backend[0].server[0].verifyhost", "not an RFC 1123 host name"},
		{"check_ssl without check", func(c *HAProxyConfig) {
			s := &c.Backends[1].Servers[0]
			s.CheckSSL, s.Verify = true, "none"
		}, "backend[1].server[0].check_ssl", "set check = true"},
		{"ssl in options too", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.SSL, s.Verify, s.Options = true, "none", "ssl alpn h2"
		}, "backend[0].server[0].options", `"ssl", which the attribute ssl sets`},
		{"agent check without port", func(c *HAProxyConfig) { c.Backends[0].Servers[0].AgentCheck = true },
			"backend[0].server[0].agent_port", "must be set with agent_check = true"},
		{"agent port without agent check", func(c *HAProxyConfig) { c.Backends[0].Servers[0].AgentInter = 5000 },
			"backend[0].server[0].agent_check", "set agent_check = true"},
		{"agent port range", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.AgentCheck, s.AgentPort = true, 70000
		}, "backend[0].server[0].agent_port", "0 to 65535"},
		{"agent-port in options too", func(c *HAProxyConfig) {
			s := &c.Backends[0].Servers[0]
			s.AgentCheck, s.AgentPort, s.Options = true, 9999, "agent-port 9998"
		}, "backend[0].server[0].options", "the attribute agent_port sets"},
		{"typed keyword in options", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Options = "inter 5s" },
			"backend[0].server[0].options", `"inter", which the attribute inter sets`},
		{"resolvers in options too", func(c *HAProxyConfig) {
			c.Resolvers = []HAProxyResolvers{dnsResolvers()}
			s := byName(c, "app.example.com")
			s.Resolvers, s.Options = "dns", "resolvers dns"
		}, "backend[0].server[0].options", "the attribute resolvers sets"},
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

// TestHAProxyStatsFrontend: a frontend that serves haproxy's statistics
// page (any stats line, as haproxy enables the page for each) needs no
// backend in http mode, its own or the defaults'.
func TestHAProxyStatsFrontend(t *testing.T) {
	for _, tc := range []struct {
		opts        []string
		mode, dmode string
	}{
		{[]string{"stats uri /", "stats show-modules"}, "", "http"},
		{[]string{"stats enable"}, "http", ""},
		{[]string{"stats auth admin:secret", "stats refresh 10s"}, "http", "tcp"},
		{[]string{"option httplog", "stats realm Haproxy\\ Statistics"}, "", "http"},
	} {
		c := webHAProxy()
		f := &c.Frontends[0]
		f.DefaultBackend, f.UseBackends, f.ACLs = "", nil, nil
		f.Options, f.Mode, c.Defaults.Mode = tc.opts, tc.mode, tc.dmode
		if !f.ServesStats() {
			t.Errorf("%q: not seen as serving stats", tc.opts)
		}
		if err := c.Validate(nil); err != nil {
			t.Errorf("stats frontend %q (mode %q, defaults %q) refused:\n%v", tc.opts, tc.mode, tc.dmode, err)
		}
	}
	// "stats" as a value is no stats directive.
	f := HAProxyFrontend{Options: []string{"http-request set-header X-Path stats", "stats"}}
	if f.ServesStats() {
		t.Errorf("%q seen as serving stats", f.Options)
	}
}

// byName gives the first server a host name instead of its address.
func byName(c *HAProxyConfig, name string) *HAProxyServer {
	s := &c.Backends[0].Servers[0]
	s.Address, s.Hostname = netip.Addr{}, name
	return s
}

func dnsResolvers() HAProxyResolvers {
	return HAProxyResolvers{Name: "dns", Nameservers: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:53")}}
}

func TestHAProxyServersByName(t *testing.T) {
	for _, name := range []string{"localhost", "app1.example.com", "a-b.c-d.example", "x1", "1a.example.com"} {
		c := webHAProxy()
		c.Resolvers = []HAProxyResolvers{dnsResolvers(), {Name: "sys", ParseResolvConf: true}}
		s := byName(c, name)
		s.Resolvers, s.ResolvePrefer, s.InitAddr = "dns", "ipv6", []string{"last", "libc", "none", "192.0.2.1"}
		if err := c.Validate(nil); err != nil {
			t.Errorf("%s refused:\n%v", name, err)
		}
	}
}

func TestHAProxyServerTLS(t *testing.T) {
	for _, tls := range []HAProxyServer{
		{SSL: true, Verify: "none"},
		{SSL: true, CAFile: "/etc/ssl/certs/ca-certificates.crt", VerifyHost: "app.example.com", SNI: "str(app.example.com)"},
		{SSL: true, Verify: "required", CAFile: "/etc/haproxy/ca/internal.pem", CheckSSL: true},
		{CheckSSL: true, Verify: "none", SNI: "req.hdr(host)"},
		{SSL: true, Verify: "none", Options: "alpn h2,http/1.1"},
	} {
		c := webHAProxy()
		s := &c.Backends[0].Servers[0]
		s.SSL, s.Verify, s.CAFile, s.VerifyHost, s.SNI, s.CheckSSL, s.Options = tls.SSL, tls.Verify, tls.CAFile, tls.VerifyHost, tls.SNI, tls.CheckSSL, tls.Options
		if err := c.Validate(nil); err != nil {
			t.Errorf("%+v refused:\n%v", tls, err)
		}
	}
}

// TestHAProxyAcceptedShapes: what haproxy 2.6 accepts, the model does:
// anonymous ACLs, predefined ACLs, a tcp frontend feeding an http backend
// (haproxy upgrades the stream), port-less servers, the server keywords
// the model carries, every balance algorithm.
func TestHAProxyAcceptedShapes(t *testing.T) {
	c := webHAProxy()
	f := &c.Frontends[0]
	f.UseBackends = append(f.UseBackends,
		HAProxyUseBackend{Backend: "api", Condition: "{ hdr_beg(host) -i img } or { path_beg /img /css }"},
		HAProxyUseBackend{Backend: "api", Cond: "unless", Condition: "!is_api || METH_GET"},
		HAProxyUseBackend{Backend: "api", Condition: "is_extra"})
	f.Options = []string{"acl is_extra src 10.0.0.0/8"}
	f.Mode = "tcp"
	c.Defaults.Mode = ""
	c.Defaults.Balance, c.Defaults.BalanceArg = "random", "3"
	c.Backends[0].Mode = "http"
	s := &c.Backends[0].Servers[0]
	s.Port, s.CheckPort, s.CheckAddr, s.SendProxyV2, s.Slowstart, s.Maxqueue = 0, 8080, netip.MustParseAddr("10.0.0.12"), true, 10000, 50
	w := 256
	s.Weight = &w
	s.AgentCheck, s.AgentPort, s.AgentInter = true, 9999, 3000
	c.Backends[1].Balance, c.Backends[1].BalanceArg = "hash", "req.hdr(host)"
	if err := c.Validate(nil); err != nil {
		t.Fatalf("refused:\n%v", err)
	}
	for _, b := range [][2]string{{"rdp-cookie", ""}, {"rdp-cookie", "msts"}, {"random", ""}, {"first", ""}} {
		c.Backends[1].Balance, c.Backends[1].BalanceArg = b[0], b[1]
		if err := c.Validate(nil); err != nil {
			t.Errorf("balance %v refused:\n%v", b, err)
		}
	}
}

// TestHAProxyPathRules: every path that reaches haproxy.cfg is absolute,
// clean and, where haproxy creates a file or reads a secret, confined; the
// free text cannot name such a path either. Each case gives the attribute
// path and a fragment of the message that must locate and explain it.
func TestHAProxyPathRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *HAProxyConfig)
		path   string
		msg    string
	}{
		{"socket over /etc/passwd", func(c *HAProxyConfig) { c.Global.StatsSocket = "/etc/passwd" },
			"global.stats_socket", "give a path below `/run/haproxy/`, `/var/run/haproxy/` or `/var/lib/haproxy/`"},
		{"socket escaping its directory", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/../../etc/passwd" },
			"global.stats_socket", `contains a ".." segment`},
		{"socket with a doubled slash", func(c *HAProxyConfig) { c.Global.StatsSocket = "//run/haproxy/x" },
			"global.stats_socket", `not a clean path (it has "." segments, "//" or a trailing "/"); give "/run/haproxy/x"`},
		{"socket with a dot segment", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/./admin.sock" },
			"global.stats_socket", `give "/run/haproxy/admin.sock"`},
		{"relative socket", func(c *HAProxyConfig) { c.Global.StatsSocket = "run/haproxy/admin.sock" },
			"global.stats_socket", "relative path; give an absolute path"},
		{"socket with a trailing slash", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/admin.sock/" },
			"global.stats_socket", `give "/run/haproxy/admin.sock"`},
		{"socket on its directory", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy" },
			"global.stats_socket", "outside the directories the admin socket may be in"},
		{"socket in a look-alike directory", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxyx/admin.sock" },
			"global.stats_socket", "outside the directories"},
		{"socket with a space", func(c *HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/a level admin" },
			"global.stats_socket", "contains a space"},
		{"chroot at /", func(c *HAProxyConfig) { c.Global.Chroot = "/" },
			"global.chroot", "give a directory below `/var/lib/` (such as `/var/lib/haproxy`) or `/var/empty`"},
		{"chroot at /etc", func(c *HAProxyConfig) { c.Global.Chroot = "/etc" },
			"global.chroot", "not a directory haproxy may chroot into"},
		{"chroot at /var/lib", func(c *HAProxyConfig) { c.Global.Chroot = "/var/lib" },
			"global.chroot", "not a directory haproxy may chroot into"},
		{"chroot escaping", func(c *HAProxyConfig) { c.Global.Chroot = "/var/lib/haproxy/../../../etc" },
			"global.chroot", `".."`},
		{"chroot with a trailing slash", func(c *HAProxyConfig) { c.Global.Chroot = "/var/lib/haproxy/" },
			"global.chroot", `give "/var/lib/haproxy"`},
		{"relative chroot", func(c *HAProxyConfig) { c.Global.Chroot = "var/lib/haproxy" },
			"global.chroot", "relative path"},
		{"log socket not clean", func(c *HAProxyConfig) { c.Global.Logs[0].Address = "/dev/../dev/log" },
			"global.log[0].address", `".."`},

		{"options: stats socket", func(c *HAProxyConfig) { c.Global.Options = []string{"stats socket /etc/passwd"} },
			"global.options[0]", "\"stats socket\" creates the admin socket, replacing whatever file is at its path, and the provider owns it; set global.stats_socket instead, a path below `/run/haproxy/`"},
		{"options: stats socket spaced", func(c *HAProxyConfig) {
			c.Global.Options = []string{"maxconn 10", "stats   socket ipv4@127.0.0.1:9999"}
		},
			"global.options[1]", "set global.stats_socket instead"},
		{"options: pidfile", func(c *HAProxyConfig) { c.Global.Options = []string{"pidfile /etc/shadow"} },
			"global.options[0]", `"pidfile" makes haproxy write its pid over the file at that path, and the provider owns it; remove the line: lvs-agent starts haproxy with a pid file of its own`},
		{"options: chroot", func(c *HAProxyConfig) { c.Global.Options = []string{"chroot /"} },
			"global.options[0]", "set global.chroot instead"},
		{"options: unix-bind", func(c *HAProxyConfig) { c.Global.Options = []string{"unix-bind prefix /etc mode 777"} },
			"global.options[0]", `"unix-bind" moves and re-owns every unix socket`},
		{"options: uid", func(c *HAProxyConfig) { c.Global.Options = []string{"uid 0"} },
			"global.options[0]", "set global.user (or global.uid) instead"},
		{"options: unix bind path", func(c *HAProxyConfig) { c.Frontends[0].Options = []string{"bind /etc/passwd"} },
			"frontend[0].options[0]", `"/etc/passwd" is not an IP address`},
		{"options: unix@ bind", func(c *HAProxyConfig) { c.Frontends[0].Options = []string{"bind :81,unix@/etc/passwd mode 600"} },
			"frontend[0].options[0]", `"unix@/etc/passwd" is not an IP address`},
		{"options: abns@ bind in a listen", func(c *HAProxyConfig) {
			c.Listens = []HAProxyListen{{HAProxyBackend: HAProxyBackend{Name: "l", Options: []string{"bind abns@x"}},
				Binds: []HAProxyBind{{Port: 9000}}}}
		}, "listen[0].options[0]", `"abns@x" is not an IP address; binds on unix sockets`},
		{"options: fd@ bind", func(c *HAProxyConfig) { c.Frontends[0].Options = []string{"bind fd@3"} },
			"frontend[0].options[0]", `"fd@3" is not an IP address`},
		{"options: errorfile escaping", func(c *HAProxyConfig) {
			c.Backends[0].Options = []string{"errorfile 503 /etc/haproxy/errors/../../shadow"}
		},
			"backend[0].options[0]", `"/etc/haproxy/errors/../../shadow" contains a ".." segment`},
		{"options: relative errorfile escaping", func(c *HAProxyConfig) { c.Backends[0].Options = []string{"errorfile 503 ../shadow"} },
			"backend[0].options[0]", `"../shadow" contains a ".." segment`},
		{"options: map file escaping", func(c *HAProxyConfig) {
			c.Frontends[0].Options = []string{"http-request set-header X-Id %[src,map(/etc/haproxy/../shadow)]"}
		}, "frontend[0].options[0]", `"/etc/haproxy/../shadow" contains a ".." segment`},
		{"options: server-state-file escaping", func(c *HAProxyConfig) { c.Global.Options = []string{"server-state-file state/../../x"} },
			"global.options[0]", `".." segment`},
		{"options: lua-load escaping", func(c *HAProxyConfig) { c.Global.Options = []string{"lua-load ../x.lua"} },
			"global.options[0]", `".." segment`},
		{"options: crt-base outside", func(c *HAProxyConfig) { c.Global.Options = []string{"crt-base /root"} },
			"global.options[0]", "crt-base \"/root\" is outside the directories certificates and keys are read from; put the file below `/etc/haproxy/` or `/etc/ssl/`"},
		{"options: ssl-dh-param-file outside", func(c *HAProxyConfig) { c.Global.Options = []string{"ssl-dh-param-file /tmp/dh.pem"} },
			"global.options[0]", "outside the directories certificates"},
		{"options: default-server crt outside", func(c *HAProxyConfig) {
			c.Backends[0].Options = []string{"default-server ssl crt /home/me/client.pem"}
		}, "backend[0].options[0]", `crt "/home/me/client.pem" is outside`},
		{"acl file escaping", func(c *HAProxyConfig) { c.Frontends[0].ACLs[0].Criterion = "src -f /etc/haproxy/../shadow" },
			"frontend[0].acl[0].criterion", `".." segment`},
		{"defaults option escaping", func(c *HAProxyConfig) { c.Defaults.Options = []string{"httplog", "external-check path /usr/../tmp"} },
			"defaults.options[1]", `".." segment`},

		{"bind crt escaping", func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt /etc/haproxy/../shadow" },
			"frontend[0].bind[0].options", `"/etc/haproxy/../shadow" contains a ".." segment`},
		{"bind crt relative escaping", func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt ../../root/key.pem" },
			"frontend[0].bind[0].options", `".." segment`},
		{"bind crt outside", func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt /root/site.pem" },
			"frontend[0].bind[0].options", "crt \"/root/site.pem\" is outside the directories certificates and keys are read from; put the file below `/etc/haproxy/` or `/etc/ssl/`"},
		{"bind crt-list not clean", func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt-list /etc/haproxy//list" },
			"frontend[0].bind[0].options", `crt-list "/etc/haproxy//list" is not a clean path`},
		{"bind ca-file outside", func(c *HAProxyConfig) {
			c.Frontends[0].Binds[0].Options = "ssl crt /etc/haproxy/site.pem verify required ca-file /var/tmp/ca.pem"
		}, "frontend[0].bind[0].options", `ca-file "/var/tmp/ca.pem" is outside`},
		{"bind crl-file on the directory", func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt /etc/ssl/x.pem crl-file /etc/ssl" },
			"frontend[0].bind[0].options", `crl-file "/etc/ssl" is outside`},
		{"server ca-file escaping", func(c *HAProxyConfig) {
			c.Backends[0].Servers[0].Options = "ssl verify required ca-file /etc/ssl/../shadow"
		},
			"backend[0].server[0].options", `".." segment`},
		{"server crt outside", func(c *HAProxyConfig) { c.Backends[0].Servers[0].Options = "ssl crt /tmp/client.pem" },
			"backend[0].server[0].options", `crt "/tmp/client.pem" is outside`},
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

// TestHAProxyPathsAccepted: the paths the distributions use, and the free
// text that only looks like a path rule applies to it, stay valid.
func TestHAProxyPathsAccepted(t *testing.T) {
	for _, mutate := range []func(c *HAProxyConfig){
		func(c *HAProxyConfig) { c.Global.StatsSocket = DefaultStatsSocket },
		func(c *HAProxyConfig) { c.Global.StatsSocket = "/var/run/haproxy/admin.sock" },
		func(c *HAProxyConfig) { c.Global.StatsSocket = "/var/lib/haproxy/stats" },
		func(c *HAProxyConfig) { c.Global.Chroot = "/var/lib/haproxy" },
		func(c *HAProxyConfig) { c.Global.Chroot = "/var/empty" },
		func(c *HAProxyConfig) { c.Global.Logs[0].Address = "127.0.0.1:514" },
		func(c *HAProxyConfig) { c.Global.Logs[0].Address = "/run/systemd/journal/syslog" },
		func(c *HAProxyConfig) {
			c.Global.Options = []string{"crt-base /etc/haproxy/certs", "ca-base /etc/ssl/certs", "ssl-dh-param-file /etc/haproxy/dh.pem",
				"server-state-file /var/lib/haproxy/server-state", "tune.ssl.default-dh-param 2048", "stats timeout 30s", "log-send-hostname"}
		},
		func(c *HAProxyConfig) {
			c.Frontends[0].Binds[0].Options = "ssl crt /etc/haproxy/certs/ crt /etc/ssl/private/site.pem ca-file /etc/ssl/certs/ca.pem verify optional"
		},
		func(c *HAProxyConfig) { c.Frontends[0].Binds[0].Options = "ssl crt site.pem" },
		func(c *HAProxyConfig) {
			c.Backends[0].Servers[0].Options = "ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni str(www)"
		},
		func(c *HAProxyConfig) {
			// A traversal guard is a URL path, not a file: it stays allowed.
			c.Frontends[0].Options = []string{"http-request deny if is_api", "bind :8443,ipv6@:::8443", "stats auth admin:s3cret",
				"http-request set-header X-Id %[src,map(/etc/haproxy/ids.map)]", "errorfile 503 /etc/haproxy/errors/503.http"}
		},
		func(c *HAProxyConfig) { c.Frontends[0].ACLs[0].Criterion = "path_sub /../" },
		func(c *HAProxyConfig) { c.Frontends[0].ACLs[0].Criterion = "path_beg /api/../" },
	} {
		c := webHAProxy()
		mutate(c)
		if err := c.Validate(nil); err != nil {
			t.Errorf("refused:\n%v", err)
		}
	}
}

func TestIsRFC1123Hostname(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 63)+".", 4) // 256 characters
	for v, want := range map[string]bool{
		"localhost": true, "app1.example.com": true, "1a.example.com": true, "a-b.c": true, "x": true,
		"": false, "-a.example": false, "a-.example": false, "a..b": false, "a.": false, ".a": false,
		"a b": false, "a_b": false, "10.0.0.1": false, "a.123": false, "a/b": false, long[:253]: true, long[:254]: false,
	} {
		if got := IsRFC1123Hostname(v); got != want {
			t.Errorf("IsRFC1123Hostname(%q) = %v, want %v", v, got, want)
		}
	}
}
