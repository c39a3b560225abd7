package haproxycfg

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

func ptr[T any](v T) *T { return &v }

var addr = netip.MustParseAddr

// TestDebianDefaultWithSites reads Debian's haproxy.cfg with sites added
// by hand in the usual styles (tabs, time units, comma binds, the old
// httpchk request line, a listen, a userlist).
func TestDebianDefaultWithSites(t *testing.T) {
	const file = "testdata/debian-default.cfg"
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, warns, err := Parse(f, file)
	if err != nil {
		t.Fatal(err)
	}
	want := model.HAProxyConfig{
		Global: model.HAProxyGlobal{
			Logs:        []model.HAProxyLog{{Address: "/dev/log", Facility: "local0"}, {Address: "/dev/log", Facility: "local1", Level: "notice"}},
			Chroot:      "/var/lib/haproxy",
			StatsSocket: "/run/haproxy/admin.sock",
			User:        "haproxy", Group: "haproxy",
			Options: []string{
				"stats timeout 30s", "daemon", "ca-base /etc/ssl/certs", "crt-base /etc/ssl/private",
				"ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
				"ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
				"ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets",
			},
		},
		Defaults: model.HAProxyDefaults{
			LogGlobal: true, Mode: "http", Options: []string{"httplog", "dontlognull"},
			Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000},
		},
		Frontends: []model.HAProxyFrontend{{
			Name: "www",
			Binds: []model.HAProxyBind{
				{Port: 80},
				{Address: addr("192.0.2.10"), Port: 443, Options: "ssl crt /etc/haproxy/site.pem alpn h2,http/1.1"},
				{Address: addr("2001:db8::10"), Port: 443, Options: "ssl crt /etc/haproxy/site.pem alpn h2,http/1.1"},
			},
			Maxconn:        4000,
			Timeouts:       model.HAProxyTimeouts{Client: 30000},
			ACLs:           []model.HAProxyACL{{Name: "is_api", Criterion: "path_beg /api"}},
			UseBackends:    []model.HAProxyUseBackend{{Backend: "api", Cond: "if", Condition: "is_api"}},
			DefaultBackend: "web",
		}},
		Backends: []model.HAProxyBackend{
			{
				Name: "web", Balance: "roundrobin",
				HTTPCheck: &model.HAProxyHTTPCheck{Method: "HEAD", Path: "/health", Host: "www.example.com", ExpectStatus: "200"},
				Options:   []string{"default-server inter 3s fall 3 rise 2"},
				Servers: []model.HAProxyServer{
					{Name: "web1", Address: addr("10.0.0.11"), Port: 8080, Check: true, Inter: 2000, Weight: ptr(10), Maxconn: 200, Options: "cookie w1"},
					{Name: "web2", Address: addr("10.0.0.12"), Port: 8080, Check: true, Backup: true, SendProxy: true},
				},
			},
			{
				Name: "api", Mode: "http", Balance: "hdr", BalanceArg: "X-Tenant",
				Timeouts: model.HAProxyTimeouts{Server: 60000},
				Servers:  []model.HAProxyServer{{Name: "api1", Address: addr("10.0.0.21"), Port: 9000, Check: true}},
			},
		},
		Listens: []model.HAProxyListen{{
			HAProxyBackend: model.HAProxyBackend{Name: "stats", Options: []string{"stats enable", "stats uri /stats"}},
			Binds:          []model.HAProxyBind{{Address: addr("127.0.0.1"), Port: 8404}},
		}},
	}
	if !reflect.DeepEqual(*got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("model differs:\n%s", diff(string(w), string(g)))
	}
	var lines []int
	for _, w := range warns {
		lines = append(lines, w.Line)
	}
	// The seven errorfile lines of defaults, and the userlist section.
	if wantLines := []int{28, 29, 30, 31, 32, 33, 34, 64}; !reflect.DeepEqual(lines, wantLines) {
		t.Errorf("warnings at lines %v, want %v: %v", lines, wantLines, warns)
	}
	// It renders, and the rendering reads back as the same configuration.
	text, err := render.HAProxy(got)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	again, warns, err := Parse(strings.NewReader(text), "rendered")
	if err != nil || len(warns) != 0 {
		t.Fatalf("parsing the rendering: %v %v", err, warns)
	}
	if !Equivalent(got, again) {
		g, _ := json.MarshalIndent(again, "", " ")
		w, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("rendering reads back differently:\n%s", diff(string(w), string(g)))
	}
}

