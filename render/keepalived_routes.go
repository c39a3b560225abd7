package render

import (
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// routeLine is one line of a static_routes or virtual_routes block, in the
// order keepalived 2.2 reads without a warning:
// [TYPE] TO [src S] [via V] [dev D] [scope S] [table T] [metric M]
// [no_track] [nexthop via V [dev D] [weight W]]...; no_track must come
// before the nexthops ("trailing nonsense after nexthops").
//
// A route without a device gets no_track: keepalived cannot track it and
// warns ("cannot track route ... with no interface specified"), which
// keepalived -t refuses (exit 5); the route behaves the same.
func routeLine(r *model.Route) string {
	var b strings.Builder
	if r.Type != "" {
		b.WriteString(r.Type + " ")
	}
	b.WriteString(r.To.String())
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.Device != "" {
		b.WriteString(" dev " + r.Device)
	}
	if r.Scope != "" {
		b.WriteString(" scope " + r.Scope)
	}
	if r.Table != 0 {
		b.WriteString(" table " + strconv.FormatUint(uint64(r.Table), 10))
	}
	if r.Metric != 0 {
		b.WriteString(" metric " + strconv.FormatUint(uint64(r.Metric), 10))
	}
	if r.NoTrack || r.Device == "" {
		b.WriteString(" no_track")
	}
	for _, nh := range r.Nexthops {
		b.WriteString(" nexthop")
		if nh.Via.IsValid() {
			b.WriteString(" via " + nh.Via.String())
		}
		if nh.Device != "" {
			b.WriteString(" dev " + nh.Device)
		}
		if nh.Weight != 0 {
			b.WriteString(" weight " + strconv.Itoa(nh.Weight))
		}
	}
	return b.String()
}

// ruleLine is one line of a static_rules or virtual_rules block:
// [from F] [to T] [fwmark M[/MASK]] [iif I] [oif O] priority P table T
// [no_track]. A rule without from or to is "from all", as ip rule says.
func ruleLine(r *model.Rule) string {
	var parts []string
	if r.From.IsValid() {
		parts = append(parts, "from "+r.From.String())
	}
	if r.To.IsValid() {
		parts = append(parts, "to "+r.To.String())
	}
	if !r.From.IsValid() && !r.To.IsValid() {
		parts = append(parts, "from all")
	}
	if r.FwMark != 0 {
		m := "fwmark " + strconv.FormatUint(uint64(r.FwMark), 10)
		if r.FwMask != 0 {
			m += "/0x" + strconv.FormatUint(uint64(r.FwMask), 16)
		}
		parts = append(parts, m)
	}
	if r.InputInterface != "" {
		parts = append(parts, "iif "+r.InputInterface)
	}
	if r.OutputInterface != "" {
		parts = append(parts, "oif "+r.OutputInterface)
	}
	parts = append(parts, "priority "+strconv.FormatUint(uint64(r.Priority), 10), "table "+strconv.FormatUint(uint64(r.Table), 10))
	if r.NoTrack {
		parts = append(parts, "no_track")
	}
	return strings.Join(parts, " ")
}

func routeLines(routes []model.Route) []string {
	var out []string
	for i := range routes {
		out = append(out, routeLine(&routes[i]))
	}
	return out
}

func ruleLines(rules []model.Rule) []string {
	var out []string
	for i := range rules {
		out = append(out, ruleLine(&rules[i]))
	}
	return out
}
