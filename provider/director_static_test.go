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
