package provider

import (
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The fwmark_match blocks of lvs_virtual_server: which packets a fwmark
// service's directors mark (model.FwmarkMatch), programmed by the agent in
// an nftables table of its own and read back from it.

// fwmarkMatchModel is one fwmark_match block.
type fwmarkMatchModel struct {
	Protocol     types.String   `tfsdk:"protocol"`
	Destinations []types.String `tfsdk:"destinations"`
	Ports        []types.Int64  `tfsdk:"ports"`
}

// fwmarkMatchBlockSchema is lvs_virtual_server's `fwmark_match` block.
func fwmarkMatchBlockSchema() schema.Block {
	return schema.ListNestedBlock{
		MarkdownDescription: "Packets the directors mark with this service's `fwmark`, for a fwmark service only: " +
			"those sent to one of `destinations`, of `protocol` when set, to one of `ports` when set. The agent " +
			"programs each block's destinations times its ports as rules of an nftables table of its own, " +
			"`inet lvs_agent` (chain `prerouting`, hook prerouting at mangle priority, `meta mark set`), over " +
			"netlink: the hosts need no `nft` or `iptables` binary. Both engines: under keepalived, keepalived " +
			"programs the IPVS fwmark service and the agent the marks. Read compares the table's rules with the " +
			"blocks, so a rule removed or changed by hand (or the table deleted) shows in the plan and the apply " +
			"puts it back; the rules are restored at boot, and the table is removed with the last service that " +
			"marks. Two services may not mark the same packets. Without blocks, the marks are set by something " +
			"else (an iptables or nftables rule of your own).",
		NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
			"protocol": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Transport protocol of the marked packets; every protocol when unset. " +
					allowedText(model.Protocols, ""),
				Validators: []validator.String{stringvalidator.OneOf(model.Protocols...)},
			},
			"destinations": schema.ListAttribute{
				ElementType: types.StringType,
				Required:    true,
				MarkdownDescription: "Destination addresses (`10.0.0.10`) or prefixes (`10.0.0.0/24`) of the marked " +
					"packets, of the service's `family`: usually the VIP.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1)},
			},
			"ports": schema.ListAttribute{
				ElementType: types.Int64Type,
				Optional:    true,
				MarkdownDescription: "Destination ports of the marked packets (all when unset); needs `protocol`. " +
					"From `1` to `65535`.",
				Validators: []validator.List{listvalidator.ValueInt64sAre(int64validator.Between(1, 65535))},
			},
		}},
	}
}

// fwmarkMatchesToModel maps the blocks into the model. A destination
// that is neither an address nor a prefix stays the zero prefix, which the
// model's validation reports on its attribute.
func fwmarkMatchesToModel(blocks []fwmarkMatchModel) []model.FwmarkMatch {
	var out []model.FwmarkMatch
	for _, b := range blocks {
		m := model.FwmarkMatch{Protocol: b.Protocol.ValueString()}
		for _, d := range b.Destinations {
			m.Destinations = append(m.Destinations, parsePrefixOrAddr(d.ValueString()))
		}
		for _, p := range b.Ports {
			m.Ports = append(m.Ports, int(p.ValueInt64()))
		}
		out = append(out, m)
	}
	return out
}

// parsePrefixOrAddr reads 10.0.0.0/24 or 10.0.0.10 (a /32).
func parsePrefixOrAddr(s string) netip.Prefix {
	if strings.Contains(s, "/") {
		p, _ := netip.ParsePrefix(s)
		return p
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// fwmarkMatchesFromModel is the blocks of observed matches: single
// addresses without their /32 or /128.
func fwmarkMatchesFromModel(ms []model.FwmarkMatch) []fwmarkMatchModel {
	var out []fwmarkMatchModel
	for _, m := range ms {
		b := fwmarkMatchModel{Protocol: types.StringNull()}
		if m.Protocol != "" {
			b.Protocol = types.StringValue(m.Protocol)
		}
		for _, d := range m.Destinations {
			s := d.String()
			if d.IsSingleIP() {
				s = d.Addr().String()
			}
			b.Destinations = append(b.Destinations, types.StringValue(s))
		}
		for _, p := range m.Ports {
			b.Ports = append(b.Ports, types.Int64Value(int64(p)))
		}
		out = append(out, b)
	}
	return out
}

// keepFwmarkMatches is the blocks as written when they mark what the
// director's table marks (in whatever order or spelling), else the
// observed matches.
func keepFwmarkMatches(blocks []fwmarkMatchModel, mark uint32, obs []model.FwmarkMatch) []fwmarkMatchModel {
	written := model.VirtualServer{Fwmark: mark, FwmarkMatches: fwmarkMatchesToModel(blocks)}
	seen := model.VirtualServer{Fwmark: mark, FwmarkMatches: obs}
	if model.SameFwmarkRules(written.FwmarkRules(), seen.FwmarkRules()) {
		return blocks
	}
	return fwmarkMatchesFromModel(obs)
}
