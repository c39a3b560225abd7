package render

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the renderers' output")

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func intp(n int) *int { return &n }

// debianGlobal is the global section of Debian's packaged haproxy.cfg.
func debianGlobal() model.HAProxyGlobal {
	return model.HAProxyGlobal{
		Logs: []model.HAProxyLog{
			{Address: "/dev/log", Facility: "local0"},
			{Address: "/dev/log", Facility: "local1", Level: "notice"},
		},
		Chroot: "/var/lib/haproxy",
		User:   "haproxy",
		Group:  "haproxy",
	}
}

func tcpDefaults() model.HAProxyDefaults {
	return model.HAProxyDefaults{
		Mode:       "tcp",
		LogGlobal:  true,
		Redispatch: true,
		Retries:    3,
		Timeouts:   model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000},
		Options:    []string{"tcplog", "dontlognull"},
	}
}

func httpDefaults() model.HAProxyDefaults {
	d := tcpDefaults()
	d.Mode = "http"
	d.Options = []string{"httplog", "dontlognull", "forwardfor"}
	d.Timeouts.HTTPRequest = 10000
	return d
}

// haproxyCases are the classic setups, one golden file each.
var haproxyCases = []struct {
	name string
	cfg  func() *model.HAProxyConfig
}{
	// (a) Layer 4: a TCP service balanced round robin, servers checked.
	{"l4_tcp", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: tcpDefaults(),
			Frontends: []model.HAProxyFrontend{{
				Name: "mysql", Binds: []model.HAProxyBind{{Port: 3306}}, DefaultBackend: "mysql_servers",
			}},
			Backends: []model.HAProxyBackend{{
				Name: "mysql_servers", Balance: "roundrobin",
				Servers: []model.HAProxyServer{
					{Name: "db1", Address: addr("10.0.0.21"), Port: 3306, Check: true, Inter: 2000, Fall: 3, Weight: intp(2)},
					{Name: "db2", Address: addr("10.0.0.22"), Port: 3306, Check: true, Inter: 2000, Fall: 3, Weight: intp(2)},
					{Name: "db3", Address: addr("10.0.0.23"), Port: 3306, Check: true, Inter: 2000, Fall: 3, Weight: intp(1)},
				},
			}},
		}
	}},
	// (b) Layer 7: HTTP with an HTTP health check (option httpchk GET
	// /index.html in the pre-2.2 spelling) and static round robin.
	{"l7_http", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Frontends: []model.HAProxyFrontend{{
				Name: "www", Binds: []model.HAProxyBind{{Port: 80}}, DefaultBackend: "web",
			}},
			Backends: []model.HAProxyBackend{{
				Name: "web", Balance: "static-rr",
				HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/index.html"},
				Servers: []model.HAProxyServer{
					{Name: "web1", Address: addr("10.0.0.11"), Port: 80, Check: true},
					{Name: "web2", Address: addr("10.0.0.12"), Port: 80, Check: true},
				},
			}},
		}
	}},
	// (c) An haproxy real server behind LVS-DR: the VIPs sit on lo, one
	// frontend per VIP, each with its own backend.
	{"lvs_dr_realserver", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Frontends: []model.HAProxyFrontend{
				{Name: "shop", Binds: []model.HAProxyBind{{Address: addr("192.0.2.10"), Port: 80}}, DefaultBackend: "shop_app"},
				{Name: "blog", Binds: []model.HAProxyBind{{Address: addr("192.0.2.11"), Port: 80}}, DefaultBackend: "blog_app"},
				{Name: "api", Binds: []model.HAProxyBind{{Address: addr("192.0.2.12"), Port: 80}, {Address: addr("2001:db8::12"), Port: 80}}, DefaultBackend: "api_app"},
			},
			Backends: []model.HAProxyBackend{
				{Name: "shop_app", Servers: []model.HAProxyServer{{Name: "shop1", Address: addr("10.0.1.11"), Port: 8080, Check: true}}},
				{Name: "blog_app", Servers: []model.HAProxyServer{{Name: "blog1", Address: addr("10.0.1.21"), Port: 8080, Check: true}}},
				{Name: "api_app", Balance: "leastconn", Servers: []model.HAProxyServer{
					{Name: "api1", Address: addr("10.0.1.31"), Port: 8080, Check: true},
					{Name: "api2", Address: addr("2001:db8:1::32"), Port: 8080, Check: true},
				}},
			},
		}
	}},
	// (d) The haproxy side of a keepalived+haproxy pair: both nodes bind
	// the VIP, which only the MASTER holds.
	{"keepalived_pair", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Frontends: []model.HAProxyFrontend{{
				Name: "vip_http",
				Binds: []model.HAProxyBind{
					{Address: addr("192.0.2.100"), Port: 80},
					{Address: addr("2001:db8::100"), Port: 80},
				},
				DefaultBackend: "app",
			}},
			Backends: []model.HAProxyBackend{{
				Name:      "app",
				HTTPCheck: &model.HAProxyHTTPCheck{Method: "HEAD", Path: "/healthz", Host: "app.example.com", ExpectStatus: "200"},
				Servers: []model.HAProxyServer{
					{Name: "app1", Address: addr("10.0.0.31"), Port: 8080, Check: true, Rise: 2, Fall: 3},
					{Name: "app2", Address: addr("10.0.0.32"), Port: 8080, Check: true, Rise: 2, Fall: 3},
				},
			}},
		}
	}},
	// (e) ACL routing: use_backend if and unless, plus a listen section.
	{"acl_routing", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Frontends: []model.HAProxyFrontend{{
				Name:  "www",
				Binds: []model.HAProxyBind{{Port: 80}},
				ACLs: []model.HAProxyACL{
					{Name: "is_api", Criterion: "path_beg /api"},
					{Name: "is_static", Criterion: "path_end .css .js .png"},
					{Name: "internal", Criterion: "src 10.0.0.0/8"},
				},
				UseBackends: []model.HAProxyUseBackend{
					{Backend: "api", Condition: "is_api internal"},
					{Backend: "static", Condition: "is_static"},
					{Backend: "web", Cond: "unless", Condition: "is_api || is_static"},
				},
				DefaultBackend: "web",
			}},
			Backends: []model.HAProxyBackend{
				{Name: "api", Balance: "hdr", BalanceArg: "X-Tenant", Servers: []model.HAProxyServer{{Name: "api1", Address: addr("10.0.0.41"), Port: 8080, Check: true}}},
				{Name: "static", Balance: "uri", Servers: []model.HAProxyServer{{Name: "cdn1", Address: addr("10.0.0.51"), Port: 80, Check: true}}},
				{Name: "web", Servers: []model.HAProxyServer{{Name: "web1", Address: addr("10.0.0.11"), Port: 80, Check: true}}},
			},
			Listens: []model.HAProxyListen{{
				HAProxyBackend: model.HAProxyBackend{
					Name: "intranet", Balance: "source",
					Servers: []model.HAProxyServer{
						{Name: "intra1", Address: addr("10.0.0.61"), Port: 8080, Check: true},
						{Name: "intra2", Address: addr("10.0.0.62"), Port: 8080, Check: true, Backup: true},
					},
				},
				Binds: []model.HAProxyBind{{Address: addr("10.0.0.5"), Port: 8080}},
			}},
		}
	}},
	// (g) Servers by host name: resolved at startup through the system's
	// resolver (localhost), or at run time through a resolvers section,
	// starting in maintenance until the name resolves (init-addr none).
	{"servers_by_name", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Resolvers: []model.HAProxyResolvers{
				{
					Name:           "dc1",
					Nameservers:    []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:53"), netip.MustParseAddrPort("[2001:db8::53]:5353")},
					ResolveRetries: 3, TimeoutResolve: 1000, TimeoutRetry: 500, HoldValid: 10000, AcceptedPayloadSize: 8192,
				},
				{Name: "system", ParseResolvConf: true},
			},
			Frontends: []model.HAProxyFrontend{{
				Name: "www", Binds: []model.HAProxyBind{{Port: 80}}, DefaultBackend: "web",
			}},
			Backends: []model.HAProxyBackend{{
				Name: "web",
				Servers: []model.HAProxyServer{
					{Name: "local", Hostname: "localhost", Port: 8080, Check: true, InitAddr: []string{"libc"}},
					{Name: "app1", Hostname: "app1.example.com", Port: 8080, Check: true, Resolvers: "dc1", ResolvePrefer: "ipv4", InitAddr: []string{"last", "none"}},
					{Name: "app2", Hostname: "app2.example.com", Check: true, CheckPort: 8081, Resolvers: "system", ResolvePrefer: "ipv6", InitAddr: []string{"none", "192.0.2.2"}},
				},
			}},
		}
	}},
	// (h) TLS to the servers, and agent checks: verified against the system's CA bundle
	// with the name to expect and the SNI to send, unverified on a LAN,
	// and health checks over TLS beside plain traffic.
	{"server_tls_agent", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global:   debianGlobal(),
			Defaults: httpDefaults(),
			Frontends: []model.HAProxyFrontend{{
				Name: "www", Binds: []model.HAProxyBind{{Port: 80}}, DefaultBackend: "web",
			}},
			Backends: []model.HAProxyBackend{{
				Name: "web",
				Servers: []model.HAProxyServer{
					{Name: "api", Address: addr("10.0.0.11"), Port: 443, Check: true, SSL: true, Verify: "required",
						CAFile: "/etc/ssl/certs/ca-certificates.crt", SNI: "str(api.example.com)", VerifyHost: "api.example.com"},
					{Name: "lan", Address: addr("10.0.0.12"), Port: 8443, Check: true, SSL: true, Verify: "none", Options: "alpn http/1.1"},
					{Name: "plain", Address: addr("10.0.0.13"), Port: 80, Check: true, CheckPort: 8443, CheckSSL: true, Verify: "none"},
					// An agent beside the check says the server's state and weight.
					{Name: "agent", Address: addr("10.0.0.14"), Port: 80, Check: true, AgentCheck: true, AgentPort: 9999, AgentInter: 5000},
				},
			}},
		}
	}},
	// (f) Every field of the model, once.
	{"kitchen_sink", func() *model.HAProxyConfig {
		return &model.HAProxyConfig{
			Global: model.HAProxyGlobal{
				Maxconn:  20000,
				Nbthread: 2,
				User:     "haproxy",
				Group:    "haproxy",
				Chroot:   "/var/lib/haproxy",
				Logs: []model.HAProxyLog{
					{Address: "/dev/log", Facility: "local0", Level: "info"},
					{Address: "127.0.0.1:514", Facility: "local1", Level: "notice"},
				},
				StatsSocket: "/run/haproxy/lvs-admin.sock",
				Options:     []string{"stats timeout 30s", "hard-stop-after 30s"},
			},
			Defaults: model.HAProxyDefaults{
				Mode:    "http",
				Maxconn: 10000,
				Retries: 3,
				Timeouts: model.HAProxyTimeouts{
					Connect: 5000, Client: 50000, Server: 50000, Queue: 30000, HTTPRequest: 10000,
					HTTPKeepAlive: 2000, Check: 3000, Tunnel: 3600000, ClientFin: 1000, ServerFin: 1000,
				},
				Redispatch: true,
				LogGlobal:  true,
				Options:    []string{"httplog", "dontlognull"},
			},
			Frontends: []model.HAProxyFrontend{{
				Name: "edge",
				Binds: []model.HAProxyBind{
					{Address: addr("192.0.2.80"), Port: 80, Options: "defer-accept"},
					{Address: addr("2001:db8::80"), Port: 80, Options: "v6only"},
				},
				Mode:           "http",
				Maxconn:        8000,
				DefaultBackend: "app",
				ACLs:           []model.HAProxyACL{{Name: "is_admin", Criterion: "path_beg /admin"}},
				UseBackends:    []model.HAProxyUseBackend{{Backend: "admin", Cond: "if", Condition: "is_admin"}},
				// Timeouts that apply to a frontend: haproxy warns about the others.
				Timeouts: model.HAProxyTimeouts{Client: 30000, HTTPRequest: 5000, HTTPKeepAlive: 1000, ClientFin: 500},
				Options:  []string{"option forwardfor", "http-request set-header X-Forwarded-Proto http"},
			}},
			Backends: []model.HAProxyBackend{
				{
					Name: "app", Mode: "http", Balance: "url_param", BalanceArg: "session_id",
					HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/health?full=1", Host: "app.example.com", ExpectStatus: "200-399"},
					// Timeouts that apply to a backend.
					Timeouts: model.HAProxyTimeouts{Connect: 3000, Server: 40000, Queue: 20000, HTTPRequest: 5000, HTTPKeepAlive: 1000, Check: 2000, Tunnel: 600000, ServerFin: 500},
					Options:  []string{"http-reuse safe", "option http-server-close"},
					Servers: []model.HAProxyServer{
						{Name: "app1", Address: addr("10.0.0.11"), Port: 8080, Weight: intp(10), Check: true, Inter: 2000, Fall: 3, Rise: 2, Maxconn: 100, Options: "send-proxy-v2"},
						{Name: "app2", Address: addr("2001:db8::11"), Port: 8080, Weight: intp(0), Check: true, Backup: true},
					},
				},
				{Name: "admin", Servers: []model.HAProxyServer{{Name: "admin1", Address: addr("10.0.0.99"), Port: 8443, Options: "ssl verify none"}}},
			},
			Listens: []model.HAProxyListen{{
				HAProxyBackend: model.HAProxyBackend{
					Name: "stats", Mode: "http",
					Options: []string{"stats enable", "stats uri /stats", "stats refresh 10s"},
				},
				Binds:   []model.HAProxyBind{{Address: addr("127.0.0.1"), Port: 8404}},
				Maxconn: 10,
			}},
		}
	}},
}

