package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

var _ datasource.DataSourceWithValidateConfig = (*keepalivedConfigDataSource)(nil)

// NewKeepalivedConfigDataSource returns the lvs_keepalived_config data source.
func NewKeepalivedConfigDataSource() datasource.DataSource {
	return &keepalivedConfigDataSource{}
}

// keepalivedConfigDataSource renders one director's files from its
// description; it touches no host.
type keepalivedConfigDataSource struct{}

// keepalivedConfigModel is the data source's Terraform value: the director
// shape at the top level, its virtual servers and groups, and the outputs.
type keepalivedConfigModel struct {
	directorModel
	VirtualServerGroups []virtualServerGroupModel `tfsdk:"virtual_server_group"`
	VirtualServers      []virtualServerModel      `tfsdk:"virtual_server"`

	Content       types.String `tfsdk:"content"`
	SysctlContent types.String `tfsdk:"sysctl_content"`
	IPVSRules     types.String `tfsdk:"ipvsadm_rules"`
}

// Metadata names the data source.
func (d *keepalivedConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_keepalived_config"
}

// Schema is the director shape plus virtual servers and the rendered files.
func (d *keepalivedConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := dataSourceAttributes(directorAttributes())
	attrs["content"] = schema.StringAttribute{
		Computed:  true,
		Sensitive: true,
		MarkdownDescription: "The director's `keepalived.conf`. Sensitive, since it holds the VRRP " +
			"`authentication` password when one is set; wrap it in `nonsensitive()` to show a configuration " +
			"without one.",
	}
	attrs["sysctl_content"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "A `sysctl.d` fragment with the kernel settings the director needs for its virtual " +
			"servers (such as `net.ipv4.ip_forward` for NAT), followed by the extra `sysctl` blocks; each " +
			"setting under a comment giving its reason.",
	}
	attrs["ipvsadm_rules"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "The IPVS table the configuration programs, in the format of `ipvsadm-save -n` " +
			"(accepted by `ipvsadm-restore`).",
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Renders one LVS director's `keepalived.conf`, the `sysctl.d` fragment it needs and " +
			"its IPVS table as `ipvsadm-save` rules, from a description of the director, its VRRP instances, " +
			"its virtual servers and their real servers. It touches no host: use it for cloud-init, machine " +
			"images or review.\n\n" +
			"The description is validated at plan time; mistakes are reported on the attribute that holds them.",
		Attributes: attrs,
		Blocks: dataSourceBlocks(merge(directorBlocks(), map[string]blockSpec{
			"virtual_server_group": virtualServerGroupBlock(),
			"virtual_server":       virtualServerBlock(),
		})),
	}
}

// ValidateConfig checks the description against the model's rules at plan
// time. A configuration with values not known yet is checked when it is read.
func (d *keepalivedConfigDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var data keepalivedConfigModel
	if !knownConfig(ctx, req.Config, "lvs_keepalived_config", &data, &resp.Diagnostics) {
		return
	}
	cfg := data.toModel()
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, cfg.Validate(nil))
}

// Read renders the files.
func (d *keepalivedConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data keepalivedConfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg := data.toModel()

	content, err := render.Keepalived(&cfg)
	if err != nil {
		addRenderError(ctx, &resp.Diagnostics, req.Config, "keepalived.conf", err)
		return
	}
	sysctls, err := cfg.DirectorSysctls()
	if err != nil {
		addRenderError(ctx, &resp.Diagnostics, req.Config, "sysctl.d Fragment", err)
		return
	}
	rules, err := render.IPVSRules(&cfg)
	if err != nil {
		addRenderError(ctx, &resp.Diagnostics, req.Config, "ipvsadm Rules", err)
		return
	}
	data.Content = types.StringValue(content)
	data.SysctlContent = types.StringValue(render.Sysctl(sysctls))
	data.IPVSRules = types.StringValue(rules)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// toModel maps the data source's value into the model.
func (m *keepalivedConfigModel) toModel() model.KeepalivedConfig {
	cfg := model.KeepalivedConfig{Director: m.directorModel.toModel()}
	for i := range m.VirtualServerGroups {
		cfg.Groups = append(cfg.Groups, m.VirtualServerGroups[i].toModel())
	}
	for i := range m.VirtualServers {
		cfg.VirtualServers = append(cfg.VirtualServers, m.VirtualServers[i].toModel())
	}
	return cfg
}
