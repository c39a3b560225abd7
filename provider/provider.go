// Package provider is the Terraform adapter of the lvs provider: schemas,
// the mapping between Terraform values and internal/model, and diagnostics.
// It holds no load-balancer logic of its own.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

var _ provider.Provider = (*lvsProvider)(nil)

// New returns a constructor of the provider, as providerserver expects;
// version is the release version, or "dev" for local builds.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &lvsProvider{version: version}
	}
}

// lvsProvider is the lvs provider. It has no configuration yet: the
// render-only data sources need none.
type lvsProvider struct {
	version string
}

// Metadata sets the type name prefix of every resource and data source.
func (p *lvsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "lvs"
	resp.Version = p.version
}

// Schema describes the provider block.
func (p *lvsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The lvs provider builds Linux load-balancer clusters: LVS/IPVS directors " +
			"made highly available by keepalived VRRP, their real servers, and haproxy tiers. " +
			"Its render-only data sources turn the same description into `keepalived.conf`, `haproxy.cfg`, " +
			"`ipvsadm-save` rules and `sysctl.d` fragments.",
	}
}

// Configure has nothing to set up yet; it accepts an unconfigured provider
// (no provider block at all), which is how the render-only data sources run.
func (p *lvsProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

// Resources lists the provider's managed resources (none yet).
func (p *lvsProvider) Resources(context.Context) []func() resource.Resource {
	return nil
}

// DataSources lists the provider's data sources.
func (p *lvsProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewKeepalivedConfigDataSource,
		NewHAProxyConfigDataSource,
	}
}
