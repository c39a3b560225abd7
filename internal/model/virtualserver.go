package model

import (
	"fmt"
	"net/netip"
)

// VirtualServer is one IPVS service: a VIP:port/protocol, a firewall mark,
// or a keepalived virtual_server_group, with the real servers behind it.
type VirtualServer struct {
	// Exactly one of Address (with Port), Fwmark or Group identifies the service.
	Address  netip.Addr `json:"address,omitzero"`
	Port     int        `json:"port,omitzero"`
	Protocol string     `json:"protocol,omitzero"` // tcp (default), udp or sctp
	Fwmark   uint32     `json:"fwmark,omitzero"`
	// Family is the address family of a fwmark service: inet (default) or inet6.
	Family string `json:"family,omitzero"`
	// FwmarkMatches select the packets a fwmark service's mark is set on:
	// the agent programs them in nftables (see FwmarkMatch).
	FwmarkMatches []FwmarkMatch `json:"fwmark_match,omitzero"`
	// Group names a VirtualServerGroup of the same configuration.
	Group string `json:"group,omitzero"`

	Scheduler string `json:"scheduler,omitzero"` // default wlc
	// SchedulerPort and SchedulerFallback are the sh/mh flags: hash the
	// port too, and fall back to another server when the chosen one is
	// unavailable.
	SchedulerPort     bool `json:"scheduler_port,omitzero"`
	SchedulerFallback bool `json:"scheduler_fallback,omitzero"`
	// OnePacket schedules each UDP datagram on its own (ops).
	OnePacket bool `json:"one_packet,omitzero"`

	// PersistenceTimeout (seconds) keeps a client on one real server; zero
	// disables persistence. PersistenceGranularity is the prefix length
	// that groups clients (24 groups a /24; zero means a single address).
	PersistenceTimeout     int `json:"persistence_timeout,omitzero"`
	PersistenceGranularity int `json:"persistence_granularity,omitzero"`

	// ForwardingMethod is the default for the real servers: nat (default),
	// dr or tun. TunnelType and TunnelPort refine tun.
	ForwardingMethod string `json:"forwarding_method,omitzero"`
	TunnelType       string `json:"tunnel_type,omitzero"`
	TunnelPort       int    `json:"tunnel_port,omitzero"`

	// SorryServer receives traffic while every real server is down.
	SorryServer *SorryServer `json:"sorry_server,omitzero"`

	// HealthCheck defaults, inherited by the real servers' checkers.
	DelayLoop        int `json:"delay_loop,omitzero"`
	Retry            int `json:"retry,omitzero"`
	DelayBeforeRetry int `json:"delay_before_retry,omitzero"`
	ConnectTimeout   int `json:"connect_timeout,omitzero"`
	// VirtualHost is the default Host header of HTTP_GET/SSL_GET checks.
	VirtualHost string `json:"virtual_host,omitzero"`

	// Quorum is the summed weight of healthy real servers below which the
	// service is considered down (QuorumDown runs, the sorry server takes
	// over); Hysteresis dampens flapping around it.
	Quorum     int    `json:"quorum,omitzero"`
	Hysteresis int    `json:"hysteresis,omitzero"`
	QuorumUp   string `json:"quorum_up,omitzero"`
	QuorumDown string `json:"quorum_down,omitzero"`
	// Alpha starts real servers as down until their first check passes;
	// Omega runs notify_down of every real server when the service is removed.
	Alpha bool `json:"alpha,omitzero"`
	Omega bool `json:"omega,omitzero"`
	// InhibitOnFailure sets a failed real server's weight to 0 instead of
	// removing it (existing connections drain); real servers may override.
	InhibitOnFailure bool `json:"inhibit_on_failure,omitzero"`

	RealServers []RealServer `json:"real_servers,omitzero"`
}

// SorryServer is the fallback destination of a virtual server.
type SorryServer struct {
	Address          netip.Addr `json:"address,omitzero"`
	Port             int        `json:"port,omitzero"`
	ForwardingMethod string     `json:"forwarding_method,omitzero"`
	// Inhibit keeps the sorry server in the table with weight 0 while real
	// servers are up.
	Inhibit bool `json:"inhibit,omitzero"`
}