// statsFrontend is a frontend that serves haproxy's statistics page and
// nothing else (as basic-config-edge.cfg of haproxy's examples has it).
func statsFrontend() model.HAProxyFrontend {
	return model.HAProxyFrontend{
		Name: "stats", Binds: []model.HAProxyBind{{Port: 8181}},
		Options: []string{"stats uri /", "stats show-modules"},
	}
}

func TestHAProxyGolden(t *testing.T) {
	want := map[string]bool{}
	for _, tc := range haproxyCases {
		golden := filepath.Join("testdata", "haproxy", tc.name+".cfg")
		want[filepath.Base(golden)] = true
		t.Run(tc.name, func(t *testing.T) {
			got, err := HAProxy(tc.cfg())
			if err != nil {
				t.Fatalf("HAProxy: %v", err)
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render/ -run TestHAProxyGolden -update to create it)", err)
			}
			if got != string(b) {
				t.Errorf("%s differs from the rendered file (-update rewrites it):\n%s", golden, firstDiff(string(b), got))
			}
			t.Run("haproxy -c", func(t *testing.T) { haproxyAccepts(t, got, true) })
		})
	}
	// A golden file without its case would never be checked again.
	files, err := filepath.Glob(filepath.Join("testdata", "haproxy", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s belongs to no case of haproxyCases; delete it", f)
		}
	}
}

