package model

import "net/netip"

// Services are the plain kernel services keepalived programs for one
// group member serving vs: one per address of the member (a range is
// expanded), or the member's fwmark, each carrying vs's settings and real
// servers, with Group cleared. The family of a fwmark member is vs's.
func (m *VSGroupMember) Services(vs *VirtualServer) []VirtualServer {
	base := *vs
	base.Group = ""
	if m.Fwmark != 0 {
		base.Address, base.Port, base.Protocol, base.Fwmark = netip.Addr{}, 0, "", m.Fwmark
		return []VirtualServer{base}
	}
	base.Fwmark, base.Family = 0, ""
	base.Port = m.Port
	end := 0
	if m.RangeEnd != 0 {
		last, _ := lastPart(m.Address)
		end = m.RangeEnd - last
	}
	var out []VirtualServer
	a := m.Address
	for n := 0; n <= end && a.IsValid(); n++ {
		s := base
		s.Address = a
		out = append(out, s)
		a = a.Next()
	}
	return out
}

// MemberServices are the kernel services of every member of g serving vs
// (see VSGroupMember.Services), in member order.
func (g *VirtualServerGroup) MemberServices(vs *VirtualServer) []VirtualServer {
	var out []VirtualServer
	for i := range g.Members {
		out = append(out, g.Members[i].Services(vs)...)
	}
	return out
}
