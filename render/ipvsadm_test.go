package render

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvsadm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// ipvsAddrCmp compares addresses by value (netip.Addr has unexported fields).
var ipvsAddrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// ipvsReal is a real server with the fields ipvsadm carries, weight explicit.
func ipvsReal(a string, port, weight int) model.RealServer {
	return model.RealServer{Address: netip.MustParseAddr(a), Port: port, Weight: &weight}
}

// ipvsOnly keeps the fields of virtual servers that an IPVS table holds;
// keepalived's health checks, quorum, notify scripts and sorry servers are
// not in it.
func ipvsOnly(in []model.VirtualServer) []model.VirtualServer {
	out := make([]model.VirtualServer, 0, len(in))
	for _, vs := range in {
		o := model.VirtualServer{
			Address: vs.Address, Port: vs.Port, Protocol: vs.Protocol, Fwmark: vs.Fwmark, Family: vs.Family,
			Scheduler: vs.Scheduler, SchedulerPort: vs.SchedulerPort, SchedulerFallback: vs.SchedulerFallback,
			OnePacket: vs.OnePacket, PersistenceTimeout: vs.PersistenceTimeout, PersistenceGranularity: vs.PersistenceGranularity,
			ForwardingMethod: vs.ForwardingMethod, TunnelType: vs.TunnelType, TunnelPort: vs.TunnelPort,
		}
		for _, rs := range vs.RealServers {
			o.RealServers = append(o.RealServers, model.RealServer{
				Address: rs.Address, Port: rs.Port, Weight: rs.Weight,
				ForwardingMethod: rs.ForwardingMethod, TunnelType: rs.TunnelType, TunnelPort: rs.TunnelPort,
				UpperThreshold: rs.UpperThreshold, LowerThreshold: rs.LowerThreshold,
			})
		}
		out = append(out, o)
	}
	return out
}

// ipvsCase is one director configuration with the table it programs.
type ipvsCase struct {
	name string
	cfg  *model.KeepalivedConfig
	// want is what the rules parse back to; nil means ipvsOnly(cfg.VirtualServers).
	want []model.VirtualServer
}

