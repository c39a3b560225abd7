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

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

var (
	_ resource.ResourceWithConfigure      = (*haproxyFrontendResource)(nil)
	_ resource.ResourceWithImportState    = (*haproxyFrontendResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*haproxyFrontendResource)(nil)
	_ resource.ResourceWithValidateConfig = (*haproxyFrontendResource)(nil)
)

// NewHAProxyFrontendResource returns the lvs_haproxy_frontend resource.
func NewHAProxyFrontendResource() resource.Resource {
	return &haproxyFrontendResource{}
}

// haproxyFrontendResource is one frontend with its own backend on an
// haproxy host, stored there as a wire.KindHAProxyFrontend object.
type haproxyFrontendResource struct {
	client *client
}

// frontendSchemaAttributes are the frontend's own attributes as the
// resource carries them: the shared frontend shape without default_backend
// (the frontend's own backend is its default backend).
func frontendSchemaAttributes() map[string]attrSpec {
	attrs := haproxyFrontendAttributes()
	delete(attrs, "default_backend")
	attrs["mode"] = enumAttr("Proxy mode of the frontend and its backend (haproxy joins only equal modes). "+
		"Unset inherits the host's `defaults` (see `lvs_haproxy`), else haproxy's `tcp`.", model.HAProxyModes, "")
	return attrs
}

// frontendSchemaBlocks are bind and acl; routing to other backends
// (use_backend) is left to `options`, since this resource owns one backend.
func frontendSchemaBlocks() map[string]blockSpec {
	blocks := haproxyFrontendBlocks()
	delete(blocks, "use_backend")
	return blocks
}

// frontendBackendBlock is the frontend's own backend, named like the frontend.
func frontendBackendBlock() blockSpec {
	attrs := haproxyBackendAttributes()
	delete(attrs, "name")
	delete(attrs, "mode")
	return blockSpec{
		single: true,
		description: "The frontend's own `backend` section, named like the frontend and its `default_backend`: " +
			"servers, balancing and health checks. A server that fails its health check is status " +
			"(see `data.lvs_director_status`), never a difference in the plan.",
		attrs:  attrs,
		blocks: haproxyBackendBlocks(),
	}
}

// haproxyFrontendResourceModel is the lvs_haproxy_frontend resource's value.
type haproxyFrontendResourceModel struct {
	ID            types.String       `tfsdk:"id"`
	Connection    *connectionModel   `tfsdk:"ssh"`
	Name          types.String       `tfsdk:"name"`
	Mode          types.String       `tfsdk:"mode"`
	Maxconn       types.Int64        `tfsdk:"maxconn"`
	Options       []types.String     `tfsdk:"options"`
	Binds         []haproxyBindModel `tfsdk:"bind"`
	ACLs          []haproxyACLModel  `tfsdk:"acl"`
	Backend       *frontendBackend   `tfsdk:"backend"`
	HAProxyInSync types.Bool         `tfsdk:"haproxy_in_sync"`
	haproxyTimeoutsModel
}

// frontendBackend is the backend block: the backend shape without its name
// and mode, which are the frontend's.
type frontendBackend struct {
	Balance    types.String           `tfsdk:"balance"`
	BalanceArg types.String           `tfsdk:"balance_arg"`
	Options    []types.String         `tfsdk:"options"`
	Servers    []haproxyServerModel   `tfsdk:"server"`
	HTTPCheck  *haproxyHTTPCheckModel `tfsdk:"http_check"`
	haproxyTimeoutsModel
}

// toWire maps the resource into the object stored on the host.
func (m *haproxyFrontendResourceModel) toWire() wire.HAProxyFrontend {
	f := haproxyFrontendModel{
		Name: m.Name, Mode: m.Mode, Maxconn: m.Maxconn, DefaultBackend: m.Name,
		Options: m.Options, Binds: m.Binds, ACLs: m.ACLs, haproxyTimeoutsModel: m.haproxyTimeoutsModel,
	}
	b := haproxyBackendModel{Name: m.Name, Mode: m.Mode}
	if be := m.Backend; be != nil {
		b.Balance, b.BalanceArg, b.Options = be.Balance, be.BalanceArg, be.Options
		b.Servers, b.HTTPCheck, b.haproxyTimeoutsModel = be.Servers, be.HTTPCheck, be.haproxyTimeoutsModel
	}
	return wire.HAProxyFrontend{Frontend: f.toModel(), Backend: b.toModel()}
}

// object is the stored desired-state document of the frontend.
func (m *haproxyFrontendResourceModel) object() wire.Object {
	fe := m.toWire()
	return wire.Object{Key: frontendKey(m.Name.ValueString()), HAProxyFrontend: &fe}
}

