package provider

import (
	"context"
	"math"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

var (
	str   = types.StringValue
	num   = types.Int64Value
	flag  = types.BoolValue
	ip    = iptypes.NewIPAddressValue
	addr  = netip.MustParseAddr
	equal = cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	}
)

func ptr[T any](v T) *T { return &v }

// fullKeepalived sets every attribute of the keepalived data source once.
func fullKeepalived() keepalivedConfigModel {
	notify := notifyModel{
		NotifyMaster: str("/bin/m"), NotifyBackup: str("/bin/b"), NotifyFault: str("/bin/f"),
		NotifyStop: str("/bin/s"), Notify: str("/bin/any"),
	}
	return keepalivedConfigModel{
		directorModel: directorModel{
			Interface:            str("eth0"),
			RouterID:             str("lb1"),
			ScriptUser:           str("keepalived_script"),
			EnableScriptSecurity: flag(true),
			Engine:               str("keepalived"),
			VRRPInstances: []vrrpInstanceModel{{
				Name:              str("VI_1"),
				Interface:         str("eth1"),
				State:             str("BACKUP"),
				VirtualRouterID:   num(51),
				Priority:          num(100),
				AdvertInt:         types.Float64Value(2),
				Version:           num(2),
				UnicastSrcIP:      ip("10.0.0.2"),
				UnicastPeers:      []iptypes.IPAddress{ip("10.0.0.3")},
				NoPreempt:         flag(true),
				PreemptDelay:      num(0),
				GarpMasterDelay:   num(5),
				GarpMasterRepeat:  num(3),
				GarpMasterRefresh: num(60),
				Authentication:    &vrrpAuthModel{Type: str("PASS"), Password: str("s3cret")},
				VirtualIPAddress: []virtualIPModel{
					{Address: str("10.0.0.10/24"), Dev: str("eth1"), Label: str("eth1:1")},
					{Address: str("10.0.0.11")},
				},
				TrackScripts: []trackScriptModel{{
					Name: str("chk"), Script: str("/bin/true"), Interval: num(2), Timeout: num(1),
					Weight: num(-20), Fall: num(2), Rise: num(3),
				}},
				TrackInterfaces: []trackInterfaceModel{{Name: str("eth2"), Weight: num(-10)}},
				notifyModel:     notify,
			}},
			VRRPSyncGroups: []vrrpSyncGroupModel{{
				Name: str("G"), Group: []types.String{str("VI_1"), str("VI_2")}, notifyModel: notify,
			}},
			Sysctls: []sysctlModel{{Key: str("net.core.somaxconn"), Value: str("4096"), Reason: str("backlog")}},
		},
		VirtualServerGroups: []virtualServerGroupModel{{
			Name: str("web"),
			Members: []vsGroupMember{
				{Address: ip("10.0.0.20"), RangeEnd: num(29), Port: num(80)},
				{Fwmark: num(7)},
			},
		}},
		VirtualServers: []virtualServerModel{{virtualServerSettings: virtualServerSettings{
			Address: ip("10.0.0.10"), Port: num(443), Protocol: str("tcp"),
			Scheduler: str("sh"), SchedulerPort: flag(true), SchedulerFallback: flag(true),
			OnePacket: flag(false), PersistenceTimeout: num(300), PersistenceGranularity: num(24),
			ForwardingMethod: str("tun"), TunnelType: str("ipip"),
			DelayLoop: num(10), Retry: num(3), DelayBeforeRetry: num(2), ConnectTimeout: num(4),
			VirtualHost: str("www.example.com"), Quorum: num(2), Hysteresis: num(1),
			QuorumUp: str("/bin/up"), QuorumDown: str("/bin/down"),
			Alpha: flag(true), Omega: flag(true), InhibitOnFailure: flag(true)},
			SorryServer: &sorryServerModel{Address: ip("10.0.0.99"), Port: num(443), ForwardingMethod: str("nat"), Inhibit: flag(true)},
			RealServers: []realServerModel{
				{
					Address: ip("10.0.0.21"), Port: num(443), Weight: num(0), ForwardingMethod: str("dr"),
					UpperThreshold: num(100), LowerThreshold: num(50), InhibitOnFailure: flag(false),
					NotifyUp: str("/bin/rs-up"), NotifyDown: str("/bin/rs-down"),
					TCPCheck: &checkCommonModel{
						ConnectIP: ip("10.0.0.31"), ConnectPort: num(8443), BindTo: ip("10.0.0.2"),
						ConnectTimeout: num(3), Retry: num(2), DelayBeforeRetry: num(1),
					},
				},
				{
					Address: ip("10.0.0.22"),
					HTTPGet: &httpCheckModel{
						checkCommonModel: checkCommonModel{ConnectPort: num(8080)},
						VirtualHost:      str("health.example.com"),
						URLs:             []checkURLModel{{Path: str("/healthz"), StatusCode: str("200-299"), Digest: str("d41d8cd98f00b204e9800998ecf8427e")}},
					},
				},
				{Address: ip("10.0.0.23"), SSLGet: &httpCheckModel{URLs: []checkURLModel{{Path: str("/")}}}},
				{Address: ip("10.0.0.24"), MiscCheck: &miscCheckModel{Script: str("/bin/check"), Timeout: num(5), Dynamic: flag(true), User: str("nobody")}},
			},
		}, {
			virtualServerSettings: virtualServerSettings{Fwmark: num(math.MaxUint32), Family: str("inet6")},
		}},
	}
}

