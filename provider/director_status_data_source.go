package provider

import (
	"context"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
)

var _ datasource.DataSourceWithConfigure = (*directorStatusDataSource)(nil)

// NewDirectorStatusDataSource returns the lvs_director_status data source.
func NewDirectorStatusDataSource() datasource.DataSource {
	return &directorStatusDataSource{}
}

// directorStatusDataSource reports a host's live state: VRRP states, the
// IPVS table with its counters, real-server and haproxy server health,
// the daemons. Status lives here, not in resources, so that it never makes
// a plan noisy.
type directorStatusDataSource struct {
	client *client
}

// Health of a destination, as directorStatus reports it.
const (
	healthUp      = cluster.HealthUp      // in the kernel table with a weight
	healthDown    = cluster.HealthDown    // declared here, but its health check took it out (removed, or weight 0 by inhibit_on_failure)
	healthDrained = cluster.HealthDrained // weight 0 as configured
)

var healthValues = []string{healthUp, healthDown, healthDrained}

type directorStatusModel struct {
	Connection        *connectionModel    `tfsdk:"ssh"`
	Hostname          types.String        `tfsdk:"hostname"`
	Kernel            types.String        `tfsdk:"kernel"`
	AgentVersion      types.String        `tfsdk:"agent_version"`
	IPVSAvailable     types.Bool          `tfsdk:"ipvs_available"`
	KeepalivedRunning types.Bool          `tfsdk:"keepalived_running"`
	KeepalivedInSync  types.Bool          `tfsdk:"keepalived_in_sync"`
	HAProxyRunning    types.Bool          `tfsdk:"haproxy_running"`
	HAProxyInSync     types.Bool          `tfsdk:"haproxy_in_sync"`
	VRRP              map[string]string   `tfsdk:"vrrp"`
	MissingVIPs       map[string][]string `tfsdk:"missing_vips"`
	HAProxyServers    map[string]string   `tfsdk:"haproxy_servers"`
	IPVS              []ipvsServiceStatus `tfsdk:"ipvs"`
	IPVSTable         types.String        `tfsdk:"ipvs_table"`
	Objects           []types.String      `tfsdk:"objects"`
}

type ipvsServiceStatus struct {
	Key          types.String        `tfsdk:"key"`
	Protocol     types.String        `tfsdk:"protocol"`
	Address      types.String        `tfsdk:"address"`
	Port         types.Int64         `tfsdk:"port"`
	Fwmark       types.Int64         `tfsdk:"fwmark"`
	Scheduler    types.String        `tfsdk:"scheduler"`
	Ours         types.Bool          `tfsdk:"ours"`
	Destinations []destinationStatus `tfsdk:"destination"`
}

type destinationStatus struct {
	Address       types.String `tfsdk:"address"`
	Port          types.Int64  `tfsdk:"port"`
	Weight        types.Int64  `tfsdk:"weight"`
	ActiveConns   types.Int64  `tfsdk:"active_conns"`
	InactiveConns types.Int64  `tfsdk:"inactive_conns"`
	PersistConns  types.Int64  `tfsdk:"persist_conns"`
	Health        types.String `tfsdk:"health"`
}

// Metadata names the data source.
func (d *directorStatusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_director_status"
}