func TestErrorsNameFileLine(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"outside", "maxconn 10\n", "h.cfg:1: maxconn: directive outside any section"},
		{"conditional", "global\n.if defined(X)\n", "h.cfg:2: .if: conditional blocks"},
		{"env", "global\n  chroot \"${ROOT}\"\n", "h.cfg:2: environment variables"},
		{"bad host name", "backend b\n  server s1 app_1.example.com:80 check\n", "h.cfg:2: server: server s1: \"app_1.example.com\" is not an IP address or an RFC 1123 host name"},
		{"host name with family", "backend b\n  server s1 ipv6@app.example.com\n", "h.cfg:2: server: server s1: \"ipv6@app.example.com\": an address family prefix"},
		{"nameserver over tcp", "resolvers dns\n  nameserver a tcp@10.0.0.53:53\n", "h.cfg:2: nameserver: resolvers dns: nameserver a: \"tcp@10.0.0.53:53\" is not an IP address and port"},
		{"bind without port", "frontend f\n  bind 10.0.0.1\n", "h.cfg:2: bind: \"10.0.0.1\" has no port"},
		{"port range", "frontend f\n  bind :8000-8010\n", "h.cfg:2: bind: \":8000-8010\": port \"8000-8010\""},
		{"unix bind", "frontend f\n  bind unix@/run/x.sock\n", "h.cfg:2: bind: \"unix@/run/x.sock\" is not an IP address"},
		{"bad time", "defaults\n  timeout client 5x\n", "h.cfg:2: timeout: \"5x\" has an unknown time unit"},
		{"quote", "global\n  log \"/dev/log local0\n", "h.cfg:2: unterminated double quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse(strings.NewReader(tc.src), "h.cfg")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want one starting %q", err, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Line == 0 {
				t.Errorf("error %#v is not an *Error with a line", err)
			}
		})
	}
}

// TestServersByName reads servers given by host name, with and without a
// port, and the resolvers sections they name.
func TestServersByName(t *testing.T) {
	src := `resolvers dns
    nameserver a 10.0.0.53:53
    nameserver b udp@10.0.0.54
    parse-resolv-conf
    resolve_retries 3
    timeout resolve 1s
    timeout retry 500ms
    hold valid 10s
    hold nx 30s
    accepted_payload_size 8192
backend b
    server s1 app1.example.com:8080 check resolvers dns resolve-prefer ipv4 init-addr last,libc,none
    server s2 app2.example.com check port 80 init-addr none,192.0.2.9
    server s3 10.0.0.3
`
	cfg, warns, lines, err := ParseWithLines(strings.NewReader(src), "h.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Line != 9 || !strings.Contains(warns[0].Message, "hold nx 30s") {
		t.Errorf("warnings %v, want one at line 9 for hold nx", warns)
	}
	wantRes := []model.HAProxyResolvers{{
		Name:                "dns",
		Nameservers:         []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:53"), netip.MustParseAddrPort("10.0.0.54:53")},
		ParseResolvConf:     true,
		ResolveRetries:      3,
		TimeoutResolve:      1000,
		TimeoutRetry:        500,
		HoldValid:           10000,
		AcceptedPayloadSize: 8192,
	}}
	if !reflect.DeepEqual(cfg.Resolvers, wantRes) {
		t.Errorf("resolvers %+v, want %+v", cfg.Resolvers, wantRes)
	}
	wantServers := []model.HAProxyServer{
		{Name: "s1", Hostname: "app1.example.com", Port: 8080, Check: true, Resolvers: "dns", ResolvePrefer: "ipv4", InitAddr: []string{"last", "libc", "none"}},
		{Name: "s2", Hostname: "app2.example.com", Check: true, CheckPort: 80, InitAddr: []string{"none", "192.0.2.9"}},
		{Name: "s3", Address: addr("10.0.0.3")},
	}
	if !reflect.DeepEqual(cfg.Backends[0].Servers, wantServers) {
		t.Errorf("servers %+v, want %+v", cfg.Backends[0].Servers, wantServers)
	}
	if n := lines.Of(model.Path{"resolvers", 0, "nameservers", 1}); n != 3 {
		t.Errorf("nameserver b read at line %d, want 3", n)
	}
	if err := cfg.Validate(nil); err != nil {
		t.Errorf("the imported configuration is refused: %v", err)
	}
}

// TestServerTLS reads the TLS keywords of server lines into the model's
// fields; under a global ssl-server-verify none, a TLS server without
// verify gets verify none of its own (what haproxy does with it).
func TestServerTLS(t *testing.T) {
	src := `global
    ssl-server-verify none
backend b
    server s1 10.0.0.1:443 check ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni str(a.example) verifyhost a.example alpn h2
    server s2 10.0.0.2:443 ssl
    server s3 10.0.0.3:80 check port 443 check-ssl
    server s4 10.0.0.4:80 check agent-check agent-port 9999 agent-inter 5s
`
	cfg, warns, err := Parse(strings.NewReader(src), "h.cfg")
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	want := []model.HAProxyServer{
		{Name: "s1", Address: addr("10.0.0.1"), Port: 443, Check: true, SSL: true, Verify: "required",
			CAFile: "/etc/ssl/certs/ca-certificates.crt", SNI: "str(a.example)", VerifyHost: "a.example", Options: "alpn h2"},
		{Name: "s2", Address: addr("10.0.0.2"), Port: 443, SSL: true, Verify: "none"},
		{Name: "s3", Address: addr("10.0.0.3"), Port: 80, Check: true, CheckPort: 443, CheckSSL: true, Verify: "none"},
		{Name: "s4", Address: addr("10.0.0.4"), Port: 80, Check: true, AgentCheck: true, AgentPort: 9999, AgentInter: 5000},
	}
	if got := cfg.Backends[0].Servers; !reflect.DeepEqual(got, want) {
		t.Errorf("servers %+v\nwant %+v", got, want)
	}
	if err := cfg.Validate(nil); err != nil {
		t.Errorf("the imported configuration is refused: %v", err)
	}
	cfg, _, err = Parse(strings.NewReader("backend b\n    server s2 10.0.0.2:443 ssl\n"), "h.cfg")
	if err != nil || cfg.Backends[0].Servers[0].Verify != "" {
		t.Errorf("without the global default: %v, verify %q, want it unset", err, cfg.Backends[0].Servers[0].Verify)
	}
}