func ipvsCases() []ipvsCase {
	addr := netip.MustParseAddr
	vip := addr("192.168.0.10")
	return []ipvsCase{
		{name: "nat-rr-wrr", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: vip, Port: 80, Protocol: "tcp", Scheduler: "rr", ForwardingMethod: "nat",
				RealServers: []model.RealServer{ipvsReal("10.0.0.21", 8080, 1), ipvsReal("10.0.0.22", 8080, 1)}},
			{Address: vip, Port: 443, Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "nat",
				RealServers: []model.RealServer{
					ipvsReal("10.0.0.21", 443, 3),
					ipvsReal("10.0.0.22", 443, 0), // drained
					{Address: addr("10.0.0.23"), Port: 8443, Weight: ipvsWeight(1), UpperThreshold: 500, LowerThreshold: 400},
				}},
		}}},
		{name: "dr-persistence", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{{
			Address: vip, Port: 443, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "dr",
			PersistenceTimeout: 1800, PersistenceGranularity: 24,
			// Not in the IPVS table: keepalived's business.
			SorryServer: &model.SorryServer{Address: addr("192.168.0.99"), Port: 443},
			DelayLoop:   6, Quorum: 2, Hysteresis: 1,
			RealServers: []model.RealServer{
				func() model.RealServer {
					rs := ipvsReal("192.168.0.21", 443, 1)
					rs.TCPCheck = &model.TCPCheck{}
					return rs
				}(),
				ipvsReal("192.168.0.22", 443, 2),
			},
		}}}},
		{name: "fwmark", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Fwmark: 1, Family: "inet", Scheduler: "rr", ForwardingMethod: "nat",
				RealServers: []model.RealServer{ipvsReal("10.0.0.21", 0, 1), ipvsReal("10.0.0.22", 8080, 1)}},
			{Fwmark: 2, Family: "inet6", Scheduler: "wlc", ForwardingMethod: "dr", PersistenceTimeout: 300, PersistenceGranularity: 64,
				RealServers: []model.RealServer{ipvsReal("2001:db8::21", 0, 1), ipvsReal("2001:db8::22", 0, 1)}},
		}}},
		{name: "sh-flags", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: vip, Port: 80, Protocol: "tcp", Scheduler: "sh", SchedulerFallback: true, SchedulerPort: true, ForwardingMethod: "dr",
				RealServers: []model.RealServer{ipvsReal("192.168.0.21", 80, 1), ipvsReal("192.168.0.22", 80, 1)}},
			{Address: vip, Port: 8080, Protocol: "tcp", Scheduler: "mh", SchedulerPort: true, ForwardingMethod: "dr",
				RealServers: []model.RealServer{ipvsReal("192.168.0.21", 8080, 1)}},
		}}},
		{name: "udp-ops", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: vip, Port: 53, Protocol: "udp", Scheduler: "rr", OnePacket: true, ForwardingMethod: "nat",
				RealServers: []model.RealServer{ipvsReal("10.0.0.31", 53, 1), ipvsReal("10.0.0.32", 5353, 1)}},
		}}},
		{name: "tun-ipip", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: vip, Port: 80, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "tun", TunnelType: "ipip",
				RealServers: []model.RealServer{ipvsReal("172.16.1.21", 80, 1), ipvsReal("172.16.2.21", 80, 1)}},
		}}},
		{name: "tun-gue-gre-mixed", cfg: &model.KeepalivedConfig{
			Director: model.Director{Engine: "netlink"}, // keepalived 2.2 on Debian has no gue/gre
			VirtualServers: []model.VirtualServer{
				{Address: vip, Port: 80, Protocol: "tcp", Scheduler: "rr", RealServers: []model.RealServer{
					withMethod(ipvsReal("172.16.1.21", 80, 1), "tun", "gue", 6080),
					withMethod(ipvsReal("172.16.1.22", 80, 1), "tun", "gre", 0),
					withMethod(ipvsReal("192.168.0.23", 80, 1), "dr", "", 0),
					withMethod(ipvsReal("10.0.0.24", 8080, 1), "nat", "", 0),
				}},
			}}},
		{name: "ipv6", cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: addr("2001:db8::10"), Port: 443, Protocol: "tcp", Scheduler: "lc", ForwardingMethod: "nat",
				PersistenceTimeout: 600, PersistenceGranularity: 48,
				RealServers: []model.RealServer{ipvsReal("2001:db8:1::21", 8443, 1), ipvsReal("2001:db8:1::22", 8443, 1)}},
			{Address: addr("2001:db8::10"), Port: 3868, Protocol: "sctp", Scheduler: "rr", ForwardingMethod: "dr",
				RealServers: []model.RealServer{ipvsReal("2001:db8::31", 3868, 1)}},
		}}},
		{name: "group",
			cfg: &model.KeepalivedConfig{
				Groups: []model.VirtualServerGroup{{Name: "web", Members: []model.VSGroupMember{
					{Address: addr("192.168.0.10"), RangeEnd: 12, Port: 80},
					{Address: addr("192.168.0.20"), Port: 8080},
					{Fwmark: 7},
				}}},
				VirtualServers: []model.VirtualServer{{
					Group: "web", Scheduler: "wrr", ForwardingMethod: "dr", DelayLoop: 10,
					RealServers: []model.RealServer{
						{Address: addr("192.168.0.21"), Weight: ipvsWeight(2)},
						{Address: addr("192.168.0.22")}, // weight 1, port from each member
					},
				}},
			},
			want: func() []model.VirtualServer {
				dests := func(port int) []model.RealServer {
					return []model.RealServer{ipvsReal("192.168.0.21", port, 2), ipvsReal("192.168.0.22", port, 1)}
				}
				one := func(a string, port int) model.VirtualServer {
					return model.VirtualServer{Address: addr(a), Port: port, Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "dr", RealServers: dests(port)}
				}
				return []model.VirtualServer{
					one("192.168.0.10", 80), one("192.168.0.11", 80), one("192.168.0.12", 80), one("192.168.0.20", 8080),
					{Fwmark: 7, Family: "inet", Scheduler: "wrr", ForwardingMethod: "dr", RealServers: dests(0)},
				}
			}(),
		},
		{name: "defaults",
			cfg: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
				{Address: vip, Port: 25, RealServers: []model.RealServer{{Address: addr("10.0.0.25")}}},
				{Fwmark: 9, PersistenceTimeout: 60, ForwardingMethod: "tun", RealServers: []model.RealServer{{Address: addr("172.16.0.9")}}},
			}},
			want: []model.VirtualServer{
				{Address: vip, Port: 25, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "nat",
					RealServers: []model.RealServer{ipvsReal("10.0.0.25", 25, 1)}},
				{Fwmark: 9, Family: "inet", Scheduler: "wlc", PersistenceTimeout: 60, ForwardingMethod: "tun", TunnelType: "ipip",
					RealServers: []model.RealServer{ipvsReal("172.16.0.9", 0, 1)}},
			},
		},
	}
}

