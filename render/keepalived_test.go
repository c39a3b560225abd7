package render

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func kaAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func kaPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func kaPtr[T any](v T) *T            { return &v }

// scriptDirector is a director whose scripts keepalived -t accepts: script
// security on, scripts run as root. (A non-root script_user or MISC_CHECK
// user makes keepalived 2.2.7's config test kill itself with SIGTERM,
// keepalived issue #2617, fixed in 2.2.8.)
func scriptDirector(d model.Director) model.Director {
	d.ScriptUser = "root"
	d.EnableScriptSecurity = true
	return d
}

// drDirector is one of the two directors of the classic LVS-DR pair.
func drDirector(routerID, state string, priority int) model.Director {
	return model.Director{
		Interface: "eth0",
		RouterID:  routerID,
		Instances: []model.VRRPInstance{{
			Name: "VI_1", State: state, VirtualRouterID: 51, Priority: priority, AdvertInt: 1,
			Authentication: &model.VRRPAuth{Type: "PASS", Password: "lvs-dr51"},
			VirtualIPs:     []model.VirtualIP{{Prefix: kaPrefix("192.168.0.10/24"), Label: "eth0:1"}},
		}},
	}
}

// drServices is the web service both DR directors carry: one real server
// checked by TCP connect, one by HTTP, and a sorry server for when both fail.
func drServices() []model.VirtualServer {
	return []model.VirtualServer{{
		Address: kaAddr("192.168.0.10"), Port: 80, Scheduler: "wlc", ForwardingMethod: "dr",
		DelayLoop: 6, PersistenceTimeout: 300, PersistenceGranularity: 24,
		SorryServer: &model.SorryServer{Address: kaAddr("192.168.0.250"), Port: 80},
		RealServers: []model.RealServer{
			{Address: kaAddr("192.168.0.21"), Weight: kaPtr(1), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectTimeout: 3}}},
			{Address: kaAddr("192.168.0.22"), Weight: kaPtr(1), HTTPGet: &model.HTTPCheck{
				URLs:        []model.CheckURL{{Path: "/health", StatusCode: "200"}},
				CheckCommon: model.CheckCommon{ConnectTimeout: 3, Retry: 3, DelayBeforeRetry: 3},
			}},
		},
	}}
}

// natDirector holds the public VIP on eth0 and, for the real servers, their
// default gateway on eth1: the two move together in one sync group.
func natDirector(state string, priority int) model.Director {
	return model.Director{
		Interface: "eth0",
		RouterID:  "lvs-nat-1",
		Instances: []model.VRRPInstance{
			{Name: "VI_PUBLIC", State: state, VirtualRouterID: 60, Priority: priority,
				VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("203.0.113.10/24")}}},
			{Name: "VI_GATEWAY", Interface: "eth1", State: state, VirtualRouterID: 61, Priority: priority,
				VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("10.0.1.1/24")}}},
		},
		SyncGroups: []model.VRRPSyncGroup{{Name: "VG_NAT", Instances: []string{"VI_PUBLIC", "VI_GATEWAY"}}},
	}
}