// TestHAProxyLayout checks the shape every rendered file shares: the
// marker first, the sections in the model's order, body lines indented by
// four spaces, one blank line between sections, the admin socket always.
func TestHAProxyLayout(t *testing.T) {
	for _, tc := range haproxyCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			out, err := HAProxy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			secs, err := parseHAProxyCfg(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, numbered(out))
			}
			if got, want := sectionHeaders(secs), expectedHeaders(cfg); !reflect.DeepEqual(got, want) {
				t.Errorf("sections %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for i, l := range lines[1:] {
				prev := lines[i]
				switch {
				case l == "":
					if prev == "" || i+2 >= len(lines) || strings.HasPrefix(lines[i+2], " ") {
						t.Errorf("line %d: a blank line belongs only before a section header", i+2)
					}
				case !strings.HasPrefix(l, " "):
					if prev != "" {
						t.Errorf("line %d: section %q must follow one blank line", i+2, l)
					}
				case !strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "     "):
					t.Errorf("line %d: %q is not indented by exactly four spaces", i+2, l)
				}
			}
			path := cfg.Global.StatsSocket
			if path == "" {
				path = model.DefaultStatsSocket
			}
			socket := "stats socket " + path + " mode 660 level admin expose-fd listeners"
			if !slices.Contains(secs[0].lines, socket) {
				t.Errorf("global lacks %q:\n%s", socket, out)
			}
		})
	}
}

