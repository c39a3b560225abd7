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

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

var (
	_ resource.ResourceWithConfigure      = (*haproxyResource)(nil)
	_ resource.ResourceWithImportState    = (*haproxyResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*haproxyResource)(nil)
	_ resource.ResourceWithValidateConfig = (*haproxyResource)(nil)
)

// NewHAProxyResource returns the lvs_haproxy resource.
func NewHAProxyResource() resource.Resource {
	return &haproxyResource{}
}

// haproxyResource is the global and defaults sections of one haproxy host,
// stored there as its one wire.KindHAProxySettings object. Without it, the
// host's frontends run under the renderer's defaults.
type haproxyResource struct {
	client *client
}

// haproxySettingsKey is the one settings object of a host.
var haproxySettingsKey = wire.HAProxySettingsKey

// haproxyResourceModel is the lvs_haproxy resource's value.
type haproxyResourceModel struct {
	ID            types.String            `tfsdk:"id"`
	Connection    *connectionModel        `tfsdk:"ssh"`
	Global        *haproxyGlobalModel     `tfsdk:"global"`
	Defaults      *haproxyDefaultsModel   `tfsdk:"defaults"`
	Resolvers     []haproxyResolversModel `tfsdk:"resolvers"`
	HAProxyInSync types.Bool              `tfsdk:"haproxy_in_sync"`
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// toWire maps the resource into the object stored on the host.
func (m *haproxyResourceModel) toWire() wire.HAProxySettings {
	return wire.HAProxySettings{Global: m.Global.toModel(), Defaults: m.Defaults.toModel(), Resolvers: resolversOf(m.Resolvers)}
}

func (m *haproxyResourceModel) object() wire.Object {
	s := m.toWire()
	return wire.Object{Key: haproxySettingsKey, HAProxySettings: &s}
}

// setFromWire replaces global and defaults by what the host stores, unless
// the current value maps to exactly that (then it is kept as written).
func (m *haproxyResourceModel) setFromWire(stored *wire.HAProxySettings) {
	if reflect.DeepEqual(m.toWire(), *stored) {
		return
	}
	m.Global = globalFromModel(stored.Global)
	m.Defaults = defaultsFromModel(stored.Defaults)
	m.Resolvers = resolversFromModel(stored.Resolvers)
}

// validate checks the sections against the model's rules; their paths
// (global.maxconn, defaults.timeout_client) are the resource's.
func (m *haproxyResourceModel) validate() error {
	s := m.toWire()
	cfg := model.HAProxyConfig{Global: s.Global, Defaults: s.Defaults, Resolvers: s.Resolvers}
	return cfg.Validate(nil)
}

// Metadata names the resource.
func (r *haproxyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_haproxy"
}

// Schema is the global and defaults blocks of the haproxy shapes, plus the
// connection.
func (r *haproxyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The host-level settings of an haproxy host: its `global` and `defaults` sections, and its `resolvers` " +
			"sections (which servers given by host name may name). " +
			"At most one per host; the host's `lvs_haproxy_frontend` resources inherit the defaults. " +
			"Without it (or after it is destroyed), haproxy runs with the provider's built-in global section " +
			"(an admin socket at `" + model.DefaultStatsSocket + "`, which the agent reads server states from) " +
			"and empty defaults.\n\n" +
			"A hand-edited `haproxy.cfg` or a stopped haproxy plans `haproxy_in_sync` back to `true`, which apply " +
			"restores.\n\n" +
			"Import with the host, such as `10.0.0.20` (or `root@10.0.0.20:22`). On a host whose `haproxy.cfg` was " +
			"written by hand, the import reads the `global` and `defaults` sections from the file, and the next apply " +
			"takes the file over (`haproxy_in_sync` is `false` until then): it renders the file from the imported " +
			"sections and from every frontend the file has (with its default backend), whether imported as an " +
			"`lvs_haproxy_frontend` or not, and reloads haproxy once without dropping connections. What the " +
			"provider's model cannot hold is named in a warning at import.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`USER@HOST:PORT`, as lvs_director's. Import with `HOST` (or `USER@HOST:PORT`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"haproxy_in_sync": inSyncAttribute("haproxy", "haproxy.cfg"),
		},
		Blocks: map[string]schema.Block{
			connectionBlockName: connectionBlock(),
			"global":            haproxyGlobalBlock().resourceBlock(),
			"defaults":          haproxyDefaultsBlock().resourceBlock(),
			"resolvers":         haproxyResolversBlock().resourceBlock(),
		},
	}
	resp.Schema = withTimeouts(resp.Schema)
}

// Configure takes the provider's client.
func (r *haproxyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the sections against the model's rules at plan time.
func (r *haproxyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data haproxyResourceModel
	if !knownConfig(ctx, req.Config, "lvs_haproxy", &data, &resp.Diagnostics) {
		return
	}
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, data.validate())
}

// ModifyPlan plans haproxy_in_sync true (see lvs_haproxy_frontend).
func (r *haproxyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("haproxy_in_sync"), true)...)
}

// Create stores the settings; the agent rebuilds haproxy.cfg and reloads.
func (r *haproxyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data haproxyResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutCreate, &resp.Diagnostics)
	defer cancel()
	if r.put(ctx, &data, &resp.Diagnostics, "Create"); !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
	}
}

// Update stores the changed settings; like Create, it also repairs a
// hand-edited haproxy.cfg or a stopped haproxy.
func (r *haproxyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data haproxyResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutUpdate, &resp.Diagnostics)
	defer cancel()
	if r.put(ctx, &data, &resp.Diagnostics, "Update"); !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
	}
}