// keepalivedCases are the classic setups, one golden file each.
var keepalivedCases = []struct {
	name string
	cfg  func() *model.KeepalivedConfig
}{
	// (a) LVS-NAT, round robin: the smallest useful director.
	{"nat_rr", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: model.Director{
				Interface: "eth0", RouterID: "lvs-nat-rr",
				Instances: []model.VRRPInstance{{
					Name: "VI_1", State: "MASTER", VirtualRouterID: 50, Priority: 100,
					VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("203.0.113.10/24")}},
				}},
			},
			VirtualServers: []model.VirtualServer{{
				Address: kaAddr("203.0.113.10"), Port: 80, Scheduler: "rr",
				RealServers: []model.RealServer{
					{Address: kaAddr("10.0.1.11"), Port: 8080, TCPCheck: &model.TCPCheck{}},
					{Address: kaAddr("10.0.1.12"), Port: 8080, TCPCheck: &model.TCPCheck{}},
				},
			}},
		}
	}},
	// (a) LVS-NAT, weighted round robin, with the real servers' gateway VIP.
	{"nat_wrr", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: natDirector("MASTER", 150),
			VirtualServers: []model.VirtualServer{{
				Address: kaAddr("203.0.113.10"), Port: 443, Scheduler: "wrr", ForwardingMethod: "nat",
				DelayLoop: 10, PersistenceTimeout: 600,
				RealServers: []model.RealServer{
					{Address: kaAddr("10.0.1.11"), Port: 8443, Weight: kaPtr(3), TCPCheck: &model.TCPCheck{}},
					{Address: kaAddr("10.0.1.12"), Port: 8443, Weight: kaPtr(1), TCPCheck: &model.TCPCheck{}},
				},
			}},
		}
	}},
	// A single director without VRRP: its VIPs are static addresses
	// (static_ipaddress), held whatever happens, beside its services.
	{"single_director_static", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: model.Director{
				Interface: "eth0", RouterID: "lvs-single",
				StaticAddresses: []model.StaticAddress{
					{Prefix: kaPrefix("203.0.113.10/24")},
					{Prefix: kaPrefix("203.0.113.11/32"), Device: "eth1", Scope: "link"},
				},
			},
			VirtualServers: []model.VirtualServer{{
				Address: kaAddr("203.0.113.10"), Port: 80, Scheduler: "wlc", ForwardingMethod: "dr",
				RealServers: []model.RealServer{
					{Address: kaAddr("203.0.113.21"), TCPCheck: &model.TCPCheck{}},
					{Address: kaAddr("203.0.113.22"), TCPCheck: &model.TCPCheck{}},
				},
			}},
		}
	}},
	// Static routes and rules (held while keepalived runs) and a MASTER's
	// virtual routes and rules on a VMAC instance: every route form
	// (gateway, device only, blackhole and friends, multipath, a table and
	// metric, IPv6) and every rule selector.
	{"routes_rules_vmac", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: model.Director{
				Interface: "eth0", RouterID: "lvs-routes",
				StaticRoutes: []model.Route{
					{To: kaPrefix("192.168.210.0/24"), Src: kaAddr("192.168.200.1"), Via: kaAddr("192.168.200.254"), Device: "eth0", Scope: "global", Table: 7, Metric: 10},
					{To: kaPrefix("192.168.212.0/24"), Device: "eth1", Scope: "link"},
					{To: kaPrefix("192.168.213.0/24"), Via: kaAddr("192.168.200.254")},
					{To: kaPrefix("192.168.214.0/24"), Type: "blackhole", Table: 7},
					{To: kaPrefix("192.168.215.0/24"), Type: "unreachable"},
					{To: kaPrefix("192.168.216.0/24"), Type: "prohibit"},
					{To: kaPrefix("192.168.217.0/24"), Table: 8, Metric: 5, Nexthops: []model.Nexthop{
						{Via: kaAddr("192.168.100.252"), Device: "eth1", Weight: 2}, {Via: kaAddr("192.168.100.253")},
					}},
					{To: kaPrefix("2001:db8:1::/64"), Device: "eth0"},
				},
				StaticRules: []model.Rule{
					{From: kaPrefix("10.1.0.0/16"), To: kaPrefix("10.2.0.0/16"), FwMark: 5, FwMask: 0xff, InputInterface: "eth0", OutputInterface: "eth1", Priority: 100, Table: 7},
					{Priority: 101, Table: 8},
					{From: kaPrefix("2001:db8:2::/64"), Priority: 102, Table: 9},
				},
				Instances: []model.VRRPInstance{{
					Name: "VI_1", State: "MASTER", VirtualRouterID: 51, Priority: 100,
					UseVMAC: true, VMACInterface: "vrrp51", VMACXmitBase: true,
					VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("192.168.200.16/24")}},
					VirtualRoutes: []model.Route{
						{To: kaPrefix("192.168.110.0/24"), Via: kaAddr("192.168.200.254"), Device: "eth0"},
						{To: kaPrefix("192.168.111.0/24"), Device: "eth1", NoTrack: true},
						{To: kaPrefix("0.0.0.0/0"), Via: kaAddr("192.168.200.254"), Table: 100},
					},
					VirtualRules: []model.Rule{
						{From: kaPrefix("192.168.200.0/24"), Priority: 200, Table: 100},
						{To: kaPrefix("192.168.201.0/24"), Priority: 201, Table: 100, NoTrack: true},
					},
				}},
			},
		}
	}},
	// (b) LVS-DR with keepalived: the master and the backup of one pair.
	{"dr_master", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{Director: drDirector("lvs-dr-1", "MASTER", 120), VirtualServers: drServices()}
	}},
	{"dr_backup", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{Director: drDirector("lvs-dr-2", "BACKUP", 100), VirtualServers: drServices()}
	}},
	// (c) http and https on one VIP, served as one virtual_server_group:
	// one set of health checks for both ports.
	{"vsg_http_https", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: drDirector("lvs-web", "MASTER", 120),
			Groups: []model.VirtualServerGroup{{Name: "WEB", Members: []model.VSGroupMember{
				{Address: kaAddr("192.168.0.10"), Port: 80},
				{Address: kaAddr("192.168.0.10"), Port: 443},
			}}},
			VirtualServers: []model.VirtualServer{{
				Group: "WEB", Scheduler: "wlc", ForwardingMethod: "dr", DelayLoop: 6,
				RealServers: []model.RealServer{
					{Address: kaAddr("192.168.0.21"), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 443}}},
					{Address: kaAddr("192.168.0.22"), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 443}}},
				},
			}},
		}
	}},
	// (d) A firewall-mark service: iptables marks http and https of the
	// VIP with 1, and one persistent service balances both.
	{"fwmark", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: drDirector("lvs-fwm", "MASTER", 120),
			VirtualServers: []model.VirtualServer{{
				Fwmark: 1, Scheduler: "sh", SchedulerPort: true, ForwardingMethod: "dr", PersistenceTimeout: 900,
				RealServers: []model.RealServer{
					{Address: kaAddr("192.168.0.21"), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 80, ConnectTimeout: 3}}},
					{Address: kaAddr("192.168.0.22"), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 80, ConnectTimeout: 3}}},
				},
			}},
		}
	}},
	// (d) IPv6: a VRRP instance of IPv6 VIPs, an address service and a
	// fwmark service of family inet6.
	{"ipv6", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: model.Director{
				Interface: "eth0", RouterID: "lvs-v6",
				Instances: []model.VRRPInstance{{
					Name: "VI_6", State: "MASTER", VirtualRouterID: 56, Priority: 120, Version: 3,
					VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("2001:db8::10/64")}},
				}},
			},
			VirtualServers: []model.VirtualServer{
				{
					Address: kaAddr("2001:db8::10"), Port: 80, Scheduler: "rr", ForwardingMethod: "dr",
					PersistenceTimeout: 300, PersistenceGranularity: 64,
					RealServers: []model.RealServer{
						{Address: kaAddr("2001:db8::21"), HTTPGet: &model.HTTPCheck{URLs: []model.CheckURL{{Path: "/", StatusCode: "200-299"}}}},
						{Address: kaAddr("2001:db8::22"), HTTPGet: &model.HTTPCheck{URLs: []model.CheckURL{{Path: "/", StatusCode: "200-299"}}}},
					},
				},
				{
					Fwmark: 6, Family: "inet6", Scheduler: "wlc", ForwardingMethod: "dr",
					RealServers: []model.RealServer{
						{Address: kaAddr("2001:db8::21"), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 443}}},
					},
				},
			},
		}
	}},
	// (e) keepalived + haproxy: VRRP only, over unicast, the VIP following
	// the host whose haproxy runs.
	{"haproxy_ha", func() *model.KeepalivedConfig {
		chk := model.TrackScript{Name: "chk_haproxy", Script: "/usr/bin/pidof haproxy", Interval: 2, Weight: 2, Fall: 2, Rise: 2}
		return &model.KeepalivedConfig{Director: scriptDirector(model.Director{
			Interface: "eth0", RouterID: "haproxy-1",
			Instances: []model.VRRPInstance{{
				Name: "VI_HAPROXY", State: "BACKUP", VirtualRouterID: 70, Priority: 101,
				Authentication: &model.VRRPAuth{Type: "PASS", Password: "hapass"},
				UnicastSrcIP:   kaAddr("10.0.0.2"),
				UnicastPeers:   []netip.Addr{kaAddr("10.0.0.3")},
				VirtualIPs:     []model.VirtualIP{{Prefix: kaPrefix("10.0.0.100/24")}},
				TrackScripts:   []model.TrackScript{chk},
				Notify:         model.Notify{Master: "/usr/bin/logger -t keepalived haproxy VIP is here"},
			}},
		})}
	}},
	// (f) VRRPv3 with centisecond adverts, and a sync group of two
	// instances that fail over together.
	{"vrrp3_sync", func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{Director: scriptDirector(model.Director{
			Interface: "eth0", RouterID: "lvs-v3",
			Instances: []model.VRRPInstance{
				{Name: "VI_FRONT", State: "MASTER", VirtualRouterID: 80, Priority: 200, Version: 3, AdvertInt: 0.1,
					VirtualIPs:  []model.VirtualIP{{Prefix: kaPrefix("198.51.100.10/24")}},
					TrackIfaces: []model.TrackInterface{{Name: "eth1"}}},
				{Name: "VI_BACK", Interface: "eth1", State: "MASTER", VirtualRouterID: 81, Priority: 200, Version: 3, AdvertInt: 0.1,
					VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("10.0.2.1/24")}}},
			},
			SyncGroups: []model.VRRPSyncGroup{{
				Name: "VG_1", Instances: []string{"VI_FRONT", "VI_BACK"},
				Notify: model.Notify{Any: "/usr/bin/logger -t keepalived-sync"},
			}},
		})}
	}},
	// (g) Every field of the model, once.
	{"kitchen_sink", kitchenSink},
	// (h) Every checker beyond TCP, HTTP and MISC, each with its settings.
	{"checkers", checkersConfig},
}

