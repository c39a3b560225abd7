package provider

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
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
// service's model key. Its real servers are lvs_real_server resources.
type virtualServerResource struct {
	client *client
}

// virtualServerResourceModel is the lvs_virtual_server resource's value:
// where it applies, and the virtual server shape without nested real
// servers and groups.
type virtualServerResourceModel struct {
	ID         types.String `tfsdk:"id"`
	Directors  types.Set    `tfsdk:"directors"`
	Connection *sshModel    `tfsdk:"ssh"`

	virtualServerSettings
	Group   *virtualServerGroupModel `tfsdk:"group"`
	Managed types.Bool               `tfsdk:"managed"`
}

// virtualServerResourceSchema is the schema of lvs_virtual_server.
func virtualServerResourceSchema() schema.Schema {
	specs := virtualServerAttributes()
	delete(specs, "group") // the `group` block instead
	attrs := resourceAttributes(specs)
	attrs["id"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "`KEY@DIRECTORS`: the service's key on each director (`tcp/10.0.0.10:80`, " +
			"`udp/[2001:db8::10]:53`, `fwmark/7`, `fwmark6/7`, `group/NAME/tcp`) and its directors, sorted and comma-separated: " +
			"`tcp/10.0.0.10:80@10.0.0.2,10.0.0.3`. The import ID; `lvs_real_server.virtual_server_id` takes it.",
	}
	attrs["directors"] = directorsAttribute("service")
	attrs["managed"] = managedAttribute("service")
	return schema.Schema{
		MarkdownDescription: "One IPVS virtual service (a VIP, port and protocol, a firewall mark, or a keepalived " +
			"virtual_server_group of several addresses and marks) with its " +
			"scheduler, persistence, default forwarding method, sorry server and health-check defaults, applied on " +
			"every director in `directors`. Each director must be an `lvs_director`: its `engine` decides who " +
			"programs the kernel's table (keepalived, from the generated `keepalived.conf`, or the agent over " +
			"netlink). The real servers are `lvs_real_server` resources that name this one's `id`.\n\n" +
			"Changing the address, port, protocol, fwmark, family or group name replaces the service; every other " +
			"setting (a group's members too), and " +
			"the list of directors, changes in place (the service is put on added directors and removed from " +
			"removed ones, with its real servers).\n\n" +
			"Read reports what the directors really run: the kernel's IPVS table for the scheduler, its flags and " +
			"persistence (a hand edit such as `ipvsadm -E -s rr` shows in the plan), the stored description for " +
			"the rest. A group member whose kernel service was removed by hand is planned back, and the apply puts " +
			"it back. A service removed from a director by hand is planned to be put back on it; a director that " +
			"cannot be reached is an error, never a removal.\n\n" +
			"Import with the `id`: `terraform import lvs_virtual_server.web 'tcp/10.0.0.10:80@10.0.0.2,10.0.0.3'`. " +
			"On a `netlink` director a hand-built service (`ipvsadm -A`) is taken over at the next apply. A service " +
			"of a hand-written `keepalived.conf` (a `virtual_server` block, a group service with its " +
			"`virtual_server_group` included) is read from that file; the apply that takes the file over is the " +
			"director's (`terraform import lvs_director`), and this one's waits for it.",
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			"sorry_server":      virtualServerBlocks()["sorry_server"].resourceBlock(),
			"group":             groupBlockSchema(),
			connectionBlockName: directorsConnectionBlock(),
		},
	}
}

// directorsAttribute is the `directors` set of the virtual and real server.
func directorsAttribute(what string) schema.SetAttribute {
	return schema.SetAttribute{
		ElementType: types.StringType,
		Required:    true,
		MarkdownDescription: "The directors the " + what + " is applied on: the ids of their `lvs_director` " +
			"resources, `[lvs_director.a.id, lvs_director.b.id]` (`user@host:port`), or their hosts as `host`, " +
			"`host:port`, `user@host` or `user@host:port`. They are reached with the provider's SSH settings, " +
			"overridden by the `ssh` block and then by the user and port written here. Adding or removing " +
			"one changes the " + what + " in place.",
		Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(directorCheck{})},
	}
}

