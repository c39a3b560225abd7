package ipvsadm

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// ListHeader is the column header `ipvsadm -Ln` prints under its version
// line (print_title of ipvsadm 1.31, default format).
const ListHeader = "Prot LocalAddress:Port Scheduler Flags\n" +
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"

// List formats an observed IPVS table the way `ipvsadm -Ln` prints it,
// from its column header on (the version line above it names the kernel's
// IPVS version and hash table size, which an observation does not carry):
//
//	Prot LocalAddress:Port Scheduler Flags
//	  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
//	TCP  10.0.0.10:80 wlc persistent 300 mask 255.255.255.0
//	  -> 192.168.1.10:80              Masq    1      12         40
//	FWM  7 sh (sh-fallback,sh-port)
//	  -> 192.168.1.11:0               Route   1      0          0
//
// As ipvsadm does by default, services are sorted by fwmark (address
// services first), family, protocol, address and port, and destinations by
// address and port; each line is padded exactly as ipvsadm pads it
// (print_service_entry), trailing spaces included, so the text can be
// diffed against the real command's. Only what the kernel holds is listed:
// a real server a health check took out of the table is not there, as it
// is not in ipvsadm's.
func List(services []wire.IPVSService) string {
	var b strings.Builder
	b.WriteString(ListHeader)
	sorted := slices.Clone(services)
	slices.SortStableFunc(sorted, func(x, y wire.IPVSService) int { return compareServices(&x.Service, &y.Service) })
	for i := range sorted {
		listService(&b, &sorted[i])
	}
	return b.String()
}

func listService(b *strings.Builder, s *wire.IPVSService) {
	vs := &s.Service
	b.WriteString(serviceName(vs))
	b.WriteString(" " + vs.EffectiveScheduler())
	if f := listSchedFlags(vs); f != "" {
		b.WriteString(" (" + f + ")")
	}
	if vs.PersistenceTimeout > 0 {
		fmt.Fprintf(b, " persistent %d", vs.PersistenceTimeout)
		if g := vs.PersistenceGranularity; g > 0 {
			switch {
			case !vs.IsIPv6() && g < 32:
				fmt.Fprintf(b, " mask %s", maskText(g))
			case vs.IsIPv6() && g < 128:
				fmt.Fprintf(b, " mask %d", g)
			}
		}
	}
	if vs.OnePacket {
		b.WriteString(" ops")
	}
	b.WriteString("\n")

	// The forwarding method of each destination, from the service the
	// kernel table converts to.
	methods := map[string]string{}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		methods[rs.Key(vs)] = vs.MethodOf(rs)
	}
	dests := slices.Clone(s.Destinations)
	slices.SortStableFunc(dests, func(x, y wire.IPVSDestination) int {
		px, ex := netip.ParseAddrPort(x.Key)
		py, ey := netip.ParseAddrPort(y.Key)
		if ex != nil || ey != nil {
			return strings.Compare(x.Key, y.Key)
		}
		return px.Compare(py)
	})
	for _, d := range dests {
		fmt.Fprintf(b, "  -> %-28s %-7s %-6d %-10d %-10d\n",
			d.Key, forwardName(methods[d.Key]), d.Weight, d.ActiveConns, d.InactiveConns)
	}
}

// serviceName is the service column: "TCP  10.0.0.10:80",
// "UDP  [2001:db8::1]:53", "SCTP 10.0.0.10:5000", "FWM  7", "FWM  7 IPv6".
func serviceName(vs *model.VirtualServer) string {
	if vs.Fwmark != 0 {
		if vs.Family == "inet6" {
			return fmt.Sprintf("FWM  %d IPv6", vs.Fwmark)
		}
		return fmt.Sprintf("FWM  %d", vs.Fwmark)
	}
	// The protocol padded to four columns: "TCP  ", "SCTP ".
	return fmt.Sprintf("%-4s %s", strings.ToUpper(vs.EffectiveProtocol()),
		netip.AddrPortFrom(vs.Address, uint16(vs.Port)).String())
}

// listSchedFlags is the flags ipvsadm prints in brackets after the scheduler
// (print_sched_flags): the sh and mh schedulers' fallback and port.
func listSchedFlags(vs *model.VirtualServer) string {
	s := vs.EffectiveScheduler()
	if s != "sh" && s != "mh" {
		return ""
	}
	var f []string
	if vs.SchedulerFallback {
		f = append(f, s+"-fallback")
	}
	if vs.SchedulerPort {
		f = append(f, s+"-port")
	}
	return strings.Join(f, ",")
}

// maskText is an IPv4 prefix length as the dotted netmask ipvsadm prints.
func maskText(bits int) string {
	m := uint32(0xffffffff) << (32 - bits)
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// forwardName is the Forward column (fwd_name): the kernel's name of a
// forwarding method.
func forwardName(method string) string {
	switch method {
	case "nat":
		return "Masq"
	case "dr":
		return "Route"
	case "tun":
		return "Tunnel"
	case "":
		return "Masq" // a destination the service does not list: IPVS's default
	default:
		// Local and Bypass, which the model does not program, come through
		// under the kernel's own names.
		return method
	}
}

// protocolNumbers orders services as ipvsadm does, by IP protocol number.
var protocolNumbers = map[string]int{"tcp": 6, "udp": 17, "sctp": 132}

// compareServices is ipvs_cmp_services: fwmark, family, protocol, address,
// port.
func compareServices(x, y *model.VirtualServer) int {
	family := func(vs *model.VirtualServer) int {
		if vs.IsIPv6() {
			return 10 // AF_INET6
		}
		return 2 // AF_INET
	}
	proto := func(vs *model.VirtualServer) int {
		if vs.Fwmark != 0 {
			return 0
		}
		return protocolNumbers[vs.EffectiveProtocol()]
	}
	return cmp.Or(
		cmp.Compare(x.Fwmark, y.Fwmark),
		cmp.Compare(family(x), family(y)),
		cmp.Compare(proto(x), proto(y)),
		x.Address.Compare(y.Address),
		cmp.Compare(x.Port, y.Port),
	)
}