// checkersConfig has a real server with each of SMTP_CHECK (with hosts),
// PING_CHECK, UDP_CHECK (payload, reply), DNS_CHECK, FILE_CHECK (two
// servers reading one file, one another) and HTTP_GET with several urls
// and a list of status codes.
func checkersConfig() *model.KeepalivedConfig {
	return &model.KeepalivedConfig{
		Director: natDirector("MASTER", 150),
		VirtualServers: []model.VirtualServer{
			{
				Address: kaAddr("203.0.113.10"), Port: 25, Scheduler: "rr",
				RealServers: []model.RealServer{
					{Address: kaAddr("10.0.1.11"), SMTPCheck: &model.SMTPCheck{HeloName: "lvs.example.com",
						CheckCommon: model.CheckCommon{ConnectTimeout: 10, Retry: 2, DelayBeforeRetry: 5}}},
					{Address: kaAddr("10.0.1.12"), SMTPCheck: &model.SMTPCheck{Hosts: []model.SMTPHost{
						{ConnectIP: kaAddr("10.0.1.12")},
						{ConnectIP: kaAddr("10.0.2.12"), ConnectPort: 587, BindTo: kaAddr("10.0.2.2")},
					}}},
				},
			},
			{
				Address: kaAddr("203.0.113.10"), Port: 53, Protocol: "udp", Scheduler: "rr",
				RealServers: []model.RealServer{
					{Address: kaAddr("10.0.1.21"), DNSCheck: &model.DNSCheck{Type: "A", Name: "www.example.com",
						CheckCommon: model.CheckCommon{Retry: 3}}},
					{Address: kaAddr("10.0.1.22"), UDPCheck: &model.UDPCheck{Payload: "0a0b 0c", RequireReply: true,
						ReplyPattern: "0a xx", MinReplyLength: 2, MaxReplyLength: 64, CheckCommon: model.CheckCommon{ConnectTimeout: 4}}},
					{Address: kaAddr("10.0.1.23"), UDPCheck: &model.UDPCheck{RequireReply: true}},
					{Address: kaAddr("10.0.1.24"), PingCheck: &model.PingCheck{CheckCommon: model.CheckCommon{Retry: 4}}},
				},
			},
			{
				Address: kaAddr("203.0.113.10"), Port: 80, Scheduler: "wrr",
				RealServers: []model.RealServer{
					{Address: kaAddr("10.0.1.31"), FileCheck: &model.FileCheck{File: "/run/lvs/rs31.weight", Weight: kaPtr(10)}},
					{Address: kaAddr("10.0.1.32"), FileCheck: &model.FileCheck{File: "/run/lvs/rs31.weight", Reverse: true}},
					{Address: kaAddr("10.0.1.33"), FileCheck: &model.FileCheck{File: "/run/lvs/rs33-weight"}},
					{Address: kaAddr("10.0.1.34"), HTTPGet: &model.HTTPCheck{URLs: []model.CheckURL{
						{Path: "/", StatusCode: "200-299 400-499 503"},
						{Path: "/mrtg/", StatusCode: "200", Digest: "9b3a0c85a887a256d6939da88aabd8cd"},
					}}},
				},
			},
		},
	}
}