// directorsConnectionBlock overrides the provider's SSH settings for the
// directors of a virtual or real server; their hosts come from
// `directors`.
func directorsConnectionBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "SSH settings of the provider to override for every director of `directors` " +
			"(the hosts come from `directors`). Usually absent: the provider's defaults reach the directors as " +
			"they reach the `lvs_director` resources.",
		Attributes: sshOverrideAttributes("the directors"),
	}
}

// sshOverrideAttributes are the provider's SSH settings as optional
// overrides of a resource.
func sshOverrideAttributes(forWhat string) map[string]schema.Attribute {
	attrs := map[string]schema.Attribute{}
	for name, f := range sshFields {
		d := f.description + " Overrides the provider's setting for " + forWhat + "."
		switch f.kind {
		case kindString:
			attrs[name] = schema.StringAttribute{MarkdownDescription: d, Optional: true, Sensitive: f.sensitive,
				Validators: f.stringValidators()}
		case kindInt:
			attrs[name] = schema.Int64Attribute{MarkdownDescription: d, Optional: true, Validators: f.intValidators(),
				CustomType: wholeNumberType{}}
		case kindBool:
			attrs[name] = schema.BoolAttribute{MarkdownDescription: d, Optional: true}
		case kindStrings:
			attrs[name] = schema.ListAttribute{MarkdownDescription: d, Optional: true, ElementType: types.StringType,
				Validators: f.listValidators()}
		}
	}
	return attrs
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
}

// managedAttribute is the computed flag that makes the adoption of an
// imported, hand-built object a planned change.
func managedAttribute(what string) schema.BoolAttribute {
	return schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether every director stores the " + what + " as the provider's own. `false` after " +
			"importing one built by hand (`ipvsadm`) or by a foreign configuration: every plan wants `true`, so the " +
			"next apply takes it over (without interrupting its traffic) and from then on changes and removes it.",
	}
}

// vsIdentityChanges lists the identity attributes whose effective value
// differs between state and plan (or is not known in the plan).
func vsIdentityChanges(state, plan *virtualServerResourceModel) path.Paths {
	var out path.Paths
	add := func(name string, unknown, differs bool) {
		if unknown || differs {
			out = append(out, path.Root(name))
		}
	}
	add("address", plan.Address.IsUnknown(), addrOf(plan.Address) != addrOf(state.Address))
	add("port", plan.Port.IsUnknown(), plan.Port.ValueInt64() != state.Port.ValueInt64())
	add("protocol", plan.Protocol.IsUnknown(),
		orDefault(plan.Protocol.ValueString(), protocolDefault(plan)) != orDefault(state.Protocol.ValueString(), protocolDefault(state)))
	add("fwmark", plan.Fwmark.IsUnknown(), plan.Fwmark.ValueInt64() != state.Fwmark.ValueInt64())
	add("family", plan.Family.IsUnknown(), orDefault(plan.Family.ValueString(), "inet") != orDefault(state.Family.ValueString(), "inet"))
	if (plan.Group == nil) != (state.Group == nil) || plan.Group != nil && (plan.Group.Name.IsUnknown() || plan.groupName() != state.groupName()) {
		out = append(out, path.Root("group").AtName("name"))
	}
	return out
}

