package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Sysctl is one kernel setting with the reason it is there, which the
// sysctl.d renderer writes as a comment above it.
type Sysctl struct {
	Key    string `json:"key,omitzero"`
	Value  string `json:"value,omitzero"`
	Reason string `json:"reason,omitzero"`
	// Optional marks a setting the kernel may lack (IPVS not loaded, or
	// no IPVS at all, as in a container): where it does not exist it is
	// skipped, not an error, and sysctl.d ignores it ("-key = value").
	Optional bool `json:"optional,omitzero"`
}

func (s *Sysctl) validate(errs *Errors, p loc) {
	// Key and value are bounded like every string that reaches a file, so
	// that a sysctl.d line stays short whatever reads it.
	switch {
	case !checkLen(errs, p.At("key"), s.Key):
	case !sysctlKeyRE.MatchString(s.Key):
		errs.add(p.At("key"), "%s is not a sysctl key; use the dotted form, such as net.ipv4.ip_forward", quote(s.Key))
	}
	switch {
	case !checkLen(errs, p.At("value"), s.Value):
	case !sysctlValRE.MatchString(s.Value):
		errs.add(p.At("value"), "%s is not a sysctl value; use letters, digits, `_`, `.`, `:` and `-`, words separated by single spaces", quote(s.Value))
	}
	checkText(errs, p.At("reason"), s.Reason)
}

// sysctlIface writes an interface name as a sysctl key component: dots
// (VLAN interfaces such as eth0.100) become slashes.
func sysctlIface(name string) string { return strings.ReplaceAll(name, ".", "/") }

// sysctlSet builds an ordered, duplicate-free list of sysctls and reports
// requirements that contradict each other.
type sysctlSet struct {
	list []Sysctl
	idx  map[string]int
	// soft marks defaults the operator's own sysctl may override: they
	// make the cluster behave better, not work at all.
	soft map[string]bool
}

// prefer adds a default that an operator's sysctl of the same key
// replaces instead of contradicting.
func (s *sysctlSet) prefer(key, value, reason string) {
	if _, ok := s.idx[key]; ok {
		return
	}
	s.require(key, value, reason)
	s.list[s.idx[key]].Optional = true
	if s.soft == nil {
		s.soft = map[string]bool{}
	}
	s.soft[key] = true
}

func (s *sysctlSet) require(key, value, reason string) {
	if s.idx == nil {
		s.idx = map[string]int{}
	}
	if i, ok := s.idx[key]; ok {
		if s.list[i].Value == value && !strings.Contains(s.list[i].Reason, reason) {
			s.list[i].Reason += "; " + reason
		}
		return
	}
	s.idx[key] = len(s.list)
	s.list = append(s.list, Sysctl{Key: key, Value: value, Reason: reason})
}

// overlay adds user-given sysctls; one that contradicts a derived value is
// an error at its path, since the cluster would not work with it.
func (s *sysctlSet) overlay(errs *Errors, p loc, extra []Sysctl) {
	for i, e := range extra {
		if j, ok := s.idx[e.Key]; ok && s.soft[e.Key] {
			reason := e.Reason
			if reason == "" {
				reason = "set by the operator"
			}
			s.list[j] = Sysctl{Key: e.Key, Value: e.Value, Reason: reason}
			delete(s.soft, e.Key)
			continue
		}
		if j, ok := s.idx[e.Key]; ok && s.list[j].Value != e.Value {
			errs.add(p.At("sysctl", i, "value"), "%s = %s contradicts the derived %s = %s (%s)", short(e.Key), short(e.Value), short(e.Key), s.list[j].Value, s.list[j].Reason)
			continue
		}
		reason := e.Reason
		if reason == "" {
			reason = "set by the operator"
		}
		s.require(e.Key, e.Value, reason)
	}
}

// DirectorSysctls derives the kernel settings a director needs for the
// virtual servers it carries, followed by the director's extra sysctls.
func (c *KeepalivedConfig) DirectorSysctls() ([]Sysctl, error) {
	var s sysctlSet
	var errs Errors
	ifaces := c.vrrpInterfaces()
	// Each need is required where it first arises (the list keeps that
	// order) and looked at no more after: a director with 100k real
	// servers needs at most three of them.
	var nat4, nat6, dr4, ipvsReuse bool
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		v6 := vs.IsIPv6()
		if len(vs.RealServers) > 0 && !ipvsReuse {
			ipvsReuse = true
			// Without it the kernel silently drops a new connection whose
			// client port matches an entry of a real server that was removed
			// (a DR director sees no FIN from the server, so such entries
			// linger as FIN_WAIT for two minutes): the client times out after
			// its SYN retries. With it the connection is scheduled afresh.
			// Connections to a drained server (weight 0) go on flowing: only
			// a new connection on a reused port is moved.
			s.prefer("net.ipv4.vs.expire_nodest_conn", "1", "IPVS: a new connection reusing the client port of one to a removed real server is rescheduled, not dropped")
		}
		for k := range vs.RealServers {
			switch vs.MethodOf(&vs.RealServers[k]) {
			case "nat":
				if v6 && !nat6 {
					nat6 = true
					s.require("net.ipv6.conf.all.forwarding", "1", "NAT: the director routes replies of IPv6 real servers back to clients")
				} else if !v6 && !nat4 {
					nat4 = true
					s.require("net.ipv4.ip_forward", "1", "NAT: the director routes replies of real servers back to clients")
				}
			case "dr":
				if !v6 && !dr4 {
					dr4 = true
					reason := "DR: real servers share the director's network; no ICMP redirects pointing clients at them"
					s.require("net.ipv4.conf.all.send_redirects", "0", reason)
					s.require("net.ipv4.conf.default.send_redirects", "0", reason)
					for _, ifc := range ifaces {
						s.require("net.ipv4.conf."+sysctlIface(ifc)+".send_redirects", "0", reason)
					}
				}
			}
		}
	}
	s.overlay(&errs, loc{}, c.Director.Sysctls)
	return s.list, errs.err()
}

