package keepalivedconf

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// firstAutoRulePriority is the preference keepalived 2.2 gives the first
// rule of each address family that names none, counting down from there
// in file order ("Rule has no preference specified - setting to 16384").
const firstAutoRulePriority = 16384

// routes reads a static_routes or virtual_routes block. Each line is
// keepalived's route syntax: [TYPE] [src S] [to] PREFIX [via|gw V [or V2]...]
// [dev D] [scope S] [table T] [metric|priority|preference M] [no_track]
// [nexthop via V [dev D] [weight W]]...; "via A or B" is keepalived's old
// multipath form, read as two nexthops. Any other option changes the route
// the kernel gets and is refused with file:line.
func (p *parser) routes(n *node, virtual bool) ([]model.Route, error) {
	var out []model.Route
	for _, k := range n.block {
		r, err := p.route(k, virtual)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *parser) route(n *node, virtual bool) (model.Route, error) {
	var r model.Route
	w := n.words
	val := func(i int) (string, error) {
		if i+1 >= len(w) {
			return "", p.errf(n, "%q needs a value", w[i])
		}
		return w[i+1], nil
	}
	addr := func(i int) (netip.Addr, error) {
		s, err := val(i)
		if err != nil {
			return netip.Addr{}, err
		}
		a, perr := netip.ParseAddr(s)
		if perr != nil {
			return a, p.errf(n, "%s %q is not an IP address", w[i], s)
		}
		return a, nil
	}
	u32 := func(i int) (uint32, error) {
		s, err := val(i)
		if err != nil {
			return 0, err
		}
		v, perr := strconv.ParseUint(s, 0, 32)
		if perr != nil {
			return 0, p.errf(n, "%s %q is not a number (table names need /etc/iproute2/rt_tables, which the import does not read: give the number)", w[i], s)
		}
		return uint32(v), nil
	}
	var ors []netip.Addr
	noTrack := false
	for i := 0; i < len(w); i++ {
		var err error
		switch kw := w[i]; kw {
		case "unicast":
		case "blackhole", "unreachable", "prohibit":
			r.Type = kw
		case "src":
			r.Src, err = addr(i)
			i++
		case "to":
			var s string
			if s, err = val(i); err == nil {
				err = p.routeDest(n, &r, s)
			}
			i++
		case "via", "gw":
			r.Via, err = addr(i)
			i++
		case "or":
			var a netip.Addr
			a, err = addr(i)
			ors = append(ors, a)
			i++
		case "dev", "oif":
			r.Device, err = val(i)
			i++
		case "scope":
			r.Scope, err = val(i)
			i++
		case "table":
			r.Table, err = u32(i)
			i++
		case "metric", "priority", "preference":
			r.Metric, err = u32(i)
			i++
		case "no_track":
			noTrack = true
		case "nexthop":
			var nh model.Nexthop
			i, nh, err = p.nexthop(n, w, i)
			r.Nexthops = append(r.Nexthops, nh)
		default:
			if r.To.IsValid() {
				return r, p.errf(n, "route option %q: the model cannot carry it, and leaving it out would change the route keepalived installs", kw)
			}
			err = p.routeDest(n, &r, kw)
		}
		if err != nil {
			return r, err
		}
	}
	if !r.To.IsValid() {
		return r, p.errf(n, "a route needs a destination prefix")
	}
	switch {
	case virtual:
		r.NoTrack = noTrack
	case noTrack && r.Device != "":
		// keepalived cannot track a static route without a device anyway
		// (the renderer writes no_track there); with one it would.
		return r, p.errf(n, "no_track on a static route with a device: the model cannot carry it (it tracks static routes as keepalived does by default); remove it")
	}
	if len(ors) > 0 {
		if len(r.Nexthops) > 0 || !r.Via.IsValid() {
			return r, p.errf(n, "\"or\" needs a via before it and cannot be combined with nexthop")
		}
		// keepalived installs "via A or B dev D" as a multipath route
		// with a path per gateway, each on dev D.
		r.Nexthops = append(r.Nexthops, model.Nexthop{Via: r.Via, Device: r.Device})
		for _, a := range ors {
			r.Nexthops = append(r.Nexthops, model.Nexthop{Via: a, Device: r.Device})
		}
		r.Via, r.Device = netip.Addr{}, ""
	}
	return r, nil
}

// routeDest sets a route's destination: a prefix, or a bare address as a
// host route.
func (p *parser) routeDest(n *node, r *model.Route, s string) error {
	if r.To.IsValid() {
		return p.errf(n, "%q: the route already has destination %s", s, r.To)
	}
	if s == "default" {
		return p.errf(n, "\"default\": write 0.0.0.0/0 or ::/0, which says the address family")
	}
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return p.errf(n, "%q is not an IP prefix", s)
		}
		r.To = pf
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return p.errf(n, "%q is not an IP prefix nor a route option the import knows", s)
	}
	r.To = netip.PrefixFrom(a, a.BitLen())
	return nil
}