func TestHAProxyDeterministic(t *testing.T) {
	for _, tc := range haproxyCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			first, err := HAProxy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				again, err := HAProxy(tc.cfg())
				if err != nil {
					t.Fatal(err)
				}
				if again != first {
					t.Fatalf("two renderings of the same model differ:\n%s", firstDiff(first, again))
				}
			}
			if !reflect.DeepEqual(cfg, tc.cfg()) {
				t.Error("HAProxy modified the configuration it rendered")
			}
			// Hosts are rendered concurrently: same bytes, no shared state
			// (go test -race checks the latter).
			outs := make([]string, 8)
			var wg sync.WaitGroup
			for i := range outs {
				wg.Go(func() { outs[i], _ = HAProxy(cfg) })
			}
			wg.Wait()
			for _, o := range outs {
				if o != first {
					t.Fatalf("a concurrent rendering differs:\n%s", firstDiff(first, o))
				}
			}
		})
	}
}

// TestHAProxyStatsFrontendNeedsNoBackend: a frontend whose stats lines
// serve the statistics page renders without a default_backend (haproxy
// answers it itself, and haproxy -c accepts it without a warning); the
// same frontend without them is refused at default_backend.
func TestHAProxyStatsFrontendNeedsNoBackend(t *testing.T) {
	cfg := &model.HAProxyConfig{Global: debianGlobal(), Defaults: httpDefaults(), Frontends: []model.HAProxyFrontend{statsFrontend()}}
	out, err := HAProxy(cfg)
	if err != nil {
		t.Fatalf("stats frontend refused: %v", err)
	}
	if !strings.Contains(out, "\nfrontend stats\n    bind :8181\n    stats uri /\n    stats show-modules\n") || strings.Contains(out, "default_backend") || strings.Contains(out, "\nbackend ") {
		t.Fatalf("stats frontend rendered otherwise:\n%s", out)
	}
	haproxyAccepts(t, out, true)

	cfg.Frontends[0].Options = []string{"option forwardfor"}
	_, err = HAProxy(cfg)
	errs := model.AsErrors(err)
	if len(errs) != 1 || errs[0].Path.String() != "frontend[0].default_backend" ||
		errs[0].Msg != "must be set (or give use_backend rules); a frontend without a backend drops every request" {
		t.Fatalf("a frontend without backend or stats: want the default_backend refusal, got %v", err)
	}
}

