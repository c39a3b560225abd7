package keepalivedconf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// TestImportRoutesAndRules reads keepalived's route and rule forms into
// the model as keepalived installs them (checked by hand against the
// kernel: "via A or B" is a two-path multipath route on the route's dev,
// gw is via, a rule without a preference gets 16384, 16383, ... per
// family in file order, a rule whose address keepalived cannot read is
// skipped whole).
func TestImportRoutesAndRules(t *testing.T) {
	const conf = `
static_routes {
    src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
    192.168.212.0/24 dev eth3 scope site table 7 metric 5
    blackhole 192.168.113.1/32
    192.168.54.0/24 nexthop via 192.168.100.252 dev eth1 weight 2 nexthop via 192.168.100.253
}
static_rules {
    from 192.168.100.0/24 table 1
    to 192.168.100./24 table 1
    from 10.9.1.0/24 priority 16000 table 1
    from 2001:db8:9::/64 lookup 3
    fwmark 5/0xff iif eth0 oif eth1 prio 9 table 4
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    use_vmac vrrp51
    vmac_xmit_base
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.200.16
    }
    virtual_routes {
        192.168.113.0/24 via 192.168.100.252 or 192.168.100.253 dev eth1
        0.0.0.0/0 gw 192.168.0.1 table 100
        192.168.111.0/24 dev eth2 no_track
    }
    virtual_rules {
        from 192.168.200.0/24 table 2
    }
}
`
	cfg, warns, err := Parse(strings.NewReader(conf), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	a, pf := netip.MustParseAddr, netip.MustParsePrefix
	d := cfg.Director
	wantRoutes := []model.Route{
		{To: pf("192.168.209.0/24"), Src: a("192.168.100.1"), Via: a("192.168.200.254"), Device: "eth0"},
		{To: pf("192.168.212.0/24"), Device: "eth3", Scope: "site", Table: 7, Metric: 5},
		{To: pf("192.168.113.1/32"), Type: "blackhole"},
		{To: pf("192.168.54.0/24"), Nexthops: []model.Nexthop{{Via: a("192.168.100.252"), Device: "eth1", Weight: 2}, {Via: a("192.168.100.253")}}},
	}
	if !reflect.DeepEqual(d.StaticRoutes, wantRoutes) {
		t.Errorf("static routes:\n got %+v\nwant %+v", d.StaticRoutes, wantRoutes)
	}
	wantRules := []model.Rule{
		{From: pf("192.168.100.0/24"), Table: 1, Priority: 16384},
		{From: pf("10.9.1.0/24"), Table: 1, Priority: 16000},
		{From: pf("2001:db8:9::/64"), Table: 3, Priority: 16384},
		{FwMark: 5, FwMask: 0xff, InputInterface: "eth0", OutputInterface: "eth1", Priority: 9, Table: 4},
	}
	if !reflect.DeepEqual(d.StaticRules, wantRules) {
		t.Errorf("static rules:\n got %+v\nwant %+v", d.StaticRules, wantRules)
	}
	in := d.Instances[0]
	wantVRoutes := []model.Route{
		{To: pf("192.168.113.0/24"), Nexthops: []model.Nexthop{{Via: a("192.168.100.252"), Device: "eth1"}, {Via: a("192.168.100.253"), Device: "eth1"}}},
		{To: pf("0.0.0.0/0"), Via: a("192.168.0.1"), Table: 100},
		{To: pf("192.168.111.0/24"), Device: "eth2", NoTrack: true},
	}
	if !reflect.DeepEqual(in.VirtualRoutes, wantVRoutes) {
		t.Errorf("virtual routes:\n got %+v\nwant %+v", in.VirtualRoutes, wantVRoutes)
	}
	if want := []model.Rule{{From: pf("192.168.200.0/24"), Table: 2, Priority: 16383}}; !reflect.DeepEqual(in.VirtualRules, want) {
		t.Errorf("virtual rules: got %+v, want %+v", in.VirtualRules, want)
	}
	if !in.UseVMAC || in.VMACInterface != "vrrp51" || !in.VMACXmitBase {
		t.Errorf("vmac: use %v interface %q xmit_base %v", in.UseVMAC, in.VMACInterface, in.VMACXmitBase)
	}
	var msgs []string
	for _, w := range warns {
		msgs = append(msgs, w.String())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		"k.conf:9: rule without a preference: keepalived sets it to 16384",
		`k.conf:10: rule to "192.168.100./24" is not an IP prefix: keepalived ignores it`,
		"k.conf:12: rule without a preference: keepalived sets it to 16384",
		"k.conf:31: rule without a preference: keepalived sets it to 16383",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if err := cfg.Validate(nil); err != nil {
		t.Errorf("the import does not validate: %v", err)
	}
}
