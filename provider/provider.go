// Package provider is the Terraform adapter of the lvs provider: schemas,
// the mapping between Terraform values and internal/model, and diagnostics.
// It holds no load-balancer logic of its own.
package provider

import (
	"context"
	"io/fs"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

var _ provider.Provider = (*lvsProvider)(nil)

// New returns a constructor of the provider, as providerserver expects;
// version is the release version, or "dev" for local builds.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &lvsProvider{version: version}
	}
}

// lvsProvider is the lvs provider. Its configuration is the SSH defaults
// of every host; the render-only data sources need none.
type lvsProvider struct {
	version string

	mu     sync.Mutex
	client *client // the last Configure's, whose pool and agent a new one may reuse
	// configured, when set, sees every client Configure builds (tests).
	configured func(*client)
	// agentBins, when set, replaces the embedded agent binaries (tests
	// that build the agent themselves).
	agentBins fs.FS
}

// providerModel is the provider block.
type providerModel struct {
	sshModel
	Bastion *bastionModel `tfsdk:"bastion"`
}

// Summary of provider configuration problems.
const summaryProviderConfig = "Invalid Provider Configuration"

// Metadata sets the type name prefix of every resource and data source.
func (p *lvsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "lvs"
	resp.Version = p.version
}

// Schema describes the provider block: SSH defaults for every host.
func (p *lvsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	bastion := providerSSHAttributes(false)
	bastion["host"] = schema.StringAttribute{
		MarkdownDescription: "Name or address of the jump host. Required when the block is present.",
		Optional:            true,
		Validators:          []validator.String{hostCheck},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The lvs provider builds Linux load-balancer clusters: LVS/IPVS directors " +
			"made highly available by keepalived VRRP, their real servers, and haproxy tiers. " +
			"Its render-only data sources turn the same description into `keepalived.conf`, `haproxy.cfg`, " +
			"`ipvsadm-save` rules and `sysctl.d` fragments.\n\n" +
			"Resources reach their hosts over SSH. The provider block holds the SSH defaults of every host; " +
			"each resource's `ssh` block names its host and may override any of them. Host keys are always " +
			"verified (`known_hosts_files` or a pinned `host_key`) unless `insecure_ignore_host_key` is set. " +
			"A non-root user is run through `sudo -n` automatically. The provider uploads its agent to each " +
			"host once per provider version (into `/var/lib/lvs-agent/bin`).",
		Attributes: providerSSHAttributes(true),
		Blocks: map[string]schema.Block{
			"bastion": schema.SingleNestedBlock{
				MarkdownDescription: "A jump host every connection is tunnelled through. Settings it leaves " +
					"unset are taken from the provider's own (the same user, key and known_hosts, typically).",
				Attributes: bastion,
			},
		},
	}
}

// Configure reads the SSH defaults and builds the client every resource
// shares. Problems in the SSH settings are reported here when they are
// certain; values not known yet are reported only when a resource needs a
// host, so the render-only data sources work without a provider block.
func (p *lvsProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var data providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var defaults transport.Config
	var deferred = envDefaults(&defaults)
	deferred.Append(data.overlay(ctx, &defaults, path.Empty())...)
	if b := data.Bastion; b != nil {
		bastion := defaults // the bastion inherits what it does not set
		bastion.Bastion = nil
		bastion.Host = ""
		deferred.Append(b.overlay(ctx, &bastion, path.Root("bastion"))...)
		switch {
		case b.Host.IsUnknown() || b.Host.IsNull() || b.Host.ValueString() == "":
			deferred.AddAttributeError(path.Root("bastion").AtName("host"), summaryProviderConfig,
				"The bastion block needs the host to tunnel through.")
		default:
			bastion.Host = b.Host.ValueString()
			if err := transport.ValidateHost(bastion.Host); err != nil {
				addSSHError(&deferred, path.Root("bastion").AtName("host"), err)
			}
		}
		defaults.Bastion = &bastion
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := newClient(ctx, p.version, p.agentBins, defaults, deferred, p.client)
	if err != nil {
		resp.Diagnostics.AddError(summaryProviderConfig, "Setting up the agent deployer failed: "+err.Error())
		return
	}
	p.client = c
	if p.configured != nil {
		p.configured(c)
	}
	tflog.Debug(ctx, "provider configured", map[string]any{"agent_version": c.agent.Version()})
	resp.ResourceData = c
	resp.DataSourceData = c
}

// Resources lists the provider's managed resources.
func (p *lvsProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDirectorResource,
		NewHAProxyBackendResource,
		NewHAProxyCertificateResource,
		NewHAProxyFrontendResource,
		NewHAProxyResource,
		NewVirtualServerResource,
		NewRealServerResource,
	}
}

// DataSources lists the provider's data sources.
func (p *lvsProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewKeepalivedConfigDataSource,
		NewHAProxyConfigDataSource,
		NewDirectorStatusDataSource,
		NewVRRPMastersDataSource,
		NewRealServerConfigDataSource,
	}
}