func TestHAProxyRefusesInvalidModel(t *testing.T) {
	cfg := haproxyCases[0].cfg()
	cfg.Backends[0].Servers[1].Port = 65536
	out, err := HAProxy(cfg)
	var errs model.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want model.Errors, got %T: %v", err, err)
	}
	if out != "" {
		t.Errorf("an invalid model rendered anyway:\n%s", out)
	}
	if len(errs) != 1 || errs[0].Path.String() != "backend[0].server[1].port" {
		t.Errorf("want one error at backend[0].server[1].port, got:\n%v", errs)
	}
}

// TestHAProxyModelRefusesWhatHAProxyRejects pairs each model rule that
// exists for haproxy's sake with what haproxy 2.6 says when the rule is
// bypassed: the model must refuse the value at its path, and the same
// value rendered without validation must draw haproxy's complaint.
func TestHAProxyModelRefusesWhatHAProxyRejects(t *testing.T) {
	base := haproxyCases[1].cfg // l7_http: defaults http, one frontend, one backend
	cases := []struct {
		name   string
		mutate func(c *model.HAProxyConfig)
		path   string
		says   string
	}{
		{"log without facility", func(c *model.HAProxyConfig) { c.Global.Logs[0].Facility = "" },
			"global.log[0].facility", "expects <address> and <facility>"},
		{"unknown facility", func(c *model.HAProxyConfig) { c.Global.Logs[0].Facility = "local9" },
			"global.log[0].facility", "unknown log facility"},
		{"nbthread above 64", func(c *model.HAProxyConfig) { c.Global.Nbthread = 65 },
			"global.nbthread", "'nbthread' value must be between 1 and 64"},
		{"long socket path", func(c *model.HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/" + strings.Repeat("s", 85) },
			"global.stats_socket", "too long (max 97)"},
		{"scoped server address", func(c *model.HAProxyConfig) { c.Backends[0].Servers[0].Address = addr("fe80::1%lo") },
			"backend[0].server[0].address", "could not resolve address"},
		{"http frontend, backend tcp by default", func(c *model.HAProxyConfig) {
			c.Defaults.Mode = ""
			c.Frontends[0].Mode = "http"
		}, "frontend[0].mode", "incompatible tcp backend"},
		{"http frontend, tcp listen", func(c *model.HAProxyConfig) {
			c.Listens = []model.HAProxyListen{{
				HAProxyBackend: model.HAProxyBackend{Name: "raw", Mode: "tcp", Servers: c.Backends[0].Servers},
				Binds:          []model.HAProxyBind{{Port: 81}},
			}}
			c.Frontends[0].DefaultBackend = "raw"
		}, "frontend[0].mode", "incompatible tcp proxy"},
		{"option opening a section", func(c *model.HAProxyConfig) { c.Global.Options = []string{"frontend evil"} },
			"global.options[0]", "frontend 'evil'"},
		{"option opening a block", func(c *model.HAProxyConfig) { c.Backends[0].Options = []string{".if 0"} },
			"backend[0].options[0]", "non-terminated '.if' block"},
		{"ssl without a CA file", func(c *model.HAProxyConfig) { c.Backends[0].Servers[0].SSL = true },
			"backend[0].server[0].ca_file", "verify is enabled by default but no CA file specified"},
		{"check-ssl without a CA file", func(c *model.HAProxyConfig) { c.Backends[0].Servers[0].CheckSSL = true },
			"backend[0].server[0].ca_file", "verify is enabled by default but no CA file specified"},
		{"agent check without port", func(c *model.HAProxyConfig) { c.Backends[0].Servers[0].AgentCheck = true },
			"backend[0].server[0].agent_port", "does not have agent port"},
		{"server names undeclared resolvers", func(c *model.HAProxyConfig) {
			c.Backends[0].Servers[0].Address = netip.Addr{}
			c.Backends[0].Servers[0].Hostname = "localhost"
			c.Backends[0].Servers[0].Resolvers = "dc1"
		}, "backend[0].server[0].resolvers", "unable to find required resolvers 'dc1'"},
		{"stats frontend without backend in tcp mode", func(c *model.HAProxyConfig) {
			f := &c.Frontends[0]
			f.Mode, f.DefaultBackend, f.UseBackends, f.Options = "tcp", "", nil, []string{"stats uri /"}
		}, "frontend[0].default_backend", "'stats' statement ignored for frontend 'www' as it requires HTTP mode"},
		{"host name that does not resolve", func(c *model.HAProxyConfig) {
			c.Backends[0].Servers[0].Address = netip.Addr{}
			c.Backends[0].Servers[0].Hostname = "bad_name.example"
		}, "backend[0].server[0].address", "could not resolve address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(c)
			_, err := HAProxy(c)
			found := false
			for _, e := range model.AsErrors(err) {
				found = found || e.Path.String() == tc.path
			}
			if !found {
				t.Errorf("the model accepts it: want an error at %s, got: %v", tc.path, err)
			}
			text, err := renderHAProxy(c)
			if err != nil {
				t.Fatal(err)
			}
			bin := requireTool(t, "haproxy")
			out, _ := runHAProxyCheck(t, bin, text)
			if !strings.Contains(out, tc.says) {
				t.Errorf("haproxy -c did not say %q; the rule may be stale:\n%s\n%s", tc.says, out, numbered(text))
			}
		})
	}
}