// VirtualServerGroup is a keepalived virtual_server_group: several
// addresses, address ranges and firewall marks served as one service.
type VirtualServerGroup struct {
	Name    string          `json:"name,omitzero"`
	Members []VSGroupMember `json:"members,omitzero"`
}

// VSGroupMember is one address (or address range) with port, or one fwmark.
type VSGroupMember struct {
	Address netip.Addr `json:"address,omitzero"`
	// RangeEnd, when set, makes the member the range from Address to this
	// value of the last octet (IPv4) or last 16-bit group (IPv6).
	RangeEnd int    `json:"range_end,omitzero"`
	Port     int    `json:"port,omitzero"`
	Fwmark   uint32 `json:"fwmark,omitzero"`
}

// MaxPersistenceTimeout is the longest persistence, in seconds, that
// ipvsadm (MAX_TIMEOUT) and keepalived (LVS_MAX_TIMEOUT) accept: 31 days.
const MaxPersistenceTimeout = 86400 * 31

// Key identifies a virtual server on a director, in the import ID format:
// tcp/10.0.0.10:80, udp/[2001:db8::1]:53, fwmark/7 (fwmark6/7 for IPv6),
// group/NAME/tcp.
func (vs *VirtualServer) Key() string {
	switch {
	case vs.Fwmark != 0 && vs.Family == "inet6":
		return fmt.Sprintf("fwmark6/%d", vs.Fwmark)
	case vs.Fwmark != 0:
		return fmt.Sprintf("fwmark/%d", vs.Fwmark)
	case vs.Group != "":
		return "group/" + vs.Group + "/" + vs.EffectiveProtocol()
	default:
		return vs.EffectiveProtocol() + "/" + netip.AddrPortFrom(vs.Address, uint16(vs.Port)).String()
	}
}

// EffectiveProtocol is the protocol with the default applied.
func (vs *VirtualServer) EffectiveProtocol() string { return orDefault(vs.Protocol, DefaultProtocol) }

// EffectiveScheduler is the scheduler with the default applied.
func (vs *VirtualServer) EffectiveScheduler() string {
	return orDefault(vs.Scheduler, DefaultScheduler)
}

// EffectiveMethod is the default forwarding method with its default applied.
func (vs *VirtualServer) EffectiveMethod() string {
	return orDefault(vs.ForwardingMethod, DefaultForwardingMethod)
}

// IsIPv6 reports the service's address family.
func (vs *VirtualServer) IsIPv6() bool {
	if vs.Fwmark != 0 || vs.Group != "" {
		return vs.Family == "inet6"
	}
	return vs.Address.Is6()
}

// MethodOf is the forwarding method of one of the virtual server's real servers.
func (vs *VirtualServer) MethodOf(rs *RealServer) string {
	return orDefault(rs.ForwardingMethod, vs.EffectiveMethod())
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Validate checks one virtual server and its real servers; p is where it sits.
func (vs *VirtualServer) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	vs.validate(&errs, p)
	return errs.err()
}

