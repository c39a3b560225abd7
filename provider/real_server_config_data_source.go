package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

var _ datasource.DataSourceWithValidateConfig = (*realServerConfigDataSource)(nil)

// NewRealServerConfigDataSource returns the lvs_real_server_config data source.
func NewRealServerConfigDataSource() datasource.DataSource {
	return &realServerConfigDataSource{}
}

// realServerConfigDataSource renders the real-server side of a DR, TUN or
// NAT service (model.RealServerHost, what the agent applies for a real
// server's host block) as a shell script and a sysctl.d fragment; it
// touches no host.
type realServerConfigDataSource struct{}

// realServerConfigModel is the data source's Terraform value.
type realServerConfigModel struct {
	ForwardingMethod types.String        `tfsdk:"forwarding_method"`
	TunnelType       types.String        `tfsdk:"tunnel_type"`
	VIPs             []iptypes.IPAddress `tfsdk:"vips"`
	Gateway          iptypes.IPAddress   `tfsdk:"gateway"`

	Script     types.String `tfsdk:"script"`
	Sysctl     types.String `tfsdk:"sysctl"`
	SysctlFile types.String `tfsdk:"sysctl_file"`
}

// realServerTunnelTypes are the tunnels a real server's side sets up.
var realServerTunnelTypes = []string{"ipip", "gre"}

// Metadata names the data source.
func (d *realServerConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_real_server_config"
}

// Schema is the real-server side's description plus the rendered files.
func (d *realServerConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Renders the real-server side of a DR, TUN or NAT service — what `lvs_real_server`'s " +
			"`host` block has the agent apply, from the same model — as an idempotent POSIX shell script and a " +
			"sysctl.d fragment. It touches no host: use it for cloud-init, machine images or review of hosts the " +
			"provider does not reach over SSH.\n\n" +
			"With `dr`: `arp_ignore = 1` and `arp_announce = 2` (on `all` and `lo`), then the VIPs on `lo`. " +
			"With `tun`: the tunnel device (`tunl0` for `ipip`, `gre0` for `gre`, `ip6tnl0` for IPv6) loaded and " +
			"up, the ARP settings, `rp_filter = 0` on `all` and the tunnel, then the VIPs on the tunnel device. " +
			"With `nat`: the default route through `gateway`. The sysctls come before the addresses, so that the " +
			"host never answers ARP for a VIP.",
		Attributes: map[string]schema.Attribute{
			"forwarding_method": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "How the directors forward to this host: one of " + backtickList(model.ForwardingMethods) +
					". Use the virtual server's `forwarding_method` (or the real server's own).",
				Validators: []validator.String{stringvalidator.OneOf(model.ForwardingMethods...)},
			},
			"tunnel_type": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "With `tun`: the encapsulation, one of " + backtickList(realServerTunnelTypes) +
					". Defaults to `ipip`.",
				Validators: []validator.String{stringvalidator.OneOf(realServerTunnelTypes...)},
			},
			"vips": schema.ListAttribute{
				ElementType: iptypes.IPAddressType{},
				Optional:    true,
				MarkdownDescription: "With `dr` and `tun` (required there): the virtual addresses the host accepts " +
					"traffic for, put on `lo` or the tunnel device as host addresses (`/32`, `/128`).",
			},
			"gateway": schema.StringAttribute{
				CustomType: iptypes.IPAddressType{},
				Optional:   true,
				MarkdownDescription: "With `nat`: the director-side address replies must route through (usually a " +
					"VIP of the directors' inside VRRP instance), set as the default route.",
			},
			"script": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The POSIX shell script (`#!/bin/sh`, `set -eu`) that sets the host up; running it " +
					"again changes nothing. It also writes `sysctl` to `sysctl_file`, so the settings survive a reboot; " +
					"the addresses and the route do not: run it at every boot (cloud-init `bootcmd`, a unit, rc.local).",
			},
			"sysctl": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The sysctl.d fragment with the kernel settings and the reason of each, for images " +
					"that install it as `sysctl_file` themselves. Empty when the method needs none (`nat`).",
			},
			"sysctl_file": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Where the script keeps `sysctl`: `" + render.RealServerSysctlFile + "`.",
			},
		},
	}
}

// backtickList writes values as `a`, `b`, `c`.
func backtickList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "`" + v + "`"
	}
	return strings.Join(quoted, ", ")
}

// ValidateConfig checks the description against the model's rules at plan time.
func (d *realServerConfigDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var data realServerConfigModel
	if !knownConfig(ctx, req.Config, "lvs_real_server_config", &data, &resp.Diagnostics) {
		return
	}
	h := data.toModel()
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, h.Validate(nil))
	if h.Method == "nat" && !h.Gateway.IsValid() {
		resp.Diagnostics.AddAttributeError(path.Root("gateway"), summaryInvalidConfig,
			"gateway: forwarding_method \"nat\" needs the director-side address replies route through; without it the script would set nothing up.")
	}
}

// Read renders the script and the fragment.
func (d *realServerConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data realServerConfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := data.toModel()
	if err := h.Validate(nil); err != nil {
		addConfigErrors(ctx, &resp.Diagnostics, req.Config, err)
		return
	}
	setup := h.Setup()
	data.Script = types.StringValue(render.RealServerScript(setup))
	data.Sysctl = types.StringValue("")
	if len(setup.Sysctls) > 0 {
		data.Sysctl = types.StringValue(render.Sysctl(setup.Sysctls))
	}
	data.SysctlFile = types.StringValue(render.RealServerSysctlFile)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// toModel maps the data source's value into the model.
func (m *realServerConfigModel) toModel() model.RealServerHost {
	return model.RealServerHost{
		Method:     m.ForwardingMethod.ValueString(),
		TunnelType: m.TunnelType.ValueString(),
		VIPs:       addrsOf(m.VIPs),
		Gateway:    addrOf(m.Gateway),
	}
}
