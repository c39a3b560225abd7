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
}

// device is the address's device, the director's interface by default.
func (s StaticAddress) device(dflt string) string {
	if s.Device != "" {
		return s.Device
	}
	return dflt
}

// StaticHostAddresses are the director's static addresses with their
// devices resolved, as the agent puts them on the host.
func (d *Director) StaticHostAddresses() []HostAddress {
	var out []HostAddress
	for _, s := range d.StaticAddresses {
		out = append(out, HostAddress{Prefix: s.Prefix, Device: s.device(d.Interface)})
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
		switch {
		case s.Device != "":
			checkInterface(errs, sp.At("device"), s.Device)
		case d.Interface == "":
			errs.add(sp.At("device"), "must be set when the director has no interface")
		}
	}
}
