package provider

import (
	"context"
	"fmt"
	"math"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The routes and rules of a director (static_route, static_rule) and of its
// VRRP instances (virtual_route, virtual_rule), on lvs_director and the
// director block of lvs_keepalived_config: keepalived's static_routes,
// static_rules, virtual_routes and virtual_rules. Kept apart from the rest
// of the director's schema and mapping so that both stay short.

type routeModel struct {
	To       types.String      `tfsdk:"to"`
	Type     types.String      `tfsdk:"type"`
	Src      iptypes.IPAddress `tfsdk:"src"`
	Via      iptypes.IPAddress `tfsdk:"via"`
	Device   types.String      `tfsdk:"device"`
	Scope    types.String      `tfsdk:"scope"`
	Table    types.Int64       `tfsdk:"table"`
	Metric   types.Int64       `tfsdk:"metric"`
	NoTrack  types.Bool        `tfsdk:"no_track"`
	Nexthops []nexthopModel    `tfsdk:"nexthop"`
}

type nexthopModel struct {
	Via    iptypes.IPAddress `tfsdk:"via"`
	Device types.String      `tfsdk:"device"`
	Weight types.Int64       `tfsdk:"weight"`
}

type ruleModel struct {
	From     types.String `tfsdk:"from"`
	To       types.String `tfsdk:"to"`
	FwMark   types.Int64  `tfsdk:"fwmark"`
	FwMask   types.Int64  `tfsdk:"fwmask"`
	Iif      types.String `tfsdk:"iif"`
	Oif      types.String `tfsdk:"oif"`
	Table    types.Int64  `tfsdk:"table"`
	Priority types.Int64  `tfsdk:"priority"`
	NoTrack  types.Bool   `tfsdk:"no_track"`
}

// routeBlock is the schema of static_route (virtual false) and
// virtual_route blocks.
func routeBlock(virtual bool) blockSpec {
	desc := "A route keepalived installs while it runs, whatever the VRRP state (keepalived `static_routes`), " +
		"with `proto keepalived`, and removes when it stops. On `lvs_director` the agent's keepalived holds it " +
		"(for both engines). keepalived does not put back a route deleted while it runs: on `lvs_director` " +
		"the agent reads the kernel's routes back, so a route deleted or changed by hand (`ip route del`, " +
		"`ip route replace`) drops out of the state and shows in `terraform plan`, and `terraform apply` " +
		"installs it again as keepalived does (`proto keepalived`), without a reload. " +
		"An imported `keepalived.conf` brings its `static_routes` lines here."
	noTrack := "Only for virtual routes."
	if virtual {
		desc = "A route the instance installs while it is MASTER and removes when it leaves MASTER " +
			"(keepalived `virtual_routes`), such as a default route into a table of its own for the VIP's " +
			"replies. An imported `keepalived.conf` brings its `virtual_routes` lines here."
		noTrack = "Keep the instance MASTER when the route is deleted by hand (keepalived's `no_track`); " +
			"by default keepalived tracks a virtual route with a `device` and puts the instance in FAULT when " +
			"the route goes. A route without a `device` is never tracked."
	}
	return blockSpec{
		description: desc,
		attrs: map[string]attrSpec{
			"to": stringAttr("Destination prefix, such as `192.168.10.0/24` or `0.0.0.0/0`; its host bits must be " +
				"zero. A bare address is a host route.").mandatory(),
			"type": enumAttr("Route type; unset is a unicast route. `blackhole`, `unreachable` and `prohibit` "+
				"drop the packets (silently, or with an ICMP error) and take no `via`, `nexthop`, `device` or `src`.",
				model.RouteTypes, ""),
			"src":    ipAttr("Preferred source address of packets sent by this route."),
			"via":    ipAttr("Gateway. Use `nexthop` blocks instead for a multipath route."),
			"device": stringAttr("Output device, such as `eth0`."),
			"scope": enumAttr("Route scope. Unset leaves the kernel's: `link` without a gateway, else `global`.",
				model.RouteScopes, ""),
			"table": rangeAttr("Routing table. Unset is the main table.", 1, math.MaxUint32-1),
			"metric": rangeAttr("Route metric (priority); lower wins. Unset leaves the kernel's.",
				1, math.MaxUint32),
			"no_track": boolAttr(noTrack),
		},
		blocks: map[string]blockSpec{
			"nexthop": {
				description: "One path of a multipath route (keepalived `nexthop`; an imported `via A or B` " +
					"becomes two). Two or more, at most 8; cannot be combined with `via`.",
				attrs: map[string]attrSpec{
					"via":    ipAttr("Gateway of this path."),
					"device": stringAttr("Output device of this path."),
					"weight": rangeAttr("Share of this path. Unset is `1`.", 1, model.MaxNexthopWeight),
				},
			},
		},
	}
}

// ruleBlock is the schema of static_rule (virtual false) and virtual_rule
// blocks.
func ruleBlock(virtual bool) blockSpec {
	desc := "A policy routing rule keepalived installs while it runs, whatever the VRRP state (keepalived " +
		"`static_rules`), and removes when it stops. On `lvs_director`, as for `static_route`, a rule deleted " +
		"by hand (`ip rule del`), which keepalived does not put back, shows in `terraform plan`, and " +
		"`terraform apply` installs it again. An imported `keepalived.conf` brings its `static_rules` " +
		"lines here (a rule without a preference with the one keepalived gives it: 16384, then one less per rule)."
	noTrack := "Only for virtual rules."
	if virtual {
		desc = "A policy routing rule the instance installs while it is MASTER and removes when it leaves " +
			"MASTER (keepalived `virtual_rules`)."
		noTrack = "Keep the instance MASTER when the rule is deleted by hand (keepalived's `no_track`)."
	}
	return blockSpec{
		description: desc,
		attrs: map[string]attrSpec{
			"from": prefixAttr("Source prefix the rule selects, such as `10.0.0.0/24`. Unset selects all sources."),
			"to":   prefixAttr("Destination prefix the rule selects. Unset selects all destinations."),
			"fwmark": rangeAttr("Firewall mark the rule selects (with `fwmask`, the bits compared).",
				1, math.MaxUint32),
			"fwmask": rangeAttr("Mask of the bits of `fwmark` compared. Needs `fwmark`.", 1, math.MaxUint32),
			"iif":    stringAttr("Input device the rule selects."),
			"oif":    stringAttr("Output device the rule selects (a socket bound to it)."),
			"table":  rangeAttr("Routing table the selected packets look up.", 1, math.MaxUint32-1).mandatory(),
			"priority": rangeAttr("Rule preference; lower is tried first. Required: keepalived otherwise picks one "+
				"and warns, which its config test refuses.", 1, model.MaxRulePriority).mandatory(),
			"no_track": boolAttr(noTrack),
		},
	}
}

func routesModel(list []routeModel) []model.Route {
	var out []model.Route
	for _, r := range list {
		mr := model.Route{
			To: prefixOf(r.To.ValueString()), Type: r.Type.ValueString(), Src: addrOf(r.Src), Via: addrOf(r.Via),
			Device: r.Device.ValueString(), Scope: r.Scope.ValueString(), Table: markOf(r.Table),
			Metric: markOf(r.Metric), NoTrack: r.NoTrack.ValueBool(),
		}
		for _, nh := range r.Nexthops {
			mr.Nexthops = append(mr.Nexthops, model.Nexthop{Via: addrOf(nh.Via), Device: nh.Device.ValueString(), Weight: intOf(nh.Weight)})
		}
		out = append(out, mr)
	}
	return out
}

func routesFrom(list []model.Route) []routeModel {
	var out []routeModel
	for _, r := range list {
		m := routeModel{
			To: types.StringValue(hostOrPrefix(r.To)), Type: optString(r.Type), Src: optIP(r.Src), Via: optIP(r.Via),
			Device: optString(r.Device), Scope: optString(r.Scope), Table: optUint32(r.Table),
			Metric: optUint32(r.Metric), NoTrack: optTrue(r.NoTrack),
		}
		for _, nh := range r.Nexthops {
			m.Nexthops = append(m.Nexthops, nexthopModel{Via: optIP(nh.Via), Device: optString(nh.Device), Weight: optInt64(nh.Weight)})
		}
		out = append(out, m)
	}
	return out
}

func rulesModel(list []ruleModel) []model.Rule {
	var out []model.Rule
	for _, r := range list {
		mr := model.Rule{
			FwMark: markOf(r.FwMark), FwMask: markOf(r.FwMask),
			InputInterface: r.Iif.ValueString(), OutputInterface: r.Oif.ValueString(),
			Table: markOf(r.Table), Priority: markOf(r.Priority), NoTrack: r.NoTrack.ValueBool(),
		}
		// An unset prefix selects all; one that does not parse is
		// refused by the schema's prefixCheck before this runs.
		if s := r.From.ValueString(); s != "" {
			mr.From = prefixOf(s)
		}
		if s := r.To.ValueString(); s != "" {
			mr.To = prefixOf(s)
		}
		out = append(out, mr)
	}
	return out
}

func rulesFrom(list []model.Rule) []ruleModel {
	var out []ruleModel
	for _, r := range list {
		m := ruleModel{
			From: types.StringNull(), To: types.StringNull(),
			FwMark: optUint32(r.FwMark), FwMask: optUint32(r.FwMask), Iif: optString(r.InputInterface),
			Oif: optString(r.OutputInterface), Table: optUint32(r.Table), Priority: optUint32(r.Priority),
			NoTrack: optTrue(r.NoTrack),
		}
		if r.From.IsValid() {
			m.From = types.StringValue(hostOrPrefix(r.From))
		}
		if r.To.IsValid() {
			m.To = types.StringValue(hostOrPrefix(r.To))
		}
		out = append(out, m)
	}
	return out
}

// prefixAttr is a string attribute holding an IP prefix (or a bare
// address), checked at plan: for a rule, unset means "all", so a value
// that does not parse cannot be left to the model.
func prefixAttr(description string) attrSpec {
	a := stringAttr(description + " A bare address is a host prefix.")
	a.stringValidators = []validator.String{prefixCheck{}}
	return a
}

type prefixCheck struct{}

func (prefixCheck) Description(context.Context) string {
	return "an IP prefix such as 10.0.0.0/24, or a bare address"
}

func (v prefixCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (prefixCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !prefixOf(req.ConfigValue.ValueString()).IsValid() {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IP Prefix",
			fmt.Sprintf("must be an IP prefix such as 10.0.0.0/24 or a bare address, without a zone; got %.64q", req.ConfigValue.ValueString()))
	}
}

// hostOrPrefix writes a host prefix as the bare address, as it was given.
func hostOrPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func optIP(a netip.Addr) iptypes.IPAddress {
	if !a.IsValid() {
		return iptypes.NewIPAddressNull()
	}
	return iptypes.NewIPAddressValue(a.String())
}

func optUint32(v uint32) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(v))
}

// observeStaticRoutes drops from m the static routes and rules the host's
// kernel does not hold (deleted or changed by hand, which keepalived does
// not repair while it runs), so the plan puts them back. A failed read of
// the routes is an error, never a removal.
func (m *directorModel) observeStaticRoutes(view *cluster.View) error {
	if len(m.StaticRoutes) == 0 && len(m.StaticRules) == 0 {
		return nil
	}
	d := m.toModel()
	heldRoutes, err := view.HeldStaticRoutes(d.StaticRoutes)
	if err != nil {
		return err
	}
	heldRules, err := view.HeldStaticRules(d.StaticRules)
	if err != nil {
		return err
	}
	m.StaticRoutes = keepHeld(m.StaticRoutes, heldRoutes)
	m.StaticRules = keepHeld(m.StaticRules, heldRules)
	return nil
}

// keepHeld is list without the elements held says are not held.
func keepHeld[T any](list []T, held []bool) []T {
	var out []T
	for i, x := range list {
		if i < len(held) && !held[i] {
			continue
		}
		out = append(out, x)
	}
	return out
}