func frontendKey(name string) wire.Key {
	return wire.Key{Kind: wire.KindHAProxyFrontend, ID: name}
}

// setFromWire replaces the described attributes by what the host stores.
// When the stored object is the one the current value maps to, the value
// is kept as written (an explicit `check = false` stays false instead of
// becoming null), so only a real difference shows in the plan.
func (m *haproxyFrontendResourceModel) setFromWire(stored *wire.HAProxyFrontend) {
	if reflect.DeepEqual(m.toWire(), *stored) {
		return
	}
	f, b := stored.Frontend, stored.Backend
	m.Name = types.StringValue(f.Name)
	m.Mode = nullString(f.Mode)
	m.Maxconn = nullInt(f.Maxconn)
	m.Options = stringValues(f.Options)
	m.Binds = bindsFromModel(f.Binds)
	m.ACLs = aclsFromModel(f.ACLs)
	m.haproxyTimeoutsModel = timeoutsFromModel(f.Timeouts)
	be := &frontendBackend{
		Balance:              nullString(b.Balance),
		BalanceArg:           nullString(b.BalanceArg),
		Options:              stringValues(b.Options),
		Servers:              serversFromModel(b.Servers),
		HTTPCheck:            httpCheckFromModel(b.HTTPCheck),
		haproxyTimeoutsModel: timeoutsFromModel(b.Timeouts),
	}
	m.Backend = be
	if reflect.ValueOf(*be).IsZero() {
		m.Backend = nil
	}
}

// validate checks the frontend and its backend against the model's rules,
// as a configuration of their own, and reports each broken rule at the
// resource's attribute: frontend[0].x is x, backend[0].x is backend.x (its
// name and mode are the frontend's). Rules between this frontend and the
// rest of the host (a port another frontend binds) are the agent's to
// check at apply, where every object of the host is known.
func (m *haproxyFrontendResourceModel) validate() error {
	fe := m.toWire()
	cfg := model.HAProxyConfig{Frontends: []model.HAProxyFrontend{fe.Frontend}, Backends: []model.HAProxyBackend{fe.Backend}}
	errs := model.AsErrors(cfg.Validate(nil))
	if errs == nil {
		return nil
	}
	var out model.Errors
	for _, e := range errs {
		p := e.Path
		if len(p) >= 2 && p[0] == "frontend" {
			p = p[2:]
		} else if len(p) >= 2 && p[0] == "backend" {
			p = p[2:]
			if len(p) == 0 || (p[0] != "name" && p[0] != "mode") {
				p = append(model.Path{"backend"}, p...)
			}
		}
		out = append(out, &model.FieldError{Path: p, Msg: e.Msg})
	}
	return out
}

// frontendResourceSchema is the schema of lvs_haproxy_frontend.
func frontendResourceSchema() schema.Schema {
	attrs := resourceAttributes(frontendSchemaAttributes())
	name := attrs["name"].(schema.StringAttribute)
	name.PlanModifiers = []planmodifier.String{stringplanmodifier.RequiresReplace()}
	attrs["name"] = name
	attrs["id"] = schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: "`NAME@HOST`: the frontend's name and the host it runs on; the import ID.",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["haproxy_in_sync"] = inSyncAttribute("haproxy", "haproxy.cfg")
	blocks := resourceBlocks(frontendSchemaBlocks())
	blocks["backend"] = frontendBackendBlock().resourceBlock()
	blocks[connectionBlockName] = connectionBlock()
	return schema.Schema{
		MarkdownDescription: "One haproxy `frontend` with its own `backend` on an haproxy host. " +
			"Several frontends (and one `lvs_haproxy` for the `global` and `defaults` sections) share a host: " +
			"the host's agent rebuilds `haproxy.cfg` from all of them, checks it with `haproxy -c` and reloads " +
			"haproxy without dropping connections.\n\n" +
			"The plan shows drift of what the host runs: a frontend removed from the host is planned for " +
			"creation again, and a hand-edited `haproxy.cfg` or a stopped haproxy plans `haproxy_in_sync` " +
			"back to `true`, which apply restores. Server health is status, not drift.\n\n" +
			"Import with `NAME@HOST`, such as `web@10.0.0.20`.",
		Attributes: attrs,
		Blocks:     blocks,
	}
}

// inSyncAttribute is the computed flag that makes a daemon's drift a plan:
// Read sets it from the host, ModifyPlan plans it true.
func inSyncAttribute(daemon, file string) schema.BoolAttribute {
	return schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether " + daemon + " runs with the `" + file + "` this host's stored objects render to. " +
			"`false` after a hand edit of the file or when " + daemon + " is stopped; every plan wants `true`, " +
			"so such drift shows as a change that apply repairs.",
	}
}

