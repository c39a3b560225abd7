package model

import "net/netip"

// Matching a director's routes and rules against the kernel's, as the
// agent reads them back (netlink) into Route and Rule values: a kernel
// route carries its table as the kernel numbers it (254 for main), its
// metric as the kernel keeps it (1024 for an IPv6 route given none), its
// gateway, device, source and scope whether or not keepalived was told
// them.

// MainTable is the kernel's number of the main routing table, which a
// Route's zero Table means.
const MainTable = 254

// ipv6DefaultMetric is the metric the kernel gives an IPv6 route added
// without one.
const ipv6DefaultMetric = 1024

func mainIfZero(t uint32) uint32 {
	if t == 0 {
		return MainTable
	}
	return t
}

// RouteAt reports whether the kernel route k stands where r goes: the
// same family, destination, table and metric, which is what the kernel
// tells routes apart by (a second one there is refused, "File exists").
func RouteAt(r, k *Route) bool {
	if r.To != k.To || mainIfZero(r.Table) != mainIfZero(k.Table) {
		return false
	}
	if r.Metric == k.Metric {
		return true
	}
	return r.Metric == 0 && r.IsV6() && k.Metric == ipv6DefaultMetric
}

// RouteHeld reports whether the kernel route k is r as keepalived installs
// it: at r's place (RouteAt), of its type, through its gateway or its
// paths; the device, source and scope are compared where r sets them (the
// kernel picks them otherwise).
func RouteHeld(r, k *Route) bool {
	if !RouteAt(r, k) || r.Type != k.Type || r.Via != k.Via {
		return false
	}
	if (r.Device != "" && r.Device != k.Device) || (r.Src.IsValid() && r.Src != k.Src) || (r.Scope != "" && r.Scope != k.Scope) {
		return false
	}
	if len(r.Nexthops) != len(k.Nexthops) {
		return false
	}
	used := make([]bool, len(k.Nexthops))
next:
	for _, nh := range r.Nexthops {
		for j, kh := range k.Nexthops {
			if !used[j] && nexthopHeld(nh, kh) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

func nexthopHeld(r, k Nexthop) bool {
	weight := func(w int) int { return max(w, 1) }
	return r.Via == k.Via && (r.Device == "" || r.Device == k.Device) && weight(r.Weight) == weight(k.Weight)
}

// RuleAt reports whether the kernel rule k is at r's place: the same
// family and preference.
func RuleAt(r, k *Rule) bool {
	return r.IsV6() == k.IsV6() && r.Priority == k.Priority
}

// RuleHeld reports whether the kernel rule k is r: at its place, looking
// up its table, selecting what it selects (an unset prefix is "all"; a
// mark without a mask compares every bit, as the kernel takes it).
func RuleHeld(r, k *Rule) bool {
	if !RuleAt(r, k) || mainIfZero(r.Table) != mainIfZero(k.Table) {
		return false
	}
	if !samePrefixOrAll(r.From, k.From) || !samePrefixOrAll(r.To, k.To) {
		return false
	}
	mask := func(mark, m uint32) uint32 {
		if mark != 0 && m == 0 {
			return ^uint32(0)
		}
		return m
	}
	return r.FwMark == k.FwMark && mask(r.FwMark, r.FwMask) == mask(k.FwMark, k.FwMask) &&
		r.InputInterface == k.InputInterface && r.OutputInterface == k.OutputInterface
}

// samePrefixOrAll compares two rule selectors, an unset one and a /0 both
// meaning all.
func samePrefixOrAll(a, b netip.Prefix) bool {
	all := func(p netip.Prefix) bool { return !p.IsValid() || p.Bits() == 0 }
	if all(a) || all(b) {
		return all(a) && all(b)
	}
	return a == b
}

// MissingRoutes are the routes of want that no route of have holds.
func MissingRoutes(want, have []Route) []Route {
	var out []Route
	for i := range want {
		held := false
		for j := range have {
			held = held || RouteHeld(&want[i], &have[j])
		}
		if !held {
			out = append(out, want[i])
		}
	}
	return out
}

// MissingRules are the rules of want that no rule of have holds.
func MissingRules(want, have []Rule) []Rule {
	var out []Rule
	for i := range want {
		held := false
		for j := range have {
			held = held || RuleHeld(&want[i], &have[j])
		}
		if !held {
			out = append(out, want[i])
		}
	}
	return out
}