// Schema is the connection plus the computed status.
func (d *directorStatusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	computedInt := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	computedBool := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Live status of a director (or any host the provider manages), read by the host's agent " +
			"in one observation: VRRP state per instance, the kernel's IPVS table with connection counters and " +
			"real-server health, haproxy server states, and whether keepalived and haproxy run the configuration " +
			"the provider stored. Status lives here rather than in the resources, so a real server that fails " +
			"its health check never shows as a change in a plan.\n\n" +
			"An unreachable host is an error. To watch for split brain across directors, see `lvs_vrrp_masters`.",
		Attributes: map[string]schema.Attribute{
			"hostname":           computedString("The host's own name (`/proc/sys/kernel/hostname`)."),
			"kernel":             computedString("The host's kernel release."),
			"agent_version":      computedString("Version of the lvs-agent that answered."),
			"ipvs_available":     computedBool("Whether the kernel has IPVS (`/proc/net/ip_vs` exists)."),
			"keepalived_running": computedBool("Whether keepalived runs."),
			"keepalived_in_sync": computedBool("Whether keepalived runs the `keepalived.conf` this host's stored " +
				"objects render to (`false` after a hand edit, or when it is stopped)."),
			"haproxy_running": computedBool("Whether haproxy runs."),
			"haproxy_in_sync": computedBool("Whether haproxy runs the `haproxy.cfg` this host's stored objects " +
				"render to (`false` after a hand edit, or when it is stopped)."),
			"vrrp": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "VRRP state per instance name, as keepalived reports it: `MASTER`, `BACKUP` or " +
					"`FAULT`. Empty when keepalived does not run.",
			},
			"missing_vips": schema.MapAttribute{
				Computed: true, ElementType: types.ListType{ElemType: types.StringType},
				MarkdownDescription: "Virtual addresses (`10.0.0.10/24`) missing on their device, per instance keepalived " +
					"reports `MASTER`: removed by hand where keepalived did not see it (it puts back one it sees " +
					"removed). The director's `keepalived_in_sync` is then `false`, and an apply puts them back. " +
					"Empty when none is missing; `BACKUP` and `FAULT` instances hold none.",
			},
			"haproxy_servers": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "State of each haproxy server, keyed `BACKEND/SERVER`, as haproxy's admin socket " +
					"reports it (`UP`, `DOWN`, `MAINT`, `no check`, ...). Empty when haproxy does not run.",
			},
			"objects": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The objects the provider stored on the host, as `KIND ID` " +
					"(`haproxy_frontend web`, `virtual_server tcp/10.0.0.10:80`).",
			},
			"ipvs_table": computedString("The kernel's IPVS table as `ipvsadm -Ln` prints it, from its column " +
				"header on (the version line above it is not read): each service with its scheduler and flags " +
				"(`persistent 300`, `mask 255.255.255.0`, `ops`, `(sh-fallback,sh-port)`), and under it each real " +
				"server with its forwarding method (`Masq`, `Route`, `Tunnel`), weight and active and inactive " +
				"connections, sorted and padded as ipvsadm does, for an output or a check an operator reads. " +
				"Only what the kernel holds: a real server a health check removed is in `ipvs` (`down`), not " +
				"here. Just the header when the kernel has no IPVS services."),
			"ipvs": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The kernel's IPVS table, ours and foreign. Empty when the kernel has no IPVS.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":       computedString("The service's key, as virtual server IDs spell it: `tcp/10.0.0.10:80`, `fwmark/7`."),
					"protocol":  computedString("`tcp`, `udp` or `sctp`; null for a fwmark service."),
					"address":   computedString("Virtual address; null for a fwmark service."),
					"port":      computedInt("Virtual port; null for a fwmark service."),
					"fwmark":    computedInt("Firewall mark; null for an address service."),
					"scheduler": computedString("Scheduler, such as `wlc`."),
					"ours":      computedBool("Whether an object the provider stored on this host declares the service."),
					"destination": schema.ListNestedAttribute{
						Computed: true,
						MarkdownDescription: "Real servers: those in the kernel table, and those declared here that " +
							"a health check took out of it.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"address":        computedString("Address of the real server."),
							"port":           computedInt("Port of the real server."),
							"weight":         computedInt("Weight in the kernel table (`0` when not in it)."),
							"active_conns":   computedInt("Active connections."),
							"inactive_conns": computedInt("Inactive connections."),
							"persist_conns":  computedInt("Persistence templates."),
							"health": computedString("`up`: in the table with a weight; `down`: declared here with a " +
								"weight, but its health check removed it or set its weight to 0; `drained`: weight 0 " +
								"as configured. " + allowedText(healthValues, "")),
						}},
					},
				}},
			},
		},
		Blocks: map[string]schema.Block{connectionBlockName: dataSourceConnectionBlock()},
	}
}