// kitchenSink sets every field the renderer knows at least once.
func kitchenSink() *model.KeepalivedConfig {
	notify := model.Notify{
		Master: "/usr/bin/logger -t ka master", Backup: "/usr/bin/logger -t ka backup",
		Fault: "/usr/bin/logger -t ka fault", Stop: "/usr/bin/logger -t ka stop", Any: "/usr/bin/logger -t ka",
	}
	chk := model.TrackScript{Name: "chk_sshd", Script: "/usr/bin/test -e /", Interval: 3, Timeout: 2, Weight: -10, Fall: 3, Rise: 2}
	return &model.KeepalivedConfig{
		Director: model.Director{
			Interface: "eth0", RouterID: "lvs-sink", ScriptUser: "root", EnableScriptSecurity: true, Engine: "keepalived",
			Instances: []model.VRRPInstance{
				{
					Name: "VI_1", State: "BACKUP", VirtualRouterID: 91, Priority: 150, AdvertInt: 2, Version: 2,
					Authentication: &model.VRRPAuth{Type: "AH", Password: "ah-pass"},
					UnicastSrcIP:   kaAddr("192.168.0.2"),
					UnicastPeers:   []netip.Addr{kaAddr("192.168.0.3"), kaAddr("192.168.0.4")},
					VirtualIPs: []model.VirtualIP{
						{Prefix: kaPrefix("192.168.0.10/24"), Label: "eth0:1"},
						{Prefix: kaPrefix("192.168.1.10/32"), Device: "eth1", Label: "eth1:vip"},
					},
					TrackScripts:      []model.TrackScript{chk},
					TrackIfaces:       []model.TrackInterface{{Name: "eth1", Weight: -20}, {Name: "eth2"}},
					NoPreempt:         true,
					GarpMasterDelay:   5,
					GarpMasterRepeat:  3,
					GarpMasterRefresh: 60,
					Notify:            notify,
				},
				{
					Name: "VI_2", Interface: "eth1", State: "BACKUP", VirtualRouterID: 92, Priority: 100, Version: 3, AdvertInt: 0.25,
					PreemptDelay: 30,
					VirtualIPs:   []model.VirtualIP{{Prefix: kaPrefix("2001:db8:1::10/64")}},
				},
				{
					Name: "VI_3", Interface: "eth2", VirtualRouterID: 93, Priority: 90,
					VirtualIPs: []model.VirtualIP{{Prefix: kaPrefix("10.0.3.1/24")}},
				},
			},
			SyncGroups: []model.VRRPSyncGroup{{Name: "VG_23", Instances: []string{"VI_2", "VI_3"}, Notify: notify}},
		},
		Groups: []model.VirtualServerGroup{
			{Name: "VSG_RANGE", Members: []model.VSGroupMember{
				{Address: kaAddr("192.168.0.20"), RangeEnd: 25, Port: 80},
				{Address: kaAddr("192.168.0.30"), Port: 8080},
				{Fwmark: 40},
			}},
			{Name: "VSG_V6", Members: []model.VSGroupMember{{Address: kaAddr("2001:db8::100"), RangeEnd: 0x11f, Port: 80}}},
		},
		VirtualServers: []model.VirtualServer{
			{
				Address: kaAddr("192.168.0.10"), Port: 80, Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "nat",
				DelayLoop: 5, Retry: 2, DelayBeforeRetry: 4, ConnectTimeout: 6, VirtualHost: "www.example.com",
				PersistenceTimeout: 120, PersistenceGranularity: 32,
				Quorum: 2, Hysteresis: 1, QuorumUp: "/usr/bin/logger -t ka quorum up", QuorumDown: "/usr/bin/logger -t ka quorum down",
				Alpha: true, Omega: true, InhibitOnFailure: true,
				SorryServer: &model.SorryServer{Address: kaAddr("192.168.0.250"), Port: 8080, ForwardingMethod: "nat", Inhibit: true},
				RealServers: []model.RealServer{
					{
						Address: kaAddr("10.0.1.11"), Port: 8080, Weight: kaPtr(0), InhibitOnFailure: kaPtr(false),
						UpperThreshold: 1000, LowerThreshold: 800,
						NotifyUp: "/usr/bin/logger -t ka rs up", NotifyDown: "/usr/bin/logger -t ka rs down",
						HTTPGet: &model.HTTPCheck{
							URLs: []model.CheckURL{
								{Path: "/health", StatusCode: "200", Digest: "640205b7b0fc66c1ea91c463fac6334d"},
								{Path: "/ready"},
							},
							VirtualHost: "health.example.com",
							CheckCommon: model.CheckCommon{ConnectIP: kaAddr("10.0.1.111"), ConnectPort: 8081, BindTo: kaAddr("10.0.1.2"),
								ConnectTimeout: 3, Retry: 2, DelayBeforeRetry: 1},
						},
					},
					{Address: kaAddr("10.0.1.12"), Port: 8443, InhibitOnFailure: kaPtr(true),
						SSLGet: &model.HTTPCheck{URLs: []model.CheckURL{{Path: "/", StatusCode: "200-399"}}}},
					{Address: kaAddr("10.0.1.13"), Port: 8080, MiscCheck: &model.MiscCheck{Script: "/usr/bin/test -d /tmp", Timeout: 5, Dynamic: true, User: "root"}},
					{Address: kaAddr("10.0.1.14"), ForwardingMethod: "dr", TCPCheck: &model.TCPCheck{}},
				},
			},
			{
				Address: kaAddr("192.168.0.10"), Port: 53, Protocol: "udp", Scheduler: "sh", SchedulerPort: true, SchedulerFallback: true,
				OnePacket: true, ForwardingMethod: "tun", TunnelType: "ipip",
				SorryServer: &model.SorryServer{Address: kaAddr("192.168.0.251"), ForwardingMethod: "dr"},
				RealServers: []model.RealServer{{Address: kaAddr("192.168.2.11")}},
			},
			{
				Address: kaAddr("192.168.0.11"), Protocol: "sctp", Scheduler: "mh", SchedulerFallback: true, ForwardingMethod: "dr",
				PersistenceTimeout: 60,
				RealServers:        []model.RealServer{{Address: kaAddr("192.168.0.31")}},
			},
			{Group: "VSG_RANGE", Scheduler: "lc", ForwardingMethod: "nat",
				RealServers: []model.RealServer{{Address: kaAddr("10.0.1.21"), Port: 80}}},
			{Group: "VSG_V6", Family: "inet6", Scheduler: "rr", ForwardingMethod: "dr",
				RealServers: []model.RealServer{{Address: kaAddr("2001:db8::121")}}},
			{Fwmark: 41, Family: "inet6", Scheduler: "mh", SchedulerPort: true, ForwardingMethod: "dr", PersistenceTimeout: 30, PersistenceGranularity: 48,
				RealServers: []model.RealServer{{Address: kaAddr("2001:db8::131")}}},
		},
	}
}

