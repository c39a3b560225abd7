package model

import (
	"net/netip"
	"strings"
	"testing"
)

func TestFwmarkRulesExpandAndGroupBack(t *testing.T) {
	vs := VirtualServer{Fwmark: 7, FwmarkMatches: []FwmarkMatch{
		{Protocol: "tcp", Destinations: []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32"), netip.MustParsePrefix("10.0.1.7/24")}, Ports: []int{443, 80}},
		{Protocol: "udp", Destinations: []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32")}, Ports: []int{443}},
	}}
	rules := vs.FwmarkRules()
	if len(rules) != 5 {
		t.Fatalf("want 5 rules, got %d: %v", len(rules), rules)
	}
	if rules[0].Destination.String() != "10.0.0.10/32" || rules[0].Protocol != "tcp" || rules[0].Port != 80 {
		t.Errorf("first rule %v, want daddr 10.0.0.10/32 tcp dport 80", rules[0])
	}
	if got := rules[len(rules)-1].Destination.String(); got != "10.0.1.0/24" {
		t.Errorf("destinations are masked: got %s", got)
	}
	back := FwmarkMatchesOf(rules)
	again := VirtualServer{Fwmark: 7, FwmarkMatches: back}
	if !SameFwmarkRules(again.FwmarkRules(), rules) {
		t.Errorf("grouping back changed the rules: %v -> %v", rules, again.FwmarkRules())
	}
	if len(back) != 2 {
		t.Errorf("want the tcp and udp matches back, got %+v", back)
	}
	if SameFwmarkRules(rules, rules[1:]) {
		t.Error("a missing rule must differ")
	}
}

func TestFwmarkMatchValidation(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		vs   VirtualServer
		want string
	}{
		{"address service", VirtualServer{Address: netip.MustParseAddr("10.0.0.1"), Port: 80,
			FwmarkMatches: []FwmarkMatch{{Destinations: []netip.Prefix{p("10.0.0.1/32")}}}}, "fwmark_match: applies to fwmark services only"},
		{"no destination", VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Protocol: "tcp"}}}, "fwmark_match[0].destinations: must name at least one"},
		{"ports without protocol", VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Destinations: []netip.Prefix{p("10.0.0.1/32")}, Ports: []int{80}}}}, "fwmark_match[0].protocol: must be set when ports are"},
		{"bad protocol", VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Protocol: "icmp", Destinations: []netip.Prefix{p("10.0.0.1/32")}}}}, "fwmark_match[0].protocol"},
		{"port 0", VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Protocol: "tcp", Destinations: []netip.Prefix{p("10.0.0.1/32")}, Ports: []int{0}}}}, "fwmark_match[0].ports[0]"},
		{"family", VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Destinations: []netip.Prefix{p("2001:db8::1/128")}}}}, "fwmark_match[0].destinations[0]: \"2001:db8::1/128\" is of another address family"},
		{"family6", VirtualServer{Fwmark: 1, Family: "inet6", FwmarkMatches: []FwmarkMatch{{Destinations: []netip.Prefix{p("10.0.0.1/32")}}}}, "is of another address family than the service (family \"inet6\")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.vs.Validate(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
	ok := VirtualServer{Fwmark: 1, FwmarkMatches: []FwmarkMatch{{Protocol: "tcp", Destinations: []netip.Prefix{p("10.0.0.1/32")}, Ports: []int{80, 443}}}}
	if err := ok.Validate(nil); err != nil {
		t.Fatal(err)
	}
}

func TestFwmarkOverlapRefused(t *testing.T) {
	m := []FwmarkMatch{{Protocol: "tcp", Destinations: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}, Ports: []int{80}}}
	var errs Errors
	checkFwmarkOverlap(&errs, rootLoc(nil), []VirtualServer{{Fwmark: 1, FwmarkMatches: m}, {Fwmark: 2, FwmarkMatches: m}})
	if err := errs.err(); err == nil || !strings.Contains(err.Error(), "virtual_server[1].fwmark_match: marks packets to 10.0.0.1/32 with 2, but virtual_server[0] marks them with 1") {
		t.Fatalf("got %v", err)
	}
}
