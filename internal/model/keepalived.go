package model

import (
	"fmt"
	"net/netip"
)

// KeepalivedConfig is everything one director's keepalived.conf holds: the
// director (global_defs, VRRP) and, when keepalived owns IPVS, the virtual
// servers with their real servers and the groups they refer to.
type KeepalivedConfig struct {
	Director       Director             `json:"director,omitzero"`
	VirtualServers []VirtualServer      `json:"virtual_servers,omitzero"`
	Groups         []VirtualServerGroup `json:"groups,omitzero"`
}

// OwnsIPVS reports whether keepalived programs this director's IPVS table
// (and so whether virtual_server blocks belong in keepalived.conf).
func (c *KeepalivedConfig) OwnsIPVS() bool {
	return c.Director.Engine == "" || c.Director.Engine == "keepalived"
}

// Validate checks the whole configuration. Paths are relative to p: the
// director's attributes sit at p, virtual servers at p.virtual_server[i],
// groups at p.virtual_server_group[i].
func (c *KeepalivedConfig) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	errs.merge(c.Director.Validate(at))

	groups := map[string]int{}
	groupFam := map[string]bool{}
	for i, g := range c.Groups {
		gp := p.At("virtual_server_group", i)
		g.validate(&errs, gp)
		if _, dup := groups[g.Name]; dup {
			errs.add(gp.At("name"), "%s is already the name of another virtual_server_group", quote(g.Name))
		}
		groups[g.Name] = i
		for k, m := range g.Members {
			if !m.Address.IsValid() {
				continue
			}
			if k > 0 && g.Members[0].Address.IsValid() && m.Address.Is6() != g.Members[0].Address.Is6() {
				errs.add(gp.At("member", k, "address"), "%s is of another address family than member[0]", quoteAddr(m.Address))
			}
			groupFam[g.Name] = m.Address.Is6()
		}
	}

	// Every (address, port, protocol) and fwmark a service claims, so that
	// two services cannot claim the same one, directly or through a group.
	claims := map[string]string{}
	claim := func(p loc, key, by string) {
		if prev, dup := claims[key]; dup {
			errs.add(p, "%s is already served by %s; each service needs its own address, port and protocol (or mark)", short(key), prev)
			return
		}
		claims[key] = by
	}
	checkFwmarkOverlap(&errs, p, c.VirtualServers)
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		vp := p.At("virtual_server", i)
		vs.validate(&errs, vp)
		me := fmt.Sprintf("virtual_server[%d]", i)
		switch {
		case vs.Fwmark != 0:
			claim(vp.At("fwmark"), vs.Key(), me)
		case vs.Group != "":
			gi, ok := groups[vs.Group]
			if !ok {
				errs.add(vp.At("group"), "%s is not the name of a virtual_server_group", quote(vs.Group))
				continue
			}
			if fam6, known := groupFam[vs.Group]; known && fam6 != vs.IsIPv6() {
				errs.add(vp.At("family"), "the members of group %s are %s; set family to match", quote(vs.Group), familyName(fam6))
			}
			for k, m := range c.Groups[gi].Members {
				if m.Address.IsValid() && m.Port == 0 && vs.PersistenceTimeout == 0 {
					errs.add(vp.At("persistence_timeout"), "must be set: member[%d] of group %s has port 0 (all ports), which IPVS accepts for persistent services only", k, quote(vs.Group))
				}
				for _, key := range m.keys(vs.EffectiveProtocol()) {
					claim(vp.At("group"), key, me+" through group "+short(vs.Group))
				}
			}
		case vs.Address.IsValid():
			claim(vp.At("address"), vs.Key(), me)
		}
		if c.OwnsIPVS() {
			checkKeepalivedTunnel(&errs, vp.At("tunnel_type"), vs.TunnelType)
			for k, rs := range vs.RealServers {
				checkKeepalivedTunnel(&errs, vp.At("real_server", k, "tunnel_type"), rs.TunnelType)
			}
			var g *VirtualServerGroup
			if gi, ok := groups[vs.Group]; ok && vs.Group != "" {
				g = &c.Groups[gi]
			}
			vs.validateForKeepalived(&errs, vp, g)
		} else if vs.Group != "" {
			errs.add(vp.At("group"), "virtual server groups are a keepalived feature; with engine \"netlink\" declare each address as its own virtual server")
		}
	}
	if _, err := c.DirectorSysctls(); err != nil {
		errs.merge(err)
	}
	return errs.err()
}

// keys returns the service keys a group member stands for.
func (m *VSGroupMember) keys(proto string) []string {
	if m.Fwmark != 0 {
		return []string{fmt.Sprintf("fwmark/%d", m.Fwmark)}
	}
	if m.RangeEnd == 0 {
		return []string{proto + "/" + netip.AddrPortFrom(m.Address, uint16(m.Port)).String()}
	}
	last, _ := lastPart(m.Address)
	var out []string
	a := m.Address
	for n := last; n <= m.RangeEnd && n-last <= 65535; n++ {
		out = append(out, proto+"/"+netip.AddrPortFrom(a, uint16(m.Port)).String())
		a = a.Next()
	}
	return out
}

func familyName(v6 bool) string {
	if v6 {
		return "inet6"
	}
	return "inet"
}

// RunsScripts reports whether keepalived runs any script for this
// configuration (track scripts, notify scripts, MISC_CHECK, quorum
// scripts). keepalived -t refuses scripts without enable_script_security
// (SECURITY VIOLATION, exit 6), so the renderer turns it on for them.
func (c *KeepalivedConfig) RunsScripts() bool {
	if c.Director.firstScript(loc{}) != nil {
		return true
	}
	if !c.OwnsIPVS() {
		return false
	}
	for i := range c.VirtualServers {
		if c.VirtualServers[i].firstScript(loc{}) != nil {
			return true
		}
	}
	return false
}

