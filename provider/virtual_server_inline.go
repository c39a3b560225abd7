package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The real_server blocks of lvs_virtual_server: a whole service, with its
// destinations, as one object per director (the service's, with the real
// servers inline, as keepalived.conf and data.lvs_keepalived_config write
// it), so that creating it is one agent apply per director and changing one
// server's weight changes only that destination. A service with blocks
// owns all its destinations: no lvs_real_server may name it (the agent and
// the lvs_real_server resource refuse it). The blocks are built from the
// same shape, mapping and read-back as lvs_real_server (realServerModel,
// realServerAttributes, realServerBlocks, realServerSideAttributes,
// realServerHostBlock), so both resources get what is added there.

// inlineRealServerModel is one real_server block.
type inlineRealServerModel struct {
	realServerModel
	Host           *realServerHostModel `tfsdk:"host"`
	HostInSync     types.Bool           `tfsdk:"host_in_sync"`
	DrainOnDestroy types.Bool           `tfsdk:"drain_on_destroy"`
	DrainTimeout   types.String         `tfsdk:"drain_timeout"`
}

// inlineRealServerBlock is the schema of the real_server blocks.
func inlineRealServerBlock() schema.ListNestedBlock {
	attrs := resourceAttributes(realServerAttributes())
	for name, a := range realServerSideAttributes() {
		attrs[name] = a
	}
	return schema.ListNestedBlock{
		MarkdownDescription: "A real server (IPVS destination) of this service, declared inline as in " +
			"keepalived.conf: the attributes, health checks, `host` side and drain settings of `lvs_real_server`. " +
			"A service with `real_server` blocks is one write per director however many servers it has, and owns " +
			"all its destinations: an `lvs_real_server` naming it is refused (use one or the other per service). " +
			"Changing a server's weight or settings changes only that destination; adding or removing a block " +
			"adds or removes only it. Read reports each destination as the directors run it (a weight changed " +
			"by hand, a server removed by hand from a `netlink` director), and an import fills the blocks.",
		NestedObject: schema.NestedBlockObject{
			Attributes: attrs,
			Blocks:     merge(resourceBlocks(realServerBlocks()), map[string]schema.Block{"host": realServerHostBlock()}),
		},
	}
}

// inlineModels maps the blocks into the model's real servers.
func inlineModels(blocks []inlineRealServerModel) []model.RealServer {
	var out []model.RealServer
	for i := range blocks {
		out = append(out, blocks[i].toModel())
	}
	return out
}

// rsID is the block's id under the virtual server id (the same as an
// lvs_real_server of that destination would have).
func (b *inlineRealServerModel) rsID(id cluster.VirtualServerID) cluster.RealServerID {
	vs := id.VirtualServer()
	rs := b.toModel()
	return cluster.RealServerID{VS: id, Address: addrOf(b.Address), Port: rs.EffectivePort(&vs)}
}

// validateInline checks the blocks' host sides (the model's rules check
// the rest with the service), with errors at real_server[i].host.
func validateInline(ctx context.Context, diags *diag.Diagnostics, conf tfsdk.Config, blocks []inlineRealServerModel, vs *model.VirtualServer) {
	for i := range blocks {
		b := &blocks[i]
		if b.Host == nil {
			continue
		}
		if b.Host.Host.IsNull() || b.Host.Host.ValueString() == "" {
			diags.AddAttributeError(path.Root("real_server").AtListIndex(i).AtName("host").AtName("host"), summaryInvalidConfig,
				fmt.Sprintf("real_server[%d].host.host: the real server's host name or address is required when the host block is present.", i))
			continue
		}
		addConfigErrors(ctx, diags, conf, hostSideErrors(hostSideOf(b.toModel(), b.Host, vs), model.Path{"real_server", i}))
	}
}

// planInline plans each block's host_in_sync: true with a host, else null.
func planInline(ctx context.Context, resp *tfsdk.Plan, blocks []inlineRealServerModel) diag.Diagnostics {
	var diags diag.Diagnostics
	for i := range blocks {
		v := types.BoolNull()
		if blocks[i].Host != nil {
			v = types.BoolValue(true)
		}
		diags.Append(resp.SetAttribute(ctx, path.Root("real_server").AtListIndex(i).AtName("host_in_sync"), v)...)
	}
	return diags
}

// hostSidePut is one real-server side to put on (or delete from) a host.
type hostSidePut struct {
	cfg transport.Config
	obj wire.Object
}

