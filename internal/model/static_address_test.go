package model

import (
	"net/netip"
	"strings"
	"testing"
)

func TestStaticAddressRules(t *testing.T) {
	pf := netip.MustParsePrefix
	cases := []struct {
		name string
		d    Director
		want string // substring of the error; empty means valid
	}{
		{"single director", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}, {Prefix: pf("10.0.0.11/32"), Device: "eth1"}}}, ""},
		{"no device and no interface", Director{StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}}}, "static_address[0].device: must be set when the director has no interface"},
		{"twice", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}, {Prefix: pf("10.0.0.10/32")}}}, "static_address[1].address: 10.0.0.10 is already static_address[0]"},
		{"no address", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{}}}, "static_address[0].address: must be an IP address"},
		{"bad device", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24"), Device: "eth 0"}}}, "static_address[0].device"},
		{"scope link", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24"), Scope: "link"}}}, ""},
		{"unknown scope", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24"), Scope: "galaxy"}}},
			`static_address[0].scope: "galaxy" is not allowed; allowed values are "global", "site", "link", "host" or "nowhere"`},
		{"IPv6 scope", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("2001:db8::10/64"), Scope: "link"}}},
			"static_address[0].scope: applies to IPv4 addresses only"},
		{"two scopes in one subnet", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}, {Prefix: pf("10.0.0.11/24"), Scope: "link"}}},
			"static_address[1].scope: is link, but static_address[0] is in the same subnet 10.0.0.0/24 on eth0 at scope global"},
		{"two scopes, two subnets", Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}, {Prefix: pf("10.0.1.11/24"), Scope: "link"}, {Prefix: pf("10.0.0.12/24"), Device: "eth1", Scope: "host"}}}, ""},
		{"also a VRRP address", Director{Interface: "eth0",
			Instances: []VRRPInstance{{Name: "VI_1", State: "MASTER", VirtualRouterID: 51, Priority: 100,
				VirtualIPs: []VirtualIP{{Prefix: pf("10.0.0.10/24")}}}},
			StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}}}, "is a virtual address of vrrp_instance \"VI_1\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.Validate(nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
	d := Director{Interface: "eth0", StaticAddresses: []StaticAddress{{Prefix: pf("10.0.0.10/24")}, {Prefix: pf("10.0.0.11/32"), Device: "eth1"}}}
	got := d.StaticHostAddresses()
	if len(got) != 2 || got[0].Device != "eth0" || got[1].Device != "eth1" || got[0].Scope != "global" {
		t.Errorf("StaticHostAddresses = %+v", got)
	}
}
