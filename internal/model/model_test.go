package model

import (
	"net/netip"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// drDirector is a valid LVS-DR master: the base every case below breaks
// in one way.
func drConfig() *KeepalivedConfig {
	return &KeepalivedConfig{
		Director: Director{
			Interface: "eth0",
			RouterID:  "lb1",
			// Its track script needs script security (keepalived -t exit 6).
			EnableScriptSecurity: true,
			Instances: []VRRPInstance{{
				Name: "VI_1", State: "MASTER", VirtualRouterID: 51, Priority: 120,
				Authentication: &VRRPAuth{Type: "PASS", Password: "s3cret"},
				VirtualIPs:     []VirtualIP{{Prefix: netip.MustParsePrefix("192.168.0.10/24")}},
				TrackScripts:   []TrackScript{{Name: "chk", Script: "/usr/bin/killall -0 haproxy", Weight: -20}},
			}},
		},
		VirtualServers: []VirtualServer{{
			Address: netip.MustParseAddr("192.168.0.10"), Port: 80, Scheduler: "wrr", ForwardingMethod: "dr",
			RealServers: []RealServer{
				{Address: netip.MustParseAddr("192.168.0.21"), Weight: ptr(2), TCPCheck: &TCPCheck{}},
				{Address: netip.MustParseAddr("192.168.0.22"), Port: 80, HTTPGet: &HTTPCheck{URLs: []CheckURL{{Path: "/health", StatusCode: "200"}}}},
			},
		}},
	}
}

func TestValidConfigPasses(t *testing.T) {
	if err := drConfig().Validate(nil); err != nil {
		t.Fatalf("valid DR config refused:\n%v", err)
	}
}

// TestDomainRules breaks one rule per case and checks that exactly that
// rule is reported, at the attribute path the user wrote, with a message
// naming the problem.
func TestDomainRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *KeepalivedConfig)
		path   string
		msg    string
	}{
		{"dr maps no ports", func(c *KeepalivedConfig) { c.VirtualServers[0].RealServers[0].Port = 8080 },
			"virtual_server[0].real_server[0].port", "dr forwarding does not map ports"},
		{"tun maps no ports", func(c *KeepalivedConfig) {
			c.VirtualServers[0].ForwardingMethod = "tun"
			c.VirtualServers[0].RealServers[1].Port = 81
		}, "virtual_server[0].real_server[1].port", "tun forwarding does not map ports"},
		{"status code list", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].StatusCode = "200-299 600"
		}, "virtual_server[0].real_server[1].http_get.url[0].status_code", `"600" is not an HTTP status code`},
		{"status code spaces", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].StatusCode = "200  301"
		}, "virtual_server[0].real_server[1].http_get.url[0].status_code", "single spaces"},
		{"two checkers", func(c *KeepalivedConfig) { c.VirtualServers[0].RealServers[0].PingCheck = &PingCheck{} },
			"virtual_server[0].real_server[0].ping_check", "second health check beside tcp_check"},
		{"ping has no port", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.PingCheck = nil, &PingCheck{CheckCommon{ConnectPort: 80}}
		}, "virtual_server[0].real_server[0].ping_check.connect_port", "no port"},
		{"udp payload hex", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.UDPCheck = nil, &UDPCheck{Payload: "0a zz"}
		}, "virtual_server[0].real_server[0].udp_check.payload", "is not hex"},
		{"udp reply needs require_reply", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.UDPCheck = nil, &UDPCheck{ReplyPattern: "0a"}
		}, "virtual_server[0].real_server[0].udp_check.reply_pattern", "needs require_reply"},
		{"dns type", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.DNSCheck = nil, &DNSCheck{Type: "PTR"}
		}, "virtual_server[0].real_server[0].dns_check.type", "allowed values"},
		{"file check path", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.FileCheck = nil, &FileCheck{File: "relative/file"}
		}, "virtual_server[0].real_server[0].file_check.file", "absolute path"},
		{"smtp host family", func(c *KeepalivedConfig) {
			rs := &c.VirtualServers[0].RealServers[0]
			rs.TCPCheck, rs.SMTPCheck = nil, &SMTPCheck{Hosts: []SMTPHost{{ConnectIP: netip.MustParseAddr("2001:db8::1")}}}
		}, "virtual_server[0].real_server[0].smtp_check.host[0].connect_ip", "another address family"},
		{"sync daemon interface", func(c *KeepalivedConfig) {
			c.Director.Globals.LVSSyncDaemon = &LVSSyncDaemon{Interface: "eth 1"}
		}, "global_defs.lvs_sync_daemon.interface", "not a valid interface name"},
		{"vrid range", func(c *KeepalivedConfig) { c.Director.Instances[0].VirtualRouterID = 300 },
			"vrrp_instance[0].virtual_router_id", "allowed values are 1 to 255"},
		{"priority range", func(c *KeepalivedConfig) { c.Director.Instances[0].Priority = 255 },
			"vrrp_instance[0].priority", "allowed values are 1 to 254"},
		{"state enum", func(c *KeepalivedConfig) { c.Director.Instances[0].State = "master" },
			"vrrp_instance[0].state", `allowed values are "MASTER" or "BACKUP"`},
		{"v3 refuses auth", func(c *KeepalivedConfig) { c.Director.Instances[0].Version = 3 },
			"vrrp_instance[0].authentication", "VRRP version 3 has no authentication"},
		{"fraction needs v3", func(c *KeepalivedConfig) { c.Director.Instances[0].AdvertInt = 0.5 },
			"vrrp_instance[0].advert_int", "needs VRRP version 3"},
		{"password length", func(c *KeepalivedConfig) { c.Director.Instances[0].Authentication.Password = "123456789" },
			"vrrp_instance[0].authentication.password", "at most 8"},
		{"duplicate vrid on interface", func(c *KeepalivedConfig) {
			in := c.Director.Instances[0]
			in.Name = "VI_2"
			in.VirtualIPs = []VirtualIP{{Prefix: netip.MustParsePrefix("192.168.0.11/24")}}
			c.Director.Instances = append(c.Director.Instances, in)
		}, "vrrp_instance[1].virtual_router_id", "51 is already used by vrrp_instance[0]"},
		{"duplicate instance name", func(c *KeepalivedConfig) {
			in := c.Director.Instances[0]
			in.VirtualRouterID = 52
			c.Director.Instances = append(c.Director.Instances, in)
		}, "vrrp_instance[1].name", "must be unique"},
		{"mixed vip families", func(c *KeepalivedConfig) {
			c.Director.Instances[0].VirtualIPs = append(c.Director.Instances[0].VirtualIPs, VirtualIP{Prefix: netip.MustParsePrefix("2001:db8::10/64")})
		}, "vrrp_instance[0].virtual_ipaddress[1].address", "another address family"},
		{"nopreempt needs backup", func(c *KeepalivedConfig) { c.Director.Instances[0].NoPreempt = true },
			"vrrp_instance[0].nopreempt", "needs state BACKUP"},
		{"real server family", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[0].Address = netip.MustParseAddr("2001:db8::21")
		}, "virtual_server[0].real_server[0].address", "another address family"},
		{"fwmark excludes address", func(c *KeepalivedConfig) { c.VirtualServers[0].Fwmark = 7 },
			"virtual_server[0].fwmark", "exclusive"},
		{"duplicate service", func(c *KeepalivedConfig) {
			c.VirtualServers = append(c.VirtualServers, VirtualServer{
				Address: netip.MustParseAddr("192.168.0.10"), Port: 80,
				RealServers: []RealServer{{Address: netip.MustParseAddr("192.168.0.30"), Port: 80}},
			})
		}, "virtual_server[1].address", "tcp/192.168.0.10:80 is already served by virtual_server[0]"},
		{"duplicate real server", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[1].Address = c.VirtualServers[0].RealServers[0].Address
		}, "virtual_server[0].real_server[1].address", "is already real_server[0]"},
		{"weight range", func(c *KeepalivedConfig) { c.VirtualServers[0].RealServers[0].Weight = ptr(70000) },
			"virtual_server[0].real_server[0].weight", "allowed values are 0 to 65535"},
		{"scheduler enum", func(c *KeepalivedConfig) { c.VirtualServers[0].Scheduler = "roundrobin" },
			"virtual_server[0].scheduler", `"rr", "wrr"`},
		{"sh flags need sh", func(c *KeepalivedConfig) { c.VirtualServers[0].SchedulerFallback = true },
			"virtual_server[0].scheduler", "need \"sh\" or \"mh\""},
		{"ops needs udp", func(c *KeepalivedConfig) { c.VirtualServers[0].OnePacket = true },
			"virtual_server[0].one_packet", "udp services only"},
		{"persistence prefix", func(c *KeepalivedConfig) {
			c.VirtualServers[0].PersistenceTimeout = 300
			c.VirtualServers[0].PersistenceGranularity = 33
		}, "virtual_server[0].persistence_granularity", "0 to 32"},
		{"two checkers", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[0].MiscCheck = &MiscCheck{Script: "/bin/true"}
		},
			"virtual_server[0].real_server[0].misc_check", "second health check beside tcp_check"},
		{"digest format", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].Digest = "xyz"
		}, "virtual_server[0].real_server[1].http_get.url[0].digest", "MD5"},
		{"newline in script", func(c *KeepalivedConfig) {
			c.Director.Instances[0].TrackScripts[0].Script = "/bin/true\n}\nvirtual_server 1.2.3.4 80 {"
		}, "vrrp_instance[0].track_script[0].script", "line break"},
		{"brace in notify", func(c *KeepalivedConfig) { c.Director.Instances[0].Notify.Master = "/bin/x }" },
			"vrrp_instance[0].notify_master", "braces"},
		{"comment in url path", func(c *KeepalivedConfig) {
			c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].Path = "/x#y"
		}, "virtual_server[0].real_server[1].http_get.url[0].path", "`#`"},
		{"bad name", func(c *KeepalivedConfig) { c.Director.Instances[0].Name = "VI 1" },
			"vrrp_instance[0].name", "not a valid name"},
		{"sync group of one", func(c *KeepalivedConfig) {
			c.Director.SyncGroups = []VRRPSyncGroup{{Name: "G", Instances: []string{"VI_1"}}}
		}, "vrrp_sync_group[0].group", "at least 2"},
		{"sync group unknown member", func(c *KeepalivedConfig) {
			c.Director.SyncGroups = []VRRPSyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_9"}}}
		}, "vrrp_sync_group[0].group[1]", `"VI_9" is not the name of a vrrp_instance`},
		{"unknown group", func(c *KeepalivedConfig) {
			c.VirtualServers[0].Address = netip.Addr{}
			c.VirtualServers[0].Port = 0
			c.VirtualServers[0].Group = "web"
		}, "virtual_server[0].group", `"web" is not the name of a virtual_server_group`},
		{"gue with keepalived", func(c *KeepalivedConfig) {
			c.VirtualServers[0].ForwardingMethod = "tun"
			c.VirtualServers[0].TunnelType = "gue"
			c.VirtualServers[0].TunnelPort = 6080
		}, "virtual_server[0].tunnel_type", "not supported by the keepalived engine"},
		{"gue needs port", func(c *KeepalivedConfig) {
			c.Director.Engine = "netlink"
			c.VirtualServers[0].ForwardingMethod = "tun"
			c.VirtualServers[0].TunnelType = "gue"
		}, "virtual_server[0].tunnel_port", "must be set"},
		{"sysctl contradicts derived", func(c *KeepalivedConfig) {
			c.Director.Sysctls = []Sysctl{{Key: "net.ipv4.conf.all.send_redirects", Value: "1"}}
		}, "sysctl[0].value", "contradicts the derived"},
		{"sysctl key", func(c *KeepalivedConfig) { c.Director.Sysctls = []Sysctl{{Key: "net ipv4", Value: "1"}} },
			"sysctl[0].key", "not a sysctl key"},
		{"engine enum", func(c *KeepalivedConfig) { c.Director.Engine = "ipvsadm" },
			"engine", `"keepalived" or "netlink"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := drConfig()
			tc.mutate(c)
			errs := AsErrors(c.Validate(nil))
			if len(errs) == 0 {
				t.Fatalf("no error; want %s: %s", tc.path, tc.msg)
			}
			for _, e := range errs {
				if e.Path.String() == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("want an error at %s containing %q, got:\n%v", tc.path, tc.msg, errs)
		})
	}
}

func TestPasswordNeverEchoed(t *testing.T) {
	c := drConfig()
	c.Director.Instances[0].Authentication.Password = "ab\"cd"
	err := c.Validate(nil)
	if err == nil {
		t.Fatal("a password with a quote passed validation")
	}
	if strings.Contains(err.Error(), "ab\"cd") {
		t.Fatalf("the error echoes the password: %v", err)
	}
}

func TestDirectorSysctls(t *testing.T) {
	c := drConfig()
	c.VirtualServers = append(c.VirtualServers, VirtualServer{
		Address: netip.MustParseAddr("192.168.0.10"), Port: 443, ForwardingMethod: "nat",
		RealServers: []RealServer{{Address: netip.MustParseAddr("10.1.0.5"), Port: 8443}},
	})
	c.Director.Instances[0].Interface = "eth0.100"
	c.Director.Sysctls = []Sysctl{{Key: "net.core.somaxconn", Value: "4096", Reason: "backlog"}}
	got, err := c.DirectorSysctls()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"net.ipv4.conf.all.send_redirects":      "0",
		"net.ipv4.conf.default.send_redirects":  "0",
		"net.ipv4.conf.eth0.send_redirects":     "0",
		"net.ipv4.conf.eth0/100.send_redirects": "0",
		"net.ipv4.ip_forward":                   "1",
		"net.core.somaxconn":                    "4096",
		"net.ipv4.vs.expire_nodest_conn":        "1",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sysctls, want %d: %v", len(got), len(want), got)
	}
	for _, s := range got {
		if want[s.Key] != s.Value {
			t.Errorf("%s = %s, want %q", s.Key, s.Value, want[s.Key])
		}
		if s.Reason == "" {
			t.Errorf("%s has no reason", s.Key)
		}
	}
	for _, s := range got {
		if s.Optional != (s.Key == "net.ipv4.vs.expire_nodest_conn") {
			t.Errorf("%s: optional %v; only the IPVS default is optional (the kernel may lack it)", s.Key, s.Optional)
		}
	}
	// An operator's own value replaces the IPVS default instead of
	// contradicting it; a derived requirement still refuses one.
	c.Director.Sysctls = append(c.Director.Sysctls, Sysctl{Key: "net.ipv4.vs.expire_nodest_conn", Value: "0"})
	over, err := c.DirectorSysctls()
	if err != nil {
		t.Fatalf("an operator's expire_nodest_conn = 0: %v", err)
	}
	for _, s := range over {
		if s.Key == "net.ipv4.vs.expire_nodest_conn" && (s.Value != "0" || s.Optional) {
			t.Errorf("the operator's expire_nodest_conn: %+v, want value 0, not optional", s)
		}
	}
	c.Director.Sysctls = append(c.Director.Sysctls[:1], Sysctl{Key: "net.ipv4.ip_forward", Value: "0"})
	if _, err := c.DirectorSysctls(); err == nil || !strings.Contains(err.Error(), "contradicts") {
		t.Errorf("ip_forward = 0 on a NAT director: %v, want a contradiction", err)
	}
	if last := got[len(got)-1]; last.Key != "net.core.somaxconn" {
		t.Errorf("operator sysctls must come after derived ones, last is %s", last.Key)
	}
}

func TestRealServerSetup(t *testing.T) {
	vip := netip.MustParseAddr("192.168.0.10")
	dr := (&RealServerHost{Method: "dr", VIPs: []netip.Addr{vip}}).Setup()
	if len(dr.Addresses) != 1 || dr.Addresses[0].Device != "lo" || dr.Addresses[0].Prefix.String() != "192.168.0.10/32" {
		t.Errorf("DR addresses = %v, want 192.168.0.10/32 on lo", dr.Addresses)
	}
	if !hasSysctl(dr.Sysctls, "net.ipv4.conf.all.arp_ignore", "1") || !hasSysctl(dr.Sysctls, "net.ipv4.conf.all.arp_announce", "2") {
		t.Errorf("DR sysctls lack arp_ignore=1/arp_announce=2: %v", dr.Sysctls)
	}
	tun := (&RealServerHost{Method: "tun", VIPs: []netip.Addr{vip}}).Setup()
	if tun.TunnelDevice != "tunl0" || tun.Addresses[0].Device != "tunl0" || !hasSysctl(tun.Sysctls, "net.ipv4.conf.tunl0.rp_filter", "0") {
		t.Errorf("TUN setup = %+v", tun)
	}
	gw := netip.MustParseAddr("10.1.0.1")
	nat := (&RealServerHost{Method: "nat", Gateway: gw}).Setup()
	if nat.Gateway != gw || len(nat.Addresses) != 0 || len(nat.Sysctls) != 0 {
		t.Errorf("NAT setup = %+v", nat)
	}
	if err := (&RealServerHost{Method: "dr"}).Validate(nil); err == nil || !strings.Contains(err.Error(), "vips") {
		t.Errorf("DR without VIPs: err = %v", err)
	}
}

func hasSysctl(list []Sysctl, key, value string) bool {
	for _, s := range list {
		if s.Key == key && s.Value == value {
			return true
		}
	}
	return false
}

func TestPathString(t *testing.T) {
	p := Path{"virtual_server", 2, "real_server", 0, "http_get", "url", 1, "path"}
	if got, want := p.String(), "virtual_server[2].real_server[0].http_get.url[1].path"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	base := Path{"a"}
	x, y := base.At("x"), base.At("y")
	if x.String() != "a.x" || y.String() != "a.y" {
		t.Fatalf("At shares the backing array: %s %s", x, y)
	}
}

// TestLocPath: a location under construction becomes the same Path that
// Path.At would have built, prefix included, and siblings built from one
// parent stay apart.
func TestLocPath(t *testing.T) {
	root := rootLoc(Path{"group", 3})
	vs := root.At("virtual_server", 2)
	rs := vs.At("real_server", 300)
	x, y := rs.At("http_get", "url", 1, "path"), rs.At("weight")
	if got, want := x.path().String(), "group[3].virtual_server[2].real_server[300].http_get.url[1].path"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := y.path().String(), "group[3].virtual_server[2].real_server[300].weight"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if p := (loc{}).path(); p != nil {
		t.Errorf("the empty location is %#v, want a nil Path", p)
	}
	var errs Errors
	errs.add(y, "bad")
	if got := errs[0].Error(); got != "group[3].virtual_server[2].real_server[300].weight: bad" {
		t.Errorf("error %q", got)
	}
}

// TestValidateAllocatesNothingPerAttribute: on the happy path, validating
// a virtual server with few real servers allocates nothing, and one with
// more costs the same allocations at 20 real servers as at 200 (the map
// of destinations, sized once), so no per-attribute path, nor anything
// else per real server, is built.
func TestValidateAllocatesNothingPerAttribute(t *testing.T) {
	build := func(n int) *VirtualServer {
		vs := &VirtualServer{Address: netip.MustParseAddr("10.0.0.1"), Port: 80, ForwardingMethod: "dr", DelayLoop: 6}
		for j := range n {
			vs.RealServers = append(vs.RealServers, RealServer{Address: netip.AddrFrom4([4]byte{10, 1, byte(j / 256), byte(j)}),
				Weight: ptr(1), TCPCheck: &TCPCheck{CheckCommon: CheckCommon{ConnectTimeout: 3}}})
		}
		return vs
	}
	var errs Errors
	allocs := map[int]float64{}
	for _, n := range []int{10, 20, 200} {
		vs := build(n)
		allocs[n] = testing.AllocsPerRun(20, func() { vs.validate(&errs, loc{}) })
	}
	if len(errs) != 0 {
		t.Fatalf("valid service refused: %v", errs)
	}
	t.Logf("allocations per validation by real servers: %v", allocs)
	if allocs[10] != 0 || allocs[200] > allocs[20] {
		t.Errorf("validation allocates per attribute or real server: %v allocations by number of real servers", allocs)
	}
}