// TestHAProxyCheckAcceptsPathsThatDestroyFiles is why the model confines
// paths: haproxy -c accepts a stats socket, a unix bind and a pid file at
// any path, /etc/passwd included (it only checks the syntax), and haproxy
// then replaces the file there. The model must refuse each at plan time.
func TestHAProxyCheckAcceptsPathsThatDestroyFiles(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *model.HAProxyConfig)
		path   string
	}{
		{"stats socket", func(c *model.HAProxyConfig) { c.Global.StatsSocket = "/etc/passwd" }, "global.stats_socket"},
		{"stats socket through ..", func(c *model.HAProxyConfig) { c.Global.StatsSocket = "/run/haproxy/../../etc/passwd" }, "global.stats_socket"},
		{"stats socket option", func(c *model.HAProxyConfig) { c.Global.Options = []string{"stats socket /etc/shadow"} }, "global.options[0]"},
		{"pidfile option", func(c *model.HAProxyConfig) { c.Global.Options = []string{"pidfile /etc/shadow"} }, "global.options[0]"},
		{"unix bind option", func(c *model.HAProxyConfig) { c.Frontends[0].Options = []string{"bind unix@/etc/passwd"} }, "frontend[0].options[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := haproxyCases[1].cfg()
			tc.mutate(c)
			found := false
			for _, e := range model.AsErrors(c.Validate(nil)) {
				found = found || e.Path.String() == tc.path
			}
			if !found {
				t.Errorf("the model accepts it: want an error at %s", tc.path)
			}
			text, err := renderHAProxy(c)
			if err != nil {
				t.Fatal(err)
			}
			bin := requireTool(t, "haproxy")
			if out, err := runHAProxyCheck(t, bin, text); err != nil {
				t.Errorf("haproxy -c now refuses it (%v); the model rule stays, but update this test:\n%s", err, out)
			}
		})
	}
}