func TestKeepalivedConfigToModel(t *testing.T) {
	m := fullKeepalived()
	notify := model.Notify{Master: "/bin/m", Backup: "/bin/b", Fault: "/bin/f", Stop: "/bin/s", Any: "/bin/any"}
	want := model.KeepalivedConfig{
		Director: model.Director{
			Interface: "eth0", RouterID: "lb1", ScriptUser: "keepalived_script", EnableScriptSecurity: true, Engine: "keepalived",
			Instances: []model.VRRPInstance{{
				Name: "VI_1", Interface: "eth1", State: "BACKUP", VirtualRouterID: 51, Priority: 100, AdvertInt: 2, Version: 2,
				Authentication: &model.VRRPAuth{Type: "PASS", Password: "s3cret"},
				UnicastSrcIP:   addr("10.0.0.2"), UnicastPeers: []netip.Addr{addr("10.0.0.3")},
				VirtualIPs: []model.VirtualIP{
					{Prefix: netip.MustParsePrefix("10.0.0.10/24"), Device: "eth1", Label: "eth1:1"},
					{Prefix: netip.MustParsePrefix("10.0.0.11/32")},
				},
				TrackScripts:    []model.TrackScript{{Name: "chk", Script: "/bin/true", Interval: 2, Timeout: 1, Weight: -20, Fall: 2, Rise: 3}},
				TrackIfaces:     []model.TrackInterface{{Name: "eth2", Weight: -10}},
				NoPreempt:       true,
				GarpMasterDelay: 5, GarpMasterRepeat: 3, GarpMasterRefresh: 60,
				Notify: notify,
			}},
			SyncGroups: []model.VRRPSyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_2"}, Notify: notify}},
			Sysctls:    []model.Sysctl{{Key: "net.core.somaxconn", Value: "4096", Reason: "backlog"}},
		},
		Groups: []model.VirtualServerGroup{{Name: "web", Members: []model.VSGroupMember{
			{Address: addr("10.0.0.20"), RangeEnd: 29, Port: 80},
			{Fwmark: 7},
		}}},
		VirtualServers: []model.VirtualServer{{
			Address: addr("10.0.0.10"), Port: 443, Protocol: "tcp",
			Scheduler: "sh", SchedulerPort: true, SchedulerFallback: true,
			PersistenceTimeout: 300, PersistenceGranularity: 24,
			ForwardingMethod: "tun", TunnelType: "ipip",
			DelayLoop: 10, Retry: 3, DelayBeforeRetry: 2, ConnectTimeout: 4,
			VirtualHost: "www.example.com", Quorum: 2, Hysteresis: 1, QuorumUp: "/bin/up", QuorumDown: "/bin/down",
			Alpha: true, Omega: true, InhibitOnFailure: true,
			SorryServer: &model.SorryServer{Address: addr("10.0.0.99"), Port: 443, ForwardingMethod: "nat", Inhibit: true},
			RealServers: []model.RealServer{
				{
					Address: addr("10.0.0.21"), Port: 443, Weight: ptr(0), ForwardingMethod: "dr",
					UpperThreshold: 100, LowerThreshold: 50, InhibitOnFailure: ptr(false),
					NotifyUp: "/bin/rs-up", NotifyDown: "/bin/rs-down",
					TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{
						ConnectIP: addr("10.0.0.31"), ConnectPort: 8443, BindTo: addr("10.0.0.2"),
						ConnectTimeout: 3, Retry: 2, DelayBeforeRetry: 1,
					}},
				},
				{
					Address: addr("10.0.0.22"),
					HTTPGet: &model.HTTPCheck{
						CheckCommon: model.CheckCommon{ConnectPort: 8080},
						VirtualHost: "health.example.com",
						URLs:        []model.CheckURL{{Path: "/healthz", StatusCode: "200-299", Digest: "d41d8cd98f00b204e9800998ecf8427e"}},
					},
				},
				{Address: addr("10.0.0.23"), SSLGet: &model.HTTPCheck{URLs: []model.CheckURL{{Path: "/"}}}},
				{Address: addr("10.0.0.24"), MiscCheck: &model.MiscCheck{Script: "/bin/check", Timeout: 5, Dynamic: true, User: "nobody"}},
			},
		}, {
			Fwmark: math.MaxUint32, Family: "inet6",
		}},
	}
	if diff := cmp.Diff(want, m.toModel(), equal); diff != "" {
		t.Errorf("toModel mismatch (-want +got):\n%s", diff)
	}
}