// protocolDefault is the protocol an unset one means: tcp, except for a
// fwmark service, which has none.
func protocolDefault(m *virtualServerResourceModel) string {
	if !m.Fwmark.IsNull() && m.Fwmark.ValueInt64() != 0 {
		return ""
	}
	return model.DefaultProtocol
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
	if old != nil {
		oldDirs, oldCfgs := r.client.directorsOf(ctx, old.Directors, old.Connection, diags)
		if diags.HasError() {
			return
		}
		for i, d := range oldDirs {
			if !containsString(dirs, d) {
				gone = append(gone, oldCfgs[i])
			} else if !old.Managed.ValueBool() {
				mayAdopt[oldCfgs[i].ID()] = true
			}
		}
	}
	obj := wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: key}, VirtualServer: &vs, VirtualServerGroup: group}
	if group != nil && !r.groupEngineAllows(ctx, conf, &vs, group, cfgs, diags) {
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
		_, err := r.client.fleet.ApplyAdopting(ctx, cfg, append([]wire.Object{obj}, dests...), nil, adopt)
		return err
	})
	errs = append(errs, eachHost(gone, func(cfg transport.Config) error {
		return removeVirtualServer(ctx, r.client, cfg, key)
	})...)
	for _, e := range errs {
		addHostError(diags, action, "Virtual Server "+key, e.host, e.err)
	}
	for _, cfg := range append(cfgs, gone...) {
		r.client.logStats(ctx, cfg, "lvs_virtual_server")
	}
	data.ID = types.StringValue(cluster.JoinID(key, dirs))
	data.Managed = types.BoolValue(true)
}

