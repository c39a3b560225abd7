package model

import (
	"fmt"
	"net/netip"
)

// KeepalivedConfig is everything one director's keepalived.conf holds: the
// director (global_defs, VRRP) and, when keepalived owns IPVS, the virtual
// servers with their real servers and the groups they refer to.
type KeepalivedConfig struct {
	Director       Director
	VirtualServers []VirtualServer
	Groups         []VirtualServerGroup
}

// OwnsIPVS reports whether keepalived programs this director's IPVS table
// (and so whether virtual_server blocks belong in keepalived.conf).
func (c *KeepalivedConfig) OwnsIPVS() bool {
	return c.Director.Engine == "" || c.Director.Engine == "keepalived"
}

// Validate checks the whole configuration. Paths are relative to p: the
// director's attributes sit at p, virtual servers at p.virtual_server[i],
// groups at p.virtual_server_group[i].
func (c *KeepalivedConfig) Validate(p Path) error {
	var errs Errors
	errs.merge(c.Director.Validate(p))

	groups := map[string]int{}
	groupFam := map[string]bool{}
	for i, g := range c.Groups {
		gp := p.At("virtual_server_group", i)
		g.validate(&errs, gp)
		if _, dup := groups[g.Name]; dup {
			errs.add(gp.At("name"), "%q is already the name of another virtual_server_group", g.Name)
		}
		groups[g.Name] = i
		for k, m := range g.Members {
			if !m.Address.IsValid() {
				continue
			}
			if k > 0 && g.Members[0].Address.IsValid() && m.Address.Is6() != g.Members[0].Address.Is6() {
				errs.add(gp.At("member", k, "address"), "%s is of another address family than member[0]", m.Address)
			}
			groupFam[g.Name] = m.Address.Is6()
		}
	}

	// Every (address, port, protocol) and fwmark a service claims, so that
	// two services cannot claim the same one, directly or through a group.
	claims := map[string]string{}
	claim := func(p Path, key, by string) {
		if prev, dup := claims[key]; dup {
			errs.add(p, "%s is already served by %s; each service needs its own address, port and protocol (or mark)", key, prev)
			return
		}
		claims[key] = by
	}
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
				errs.add(vp.At("group"), "%q is not the name of a virtual_server_group", vs.Group)
				continue
			}
			if fam6, known := groupFam[vs.Group]; known && fam6 != vs.IsIPv6() {
				errs.add(vp.At("family"), "the members of group %q are %s; set family to match", vs.Group, familyName(fam6))
			}
			for k, m := range c.Groups[gi].Members {
				if m.Address.IsValid() && m.Port == 0 && vs.PersistenceTimeout == 0 {
					errs.add(vp.At("persistence_timeout"), "must be set: member[%d] of group %q has port 0 (all ports), which IPVS accepts for persistent services only", k, vs.Group)
				}
				for _, key := range m.keys(vs.EffectiveProtocol()) {
					claim(vp.At("group"), key, me+" through group "+vs.Group)
				}
			}
		case vs.Address.IsValid():
			claim(vp.At("address"), vs.Key(), me)
		}
		if c.OwnsIPVS() {
			for _, m := range []struct {
				path Path
				tun  string
			}{{vp.At("tunnel_type"), vs.TunnelType}} {
				if m.tun == "gue" || m.tun == "gre" {
					errs.add(m.path, "%q is not supported by the keepalived engine (Debian's keepalived 2.2 is built without tunnel types); use engine \"netlink\" or tunnel_type \"ipip\"", m.tun)
				}
			}
			for k, rs := range vs.RealServers {
				if rs.TunnelType == "gue" || rs.TunnelType == "gre" {
					errs.add(vp.At("real_server", k, "tunnel_type"), "%q is not supported by the keepalived engine (Debian's keepalived 2.2 is built without tunnel types); use engine \"netlink\" or tunnel_type \"ipip\"", rs.TunnelType)
				}
			}
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
