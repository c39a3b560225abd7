package provider

import (
	"context"
	"fmt"
	"reflect"
	"slices"
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
// resource carries them: the shared frontend shape, whose default_backend
// names a backend of the host in place of the frontend's own.
func frontendSchemaAttributes() map[string]attrSpec {
	attrs := haproxyFrontendAttributes()
	attrs["default_backend"] = stringAttr("Backend of this host (an `lvs_haproxy_backend`, or another frontend's own `backend`) " +
		"that gets the requests no `use_backend` rule matches. Conflicts with the `backend` block. With neither, the " +
		"frontend has an own backend named like it (the shape of earlier releases, still supported): its `backend` block; " +
		"except a frontend that serves haproxy's statistics page (a `stats` line among its `options`, such as `stats uri /`) " +
		"and has no `use_backend` rule, which needs no backend and gets none (haproxy answers the page itself, in `http` mode).")
	attrs["mode"] = enumAttr("Proxy mode of the frontend and its backend (haproxy joins only equal modes). "+
		"Unset inherits the host's `defaults` (see `lvs_haproxy`), else haproxy's `tcp`.", model.HAProxyModes, "")
	return attrs
}

// frontendSchemaBlocks are bind, acl and use_backend: routing rules to any
// backend of the host, checked at plan against the frontend's ACLs.
func frontendSchemaBlocks() map[string]blockSpec {
	blocks := haproxyFrontendBlocks()
	ub := blocks["use_backend"]
	ub.description = "A routing rule (`use_backend`), tried in order before the default backend: requests that match " +
		"the condition go to the backend, any backend of this host (an `lvs_haproxy_backend`, or a frontend's own). " +
		"The ACL names of the condition must be declared in `acl` blocks (or be haproxy's predefined ones); " +
		"anonymous ACLs go in braces, such as `{ path_beg /img /css }`. Changing a rule is a hitless reload."
	blocks["use_backend"] = ub
	return blocks
}

// frontendBackendBlock is the frontend's own backend, named like the
// frontend unless backend.name says otherwise.
func frontendBackendBlock() blockSpec {
	attrs := haproxyBackendAttributes()
	attrs["name"] = stringAttr("Name of the backend section, the frontend's `default_backend`. Defaults to the " +
		"frontend's name. " + model.NamePattern + ".")
	delete(attrs, "mode")
	return blockSpec{
		single: true,
		description: "The frontend's own `backend` section, its `default_backend`: " +
			"servers, balancing and health checks. A server that fails its health check is status " +
			"(see `data.lvs_director_status`), never a difference in the plan.",
		attrs:  attrs,
		blocks: haproxyBackendBlocks(),
	}
}

// haproxyFrontendResourceModel is the lvs_haproxy_frontend resource's value.
type haproxyFrontendResourceModel struct {
	ID         types.String       `tfsdk:"id"`
	Connection *connectionModel   `tfsdk:"ssh"`
	Name       types.String       `tfsdk:"name"`
	Mode       types.String       `tfsdk:"mode"`
	Maxconn    types.Int64        `tfsdk:"maxconn"`
	Options    []types.String     `tfsdk:"options"`
	Binds      []haproxyBindModel `tfsdk:"bind"`
	ACLs       []haproxyACLModel  `tfsdk:"acl"`
	// DefaultBackend names a backend of the host; then the frontend has
	// no Backend of its own.
	DefaultBackend types.String             `tfsdk:"default_backend"`
	UseBackends    []haproxyUseBackendModel `tfsdk:"use_backend"`
	Backend        *frontendBackend         `tfsdk:"backend"`
	HAProxyInSync  types.Bool               `tfsdk:"haproxy_in_sync"`
	haproxyTimeoutsModel
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// frontendBackend is the backend block: the backend shape without its
// mode, which is the frontend's.
type frontendBackend struct {
	Name       types.String           `tfsdk:"name"`
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
		Name: m.Name, Mode: m.Mode, Maxconn: m.Maxconn, DefaultBackend: m.DefaultBackend,
		Options: m.Options, Binds: m.Binds, ACLs: m.ACLs, UseBackends: m.UseBackends, haproxyTimeoutsModel: m.haproxyTimeoutsModel,
	}
	if m.DefaultBackend.ValueString() != "" {
		// A backend of the host's: the frontend owns none.
		return wire.HAProxyFrontend{Frontend: f.toModel()}
	}
	if fm := f.toModel(); m.Backend == nil && len(fm.UseBackends) == 0 && fm.ServesStats() {
		// The statistics page, which haproxy serves itself: an own
		// backend would have no servers and never be reached.
		return wire.HAProxyFrontend{Frontend: fm}
	}
	backend := m.Name
	if m.Backend != nil && m.Backend.Name.ValueString() != "" {
		backend = m.Backend.Name
	}
	f.DefaultBackend = backend
	b := haproxyBackendModel{Name: backend, Mode: m.Mode}
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
	return wire.HAProxyFrontendKey(name)
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
	// One mode for both sections: a hand-built haproxy.cfg (imported) may
	// set it on the backend only; haproxy runs them in the same mode.
	m.Mode = optString(f.Mode)
	if f.Mode == "" {
		m.Mode = optString(b.Mode)
	}
	m.Maxconn = optInt64(f.Maxconn)
	m.Options = stringValues(f.Options)
	m.Binds = bindsFromModel(f.Binds)
	m.ACLs = aclsFromModel(f.ACLs)
	m.UseBackends = useBackendsFromModel(f.UseBackends)
	m.haproxyTimeoutsModel = timeoutsFromModel(f.Timeouts)
	m.DefaultBackend = types.StringNull()
	if !stored.OwnsBackend() {
		m.DefaultBackend = optString(f.DefaultBackend)
		m.Backend = nil
		return
	}
	be := &frontendBackend{
		Name:                 types.StringNull(),
		Balance:              optString(b.Balance),
		BalanceArg:           optString(b.BalanceArg),
		Options:              stringValues(b.Options),
		Servers:              serversFromModel(b.Servers),
		HTTPCheck:            httpCheckFromModel(b.HTTPCheck),
		haproxyTimeoutsModel: timeoutsFromModel(b.Timeouts),
	}
	if b.Name != f.Name {
		be.Name = types.StringValue(b.Name)
	}
	m.Backend = be
	if reflect.ValueOf(*be).IsZero() || reflect.DeepEqual(*be, frontendBackend{Name: types.StringNull()}) {
		m.Backend = nil
	}
}

// validate checks the frontend and its backend against the model's rules,
// as a configuration of their own, and reports each broken rule at the
// resource's attribute: frontend[0].x is x, backend[0].x is backend.x (its
// mode is the frontend's, and so is its name unless backend.name is set). Rules between this frontend and the
// rest of the host (a port another frontend binds) are the agent's to
// check at apply, where every object of the host is known.
func (m *haproxyFrontendResourceModel) validate() error {
	fe := m.toWire()
	// The host's defaults are lvs_haproxy's, known at apply: here they
	// stand as http, in which a stats frontend needs no backend.
	cfg := model.HAProxyConfig{Defaults: model.HAProxyDefaults{Mode: "http"}, Frontends: []model.HAProxyFrontend{fe.Frontend}}
	if fe.OwnsBackend() {
		cfg.Backends = append(cfg.Backends, fe.Backend)
	}
	own := len(cfg.Backends)
	// The other backends it names are the host's, known at apply: here
	// they stand as http backends, which any frontend may feed.
	for _, name := range append([]string{fe.Frontend.DefaultBackend}, useBackendNames(fe.Frontend.UseBackends)...) {
		if name != "" && name != fe.Backend.Name && !slices.ContainsFunc(cfg.Backends, func(b model.HAProxyBackend) bool { return b.Name == name }) {
			cfg.Backends = append(cfg.Backends, model.HAProxyBackend{Name: name, Mode: "http"})
		}
	}
	cfg.Resolvers = standInResolvers(cfg.Backends)
	errs := model.AsErrors(cfg.Validate(nil))
	if errs == nil {
		return nil
	}
	var out model.Errors
	for _, e := range errs {
		p := e.Path
		if len(p) > 0 && p[0] == "resolvers" {
			continue // a stand-in
		}
		if len(p) >= 2 && p[0] == "backend" {
			if i, ok := p[1].(int); ok && i >= own {
				continue // a stand-in: its name is checked as the rule's
			}
		}
		if len(p) >= 2 && p[0] == "frontend" {
			p = p[2:]
		} else if len(p) >= 2 && p[0] == "backend" {
			p = p[2:]
			named := m.Backend != nil && m.Backend.Name.ValueString() != ""
			if len(p) == 0 || p[0] != "mode" && (p[0] != "name" || named) {
				p = append(model.Path{"backend"}, p...)
			}
		}
		out = append(out, &model.FieldError{Path: p, Msg: e.Msg})
	}
	return out
}

// frontendResourceSchema is the schema of lvs_haproxy_frontend.
func frontendResourceSchema() schema.Schema {
	specs := frontendSchemaAttributes()
	attrs := resourceAttributes(specs)
	attrs["name"] = schema.StringAttribute{
		Required:            true,
		MarkdownDescription: specs["name"].description + " Changing it replaces the frontend.",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["id"] = schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: "`NAME@USER@HOST:PORT`: the frontend's name and the host it runs on. Import with `NAME@HOST` (or `NAME@USER@HOST:PORT`).",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["haproxy_in_sync"] = inSyncAttribute("haproxy", "haproxy.cfg")
	blocks := resourceBlocks(frontendSchemaBlocks())
	blocks["backend"] = frontendBackendBlock().resourceBlock()
	blocks[connectionBlockName] = connectionBlock()
	return withTimeouts(schema.Schema{
		MarkdownDescription: "One haproxy `frontend` on an haproxy host, routing to backends of the host " +
			"(`lvs_haproxy_backend`, shared by several frontends) by `use_backend` rules and a `default_backend`, " +
			"or to a `backend` of its own. " +
			"Several frontends (and one `lvs_haproxy` for the `global` and `defaults` sections) share a host: " +
			"the host's agent rebuilds `haproxy.cfg` from all of them, checks it with `haproxy -c` and reloads " +
			"haproxy without dropping connections.\n\n" +
			"The plan shows drift of what the host runs: a frontend removed from the host is planned for " +
			"creation again, and a hand-edited `haproxy.cfg` or a stopped haproxy plans `haproxy_in_sync` " +
			"back to `true`, which apply restores. Server health is status, not drift.\n\n" +
			"Import with `NAME@HOST`, such as `web@10.0.0.20`. On a host whose `haproxy.cfg` was written by hand, " +
			"the frontend and its default backend are read from the file; import the host's `lvs_haproxy` as well: " +
			"its apply is the one that takes the file over, in the same reload.",
		Attributes: attrs,
		Blocks:     blocks,
	})
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
	var data haproxyFrontendResourceModel
	if !knownConfig(ctx, req.Config, "lvs_haproxy_frontend", &data, &resp.Diagnostics) {
		return
	}
	if data.DefaultBackend.ValueString() != "" && data.Backend != nil {
		resp.Diagnostics.AddAttributeError(path.Root("default_backend"), "Conflicting Backends",
			"default_backend names a backend of the host for this frontend, and the backend block gives it one of its own; "+
				"set one of them: default_backend (such as an lvs_haproxy_backend's name) or the backend block.")
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
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutCreate, &resp.Diagnostics)
	defer cancel()
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
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutUpdate, &resp.Diagnostics)
	defer cancel()
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
	if action == "Update" {
		if err := r.client.awaitHAProxyAdoption(ctx, cfg, obj.Key); err != nil {
			addHostError(diags, action, "HAProxy Frontend", cfg.ID(), err)
			return
		}
	}
	owner := ownerOf("lvs_haproxy_frontend", data.Name.ValueString()+"@"+cfg.ID())
	if _, err := r.client.writeAs(ctx, cfg, owner, action == "Create", []wire.Object{obj}, nil, nil); err != nil {
		addHostError(diags, action, "HAProxy Frontend", cfg.ID(), err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy_frontend")
	data.ID = types.StringValue(data.Name.ValueString() + "@" + cfg.ID())
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
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := frontendKey(data.Name.ValueString())
	view, err := r.client.view(ctx, cfg)
	r.client.logStats(ctx, cfg, "lvs_haproxy_frontend")
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Frontend", cfg.ID(), err)
		return
	}
	stored := view.Object(key)
	inSync := view.HAProxyInSync()
	if stored == nil {
		stored = r.client.handBuiltHAProxy(ctx, cfg, view, key, &resp.Diagnostics)
		inSync = false // the apply takes the hand-built haproxy.cfg over
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if stored == nil || stored.HAProxyFrontend == nil {
		tflog.Info(ctx, "haproxy frontend is gone from the host; planning to create it again",
			map[string]any{"host": cfg.ID(), "object": key.String()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.setFromWire(stored.HAProxyFrontend)
	data.ID = types.StringValue(data.Name.ValueString() + "@" + cfg.ID())
	data.HAProxyInSync = types.BoolValue(inSync)
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
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := frontendKey(data.Name.ValueString())
	_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{key})
	r.client.logStats(ctx, cfg, "lvs_haproxy_frontend")
	if err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Frontend", cfg.ID(), err)
	}
}

// ImportState reads NAME@HOST: the frontend's name, then the host as
// lvs_director's import takes it (`host`, `user@host`, `user@host:port`);
// the other connection settings come from the provider. Read then fills in
// the frontend stored there.
func (r *haproxyFrontendResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, hostID, _ := strings.Cut(req.ID, "@")
	conn, err := importConnection(hostID)
	if name == "" || err != nil {
		addImportIDError(&resp.Diagnostics, req.ID, "NAME@HOST (HOST as `host`, `user@host` or `user@host:port`)", "web@10.0.0.20", err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName), conn)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// importConnection is the connection an import ID's host part names.
func importConnection(id string) (connectionModel, error) {
	user, host, port, err := parseHostImportID(id)
	if err != nil {
		return connectionModel{}, err
	}
	conn := newConnection(host)
	if user != "" {
		conn.User = types.StringValue(user)
	}
	if port != 0 {
		conn.Port = types.Int64Value(int64(port))
	}
	return conn, nil
}

// addImportIDError reports an import ID that does not have the documented form.
func addImportIDError(diags *diag.Diagnostics, id, form, example string, err error) {
	detail := fmt.Sprintf("The import ID %q does not have the form %s, such as %s.", id, form, example)
	if err != nil {
		detail += " " + err.Error() + "."
	}
	diags.AddError("Invalid Import ID", detail)
}

// connOf is the connection block's value; an absent block has no host,
// which hostConfig reports.
func connOf(m *connectionModel) connectionModel {
	if m == nil {
		return newConnection("")
	}
	return *m
}
