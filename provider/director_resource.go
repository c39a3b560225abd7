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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
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
	_ resource.ResourceWithConfigure      = (*directorResource)(nil)
	_ resource.ResourceWithImportState    = (*directorResource)(nil)
	_ resource.ResourceWithValidateConfig = (*directorResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*directorResource)(nil)
)

// directorKey is the key of the one director object a host stores.
var directorKey = wire.DirectorKey

// NewDirectorResource returns the lvs_director resource.
func NewDirectorResource() resource.Resource {
	return &directorResource{}
}

// directorResource is one LVS director host: its keepalived VRRP
// instances, sync groups and sysctls, stored on the host as the director
// object that the agent rebuilds keepalived.conf from.
type directorResource struct {
	client *client
}

// directorResourceModel is the resource's Terraform value: the director
// shape, the connection, and what is observed on the host.
type directorResourceModel struct {
	directorModel
	Connection *connectionModel `tfsdk:"ssh"`

	ID               types.String `tfsdk:"id"`
	AgentVersion     types.String `tfsdk:"agent_version"`
	IPVSAvailable    types.Bool   `tfsdk:"ipvs_available"`
	KeepalivedInSync types.Bool   `tfsdk:"keepalived_in_sync"`
	SysctlsInSync    types.Bool   `tfsdk:"derived_sysctls_in_sync"`
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// Metadata names the resource.
func (r *directorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_director"
}

// Schema is the director shape, the connection block and the observed
// attributes.
func (r *directorResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := resourceAttributes(directorAttributes())
	attrs["id"] = schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: "The host, as `user@host:port`.",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["agent_version"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "Version of the lvs-agent that runs on the host, as it reports it (the provider installs " +
			"its own agent, once per provider version).",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["ipvs_available"] = schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether the host's kernel has IPVS (`/proc/net/ip_vs`). Virtual servers need it; " +
			"VRRP alone does not.",
		PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
	}
	attrs["keepalived_in_sync"] = schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether keepalived runs with the configuration the provider rendered, its MASTER " +
			"instances holding their virtual addresses: `false` when the daemon was stopped, `keepalived.conf` " +
			"was edited by hand, or a virtual address is missing on an instance keepalived reports MASTER. " +
			"Always planned as `true`, so such a change shows in `terraform plan` and `terraform apply` repairs " +
			"it (restarts keepalived, reinstalls its configuration, or puts the missing virtual addresses back " +
			"on their devices, without a reload). Which instance is MASTER is status, not drift: see the " +
			"`lvs_director_status` data source.",
	}
	attrs["derived_sysctls_in_sync"] = schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether the kernel settings the director needs for its virtual servers (such as " +
			"`net.ipv4.ip_forward` for NAT, `send_redirects` off for DR) have the values they must have: `false` " +
			"after one was reset by hand. Always planned as `true`, so `terraform apply` sets them again. The " +
			"director's own `sysctl` blocks show such a change on their `value` instead.",
	}
	blocks := resourceBlocks(directorBlocks())
	blocks[connectionBlockName] = connectionBlock()
	resp.Schema = schema.Schema{
		MarkdownDescription: "One LVS director host: its keepalived VRRP instances and sync groups, interface, " +
			"router id, extra kernel settings and IPVS engine. The provider stores the director on the host " +
			"(through its agent, over SSH) and rebuilds `keepalived.conf` from it together with the host's " +
			"virtual servers; the configuration is checked by `keepalived -t` before it is installed, and " +
			"keepalived is reloaded, not restarted.\n\n" +
			"`terraform plan` shows what really runs: a `sysctl` reset by hand, keepalived stopped, its " +
			"configuration edited or a virtual address removed from a MASTER (`keepalived_in_sync`), a static " +
			"address, route or rule deleted by hand (dropped from the state, put back by the apply), or the " +
			"director removed from the host (planned for re-creation). keepalived itself puts back a virtual " +
			"address it sees removed (its instance drops to BACKUP and takes MASTER back within a second); the " +
			"plan shows one it missed. A `keepalived.conf` replaced by hand on a director the host stores is " +
			"repaired by the next apply, which first keeps the replaced file as " +
			"`keepalived.conf.lvs-foreign-<UTC time>` (mode `0600`) and names it in a warning. Destroying the resource removes the configuration, stops keepalived and restores " +
			"the kernel settings it changed.\n\n" +
			"Import with the host, such as `10.0.0.11` (or `root@10.0.0.11:22`). On a director set up by hand, " +
			"whose `keepalived.conf` the provider did not write, the import reads the director from that file " +
			"(what the provider's model cannot hold is named in a warning), with `keepalived_in_sync` `false`; the " +
			"next apply takes the file over: it renders `keepalived.conf` from the director and from every " +
			"`virtual_server` block the file has, whether imported as an `lvs_virtual_server` or not, and reloads " +
			"keepalived without a restart, so the MASTER keeps its virtual addresses and IPVS its services.",
		Attributes: attrs,
		Blocks:     blocks,
	}
	resp.Schema = withTimeouts(resp.Schema)
}