func withMethod(rs model.RealServer, method, tunType string, tunPort int) model.RealServer {
	rs.ForwardingMethod, rs.TunnelType, rs.TunnelPort = method, tunType, tunPort
	return rs
}

// goldenText compares got with the file at path, or rewrites the file
// under -update.
func goldenText(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test ./render -update): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the rendered text:\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// TestIPVSRulesGolden renders each configuration, compares with the golden
// file, and parses the text back with the importer's parser: the table it
// describes must be the one the configuration asked for.
func TestIPVSRulesGolden(t *testing.T) {
	for _, c := range ipvsCases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := IPVSRules(c.cfg)
			if err != nil {
				t.Fatalf("IPVSRules: %v", err)
			}
			goldenText(t, filepath.Join("testdata", "ipvsadm", c.name+".rules"), got)

			back, err := ipvsadm.Parse(strings.NewReader(got))
			if err != nil {
				t.Fatalf("the rendered rules do not parse: %v\n%s", err, got)
			}
			want := c.want
			if want == nil {
				want = ipvsOnly(c.cfg.VirtualServers)
			}
			if d := cmp.Diff(want, back, ipvsAddrCmp); d != "" {
				t.Errorf("rules parse back to another table (-want +got):\n%s\n%s", d, got)
			}
		})
	}
}

// TestIPVSRulesFormat pins the lines ipvsadm-save prints, independently of
// the goldens: no comment (ipvsadm -R would choke on it), the tunnel
// options print_tunnel_rule writes, and -M only when not /32.
func TestIPVSRulesFormat(t *testing.T) {
	for _, c := range ipvsCases() {
		got, err := IPVSRules(c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if !strings.HasPrefix(line, "-A ") && !strings.HasPrefix(line, "-a ") {
				t.Errorf("%s line %d is neither -A nor -a: %q", c.name, i+1, line)
			}
		}
	}
	want := map[string][]string{
		"dr-persistence":    {"-A -t 192.168.0.10:443 -s wlc -p 1800 -M 255.255.255.0\n", "-a -t 192.168.0.10:443 -r 192.168.0.21:443 -g -w 1\n"},
		"fwmark":            {"-A -f 2 -6 -s wlc -p 300 -M 64\n", "-a -f 1 -r 10.0.0.21:0 -m -w 1\n"},
		"sh-flags":          {"-s sh -b sh-fallback,sh-port\n", "-s mh -b mh-port\n"},
		"udp-ops":           {"-A -u 192.168.0.10:53 -s rr -o\n"},
		"tun-ipip":          {"-r 172.16.1.21:80 -i -w 1 --tun-type ipip\n"},
		"tun-gue-gre-mixed": {"-i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n", "-i -w 1 --tun-type gre --tun-nocsum\n"},
		"ipv6":              {"-A -t [2001:db8::10]:443 -s lc -p 600 -M 48\n", "-A --sctp-service [2001:db8::10]:3868 -s rr\n"},
		"nat-rr-wrr":        {"-r 10.0.0.23:8443 -m -w 1 -x 500 -y 400\n"},
	}
	for _, c := range ipvsCases() {
		got, _ := IPVSRules(c.cfg)
		for _, w := range want[c.name] {
			if !strings.Contains(got, w) {
				t.Errorf("%s: rules lack %q:\n%s", c.name, w, got)
			}
		}
	}
}

func TestIPVSRulesRefusesInvalid(t *testing.T) {
	cfg := &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{{
		Address: netip.MustParseAddr("192.168.0.10"), Port: 80, Scheduler: "roundrobin",
	}}}
	_, err := IPVSRules(cfg)
	es := model.AsErrors(err)
	if len(es) != 1 || es[0].Path.String() != "virtual_server[0].scheduler" {
		t.Fatalf("want one error at virtual_server[0].scheduler, got %v", err)
	}
	if out, err := IPVSRules(&model.KeepalivedConfig{}); err != nil || out != "" {
		t.Errorf("an empty table renders as %q, %v; want nothing, like ipvsadm-save", out, err)
	}
}

// TestIPVSRulesRoundTrip is the property: any valid set of virtual servers
// made of what ipvsadm expresses renders to rules that parse back to it.
func TestIPVSRulesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "services")
		cfg := &model.KeepalivedConfig{Director: model.Director{Engine: "netlink"}}
		for i := range n {
			cfg.VirtualServers = append(cfg.VirtualServers, genVirtualServer(t, i))
		}
		text, err := IPVSRules(cfg)
		if err != nil {
			t.Fatalf("generated configuration refused (generator bug?): %v", err)
		}
		back, err := ipvsadm.Parse(strings.NewReader(text))
		if err != nil {
			t.Fatalf("rendered rules do not parse: %v\n%s", err, text)
		}
		if d := cmp.Diff(cfg.VirtualServers, back, ipvsAddrCmp); d != "" {
			t.Fatalf("round trip changed the table (-rendered +parsed):\n%s\n%s", d, text)
		}
	})
}