// inlineHostSides are the real-server sides the blocks describe, with the
// host each goes to.
func (c *client) inlineHostSides(blocks []inlineRealServerModel, id cluster.VirtualServerID, vs *model.VirtualServer, diags *diag.Diagnostics) []hostSidePut {
	var out []hostSidePut
	for i := range blocks {
		b := &blocks[i]
		if b.Host == nil {
			continue
		}
		cfg, d := c.hostConfig(connectionModel{Host: b.Host.Host, sshModel: b.Host.sshModel})
		diags.Append(d...)
		out = append(out, hostSidePut{cfg: cfg, obj: wire.Object{Key: b.rsID(id).HostKey(), RealServerHost: hostSideOf(b.toModel(), b.Host, vs)}})
	}
	return out
}

// applyHostSides puts (or, with del, deletes) the sides, one apply per host.
func (c *client) applyHostSides(ctx context.Context, sides []hostSidePut, del bool, action, what string, diags *diag.Diagnostics) {
	byHost := map[string][]wire.Object{}
	var cfgs []transport.Config
	for _, s := range sides {
		if _, ok := byHost[s.cfg.ID()]; !ok {
			cfgs = append(cfgs, s.cfg)
		}
		byHost[s.cfg.ID()] = append(byHost[s.cfg.ID()], s.obj)
	}
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		objs := byHost[cfg.ID()]
		if !del {
			_, err := c.fleet.Apply(ctx, cfg, objs, nil)
			return err
		}
		keys := make([]wire.Key, len(objs))
		for i, o := range objs {
			keys[i] = o.Key
		}
		_, err := c.fleet.Apply(ctx, cfg, nil, keys)
		return err
	}) {
		addHostError(diags, action, what+" (real-server side)", e.host, e.err)
	}
}

// staleHostSides are the sides of old's blocks that new's do not put on
// the same host.
func staleHostSides(old, next []hostSidePut) []hostSidePut {
	keep := map[string]bool{}
	for _, s := range next {
		keep[s.cfg.ID()+" "+s.obj.Key.ID] = true
	}
	var out []hostSidePut
	for _, s := range old {
		if !keep[s.cfg.ID()+" "+s.obj.Key.ID] {
			out = append(out, s)
		}
	}
	return out
}

// drainedBlocks are the blocks of old with drain_on_destroy that next no
// longer has (by destination), with the longest of their timeouts.
func drainedBlocks(old, next []inlineRealServerModel, id cluster.VirtualServerID) ([]inlineRealServerModel, time.Duration) {
	kept := map[string]bool{}
	for i := range next {
		kept[next[i].rsID(id).DestKey()] = true
	}
	var out []inlineRealServerModel
	var timeout time.Duration
	for i := range old {
		if old[i].DrainOnDestroy.ValueBool() && !kept[old[i].rsID(id).DestKey()] {
			out = append(out, old[i])
			timeout = max(timeout, drainTimeoutOf(old[i].DrainTimeout))
		}
	}
	return out, timeout
}

// drainInline sets the drained blocks' weights to 0 in the service (vs,
// the service as it is to be, which lacks them) on every director and
// waits for their connections to end.
func (c *client) drainInline(ctx context.Context, vs model.VirtualServer, drained []inlineRealServerModel, timeout time.Duration, id cluster.VirtualServerID, group *model.VirtualServerGroup, cfgs []transport.Config, diags *diag.Diagnostics) {
	if len(drained) == 0 {
		return
	}
	vs.RealServers = append([]model.RealServer(nil), vs.RealServers...)
	rids := make([]cluster.RealServerID, len(drained))
	zero := 0
	for i := range drained {
		rs := drained[i].toModel()
		rs.Weight = &zero
		vs.RealServers = append(vs.RealServers, rs)
		rids[i] = drained[i].rsID(id)
	}
	obj := wire.Object{Key: wire.VirtualServerKey(vs.Key()), VirtualServer: &vs, VirtualServerGroup: group}
	drainRealServers(ctx, c, 0, timeout, []wire.Object{obj}, rids, cfgs, diags)
}

