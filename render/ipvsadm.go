package render

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// IPVSRules renders the IPVS table a director's configuration programs, in
// the format of `ipvsadm-save -n` (accepted by `ipvsadm -R` and
// `ipvsadm-restore`, and read back by internal/ipvsadm).
//
// The configuration is validated first; its error (model.Errors) is
// returned as is. Services keep the model's order (ipvsadm-save sorts
// them; the order does not change the table), a group service becomes one
// service per member address (ranges expanded) and per member fwmark, and
// destinations keep the model's order. Sorry servers are left out: keepalived
// adds them only while every real server is down.
//
// The text carries no ManagedMarker line: `ipvsadm -R` does not skip
// comments (config_stream_read never detects the '#', so the line becomes
// arguments and ipvsadm exits with its usage message); only the
// ipvsadm-restore wrapper filters `^#` lines, and it flushes the whole
// table first. The one departure from ipvsadm-save's text is that
// destination thresholds are written (-x, -y) when set: ipvsadm-save never
// prints them, so without them a restore would lose them.
func IPVSRules(cfg *model.KeepalivedConfig) (string, error) {
	if cfg == nil {
		return "", errors.New("render: ipvsadm rules: no configuration given")
	}
	if err := cfg.Validate(nil); err != nil {
		return "", err
	}
	services := ipvsView(cfg)
	if len(services) == 0 {
		return "", nil // ipvsadm-save of an empty table prints nothing
	}
	return execute("ipvsadm.rules", pongo2.Context{"services": services})
}

// ipvsService is one -A line with its -a lines.
type ipvsService struct {
	ID      string // the service as ipvsadm names it: -t 10.0.0.10:80, -f 7 -6
	Options string // -s wlc -p 300 …
	Dests   []ipvsDest
}

// ipvsDest is one -a line: the real server and its options.
type ipvsDest struct {
	Server  string // 10.0.0.21:80, [2001:db8::21]:80
	Options string // -m -w 1 …
}

// ipvsID identifies one kernel service; a group yields several.
type ipvsID struct {
	proto  string
	addr   netip.AddrPort
	fwmark uint32
	v6     bool
}

// String names the service the way print_service_entry does with FMT_RULE.
func (id ipvsID) String() string {
	switch {
	case id.fwmark != 0 && id.v6:
		return fmt.Sprintf("-f %d -6", id.fwmark)
	case id.fwmark != 0:
		return fmt.Sprintf("-f %d", id.fwmark)
	}
	opt := map[string]string{"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}[id.proto]
	return opt + " " + id.addr.String()
}

func ipvsView(cfg *model.KeepalivedConfig) []ipvsService {
	var out []ipvsService
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for _, id := range serviceIDs(cfg, vs) {
			out = append(out, ipvsServiceView(vs, id))
		}
	}
	return out
}

// serviceIDs lists the kernel services a virtual server stands for.
func serviceIDs(cfg *model.KeepalivedConfig, vs *model.VirtualServer) []ipvsID {
	proto := vs.EffectiveProtocol()
	switch {
	case vs.Fwmark != 0:
		return []ipvsID{{fwmark: vs.Fwmark, v6: vs.IsIPv6()}}
	case vs.Group == "":
		return []ipvsID{{proto: proto, addr: netip.AddrPortFrom(vs.Address, uint16(vs.Port)), v6: vs.IsIPv6()}}
	}
	var ids []ipvsID
	for _, g := range cfg.Groups {
		if g.Name != vs.Group {
			continue
		}
		for _, m := range g.Members {
			if m.Fwmark != 0 {
				ids = append(ids, ipvsID{fwmark: m.Fwmark, v6: vs.IsIPv6()})
				continue
			}
			for _, a := range memberAddrs(m) {
				ids = append(ids, ipvsID{proto: proto, addr: netip.AddrPortFrom(a, uint16(m.Port)), v6: a.Is6()})
			}
		}
	}
	return ids
}

