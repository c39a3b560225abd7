package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The sorry server of lvs_virtual_server with its host side: like a real
// server's `host` block (realServerHostBlock, hostSideOf), the sorry
// server's own SSH host gets what its forwarding method needs (a DR sorry
// server: the VIP on lo and arp_ignore/arp_announce), stored there as a
// real-server side (wire.KindRealServerHost) under the sorry server's
// destination id. lvs_keepalived_config's sorry_server has no host side.

// sorryServerResourceModel is the sorry_server block of the resource.
type sorryServerResourceModel struct {
	sorryServerModel
	Host       *realServerHostModel `tfsdk:"host"`
	HostInSync types.Bool           `tfsdk:"host_in_sync"`
}

// sorryServerResourceBlock is the shared sorry_server block with the host
// block and host_in_sync added.
func sorryServerResourceBlock() schema.SingleNestedBlock {
	b, ok := virtualServerBlocks()["sorry_server"].resourceBlock().(schema.SingleNestedBlock)
	if !ok {
		panic("sorry_server is a single nested block")
	}
	b.MarkdownDescription += " With `host`, the sorry server's own host gets its side of the forwarding too, as a " +
		"real server's `host` block does it."
	b.Attributes["host_in_sync"] = schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "With `host`: whether the sorry server's host still has its side (with `dr` the VIPs " +
			"on `lo` and `arp_ignore`/`arp_announce`; with `tun` the tunnel device, VIPs and `rp_filter`; with " +
			"`nat` the default route). `false` after a hand change such as a VIP removed from `lo`; every plan " +
			"wants `true`, so the change shows and apply repairs it. Null without `host`.",
	}
	if b.Blocks == nil {
		b.Blocks = map[string]schema.Block{}
	}
	host := realServerHostBlock()
	host.MarkdownDescription = "The sorry server's own SSH host. When present, its side of the forwarding is set up " +
		"there before the service is put on the directors, and removed on destroy: with `dr` the VIPs on `lo` and " +
		"`arp_ignore`/`arp_announce`; with `tun` the tunnel device with the VIPs, and `rp_filter` off; with `nat` " +
		"the default route through `gateway`. `host`, and any of the provider's SSH settings to override for it."
	b.Blocks["host"] = host
	return b
}

// keepSorryResource is keepSorryServer with the block's host side kept
// (the directors do not store it).
func keepSorryResource(m *sorryServerResourceModel, obs *model.SorryServer) *sorryServerResourceModel {
	var prior *sorryServerModel
	if m != nil {
		prior = &m.sorryServerModel
	}
	kept := keepSorryServer(prior, obs)
	if kept == nil {
		return nil
	}
	out := &sorryServerResourceModel{sorryServerModel: *kept, HostInSync: types.BoolNull()}
	if m != nil {
		out.Host, out.HostInSync = m.Host, m.HostInSync
	}
	return out
}

// sorryRealServer is the sorry server as a destination, for hostSideOf.
func (s *sorryServerResourceModel) sorryRealServer() model.RealServer {
	return model.RealServer{Address: addrOf(s.Address), Port: intOf(s.Port), ForwardingMethod: s.ForwardingMethod.ValueString()}
}

// sorryID is the id the sorry server's side is stored under on its host:
// the destination id of the sorry server under the service.
func (s *sorryServerResourceModel) sorryID(id cluster.VirtualServerID) cluster.RealServerID {
	vs := id.VirtualServer()
	rs := s.sorryRealServer()
	return cluster.RealServerID{VS: id, Address: rs.Address, Port: rs.EffectivePort(&vs)}
}

// validateSorry checks the sorry server's host side, with errors at
// sorry_server.host.
func validateSorry(ctx context.Context, diags *diag.Diagnostics, conf tfsdk.Config, s *sorryServerResourceModel, vs *model.VirtualServer) {
	if s == nil || s.Host == nil {
		return
	}
	if s.Host.Host.IsNull() || s.Host.Host.ValueString() == "" {
		diags.AddAttributeError(path.Root("sorry_server").AtName("host").AtName("host"), summaryInvalidConfig,
			"sorry_server.host.host: the sorry server's host name or address is required when the host block is present.")
		return
	}
	if s.Address.IsUnknown() || s.Address.IsNull() {
		return
	}
	addConfigErrors(ctx, diags, conf, hostSideErrors(hostSideOf(s.sorryRealServer(), s.Host, vs), model.Path{"sorry_server"}))
}