// inlineOwnership checks, before anything is sent, that a service with
// real_server blocks is the only owner of its destinations on every
// director: real server objects stored under it (lvs_real_server
// resources) are refused, unless the service is being taken over
// (imported, mayAdopt): then they came with the hand-built configuration
// it adopts, and the apply deletes them in the same write. It returns
// those deletions by director.
func (c *client) inlineOwnership(ctx context.Context, key string, cfgs []transport.Config, mayAdopt map[string]bool, diags *diag.Diagnostics) map[string][]wire.Key {
	dels := map[string][]wire.Key{}
	for _, cfg := range cfgs {
		view, err := c.view(ctx, cfg)
		if err != nil {
			continue // the apply reports the host
		}
		objs := view.RealServersOf(key)
		if len(objs) == 0 {
			continue
		}
		if mayAdopt[cfg.ID()] {
			dels[cfg.ID()] = objs
			continue
		}
		names := make([]string, len(objs))
		for i, k := range objs {
			_, names[i], _ = wire.SplitRealServerID(k.ID)
		}
		diags.AddAttributeError(path.Root("real_server"), "Real Servers Owned Elsewhere",
			fmt.Sprintf("Director %s stores real servers of virtual server %s as lvs_real_server resources (%s). "+
				"A virtual server with real_server blocks owns all its destinations: remove those lvs_real_server "+
				"resources (or move them into real_server blocks) first, or declare this service's real servers "+
				"only as lvs_real_server resources.", cfg.ID(), key, strings.Join(names, ", ")))
	}
	return dels
}

// observedInline is the blocks as the directors have them (views: those
// that run or store the service): a block whose destination a director
// lacks (removed by hand from a netlink director) is dropped, so the plan
// adds it back; the first director where one differs gives its values; a
// server stored inline that prior lacks (an import) is added from the
// stored description, in stored order. host_in_sync is read from each
// block's host.
func (c *client) observedInline(ctx context.Context, prior []inlineRealServerModel, id cluster.VirtualServerID, views []*cluster.View) ([]inlineRealServerModel, *hostError) {
	if len(views) == 0 {
		return prior, nil
	}
	var out []inlineRealServerModel
	seen := map[string]bool{}
blocks:
	for i := range prior {
		b := prior[i]
		rid := b.rsID(id)
		seen[rid.DestKey()] = true
		changed := false
		for _, v := range views {
			st, err := v.RealServer(rid)
			if err != nil {
				return nil, &hostError{host: v.Host(), err: err}
			}
			if st.Observed == nil {
				tflog.Info(ctx, "inline real server is gone from a director; planning to put it back",
					map[string]any{"host": v.Host(), "object": rid.ObjectID()})
				continue blocks
			}
			if cand := b.realServerModel.withObserved(st.Observed, st.Method); !changed && !reflect.DeepEqual(cand, b.realServerModel) {
				tflog.Info(ctx, "inline real server differs on a director", map[string]any{"host": v.Host(), "object": rid.ObjectID()})
				b.realServerModel, changed = cand, true
			}
		}
		out = append(out, b)
	}
	vs := id.VirtualServer()
	for _, v := range views {
		for _, rs := range v.InlineRealServers(id.Key()) {
			rid := cluster.RealServerID{VS: id, Address: rs.Address, Port: rs.EffectivePort(&vs)}
			if seen[rid.DestKey()] {
				continue
			}
			seen[rid.DestKey()] = true
			st, err := v.RealServer(rid)
			if err != nil {
				return nil, &hostError{host: v.Host(), err: err}
			}
			if st.Observed == nil {
				continue
			}
			b := blankInline(rs)
			b.realServerModel = b.realServerModel.withObserved(st.Observed, st.Method)
			out = append(out, b)
		}
	}
	for i := range out {
		out[i].HostInSync = types.BoolNull()
		if out[i].Host == nil {
			continue
		}
		cfg, d := c.hostConfig(connectionModel{Host: out[i].Host.Host, sshModel: out[i].Host.sshModel})
		if d.HasError() {
			return nil, &hostError{host: out[i].Host.Host.ValueString(), err: fmt.Errorf("real_server[%d].host: %v", i, d)}
		}
		view, err := c.view(ctx, cfg)
		if err != nil {
			return nil, &hostError{host: cfg.Host, err: fmt.Errorf("real-server side of %s: %w", out[i].rsID(id).ObjectID(), err)}
		}
		out[i].HostInSync = types.BoolValue(view.HostSideInSync(out[i].rsID(id).ObjectID()))
	}
	return out, nil
}

// blankInline is a block of rs's identity with every other attribute
// unset (a zero value of the framework's types is null), for withObserved
// to fill: an imported block; its host and drain settings are not on the
// directors.
func blankInline(rs model.RealServer) inlineRealServerModel {
	var b inlineRealServerModel
	b.Address = iptypes.NewIPAddressValue(rs.Address.String())
	b.Port = keepInt(types.Int64Null(), rs.Port)
	return b
}