// TestKeepalivedGolden renders each classic setup, compares it with its
// golden file (refreshed by -update) and has the real keepalived check it.
func TestKeepalivedGolden(t *testing.T) {
	for _, tc := range keepalivedCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			got, err := Keepalived(cfg)
			if err != nil {
				t.Fatalf("Keepalived: %v", err)
			}
			if !strings.HasPrefix(got, ManagedMarker+"\n") {
				t.Errorf("first line is not the managed marker:\n%s", got)
			}
			kaCompareGolden(t, filepath.Join("testdata", "keepalived", tc.name+".conf"), got)
			keepalivedConfigTest(t, got, kaInterfaces(cfg))
		})
	}
}

// kaCompareGolden compares got with the golden file at path, or rewrites
// the file under -update.
func kaCompareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./render -update to create it): %v", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from the render at line %d:\n got: %q\nwant: %q\n(run go test ./render -update after checking the change)\n--- render ---\n%s", path, i+1, g, w, got)
		}
	}
}

// kaInterfaces lists the network interfaces a configuration names, which
// must exist for keepalived -t to accept it.
func kaInterfaces(cfg *model.KeepalivedConfig) []string {
	d := &cfg.Director
	var out []string
	add := func(name string) {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	add(d.Interface)
	for _, a := range d.StaticAddresses {
		add(a.Device)
	}
	routes := func(rs []model.Route) {
		for _, r := range rs {
			add(r.Device)
			for _, nh := range r.Nexthops {
				add(nh.Device)
			}
		}
	}
	rules := func(rs []model.Rule) {
		for _, r := range rs {
			add(r.InputInterface)
			add(r.OutputInterface)
		}
	}
	routes(d.StaticRoutes)
	rules(d.StaticRules)
	for _, in := range d.Instances {
		routes(in.VirtualRoutes)
		rules(in.VirtualRules)
		add(in.Interface)
		for _, v := range in.VirtualIPs {
			add(v.Device)
		}
		for _, ti := range in.TrackIfaces {
			add(ti.Name)
		}
	}
	return out
}

// keepalivedConfigTest runs `keepalived -t` on conf inside a network
// namespace of its own that has an interface of each name in ifaces, and
// fails the test with keepalived's messages unless it exits 0.
func keepalivedConfigTest(t *testing.T, conf string, ifaces []string) {
	t.Helper()
	if out, err := runKeepalivedTest(t, conf, ifaces); err != nil {
		t.Fatalf("keepalived -t: %v\n%s\n--- config ---\n%s", err, out, kaNumbered(conf))
	}
}

// runKeepalivedTest runs `keepalived -t -f` on conf in a fresh network
// namespace holding the interfaces ifaces, removed when the test ends, and
// returns keepalived's messages and exit error.
func runKeepalivedTest(t *testing.T, conf string, ifaces []string) (string, error) {
	t.Helper()
	requireRoot(t)
	keepalived := requireTool(t, "keepalived")
	ip := requireTool(t, "ip")
	ns := "lvs-render-" + kaRandomSuffix(t)
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	for _, name := range ifaces {
		kaAddLink(t, ip, ns, name)
	}
	file := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ip, "netns", "exec", ns, keepalived, "-t", "-f", file).CombinedOutput()
	return string(out), err
}

