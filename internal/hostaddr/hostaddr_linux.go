package hostaddr

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Manager changes the addresses and routes of one network namespace.
type Manager struct {
	h *netlink.Handle
}

// Open returns a Manager of the caller's network namespace. It opens
// rtnetlink only: netlink.NewHandle without families also opens XFRM and
// netfilter sockets, and fails with "protocol not supported" on a kernel
// without xfrm_user (the lab VM's, minimal and container kernels).
func Open() (*Manager, error) {
	h, err := netlink.NewHandle(syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("hostaddr: opening netlink: %w", err)
	}
	return &Manager{h: h}, nil
}

// OpenNetns returns a Manager of the network namespace at path, such as
// /run/netns/NAME or /proc/PID/ns/net.
func OpenNetns(path string) (*Manager, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("hostaddr: opening network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("hostaddr: opening netlink in %s: %w", path, err)
	}
	return &Manager{h: h}, nil
}

// Close releases the netlink sockets.
func (m *Manager) Close() error {
	m.h.Close()
	return nil
}

func (m *Manager) link(dev string) (netlink.Link, error) {
	l, err := m.h.LinkByName(linkName(dev))
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("hostaddr: device %s: %w", linkName(dev), ErrNoDevice)
	}
	if err != nil {
		return nil, fmt.Errorf("hostaddr: device %s: %w", linkName(dev), err)
	}
	return l, nil
}

// List returns the addresses on dev, IPv4 and IPv6; for a labelled name
// (eth0:1), only those carrying that label.
func (m *Manager) List(dev string) ([]netip.Prefix, error) {
	l, err := m.link(dev)
	if err != nil {
		return nil, err
	}
	addrs, err := m.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("hostaddr: listing addresses of %s: %w", dev, err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if dev != linkName(dev) && a.Label != dev {
			continue
		}
		if p, ok := prefixOf(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Scopes maps each IPv4 address on dev, as List gives it, to the name of
// its scope. IPv6 addresses are left out: their scope is the address's own.
func (m *Manager) Scopes(dev string) (map[netip.Prefix]string, error) {
	l, err := m.link(dev)
	if err != nil {
		return nil, err
	}
	addrs, err := m.h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("hostaddr: listing addresses of %s: %w", dev, err)
	}
	out := map[netip.Prefix]string{}
	for _, a := range addrs {
		if dev != linkName(dev) && a.Label != dev {
			continue
		}
		if p, ok := prefixOf(a.IPNet); ok {
			out[p] = scopeName(netlink.Scope(a.Scope))
		}
	}
	return out, nil
}

// Ensure puts prefix on dev unless it is there already; it reports whether
// it added it.
func (m *Manager) Ensure(dev string, prefix netip.Prefix) (bool, error) {
	return m.EnsureScope(dev, prefix, "")
}

// EnsureScope is Ensure with the address held at scope, one of
// model.AddressScopes ("" leaves the scope of an address already there,
// and adds one at the kernel's default). An IPv4 address on dev at
// another scope is taken off and put back at scope: the kernel does not
// change the scope of an address in place.
func (m *Manager) EnsureScope(dev string, prefix netip.Prefix, scope string) (bool, error) {
	want, named := scopes[scope]
	if scope != "" && !named {
		return false, fmt.Errorf("hostaddr: adding %s to %s: unknown scope %q", prefix, dev, scope)
	}
	have, err := m.List(dev)
	if err != nil {
		return false, err
	}
	if slices.Contains(have, prefix) {
		if scope == "" || !prefix.Addr().Is4() {
			return false, nil
		}
		cur, err := m.Scopes(dev)
		if err != nil {
			return false, err
		}
		if cur[prefix] == scope {
			return false, nil
		}
		if _, err := m.Remove(dev, prefix); err != nil {
			return false, err
		}
	}
	l, err := m.link(dev)
	if err != nil {
		return false, err
	}
	addr := &netlink.Addr{IPNet: ipNet(prefix)}
	if scope != "" && prefix.Addr().Is4() {
		addr.Scope = int(want)
	}
	if dev != linkName(dev) {
		addr.Label = dev
	}
	err = m.h.AddrAdd(l, addr)
	switch {
	case errors.Is(err, syscall.EEXIST):
		return false, fmt.Errorf("hostaddr: adding %s to %s: it is on %s under another label: %w", prefix, dev, linkName(dev), err)
	case errors.Is(err, syscall.EINVAL) && scope != "" && prefix.Addr().Is4():
		// The kernel's "ipv4: Invalid scope value": a secondary address
		// (one in the subnet of an address already on the device) must
		// have the scope of that primary.
		return false, fmt.Errorf("hostaddr: adding %s to %s at scope %s: the kernel refuses it: an address in the subnet of another address on %s must have that address's scope (use a prefix of its own, or the same scope): %w", prefix, dev, scope, linkName(dev), err)
	case err != nil:
		return false, fmt.Errorf("hostaddr: adding %s to %s: %w", prefix, dev, err)
	}
	return true, nil
}

// Remove takes prefix off dev; an address that is not there is no error.
// It reports whether it removed one.
func (m *Manager) Remove(dev string, prefix netip.Prefix) (bool, error) {
	have, err := m.List(dev)
	if err != nil {
		return false, err
	}
	if !slices.Contains(have, prefix) {
		return false, nil
	}
	l, err := m.link(dev)
	if err != nil {
		return false, err
	}
	err = m.h.AddrDel(l, &netlink.Addr{IPNet: ipNet(prefix)})
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("hostaddr: removing %s from %s: %w", prefix, dev, err)
	}
	return true, nil
}

// Up brings dev up (a tunnel device before its VIPs go on it); a device
// already up is left alone. It reports whether it changed the device.
func (m *Manager) Up(dev string) (bool, error) {
	l, err := m.link(dev)
	if err != nil {
		return false, err
	}
	if l.Attrs().Flags&net.FlagUp != 0 {
		return false, nil
	}
	if err := m.h.LinkSetUp(l); err != nil {
		return false, fmt.Errorf("hostaddr: bringing %s up: %w", dev, err)
	}
	return true, nil
}

// DefaultGateway returns the gateway of the main table's default route of
// the family of v6, or the zero Addr when there is none.
func (m *Manager) DefaultGateway(v6 bool) (netip.Addr, error) {
	family := netlink.FAMILY_V4
	if v6 {
		family = netlink.FAMILY_V6
	}
	routes, err := m.h.RouteListFiltered(family, &netlink.Route{Table: syscall.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("hostaddr: listing routes: %w", err)
	}
	for _, r := range routes {
		if r.Gw == nil || (r.Dst != nil && !isDefault(r.Dst)) {
			continue
		}
		if gw, ok := netip.AddrFromSlice(r.Gw); ok {
			return gw.Unmap(), nil
		}
	}
	return netip.Addr{}, nil
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// SetDefaultGateway makes gw the default route of its family (ip route
// replace default via gw): the only one, whatever was there before. It
// reports whether it changed anything.
func (m *Manager) SetDefaultGateway(gw netip.Addr) (bool, error) {
	cur, err := m.DefaultGateway(gw.Is6())
	if err != nil {
		return false, err
	}
	if cur == gw {
		return false, nil
	}
	family := netlink.FAMILY_V4
	if gw.Is6() {
		family = netlink.FAMILY_V6
	}
	r := &netlink.Route{Family: family, Gw: gw.AsSlice(), Table: syscall.RT_TABLE_MAIN}
	if err := m.h.RouteReplace(r); err != nil {
		return false, fmt.Errorf("hostaddr: default route via %s: %w", gw, err)
	}
	return true, nil
}
