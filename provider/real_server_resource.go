package provider

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

var (
	_ resource.ResourceWithConfigure      = (*realServerResource)(nil)
	_ resource.ResourceWithImportState    = (*realServerResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*realServerResource)(nil)
	_ resource.ResourceWithValidateConfig = (*realServerResource)(nil)
)

// NewRealServerResource returns the lvs_real_server resource.
func NewRealServerResource() resource.Resource {
	return &realServerResource{}
}

// realServerResource is one destination of a virtual server, stored on each
// of the virtual server's directors as a wire.KindRealServer object
// ("<virtual server key>/<address:port>"), and optionally the real-server
// side on the real server itself (wire.KindRealServerHost, same id).
type realServerResource struct {
	client *client
	// drainPoll is how often a draining destroy looks at the directors.
	drainPoll time.Duration
}

// defaultDrainTimeout bounds a draining destroy when drain_timeout is unset.
const defaultDrainTimeout = 5 * time.Minute

// realServerResourceModel is the lvs_real_server resource's value.
type realServerResourceModel struct {
	ID              types.String         `tfsdk:"id"`
	VirtualServerID types.String         `tfsdk:"virtual_server_id"`
	Connection      *sshModel            `tfsdk:"ssh"`
	Host            *realServerHostModel `tfsdk:"host"`
	HostInSync      types.Bool           `tfsdk:"host_in_sync"`
	DrainOnDestroy  types.Bool           `tfsdk:"drain_on_destroy"`
	DrainTimeout    types.String         `tfsdk:"drain_timeout"`
	Managed         types.Bool           `tfsdk:"managed"`
	realServerModel
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// realServerHostModel is the `host` attribute: how to reach the real
// server, and what its side of the forwarding needs.
type realServerHostModel struct {
	Host types.String `tfsdk:"host"`
	sshModel
	VIPs    []iptypes.IPAddress `tfsdk:"vips"`
	Gateway iptypes.IPAddress   `tfsdk:"gateway"`
}

// Metadata names the resource.
func (r *realServerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_real_server"
}

// Schema is realServerResourceSchema.
func (r *realServerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = realServerResourceSchema()
}

// Configure takes the provider's client.
func (r *realServerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the server against the model's rules, with what
// the virtual server id tells of the virtual server (its family and port).
// ModifyPlan checks again with the whole virtual server when it exists.
func (r *realServerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data realServerResourceModel
	if !knownConfig(ctx, req.Config, "lvs_real_server", &data, &resp.Diagnostics) {
		return
	}
	if data.Host != nil && (data.Host.Host.IsNull() || data.Host.Host.ValueString() == "") {
		resp.Diagnostics.AddAttributeError(path.Root("host").AtName("host"), summaryInvalidConfig,
			"host.host: the real server's host name or address is required when the host block is present.")
	}
	id, err := cluster.ParseVirtualServerID(data.VirtualServerID.ValueString())
	if err != nil {
		return // the attribute's validator reports it
	}
	vs := id.VirtualServer()
	rs := data.toModel()
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, rs.Validate(nil, &vs))
	data.validateHost(ctx, &resp.Diagnostics, req.Config, &vs)
}

// validateHost checks the real-server side the host block describes.
func (m *realServerResourceModel) validateHost(ctx context.Context, diags *diag.Diagnostics, conf tfsdk.Config, vs *model.VirtualServer) {
	if m.Host == nil {
		return
	}
	addConfigErrors(ctx, diags, conf, hostSideErrors(m.hostSide(vs), nil))
}

// ModifyPlan replaces the server when its address or destination port
// changes, checks it against its virtual server as the directors store it
// (a `dr` server with another port than the service's is refused here,
// before anything is touched), and plans the id and host_in_sync.
func (r *realServerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan realServerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, idErr := cluster.ParseVirtualServerID(plan.VirtualServerID.ValueString())
	known := !plan.VirtualServerID.IsUnknown() && idErr == nil
	if !req.State.Raw.IsNull() {
		var state realServerResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if plan.Address.IsUnknown() || addrOf(plan.Address) != addrOf(state.Address) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("address"))
		}
		if plan.Port.IsUnknown() || !samePort(plan.Port, state.Port, id, known) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("port"))
		}
	}
	rsid := types.StringUnknown()
	if known && !plan.Address.IsUnknown() && !plan.Port.IsUnknown() {
		vs := id.VirtualServer()
		if r.client != nil && req.Config.Raw.IsFullyKnown() {
			r.refuseInlineService(ctx, id, &plan, &resp.Diagnostics)
			if stored := r.storedVirtualServer(ctx, id, plan.Connection); stored != nil {
				vs = *stored
			}
			rs := plan.toModel()
			addConfigErrors(ctx, &resp.Diagnostics, req.Config, rs.Validate(nil, &vs))
			plan.validateHost(ctx, &resp.Diagnostics, req.Config, &vs)
		}
		rsid = types.StringValue(plan.rsID(id).String())
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), rsid)...)
	inSync := types.BoolNull()
	if plan.Host != nil {
		inSync = types.BoolValue(true)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("host_in_sync"), inSync)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("managed"), true)...)
}

