package keepalivedconf

import (
	"errors"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/render"
)

func TestErrorsNameFileLineAndKeyword(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"include", "global_defs {\n}\ninclude /etc/keepalived/conf.d/*.conf\n", "k.conf:3: include: includes are not supported"},
		{"excluded VIPs", "vrrp_instance V {\n  interface eth0\n  virtual_ipaddress_excluded {\n    10.0.0.9\n  }\n}\n", "k.conf:3: virtual_ipaddress_excluded: the model cannot carry it"},
		{"vmac address", "vrrp_instance V {\n  use_vmac vrrp1 00:00:5e:00:01:01\n}\n", "k.conf:2: use_vmac:"},
		{"route option", "static_routes {\n  10.0.0.0/8 dev eth0 mtu 1400\n}\n", "k.conf:2: 10.0.0.0/8:"},
		{"route table name", "static_routes {\n  10.0.0.0/8 dev eth0 table web\n}\n", "k.conf:2: 10.0.0.0/8:"},
		{"rule option", "static_rules {\n  from 10.0.0.0/8 table 1 uidrange 1-2\n}\n", "k.conf:2: from:"},
		{"static address option", "static_ipaddress {\n  10.0.0.1/8 dev eth0 brd 10.255.255.255\n}\n", "k.conf:2: 10.0.0.1/8:"},
		{"static address scope", "static_ipaddress {\n  10.0.0.1/8 dev eth0 scope 200\n}\n", "k.conf:2: 10.0.0.1/8: static_ipaddress: scope \"200\""},
		{"net_namespace", "net_namespace blue\n", "k.conf:1: net_namespace:"},
		{"two checkers", "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n  HTTP_GET {\n  }\n }\n}\n", "k.conf:5: HTTP_GET: the model cannot carry it"},
		{"bfd check", "virtual_server 10.0.0.1 53 {\n real_server 10.0.0.2 53 {\n  BFD_CHECK {\n  }\n }\n}\n", "k.conf:3: BFD_CHECK:"},
		{"file check without file", "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file nosuch\n  }\n }\n}\n", "k.conf:4: track_file: \"nosuch\" names no track_file block"},
		{"smtp host bind_if", "virtual_server 10.0.0.1 25 {\n real_server 10.0.0.2 25 {\n  SMTP_CHECK {\n   host {\n    bind_if eth1\n   }\n  }\n }\n}\n", "k.conf:5: bind_if: the model cannot carry it"},
		{"init_file", "track_file f {\n file /tmp/f\n init_file 5\n}\n", "k.conf:3: init_file: the model cannot carry it"},
		{"reverse", "vrrp_instance V {\n track_interface {\n  eth1 weight 10 reverse\n }\n}\n", "k.conf:3: eth1:"},
		{"unclosed", "vrrp_instance V {\n  interface eth0\n", "k.conf:1: vrrp_instance: block is not closed"},
		{"stray brace", "}\n", "k.conf:1: unexpected `}`"},
		{"quote", "vrrp_script s {\n script \"/bin/true\n}\n", "k.conf:2: unterminated quoted string"},
		{"parameter", "$IF=eth0\n", "k.conf:1: parameter definitions"},
		{"sequence", "~SEQ(i, 1, 3) vrrp_instance V$i {\n", "k.conf:1: sequence expansions"},
		{"conditional", "@lb1 router_id lb1\n", "k.conf:1: conditional configuration"},
		{"unknown global", "global_defs {\n  lvs_flush\n}\n", "k.conf:2: lvs_flush: the model cannot carry it"},
		{"two sync daemons", "global_defs {\n lvs_sync_daemon eth0 V\n}\nvrrp_instance V {\n  lvs_sync_daemon_interface eth1\n}\n", "k.conf:5: lvs_sync_daemon_interface: a second IPVS sync daemon"},
		{"sync daemon ttl", "global_defs {\n lvs_sync_daemon eth0 V ttl 3\n}\n", "k.conf:2: lvs_sync_daemon: the model cannot carry it"},
		{"bad address", "virtual_server 10.0.0.300 80 {\n}\n", "k.conf:1: virtual_server: \"10.0.0.300\" is not an IP address"},
		{"bad number", "vrrp_instance V {\n priority high\n}\n", "k.conf:2: priority: \"high\" is not a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse(strings.NewReader(tc.src), "k.conf")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want one starting %q", err, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "k.conf" || pe.Line == 0 {
				t.Errorf("error %#v is not an *Error with file and line", err)
			}
		})
	}
}

