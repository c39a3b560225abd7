package hostaddr

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// dumpTries bounds the retries of a netlink dump the kernel interrupted
// (the table changed while it was read): a partial list must never pass
// for the whole, where a missing route reads as removed.
const dumpTries = 5

func family(v6 bool) int {
	if v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

// Routes lists the kernel's routes of the family of v6 in every table, as
// the model's routes: destination, type, source, gateway or paths,
// device, scope, table (254 for main) and metric. Routes of types the
// model has no name for (local, broadcast, ...) have Type "kernel-type-N".
func (m *Manager) Routes(v6 bool) ([]model.Route, error) {
	var list []netlink.Route
	var err error
	for range dumpTries {
		list, err = m.h.RouteListFiltered(family(v6), &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("hostaddr: listing routes: %w", err)
	}
	names := map[int]string{}
	name := func(index int) string {
		if index == 0 {
			return ""
		}
		if n, ok := names[index]; ok {
			return n
		}
		n := fmt.Sprintf("if%d", index)
		if l, err := m.h.LinkByIndex(index); err == nil {
			n = l.Attrs().Name
		}
		names[index] = n
		return n
	}
	out := make([]model.Route, 0, len(list))
	for _, r := range list {
		mr := model.Route{
			To: destOf(r.Dst, v6), Type: routeTypeName(r.Type), Src: addrOf(r.Src), Via: addrOf(r.Gw),
			Device: name(r.LinkIndex), Scope: scopeName(r.Scope), Table: uint32(r.Table), Metric: uint32(r.Priority),
		}
		for _, nh := range r.MultiPath {
			mr.Nexthops = append(mr.Nexthops, model.Nexthop{Via: addrOf(nh.Gw), Device: name(nh.LinkIndex), Weight: nh.Hops + 1})
		}
		out = append(out, mr)
	}
	return out, nil
}

// Rules lists the kernel's policy routing rules of the family of v6 that
// look a table up, as the model's rules (inverted ones left out). A rule that selects all sources has From set to the
// family's /0, so that the family shows.
func (m *Manager) Rules(v6 bool) ([]model.Rule, error) {
	var list []netlink.Rule
	var err error
	for range dumpTries {
		list, err = m.h.RuleListFiltered(family(v6), nil, 0)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("hostaddr: listing rules: %w", err)
	}
	out := make([]model.Rule, 0, len(list))
	for _, r := range list {
		if r.Invert || (r.Type != 0 && r.Type != unix.FR_ACT_TO_TBL) || r.Goto > 0 {
			// "not ..." rules and rules that do not look a table up
			// (goto, blackhole, ...) are none keepalived installs.
			continue
		}
		mr := model.Rule{
			From: destOf(r.Src, v6), FwMark: r.Mark, InputInterface: r.IifName, OutputInterface: r.OifName,
			Table: uint32(r.Table), Priority: uint32(r.Priority),
		}
		if r.Dst != nil {
			mr.To = destOf(r.Dst, v6)
		}
		if r.Mask != nil {
			mr.FwMask = *r.Mask
		}
		out = append(out, mr)
	}
	return out, nil
}

// AddRoute installs r as keepalived does (protocol keepalived), replacing
// a route at its place (same destination, table and metric), such as one
// changed by hand.
func (m *Manager) AddRoute(r model.Route) error {
	nr, err := m.netlinkRoute(r)
	if err != nil {
		return err
	}
	if err := m.h.RouteReplace(nr); err != nil {
		return fmt.Errorf("hostaddr: adding route %s: %w", r.To, err)
	}
	return nil
}

// DeleteRoute removes the route of protocol keepalived at r's place; none
// there is no error.
func (m *Manager) DeleteRoute(r model.Route) error {
	nr := &netlink.Route{Family: family(r.IsV6()), Dst: ipNet(r.To), Table: int(tableOf(r.Table)),
		Priority: int(r.Metric), Protocol: ProtoKeepalived}
	if t, ok := routeTypes[r.Type]; ok {
		nr.Type = t
	}
	err := m.h.RouteDel(nr)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("hostaddr: deleting route %s: %w", r.To, err)
	}
	return nil
}

// AddRule installs r as keepalived does (protocol keepalived); the same
// rule there already is no error.
func (m *Manager) AddRule(r model.Rule) error {
	err := m.h.RuleAdd(netlinkRule(r))
	if err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("hostaddr: adding rule priority %d table %d: %w", r.Priority, r.Table, err)
	}
	return nil
}

