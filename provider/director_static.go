package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The static_address blocks of a director (lvs_director and the director
// block of lvs_keepalived_config): addresses held whatever the VRRP state,
// the VIP of a single director without VRRP. Kept apart from the rest of
// the director's schema and mapping so that both stay short.

// staticAddressModel is one static_address block.
type staticAddressModel struct {
	Address types.String `tfsdk:"address"`
	Device  types.String `tfsdk:"device"`
	Scope   types.String `tfsdk:"scope"`
}

// staticAddressBlock is the schema of the static_address blocks.
func staticAddressBlock() blockSpec {
	return blockSpec{
		description: "An address the director holds always, whatever its VRRP state: the VIP of a single " +
			"director without VRRP (the classic `ip addr add 10.0.0.10/24 dev eth0` beside the IPVS rules), " +
			"keepalived's `static_ipaddress`. On `lvs_director` the agent owns it, for both engines: it puts the " +
			"address on its device over netlink (not through keepalived, so it stays while keepalived is stopped " +
			"or restarted, and a `netlink` director has it without any keepalived), restores it at boot with " +
			"the director's other kernel state, and removes it when the block or the director is removed. " +
			"An address removed by hand drops out of the state, so `terraform plan` shows it and `terraform " +
			"apply` puts it back. An imported `keepalived.conf` brings its `static_ipaddress` lines here. " +
			"`lvs_keepalived_config` renders the blocks as a `static_ipaddress` block, for hosts without the " +
			"agent, where keepalived adds the addresses at start and removes them at stop. An address may not " +
			"also be a `virtual_ipaddress` of a VRRP instance.",
		attrs: map[string]attrSpec{
			"address": stringAttr("The address, optionally with its prefix length, such as `10.0.0.10/24`; " +
				"a bare address is taken as `/32` or `/128`.").mandatory(),
			"device": stringAttr("Device the address goes on. Defaults to the director's `interface`."),
			"scope": enumAttr("Scope of an IPv4 address, as `ip addr add ... scope` and keepalived's "+
				"`static_ipaddress` take it: `link` for an address valid on its link only (never a source for "+
				"routed traffic), `host` for one valid on the host only. "+
				"The kernel cannot change an address's scope in place, so a changed scope (also one changed by "+
				"hand, which the plan shows) takes the address off and puts it back. Not for IPv6: the kernel "+
				"derives an IPv6 address's scope from the address.", model.AddressScopes, "global"),
		},
	}
}

// staticAddressesModel maps the blocks into the model.
func staticAddressesModel(list []staticAddressModel) []model.StaticAddress {
	var out []model.StaticAddress
	for _, s := range list {
		out = append(out, model.StaticAddress{Prefix: prefixOf(s.Address.ValueString()), Device: s.Device.ValueString(), Scope: s.Scope.ValueString()})
	}
	return out
}

// staticAddressesFrom maps stored static addresses back into blocks; a
// host prefix is written as the bare address.
func staticAddressesFrom(list []model.StaticAddress) []staticAddressModel {
	var out []staticAddressModel
	for _, s := range list {
		addr := s.Prefix.String()
		if s.Prefix.IsSingleIP() {
			addr = s.Prefix.Addr().String()
		}
		out = append(out, staticAddressModel{Address: types.StringValue(addr), Device: optString(s.Device), Scope: optString(s.Scope)})
	}
	return out
}

// observeStaticAddresses drops from m the static addresses the host does
// not hold (removed by hand), so the plan puts them back, and gives one
// held at another scope than m's (changed by hand) the scope it has.
func (m *directorModel) observeStaticAddresses(view *cluster.View) {
	if len(m.StaticAddresses) == 0 {
		return
	}
	d := m.toModel()
	want := d.StaticHostAddresses()
	var kept []staticAddressModel
	for i, s := range m.StaticAddresses {
		if i < len(want) {
			got, held := view.HeldAddress(want[i])
			if !held {
				continue
			}
			if got.Scope != "" && want[i].Scope != "" && got.Scope != want[i].Scope {
				s.Scope = types.StringValue(got.Scope)
			}
		}
		kept = append(kept, s)
	}
	m.StaticAddresses = kept
}
