package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

var (
	_ resource.ResourceWithConfigure      = (*haproxyBackendResource)(nil)
	_ resource.ResourceWithImportState    = (*haproxyBackendResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*haproxyBackendResource)(nil)
	_ resource.ResourceWithValidateConfig = (*haproxyBackendResource)(nil)
)

// NewHAProxyBackendResource returns the lvs_haproxy_backend resource.
func NewHAProxyBackendResource() resource.Resource {
	return &haproxyBackendResource{}
}

// haproxyBackendResource is one backend of an haproxy host that any of its
// frontends may use, stored there as a wire.KindHAProxyBackend object.
type haproxyBackendResource struct {
	client *client
}

// haproxyBackendResourceModel is the lvs_haproxy_backend resource's value:
// the backend shape, its host and the in-sync flag.
type haproxyBackendResourceModel struct {
	ID            types.String     `tfsdk:"id"`
	Connection    *connectionModel `tfsdk:"ssh"`
	HAProxyInSync types.Bool       `tfsdk:"haproxy_in_sync"`
	haproxyBackendModel
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

func (m *haproxyBackendResourceModel) toModel() model.HAProxyBackend {
	return m.haproxyBackendModel.toModel()
}

func (m *haproxyBackendResourceModel) object() wire.Object {
	b := m.toModel()
	return wire.Object{Key: wire.HAProxyBackendKey(m.Name.ValueString()), HAProxyBackend: &b}
}

// setFromWire replaces the backend by what the host stores, unless the
// current value maps to exactly that (then it is kept as written).
func (m *haproxyBackendResourceModel) setFromWire(stored *model.HAProxyBackend) {
	if reflect.DeepEqual(m.toModel(), *stored) {
		return
	}
	m.haproxyBackendModel = backendFromModel(*stored)
}

// backendFromModel maps a stored backend back into the backend shape.
func backendFromModel(b model.HAProxyBackend) haproxyBackendModel {
	return haproxyBackendModel{
		Name:                 types.StringValue(b.Name),
		Mode:                 optString(b.Mode),
		Balance:              optString(b.Balance),
		BalanceArg:           optString(b.BalanceArg),
		Options:              stringValues(b.Options),
		Servers:              serversFromModel(b.Servers),
		HTTPCheck:            httpCheckFromModel(b.HTTPCheck),
		haproxyTimeoutsModel: timeoutsFromModel(b.Timeouts),
	}
}

// validate checks the backend against the model's rules; its paths
// (backend[0].server[1].port) become the resource's (server[1].port).
func (m *haproxyBackendResourceModel) validate() error {
	cfg := model.HAProxyConfig{Backends: []model.HAProxyBackend{m.toModel()}}
	cfg.Resolvers = standInResolvers(cfg.Backends)
	var out model.Errors
	for _, e := range model.AsErrors(cfg.Validate(nil)) {
		p := e.Path
		if len(p) > 0 && p[0] == "resolvers" {
			continue // a stand-in
		}
		if len(p) >= 2 && p[0] == "backend" {
			p = p[2:]
		}
		out = append(out, &model.FieldError{Path: p, Msg: e.Msg})
	}
	if out == nil {
		return nil
	}
	return out
}

// backendResourceSchema is the schema of lvs_haproxy_backend.
func backendResourceSchema() schema.Schema {
	specs := haproxyBackendAttributes()
	specs["mode"] = enumAttr("Proxy mode of the backend. An http frontend may not use a tcp backend (haproxy refuses it); "+
		"a tcp frontend may use an http one (haproxy upgrades the stream). Unset inherits the host's `defaults` "+
		"(see `lvs_haproxy`), else haproxy's `tcp`.", model.HAProxyModes, "")
	attrs := resourceAttributes(specs)
	attrs["name"] = schema.StringAttribute{
		Required: true,
		MarkdownDescription: "Name of the backend, which frontends of the host name in `default_backend` and `use_backend`. " +
			model.NamePattern + ". Changing it replaces the backend.",
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["id"] = schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: "`NAME@USER@HOST:PORT`: the backend's name and the host it runs on. Import with `NAME@HOST` (or `NAME@USER@HOST:PORT`).",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["haproxy_in_sync"] = inSyncAttribute("haproxy", "haproxy.cfg")
	blocks := resourceBlocks(haproxyBackendBlocks())
	blocks[connectionBlockName] = connectionBlock()
	return withTimeouts(schema.Schema{
		MarkdownDescription: "One haproxy `backend` on an haproxy host, which several `lvs_haproxy_frontend`s of the host " +
			"may use, by `default_backend` and by `use_backend` rules: servers, balancing, health checks and options. " +
			"The host's agent rebuilds `haproxy.cfg` from all the host's objects, checks it with `haproxy -c` and reloads " +
			"haproxy without dropping connections: adding, removing or reweighting a server is a hitless reload.\n\n" +
			"A backend removed from the host by hand is planned for creation again; a server down by health check is " +
			"status (see `data.lvs_director_status`), never a difference in the plan. A backend that a frontend of the " +
			"host still names cannot be destroyed before that frontend stops naming it (the agent refuses the " +
			"configuration haproxy would refuse).\n\n" +
			"Import with `NAME@HOST`, such as `static@10.0.0.20`.",
		Attributes: attrs,
		Blocks:     blocks,
	})
}

// Metadata names the resource.
func (r *haproxyBackendResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_haproxy_backend"
}

// Schema is backendResourceSchema.
func (r *haproxyBackendResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = backendResourceSchema()
}

// Configure takes the provider's client.
func (r *haproxyBackendResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the backend against the model's rules at plan time.
func (r *haproxyBackendResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data haproxyBackendResourceModel
	if !knownConfig(ctx, req.Config, "lvs_haproxy_backend", &data, &resp.Diagnostics) {
		return
	}
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, data.validate())
}

// ModifyPlan plans haproxy_in_sync true (see lvs_haproxy_frontend).
func (r *haproxyBackendResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("haproxy_in_sync"), true)...)
}