// samePort reports whether two port values name the same destination port
// (unset means the virtual port).
func samePort(a, b types.Int64, id cluster.VirtualServerID, known bool) bool {
	if a.ValueInt64() == b.ValueInt64() {
		return true
	}
	if !known {
		return false
	}
	eff := func(v types.Int64) int64 {
		if v.IsNull() || v.ValueInt64() == 0 {
			return int64(id.Port)
		}
		return v.ValueInt64()
	}
	return eff(a) == eff(b)
}

// storedVirtualServer is the virtual server as the first reachable
// director of id stores it, or nil (not created yet, or unreachable: the
// apply reports that). It is answered from what the run knows (its own
// writes, the director's latest observation), not by an observe per real
// server.
func (r *realServerResource) storedVirtualServer(ctx context.Context, id cluster.VirtualServerID, conn *sshModel) *model.VirtualServer {
	var diags diag.Diagnostics
	_, cfgs := r.client.directorsOf(ctx, mustSet(ctx, id.Directors), conn, &diags)
	for _, cfg := range cfgs {
		vs, err := r.client.storedService(ctx, cfg, id.Key())
		if err != nil {
			tflog.Debug(ctx, "director not reachable at plan time", map[string]any{"host": cfg.ID(), "error": err.Error()})
			continue
		}
		if vs != nil {
			return vs
		}
	}
	return nil
}

// Create puts the real-server side on the host first (so the first packet
// a director sends is accepted), then the server on every director.
func (r *realServerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data realServerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutCreate, &resp.Diagnostics)
	defer cancel()
	r.apply(ctx, planConfig(req.Plan), nil, &data, &resp.Diagnostics, "Create")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Update puts the changed server on the directors (and host), and removes
// it from directors (and a host) it no longer belongs to.
func (r *realServerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data, state realServerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutUpdate, &resp.Diagnostics)
	defer cancel()
	r.apply(ctx, planConfig(req.Plan), &state, &data, &resp.Diagnostics, "Update")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