// DeleteRule removes r; a rule that is not there is no error.
func (m *Manager) DeleteRule(r model.Rule) error {
	err := m.h.RuleDel(netlinkRule(r))
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("hostaddr: deleting rule priority %d table %d: %w", r.Priority, r.Table, err)
	}
	return nil
}

func netlinkRule(r model.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = family(r.IsV6())
	nr.Priority = int(r.Priority)
	nr.Table = int(r.Table)
	nr.Protocol = ProtoKeepalived
	if r.From.IsValid() && r.From.Bits() > 0 {
		nr.Src = ipNet(r.From)
	}
	if r.To.IsValid() && r.To.Bits() > 0 {
		nr.Dst = ipNet(r.To)
	}
	if r.FwMark != 0 {
		nr.Mark = r.FwMark
		if r.FwMask != 0 {
			mask := r.FwMask
			nr.Mask = &mask
		}
	}
	nr.IifName, nr.OifName = r.InputInterface, r.OutputInterface
	return nr
}

func (m *Manager) netlinkRoute(r model.Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Family: family(r.IsV6()), Dst: ipNet(r.To), Table: int(tableOf(r.Table)), Priority: int(r.Metric),
		Protocol: ProtoKeepalived,
	}
	if r.Type != "" {
		t, ok := routeTypes[r.Type]
		if !ok {
			return nil, fmt.Errorf("hostaddr: route %s: unknown type %q", r.To, r.Type)
		}
		nr.Type = t
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	}
	if r.Device != "" {
		l, err := m.link(r.Device)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	if r.Scope != "" {
		s, ok := scopes[r.Scope]
		if !ok {
			return nil, fmt.Errorf("hostaddr: route %s: unknown scope %q", r.To, r.Scope)
		}
		nr.Scope = s
	} else if !r.Via.IsValid() && len(r.Nexthops) == 0 && r.Type == "" {
		nr.Scope = netlink.SCOPE_LINK // as ip route does for a route without a gateway
	}
	for _, nh := range r.Nexthops {
		info := &netlink.NexthopInfo{Hops: max(nh.Weight, 1) - 1}
		if nh.Via.IsValid() {
			info.Gw = nh.Via.AsSlice()
		}
		if nh.Device != "" {
			l, err := m.link(nh.Device)
			if err != nil {
				return nil, err
			}
			info.LinkIndex = l.Attrs().Index
		}
		nr.MultiPath = append(nr.MultiPath, info)
	}
	return nr, nil
}

func tableOf(t uint32) uint32 {
	if t == 0 {
		return model.MainTable
	}
	return t
}

var routeTypes = map[string]int{
	"":            unix.RTN_UNICAST,
	"blackhole":   unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE,
	"prohibit":    unix.RTN_PROHIBIT,
}

func routeTypeName(t int) string {
	for name, v := range routeTypes {
		if v == t {
			return name
		}
	}
	return fmt.Sprintf("kernel-type-%d", t)
}

var scopes = map[string]netlink.Scope{
	"global":  netlink.SCOPE_UNIVERSE,
	"site":    netlink.SCOPE_SITE,
	"link":    netlink.SCOPE_LINK,
	"host":    netlink.SCOPE_HOST,
	"nowhere": netlink.SCOPE_NOWHERE,
}

func scopeName(s netlink.Scope) string {
	for name, v := range scopes {
		if v == s {
			return name
		}
	}
	return fmt.Sprintf("scope-%d", s)
}

// destOf is a route's destination or a rule's selector; nil is the
// family's /0.
func destOf(n *net.IPNet, v6 bool) netip.Prefix {
	if p, ok := prefixOf(n); ok {
		return p
	}
	if v6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
