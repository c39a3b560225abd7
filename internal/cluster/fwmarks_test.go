package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestFwmarkMatchesReadFromTheTable(t *testing.T) {
	vs := model.VirtualServer{Fwmark: 7, FwmarkMatches: []model.FwmarkMatch{{
		Protocol: "tcp", Destinations: []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32")}, Ports: []int{80, 443},
	}}}
	rules := vs.FwmarkRules()
	table := func(rs ...model.FwmarkRule) *wire.FwmarkTable {
		t := &wire.FwmarkTable{Present: true}
		for _, r := range rs {
			t.Rules = append(t.Rules, wire.FwmarkRuleState{FwmarkRule: r})
		}
		return t
	}
	other := model.FwmarkRule{Mark: 7, Destination: netip.MustParsePrefix("2001:db8::1/128")} // fwmark6/7's
	for _, tc := range []struct {
		name string
		obs  wire.Observed
		same bool
		want string
	}{
		{"in sync", wire.Observed{Fwmarks: table(rules[1], other, rules[0])}, true, ""},
		{"rule removed by hand", wire.Observed{Fwmarks: table(rules[0])}, false, "[{tcp [10.0.0.10/32] [80]}]"},
		{"table deleted", wire.Observed{}, false, "[]"},
		{"port changed by hand", wire.Observed{Fwmarks: table(rules[0], model.FwmarkRule{Mark: 7, Destination: rules[1].Destination, Protocol: "tcp", Port: 8443})}, false, "[{tcp [10.0.0.10/32] [80 8443]}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewView(&tc.obs).FwmarkMatches(&vs)
			if err != nil {
				t.Fatal(err)
			}
			if same := model.SameFwmarkRules((&model.VirtualServer{Fwmark: 7, FwmarkMatches: got}).FwmarkRules(), rules); same != tc.same {
				t.Fatalf("same %v, want %v: %+v", same, tc.same, got)
			}
			if !tc.same {
				if s := fmt.Sprint(got); s != tc.want {
					t.Errorf("got %s, want %s", s, tc.want)
				}
			}
		})
	}
	if _, err := NewView(&wire.Observed{Errors: map[string]string{wire.ObserveFwmarks: "EPERM"}}).FwmarkMatches(&vs); err == nil || !strings.Contains(err.Error(), "EPERM") {
		t.Fatalf("a failed read must be an error, got %v", err)
	}
}