func TestCommentsAndEscapes(t *testing.T) {
	src := "global # the global section\n  maxconn 100 # at most\n  stats socket /run/h.sock mode 600 level admin\n" +
		"frontend f\n  bind :80 # all\n  acl a hdr(host) -i a#b\n  default_backend b\n" +
		"backend b\n  server s 10.0.0.1:80 check inter 1500ms fall 2\n"
	cfg, warns, err := Parse(strings.NewReader(src), "h.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.Maxconn != 100 || cfg.Global.StatsSocket != "/run/h.sock" {
		t.Errorf("global %+v", cfg.Global)
	}
	if len(warns) != 1 || warns[0].Line != 3 || !strings.Contains(warns[0].Message, "mode 600") {
		t.Errorf("warnings %v, want one at line 3 about the socket's mode", warns)
	}
	if s := cfg.Backends[0].Servers[0]; s.Inter != 1500 || s.Fall != 2 || !s.Check {
		t.Errorf("server %+v", s)
	}
	// An unescaped # starts a comment, even inside a word.
	if acls := cfg.Frontends[0].ACLs; len(acls) != 1 || acls[0].Criterion != "hdr(host) -i a" {
		t.Errorf("acls %+v", acls)
	}
}

func TestWarningsNeverQuoteTheLine(t *testing.T) {
	_, warns, err := Parse(strings.NewReader("defaults\n  stats auth admin:s3cret\n"), "h.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || strings.Contains(warns[0].String(), "s3cret") {
		t.Errorf("warnings %v: want one, without the secret", warns)
	}
}

// Free directive lines with haproxy's quoting, escapes and anonymous ACLs
// are kept as spelled (single-spaced), which the model accepts and haproxy
// reads as it read the file; the rendering reads back the same.
func TestQuotedLinesKeptAsSpelled(t *testing.T) {
	const src = "global\n" +
		"\tlog /dev/log local0\n" +
		"frontend f\n" +
		"\tbind :80\n" +
		"\tbind :443 ssl crt /etc/haproxy/site.pem alpn \"h2,http/1.1\"\n" +
		"\tmode http\n" +
		"\thttp-request deny if { src 10.0.0.1 }\n" +
		"\thttp-after-response set-header Strict-Transport-Security   \"max-age=31536000\"  # HSTS\n" +
		"\tacl a hdr(host) -i a\\#b\n" +
		"\thttp-request redirect scheme https code 301 if !{ ssl_fc } a\n" +
		"\tdefault_backend b\n" +
		"backend b\n" +
		"\tmode http\n" +
		"\tstats realm HAProxy\\ Statistics\n" +
		"\thttp-request set-header X-A 'a b'\n" +
		"\tserver s1 10.0.0.2:80\n" +
		"\tserver s2 10.0.0.3:80 check cookie 's 2' inter 2000\n"
	got, warns, err := Parse(strings.NewReader(src), "h.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	wantFront := []string{
		"http-request deny if { src 10.0.0.1 }",
		`http-after-response set-header Strict-Transport-Security "max-age=31536000"`,
		`acl a hdr(host) -i a\#b`,
		"http-request redirect scheme https code 301 if !{ ssl_fc } a",
	}
	if !reflect.DeepEqual(got.Frontends[0].Options, wantFront) {
		t.Errorf("frontend options %q, want %q", got.Frontends[0].Options, wantFront)
	}
	wantBack := []string{`stats realm HAProxy\ Statistics`, "http-request set-header X-A 'a b'"}
	if !reflect.DeepEqual(got.Backends[0].Options, wantBack) {
		t.Errorf("backend options %q, want %q", got.Backends[0].Options, wantBack)
	}
	if b := got.Frontends[0].Binds[1]; b.Options != `ssl crt /etc/haproxy/site.pem alpn "h2,http/1.1"` {
		t.Errorf("bind options %q", b.Options)
	}
	if sv := got.Backends[0].Servers[1]; sv.Options != "cookie 's 2'" || !sv.Check || sv.Inter != 2000 {
		t.Errorf("server %+v", sv)
	}
	if err := got.Validate(nil); err != nil {
		t.Fatalf("the model refuses the import: %v", err)
	}
	text, err := render.HAProxy(got)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Parse(strings.NewReader(text), "rendered")
	if err != nil || !Equivalent(got, again) {
		t.Errorf("the rendering reads back differently (%v):\n%s", err, text)
	}
}
