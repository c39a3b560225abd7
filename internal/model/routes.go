package model

import (
	"fmt"
	"math"
	"net/netip"
)

// Route is one keepalived route line: a director's static route
// (static_routes, installed while keepalived runs, whatever the VRRP
// state) or a VRRP instance's virtual route (virtual_routes, installed
// while the instance is MASTER). keepalived installs them with proto
// keepalived and removes them when it stops or the instance leaves MASTER.
type Route struct {
	// To is the destination prefix (0.0.0.0/0 for a default route); its
	// host bits must be zero, as the kernel requires.
	To netip.Prefix `json:"to,omitzero"`
	// Type is the route type: empty for a unicast route, or "blackhole",
	// "unreachable" or "prohibit" (which take no gateway nor device).
	Type string `json:"type,omitzero"`
	// Src is the preferred source address of packets sent by this route.
	Src netip.Addr `json:"src,omitzero"`
	// Via is the gateway; Nexthops (two or more) make a multipath route
	// instead.
	Via      netip.Addr `json:"via,omitzero"`
	Nexthops []Nexthop  `json:"nexthops,omitzero"`
	// Device is the output device.
	Device string `json:"device,omitzero"`
	// Scope is "global", "site", "link", "host" or "nowhere"; empty
	// leaves the kernel's choice (link without a gateway, else global).
	Scope string `json:"scope,omitzero"`
	// Table is the routing table (1 to 4294967295); zero means main.
	Table uint32 `json:"table,omitzero"`
	// Metric is the route's priority (metric); zero leaves the kernel's.
	Metric uint32 `json:"metric,omitzero"`
	// NoTrack (virtual routes only) keeps the instance MASTER when the
	// route is deleted by hand; keepalived tracks a virtual route with a
	// device by default and puts the instance in FAULT when it goes.
	NoTrack bool `json:"no_track,omitzero"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Device string     `json:"device,omitzero"`
	// Weight is the path's share (1 to 256); zero means 1.
	Weight int `json:"weight,omitzero"`
}

// Rule is one keepalived policy routing rule line: a director's static
// rule (static_rules) or a VRRP instance's virtual rule (virtual_rules,
// installed while MASTER). Packets it selects look up Table.
type Rule struct {
	// From and To select by source and destination prefix; unset selects
	// all.
	From netip.Prefix `json:"from,omitzero"`
	To   netip.Prefix `json:"to,omitzero"`
	// FwMark (with an optional FwMask) selects packets by firewall mark.
	FwMark uint32 `json:"fwmark,omitzero"`
	FwMask uint32 `json:"fwmask,omitzero"`
	// InputInterface and OutputInterface select by device (iif, oif).
	InputInterface  string `json:"iif,omitzero"`
	OutputInterface string `json:"oif,omitzero"`
	// Table is the routing table the selected packets look up (1 to
	// 4294967295).
	Table uint32 `json:"table,omitzero"`
	// Priority is the rule's preference (1 to 32765: 0 is the local table's
	// rule, 32766 and 32767 the main and default tables'): keepalived
	// otherwise picks one itself and warns, which keepalived -t refuses.
	Priority uint32 `json:"priority,omitzero"`
	// NoTrack, as for a route, for virtual rules.
	NoTrack bool `json:"no_track,omitzero"`
}

// RouteTypes are the route types besides unicast (the empty Type).
var RouteTypes = []string{"blackhole", "unreachable", "prohibit"}

// RouteScopes are the scopes a route may name.
var RouteScopes = []string{"global", "site", "link", "host", "nowhere"}

// MaxRulePriority is the last rule preference before the main table's.
const MaxRulePriority = 32765

// MaxNexthops bounds a multipath route's paths, which keepalived reads on
// one line: 8 of the longest ("nexthop via <IPv6> dev <15> weight 256")
// and the rest of the route stay within KeepalivedMaxLine.
const MaxNexthops = 8

// MaxNexthopWeight is the largest weight of a multipath route's path.
const MaxNexthopWeight = 256

// IsV6 reports whether the route is an IPv6 one.
func (r *Route) IsV6() bool { return r.To.Addr().Is6() }

// IsV6 reports whether the rule is an IPv6 one (keepalived takes a rule
// without addresses as IPv4).
func (r *Rule) IsV6() bool {
	return r.From.Addr().Is6() || r.To.Addr().Is6()
}

// key is what the kernel tells routes apart by: a second route of the same
// key is refused ("File exists").
func (r *Route) key() string {
	return fmt.Sprintf("%s table %d metric %d", r.To, r.Table, r.Metric)
}

func validateRoutes(errs *Errors, p loc, attr string, routes []Route, virtual bool) {
	seen := map[string]int{}
	for i, r := range routes {
		r.validate(errs, p.At(attr, i), virtual)
		if !r.To.IsValid() {
			continue
		}
		if j, dup := seen[r.key()]; dup {
			errs.add(p.At(attr, i, "to"), "%s (table %d, metric %d) is already %s[%d]; the kernel holds one route per destination, table and metric", r.To, r.Table, r.Metric, attr, j)
		} else {
			seen[r.key()] = i
		}
	}
}

func (r *Route) validate(errs *Errors, p loc, virtual bool) {
	if !r.To.IsValid() {
		errs.add(p.At("to"), "must be an IP prefix such as 192.168.10.0/24 or 0.0.0.0/0")
		return
	}
	if r.To != r.To.Masked() {
		errs.add(p.At("to"), "%s has host bits set; the kernel refuses it: use %s", r.To, r.To.Masked())
	}
	v6 := r.IsV6()
	family := func(ap loc, a netip.Addr) {
		checkNoZone(errs, ap, a)
		if a.Is6() != v6 {
			errs.add(ap, "%s is of another address family than to (%s)", quoteAddr(a), r.To)
		}
	}
	checkEnum(errs, p.At("type"), r.Type, RouteTypes)
	checkEnum(errs, p.At("scope"), r.Scope, RouteScopes)
	if r.Src.IsValid() {
		family(p.At("src"), r.Src)
	}
	if r.Device != "" {
		checkInterface(errs, p.At("device"), r.Device)
	}
	if r.Type != "" {
		for _, f := range []struct {
			attr string
			set  bool
		}{{"via", r.Via.IsValid()}, {"nexthop", len(r.Nexthops) > 0}, {"device", r.Device != ""}, {"src", r.Src.IsValid()}} {
			if f.set {
				errs.add(p.At(f.attr), "cannot be set on a %s route, which sends no packet anywhere", r.Type)
			}
		}
	} else if !r.Via.IsValid() && len(r.Nexthops) == 0 && r.Device == "" {
		errs.add(p.At("via"), "a route needs a gateway (via), nexthop blocks or a device; or set type to %s", quoteList(RouteTypes))
	}
	if r.Via.IsValid() {
		family(p.At("via"), r.Via)
		if len(r.Nexthops) > 0 {
			errs.add(p.At("nexthop"), "cannot be combined with via: a multipath route names its gateways in its nexthop blocks")
		}
	}
	if len(r.Nexthops) > MaxNexthops {
		errs.add(p.At("nexthop"), "has %d paths; at most %d are allowed (keepalived reads the route as one line)", len(r.Nexthops), MaxNexthops)
	}
	if len(r.Nexthops) == 1 {
		errs.add(p.At("nexthop"), "a multipath route needs at least 2 nexthop blocks; with one path use via and device")
	}
	for i, nh := range r.Nexthops {
		np := p.At("nexthop", i)
		if !nh.Via.IsValid() && nh.Device == "" {
			errs.add(np.At("via"), "a nexthop needs a gateway (via), a device or both")
		}
		if nh.Via.IsValid() {
			family(np.At("via"), nh.Via)
		}
		if nh.Device != "" {
			checkInterface(errs, np.At("device"), nh.Device)
		}
		checkRange(errs, np.At("weight"), nh.Weight, 0, MaxNexthopWeight)
	}
	if r.Table == math.MaxUint32 {
		// keepalived reads the table as a signed 32-bit number.
		errs.add(p.At("table"), "%d is out of range; allowed values are 1 to %d", r.Table, math.MaxUint32-1)
	}
	if r.NoTrack && !virtual {
		errs.add(p.At("no_track"), "applies to virtual routes only; keepalived does not track static routes")
	}
}

func validateRules(errs *Errors, p loc, attr string, rules []Rule, virtual bool) {
	for i, r := range rules {
		r.validate(errs, p.At(attr, i), virtual)
	}
}

func (r *Rule) validate(errs *Errors, p loc, virtual bool) {
	v6 := r.IsV6()
	for _, f := range []struct {
		attr string
		pf   netip.Prefix
	}{{"from", r.From}, {"to", r.To}} {
		if !f.pf.IsValid() {
			continue
		}
		if f.pf != f.pf.Masked() {
			errs.add(p.At(f.attr), "%s has host bits set; use %s", f.pf, f.pf.Masked())
		}
		if f.pf.Addr().Is6() != v6 {
			errs.add(p.At(f.attr), "%s is of another address family than the rule's other prefix", f.pf)
		}
	}
	if r.FwMask != 0 && r.FwMark == 0 {
		errs.add(p.At("fwmask"), "needs fwmark")
	}
	if r.InputInterface != "" {
		checkInterface(errs, p.At("iif"), r.InputInterface)
	}
	if r.OutputInterface != "" {
		checkInterface(errs, p.At("oif"), r.OutputInterface)
	}
	switch r.Table {
	case 0:
		errs.add(p.At("table"), "must be set: the routing table the rule's packets look up, 1 to %d", math.MaxUint32-1)
	case math.MaxUint32:
		errs.add(p.At("table"), "%d is out of range; allowed values are 1 to %d", r.Table, math.MaxUint32-1)
	}
	if r.Priority == 0 {
		errs.add(p.At("priority"), "must be set, 1 to %d: keepalived otherwise picks one itself and warns, which keepalived -t refuses", MaxRulePriority)
	} else {
		checkRange(errs, p.At("priority"), r.Priority, 1, MaxRulePriority)
	}
	if r.NoTrack && !virtual {
		errs.add(p.At("no_track"), "applies to virtual rules only; keepalived does not track static rules")
	}
}