// Metadata names the resource.
func (r *haproxyFrontendResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_haproxy_frontend"
}

// Schema is frontendResourceSchema.
func (r *haproxyFrontendResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = frontendResourceSchema()
}

// Configure takes the provider's client.
func (r *haproxyFrontendResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the frontend and its backend against the model's
// rules at plan time.
func (r *haproxyFrontendResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		tflog.Debug(ctx, "Configuration has unknown values; its rules are checked at apply",
			map[string]any{"resource": "lvs_haproxy_frontend"})
		return
	}
	var data haproxyFrontendResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, data.validate())
}

// ModifyPlan plans haproxy_in_sync true: a host whose haproxy is stopped
// or runs a hand-edited haproxy.cfg then shows a change.
func (r *haproxyFrontendResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("haproxy_in_sync"), true)...)
}

// Create stores the frontend on the host; the agent rebuilds haproxy.cfg
// and reloads haproxy.
func (r *haproxyFrontendResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data haproxyFrontendResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.put(ctx, &data, &resp.Diagnostics, "Create")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Update stores the changed frontend; the agent reloads haproxy without
// dropping connections. An update that changes nothing in the object
// (haproxy_in_sync planned back to true) still rebuilds haproxy.cfg and
// starts haproxy, which repairs the drift.
func (r *haproxyFrontendResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data haproxyFrontendResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.put(ctx, &data, &resp.Diagnostics, "Update")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

func (r *haproxyFrontendResource) put(ctx context.Context, data *haproxyFrontendResourceModel, diags *diag.Diagnostics, action string) {
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	obj := data.object()
	if _, err := r.client.fleet.Apply(ctx, cfg, []wire.Object{obj}, nil); err != nil {
		addHostError(diags, action, "HAProxy Frontend", cfg.Host, err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy_frontend")
	data.ID = types.StringValue(data.Name.ValueString() + "@" + cfg.Host)
	data.HAProxyInSync = types.BoolValue(true)
}

// Read reports what the host runs: the stored frontend (absent: removed
// from state, so the plan creates it again) and whether haproxy runs the
// config the host's objects render to. An unreachable host is an error.
func (r *haproxyFrontendResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data haproxyFrontendResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := frontendKey(data.Name.ValueString())
	obs, err := r.client.fleet.Observe(ctx, cfg)
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Frontend", cfg.Host, err)
		return
	}
	stored := findObject(obs, key)
	if stored == nil || stored.HAProxyFrontend == nil {
		tflog.Info(ctx, "haproxy frontend is gone from the host; planning to create it again",
			map[string]any{"host": cfg.ID(), "object": key.String()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.setFromWire(stored.HAProxyFrontend)
	data.ID = types.StringValue(data.Name.ValueString() + "@" + cfg.Host)
	data.HAProxyInSync = types.BoolValue(daemonInSync(obs.HAProxy))
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Delete removes the frontend from the host; the agent rebuilds
// haproxy.cfg without it, or stops haproxy and removes the file when it
// was the host's last haproxy object.
func (r *haproxyFrontendResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data haproxyFrontendResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := frontendKey(data.Name.ValueString())
	if _, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{key}); err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Frontend", cfg.Host, err)
	}
}

// ImportState reads NAME@HOST: the frontend's name and the host. Settings
// other than the host come from the provider's defaults.
func (r *haproxyFrontendResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, host, ok := strings.Cut(req.ID, "@")
	if !ok || name == "" || host == "" || strings.Contains(host, "@") {
		addImportIDError(&resp.Diagnostics, req.ID, "NAME@HOST", "web@10.0.0.20")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName).AtName("host"), host)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// findObject returns the stored object of key, or nil.
func findObject(obs *wire.Observed, key wire.Key) *wire.Object {
	for i := range obs.Objects {
		if obs.Objects[i].Key == key {
			return &obs.Objects[i]
		}
	}
	return nil
}

// daemonInSync is true when the daemon runs the config the host's stored
// objects render to.
func daemonInSync(st *wire.DaemonState) bool {
	return st != nil && st.Running && st.ConfigMatches
}

// addImportIDError reports an import ID that does not have the documented form.
func addImportIDError(diags *diag.Diagnostics, id, form, example string) {
	diags.AddError("Invalid Import ID",
		fmt.Sprintf("The import ID %q does not have the form %s (for example %s).", id, form, example))
}

// connOf is the connection block's value; an absent block has no host,
// which hostConfig reports.
func connOf(m *connectionModel) connectionModel {
	if m == nil {
		return connectionModel{Host: types.StringNull()}
	}
	return *m
}