// TestHAProxyAcceptsModelLimits renders values at the edges of what the
// model allows and has haproxy accept them, so the model is not stricter
// or looser than haproxy at its bounds.
func TestHAProxyAcceptsModelLimits(t *testing.T) {
	maxT := 2147483647
	server := func(name string, a netip.Addr) model.HAProxyServer {
		return model.HAProxyServer{Name: name, Address: a, Port: 65535}
	}
	cfg := &model.HAProxyConfig{
		Global: model.HAProxyGlobal{
			Maxconn: 10000000, Nbthread: 64, User: "haproxy", Group: "haproxy", Chroot: "/var/lib/haproxy",
			StatsSocket: "/run/haproxy/" + strings.Repeat("s", 84), // 97 characters
		},
		Defaults: model.HAProxyDefaults{
			Mode: "http", Maxconn: 10000000, Retries: 1000,
			Timeouts: model.HAProxyTimeouts{Connect: maxT, Client: maxT, Server: maxT, Queue: maxT, HTTPRequest: maxT,
				HTTPKeepAlive: maxT, Check: maxT, Tunnel: maxT, ClientFin: maxT, ServerFin: maxT},
		},
		Frontends: []model.HAProxyFrontend{{
			Name: "f",
			Binds: []model.HAProxyBind{
				{Port: 1}, {Address: addr("0.0.0.0"), Port: 2}, {Address: addr("::"), Port: 65535},
				{Address: addr("::ffff:192.0.2.1"), Port: 80},
			},
			DefaultBackend: "l",
		}},
		Listens: []model.HAProxyListen{{
			HAProxyBackend: model.HAProxyBackend{Name: "l", Servers: []model.HAProxyServer{server("s", addr("::ffff:10.0.0.1"))}},
			Binds:          []model.HAProxyBind{{Address: addr("2001:db8::1"), Port: 81}},
			Maxconn:        10000000,
		}},
	}
	for i, f := range model.HAProxyLogFacilities {
		cfg.Global.Logs = append(cfg.Global.Logs, model.HAProxyLog{Address: "/dev/log", Facility: f,
			Level: model.HAProxyLogLevels[i%len(model.HAProxyLogLevels)]})
	}
	for _, algo := range model.HAProxyBalances {
		b := model.HAProxyBackend{Name: "b_" + algo, Balance: algo}
		switch algo {
		case "hdr", "url_param", "rdp-cookie":
			b.BalanceArg = "X-Key"
		case "hash":
			b.BalanceArg = "req.hdr(host)"
		case "random":
			b.BalanceArg = "100"
		}
		cfg.Backends = append(cfg.Backends, b)
	}
	for _, m := range model.HTTPMethods {
		s1, s2 := server("s1", addr("10.0.0.1")), server("s2", addr("2001:db8::2"))
		s1.Weight, s2.Weight = intp(0), intp(256)
		s1.Check, s1.Inter, s1.Fall, s1.Rise = true, 86400000, 1000, 1000
		s1.CheckPort, s1.CheckAddr, s1.SendProxyV2, s1.Slowstart, s1.Maxqueue = 65535, addr("10.0.0.9"), true, 86400000, 10000000
		// Port-less servers keep the client's destination port.
		s2.Port, s2.SendProxy, s2.Check, s2.CheckPort = 0, true, true, 1
		s3 := server("s3", addr("10.0.0.3"))
		s3.Port = 0
		cfg.Backends = append(cfg.Backends, model.HAProxyBackend{
			Name:      "chk_" + m,
			HTTPCheck: &model.HAProxyHTTPCheck{Method: m, Path: "/", Host: "h", ExpectStatus: "100-599"},
			Servers:   []model.HAProxyServer{s1, s2, s3},
		})
	}
	cfg.Defaults.Balance, cfg.Defaults.BalanceArg = "random", "2"
	out, err := HAProxy(cfg)
	if err != nil {
		t.Fatalf("the model refuses its own limits: %v", err)
	}
	haproxyAccepts(t, out, false)
}