// inlinePrep is what an apply of the real_server blocks does beside
// putting the service.
type inlinePrep struct {
	// deletes are the real server objects a taken-over service drops, by director.
	deletes map[string][]wire.Key
	// staleSides are the real-server sides the old state put that the new
	// one does not, deleted after the service is put.
	staleSides []hostSidePut
}

// prepareInline does, before the service is put, what its real_server
// blocks need: the ownership check, the real-server sides on their hosts
// (before a director sends them a packet), and the drain of removed
// servers with drain_on_destroy.
func (r *virtualServerResource) prepareInline(ctx context.Context, conf tfsdk.Config, old, data *virtualServerResourceModel, vs *model.VirtualServer, group *model.VirtualServerGroup, dirs []string, cfgs []transport.Config, mayAdopt map[string]bool, diags *diag.Diagnostics, action string) inlinePrep {
	var p inlinePrep
	key := vs.Key()
	id, err := cluster.ParseVirtualServerID(cluster.JoinID(key, dirs))
	if err != nil {
		diags.AddError(summaryInvalidConfig, err.Error())
		return p
	}
	if len(data.RealServers) > 0 {
		validateInline(ctx, diags, conf, data.RealServers, vs)
		p.deletes = r.client.inlineOwnership(ctx, key, cfgs, mayAdopt, diags)
	}
	sides := r.client.inlineHostSides(data.RealServers, id, vs, diags)
	if diags.HasError() {
		return p
	}
	r.client.applyHostSides(ctx, sides, false, action, "Virtual Server "+key, diags)
	if old == nil || diags.HasError() {
		return p
	}
	oldVS := old.toModel()
	var oldDiags diag.Diagnostics
	p.staleSides = staleHostSides(r.client.inlineHostSides(old.RealServers, id, &oldVS, &oldDiags), sides)
	diags.Append(oldDiags...)
	drained, timeout := drainedBlocks(old.RealServers, data.RealServers, id)
	r.client.drainInline(ctx, *vs, drained, timeout, id, group, cfgs, diags)
	return p
}

// drainInlineOnDestroy drains, before the service is removed, its
// real_server blocks with drain_on_destroy.
func (r *virtualServerResource) drainInlineOnDestroy(ctx context.Context, data *virtualServerResourceModel, vs *model.VirtualServer, cfgs []transport.Config, diags *diag.Diagnostics) {
	id, err := cluster.ParseVirtualServerID(data.ID.ValueString())
	if err != nil {
		return
	}
	var kept []inlineRealServerModel
	for i := range data.RealServers {
		if !data.RealServers[i].DrainOnDestroy.ValueBool() {
			kept = append(kept, data.RealServers[i])
		}
	}
	drained, timeout := drainedBlocks(data.RealServers, kept, id)
	rest := *vs
	rest.RealServers = inlineModels(kept)
	r.client.drainInline(ctx, rest, drained, timeout, id, data.groupModel(), cfgs, diags)
}

// refuseInlineService refuses, at virtual_server_id, a real server of a
// service that a director stores with real servers inline (real_server
// blocks of its lvs_virtual_server): that service owns all its
// destinations. An unreachable director is left to the apply to report.
func (r *realServerResource) refuseInlineService(ctx context.Context, id cluster.VirtualServerID, data *realServerResourceModel, diags *diag.Diagnostics) {
	var ds diag.Diagnostics
	_, cfgs := r.client.directorsOf(ctx, mustSet(ctx, id.Directors), data.Connection, &ds)
	for _, cfg := range cfgs {
		// From what the run knows, not a fresh view: a fresh view would
		// wait behind the apply in flight to the director, and the
		// creates of a service's real servers would reach it one by one
		// instead of in one batch.
		inline, err := r.client.storedInlineRealServers(ctx, cfg, id.Key())
		if err != nil {
			continue
		}
		if n := len(inline); n > 0 {
			diags.AddAttributeError(path.Root("virtual_server_id"), "Virtual Server Owns Its Real Servers",
				fmt.Sprintf("Director %s stores virtual server %s with %d real servers declared inline (real_server blocks of "+
					"its lvs_virtual_server), so it owns all its destinations. Declare %s as a real_server block of that "+
					"lvs_virtual_server instead of this lvs_real_server. To move the service's real servers to "+
					"lvs_real_server resources, remove its real_server blocks in one apply, then add the resources.",
					cfg.ID(), id.Key(), n, addrOf(data.Address)))
			return
		}
	}
}