func TestCommentsQuotesAndContinuations(t *testing.T) {
	src := "vrrp_script s { # a comment { with braces }\n" +
		"  script \"/bin/echo a#b !c {d}\" \\#1 ! trailing\n" +
		"  interval \\\n   3\n" +
		"}\n" +
		"vrrp_instance V { interface eth0\n virtual_router_id 1\n priority 10\n track_script { s }\n virtual_ipaddress { 10.0.0.1 }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(src), "k.conf")
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warnings %v", err, warns)
	}
	in := cfg.Director.Instances[0]
	if len(in.TrackScripts) != 1 || in.TrackScripts[0].Script != "/bin/echo a#b !c {d} #1" || in.TrackScripts[0].Interval != 3 {
		t.Errorf("track scripts %+v", in.TrackScripts)
	}
	if len(in.VirtualIPs) != 1 || in.VirtualIPs[0].Prefix.String() != "10.0.0.1/32" {
		t.Errorf("vips %+v", in.VirtualIPs)
	}
}

func TestUnknownKeywordsWarnWithLine(t *testing.T) {
	src := "global_defs {\n  vrrp_strict\n}\nvirtual_server 10.0.0.1 80 {\n  ha_suspend\n  real_server 10.0.0.2 80 {\n    weight 1\n    TCP_CHECK {\n      warmup 5\n    }\n  }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(src), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		`k.conf:5: virtual_server 10.0.0.1 80: "ha_suspend" is not carried by the model; left out`,
		`k.conf:9: TCP_CHECK: "warmup" is not carried by the model; left out`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(cfg.VirtualServers) != 1 || cfg.VirtualServers[0].RealServers[0].TCPCheck == nil {
		t.Errorf("import did not go on past the warnings: %+v", cfg.VirtualServers)
	}
}

func TestWarningsNeverQuoteThePassword(t *testing.T) {
	src := "vrrp_instance V {\n authentication {\n  auth_type PASS\n  auth_pass s3cret s3cret-tail\n }\n}\n" +
		"vrrp_instance W {\n authentication {\n  auth_pass s3cret-long-password\n }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(src), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Director.Instances[0].Authentication.Password != "s3cret" || len(warns) != 2 {
		t.Fatalf("auth %+v, warnings %v", cfg.Director.Instances[0].Authentication, warns)
	}
	// keepalived cuts a longer password to the 8 characters VRRP carries.
	if p := cfg.Director.Instances[1].Authentication.Password; p != "s3cret-l" {
		t.Errorf("long password read as %q, want its first 8 characters", p)
	}
	for _, w := range warns {
		if strings.Contains(w.String(), "s3cret") {
			t.Errorf("a warning quotes the password: %s", w)
		}
	}
}

// TestGlobalDefsCarried: the global_defs settings that change mail, VRRP
// and firewall behaviour are read into the model and rendered back.
func TestGlobalDefsCarried(t *testing.T) {
	src := "global_defs {\n notification_email {\n  ops@example.com\n  root\n }\n notification_email_from lb@example.com\n smtp_server 10.0.0.25 587\n smtp_connect_timeout 20\n vrrp_strict\n vrrp_iptables KA_IN KA_OUT\n vrrp_skip_check_adv_addr\n vrrp_garp_interval 0.5\n vrrp_gna_interval 1\n}\n" +
		"vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priority 100\n smtp_alert\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(src), "k.conf")
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warnings %v", err, warns)
	}
	g := cfg.Director.Globals
	if strings.Join(g.NotificationEmail, ",") != "ops@example.com,root" || g.NotificationEmailFrom != "lb@example.com" ||
		g.SMTPServer.String() != "10.0.0.25" || g.SMTPServerPort != 587 || g.SMTPConnectTimeout != 20 || !g.VRRPStrict ||
		g.VRRPIPTables == nil || g.VRRPIPTables.In != "KA_IN" || g.VRRPIPTables.Out != "KA_OUT" ||
		!g.VRRPSkipCheckAdvAddr || g.VRRPGarpInterval != 0.5 || g.VRRPGnaInterval != 1 || !cfg.Director.Instances[0].SMTPAlert {
		t.Fatalf("read as %+v", g)
	}
	text, err := render.Keepalived(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, warns, err := Parse(strings.NewReader(text), "rendered")
	if err != nil || len(warns) != 0 || !Equivalent(cfg, again) {
		t.Fatalf("rendering reads back differently (%v %v):\n%s", err, warns, text)
	}
}