func (c *KeepalivedConfig) vrrpInterfaces() []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	add(c.Director.Interface)
	for _, in := range c.Director.Instances {
		add(in.iface(c.Director.Interface))
	}
	return out
}

// RealServerHost is the real-server side of a cluster on one host: how
// packets for the VIPs reach it and leave it.
type RealServerHost struct {
	// Method is the forwarding method the directors use towards this host.
	Method string `json:"method,omitzero"`
	// TunnelType refines tun: ipip (default) or gre. gue needs a
	// fou receiver, which is not set up here.
	TunnelType string `json:"tunnel_type,omitzero"`
	// VIPs are the virtual addresses the host must accept packets for
	// (dr, tun).
	VIPs []netip.Addr `json:"vips,omitzero"`
	// Gateway is the director-side address replies must route through
	// (nat): usually a VIP of the directors' inside VRRP instance.
	Gateway netip.Addr `json:"gateway,omitzero"`
}

// HostAddress is an address to put on a device.
type HostAddress struct {
	Prefix netip.Prefix `json:"prefix,omitzero"`
	Device string       `json:"device,omitzero"`
	// Scope is an IPv4 address's scope (one of AddressScopes): the one
	// it is to be held at, or the one observed. Empty is "any" in what is
	// wanted (added at the kernel's default, an existing one kept at its
	// scope) and "not reported" in what is observed (an agent older than
	// the field, or an IPv6 address).
	Scope string `json:"scope,omitzero"`
}

// SameAddress reports whether a and b are the same address on the same
// device, whatever their scopes.
func (a HostAddress) SameAddress(b HostAddress) bool {
	return a.Device == b.Device && a.Prefix == b.Prefix
}

// HostSetup is what a real-server host needs: addresses, a tunnel device,
// a default gateway, and sysctls.
type HostSetup struct {
	Addresses []HostAddress `json:"addresses,omitzero"`
	// TunnelDevice is brought up (and its module loaded) before addresses
	// are put on it: tunl0 for ipip, gre0 for gre, ip6tnl0 for IPv6.
	TunnelDevice string     `json:"tunnel_device,omitzero"`
	Gateway      netip.Addr `json:"gateway,omitzero"`
	Sysctls      []Sysctl   `json:"sysctls,omitzero"`
}

// Validate checks a real-server host description; p is where it sits.
func (h *RealServerHost) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	if h.Method == "" {
		errs.add(p.At("forwarding_method"), "must be set; allowed values are %s", quoteList(ForwardingMethods))
	}
	checkEnum(&errs, p.At("forwarding_method"), h.Method, ForwardingMethods)
	checkEnum(&errs, p.At("tunnel_type"), h.TunnelType, []string{"ipip", "gre"})
	if h.TunnelType != "" && h.Method != "tun" {
		errs.add(p.At("tunnel_type"), "applies to forwarding_method \"tun\" only")
	}
	if (h.Method == "dr" || h.Method == "tun") && len(h.VIPs) == 0 {
		errs.add(p.At("vips"), "%s needs the virtual addresses the host accepts traffic for", h.Method)
	}
	if h.Method != "nat" && h.Gateway.IsValid() {
		errs.add(p.At("gateway"), "applies to forwarding_method \"nat\" only")
	}
	for i, v := range h.VIPs {
		if !v.IsValid() {
			errs.add(p.At("vips", i), "must be an IP address")
		}
	}
	return errs.err()
}

// Setup derives the host's addresses, tunnel and sysctls.
func (h *RealServerHost) Setup() HostSetup {
	var out HostSetup
	var s sysctlSet
	arp := func(why string) {
		s.require("net.ipv4.conf.all.arp_ignore", "1", why+": answer ARP only for addresses on the receiving interface, never for the VIP")
		s.require("net.ipv4.conf.all.arp_announce", "2", why+": never use the VIP as ARP source address")
		s.require("net.ipv4.conf.lo.arp_ignore", "1", why+": the VIP on this device stays invisible to ARP")
		s.require("net.ipv4.conf.lo.arp_announce", "2", why+": the VIP on this device stays invisible to ARP")
	}
	has4 := slices.ContainsFunc(h.VIPs, netip.Addr.Is4)
	switch h.Method {
	case "dr":
		for _, v := range h.VIPs {
			out.Addresses = append(out.Addresses, HostAddress{Prefix: netip.PrefixFrom(v, v.BitLen()), Device: "lo"})
		}
		if has4 {
			arp("DR")
		}
	case "tun":
		dev := "tunl0"
		if h.TunnelType == "gre" {
			dev = "gre0"
		}
		if len(h.VIPs) > 0 && !has4 {
			dev = "ip6tnl0"
		}
		out.TunnelDevice = dev
		for _, v := range h.VIPs {
			out.Addresses = append(out.Addresses, HostAddress{Prefix: netip.PrefixFrom(v, v.BitLen()), Device: dev})
		}
		if has4 {
			arp("TUN")
			why := "TUN: decapsulated packets arrive on the tunnel with the client's source; reverse-path filtering would drop them"
			s.require("net.ipv4.conf.all.rp_filter", "0", why)
			s.require("net.ipv4.conf."+dev+".rp_filter", "0", why)
		}
	case "nat":
		out.Gateway = h.Gateway
	}
	out.Sysctls = s.list
	return out
}

// String describes a sysctl for messages.
func (s Sysctl) String() string { return fmt.Sprintf("%s = %s", s.Key, s.Value) }