// planSorry plans the sorry server's host_in_sync: true with a host.
func planSorry(ctx context.Context, plan *tfsdk.Plan, s *sorryServerResourceModel) diag.Diagnostics {
	if s == nil {
		return nil
	}
	v := types.BoolNull()
	if s.Host != nil {
		v = types.BoolValue(true)
	}
	return plan.SetAttribute(ctx, path.Root("sorry_server").AtName("host_in_sync"), v)
}

// sorryHostSides is the sorry server's side with its host, or none.
func (c *client) sorryHostSides(s *sorryServerResourceModel, id cluster.VirtualServerID, vs *model.VirtualServer, diags *diag.Diagnostics) []hostSidePut {
	if s == nil || s.Host == nil {
		return nil
	}
	cfg, d := c.hostConfig(connectionModel{Host: s.Host.Host, sshModel: s.Host.sshModel})
	diags.Append(d...)
	return []hostSidePut{{cfg: cfg, obj: wire.Object{Key: s.sorryID(id).HostKey(), RealServerHost: hostSideOf(s.sorryRealServer(), s.Host, vs)}}}
}

// observeSorry reads whether the sorry server's host still has its side.
func (c *client) observeSorry(ctx context.Context, s *sorryServerResourceModel, id cluster.VirtualServerID) *hostError {
	if s == nil {
		return nil
	}
	s.HostInSync = types.BoolNull()
	if s.Host == nil {
		return nil
	}
	cfg, d := c.hostConfig(connectionModel{Host: s.Host.Host, sshModel: s.Host.sshModel})
	if d.HasError() {
		return &hostError{host: s.Host.Host.ValueString(), err: fmt.Errorf("sorry_server.host: %v", d)}
	}
	view, err := c.view(ctx, cfg)
	if err != nil {
		return &hostError{host: cfg.Host, err: fmt.Errorf("sorry server side of %s: %w", s.sorryID(id).ObjectID(), err)}
	}
	s.HostInSync = types.BoolValue(view.HostSideInSync(s.sorryID(id).ObjectID()))
	return nil
}

// prepareSorry puts the sorry server's side on its host before the
// service reaches the directors, and returns the side the old state put
// that the new one does not (deleted once the service is put).
func (r *virtualServerResource) prepareSorry(ctx context.Context, conf tfsdk.Config, old, data *virtualServerResourceModel, vs *model.VirtualServer, dirs []string, diags *diag.Diagnostics, action string) []hostSidePut {
	id, err := cluster.ParseVirtualServerID(cluster.JoinID(vs.Key(), dirs))
	if err != nil {
		return nil
	}
	validateSorry(ctx, diags, conf, data.SorryServer, vs)
	sides := r.client.sorryHostSides(data.SorryServer, id, vs, diags)
	if diags.HasError() {
		return nil
	}
	r.client.applyHostSides(ctx, sides, false, action, "Virtual Server "+vs.Key()+" sorry server", diags)
	if old == nil || diags.HasError() {
		return nil
	}
	oldVS := old.toModel()
	var oldDiags diag.Diagnostics
	stale := staleHostSides(r.client.sorryHostSides(old.SorryServer, id, &oldVS, &oldDiags), sides)
	diags.Append(oldDiags...)
	return stale
}

// sorryApplied sets host_in_sync after an apply.
func (m *virtualServerResourceModel) sorryApplied() {
	if m.SorryServer == nil {
		return
	}
	m.SorryServer.HostInSync = types.BoolNull()
	if m.SorryServer.Host != nil {
		m.SorryServer.HostInSync = types.BoolValue(true)
	}
}