func (r *realServerResource) apply(ctx context.Context, conf tfsdk.Config, old, data *realServerResourceModel, diags *diag.Diagnostics, action string) {
	id, err := cluster.ParseVirtualServerID(data.VirtualServerID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("virtual_server_id"), summaryInvalidConfig, err.Error())
		return
	}
	if r.refuseInlineService(ctx, id, data, diags); diags.HasError() {
		return
	}
	vs := id.VirtualServer()
	if stored := r.storedVirtualServer(ctx, id, data.Connection); stored != nil {
		vs = *stored
	}
	rs := data.toModel()
	if err := rs.Validate(nil, &vs); err != nil {
		addConfigErrors(ctx, diags, conf, err)
		return
	}
	rid := data.rsID(id)
	what := "Real Server " + rid.ObjectID()
	dirs, cfgs := r.client.directorsOf(ctx, mustSet(ctx, id.Directors), data.Connection, diags)
	if diags.HasError() {
		return
	}
	var hostCfg *transport.Config
	var side *model.RealServerHost
	if data.Host != nil {
		data.validateHost(ctx, diags, conf, &vs)
		cfg, d := r.client.hostConfig(connectionModel{Host: data.Host.Host, sshModel: data.Host.sshModel})
		diags.Append(d...)
		if diags.HasError() {
			return
		}
		hostCfg, side = &cfg, data.hostSide(&vs)
	}

	// What the old state put where, to remove what the new one does not.
	var oldDel []hostDelete
	var oldHost *transport.Config
	var oldHostKey wire.Key
	had := map[string]bool{} // the directors the old state put this object on
	hadSide := false         // whether the old state put this side on hostCfg
	if old != nil {
		if oid, err := cluster.ParseVirtualServerID(old.VirtualServerID.ValueString()); err == nil {
			ordid := old.rsID(oid)
			oldDirs, oldCfgs := r.client.directorsOf(ctx, mustSet(ctx, oid.Directors), old.Connection, diags)
			for i, d := range oldDirs {
				had[oldCfgs[i].ID()] = ordid.ObjectID() == rid.ObjectID()
				if ordid.ObjectID() != rid.ObjectID() || !containsString(dirs, d) {
					oldDel = append(oldDel, hostDelete{cfg: oldCfgs[i], key: ordid.ObjectKey()})
				}
			}
			if old.Host != nil {
				cfg, d := r.client.hostConfig(connectionModel{Host: old.Host.Host, sshModel: old.Host.sshModel})
				diags.Append(d...)
				oldHostKey = ordid.HostKey()
				if hostCfg == nil || cfg.ID() != hostCfg.ID() || oldHostKey.ID != rid.ObjectID() {
					oldHost = &cfg
				} else {
					hadSide = true
				}
			}
		}
		if diags.HasError() {
			return
		}
	}

	if hostCfg != nil {
		obj := wire.Object{Key: rid.HostKey(), RealServerHost: side}
		if _, err := r.client.writeAs(ctx, *hostCfg, ownerOf("lvs_real_server", rid.String()), !hadSide, []wire.Object{obj}, nil, nil); err != nil {
			addHostError(diags, action, what+" (real-server side)", hostCfg.Host, err)
			return
		}
		r.client.logStats(ctx, *hostCfg, "lvs_real_server")
	}
	obj := wire.Object{Key: rid.ObjectKey(), RealServer: &rs}
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		// A real server imported from a hand-built keepalived.conf (an
		// update, the first after the import): the director's adoption of
		// the file, in the same apply, stores its virtual server (and a copy
		// of it) first.
		if old != nil {
			if err := r.client.awaitKeepalivedAdoption(ctx, cfg, obj.Key); err != nil {
				return err
			}
		}
		_, err := r.client.writeAs(ctx, cfg, ownerOf("lvs_real_server", rid.String()), !had[cfg.ID()], []wire.Object{obj}, nil, nil)
		return err
	}) {
		addHostError(diags, action, what, e.host, e.err)
	}
	for _, e := range eachDelete(ctx, r.client, oldDel) {
		addHostError(diags, action, what, e.host, e.err)
	}
	if oldHost != nil {
		if _, err := r.client.fleet.Apply(ctx, *oldHost, nil, []wire.Key{oldHostKey}); err != nil {
			addHostError(diags, action, what+" (real-server side)", oldHost.Host, err)
		}
	}
	for _, cfg := range cfgs {
		r.client.logStats(ctx, cfg, "lvs_real_server")
	}
	data.ID = types.StringValue(rid.String())
	data.Managed = types.BoolValue(true)
	data.HostInSync = types.BoolNull()
	if data.Host != nil {
		data.HostInSync = types.BoolValue(true)
	}
}