// Configure takes the provider's client.
func (d *directorStatusDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// Read observes the host once.
func (d *directorStatusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data directorStatusModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := d.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	view, err := d.client.view(ctx, cfg)
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "Director Status", cfg.ID(), err)
		return
	}
	data.setStatus(view)
	if view.AgentVersion() == "" {
		// An agent older than the version field answers for the one this
		// provider installs.
		data.AgentVersion = types.StringValue(d.client.agent.Version())
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// setStatus fills the computed attributes from a host's view.
func (m *directorStatusModel) setStatus(view *cluster.View) {
	st := view.Status()
	m.Hostname = types.StringValue(st.Hostname)
	m.Kernel = types.StringValue(st.Kernel)
	m.AgentVersion = types.StringValue(st.AgentVersion)
	m.IPVSAvailable = types.BoolValue(st.IPVSAvailable)
	m.KeepalivedRunning = types.BoolValue(st.KeepalivedRunning)
	m.KeepalivedInSync = types.BoolValue(st.KeepalivedInSync)
	m.HAProxyRunning = types.BoolValue(st.HAProxyRunning)
	m.HAProxyInSync = types.BoolValue(st.HAProxyInSync)
	m.VRRP, m.MissingVIPs, m.HAProxyServers = st.VRRP, st.MissingVIPs, st.HAProxyServers
	m.Objects = []types.String{}
	for _, k := range st.Objects {
		m.Objects = append(m.Objects, types.StringValue(k))
	}
	m.IPVSTable = types.StringValue(st.IPVSTable)
	m.IPVS = []ipvsServiceStatus{}
	for _, s := range view.Services() {
		m.IPVS = append(m.IPVS, serviceStatusFrom(s))
	}
}

// serviceStatusFrom maps one service's status to the data source's block.
func serviceStatusFrom(s cluster.ServiceStatus) ipvsServiceStatus {
	vs := s.Service.Service
	st := ipvsServiceStatus{
		Key:       types.StringValue(vs.Key()),
		Protocol:  types.StringNull(),
		Address:   types.StringNull(),
		Port:      types.Int64Null(),
		Fwmark:    types.Int64Null(),
		Scheduler: types.StringValue(vs.EffectiveScheduler()),
		Ours:      types.BoolValue(s.Service.Ours),
	}
	if vs.Fwmark != 0 {
		st.Fwmark = types.Int64Value(int64(vs.Fwmark))
	} else {
		st.Protocol = types.StringValue(vs.EffectiveProtocol())
		st.Address = types.StringValue(vs.Address.String())
		st.Port = types.Int64Value(int64(vs.Port))
	}
	st.Destinations = []destinationStatus{}
	for _, d := range s.Destinations {
		st.Destinations = append(st.Destinations, destination(d.Key, d.Weight, d.ActiveConns, d.InactiveConns, d.PersistConns, d.Health))
	}
	return st
}

func destination(key string, weight, active, inactive, persist int, health string) destinationStatus {
	d := destinationStatus{
		Address: types.StringValue(key), Port: types.Int64Null(),
		Weight: types.Int64Value(int64(weight)), ActiveConns: types.Int64Value(int64(active)),
		InactiveConns: types.Int64Value(int64(inactive)), PersistConns: types.Int64Value(int64(persist)),
		Health: types.StringValue(health),
	}
	if ap, err := netip.ParseAddrPort(key); err == nil {
		d.Address = types.StringValue(ap.Addr().String())
		d.Port = types.Int64Value(int64(ap.Port()))
	}
	return d
}

// dataSourceConnectionBlock is the connection block in a data source's
// schema: the host and the SSH settings of a resource's (connectionBlock),
// emitted through the shared attribute specs.
func dataSourceConnectionBlock() schema.SingleNestedBlock {
	attrs := map[string]attrSpec{
		// Required when the block is present; hostConfig reports a missing one.
		"host": {kind: kindString, description: "Name or address of the host to read. Required.",
			stringValidators: hostValidators()},
	}
	for name, f := range sshFields {
		attrs[name] = attrSpec{
			kind: f.kind, description: f.description + " Overrides the provider's setting for this host.",
			sensitive: f.sensitive, stringValidators: f.stringValidators(), intValidators: f.intValidators(),
			listValidators: f.listValidators(),
		}
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "How to reach the host over SSH (required): `host`, plus any of the provider's SSH " +
			"settings to override for this host.",
		Attributes: dataSourceAttributes(attrs),
	}
}
