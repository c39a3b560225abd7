package provider

import (
	"context"
	"reflect"

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
var haproxySettingsKey = wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}

// haproxyResourceModel is the lvs_haproxy resource's value.
type haproxyResourceModel struct {
	ID            types.String          `tfsdk:"id"`
	Connection    *connectionModel      `tfsdk:"ssh"`
	Global        *haproxyGlobalModel   `tfsdk:"global"`
	Defaults      *haproxyDefaultsModel `tfsdk:"defaults"`
	HAProxyInSync types.Bool            `tfsdk:"haproxy_in_sync"`
}

// toWire maps the resource into the object stored on the host.
func (m *haproxyResourceModel) toWire() wire.HAProxySettings {
	return wire.HAProxySettings{Global: m.Global.toModel(), Defaults: m.Defaults.toModel()}
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
}

// validate checks the sections against the model's rules; their paths
// (global.maxconn, defaults.timeout_client) are the resource's.
func (m *haproxyResourceModel) validate() error {
	cfg := model.HAProxyConfig{Global: m.Global.toModel(), Defaults: m.Defaults.toModel()}
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
		MarkdownDescription: "The host-level settings of an haproxy host: its `global` and `defaults` sections. " +
			"At most one per host; the host's `lvs_haproxy_frontend` resources inherit the defaults. " +
			"Without it (or after it is destroyed), haproxy runs with the provider's built-in global section " +
			"(an admin socket at `" + model.DefaultStatsSocket + "`, which the agent reads server states from) " +
			"and empty defaults.\n\n" +
			"A hand-edited `haproxy.cfg` or a stopped haproxy plans `haproxy_in_sync` back to `true`, which apply " +
			"restores. Import with the host, such as `10.0.0.20`; the host must already hold settings stored by " +
			"this provider (a hand-written `haproxy.cfg` is not adopted).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The host; the import ID.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"haproxy_in_sync": inSyncAttribute("haproxy", "haproxy.cfg"),
		},
		Blocks: map[string]schema.Block{
			connectionBlockName: connectionBlock(),
			"global":            haproxyGlobalBlock().resourceBlock(),
			"defaults":          haproxyDefaultsBlock().resourceBlock(),
		},
	}
}

// Configure takes the provider's client.
func (r *haproxyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the sections against the model's rules at plan time.
func (r *haproxyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		tflog.Debug(ctx, "Configuration has unknown values; its rules are checked at apply",
			map[string]any{"resource": "lvs_haproxy"})
		return
	}
	var data haproxyResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
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
	if _, err := r.client.fleet.Apply(ctx, cfg, []wire.Object{data.object()}, nil); err != nil {
		addHostError(diags, action, "HAProxy Settings", cfg.Host, err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy")
	data.ID = types.StringValue(cfg.Host)
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
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := r.client.fleet.Observe(ctx, cfg)
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Settings", cfg.Host, err)
		return
	}
	stored := findObject(obs, haproxySettingsKey)
	if stored == nil || stored.HAProxySettings == nil {
		tflog.Info(ctx, "haproxy settings are gone from the host; planning to create them again",
			map[string]any{"host": cfg.ID(), "object": haproxySettingsKey.String()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.setFromWire(stored.HAProxySettings)
	data.ID = types.StringValue(cfg.Host)
	data.HAProxyInSync = types.BoolValue(daemonInSync(obs.HAProxy))
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
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{haproxySettingsKey}); err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Settings", cfg.Host, err)
	}
}

// ImportState reads the host.
func (r *haproxyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID == "" {
		addImportIDError(&resp.Diagnostics, req.ID, "HOST", "10.0.0.20")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName).AtName("host"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
