package model

import (
	"net/netip"
	"testing"
)

func TestGroupMemberServices(t *testing.T) {
	vs := VirtualServer{Group: "web", Protocol: "udp", Family: "inet", Scheduler: "rr"}
	g := VirtualServerGroup{Name: "web", Members: []VSGroupMember{
		{Address: netip.MustParseAddr("10.0.0.40"), Port: 53},
		{Address: netip.MustParseAddr("10.0.0.41"), RangeEnd: 43, Port: 53},
		{Fwmark: 7},
	}}
	var keys []string
	for _, s := range g.MemberServices(&vs) {
		if s.Group != "" || s.Scheduler != "rr" {
			t.Errorf("member service %s: group %q, scheduler %q", s.Key(), s.Group, s.Scheduler)
		}
		keys = append(keys, s.Key())
	}
	want := []string{"udp/10.0.0.40:53", "udp/10.0.0.41:53", "udp/10.0.0.42:53", "udp/10.0.0.43:53", "fwmark/7"}
	if len(keys) != len(want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("keys %q, want %q", keys, want)
		}
	}
	vs6 := VirtualServer{Group: "m", Family: "inet6"}
	if got := (&VSGroupMember{Fwmark: 9}).Services(&vs6)[0].Key(); got != "fwmark6/9" {
		t.Errorf("IPv6 fwmark member: %s", got)
	}
}