func (r *haproxyResource) put(ctx context.Context, data *haproxyResourceModel, diags *diag.Diagnostics, action string) {
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	put := []wire.Object{data.object()}
	var adopt []wire.Key
	if action == "Update" {
		// An imported hand-built haproxy.cfg: this apply takes it over.
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			addHostError(diags, action, "HAProxy Settings", cfg.ID(), err)
			return
		}
		if !view.Stored(haproxySettingsKey) && view.ForeignHAProxy() {
			more, err := r.client.adoptHAProxy(ctx, cfg, view)
			if err != nil {
				addHostError(diags, "Import", "HAProxy Settings", cfg.ID(), err)
				return
			}
			put, adopt = append(put, more...), []wire.Key{haproxySettingsKey}
		}
	}
	if _, err := r.client.fleet.ApplyAdopting(ctx, cfg, put, nil, adopt); err != nil {
		addHostError(diags, action, "HAProxy Settings", cfg.ID(), err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy")
	data.ID = types.StringValue(cfg.ID())
	data.HAProxyInSync = types.BoolValue(true)
}

// Read reports the stored settings (absent: removed from state) and
// whether haproxy runs the config the host's objects render to.
func (r *haproxyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data haproxyResourceModel
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
	view, err := r.client.view(ctx, cfg)
	r.client.logStats(ctx, cfg, "lvs_haproxy")
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Settings", cfg.ID(), err)
		return
	}
	stored := view.Object(haproxySettingsKey)
	inSync := view.HAProxyInSync()
	if stored == nil {
		stored = r.client.handBuiltHAProxy(ctx, cfg, view, haproxySettingsKey, &resp.Diagnostics)
		inSync = false // the apply takes the hand-built haproxy.cfg over
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if stored == nil || stored.HAProxySettings == nil {
		tflog.Info(ctx, "haproxy settings are gone from the host; planning to create them again",
			map[string]any{"host": cfg.ID(), "object": haproxySettingsKey.String()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.setFromWire(stored.HAProxySettings)
	data.ID = types.StringValue(cfg.ID())
	data.HAProxyInSync = types.BoolValue(inSync)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Delete removes the settings: the host's frontends go on under the
// defaults, or haproxy is stopped and its file removed when nothing else
// of ours is left there.
func (r *haproxyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data haproxyResourceModel
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
	_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{haproxySettingsKey})
	r.client.logStats(ctx, cfg, "lvs_haproxy")
	if err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Settings", cfg.ID(), err)
	}
}

// ImportState reads the host as lvs_director's import takes it (`host`,
// `user@host`, `user@host:port`).
func (r *haproxyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	conn, err := importConnection(req.ID)
	if err != nil {
		addImportIDError(&resp.Diagnostics, req.ID, "HOST (`host`, `user@host` or `user@host:port`)", "10.0.0.20", err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName), conn)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// handBuiltHAProxy is the object of key that a host's hand-built
// haproxy.cfg holds, when the host stores none (an import of a host set up
// by hand); nil when the file is ours or absent, or does not hold it. What
// the import leaves out is said in warnings.
func (c *client) handBuiltHAProxy(ctx context.Context, cfg transport.Config, view *cluster.View, key wire.Key, diags *diag.Diagnostics) *wire.Object {
	o, warnings, err := c.handBuiltObject(ctx, cfg, view, key, (*cluster.View).ForeignHAProxy)
	if err != nil {
		addHostError(diags, "Import", "HAProxy Configuration", cfg.ID(), err)
		return nil
	}
	if o != nil && len(warnings) > 0 {
		diags.AddWarning("Hand-Built haproxy.cfg Imported With Changes",
			fmt.Sprintf("Host: %s\nObject: %s\n\nThe apply that takes %s over renders it from the imported objects. "+
				"What they cannot hold was left out:\n- %s", cfg.ID(), key, "/etc/haproxy/haproxy.cfg",
				strings.Join(warnings, "\n- ")))
	}
	return o
}

// handBuiltBackendOwner is the frontend of a host's hand-built
// haproxy.cfg that owns backend name (names it as its default and no
// other frontend uses it), which an import keeps as the frontend's own;
// "" when the file is ours, absent, or has no such frontend.
func (c *client) handBuiltBackendOwner(ctx context.Context, cfg transport.Config, view *cluster.View, name string) string {
	if view.Stored(wire.HAProxyBackendKey(name)) || !view.ForeignHAProxy() {
		return ""
	}
	resp, err := c.importHost(ctx, cfg)
	if err != nil {
		return ""
	}
	for _, o := range resp.Imported {
		if f := o.HAProxyFrontend; f != nil && f.OwnsBackend() && f.Backend.Name == name {
			return f.Frontend.Name
		}
	}
	return ""
}

// adoptHAProxy lists the frontends of a host's hand-built haproxy.cfg that
// the host does not store: the apply that adopts the file puts them too, so
// that taking the file over keeps serving every frontend it had, imported
// into Terraform or not (a frontend's own resource, imported later, reads
// it from the host).
func (c *client) adoptHAProxy(ctx context.Context, cfg transport.Config, view *cluster.View) ([]wire.Object, error) {
	resp, err := c.importHost(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var out []wire.Object
	for _, o := range resp.Imported {
		if (o.Kind == wire.KindHAProxyFrontend || o.Kind == wire.KindHAProxyBackend) && !view.Stored(o.Key) {
			out = append(out, o)
		}
	}
	return out, nil
}