// fullHAProxy sets every attribute of the haproxy data source once.
func fullHAProxy() haproxyConfigModel {
	timeouts := haproxyTimeoutsModel{
		TimeoutConnect: num(1), TimeoutClient: num(2), TimeoutServer: num(3), TimeoutQueue: num(4),
		TimeoutHTTPRequest: num(5), TimeoutHTTPKeepAlive: num(6), TimeoutCheck: num(7), TimeoutTunnel: num(8),
		TimeoutClientFin: num(9), TimeoutServerFin: num(10),
	}
	backend := haproxyBackendModel{
		Name: str("app"), Mode: str("http"), Balance: str("hdr"), BalanceArg: str("Host"),
		Options: []types.String{str("option forwardfor")},
		Servers: []haproxyServerModel{{
			Name: str("app1"), Address: str("10.0.1.11"), Port: num(8080), Weight: num(10), Check: flag(true),
			Inter: num(2000), Fall: num(3), Rise: num(2), Backup: flag(true), Maxconn: num(100), Options: str("send-proxy"),
		}},
		HTTPCheck:            &haproxyHTTPCheckModel{Method: str("GET"), Path: str("/healthz"), Host: str("app.example.com"), ExpectStatus: str("200-399")},
		haproxyTimeoutsModel: timeouts,
	}
	listen := haproxyListenModel{haproxyBackendModel: backend, Binds: []haproxyBindModel{{Port: num(8404)}}, Maxconn: num(10)}
	listen.Name = str("stats")
	return haproxyConfigModel{
		Global: &haproxyGlobalModel{
			Maxconn: num(20000), Nbthread: num(4), User: str("haproxy"), Group: str("haproxy"), Chroot: str("/var/lib/haproxy"),
			StatsSocket: str("/run/haproxy/admin.sock"),
			Logs:        []haproxyLogModel{{Address: str("/dev/log"), Facility: str("local0"), Level: str("info")}},
			Options:     []types.String{str("tune.ssl.default-dh-param 2048")},
		},
		Defaults: &haproxyDefaultsModel{
			Mode: str("http"), Maxconn: num(3000), Retries: num(3), Redispatch: flag(true), LogGlobal: flag(true),
			Options: []types.String{str("httplog")}, haproxyTimeoutsModel: timeouts,
		},
		Frontends: []haproxyFrontendModel{{
			Name: str("www"), Mode: str("http"), Maxconn: num(1000), DefaultBackend: str("app"),
			Options:              []types.String{str("option forwardfor")},
			Binds:                []haproxyBindModel{{Address: ip("10.0.0.10"), Port: num(443), Options: str("ssl crt /etc/haproxy/site.pem")}},
			ACLs:                 []haproxyACLModel{{Name: str("is_api"), Criterion: str("path_beg /api")}},
			UseBackends:          []haproxyUseBackendModel{{Backend: str("app"), Cond: str("unless"), Condition: str("!is_api")}},
			haproxyTimeoutsModel: timeouts,
		}},
		Backends: []haproxyBackendModel{backend},
		Listens:  []haproxyListenModel{listen},
	}
}

