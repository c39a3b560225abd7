package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

var _ datasource.DataSourceWithValidateConfig = (*haproxyConfigDataSource)(nil)

// NewHAProxyConfigDataSource returns the lvs_haproxy_config data source.
func NewHAProxyConfigDataSource() datasource.DataSource {
	return &haproxyConfigDataSource{}
}

// haproxyConfigDataSource renders one host's haproxy.cfg from its
// description; it touches no host.
type haproxyConfigDataSource struct{}

// haproxyConfigModel is the data source's Terraform value.
type haproxyConfigModel struct {
	Global    *haproxyGlobalModel     `tfsdk:"global"`
	Defaults  *haproxyDefaultsModel   `tfsdk:"defaults"`
	Resolvers []haproxyResolversModel `tfsdk:"resolvers"`
	Frontends []haproxyFrontendModel  `tfsdk:"frontend"`
	Backends  []haproxyBackendModel   `tfsdk:"backend"`
	Listens   []haproxyListenModel    `tfsdk:"listen"`

	Content types.String `tfsdk:"content"`
}

// Metadata names the data source.
func (d *haproxyConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_haproxy_config"
}

// Schema is the haproxy sections plus the rendered file.
func (d *haproxyConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Renders a host's `haproxy.cfg` from its `global`, `defaults`, `resolvers`, `frontend`, `backend` and " +
			"`listen` sections. It touches no host: use it for cloud-init, machine images or review.\n\n" +
			"A bind naming a `certificate` reads `" + model.HAProxyCertPath("NAME") + "` (`ssl crt`): this data source " +
			"holds no keys, so whoever installs the rendered file (cloud-init's `write_files`, the image build) puts the " +
			"certificate chain followed by its private key there as one PEM file of mode `0600`, in a directory of " +
			"mode `0700`. On hosts the provider manages, `lvs_haproxy_certificate` delivers the file instead.\n\n" +
			"The description is validated at plan time; mistakes are reported on the attribute that holds them.",
		Attributes: map[string]schema.Attribute{
			"content": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The host's `haproxy.cfg`. Sensitive, since the free `options` lines may hold " +
					"secrets (`stats auth admin:PASSWORD`): plans " +
					"and outputs do not print it; use `nonsensitive()` where it must be shown.",
			},
		},
		Blocks: dataSourceBlocks(map[string]blockSpec{
			"global":    haproxyGlobalBlock(),
			"defaults":  haproxyDefaultsBlock(),
			"resolvers": haproxyResolversBlock(),
			"frontend":  haproxyFrontendBlock(),
			"backend":   haproxyBackendBlock(),
			"listen":    haproxyListenBlock(),
		}),
	}
}

// ValidateConfig checks the description against the model's rules at plan
// time. A configuration with values not known yet is checked when it is read.
func (d *haproxyConfigDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var data haproxyConfigModel
	if !knownConfig(ctx, req.Config, "lvs_haproxy_config", &data, &resp.Diagnostics) {
		return
	}
	cfg := data.toModel()
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, cfg.Validate(nil))
}

// Read renders the file.
func (d *haproxyConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data haproxyConfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg := data.toModel()
	content, err := render.HAProxy(&cfg)
	if err != nil {
		addRenderError(ctx, &resp.Diagnostics, req.Config, "haproxy.cfg", err)
		return
	}
	data.Content = types.StringValue(content)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// toModel maps the data source's value into the model.
func (m *haproxyConfigModel) toModel() model.HAProxyConfig {
	cfg := model.HAProxyConfig{Global: m.Global.toModel(), Defaults: m.Defaults.toModel(), Resolvers: resolversOf(m.Resolvers)}
	for i := range m.Frontends {
		cfg.Frontends = append(cfg.Frontends, m.Frontends[i].toModel())
	}
	for i := range m.Backends {
		cfg.Backends = append(cfg.Backends, m.Backends[i].toModel())
	}
	for i := range m.Listens {
		cfg.Listens = append(cfg.Listens, m.Listens[i].toModel())
	}
	return cfg
}
