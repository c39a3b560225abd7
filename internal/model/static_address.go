package model

import "net/netip"

// StaticAddress is an address a director holds whatever its VRRP state:
// the VIP of a single director without VRRP (the classic
// `ip addr add VIP/24 dev eth0` beside the ipvsadm rules), keepalived's
// static_ipaddress. On a host run by the agent the agent puts it on its
// device over netlink, for both engines, keeps it there (a hand removal is
// drift) and restores it at boot; a rendered keepalived.conf (for a host
// without the agent) carries it as a static_ipaddress block.
type StaticAddress struct {
	// Prefix is the address with its prefix length (10.0.0.10/24). A bare
	// address is taken as /32 or /128.
	Prefix netip.Prefix `json:"prefix,omitzero"`
	// Device defaults to the director's interface.
	Device string `json:"device,omitzero"`
	// Scope is the address's scope, one of AddressScopes; empty is
	// "global", the kernel's default (`ip addr add ... scope link`,
	// keepalived's `static_ipaddress` `scope`). IPv4 only: the kernel
	// derives an IPv6 address's scope from the address.
	Scope string `json:"scope,omitzero"`
}

// AddressScopes are the scopes a static address may have, as ip(8) and
// keepalived name them.
var AddressScopes = []string{"global", "site", "link", "host", "nowhere"}

// EffectiveScope is the address's scope with the default applied.
func (s StaticAddress) EffectiveScope() string {
	if s.Scope == "" {
		return "global"
	}
	return s.Scope
}

// device is the address's device, the director's interface by default.
func (s StaticAddress) device(dflt string) string {
	if s.Device != "" {
		return s.Device
	}
	return dflt
}

// StaticHostAddresses are the director's static addresses with their
// devices resolved, as the agent puts them on the host; an IPv4 one
// carries its scope, "global" when unset, so that the agent holds it at
// that scope.
func (d *Director) StaticHostAddresses() []HostAddress {
	var out []HostAddress
	for _, s := range d.StaticAddresses {
		ha := HostAddress{Prefix: s.Prefix, Device: s.device(d.Interface)}
		if s.Prefix.Addr().Is4() {
			ha.Scope = s.EffectiveScope()
		}
		out = append(out, ha)
	}
	return out
}

// validateStatic checks the static addresses: each a valid prefix on a
// named device, none twice, none also a VRRP instance's virtual address
// (two owners of one address would take it from each other).
func (d *Director) validateStatic(errs *Errors, p loc) {
	seen := map[netip.Addr]int{}
	vips := map[netip.Addr]string{}
	for _, in := range d.Instances {
		for _, v := range in.VirtualIPs {
			vips[v.Prefix.Addr()] = in.Name
		}
	}
	subnets := map[[2]string]int{} // device and IPv4 subnet -> first static address in it
	for i, s := range d.StaticAddresses {
		sp := p.At("static_address", i)
		if !s.Prefix.IsValid() {
			errs.add(sp.At("address"), "must be an IP address with an optional prefix length, such as 10.0.0.10/24, and no zone (the device is device)")
			continue
		}
		a := s.Prefix.Addr()
		if j, dup := seen[a]; dup {
			errs.add(sp.At("address"), "%s is already static_address[%d]", a, j)
		}
		seen[a] = i
		if name, ok := vips[a]; ok {
			errs.add(sp.At("address"), "%s is a virtual address of vrrp_instance %s, which holds it only while MASTER; a static address is held always: use one or the other", a, quote(name))
		}
		checkEnum(errs, sp.At("scope"), s.Scope, AddressScopes)
		if a.Is4() {
			// The kernel gives a secondary address (same prefix length,
			// same subnet, same device) its primary's scope, and refuses
			// another one.
			key := [2]string{s.device(d.Interface), s.Prefix.Masked().String()}
			if j, ok := subnets[key]; ok && d.StaticAddresses[j].EffectiveScope() != s.EffectiveScope() {
				errs.add(sp.At("scope"), "is %s, but static_address[%d] is in the same subnet %s on %s at scope %s: the kernel gives every address of a subnet on a device the scope of the first; use the same scope or a prefix of its own",
					s.EffectiveScope(), j, key[1], key[0], d.StaticAddresses[j].EffectiveScope())
			} else if !ok {
				subnets[key] = i
			}
		}
		if s.Scope != "" && !a.Is4() {
			errs.add(sp.At("scope"), "applies to IPv4 addresses only: the kernel gives an IPv6 address the scope of the address itself (fe80::/10 is link)")
		}
		switch {
		case s.Device != "":
			checkInterface(errs, sp.At("device"), s.Device)
		case d.Interface == "":
			errs.add(sp.At("device"), "must be set when the director has no interface")
		}
	}
}
