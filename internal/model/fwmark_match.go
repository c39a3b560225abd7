package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// FwmarkMatch selects packets that a director marks with a fwmark
// service's mark before IPVS sees them: those to one of Destinations and,
// when Protocol is set, of that transport protocol, and when Ports are
// set, to one of those ports. It is what
// `iptables -t mangle -A PREROUTING -d VIP -p tcp -m multiport --dports 80,443 -j MARK --set-mark 1`
// does; the agent programs it in an nftables table of its own.
type FwmarkMatch struct {
	// Protocol is tcp, udp or sctp; empty matches every protocol.
	Protocol string `json:"protocol,omitzero"`
	// Destinations are addresses or prefixes of the service's family.
	Destinations []netip.Prefix `json:"destinations,omitzero"`
	// Ports are destination ports; they need a protocol.
	Ports []int `json:"ports,omitzero"`
}

// FwmarkRule is one expanded match: packets to Destination (of
// Protocol, to Port, when set) get Mark. A FwmarkMatch is the product of
// its destinations and ports; the agent programs one nftables rule per
// FwmarkRule, and reads them back as such.
type FwmarkRule struct {
	Mark        uint32       `json:"mark"`
	Destination netip.Prefix `json:"destination"`
	Protocol    string       `json:"protocol,omitzero"`
	Port        int          `json:"port,omitzero"`
}

// MaxFwmarkRules bounds the rules one service's matches expand to
// (destinations times ports, summed over the matches).
const MaxFwmarkRules = 1024

func (r FwmarkRule) String() string {
	s := fmt.Sprintf("daddr %s", r.Destination)
	if r.Protocol != "" {
		s += " " + r.Protocol
	}
	if r.Port != 0 {
		s += fmt.Sprintf(" dport %d", r.Port)
	}
	return s + fmt.Sprintf(" mark %d", r.Mark)
}

// CompareFwmarkRules orders rules by mark, destination, protocol and port.
func CompareFwmarkRules(a, b FwmarkRule) int {
	if c := cmp.Compare(a.Mark, b.Mark); c != 0 {
		return c
	}
	if c := a.Destination.Addr().Compare(b.Destination.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Destination.Bits(), b.Destination.Bits()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// FwmarkRules expands the service's matches into rules, sorted, each once.
// Destinations are masked to their prefix.
func (vs *VirtualServer) FwmarkRules() []FwmarkRule {
	var out []FwmarkRule
	for _, m := range vs.FwmarkMatches {
		ports := m.Ports
		if len(ports) == 0 {
			ports = []int{0}
		}
		for _, d := range m.Destinations {
			for _, port := range ports {
				out = append(out, FwmarkRule{Mark: vs.Fwmark, Destination: d.Masked(), Protocol: m.Protocol, Port: port})
			}
		}
	}
	slices.SortFunc(out, CompareFwmarkRules)
	return slices.Compact(out)
}

// SameFwmarkRules reports whether two rule lists hold the same rules
// (in any order, duplicates aside).
func SameFwmarkRules(a, b []FwmarkRule) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, CompareFwmarkRules)
	slices.SortFunc(b, CompareFwmarkRules)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// FwmarkMatchesOf groups rules of one mark back into matches: rules that
// differ only in port become one match with several ports, then matches
// that differ only in destination one match with several destinations.
// It is how a read shows rules changed by hand.
func FwmarkMatchesOf(rules []FwmarkRule) []FwmarkMatch {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, CompareFwmarkRules)
	type dk struct {
		dest  netip.Prefix
		proto string
	}
	var byDest []dk
	ports := map[dk][]int{}
	for _, r := range rules {
		k := dk{r.Destination, r.Protocol}
		if _, ok := ports[k]; !ok {
			byDest = append(byDest, k)
		}
		if r.Port != 0 {
			ports[k] = append(ports[k], r.Port)
		} else if ports[k] == nil {
			ports[k] = []int{}
		}
	}
	var out []FwmarkMatch
	for _, k := range byDest {
		p := ports[k]
		if len(p) == 0 {
			p = nil
		}
		merged := false
		for i := range out {
			if out[i].Protocol == k.proto && slices.Equal(out[i].Ports, p) {
				out[i].Destinations = append(out[i].Destinations, k.dest)
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, FwmarkMatch{Protocol: k.proto, Destinations: []netip.Prefix{k.dest}, Ports: p})
		}
	}
	return out
}

func (vs *VirtualServer) validateFwmarkMatches(errs *Errors, p loc) {
	if len(vs.FwmarkMatches) == 0 {
		return
	}
	if vs.Fwmark == 0 {
		errs.add(p.At("fwmark_match"), "applies to fwmark services only; this service is identified by its address or group")
		return
	}
	n := 0
	for i := range vs.FwmarkMatches {
		m := &vs.FwmarkMatches[i]
		mp := p.At("fwmark_match", i)
		checkEnum(errs, mp.At("protocol"), m.Protocol, Protocols)
		if len(m.Destinations) == 0 {
			errs.add(mp.At("destinations"), "must name at least one address or prefix the marked packets are sent to")
		}
		for j, d := range m.Destinations {
			switch {
			case !d.IsValid():
				errs.add(mp.At("destinations", j), "must be an address or a prefix (10.0.0.10, 10.0.0.0/24)")
			case d.Addr().Zone() != "":
				checkNoZone(errs, mp.At("destinations", j), d.Addr())
			case d.Addr().Is6() != vs.IsIPv6():
				errs.add(mp.At("destinations", j), "%s is of another address family than the service (family %s)", quote(d.String()), quote(orDefault(vs.Family, "inet")))
			}
		}
		if len(m.Ports) > 0 && m.Protocol == "" {
			errs.add(mp.At("protocol"), "must be set when ports are: a port is a tcp, udp or sctp port")
		}
		for j, port := range m.Ports {
			checkRange(errs, mp.At("ports", j), port, 1, 65535)
		}
		n += len(m.Destinations) * max(1, len(m.Ports))
	}
	if n > MaxFwmarkRules {
		errs.add(p.At("fwmark_match"), "expands to %d rules (destinations times ports), at most %d are allowed; use prefixes", n, MaxFwmarkRules)
	}
}

// checkFwmarkOverlap refuses two services of one director that mark the
// same packets with different marks: the later rule would win silently.
func checkFwmarkOverlap(errs *Errors, p loc, services []VirtualServer) {
	type key struct {
		dest  netip.Prefix
		proto string
		port  int
	}
	seen := map[key]int{}
	for i := range services {
		for _, r := range services[i].FwmarkRules() {
			k := key{r.Destination, r.Protocol, r.Port}
			if j, ok := seen[k]; ok && j != i {
				errs.add(p.At("virtual_server", i, "fwmark_match"), "marks packets to %s with %d, but virtual_server[%d] marks them with %d",
					r.Destination, r.Mark, j, services[j].Fwmark)
				return
			}
			seen[k] = i
		}
	}
}
