package provider

import (
	"net/netip"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestStaticAddressRemovedByHandLeavesTheState: Read keeps the static
// addresses the host holds (on their resolved device, whatever the prefix
// length it reports) and drops one it lacks, so the plan puts it back.
func TestStaticAddressRemovedByHandLeavesTheState(t *testing.T) {
	m := directorModel{
		Interface: types.StringValue("eth0"),
		StaticAddresses: []staticAddressModel{
			{Address: types.StringValue("10.0.0.10/24"), Device: types.StringNull()},
			{Address: types.StringValue("10.0.0.11"), Device: types.StringValue("eth1")},
			{Address: types.StringValue("10.0.0.12/24"), Device: types.StringNull()},
		},
	}
	view := cluster.NewView(&wire.Observed{Addresses: []model.HostAddress{
		{Prefix: netip.MustParsePrefix("10.0.0.10/24"), Device: "eth0"},
		{Prefix: netip.MustParsePrefix("10.0.0.11/32"), Device: "eth1"},
		{Prefix: netip.MustParsePrefix("10.0.0.12/24"), Device: "eth1"}, // on another device: not the one wanted
	}})
	m.observeStaticAddresses(view)
	if len(m.StaticAddresses) != 2 || m.StaticAddresses[0].Address.ValueString() != "10.0.0.10/24" ||
		m.StaticAddresses[1].Address.ValueString() != "10.0.0.11" {
		t.Errorf("kept %+v; want 10.0.0.10/24 and 10.0.0.11", m.StaticAddresses)
	}
	// Round trip through the stored model: a host prefix reads back bare.
	back := staticAddressesFrom(staticAddressesModel(m.StaticAddresses))
	if back[1].Address.ValueString() != "10.0.0.11" || back[1].Device.ValueString() != "eth1" || !back[0].Device.IsNull() {
		t.Errorf("round trip %+v", back)
	}
}

// TestStaticAddressScopeChangedByHandShowsInTheState: Read gives a static
// address the scope the host holds it at when that is not the configured
// one (unset is global), and leaves the configuration's value when they
// agree or when the agent reports no scope (an older agent).
func TestStaticAddressScopeChangedByHandShowsInTheState(t *testing.T) {
	block := func(addr, scope string) staticAddressModel {
		s := types.StringNull()
		if scope != "" {
			s = types.StringValue(scope)
		}
		return staticAddressModel{Address: types.StringValue(addr), Device: types.StringNull(), Scope: s}
	}
	m := directorModel{Interface: types.StringValue("eth0"), StaticAddresses: []staticAddressModel{
		block("10.0.0.10/24", "link"),   // held at global: drift
		block("10.0.0.11/24", ""),       // held at link: drift
		block("10.0.0.12/24", "global"), // as configured
		block("10.0.0.13/24", ""),       // as configured (unset is global)
		block("10.0.0.14/24", "link"),   // no scope reported
	}}
	held := func(addr, scope string) model.HostAddress {
		return model.HostAddress{Prefix: netip.MustParsePrefix(addr), Device: "eth0", Scope: scope}
	}
	m.observeStaticAddresses(cluster.NewView(&wire.Observed{Addresses: []model.HostAddress{
		held("10.0.0.10/24", "global"), held("10.0.0.11/24", "link"), held("10.0.0.12/24", "global"),
		held("10.0.0.13/24", "global"), held("10.0.0.14/24", ""),
	}}))
	want := []types.String{types.StringValue("global"), types.StringValue("link"), types.StringValue("global"), types.StringNull(), types.StringValue("link")}
	for i, s := range m.StaticAddresses {
		if !s.Scope.Equal(want[i]) {
			t.Errorf("static_address[%d] (%s).scope = %s, want %s", i, s.Address, s.Scope, want[i])
		}
	}
}