// groupEngineAllows refuses a group service on a director whose engine
// cannot run it (netlink), with the model's reason at `group`, before
// anything is sent; the engine comes from the directors' observations.
func (r *virtualServerResource) groupEngineAllows(ctx context.Context, conf tfsdk.Config, vs *model.VirtualServer, g *model.VirtualServerGroup, cfgs []transport.Config, diags *diag.Diagnostics) bool {
	for _, cfg := range cfgs {
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			continue // the apply reports the host
		}
		if engine := view.Engine(); engine != "" && engine != model.DefaultEngine {
			if err := groupServiceErrors(vs, g, engine); err != nil {
				tflog.Info(ctx, "group service refused by the director's engine", map[string]any{"host": cfg.ID(), "engine": engine})
				addConfigErrors(ctx, diags, conf, err)
				return false
			}
		}
	}
	return true
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
	vs := data.toModel()
	key := vs.Key()
	dirs, cfgs := r.client.directorsOf(ctx, data.Directors, data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	states := make([]cluster.ServiceState, len(cfgs))
	observedGroups := make([]*model.VirtualServerGroup, len(cfgs))
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
		} else if st, err = view.VirtualServer(key); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range cfgs {
			if cfgs[i].ID() == cfg.ID() {
				states[i], observedGroups[i] = st, gotGroup
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
	if len(present) != len(dirs) {
		set, d := types.SetValueFrom(ctx, types.StringType, present)
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
	vs := data.toModel()
	key := vs.Key()
	_, cfgs := r.client.directorsOf(ctx, data.Directors, data.Connection, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error { return removeVirtualServer(ctx, r.client, cfg, key) }) {
		addHostError(&resp.Diagnostics, "Delete", "Virtual Server "+key, e.host, e.err)
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

// toModel maps the resource into the model's virtual server.
func (m *virtualServerResourceModel) toModel() model.VirtualServer {
	vs := m.virtualServerSettings.toModel()
	if m.Group != nil {
		vs.Group = m.Group.Name.ValueString()
	}
	return vs
}

// withObserved returns m with every described attribute replaced by what
// obs holds where the two differ in meaning; where they agree, the value
// is kept as written (an unset scheduler stays unset although the kernel
// reports wlc), so only real differences show in the plan.
func (m virtualServerResourceModel) withObserved(obs *model.VirtualServer) virtualServerResourceModel {
	bits := 32
	if obs.IsIPv6() {
		bits = 128
	}
	out := m
	out.Scheduler = keepString(m.Scheduler, obs.Scheduler, model.DefaultScheduler)
	out.SchedulerPort = keepBool(m.SchedulerPort, obs.SchedulerPort)
	out.SchedulerFallback = keepBool(m.SchedulerFallback, obs.SchedulerFallback)
	out.OnePacket = keepBool(m.OnePacket, obs.OnePacket)
	out.PersistenceTimeout = keepInt(m.PersistenceTimeout, obs.PersistenceTimeout)
	out.PersistenceGranularity = keepIntAs(m.PersistenceGranularity, obs.PersistenceGranularity, func(v int) int {
		if v == 0 {
			return bits
		}
		return v
	})
	out.ForwardingMethod = keepString(m.ForwardingMethod, obs.ForwardingMethod, model.DefaultForwardingMethod)
	tunDef := ""
	if obs.EffectiveMethod() == "tun" {
		tunDef = model.DefaultTunnelType
	}
	out.TunnelType = keepString(m.TunnelType, obs.TunnelType, tunDef)
	out.TunnelPort = keepInt(m.TunnelPort, obs.TunnelPort)
	out.DelayLoop = keepInt(m.DelayLoop, obs.DelayLoop)
	out.Retry = keepInt(m.Retry, obs.Retry)
	out.DelayBeforeRetry = keepInt(m.DelayBeforeRetry, obs.DelayBeforeRetry)
	out.ConnectTimeout = keepInt(m.ConnectTimeout, obs.ConnectTimeout)
	out.VirtualHost = keepString(m.VirtualHost, obs.VirtualHost, "")
	out.Quorum = keepInt(m.Quorum, obs.Quorum)
	out.Hysteresis = keepInt(m.Hysteresis, obs.Hysteresis)
	out.QuorumUp = keepString(m.QuorumUp, obs.QuorumUp, "")
	out.QuorumDown = keepString(m.QuorumDown, obs.QuorumDown, "")
	out.Alpha = keepBool(m.Alpha, obs.Alpha)
	out.Omega = keepBool(m.Omega, obs.Omega)
	out.InhibitOnFailure = keepBool(m.InhibitOnFailure, obs.InhibitOnFailure)
	out.SorryServer = keepSorryServer(m.SorryServer, obs.SorryServer)
	return out
}

func keepSorryServer(m *sorryServerModel, obs *model.SorryServer) *sorryServerModel {
	switch {
	case obs == nil:
		return nil
	case m == nil:
		m = &sorryServerModel{Address: iptypes.NewIPAddressNull(), Port: types.Int64Null(),
			ForwardingMethod: types.StringNull(), Inhibit: types.BoolNull()}
	}
	return &sorryServerModel{
		Address:          keepAddr(m.Address, obs.Address),
		Port:             keepInt(m.Port, obs.Port),
		ForwardingMethod: keepString(m.ForwardingMethod, obs.ForwardingMethod, ""),
		Inhibit:          keepBool(m.Inhibit, obs.Inhibit),
	}
}

// splitDirector reads one entry of `directors`: HOST, HOST:PORT,
// USER@HOST or USER@HOST:PORT (an lvs_director's id), IPv6 addresses
// with a port in brackets. A bare IPv6 address is a host.
func splitDirector(s string) (user, host string, port int, err error) {
	bad := func(why string) (string, string, int, error) {
		return "", "", 0, fmt.Errorf("director %q %s; write HOST, HOST:PORT, USER@HOST or USER@HOST:PORT (an lvs_director's id)", s, why)
	}
	rest := s
	if u, h, ok := strings.Cut(s, "@"); ok {
		if u == "" || strings.ContainsAny(u, ":/ ") {
			return bad("has an empty or malformed user")
		}
		user, rest = u, h
	}
	if rest == "" {
		return bad("names no host")
	}
	host = rest
	if h, p, e := net.SplitHostPort(rest); e == nil {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > 65535 || h == "" {
			return bad("has a port that is not a number from 1 to 65535")
		}
		host, port = h, n
	} else if _, e := netip.ParseAddr(rest); e != nil && strings.ContainsAny(rest, ":/@ []") {
		return bad("is not a host name or address")
	}
	// The transport's rules: no blanks, newlines or leading '-'.
	if err := transport.ValidateHost(host); err != nil {
		return bad("is not a host name or address (" + err.Error() + ")")
	}
	if user != "" {
		if err := transport.ValidateUser(user); err != nil {
			return bad("has a malformed user (" + err.Error() + ")")
		}
	}
	return user, host, port, nil
}

// directorsOf resolves a `directors` set, with the resource's connection
// overrides, into the directors' names (sorted) and SSH settings.
func (c *client) directorsOf(ctx context.Context, set types.Set, conn *sshModel, diags *diag.Diagnostics) ([]string, []transport.Config) {
	if c == nil {
		diags.AddError("Provider Not Configured", "The lvs provider was not configured before the resource was used. This is a bug in the provider; please report it.")
		return nil, nil
	}
	dirs, ok := knownStrings(set)
	if !ok {
		diags.AddAttributeError(path.Root("directors"), summaryProviderConfig, unknownDetail)
		return nil, nil
	}
	if c.defaultsErr != nil {
		diags.Append(c.defaultsErr...)
		return nil, nil
	}
	cfgs := make([]transport.Config, 0, len(dirs))
	for _, d := range dirs {
		user, host, port, err := splitDirector(d)
		if err != nil {
			addDirectorError(diags, d, err)
			continue
		}
		cfg := c.defaults
		cfg.KnownHostsFiles = append([]string(nil), c.defaults.KnownHostsFiles...)
		cfg.Host = host
		if conn != nil {
			diags.Append(conn.overlay(ctx, &cfg, path.Root(connectionBlockName))...)
		}
		if user != "" {
			cfg.User = user
		}
		if port != 0 {
			cfg.Port = port
		}
		cfgs = append(cfgs, cfg)
	}
	return dirs, cfgs
}

// knownStrings are the elements of a known set, sorted; ok is false when
// the set or an element is unknown.
func knownStrings(set types.Set) ([]string, bool) {
	if set.IsUnknown() || set.IsNull() {
		return nil, false
	}
	var out []string
	for _, e := range set.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out = append(out, s.ValueString())
	}
	slices.Sort(out)
	return out, true
}

// hostError is a failure on one host.
type hostError struct {
	host string
	err  error
}

// eachHost runs f for every host at once and returns the failures, in
// the hosts' order.
func eachHost(cfgs []transport.Config, f func(transport.Config) error) []hostError {
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(cfg)
		}()
	}
	wg.Wait()
	var out []hostError
	for i, err := range errs {
		if err != nil {
			out = append(out, hostError{host: cfgs[i].ID(), err: err})
		}
	}
	return out
}

// The keep* helpers map an observed model value back to a Terraform
// value: the prior value when both mean the same (an unset attribute
// means its default), else the observed one (null for the zero value,
// which the model reads as unset).

func keepString(prior types.String, obs, def string) types.String {
	if orDefault(prior.ValueString(), def) == orDefault(obs, def) {
		return prior
	}
	if obs == "" {
		return types.StringNull()
	}
	return types.StringValue(obs)
}

// keepInt is for integers whose unset value means 0.
func keepInt(prior types.Int64, obs int) types.Int64 {
	return keepIntAs(prior, obs, func(v int) int { return v })
}

// keepIntAs compares through eff, which applies the default.
func keepIntAs(prior types.Int64, obs int, eff func(int) int) types.Int64 {
	if eff(int(prior.ValueInt64())) == eff(obs) {
		return prior
	}
	if obs == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(obs))
}

func keepBool(prior types.Bool, obs bool) types.Bool {
	if prior.ValueBool() == obs {
		return prior
	}
	if !obs {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}

func keepAddr(prior iptypes.IPAddress, obs netip.Addr) iptypes.IPAddress {
	if addrOf(prior) == obs {
		return prior
	}
	if !obs.IsValid() {
		return iptypes.NewIPAddressNull()
	}
	return iptypes.NewIPAddressValue(obs.String())
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// planConfig views a plan as a configuration, for addConfigErrors, which
// looks up the attributes an error names.
func planConfig(p tfsdk.Plan) tfsdk.Config { return tfsdk.Config(p) }