func (vs *VirtualServer) validate(errs *Errors, p loc) {
	ids := 0
	if vs.Address.IsValid() {
		ids++
	}
	if vs.Fwmark != 0 {
		ids++
	}
	if vs.Group != "" {
		ids++
	}
	switch {
	case ids == 0:
		errs.add(p.At("address"), "set address and port, fwmark, or group to identify the service")
	case ids > 1:
		errs.add(p.At("fwmark"), "address, fwmark and group are exclusive; a service is identified by exactly one of them")
	}
	checkEnum(errs, p.At("protocol"), vs.Protocol, Protocols)
	switch {
	case vs.Address.IsValid():
		if vs.Address.Zone() != "" {
			errs.add(p.At("address"), "%s has a zone; IPVS services take plain addresses", quoteAddr(vs.Address))
		}
		checkRange(errs, p.At("port"), vs.Port, 0, 65535)
		if vs.Port == 0 && vs.PersistenceTimeout == 0 {
			errs.add(p.At("port"), "port 0 (all ports) needs persistence_timeout; IPVS only accepts it for persistent services")
		}
		if vs.Family != "" {
			errs.add(p.At("family"), "is derived from the address; set it only for fwmark and group services")
		}
	case vs.Fwmark != 0 || vs.Group != "":
		if vs.Port != 0 {
			errs.add(p.At("port"), "is set by the group members or not at all for fwmark services; remove it")
		}
		checkEnum(errs, p.At("family"), vs.Family, AddressFamilies)
	}
	if vs.Fwmark != 0 && vs.Protocol != "" {
		errs.add(p.At("protocol"), "does not apply to a fwmark service; the mark selects the packets")
	}
	if vs.Group != "" {
		checkName(errs, p.At("group"), vs.Group)
	}
	vs.validateFwmarkMatches(errs, p)
	checkEnum(errs, p.At("scheduler"), vs.Scheduler, Schedulers)
	sched := vs.EffectiveScheduler()
	if (vs.SchedulerPort || vs.SchedulerFallback) && sched != "sh" && sched != "mh" {
		errs.add(p.At("scheduler"), "%s has no port or fallback flags; scheduler_port and scheduler_fallback need \"sh\" or \"mh\"", quote(sched))
	}
	if vs.OnePacket && vs.EffectiveProtocol() != "udp" && vs.Fwmark == 0 {
		errs.add(p.At("one_packet"), "one-packet scheduling applies to udp services only, this one is %s", short(vs.EffectiveProtocol()))
	}
	checkRange(errs, p.At("persistence_timeout"), vs.PersistenceTimeout, 0, MaxPersistenceTimeout)
	maxPrefix := 32
	if vs.IsIPv6() {
		maxPrefix = 128
	}
	checkRange(errs, p.At("persistence_granularity"), vs.PersistenceGranularity, 0, maxPrefix)
	if vs.PersistenceGranularity != 0 && vs.PersistenceTimeout == 0 {
		errs.add(p.At("persistence_granularity"), "needs persistence_timeout")
	}
	checkEnum(errs, p.At("forwarding_method"), vs.ForwardingMethod, ForwardingMethods)
	checkTunnel(errs, p, vs.EffectiveMethod(), vs.TunnelType, vs.TunnelPort)
	if s := vs.SorryServer; s != nil {
		sp := p.At("sorry_server")
		switch {
		case !s.Address.IsValid():
			errs.add(sp.At("address"), "must be an IP address")
		case s.Address.Zone() != "":
			checkNoZone(errs, sp.At("address"), s.Address)
		case s.Address.Is6() != vs.IsIPv6():
			errs.add(sp.At("address"), "%s is of another address family than the virtual server", quoteAddr(s.Address))
		}
		checkRange(errs, sp.At("port"), s.Port, 0, 65535)
		checkEnum(errs, sp.At("forwarding_method"), s.ForwardingMethod, ForwardingMethods)
		if m := orDefault(s.ForwardingMethod, vs.EffectiveMethod()); m != "nat" && s.Port != 0 && vs.Port != 0 && s.Port != vs.Port {
			errs.add(sp.At("port"), "%d differs from the virtual port %d; %s does not map ports, so leave port unset or equal", s.Port, vs.Port, short(m))
		}
	}
	checkRange(errs, p.At("delay_loop"), vs.DelayLoop, 0, 86400)
	checkRange(errs, p.At("retry"), vs.Retry, 0, 1000)
	checkRange(errs, p.At("delay_before_retry"), vs.DelayBeforeRetry, 0, 86400)
	checkRange(errs, p.At("connect_timeout"), vs.ConnectTimeout, 0, MaxCheckTimeout)
	checkHostname(errs, p.At("virtualhost"), vs.VirtualHost)
	checkRange(errs, p.At("quorum"), vs.Quorum, 0, 1<<30)
	checkRange(errs, p.At("hysteresis"), vs.Hysteresis, 0, 1<<30)
	if vs.Hysteresis > 0 && vs.Hysteresis >= vs.Quorum {
		errs.add(p.At("hysteresis"), "%d must be below quorum (%d)", vs.Hysteresis, vs.Quorum)
	}
	checkText(errs, p.At("quorum_up"), vs.QuorumUp)
	checkText(errs, p.At("quorum_down"), vs.QuorumDown)

	// A destination twice: the few real servers a service usually has are
	// compared with each other (no allocation); from 16 on, a map.
	keyOf := func(rs *RealServer) netip.AddrPort {
		return netip.AddrPortFrom(rs.Address, uint16(rs.EffectivePort(vs)))
	}
	var seen map[netip.AddrPort]int
	if len(vs.RealServers) >= 16 {
		seen = make(map[netip.AddrPort]int, len(vs.RealServers))
	}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		rp := p.At("real_server", i)
		rs.validate(errs, rp, vs)
		if !rs.Address.IsValid() {
			continue
		}
		key := keyOf(rs)
		j, dup := -1, false
		if seen != nil {
			if j, dup = seen[key]; !dup {
				seen[key] = i
			}
		} else {
			for k := range i {
				if vs.RealServers[k].Address.IsValid() && keyOf(&vs.RealServers[k]) == key {
					j, dup = k, true
					break
				}
			}
		}
		if dup {
			errs.add(rp.At("address"), "%s is already real_server[%d] of this virtual server", quoteAddrPort(key), j)
		}
	}
}