// Create stores the backend on the host; the agent rebuilds haproxy.cfg.
func (r *haproxyBackendResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data haproxyBackendResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutCreate, &resp.Diagnostics)
	defer cancel()
	r.put(ctx, &data, &resp.Diagnostics, "Create")
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
	}
}

// Update stores the changed backend; the agent reloads haproxy hitlessly.
func (r *haproxyBackendResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data haproxyBackendResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutUpdate, &resp.Diagnostics)
	defer cancel()
	r.put(ctx, &data, &resp.Diagnostics, "Update")
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
	}
}

func (r *haproxyBackendResource) put(ctx context.Context, data *haproxyBackendResourceModel, diags *diag.Diagnostics, action string) {
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	obj := data.object()
	if action == "Update" {
		if err := r.client.awaitHAProxyAdoption(ctx, cfg, obj.Key); err != nil {
			addHostError(diags, action, "HAProxy Backend", cfg.ID(), err)
			return
		}
	}
	owner := ownerOf("lvs_haproxy_backend", data.Name.ValueString()+"@"+cfg.ID())
	if _, err := r.client.writeAs(ctx, cfg, owner, action == "Create", []wire.Object{obj}, nil, nil); err != nil {
		addHostError(diags, action, "HAProxy Backend", cfg.ID(), err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy_backend")
	data.ID = types.StringValue(data.Name.ValueString() + "@" + cfg.ID())
	data.HAProxyInSync = types.BoolValue(true)
}

// Read reports what the host stores for the backend (through the cluster
// view) and whether haproxy runs the config the host's objects render to.
func (r *haproxyBackendResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data haproxyBackendResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := data.Name.ValueString()
	view, err := r.client.view(ctx, cfg)
	r.client.logStats(ctx, cfg, "lvs_haproxy_backend")
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Backend", cfg.ID(), err)
		return
	}
	stored := view.HAProxyBackend(name)
	inSync := view.HAProxyInSync()
	if stored == nil {
		if o := r.client.handBuiltHAProxy(ctx, cfg, view, wire.HAProxyBackendKey(name), &resp.Diagnostics); o != nil {
			stored, inSync = o.HAProxyBackend, false // the apply takes the hand-built haproxy.cfg over
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if stored == nil {
		if owner := r.client.handBuiltBackendOwner(ctx, cfg, view, name); owner != "" {
			resp.Diagnostics.AddError("HAProxy Backend Belongs to a Frontend",
				fmt.Sprintf("Host: %s\nObject: %s\n\nThe hand-built %s names backend %q only as frontend %q's "+
					"default_backend, so the import keeps it as that frontend's own: import lvs_haproxy_frontend %q "+
					"(id \"%s@%s\"), which carries its servers, balance and checks, and not this backend.",
					cfg.ID(), wire.HAProxyBackendKey(name), "/etc/haproxy/haproxy.cfg", name, owner, owner, owner, cfg.ID()))
			return
		}
		tflog.Info(ctx, "haproxy backend is gone from the host; planning to create it again",
			map[string]any{"host": cfg.ID(), "object": wire.HAProxyBackendKey(name).String()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.setFromWire(stored)
	data.ID = types.StringValue(name + "@" + cfg.ID())
	data.HAProxyInSync = types.BoolValue(inSync)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Delete removes the backend from the host; the agent refuses it while a
// frontend of the host still names it.
func (r *haproxyBackendResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data haproxyBackendResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{wire.HAProxyBackendKey(data.Name.ValueString())})
	r.client.logStats(ctx, cfg, "lvs_haproxy_backend")
	if err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Backend", cfg.ID(), err)
	}
}

// ImportState reads NAME@HOST as lvs_haproxy_frontend's import does.
func (r *haproxyBackendResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, hostID, _ := strings.Cut(req.ID, "@")
	conn, err := importConnection(hostID)
	if name == "" || err != nil {
		addImportIDError(&resp.Diagnostics, req.ID, "NAME@HOST (HOST as `host`, `user@host` or `user@host:port`)", "static@10.0.0.20", err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName), conn)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
