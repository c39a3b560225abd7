package ipvs

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Kernel names of the model's enumerations, both ways.
var (
	protocols = map[string]ipvs.Protocol{"tcp": ipvs.TCP, "udp": ipvs.UDP, "sctp": ipvs.SCTP}
	methods   = map[string]ipvs.ForwardType{"nat": ipvs.Masquerade, "dr": ipvs.DirectRoute, "tun": ipvs.Tunnel}
	tunnels   = map[string]ipvs.TunnelType{"ipip": ipvs.IPIP, "gue": ipvs.GUE, "gre": ipvs.GRE}
)

// The sh and mh schedulers' flags share the kernel's generic scheduler
// bits (IP_VS_SVC_F_SCHED_SH_FALLBACK = SCHED1, _SH_PORT = SCHED2, and the
// same for mh).
const (
	flagFallback = ipvs.ServiceSchedulerOpt1
	flagPort     = ipvs.ServiceSchedulerOpt2
)

// ErrNotConvertible marks a model value the kernel table cannot hold as
// one service, such as a keepalived virtual_server_group.
var ErrNotConvertible = errors.New("cannot be programmed over netlink")

// ServiceOf converts a virtual server to the kernel service it programs.
// The model should be valid; a group service is refused (ErrNotConvertible):
// groups are a keepalived feature.
func ServiceOf(vs *model.VirtualServer) (ipvs.Service, error) {
	if vs.Group != "" {
		return ipvs.Service{}, fmt.Errorf("ipvs: virtual server %s: a virtual_server_group %w; let keepalived own it", vs.Key(), ErrNotConvertible)
	}
	s := ipvs.Service{Family: family(vs.IsIPv6()), Scheduler: vs.EffectiveScheduler()}
	if vs.Fwmark != 0 {
		s.FWMark = vs.Fwmark
	} else {
		proto, ok := protocols[vs.EffectiveProtocol()]
		if !ok || !vs.Address.IsValid() {
			return ipvs.Service{}, fmt.Errorf("ipvs: virtual server %s: protocol %q and address %s %w", vs.Key(), vs.Protocol, vs.Address, ErrNotConvertible)
		}
		s.Address, s.Port, s.Protocol = vs.Address, uint16(vs.Port), proto
	}
	if vs.PersistenceTimeout > 0 {
		s.Flags |= ipvs.ServicePersistent
		s.Timeout = uint32(vs.PersistenceTimeout)
	}
	s.Netmask = persistenceMask(vs.PersistenceGranularity, vs.IsIPv6())
	if vs.OnePacket {
		s.Flags |= ipvs.ServiceOnePacket
	}
	if vs.SchedulerFallback {
		s.Flags |= flagFallback
	}
	if vs.SchedulerPort {
		s.Flags |= flagPort
	}
	return s, nil
}

// persistenceMask is the netmask the kernel requires on every service:
// the persistence granularity, or a single address (/32, /128) for zero.
func persistenceMask(prefix int, v6 bool) netmask.Mask {
	bits := 32
	if v6 {
		bits = 128
	}
	if prefix == 0 {
		prefix = bits
	}
	return netmask.MaskFrom(prefix, bits)
}

func family(v6 bool) ipvs.AddressFamily {
	if v6 {
		return ipvs.INET6
	}
	return ipvs.INET
}

// DestinationOf converts a real server of vs to its kernel destination.
// Like ipvsadm, a destination without a port takes the virtual port, and
// dr and tun always do (they cannot map ports); fwmark services have no
// virtual port.
func DestinationOf(vs *model.VirtualServer, rs *model.RealServer) ipvs.Destination {
	method := vs.MethodOf(rs)
	port := rs.Port
	if vs.Fwmark == 0 && (method != "nat" || port == 0) {
		port = vs.Port
	}
	d := ipvs.Destination{
		Address:        rs.Address,
		Port:           uint16(port),
		Family:         family(rs.Address.Is6()),
		FwdMethod:      methods[method],
		Weight:         uint32(rs.EffectiveWeight()),
		UpperThreshold: uint32(rs.UpperThreshold),
		LowerThreshold: uint32(rs.LowerThreshold),
	}
	if method == "tun" {
		tunType, tunPort := rs.TunnelType, rs.TunnelPort
		if rs.ForwardingMethod == "" {
			tunType, tunPort = vs.TunnelType, vs.TunnelPort
		}
		if tunType == "" {
			tunType = model.DefaultTunnelType
		}
		d.TunnelType, d.TunnelPort = tunnels[tunType], uint16(tunPort)
	}
	return d
}