func checkTunnel(errs *Errors, p loc, method, tunType string, tunPort int) {
	checkEnum(errs, p.At("tunnel_type"), tunType, TunnelTypes)
	if tunType != "" && method != "tun" {
		errs.add(p.At("tunnel_type"), "applies to forwarding_method \"tun\" only, not %s", quote(method))
	}
	checkRange(errs, p.At("tunnel_port"), tunPort, 0, 65535)
	switch {
	case tunType == "gue" && tunPort == 0:
		errs.add(p.At("tunnel_port"), "must be set for tunnel_type \"gue\" (the UDP port of the GUE receiver)")
	case tunType != "gue" && tunPort != 0:
		errs.add(p.At("tunnel_port"), "applies to tunnel_type \"gue\" only")
	}
}

func (g *VirtualServerGroup) validate(errs *Errors, p loc) {
	checkName(errs, p.At("name"), g.Name)
	if len(g.Members) == 0 {
		errs.add(p.At("member"), "a group needs at least one member")
	}
	for i, m := range g.Members {
		mp := p.At("member", i)
		switch {
		case m.Fwmark != 0 && m.Address.IsValid():
			errs.add(mp.At("fwmark"), "a member is an address with port or a fwmark, not both")
		case m.Fwmark != 0:
			if m.Port != 0 || m.RangeEnd != 0 {
				errs.add(mp.At("port"), "port and range_end do not apply to a fwmark member")
			}
		case !m.Address.IsValid():
			errs.add(mp.At("address"), "set an address with port, or a fwmark")
		default:
			checkNoZone(errs, mp.At("address"), m.Address)
			checkRange(errs, mp.At("port"), m.Port, 0, 65535)
			if m.RangeEnd != 0 {
				last, maxEnd := lastPart(m.Address)
				if m.RangeEnd <= last || m.RangeEnd > maxEnd {
					errs.add(mp.At("range_end"), "%d must be above the address's last part (%d) and at most %d", m.RangeEnd, last, maxEnd)
				}
			}
		}
	}
}

// lastPart returns the last octet of an IPv4 address or the last 16-bit
// group of an IPv6 one, and the largest value it can take.
func lastPart(a netip.Addr) (last, maxEnd int) {
	b := a.AsSlice()
	if a.Is4() {
		return int(b[3]), 255
	}
	return int(b[14])<<8 | int(b[15]), 65535
}