// Configure takes the provider's shared client.
func (r *directorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if c := clientFrom(req.ProviderData, &resp.Diagnostics); c != nil {
		r.client = c
	}
}

// ValidateConfig checks the director against the model's rules at plan
// time, with attribute paths.
func (r *directorResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data directorResourceModel
	if !knownConfig(ctx, req.Config, "lvs_director", &data, &resp.Diagnostics) {
		return
	}
	d := data.directorModel.toModel()
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, d.Validate(nil))
	cfg := model.KeepalivedConfig{Director: d}
	if _, err := cfg.DirectorSysctls(); err != nil {
		addConfigErrors(ctx, &resp.Diagnostics, req.Config, err)
	}
}

// ModifyPlan plans keepalived_in_sync and derived_sysctls_in_sync as true:
// a sysctl reset by hand, or a daemon that is stopped or
// runs another configuration is drift that apply repairs.
func (r *directorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("keepalived_in_sync"), types.BoolValue(true))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("derived_sysctls_in_sync"), types.BoolValue(true))...)
}

// Create stores the director on the host and applies it.
func (r *directorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var data directorResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutCreate, &resp.Diagnostics)
	defer cancel()
	if !r.applyOK(ctx, &data, &resp.Diagnostics, "Apply", false) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Read reports the director the host really stores and runs.
func (r *directorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data directorResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	cfg, ok := r.hostConfig(&data, &resp.Diagnostics)
	if !ok {
		return
	}
	view, err := r.client.view(ctx, cfg)
	r.client.logStats(ctx, cfg, "lvs_director")
	if err != nil {
		// An unreachable host is an error, never a removal from the state.
		addHostError(&resp.Diagnostics, "Read", "Director", cfg.ID(), err)
		return
	}
	stored := view.Director()
	handBuilt := false
	if stored == nil {
		// An import of a director set up by hand: read its keepalived.conf.
		stored = r.client.handBuiltDirector(ctx, cfg, view, &resp.Diagnostics)
		handBuilt = stored != nil
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if stored == nil {
		tflog.Info(ctx, "the director is no longer stored on the host; planning its re-creation",
			map[string]any{"host": cfg.ID()})
		resp.State.RemoveResource(ctx)
		return
	}
	data.observe(cfg, r.client, stored, view)
	if !handBuilt {
		// The agent reads back the routes of the director it stores.
		if err := data.observeStaticRoutes(view); err != nil {
			addHostError(&resp.Diagnostics, "Read", "Director", cfg.ID(), err)
			return
		}
	}
	if handBuilt {
		// The next apply takes the hand-built keepalived.conf over.
		data.KeepalivedInSync = types.BoolValue(false)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Update stores the changed director and applies it. It also repairs
// drift: a put of an unchanged director restarts a stopped keepalived,
// reinstalls an edited keepalived.conf and resets changed sysctls.
func (r *directorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var data, prior directorResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &data)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutUpdate, &resp.Diagnostics)
	defer cancel()
	// Only a director read out of sync (an imported hand-built
	// keepalived.conf is) may take the host's file over.
	if !r.applyOK(ctx, &data, &resp.Diagnostics, "Apply", !prior.KeepalivedInSync.ValueBool()) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Delete removes the director from the host: the agent removes its
// keepalived.conf (stopping keepalived when nothing else needs it) and
// restores the sysctls it changed.
func (r *directorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data directorResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete, &resp.Diagnostics)
	defer cancel()
	cfg, ok := r.hostConfig(&data, &resp.Diagnostics)
	if !ok {
		return
	}
	_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{directorKey})
	r.client.logStats(ctx, cfg, "lvs_director")
	if err != nil {
		addHostError(&resp.Diagnostics, "Delete", "Director", cfg.ID(), err)
	}
}

// ImportState takes the host as `host`, `user@host` or `user@host:port`
// (IPv6 addresses in brackets with a port); the other connection settings
// come from the provider. Read then fills in the director stored there.
func (r *directorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	user, host, port, err := parseHostImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("The import ID %q is not a host: %s. Write it as `host`, `user@host` or `user@host:port`, "+
				"such as `root@10.0.0.2:22`.", req.ID, err))
		return
	}
	conn := newConnection(host)
	if user != "" {
		conn.User = types.StringValue(user)
	}
	if port != 0 {
		conn.Port = types.Int64Value(int64(port))
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName), conn)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), types.StringValue(req.ID))...)
}