// nexthop reads "nexthop [via V] [dev D] [weight W]" from w[i]; it returns
// the index of its last word.
func (p *parser) nexthop(n *node, w []string, i int) (int, model.Nexthop, error) {
	var nh model.Nexthop
	for i+1 < len(w) {
		kw := w[i+1]
		if kw != "via" && kw != "dev" && kw != "weight" {
			break
		}
		if i+2 >= len(w) {
			return i, nh, p.errf(n, "nexthop %q needs a value", kw)
		}
		v := w[i+2]
		switch kw {
		case "via":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return i, nh, p.errf(n, "nexthop via %q is not an IP address", v)
			}
			nh.Via = a
		case "dev":
			nh.Device = v
		case "weight":
			wt, err := strconv.Atoi(v)
			if err != nil {
				return i, nh, p.errf(n, "nexthop weight %q is not a number", v)
			}
			nh.Weight = wt
		}
		i += 2
	}
	return i, nh, nil
}

// rules reads a static_rules or virtual_rules block: [from F|all] [to T|all]
// [fwmark M[/MASK]] [iif|dev I] [oif O] [priority|preference|prio P]
// table|lookup T [no_track]. A rule whose address keepalived cannot read
// is skipped by keepalived ("Invalid rule ... address"), and so by the
// import; a rule without a preference gets the one keepalived gives it.
func (p *parser) rules(n *node, virtual bool) ([]model.Rule, error) {
	var out []model.Rule
	for _, k := range n.block {
		r, ok, err := p.rule(k, virtual)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if r.Priority == 0 {
			fam := 0
			if r.IsV6() {
				fam = 1
			}
			r.Priority = p.nextRulePriority[fam]
			p.nextRulePriority[fam]--
			p.warn(k, "rule without a preference: keepalived sets it to %d (and warns), and so does the import", r.Priority)
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *parser) rule(n *node, virtual bool) (model.Rule, bool, error) {
	var r model.Rule
	w := n.words
	val := func(i int) (string, error) {
		if i+1 >= len(w) {
			return "", p.errf(n, "%q needs a value", w[i])
		}
		return w[i+1], nil
	}
	num := func(s string) (uint32, error) {
		v, err := strconv.ParseUint(s, 0, 32)
		return uint32(v), err
	}
	for i := 0; i < len(w); i++ {
		kw := w[i]
		var s string
		var err error
		switch kw {
		case "no_track":
			r.NoTrack = virtual
			continue
		case "from", "to", "fwmark", "iif", "dev", "oif", "priority", "preference", "prio", "table", "lookup":
			if s, err = val(i); err != nil {
				return r, false, err
			}
			i++
		default:
			return r, false, p.errf(n, "rule option %q: the model cannot carry it, and leaving it out would change the rule keepalived installs", kw)
		}
		switch kw {
		case "from", "to":
			if s == "all" {
				continue
			}
			if !strings.Contains(s, "/") {
				s += "/32"
				if strings.Contains(s, ":") {
					s = strings.TrimSuffix(s, "/32") + "/128"
				}
			}
			pf, ok := parsePrefix(s)
			if !ok {
				// keepalived skips the rule: a warning, not an error.
				p.warn(n, "rule %s %q is not an IP prefix: keepalived ignores it (it skips the whole rule), and so does the import", kw, w[i])
				return r, false, nil
			}
			if kw == "from" {
				r.From = pf
			} else {
				r.To = pf
			}
		case "fwmark":
			mark, mask, _ := strings.Cut(s, "/")
			if r.FwMark, err = num(mark); err == nil && mask != "" {
				r.FwMask, err = num(mask)
			}
			if err != nil {
				return r, false, p.errf(n, "fwmark %q is not a mark[/mask] of numbers", s)
			}
		case "iif", "dev":
			r.InputInterface = s
		case "oif":
			r.OutputInterface = s
		case "priority", "preference", "prio":
			if r.Priority, err = num(s); err != nil {
				return r, false, p.errf(n, "%s %q is not a number", kw, s)
			}
		case "table", "lookup":
			if r.Table, err = num(s); err != nil {
				return r, false, p.errf(n, "table %q is not a number (table names need /etc/iproute2/rt_tables, which the import does not read: give the number)", s)
			}
		}
	}
	return r, true, nil
}

// useVMAC reads "use_vmac [NAME]"; a MAC address argument is refused.
func (p *parser) useVMAC(n *node, in *model.VRRPInstance) error {
	in.UseVMAC = true
	switch args := n.args(); len(args) {
	case 0:
	case 1:
		if strings.Count(args[0], ":") >= 4 {
			return p.errf(n, "a VMAC address of one's own: the model cannot carry it, and leaving it out would change the MAC address the virtual addresses answer with")
		}
		in.VMACInterface = args[0]
	default:
		return p.errf(n, "a VMAC address of one's own: the model cannot carry it, and leaving it out would change the MAC address the virtual addresses answer with")
	}
	return nil
}

// parsePrefix is netip.ParsePrefix reporting only whether it parsed.
func parsePrefix(s string) (netip.Prefix, bool) {
	pf, err := netip.ParsePrefix(s)
	return pf, err == nil
}