func TestHAProxyConfigToModel(t *testing.T) {
	timeouts := model.HAProxyTimeouts{Connect: 1, Client: 2, Server: 3, Queue: 4, HTTPRequest: 5, HTTPKeepAlive: 6, Check: 7, Tunnel: 8, ClientFin: 9, ServerFin: 10}
	backend := model.HAProxyBackend{
		Name: "app", Mode: "http", Balance: "hdr", BalanceArg: "Host", Options: []string{"option forwardfor"},
		Servers: []model.HAProxyServer{{
			Name: "app1", Address: addr("10.0.1.11"), Port: 8080, Weight: ptr(10), Check: true,
			Inter: 2000, Fall: 3, Rise: 2, Backup: true, Maxconn: 100, Options: "send-proxy",
		}},
		HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/healthz", Host: "app.example.com", ExpectStatus: "200-399"},
		Timeouts:  timeouts,
	}
	listen := backend
	listen.Name = "stats"
	want := model.HAProxyConfig{
		Global: model.HAProxyGlobal{
			Maxconn: 20000, Nbthread: 4, User: "haproxy", Group: "haproxy", Chroot: "/var/lib/haproxy",
			StatsSocket: "/run/haproxy/admin.sock",
			Logs:        []model.HAProxyLog{{Address: "/dev/log", Facility: "local0", Level: "info"}},
			Options:     []string{"tune.ssl.default-dh-param 2048"},
		},
		Defaults: model.HAProxyDefaults{
			Mode: "http", Maxconn: 3000, Retries: 3, Timeouts: timeouts, Redispatch: true, LogGlobal: true,
			Options: []string{"httplog"},
		},
		Frontends: []model.HAProxyFrontend{{
			Name: "www", Mode: "http", Maxconn: 1000, DefaultBackend: "app", Timeouts: timeouts,
			Options:     []string{"option forwardfor"},
			Binds:       []model.HAProxyBind{{Address: addr("10.0.0.10"), Port: 443, Options: "ssl crt /etc/haproxy/site.pem"}},
			ACLs:        []model.HAProxyACL{{Name: "is_api", Criterion: "path_beg /api"}},
			UseBackends: []model.HAProxyUseBackend{{Backend: "app", Cond: "unless", Condition: "!is_api"}},
		}},
		Backends: []model.HAProxyBackend{backend},
		Listens:  []model.HAProxyListen{{HAProxyBackend: listen, Binds: []model.HAProxyBind{{Port: 8404}}, Maxconn: 10}},
	}
	m := fullHAProxy()
	if diff := cmp.Diff(want, m.toModel(), equal); diff != "" {
		t.Errorf("toModel mismatch (-want +got):\n%s", diff)
	}
	if got := (&haproxyConfigModel{}).toModel(); !cmp.Equal(got, model.HAProxyConfig{}, equal) {
		t.Errorf("absent global and defaults blocks should map to zero sections, got %+v", got)
	}
}

// The tfsdk structs must match the schemas exactly, field for attribute:
// the framework refuses a value whose struct lacks or adds one. Writing
// the fully set values into a state of the schema proves they do, and
// reading them back proves nothing is lost on the way.
func TestModelsMatchSchemas(t *testing.T) {
	ctx := context.Background()
	t.Run("keepalived", func(t *testing.T) {
		in := fullKeepalived()
		var out keepalivedConfigModel
		if d := configOf(t, NewKeepalivedConfigDataSource(), &in).Get(ctx, &out); d.HasError() {
			t.Fatal(d)
		}
		if diff := cmp.Diff(in.toModel(), out.toModel(), equal); diff != "" {
			t.Errorf("round trip changed the model (-in +out):\n%s", diff)
		}
	})
	t.Run("haproxy", func(t *testing.T) {
		in := fullHAProxy()
		var out haproxyConfigModel
		if d := configOf(t, NewHAProxyConfigDataSource(), &in).Get(ctx, &out); d.HasError() {
			t.Fatal(d)
		}
		if diff := cmp.Diff(in.toModel(), out.toModel(), equal); diff != "" {
			t.Errorf("round trip changed the model (-in +out):\n%s", diff)
		}
	})
}

func TestConversions(t *testing.T) {
	if got := addrOf(iptypes.NewIPAddressNull()); got.IsValid() {
		t.Errorf("addrOf(null) = %v, want the zero address", got)
	}
	if got := optInt(types.Int64Null()); got != nil {
		t.Errorf("optInt(null) = %v, want nil", *got)
	}
	if got := optInt(num(0)); got == nil || *got != 0 {
		t.Errorf("optInt(0) = %v, want a pointer to 0", got)
	}
	if got := optBool(types.BoolNull()); got != nil {
		t.Errorf("optBool(null) = %v, want nil", *got)
	}
	for in, want := range map[int64]uint32{0: 0, 7: 7, math.MaxUint32: math.MaxUint32, -1: math.MaxUint32, math.MaxUint32 + 1: math.MaxUint32} {
		if got := markOf(num(in)); got != want {
			t.Errorf("markOf(%d) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"10.0.0.1": "10.0.0.1/32", "10.0.0.1/24": "10.0.0.1/24", "2001:db8::1": "2001:db8::1/128", "bogus": "invalid Prefix",
	} {
		if got := prefixOf(in).String(); got != want {
			t.Errorf("prefixOf(%q) = %s, want %s", in, got, want)
		}
	}
}