// Read reports what the directors run, and with `host` whether the host
// still has its real-server side. A server a netlink director lacks is
// removed from the state, so the plan creates it again; on a keepalived
// director a server missing from the kernel table is down by health check,
// which is status. An unreachable host is an error.
func (r *realServerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data realServerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	id, err := cluster.ParseVirtualServerID(data.VirtualServerID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("virtual_server_id"), summaryInvalidConfig, err.Error())
		return
	}
	rid := data.rsID(id)
	what := "Real Server " + rid.ObjectID()
	_, cfgs := r.client.directorsOf(ctx, mustSet(ctx, id.Directors), data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	observed := make([]cluster.RealServerState, len(cfgs))
	var mu sync.Mutex
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			return err
		}
		if view, err = r.client.adoptionView(ctx, cfg, view, rid.ObjectKey()); err != nil {
			return err
		}
		st, err := view.RealServer(rid)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range cfgs {
			if cfgs[i].ID() == cfg.ID() {
				observed[i] = st
			}
		}
		return nil
	}) {
		addHostError(&resp.Diagnostics, "Read", what, e.host, e.err)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	next := data
	managed := true
	for i, o := range observed {
		if o.Observed != nil && !o.Stored {
			tflog.Info(ctx, "real server runs on a director without being stored there (built by hand, imported); "+
				"planning to take it over", map[string]any{"host": cfgs[i].ID(), "object": rid.ObjectID()})
			managed = false
		}
	}
	for i, o := range observed {
		if o.Observed == nil {
			tflog.Info(ctx, "real server is gone from a director; planning to create it again",
				map[string]any{"host": cfgs[i].ID(), "object": rid.ObjectID()})
			resp.State.RemoveResource(ctx)
			return
		}
		cand := data.withObserved(o.Observed, o.Method)
		if !reflect.DeepEqual(cand, data) {
			tflog.Info(ctx, "real server differs on a director", map[string]any{"host": cfgs[i].ID(), "object": rid.ObjectID()})
			next = cand
			break
		}
	}
	next.Managed = types.BoolValue(managed)
	next.HostInSync = types.BoolNull()
	if data.Host != nil {
		cfg, d := r.client.hostConfig(connectionModel{Host: data.Host.Host, sshModel: data.Host.sshModel})
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			addHostError(&resp.Diagnostics, "Read", what+" (real-server side)", cfg.Host, err)
			return
		}
		next.HostInSync = types.BoolValue(view.HostSideInSync(rid.ObjectID()))
	}
	next.ID = types.StringValue(rid.String())
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

// Delete drains the server first when asked, removes it from every
// director, then removes its real-server side from the host.
func (r *realServerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data realServerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete.plus(drainTimeoutOf(data.DrainTimeout)), &resp.Diagnostics)
	defer cancel()
	id, err := cluster.ParseVirtualServerID(data.VirtualServerID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("virtual_server_id"), summaryInvalidConfig, err.Error())
		return
	}
	rid := data.rsID(id)
	what := "Real Server " + rid.ObjectID()
	_, cfgs := r.client.directorsOf(ctx, mustSet(ctx, id.Directors), data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	key := rid.ObjectKey()
	if data.DrainOnDestroy.ValueBool() {
		r.drain(ctx, &data, rid, cfgs, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{key})
		return err
	}) {
		addHostError(&resp.Diagnostics, "Delete", what, e.host, e.err)
	}
	if resp.Diagnostics.HasError() || data.Host == nil {
		return
	}
	cfg, d := r.client.hostConfig(connectionModel{Host: data.Host.Host, sshModel: data.Host.sshModel})
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{rid.HostKey()}); err != nil {
		addHostError(&resp.Diagnostics, "Delete", what+" (real-server side)", cfg.Host, err)
	}
}