// TestConditionalLines: @id lines are read for the host given, @^id lines
// for every other host.
func TestConditionalLines(t *testing.T) {
	src := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n@lb1 priority 150\n@^lb1 priority 100\n@lb2\tstate BACKUP\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
	for host, want := range map[string]int{"lb1": 150, "lb2": 100} {
		cfg, _, err := ParseWith(strings.NewReader(src), "k.conf", Options{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		in := cfg.Director.Instances[0]
		if in.Priority != want || (in.State == "BACKUP") != (host == "lb2") {
			t.Errorf("host %s: priority %d state %q", host, in.Priority, in.State)
		}
	}
}

// TestAHWithInitialMaster: keepalived clears AH authentication on an
// initial MASTER, so the import does too (and says so).
func TestAHWithInitialMaster(t *testing.T) {
	src := "vrrp_instance V {\n state MASTER\n interface eth0\n virtual_router_id 1\n priority 100\n authentication {\n  auth_type AH\n  auth_pass 1111\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(src), "k.conf")
	if err != nil || cfg.Director.Instances[0].Authentication != nil || len(warns) != 1 || warns[0].Line != 6 {
		t.Fatalf("err %v auth %+v warnings %v", err, cfg.Director.Instances[0].Authentication, warns)
	}
}

// nb_get_retry is retry in HTTP_GET and SSL_GET (keepalived 2.2 honours it
// there, as deprecated), and an unknown keyword elsewhere, which keepalived
// ignores: the import reads it the same way.
func TestNbGetRetry(t *testing.T) {
	const conf = "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n   nb_get_retry 5\n  }\n }\n" +
		" real_server 10.0.0.3 80 {\n  TCP_CHECK {\n   nb_get_retry 4\n  }\n }\n}\n"
	cfg, warns, err := Parse(strings.NewReader(conf), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	rss := cfg.VirtualServers[0].RealServers
	if got := rss[0].HTTPGet.Retry; got != 5 {
		t.Errorf("HTTP_GET nb_get_retry 5 read as retry %d", got)
	}
	if got := rss[1].TCPCheck.Retry; got != 0 {
		t.Errorf("TCP_CHECK nb_get_retry 4 read as retry %d; keepalived ignores it there", got)
	}
	if len(warns) != 1 || warns[0].Line != 12 || !strings.Contains(warns[0].Message, "keepalived ignores it") {
		t.Errorf("warnings %v, want one at line 12 saying keepalived ignores it", warns)
	}
}

// TestStaticIPAddressImports reads static_ipaddress lines into the
// director's static addresses (the device defaults to the director's
// interface in the model, so a line without one keeps none), and refuses
// a label with file:line.
func TestStaticIPAddressImports(t *testing.T) {
	cfg, warns, err := Parse(strings.NewReader("static_ipaddress {\n  192.168.200.16/24 dev eth0\n  192.168.200.17 dev eth1\n}\n"), "k.conf")
	if err != nil || len(warns) != 0 {
		t.Fatalf("Parse: %v %v", err, warns)
	}
	got := cfg.Director.StaticAddresses
	if len(got) != 2 || got[0].Prefix.String() != "192.168.200.16/24" || got[0].Device != "eth0" ||
		got[1].Prefix.String() != "192.168.200.17/32" || got[1].Device != "eth1" {
		t.Fatalf("static addresses: %+v", got)
	}
	cfg, warns, err = Parse(strings.NewReader("static_ipaddress {\n  192.168.200.16/24 scope link dev eth0\n}\n"), "k.conf")
	if err != nil || len(warns) != 0 || len(cfg.Director.StaticAddresses) != 1 {
		t.Fatalf("Parse with a scope: %v %v %+v", err, warns, cfg)
	}
	if got := cfg.Director.StaticAddresses[0]; got.Scope != "link" || got.Device != "eth0" {
		t.Errorf("a scoped static address: %+v, want scope link on eth0", got)
	}
	_, _, err = Parse(strings.NewReader("static_ipaddress {\n  192.168.200.16/24 dev eth0 label eth0:1\n}\n"), "k.conf")
	if err == nil || !strings.Contains(err.Error(), "k.conf:2") || !strings.Contains(err.Error(), "label") {
		t.Fatalf("a labelled static address: %v", err)
	}
}
