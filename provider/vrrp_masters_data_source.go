package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

var _ datasource.DataSourceWithConfigure = (*vrrpMastersDataSource)(nil)

// NewVRRPMastersDataSource returns the lvs_vrrp_masters data source.
func NewVRRPMastersDataSource() datasource.DataSource {
	return &vrrpMastersDataSource{}
}

// vrrpMastersDataSource counts, per VRRP instance, the directors that are
// MASTER: one is healthy, two or more is split brain, none is an outage.
type vrrpMastersDataSource struct {
	client *client
}

type vrrpMastersModel struct {
	Hosts      []types.String       `tfsdk:"hosts"`
	Names      []types.String       `tfsdk:"instance_names"`
	Settle     types.Int64          `tfsdk:"settle_seconds"`
	Instances  []vrrpInstanceMaster `tfsdk:"instances"`
	SplitBrain types.Bool           `tfsdk:"split_brain"`
	AllHaveOne types.Bool           `tfsdk:"all_have_one_master"`
}

type vrrpInstanceMaster struct {
	Name            types.String      `tfsdk:"name"`
	VirtualRouterID types.Int64       `tfsdk:"virtual_router_id"`
	Masters         types.Int64       `tfsdk:"masters"`
	MasterHosts     []types.String    `tfsdk:"master_hosts"`
	States          map[string]string `tfsdk:"states"`
}

// Metadata names the data source.
func (d *vrrpMastersDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vrrp_masters"
}

// Schema is the hosts and optional instance names in, the counts out.
func (d *vrrpMastersDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Counts, for each VRRP instance, how many of the given directors are `MASTER`, " +
			"to catch split brain (two masters, both holding the virtual addresses) or an outage (none) in a " +
			"Terraform `check` block. Each host is read once, by its agent, with the provider's SSH settings.\n\n" +
			"A host that cannot be read is an error naming the host, not a silent gap in the count: inside a " +
			"`check` block Terraform reports it as a warning and the check as failed, which is what an " +
			"unreachable director deserves.",
		Attributes: map[string]schema.Attribute{
			"hosts": schema.ListAttribute{
				Required: true, ElementType: types.StringType,
				MarkdownDescription: "The directors of one VRRP group: the hosts their `lvs_director` resources " +
					"connect to, each as `host`, `user@host` or `user@host:port` (as `lvs_director` imports take " +
					"them). They are reached with the provider's other SSH settings.",
				Validators: hostSpecValidators(),
			},
			"instance_names": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "VRRP instances to report. Unset reports every instance any of the hosts " +
					"runs; a named instance no host runs is reported with `masters = 0`.",
			},
			"settle_seconds": schema.Int64Attribute{
				Optional: true, CustomType: wholeNumberType{},
				MarkdownDescription: fmt.Sprintf("Seconds to wait for every instance to have exactly one master "+
					"before reporting, re-reading the hosts every second: directors that were just created or "+
					"restarted are still electing (keepalived stays `BACKUP` for about three advertisement "+
					"intervals), and a `BACKUP` that keepalived says preempts with a higher effective priority than the "+
					"`MASTER`'s (one that started after its peer) is waited for too, until it has taken over. Defaults to `%d`; `0` reports "+
					"the first reading. A lasting split brain or outage is reported once the time is up, so each "+
					"read of an unhealthy group costs this long.", defaultSettleSeconds),
				Validators: []validator.Int64{int64validator.Between(0, 600)},
			},
			"instances": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "One entry per VRRP instance, sorted by name.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Computed: true, MarkdownDescription: "Instance name."},
					"virtual_router_id": schema.Int64Attribute{Computed: true,
						MarkdownDescription: "Virtual router id, from the instance the provider stored on the hosts; " +
							"null when no host holds it."},
					"masters": schema.Int64Attribute{Computed: true,
						MarkdownDescription: "How many of the hosts are `MASTER` of the instance. `1` is healthy."},
					"master_hosts": schema.ListAttribute{Computed: true, ElementType: types.StringType,
						MarkdownDescription: "The hosts that are `MASTER`, in the order of `hosts`."},
					"states": schema.MapAttribute{Computed: true, ElementType: types.StringType,
						MarkdownDescription: "State per host: `MASTER`, `BACKUP`, `FAULT`, or `NONE` when the " +
							"host does not run the instance (keepalived stopped)."},
				}},
			},
			"split_brain": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether any instance has more than one master."},
			"all_have_one_master": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether every instance has exactly one master: the condition a `check` block asserts."},
		},
	}
}