func TestHAProxySysctls(t *testing.T) {
	v4 := model.Sysctl{Key: "net.ipv4.ip_nonlocal_bind", Value: "1"}
	v6 := model.Sysctl{Key: "net.ipv6.ip_nonlocal_bind", Value: "1"}
	frontend := func(addrs ...string) model.HAProxyFrontend {
		f := model.HAProxyFrontend{Name: "f", DefaultBackend: "b"}
		for _, a := range addrs {
			b := model.HAProxyBind{Port: 80}
			if a != "" {
				b.Address = addr(a)
			}
			f.Binds = append(f.Binds, b)
		}
		return f
	}
	cases := []struct {
		name string
		cfg  model.HAProxyConfig
		want []model.Sysctl
	}{
		{"no binds", model.HAProxyConfig{}, nil},
		{"every address", model.HAProxyConfig{Frontends: []model.HAProxyFrontend{frontend("", "0.0.0.0", "::")}}, nil},
		{"loopback", model.HAProxyConfig{Frontends: []model.HAProxyFrontend{frontend("127.0.0.1", "127.0.1.1", "::1")}}, nil},
		{"IPv4 VIP", model.HAProxyConfig{Frontends: []model.HAProxyFrontend{frontend("", "192.0.2.100")}}, []model.Sysctl{v4}},
		{"IPv6 VIP", model.HAProxyConfig{Frontends: []model.HAProxyFrontend{frontend("2001:db8::100")}}, []model.Sysctl{v6}},
		{"both, in a listen", model.HAProxyConfig{Listens: []model.HAProxyListen{{Binds: frontend("2001:db8::100", "192.0.2.100").Binds}}}, []model.Sysctl{v4, v6}},
		{"keepalived pair", *haproxyCases[3].cfg(), []model.Sysctl{v4, v6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := HAProxySysctls(&tc.cfg)
			for i := range got {
				if got[i].Reason == "" {
					t.Errorf("%s has no reason", got[i])
				}
				got[i].Reason = ""
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// haproxyAccepts runs the real haproxy -c on text and fails t unless it
// exits 0; strict also fails on warnings.
func haproxyAccepts(t *testing.T, text string, strict bool) {
	t.Helper()
	bin := requireTool(t, "haproxy")
	out, err := runHAProxyCheck(t, bin, text)
	if err != nil {
		t.Fatalf("haproxy -c refused the file: %v\n%s\n%s", err, out, numbered(text))
	}
	if strict && strings.Contains(out, "[WARNING]") {
		t.Fatalf("haproxy -c warns about the file:\n%s\n%s", out, numbered(text))
	}
}

// runHAProxyCheck writes text to a file and runs haproxy -c -f on it,
// returning haproxy's stdout and stderr.
func runHAProxyCheck(t *testing.T, bin, text string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	return string(out), err
}

// numbered prefixes each line of text with its number, as haproxy's
// messages name lines.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(no difference)"
}