// ServiceKey names a kernel service the way model.VirtualServer.Key names
// the virtual server that programs it: tcp/10.0.0.10:80, fwmark/7.
func ServiceKey(s ipvs.Service) string {
	switch {
	case s.FWMark != 0 && s.Family == ipvs.INET6:
		return fmt.Sprintf("fwmark6/%d", s.FWMark)
	case s.FWMark != 0:
		return fmt.Sprintf("fwmark/%d", s.FWMark)
	}
	return protocolName(s.Protocol) + "/" + netip.AddrPortFrom(s.Address, s.Port).String()
}

// DestinationKey names a destination within its service: 10.0.0.21:80.
func DestinationKey(d ipvs.Destination) string {
	return netip.AddrPortFrom(d.Address, d.Port).String()
}

func protocolName(p ipvs.Protocol) string {
	for name, v := range protocols {
		if v == p {
			return name
		}
	}
	return fmt.Sprintf("proto%d", p)
}

// VirtualServerOf converts a kernel service and its destinations back to
// the model, in the form internal/ipvsadm's parser gives: protocol,
// scheduler, weights and the fwmark family explicit, granularity zero for
// a single address, and the forwarding method on the virtual server when
// all destinations share it, else on each real server.
func VirtualServerOf(s ipvs.Service, dests []ipvs.Destination) model.VirtualServer {
	vs := model.VirtualServer{Scheduler: s.Scheduler}
	v6 := s.Family == ipvs.INET6
	if s.FWMark != 0 {
		vs.Fwmark, vs.Family = s.FWMark, "inet"
		if v6 {
			vs.Family = "inet6"
		}
	} else {
		vs.Address, vs.Port, vs.Protocol = s.Address, int(s.Port), protocolName(s.Protocol)
	}
	if s.Flags&ipvs.ServicePersistent != 0 {
		vs.PersistenceTimeout = int(s.Timeout)
		if b := s.Netmask.Bits(); b > 0 && b != persistenceMask(0, v6).Bits() {
			vs.PersistenceGranularity = b
		}
	}
	vs.OnePacket = s.Flags&ipvs.ServiceOnePacket != 0
	if s.Scheduler == "sh" || s.Scheduler == "mh" {
		vs.SchedulerFallback = s.Flags&flagFallback != 0
		vs.SchedulerPort = s.Flags&flagPort != 0
	}
	shared := len(dests) > 0
	for _, d := range dests {
		if tunnelOf(d) != tunnelOf(dests[0]) {
			shared = false
		}
	}
	for _, d := range dests {
		rs := realServerOf(d)
		if shared {
			rs.ForwardingMethod, rs.TunnelType, rs.TunnelPort = "", "", 0
		}
		vs.RealServers = append(vs.RealServers, rs)
	}
	if shared {
		t := tunnelOf(dests[0])
		vs.ForwardingMethod, vs.TunnelType, vs.TunnelPort = t.method, t.tunType, t.tunPort
	}
	return vs
}

// forwarding is a destination's method with its tunnel settings.
type forwarding struct {
	method, tunType string
	tunPort         int
}

func tunnelOf(d ipvs.Destination) forwarding {
	f := forwarding{method: methodName(d.FwdMethod)}
	if f.method == "tun" {
		f.tunType = tunnelName(d.TunnelType)
		if d.TunnelType == ipvs.GUE {
			f.tunPort = int(d.TunnelPort)
		}
	}
	return f
}

func realServerOf(d ipvs.Destination) model.RealServer {
	w := int(d.Weight)
	f := tunnelOf(d)
	return model.RealServer{
		Address:          d.Address,
		Port:             int(d.Port),
		Weight:           &w,
		ForwardingMethod: f.method,
		TunnelType:       f.tunType,
		TunnelPort:       f.tunPort,
		UpperThreshold:   int(d.UpperThreshold),
		LowerThreshold:   int(d.LowerThreshold),
	}
}

func methodName(m ipvs.ForwardType) string {
	for name, v := range methods {
		if v == m {
			return name
		}
	}
	return m.String() // Local or Bypass: not something we program
}

func tunnelName(t ipvs.TunnelType) string {
	for name, v := range tunnels {
		if v == t {
			return name
		}
	}
	return t.String()
}