// Configure takes the provider's client.
func (d *vrrpMastersDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// defaultSettleSeconds is how long lvs_vrrp_masters waits, by default,
// for every instance to have one master: a new pair elects within about
// three advertisement intervals (3 s at keepalived's default of 1 s) plus
// the skew, and a preempting master takes over within one more.
const defaultSettleSeconds = 15

// Read observes every host concurrently and counts the masters; while an
// instance has none or several, it observes again every second until the
// settle time is up.
func (d *vrrpMastersDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data vrrpMastersModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	hosts := stringsOf(data.Hosts)
	cfgs := make([]transport.Config, len(hosts))
	for i, h := range hosts {
		conn, err := hostSpecConnection(h)
		if err != nil {
			addSSHError(&resp.Diagnostics, path.Root("hosts").AtListIndex(i), err)
			continue
		}
		cfg, diags := d.client.hostConfig(conn)
		resp.Diagnostics.Append(diags...)
		cfgs[i] = cfg
	}
	if resp.Diagnostics.HasError() {
		return
	}
	settle := time.Duration(defaultSettleSeconds) * time.Second
	if !data.Settle.IsNull() {
		settle = time.Duration(data.Settle.ValueInt64()) * time.Second
	}
	deadline := time.Now().Add(settle)
	names := stringsOf(data.Names)
	for fresh := false; ; fresh = true {
		obs := d.observeAll(ctx, cfgs, fresh, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		counted := cluster.CountMasters(hosts, obs, names)
		data.Instances = countMasters(counted)
		if settled(counted) || !time.Now().Add(time.Second).Before(deadline) {
			break
		}
		tflog.Debug(ctx, "VRRP instances without exactly one master, or with a BACKUP about to preempt it; reading the directors again",
			map[string]any{"unsettled": unsettled(counted), "deadline": deadline.Format(time.RFC3339)})
		select {
		case <-ctx.Done():
			resp.Diagnostics.AddError("VRRP State Read Cancelled", ctx.Err().Error())
			return
		case <-time.After(time.Second):
		}
	}
	split, allOne := false, true
	for _, in := range data.Instances {
		n := in.Masters.ValueInt64()
		split = split || n > 1
		allOne = allOne && n == 1
	}
	data.SplitBrain = types.BoolValue(split)
	data.AllHaveOne = types.BoolValue(allOne)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// observeAll views every host concurrently: from the fleet's
// observation when it may, afresh when the last one is known to be stale.
func (d *vrrpMastersDataSource) observeAll(ctx context.Context, cfgs []transport.Config, fresh bool, diags *diag.Diagnostics) []*cluster.View {
	views := make([]*cluster.View, len(cfgs))
	errs := make([]diag.Diagnostics, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			view := d.client.view
			if fresh {
				view = d.client.freshView
			}
			v, err := view(ctx, cfg)
			if err != nil {
				addHostError(&errs[i], "Read", "VRRP State", cfg.ID(), err)
				return
			}
			views[i] = v
		}()
	}
	wg.Wait()
	for _, e := range errs {
		diags.Append(e...)
	}
	return views
}

// settled reports whether every instance has exactly one master that no
// BACKUP is about to preempt.
func settled(instances []cluster.InstanceMasters) bool {
	return len(unsettled(instances)) == 0
}

// unsettled maps the instances without exactly one master, or with a
// BACKUP about to preempt it, to their count of masters.
func unsettled(instances []cluster.InstanceMasters) map[string]int {
	out := map[string]int{}
	for _, in := range instances {
		if n := len(in.MasterHosts); n != 1 || len(in.Preempting) > 0 {
			out[in.Name] = n
		}
	}
	return out
}

// countMasters maps the hosts' VRRP states by instance (cluster.CountMasters)
// to the data source's blocks.
func countMasters(counted []cluster.InstanceMasters) []vrrpInstanceMaster {
	out := []vrrpInstanceMaster{}
	for _, in := range counted {
		m := vrrpInstanceMaster{
			Name: types.StringValue(in.Name), VirtualRouterID: types.Int64Null(),
			MasterHosts: []types.String{}, States: in.States, Masters: types.Int64Value(int64(len(in.MasterHosts))),
		}
		if in.VirtualRouterID != 0 {
			m.VirtualRouterID = types.Int64Value(int64(in.VirtualRouterID))
		}
		for _, h := range in.MasterHosts {
			m.MasterHosts = append(m.MasterHosts, types.StringValue(h))
		}
		out = append(out, m)
	}
	return out
}