// kaAddLink creates an interface called name in the namespace: a dummy where
// the kernel has them, else an empty bridge (keepalived -t only needs the
// name to exist).
func kaAddLink(t *testing.T, ip, ns, name string) {
	t.Helper()
	dummy, err := exec.Command(ip, "-n", ns, "link", "add", name, "type", "dummy").CombinedOutput()
	if err == nil {
		return
	}
	if out, err := exec.Command(ip, "-n", ns, "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("creating interface %s in %s: dummy: %s; bridge: %v %s", name, ns, dummy, err, out)
	}
}

func kaRandomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// kaNumbered prefixes each line with its number, as keepalived's messages
// cite them.
func kaNumbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, l)
	}
	return b.String()
}

// TestKeepalivedRefusesInvalid checks that a configuration the model
// refuses is not rendered, and that the error is the model's, with the
// path of the offending attribute.
func TestKeepalivedRefusesInvalid(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *model.KeepalivedConfig)
		path   string
	}{
		{"priority out of range", func(c *model.KeepalivedConfig) { c.Director.Instances[0].Priority = 300 }, "vrrp_instance[0].priority"},
		{"newline in a notify script", func(c *model.KeepalivedConfig) {
			c.Director.Instances[0].Notify.Master = "/bin/true\n}\ninclude /etc/passwd"
		}, "vrrp_instance[0].notify_master"},
		{"dr real server maps a port", func(c *model.KeepalivedConfig) { c.VirtualServers[0].RealServers[0].Port = 8080 },
			"virtual_server[0].real_server[0].port"},
		{"a zone smuggling a directive", func(c *model.KeepalivedConfig) {
			in := &c.Director.Instances[0]
			in.Authentication = nil
			in.VirtualIPs = []model.VirtualIP{{Prefix: kaPrefix("2001:db8::10/64")}}
			in.UnicastPeers = []netip.Addr{kaAddr("fe80::1").WithZone("eth0\n}\ninclude /etc/passwd")}
			c.VirtualServers = nil
		}, "vrrp_instance[0].unicast_peers[0]"},
		{"digest is not md5", func(c *model.KeepalivedConfig) { c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].Digest = "abc" },
			"virtual_server[0].real_server[1].http_get.url[0].digest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100), VirtualServers: drServices()}
			tc.mutate(cfg)
			assertRefused(t, cfg, tc.path)
		})
	}
	if _, err := Keepalived(nil); err == nil {
		t.Error("Keepalived(nil) returned no error")
	}
}