// memberAddrs expands a group member's address range: from Address up to
// RangeEnd in the last octet (IPv4) or last 16-bit group (IPv6).
func memberAddrs(m model.VSGroupMember) []netip.Addr {
	out := []netip.Addr{m.Address}
	if m.RangeEnd == 0 {
		return out
	}
	for a := m.Address; rangePart(a) < m.RangeEnd; {
		a = a.Next()
		out = append(out, a)
	}
	return out
}

func rangePart(a netip.Addr) int {
	b := a.AsSlice()
	if a.Is4() {
		return int(b[3])
	}
	return int(b[14])<<8 | int(b[15])
}

func ipvsServiceView(vs *model.VirtualServer, id ipvsID) ipvsService {
	sched := vs.EffectiveScheduler()
	opts := []string{"-s", sched}
	if vs.PersistenceTimeout > 0 {
		opts = append(opts, "-p", fmt.Sprint(vs.PersistenceTimeout))
		if m := persistenceMask(vs.PersistenceGranularity, id.v6); m != "" {
			opts = append(opts, "-M", m)
		}
	}
	if vs.OnePacket {
		opts = append(opts, "-o")
	}
	var flags []string
	if vs.SchedulerFallback {
		flags = append(flags, sched+"-fallback")
	}
	if vs.SchedulerPort {
		flags = append(flags, sched+"-port")
	}
	if len(flags) > 0 {
		opts = append(opts, "-b", strings.Join(flags, ","))
	}
	s := ipvsService{ID: id.String(), Options: strings.Join(opts, " ")}
	for i := range vs.RealServers {
		s.Dests = append(s.Dests, ipvsDestView(vs, &vs.RealServers[i], id))
	}
	return s
}

// persistenceMask is -M's argument, or "" for the single-address default
// that ipvsadm does not print: a dotted netmask for IPv4, a prefix length
// for IPv6.
func persistenceMask(prefix int, v6 bool) string {
	switch {
	case v6 && prefix != 0 && prefix != 128:
		return fmt.Sprint(prefix)
	case !v6 && prefix != 0 && prefix != 32:
		m := ^uint32(0) << (32 - prefix)
		return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
	}
	return ""
}

// ipvsSwitch is the forwarding switch ipvsadm prints for each method.
var ipvsSwitch = map[string]string{"nat": "-m", "dr": "-g", "tun": "-i"}

func ipvsDestView(vs *model.VirtualServer, rs *model.RealServer, id ipvsID) ipvsDest {
	method := vs.MethodOf(rs)
	port := rs.Port
	if id.fwmark == 0 && (method != "nat" || port == 0) {
		// ipvsadm copies the virtual port to a destination without one,
		// and the kernel forces it for dr and tun.
		port = int(id.addr.Port())
	}
	opts := []string{ipvsSwitch[method], "-w", fmt.Sprint(rs.EffectiveWeight())}
	if method == "tun" {
		// print_tunnel_rule: the type always, GUE's port, and the checksum
		// option (nocsum, the only one modelled) for GUE and GRE.
		tunType, tunPort := ipvsTunnel(vs, rs)
		opts = append(opts, "--tun-type", tunType)
		if tunType == "gue" {
			opts = append(opts, "--tun-port", fmt.Sprint(tunPort))
		}
		if tunType != "ipip" {
			opts = append(opts, "--tun-nocsum")
		}
	}
	if rs.UpperThreshold > 0 {
		opts = append(opts, "-x", fmt.Sprint(rs.UpperThreshold))
	}
	if rs.LowerThreshold > 0 {
		opts = append(opts, "-y", fmt.Sprint(rs.LowerThreshold))
	}
	return ipvsDest{
		Server:  netip.AddrPortFrom(rs.Address, uint16(port)).String(),
		Options: strings.Join(opts, " "),
	}
}

// ipvsTunnel is a tunnelled real server's encapsulation: its own, else the
// virtual server's, else ipip.
func ipvsTunnel(vs *model.VirtualServer, rs *model.RealServer) (string, int) {
	switch {
	case rs.TunnelType != "":
		return rs.TunnelType, rs.TunnelPort
	case vs.TunnelType != "":
		return vs.TunnelType, vs.TunnelPort
	}
	return model.DefaultTunnelType, 0
}