// validateForKeepalived checks what keepalived refuses in a virtual server
// that IPVS itself would take; p is where vs sits, g its group (if any).
func (vs *VirtualServer) validateForKeepalived(errs *Errors, p loc, g *VirtualServerGroup) {
	vs.validateQuorum(errs, p)
	vs.validateSorryInhibit(errs, p)
	// keepalived -t exits 5 on a protocol for a group of fwmarks only
	// ("protocol specified for fwmark - protocol will be ignored").
	if g != nil && vs.Protocol != "" && !g.hasAddress() {
		errs.add(p.At("protocol"), "does not apply: the members of group %s are all fwmarks, and the marks select the packets", quote(vs.Group))
	}
	// A fwmark, group or port-0 service has no port of its own (a group:
	// unless all its members share one), and keepalived -t exits 5 on a
	// dr/tun real or sorry server with another port ("has port specified -
	// clearing", "ports don't match"). With a port of its own, the checks
	// of RealServer and VirtualServer cover this.
	if vs.Port != 0 {
		return
	}
	port := 0
	if g != nil {
		port = g.commonPort()
	}
	// (RealServer.validate already covers the real servers of a port-0
	// address service.)
	for k := range vs.RealServers {
		rs := &vs.RealServers[k]
		if m := vs.MethodOf(rs); m != "nat" && rs.Port != 0 && rs.Port != port && (vs.Fwmark != 0 || g != nil) {
			errs.add(p.At("real_server", k, "port"), "%d is not the service's port; %s forwarding does not map ports and keepalived clears it, so leave port unset (or use nat)", rs.Port, short(m))
		}
	}
	if s := vs.SorryServer; s != nil {
		if m := orDefault(s.ForwardingMethod, vs.EffectiveMethod()); m != "nat" && s.Port != 0 && s.Port != port {
			errs.add(p.At("sorry_server", "port"), "%d is not the service's port; %s forwarding does not map ports and keepalived clears it, so leave port unset (or use nat)", s.Port, short(m))
		}
	}
}

// hasAddress reports whether the group has an address member (not only fwmarks).
func (g *VirtualServerGroup) hasAddress() bool {
	for _, m := range g.Members {
		if m.Fwmark == 0 {
			return true
		}
	}
	return false
}

// commonPort is the port every member of the group has, or 0 when they
// differ or a fwmark is among them.
func (g *VirtualServerGroup) commonPort() int {
	port := 0
	for i, m := range g.Members {
		if m.Fwmark != 0 || (i > 0 && m.Port != port) {
			return 0
		}
		port = m.Port
	}
	return port
}

// firstScript returns the path of the first script the virtual server has
// keepalived run (quorum, real server notify, MISC_CHECK), or nil.
func (vs *VirtualServer) firstScript(p loc) Path {
	switch {
	case vs.QuorumUp != "":
		return p.At("quorum_up").path()
	case vs.QuorumDown != "":
		return p.At("quorum_down").path()
	}
	for k, rs := range vs.RealServers {
		switch {
		case rs.NotifyUp != "":
			return p.At("real_server", k, "notify_up").path()
		case rs.NotifyDown != "":
			return p.At("real_server", k, "notify_down").path()
		case rs.MiscCheck != nil:
			return p.At("real_server", k, "misc_check").path()
		}
	}
	return nil
}

// validateQuorum: keepalived -t exits 5 on a quorum above the summed
// weight of the real servers ("exceeds total weight of real servers,
// reducing quorum"). A service without real servers is not rendered.
func (vs *VirtualServer) validateQuorum(errs *Errors, p loc) {
	total := 0
	for i := range vs.RealServers {
		total += vs.RealServers[i].EffectiveWeight()
	}
	if len(vs.RealServers) > 0 && vs.Quorum > total {
		errs.add(p.At("quorum"), "%d is above the summed weight of the real servers (%d), so it could never be met", vs.Quorum, total)
	}
}

// validateSorryInhibit: a sorry server that is also one of the real servers
// must inhibit as that real server does; keepalived -t exits 5 otherwise
// ("matches sorry server, but inhibit setting differs").
func (vs *VirtualServer) validateSorryInhibit(errs *Errors, p loc) {
	s := vs.SorryServer
	if s == nil {
		return
	}
	sorryPort := s.Port
	if sorryPort == 0 {
		sorryPort = vs.Port
	}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		inhibit := vs.InhibitOnFailure
		if rs.InhibitOnFailure != nil {
			inhibit = *rs.InhibitOnFailure
		}
		if rs.Address == s.Address && rs.EffectivePort(vs) == sorryPort && inhibit != s.Inhibit {
			errs.add(p.At("sorry_server", "inhibit"), "is %t but real_server[%d], the same address and port, has inhibit_on_failure %t; make them equal", s.Inhibit, i, inhibit)
		}
	}
}

// checkKeepalivedTunnel refuses the tunnel types Debian's keepalived 2.2 is
// built without (tun_type is an unknown keyword there).
func checkKeepalivedTunnel(errs *Errors, p loc, tunType string) {
	if tunType == "gue" || tunType == "gre" {
		errs.add(p, "%s is not supported by the keepalived engine (Debian's keepalived 2.2 is built without tunnel types); use engine \"netlink\" or tunnel_type \"ipip\"", quote(tunType))
	}
}