// TestKeepalivedModelRefusesWhatKeepalivedRejects holds the rules added to
// the model because keepalived -t rejected what the model let through. Each
// case shows both sides: the rendered base passes keepalived -t, the same
// text with the setting edited in fails it, and the model refuses that
// setting at the attribute's path.
func TestKeepalivedModelRefusesWhatKeepalivedRejects(t *testing.T) {
	fwmarkDR := func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{
			Director: drDirector("lvs", "BACKUP", 100),
			VirtualServers: []model.VirtualServer{{
				Fwmark: 1, Scheduler: "rr", ForwardingMethod: "dr", PersistenceTimeout: 60,
				SorryServer: &model.SorryServer{Address: kaAddr("192.168.0.250")},
				RealServers: []model.RealServer{{Address: kaAddr("192.168.0.21")}},
			}},
		}
	}
	drBase := func() *model.KeepalivedConfig {
		return &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100), VirtualServers: drServices()}
	}
	groupDR := func(members ...model.VSGroupMember) func() *model.KeepalivedConfig {
		return func() *model.KeepalivedConfig {
			c := fwmarkDR()
			c.Groups = []model.VirtualServerGroup{{Name: "G", Members: members}}
			c.VirtualServers[0].Fwmark, c.VirtualServers[0].Group = 0, "G"
			return c
		}
	}
	cases := []struct {
		name   string
		base   func() *model.KeepalivedConfig
		edit   [2]string // old, new: the setting written into the rendered base
		mutate func(c *model.KeepalivedConfig)
		path   string
	}{
		{"preempt_delay on an initial MASTER",
			func() *model.KeepalivedConfig {
				return &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
			},
			[2]string{"advert_int 1\n", "advert_int 1\n    preempt_delay 30\n"},
			func(c *model.KeepalivedConfig) { c.Director.Instances[0].PreemptDelay = 30 },
			"vrrp_instance[0].preempt_delay"},
		{"a port on a dr real server of a fwmark service", fwmarkDR,
			[2]string{"real_server 192.168.0.21 {", "real_server 192.168.0.21 80 {"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].RealServers[0].Port = 80 },
			"virtual_server[0].real_server[0].port"},
		{"a port on a dr sorry server of a fwmark service", fwmarkDR,
			[2]string{"sorry_server 192.168.0.250\n", "sorry_server 192.168.0.250 80\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].SorryServer.Port = 80 },
			"virtual_server[0].sorry_server.port"},
		{"a port on a dr sorry server of a port-0 service",
			func() *model.KeepalivedConfig {
				c := fwmarkDR()
				c.VirtualServers[0].Fwmark, c.VirtualServers[0].Address = 0, kaAddr("192.168.0.10")
				return c
			},
			[2]string{"sorry_server 192.168.0.250\n", "sorry_server 192.168.0.250 80\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].SorryServer.Port = 80 },
			"virtual_server[0].sorry_server.port"},
		{"a port on a dr real server of a group of two ports",
			groupDR(model.VSGroupMember{Address: kaAddr("192.168.0.10"), Port: 80}, model.VSGroupMember{Address: kaAddr("192.168.0.10"), Port: 443}),
			[2]string{"real_server 192.168.0.21 {", "real_server 192.168.0.21 80 {"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].RealServers[0].Port = 80 },
			"virtual_server[0].real_server[0].port"},
		{"the loopback interface for VRRP",
			func() *model.KeepalivedConfig {
				return &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
			},
			[2]string{"interface eth0\n", "interface lo\n"},
			func(c *model.KeepalivedConfig) { c.Director.Instances[0].Interface = "lo" },
			"vrrp_instance[0].interface"},
		{"a VRRPv3 advert_int above 40.95 seconds",
			func() *model.KeepalivedConfig {
				c := &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
				c.Director.Instances[0].Version, c.Director.Instances[0].Authentication = 3, nil
				return c
			},
			[2]string{"advert_int 1\n", "advert_int 41\n"},
			func(c *model.KeepalivedConfig) { c.Director.Instances[0].AdvertInt = 41 },
			"vrrp_instance[0].advert_int"},
		{"authentication on an IPv6 instance",
			func() *model.KeepalivedConfig {
				c := &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
				c.Director.Instances[0].Authentication = nil
				c.Director.Instances[0].VirtualIPs = []model.VirtualIP{{Prefix: kaPrefix("2001:db8::10/64")}}
				return c
			},
			[2]string{"advert_int 1\n", "advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n"},
			func(c *model.KeepalivedConfig) {
				c.Director.Instances[0].Authentication = &model.VRRPAuth{Type: "PASS", Password: "secret"}
			},
			"vrrp_instance[0].authentication"},
		{"AH authentication on an initial MASTER",
			func() *model.KeepalivedConfig {
				return &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
			},
			[2]string{"auth_type PASS", "auth_type AH"},
			func(c *model.KeepalivedConfig) { c.Director.Instances[0].Authentication.Type = "AH" },
			"vrrp_instance[0].authentication.type"},
		{"a unicast source without peers",
			func() *model.KeepalivedConfig {
				return &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
			},
			[2]string{"advert_int 1\n", "advert_int 1\n    unicast_src_ip 192.168.0.2\n"},
			func(c *model.KeepalivedConfig) { c.Director.Instances[0].UnicastSrcIP = kaAddr("192.168.0.2") },
			"vrrp_instance[0].unicast_src_ip"},
		{"a checker connect_timeout above 4294 seconds", drBase,
			[2]string{"connect_timeout 3\n", "connect_timeout 5000\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].RealServers[0].TCPCheck.ConnectTimeout = 5000 },
			"virtual_server[0].real_server[0].tcp_check.connect_timeout"},
		{"a reversed status code range", drBase,
			[2]string{"status_code 200\n", "status_code 500-200\n"},
			func(c *model.KeepalivedConfig) {
				c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].StatusCode = "500-200"
			},
			"virtual_server[0].real_server[1].http_get.url[0].status_code"},
		{"a quorum above the real servers' weight", drBase,
			[2]string{"delay_loop 6\n", "delay_loop 6\n    quorum 3\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].Quorum = 3 },
			"virtual_server[0].quorum"},
		{"a sorry server that is a real server inhibiting otherwise",
			func() *model.KeepalivedConfig {
				c := drBase()
				c.VirtualServers[0].SorryServer.Address = kaAddr("192.168.0.21")
				return c
			},
			[2]string{"sorry_server 192.168.0.21 80\n", "sorry_server 192.168.0.21 80\n    sorry_server_inhibit\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].SorryServer.Inhibit = true },
			"virtual_server[0].sorry_server.inhibit"},
		{"a protocol on a group of fwmarks", groupDR(model.VSGroupMember{Fwmark: 1}, model.VSGroupMember{Fwmark: 2}),
			[2]string{"lvs_method DR\n", "lvs_method DR\n    protocol TCP\n"},
			func(c *model.KeepalivedConfig) { c.VirtualServers[0].Protocol = "tcp" },
			"virtual_server[0].protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base()
			conf, err := Keepalived(base)
			if err != nil {
				t.Fatalf("base: %v", err)
			}
			keepalivedConfigTest(t, conf, kaInterfaces(base))
			edited := strings.Replace(conf, tc.edit[0], tc.edit[1], 1)
			if edited == conf {
				t.Fatalf("the edit %q found nothing to replace in:\n%s", tc.edit[0], conf)
			}
			if out, err := runKeepalivedTest(t, edited, kaInterfaces(base)); err == nil {
				t.Errorf("keepalived -t accepts the edited config; the model rule may be needless:\n%s\n%s", out, kaNumbered(edited))
			}
			tc.mutate(base)
			assertRefused(t, base, tc.path)
		})
	}
}

