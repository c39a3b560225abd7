package provider

import (
	"context"
	"fmt"
	"reflect"
	"sync"

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
	_ resource.ResourceWithConfigure      = (*virtualServerResource)(nil)
	_ resource.ResourceWithImportState    = (*virtualServerResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*virtualServerResource)(nil)
	_ resource.ResourceWithValidateConfig = (*virtualServerResource)(nil)
)

// NewVirtualServerResource returns the lvs_virtual_server resource.
func NewVirtualServerResource() resource.Resource {
	return &virtualServerResource{}
}

// virtualServerResource is one IPVS service on every director it names,
// stored on each as a wire.KindVirtualServer object whose ID is the
// service's model key. Its real servers are lvs_real_server resources, or
// its own real_server blocks, stored inline in its object
// (virtual_server_inline.go).
type virtualServerResource struct {
	client *client
}

// virtualServerResourceModel is the lvs_virtual_server resource's value:
// where it applies, the virtual server shape, its group and its inline
// real servers.
type virtualServerResourceModel struct {
	ID         types.String `tfsdk:"id"`
	Directors  types.Set    `tfsdk:"directors"`
	Connection *sshModel    `tfsdk:"ssh"`

	virtualServerSettings
	SorryServer *sorryServerResourceModel `tfsdk:"sorry_server"`
	Group       *virtualServerGroupModel  `tfsdk:"group"`
	RealServers []inlineRealServerModel   `tfsdk:"real_server"`
	// FwmarkMatch: see virtual_server_fwmark.go.
	FwmarkMatch []fwmarkMatchModel `tfsdk:"fwmark_match"`
	Managed     types.Bool         `tfsdk:"managed"`
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// Metadata names the resource.
func (r *virtualServerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_virtual_server"
}

// Schema is virtualServerResourceSchema.
func (r *virtualServerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = virtualServerResourceSchema()
}

// Configure takes the provider's client.
func (r *virtualServerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the service against the model's rules at plan time.
func (r *virtualServerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data virtualServerResourceModel
	if !knownConfig(ctx, req.Config, "lvs_virtual_server", &data, &resp.Diagnostics) {
		return
	}
	vs := data.toModel()
	if vs.Group != "" {
		addConfigErrors(ctx, &resp.Diagnostics, req.Config, groupServiceErrors(&vs, data.groupModel(), ""))
	} else {
		addConfigErrors(ctx, &resp.Diagnostics, req.Config, vs.Validate(nil))
	}
	validateInline(ctx, &resp.Diagnostics, req.Config, data.RealServers, &vs)
	validateSorry(ctx, &resp.Diagnostics, req.Config, data.SorryServer, &vs)
	// Each entry of `directors` is checked by its validator (directorCheck).
}

// ModifyPlan replaces the resource when the service's key changes (an
// unset protocol and "tcp" are the same key) and plans the id.
func (r *virtualServerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan virtualServerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state virtualServerResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		resp.RequiresReplace = append(resp.RequiresReplace, vsIdentityChanges(&state, &plan)...)
	}
	id := types.StringUnknown()
	if key, ok := plan.key(); ok {
		if dirs, ok := knownStrings(plan.Directors); ok {
			id = types.StringValue(cluster.JoinID(key, dirs))
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("managed"), true)...)
	resp.Diagnostics.Append(planInline(ctx, &resp.Plan, plan.RealServers)...)
	resp.Diagnostics.Append(planSorry(ctx, &resp.Plan, plan.SorryServer)...)
}

// key is the service's key, when the identity is known.
func (m *virtualServerResourceModel) key() (string, bool) {
	groupUnknown := m.Group != nil && m.Group.Name.IsUnknown()
	for _, unknown := range []bool{m.Address.IsUnknown(), m.Port.IsUnknown(), m.Protocol.IsUnknown(), m.Fwmark.IsUnknown(), m.Family.IsUnknown(), groupUnknown} {
		if unknown {
			return "", false
		}
	}
	vs := m.toModel()
	return vs.Key(), true
}

// Create puts the service on every director.
func (r *virtualServerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data virtualServerResourceModel
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

// Update puts the changed service on every director of the plan and
// removes it, with its real servers, from the directors no longer named.
func (r *virtualServerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data, state virtualServerResourceModel
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

// apply puts data's service on its directors, and, when old is given,
// removes it from the directors old names and data does not.
func (r *virtualServerResource) apply(ctx context.Context, conf tfsdk.Config, old, data *virtualServerResourceModel, diags *diag.Diagnostics, action string) {
	vs := data.toModel()
	group := data.groupModel()
	verr := vs.Validate(nil)
	if vs.Group != "" {
		verr = groupServiceErrors(&vs, group, "")
	}
	if verr != nil {
		addConfigErrors(ctx, diags, conf, verr)
		return
	}
	key := vs.Key()
	dirs, cfgs := r.client.directorsOf(ctx, data.Directors, data.Connection, diags)
	if diags.HasError() {
		return
	}
	var gone []transport.Config
	// Only a director the state already names may have its service taken
	// over (imported, managed = false): on a new resource or an added
	// director, a service that exists without being ours is refused as
	// foreign, since adopting is an explicit import (DESIGN.md principle 3).
	mayAdopt := map[string]bool{}
	had := map[string]bool{} // the hosts the old state put the service on
	if old != nil {
		oldDirs, oldCfgs := r.client.directorsOf(ctx, old.Directors, old.Connection, diags)
		if diags.HasError() {
			return
		}
		for i, d := range oldDirs {
			had[oldCfgs[i].ID()] = true
			if !containsString(dirs, d) {
				gone = append(gone, oldCfgs[i])
			} else if !old.Managed.ValueBool() {
				mayAdopt[oldCfgs[i].ID()] = true
			}
		}
	}
	obj := wire.Object{Key: wire.VirtualServerKey(key), VirtualServer: &vs, VirtualServerGroup: group}
	if group != nil && !r.groupEngineAllows(ctx, conf, &vs, group, cfgs, diags) {
		return
	}
	inline := r.prepareInline(ctx, conf, old, data, &vs, group, dirs, cfgs, mayAdopt, diags, action)
	if diags.HasError() {
		return
	}
	staleSorry := r.prepareSorry(ctx, conf, old, data, &vs, dirs, diags, action)
	if diags.HasError() {
		return
	}
	errs := eachHost(cfgs, func(cfg transport.Config) error {
		var adopt []wire.Key
		var dests []wire.Object
		if mayAdopt[cfg.ID()] {
			var err error
			if adopt, dests, err = r.adoptions(ctx, cfg, obj.Key); err != nil {
				return err
			}
		}
		if len(vs.RealServers) > 0 {
			dests = nil // the inline real servers are the destinations
		}
		_, err := r.client.writeAs(ctx, cfg, ownerOf("lvs_virtual_server", cluster.JoinID(key, dirs)), !had[cfg.ID()],
			append([]wire.Object{obj}, dests...), inline.deletes[cfg.ID()], adopt)
		return err
	})
	errs = append(errs, eachHost(gone, func(cfg transport.Config) error {
		return removeVirtualServer(ctx, r.client, cfg, key)
	})...)
	for _, e := range errs {
		addHostError(diags, action, "Virtual Server "+key, e.host, e.err)
	}
	if !diags.HasError() {
		r.client.applyHostSides(ctx, inline.staleSides, true, action, "Virtual Server "+key, diags)
		r.client.applyHostSides(ctx, staleSorry, true, action, "Virtual Server "+key+" sorry server", diags)
	}
	for _, cfg := range append(cfgs, gone...) {
		r.client.logStats(ctx, cfg, "lvs_virtual_server")
	}
	data.ID = types.StringValue(cluster.JoinID(key, dirs))
	data.Managed = types.BoolValue(true)
	data.sorryApplied()
	for i := range data.RealServers {
		data.RealServers[i].HostInSync = types.BoolNull()
		if data.RealServers[i].Host != nil {
			data.RealServers[i].HostInSync = types.BoolValue(true)
		}
	}
}

// adoptions looks at the director for the service's IPVS entry running
// there without being stored (built by hand and imported into Terraform):
// the apply then adopts it instead of refusing it as foreign, and takes
// over its destinations as they run (real server objects read from the
// kernel), so that adopting it does not remove them; their
// lvs_real_server resources, when imported too, then replace them.
func (r *virtualServerResource) adoptions(ctx context.Context, cfg transport.Config, key wire.Key) ([]wire.Key, []wire.Object, error) {
	// A service of an imported hand-built keepalived.conf: the director's
	// adoption of the file, in the same apply, stores it first.
	if err := r.client.awaitKeepalivedAdoption(ctx, cfg, key); err != nil {
		return nil, nil, err
	}
	view, err := r.client.view(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	adopt, puts := view.ServiceAdoption(key)
	return adopt, puts, nil
}

// removeVirtualServer deletes the service from one director, with every
// real server stored under it (the agent refuses real servers without
// their virtual server).
func removeVirtualServer(ctx context.Context, c *client, cfg transport.Config, key string) error {
	view, err := c.view(ctx, cfg)
	if err != nil {
		return err
	}
	_, err = c.fleet.Apply(ctx, cfg, nil, view.ServiceRemoval(key))
	return err
}

// Read reports what the directors run. A director whose kernel table
// lacks the service is dropped from `directors`, so the plan puts it back;
// when no director has it, the resource is removed from the state and the
// plan creates it again. An unreachable director is an error.
func (r *virtualServerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data virtualServerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	vs := data.toModel()
	key := vs.Key()
	dirs, cfgs := r.client.directorsOf(ctx, data.Directors, data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	states := make([]cluster.ServiceState, len(cfgs))
	observedGroups := make([]*model.VirtualServerGroup, len(cfgs))
	views := make([]*cluster.View, len(cfgs))
	var mu sync.Mutex
	errs := eachHost(cfgs, func(cfg transport.Config) error {
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			return err
		}
		var st cluster.ServiceState
		var gotGroup *model.VirtualServerGroup
		if vs.Group != "" {
			if err := view.RequireIPVS(); err != nil {
				return err
			}
			prior, priorGroup := &vs, data.groupModel()
			hb, err := r.client.handBuiltService(ctx, cfg, view, key)
			if err != nil {
				return err
			}
			if hb != nil {
				prior, priorGroup = hb.VirtualServer, hb.VirtualServerGroup
			}
			st.Stored = view.Stored(wire.VirtualServerKey(key))
			if st.Observed, gotGroup = view.GroupService(key, prior, priorGroup); st.Observed != nil {
				st.Presence = cluster.Running
			} else if st.Stored {
				st.Presence = cluster.Missing
			}
		} else {
			if view, err = r.client.adoptionView(ctx, cfg, view, wire.VirtualServerKey(key)); err != nil {
				return err
			}
			if st, err = view.VirtualServer(key); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range cfgs {
			if cfgs[i].ID() == cfg.ID() {
				states[i], observedGroups[i], views[i] = st, gotGroup, view
			}
		}
		return nil
	})
	for _, e := range errs {
		addHostError(&resp.Diagnostics, "Read", "Virtual Server "+key, e.host, e.err)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// A director that runs the service, or stores one that is absent from
	// the kernel by design (no real servers yet under keepalived), has it;
	// one that stores it while the kernel lacks it has lost it (removed by
	// hand, a failed apply) and is dropped from `directors`, so the plan
	// puts it back. Only a service no director stores or runs is gone.
	var present []string
	var running []*cluster.View // the views of the directors that have the service, for its real_server blocks
	next := data
	next.Managed = types.BoolValue(true)
	drifted, known := false, false
	for i, st := range states {
		switch st.Presence {
		case cluster.Gone:
			tflog.Info(ctx, "virtual server is gone from a director; planning to put it back",
				map[string]any{"host": cfgs[i].ID(), "object": key})
			continue
		case cluster.Missing:
			known = true
			tflog.Info(ctx, "virtual server is stored on a director whose kernel lacks it; planning to put it back",
				map[string]any{"host": cfgs[i].ID(), "object": key})
			continue
		case cluster.NotRendered:
			known = true
			present = append(present, dirs[i])
			continue // nothing runs to compare; the stored description is the state's
		}
		known = true
		got := st.Observed
		present = append(present, dirs[i])
		running = append(running, views[i])
		if !st.Stored {
			tflog.Info(ctx, "virtual server runs on a director without being stored there (built by hand, imported); "+
				"planning to take it over", map[string]any{"host": cfgs[i].ID(), "object": key})
			next.Managed = types.BoolValue(false)
		}
		if drifted {
			continue
		}
		cand := data.withObserved(got)
		if vs.Group != "" {
			cand.Family = keepString(data.Family, got.Family, "inet")
			cand.Group = keepGroup(data.Group, observedGroups[i])
		}
		cand.RealServers = data.RealServers
		if !reflect.DeepEqual(cand, data) {
			cand.Managed = next.Managed
			next, drifted = cand, true
			tflog.Info(ctx, "virtual server differs on a director", map[string]any{"host": cfgs[i].ID(), "object": key})
		}
	}
	if !known {
		resp.State.RemoveResource(ctx)
		return
	}
	if vsid, err := cluster.ParseVirtualServerID(cluster.JoinID(key, dirs)); err == nil {
		blocks, herr := r.client.observedInline(ctx, data.RealServers, vsid, running)
		if herr != nil {
			addHostError(&resp.Diagnostics, "Read", "Virtual Server "+key, herr.host, herr.err)
			return
		}
		next.RealServers = blocks
		if herr := r.client.observeSorry(ctx, next.SorryServer, vsid); herr != nil {
			addHostError(&resp.Diagnostics, "Read", "Virtual Server "+key, herr.host, herr.err)
			return
		}
	}
	if len(present) != len(dirs) {
		// An empty set, not null: no director runs it, and the update
		// that puts it back reads the prior directors.
		set, d := types.SetValueFrom(ctx, types.StringType, append([]string{}, present...))
		resp.Diagnostics.Append(d...)
		next.Directors = set
	}
	next.ID = types.StringValue(cluster.JoinID(key, dirs))
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

// Delete removes the service, with any real server still stored under it,
// from every director.
func (r *virtualServerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data virtualServerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete, &resp.Diagnostics)
	defer cancel()
	vs := data.toModel()
	key := vs.Key()
	_, cfgs := r.client.directorsOf(ctx, data.Directors, data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.drainInlineOnDestroy(ctx, &data, &vs, cfgs, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error { return removeVirtualServer(ctx, r.client, cfg, key) }) {
		addHostError(&resp.Diagnostics, "Delete", "Virtual Server "+key, e.host, e.err)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if vsid, err := cluster.ParseVirtualServerID(data.ID.ValueString()); err == nil {
		sides := r.client.inlineHostSides(data.RealServers, vsid, &vs, &resp.Diagnostics)
		sides = append(sides, r.client.sorryHostSides(data.SorryServer, vsid, &vs, &resp.Diagnostics)...)
		r.client.applyHostSides(ctx, sides, true, "Delete", "Virtual Server "+key, &resp.Diagnostics)
	}
}

// ImportState reads KEY@DIRECTORS; Read then fills in the rest from the
// directors.
func (r *virtualServerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, err := cluster.ParseVirtualServerID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("The import ID %q is not a virtual server id: %s.", req.ID, err))
		return
	}
	set := func(name string, v any) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v)...)
	}
	switch {
	case id.Group != "":
		set("group", &virtualServerGroupModel{Name: types.StringValue(id.Group)})
		if id.Protocol != model.DefaultProtocol {
			set("protocol", types.StringValue(id.Protocol))
		}
	case id.Fwmark != 0:
		set("fwmark", types.Int64Value(int64(id.Fwmark)))
		if id.Family != "inet" {
			set("family", types.StringValue(id.Family))
		}
	default:
		set("address", iptypes.NewIPAddressValue(id.Address.String()))
		set("port", types.Int64Value(int64(id.Port)))
		if id.Protocol != model.DefaultProtocol {
			set("protocol", types.StringValue(id.Protocol))
		}
	}
	dirs, d := types.SetValueFrom(ctx, types.StringType, id.Directors)
	resp.Diagnostics.Append(d...)
	set("directors", dirs)
	set("id", types.StringValue(id.String()))
}