// hostConfig is the transport config of the resource's host.
func (r *directorResource) hostConfig(data *directorResourceModel, diags *diag.Diagnostics) (transport.Config, bool) {
	if r.client == nil {
		diags.AddError("Provider Not Configured",
			"The lvs provider was not configured before the resource was used. This is a bug in the provider; please report it.")
		return transport.Config{}, false
	}
	if data.Connection == nil {
		diags.AddAttributeError(path.Root(connectionBlockName), summaryProviderConfig,
			"The director needs an `ssh` block naming its host.")
		return transport.Config{}, false
	}
	cfg, d := r.client.hostConfig(*data.Connection)
	diags.Append(d...)
	return cfg, !d.HasError()
}

// applyOK puts the planned director on the host and fills in the observed
// attributes from the apply's observation. With mayAdopt (an update of a
// director read out of sync, as after an import), a hand-built keepalived.conf on a host that stores no
// director is taken over. It reports false after adding the error.
func (r *directorResource) applyOK(ctx context.Context, data *directorResourceModel, diags *diag.Diagnostics, action string, mayAdopt bool) bool {
	cfg, ok := r.hostConfig(data, diags)
	if !ok {
		return false
	}
	d := data.directorModel.toModel()
	put := []wire.Object{{Key: directorKey, Director: &d}}
	var adopt []wire.Key
	if mayAdopt {
		// An imported hand-built keepalived.conf: this apply takes it over.
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			addHostError(diags, action, "Director", cfg.ID(), err)
			return false
		}
		if view.Director() == nil && view.ForeignKeepalived() {
			more, keys, err := r.client.adoptKeepalived(ctx, cfg, view)
			if err != nil {
				addHostError(diags, "Import", "Director", cfg.ID(), err)
				return false
			}
			tflog.Info(ctx, "taking the hand-built keepalived.conf over", map[string]any{
				"host": cfg.ID(), "objects": len(more) + 1})
			put, adopt = append(put, more...), keys
		}
	}
	resp, err := r.client.fleet.ApplyAdopting(ctx, cfg, put, nil, adopt)
	r.client.logStats(ctx, cfg, "lvs_director")
	if err != nil {
		addHostError(diags, action, "Director", cfg.ID(), err)
		return false
	}
	addHostWarnings(ctx, diags, "Director Applied With Warnings", "Director", cfg.ID(), resp)
	if resp != nil && resp.Applied != nil {
		tflog.Debug(ctx, "director applied", map[string]any{
			"host": cfg.ID(), "changed": fmt.Sprint(resp.Applied.Changed), "reloads": fmt.Sprint(resp.Applied.Reloads),
			"files": strings.Join(resp.Applied.Files, ","),
		})
	}
	data.ID = types.StringValue(cfg.ID())
	data.AgentVersion = types.StringValue(r.client.agent.Version())
	data.IPVSAvailable = types.BoolValue(false)
	data.KeepalivedInSync = types.BoolValue(true)
	data.SysctlsInSync = types.BoolValue(true)
	if view := cluster.AppliedView(resp); view != nil {
		if v := view.AgentVersion(); v != "" {
			data.AgentVersion = types.StringValue(v)
		}
		data.IPVSAvailable = types.BoolValue(view.IPVSAvailable())
		data.KeepalivedInSync = types.BoolValue(view.KeepalivedInSync())
	}
	if !data.KeepalivedInSync.ValueBool() {
		// Apply succeeded but keepalived does not run what it rendered:
		// the agent would have failed; keep the plan's promise visible.
		tflog.Warn(ctx, "keepalived is not in sync right after the apply", map[string]any{"host": cfg.ID()})
		data.KeepalivedInSync = types.BoolValue(true)
	}
	return true
}

// observe sets the state from what the host stores and runs: the stored
// director when it differs from the state's (someone else applied), the
// current value of each sysctl, and the observed attributes.
func (m *directorResourceModel) observe(cfg transport.Config, c *client, stored *model.Director, view *cluster.View) {
	if !reflect.DeepEqual(normalDirector(m.directorModel.toModel()), normalDirector(*stored)) {
		m.directorModel = directorModelFrom(*stored)
	}
	for i := range m.Sysctls {
		s := &m.Sysctls[i]
		v, ok := view.Sysctl(s.Key.ValueString())
		if ok && !cluster.SameSysctlValue(v, s.Value.ValueString()) {
			s.Value = types.StringValue(v)
		}
	}
	m.observeStaticAddresses(view)
	m.ID = types.StringValue(cfg.ID())
	m.AgentVersion = types.StringValue(c.agent.Version())
	if v := view.AgentVersion(); v != "" {
		m.AgentVersion = types.StringValue(v)
	}
	m.IPVSAvailable = types.BoolValue(view.IPVSAvailable())
	m.KeepalivedInSync = types.BoolValue(view.KeepalivedInSync())
	m.SysctlsInSync = types.BoolValue(view.DerivedSysctlsInSync(stored))
}