// assertRefused checks that Keepalived refuses cfg with a model.Errors
// holding an error at path.
func assertRefused(t *testing.T, cfg *model.KeepalivedConfig, path string) {
	t.Helper()
	out, err := Keepalived(cfg)
	if err == nil {
		t.Fatalf("rendered a configuration the model should refuse at %s:\n%s", path, out)
	}
	if out != "" {
		t.Errorf("returned output with the error:\n%s", out)
	}
	var errs model.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, not model.Errors: %v", err, err)
	}
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path.String())
	}
	if !slices.Contains(paths, path) {
		t.Errorf("errors are at %q, want one at %q:\n%v", paths, path, err)
	}
}

// TestKeepalivedDeterministic renders the same model many times: the bytes
// must not change, whatever order Go's maps iterate in (the vrrp_script
// blocks are collected through one).
func TestKeepalivedDeterministic(t *testing.T) {
	cfg := kitchenSink()
	in := &cfg.Director.Instances[0]
	for _, name := range []string{"chk_z", "chk_a", "chk_m", "chk_b", "chk_y", "chk_c"} {
		in.TrackScripts = append(in.TrackScripts, model.TrackScript{Name: name, Script: "/usr/bin/true " + name})
	}
	cfg.Director.Instances[2].TrackScripts = []model.TrackScript{in.TrackScripts[3], in.TrackScripts[1]}
	first, err := Keepalived(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		again, err := Keepalived(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("rendering %d differs from the first:\n%s\n--- first ---\n%s", i+2, again, first)
		}
	}
	var names []string
	for _, l := range strings.Split(first, "\n") {
		if name, ok := strings.CutPrefix(l, "vrrp_script "); ok {
			names = append(names, strings.TrimSuffix(name, " {"))
		}
	}
	if want := []string{"chk_a", "chk_b", "chk_c", "chk_m", "chk_sshd", "chk_y", "chk_z"}; !slices.Equal(names, want) {
		t.Errorf("vrrp_script blocks are %q, want each once, sorted: %q", names, want)
	}
}

// TestKeepalivedNetlinkEngineLeavesIPVSOut checks that a director whose
// IPVS table the agent programs over netlink gets VRRP only: keepalived
// must not program (or flush) the services the agent owns.
func TestKeepalivedNetlinkEngineLeavesIPVSOut(t *testing.T) {
	cfg := &model.KeepalivedConfig{Director: drDirector("lvs-netlink", "MASTER", 120), VirtualServers: drServices()}
	cfg.Director.Engine = "netlink"
	out, err := Keepalived(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "virtual_server") || !strings.Contains(out, "vrrp_instance VI_1 {") {
		t.Fatalf("want the VRRP instance and no virtual_server block with engine netlink:\n%s", out)
	}
	keepalivedConfigTest(t, out, kaInterfaces(cfg))
}

// TestKeepalivedLeavesOutServicesWithoutRealServers: keepalived ignores a
// virtual server without real servers and its config test fails on one, so
// the renderer leaves it out until its first real server exists.
func TestKeepalivedLeavesOutServicesWithoutRealServers(t *testing.T) {
	cfg := &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 120), VirtualServers: drServices()}
	empty := cfg.VirtualServers[0]
	empty.Port, empty.RealServers, empty.SorryServer = 443, nil, nil
	cfg.VirtualServers = append(cfg.VirtualServers, empty)
	out, err := Keepalived(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "virtual_server 192.168.0.10 443") || !strings.Contains(out, "virtual_server 192.168.0.10 80 {") {
		t.Fatalf("want the service with real servers and not the one without:\n%s", out)
	}
	keepalivedConfigTest(t, out, kaInterfaces(cfg))
	hand := strings.Replace(out, "virtual_server 192.168.0.10 80 {", "virtual_server 192.168.0.10 443 {\n    lvs_sched wlc\n    lvs_method DR\n    protocol TCP\n}\n\nvirtual_server 192.168.0.10 80 {", 1)
	if msg, err := runKeepalivedTest(t, hand, kaInterfaces(cfg)); err == nil {
		t.Errorf("keepalived -t accepts a virtual server without real servers; rendering it would be fine:\n%s", msg)
	}
}

// TestKeepalivedScriptsImplyScriptSecurity: keepalived -t refuses scripts
// without enable_script_security (exit 6) and Debian has no
// keepalived_script user, so a director that runs scripts gets both
// without asking, and the result passes the real check.
func TestKeepalivedScriptsImplyScriptSecurity(t *testing.T) {
	c := &model.KeepalivedConfig{Director: drDirector("lvs", "MASTER", 100)}
	c.Director.EnableScriptSecurity, c.Director.ScriptUser = false, ""
	plain, err := Keepalived(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "enable_script_security") || strings.Contains(plain, "script_user") {
		t.Errorf("no scripts, yet script settings were rendered:\n%s", plain)
	}
	c.Director.Instances[0].Notify.Master = "/usr/bin/true"
	out, err := Keepalived(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    script_user root\n", "    enable_script_security\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, out)
		}
	}
	keepalivedConfigTest(t, out, kaInterfaces(c))
}