// genVirtualServer draws the i-th service of a table, in the canonical form
// the parser returns: every field ipvsadm prints set explicitly, the
// forwarding method on the service when all destinations share it.
func genVirtualServer(t *rapid.T, i int) model.VirtualServer {
	v6 := rapid.Bool().Draw(t, "v6")
	fwmark := rapid.Bool().Draw(t, "fwmark")
	var vs model.VirtualServer
	if fwmark {
		vs.Fwmark = rapid.Uint32Range(0, 1<<24).Draw(t, "mark")<<8 | uint32(i+1) // unique per table
		vs.Family = map[bool]string{false: "inet", true: "inet6"}[v6]
	} else {
		vs.Address = genAddr(t, v6, 10, i)
		vs.Port = rapid.IntRange(0, 65535).Draw(t, "port")
		vs.Protocol = rapid.SampledFrom(model.Protocols).Draw(t, "protocol")
	}
	vs.Scheduler = rapid.SampledFrom(model.Schedulers).Draw(t, "scheduler")
	if vs.Scheduler == "sh" || vs.Scheduler == "mh" {
		vs.SchedulerFallback = rapid.Bool().Draw(t, "fallback")
		vs.SchedulerPort = rapid.Bool().Draw(t, "hashport")
	}
	if fwmark || vs.Protocol == "udp" {
		vs.OnePacket = rapid.Bool().Draw(t, "ops")
	}
	if vs.Port == 0 && !fwmark || rapid.Bool().Draw(t, "persistent") {
		vs.PersistenceTimeout = rapid.IntRange(1, model.MaxPersistenceTimeout).Draw(t, "timeout")
		maxPrefix := 31 // /32 is the default: the model writes it as 0
		if v6 {
			maxPrefix = 127
		}
		vs.PersistenceGranularity = rapid.IntRange(0, maxPrefix).Draw(t, "granularity")
	}
	type fwd struct {
		method, tunType string
		tunPort         int
	}
	var methods []fwd
	for j := range rapid.IntRange(0, 5).Draw(t, "dests") {
		f := fwd{method: rapid.SampledFrom(model.ForwardingMethods).Draw(t, "method")}
		if f.method == "tun" {
			f.tunType = rapid.SampledFrom(model.TunnelTypes).Draw(t, "tunnel")
			if f.tunType == "gue" {
				f.tunPort = rapid.IntRange(1, 65535).Draw(t, "tunport")
			}
		}
		port := rapid.IntRange(0, 65535).Draw(t, "dport")
		if !fwmark && (f.method != "nat" || port == 0) {
			port = vs.Port // what ipvsadm and the kernel make of it
		}
		rs := ipvsReal(genAddr(t, v6, 172, j).String(), port, rapid.IntRange(0, 65535).Draw(t, "weight"))
		if rapid.Bool().Draw(t, "thresholds") {
			rs.UpperThreshold = rapid.IntRange(1, 1<<30).Draw(t, "upper")
			rs.LowerThreshold = rapid.IntRange(0, rs.UpperThreshold-1).Draw(t, "lower")
		}
		vs.RealServers = append(vs.RealServers, rs)
		methods = append(methods, f)
	}
	shared := len(methods) > 0
	for _, f := range methods {
		shared = shared && f == methods[0]
	}
	for j, f := range methods {
		if shared {
			vs.ForwardingMethod, vs.TunnelType, vs.TunnelPort = f.method, f.tunType, f.tunPort
			continue
		}
		rs := &vs.RealServers[j]
		rs.ForwardingMethod, rs.TunnelType, rs.TunnelPort = f.method, f.tunType, f.tunPort
	}
	return vs
}

// genAddr draws an address whose last byte is unique: index+1.
func genAddr(t *rapid.T, v6 bool, first byte, index int) netip.Addr {
	if v6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		copy(b[4:15], rapid.SliceOfN(rapid.Byte(), 11, 11).Draw(t, "v6bytes"))
		b[15] = byte(index + 1)
		return netip.AddrFrom16(b)
	}
	b := rapid.SliceOfN(rapid.Byte(), 2, 2).Draw(t, "v4bytes")
	return netip.MustParseAddr(fmt.Sprintf("%d.%d.%d.%d", first, b[0], b[1], index+1))
}

func ipvsWeight(n int) *int { return &n }
