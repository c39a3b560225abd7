package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The real server shape: one destination of a virtual server with its
// health check (model.RealServer). Attribute names are the ones
// model.RealServer uses in its paths.

// realServerAttributes are a real server's own attributes.
func realServerAttributes() map[string]attrSpec {
	return map[string]attrSpec{
		"address": ipAttr("Address of the real server, of the virtual server's address family.").mandatory(),
		"port": portAttr("Destination port. Defaults to the virtual port; only `nat` may map it to another "+
			"(`dr` and `tun` do not rewrite ports).", 0),
		"weight": rangeAttr("Scheduling weight; `0` keeps the server in the table without sending it new "+
			"connections. Defaults to `1`.", 0, 65535),
		"forwarding_method": enumAttr("Forwarding method towards this server. Defaults to the virtual server's.",
			model.ForwardingMethods, ""),
		"tunnel_type": enumAttr("Encapsulation of `forwarding_method = \"tun\"`. Defaults to the virtual "+
			"server's; keepalived's engine supports `ipip` only.", model.TunnelTypes, ""),
		"tunnel_port": portAttr("UDP port of the receiver for `tunnel_type = \"gue\"`.", 0),
		"upper_threshold": intAttr("Active connections above which the server gets no new ones; " +
			"`0` means no limit."),
		"lower_threshold": intAttr("Active connections below which a server over `upper_threshold` gets new ones " +
			"again; below `upper_threshold`."),
		"inhibit_on_failure": boolAttr("Set the weight to `0` instead of removing the server when its health " +
			"check fails. Defaults to the virtual server's `inhibit_on_failure`."),
		"notify_up":   stringAttr("Command run when the health check starts passing."),
		"notify_down": stringAttr("Command run when the health check starts failing."),
	}
}

// realServerBlocks are a real server's health checks, at most one of them
// (the newer checkers are in health_check_schema.go).
func realServerBlocks() map[string]blockSpec {
	httpCheck := func(name, what string) blockSpec {
		return blockSpec{
			single: true,
			description: "Health check by " + what + " (keepalived `" + name + "`): every `url` must answer " +
				"with its status code and, when a digest is given, a body of that MD5 digest.",
			attrs: merge(checkCommonAttributes(), map[string]attrSpec{
				"virtualhost": stringAttr("`Host` header of the requests. Defaults to the virtual server's `virtualhost`."),
			}),
			blocks: map[string]blockSpec{
				"url": {
					description: "A URL the check requests; at least one.",
					attrs: map[string]attrSpec{
						"path": stringAttr("Path of the request, starting with `/`.").mandatory(),
						"status_code": stringAttr("Expected status code or range, such as `200` or `200-299`. " +
							"Defaults to any 2xx."),
						"digest": stringAttr("MD5 of the expected body, 32 lower-case hex digits (as " +
							"keepalived's `genhash` prints it)."),
					},
				},
			},
		}
	}
	return merge(healthCheckBlocks(), map[string]blockSpec{
		"tcp_check": {
			single:      true,
			description: "Health check that succeeds when a TCP connection opens (keepalived `TCP_CHECK`).",
			attrs:       checkCommonAttributes(),
		},
		"http_get": httpCheck("HTTP_GET", "HTTP"),
		"ssl_get":  httpCheck("SSL_GET", "HTTPS"),
		"misc_check": {
			single:      true,
			description: "Health check by a script (keepalived `MISC_CHECK`): exit status 0 is up.",
			attrs: map[string]attrSpec{
				"script":  stringAttr("Command to run.").mandatory(),
				"timeout": intAttr("Seconds the script may run.").positive(),
				"dynamic": boolAttr("Exit codes 2 to 255 set the weight to the code minus 2."),
				"user":    stringAttr("User that runs the script. Defaults to the director's `script_user`."),
			},
		},
	})
}

// checkCommonAttributes are the settings every connecting checker shares;
// unset ones inherit the virtual server's defaults.
func checkCommonAttributes() map[string]attrSpec {
	return map[string]attrSpec{
		"connect_ip":   ipAttr("Address to check. Defaults to the real server's."),
		"connect_port": portAttr("Port to check. Defaults to the real server's.", 0),
		"bindto":       ipAttr("Source address of the check."),
		"connect_timeout": intAttr("Seconds the connection may take. " +
			"Defaults to the virtual server's.").positive(),
		"retry": intAttr("Retries before the server counts as down. " +
			"Defaults to the virtual server's.").positive(),
		"delay_before_retry": intAttr("Seconds between retries. " +
			"Defaults to the virtual server's.").positive(),
	}
}

func realServerBlock() blockSpec {
	return blockSpec{
		description: "A real server of the virtual service (keepalived `real_server`): an IPVS destination " +
			"with its weight, forwarding method, thresholds and health check.",
		attrs:  realServerAttributes(),
		blocks: realServerBlocks(),
	}
}

// realServerModel is the Terraform value of the real server shape.
type realServerModel struct {
	Address          iptypes.IPAddress `tfsdk:"address"`
	Port             types.Int64       `tfsdk:"port"`
	Weight           types.Int64       `tfsdk:"weight"`
	ForwardingMethod types.String      `tfsdk:"forwarding_method"`
	TunnelType       types.String      `tfsdk:"tunnel_type"`
	TunnelPort       types.Int64       `tfsdk:"tunnel_port"`
	UpperThreshold   types.Int64       `tfsdk:"upper_threshold"`
	LowerThreshold   types.Int64       `tfsdk:"lower_threshold"`
	InhibitOnFailure types.Bool        `tfsdk:"inhibit_on_failure"`
	NotifyUp         types.String      `tfsdk:"notify_up"`
	NotifyDown       types.String      `tfsdk:"notify_down"`
	TCPCheck         *checkCommonModel `tfsdk:"tcp_check"`
	HTTPGet          *httpCheckModel   `tfsdk:"http_get"`
	SSLGet           *httpCheckModel   `tfsdk:"ssl_get"`
	MiscCheck        *miscCheckModel   `tfsdk:"misc_check"`
	healthChecksModel
}

type checkCommonModel struct {
	ConnectIP        iptypes.IPAddress `tfsdk:"connect_ip"`
	ConnectPort      types.Int64       `tfsdk:"connect_port"`
	BindTo           iptypes.IPAddress `tfsdk:"bindto"`
	ConnectTimeout   types.Int64       `tfsdk:"connect_timeout"`
	Retry            types.Int64       `tfsdk:"retry"`
	DelayBeforeRetry types.Int64       `tfsdk:"delay_before_retry"`
}

type httpCheckModel struct {
	checkCommonModel
	VirtualHost types.String    `tfsdk:"virtualhost"`
	URLs        []checkURLModel `tfsdk:"url"`
}

type checkURLModel struct {
	Path       types.String `tfsdk:"path"`
	StatusCode types.String `tfsdk:"status_code"`
	Digest     types.String `tfsdk:"digest"`
}

type miscCheckModel struct {
	Script  types.String `tfsdk:"script"`
	Timeout types.Int64  `tfsdk:"timeout"`
	Dynamic types.Bool   `tfsdk:"dynamic"`
	User    types.String `tfsdk:"user"`
}

// toModel maps the real server shape into the model.
func (m *realServerModel) toModel() model.RealServer {
	rs := model.RealServer{
		Address:          addrOf(m.Address),
		Port:             intOf(m.Port),
		Weight:           optInt(m.Weight),
		ForwardingMethod: m.ForwardingMethod.ValueString(),
		TunnelType:       m.TunnelType.ValueString(),
		TunnelPort:       intOf(m.TunnelPort),
		UpperThreshold:   intOf(m.UpperThreshold),
		LowerThreshold:   intOf(m.LowerThreshold),
		InhibitOnFailure: optBool(m.InhibitOnFailure),
		NotifyUp:         m.NotifyUp.ValueString(),
		NotifyDown:       m.NotifyDown.ValueString(),
		HTTPGet:          m.HTTPGet.toModel(),
		SSLGet:           m.SSLGet.toModel(),
	}
	if c := m.TCPCheck; c != nil {
		rs.TCPCheck = &model.TCPCheck{CheckCommon: c.toModel()}
	}
	if c := m.MiscCheck; c != nil {
		rs.MiscCheck = &model.MiscCheck{
			Script:  c.Script.ValueString(),
			Timeout: intOf(c.Timeout),
			Dynamic: c.Dynamic.ValueBool(),
			User:    c.User.ValueString(),
		}
	}
	m.healthChecksModel.apply(&rs)
	return rs
}

func (m *checkCommonModel) toModel() model.CheckCommon {
	return model.CheckCommon{
		ConnectIP:        addrOf(m.ConnectIP),
		ConnectPort:      intOf(m.ConnectPort),
		BindTo:           addrOf(m.BindTo),
		ConnectTimeout:   intOf(m.ConnectTimeout),
		Retry:            intOf(m.Retry),
		DelayBeforeRetry: intOf(m.DelayBeforeRetry),
	}
}

// toModel maps an HTTP_GET or SSL_GET check; nil when the block is absent.
func (m *httpCheckModel) toModel() *model.HTTPCheck {
	if m == nil {
		return nil
	}
	c := &model.HTTPCheck{CheckCommon: m.checkCommonModel.toModel(), VirtualHost: m.VirtualHost.ValueString()}
	for _, u := range m.URLs {
		c.URLs = append(c.URLs, model.CheckURL{
			Path: u.Path.ValueString(), StatusCode: u.StatusCode.ValueString(), Digest: u.Digest.ValueString(),
		})
	}
	return c
}

// realServerResourceSchema is the schema of lvs_real_server.
func realServerResourceSchema() schema.Schema {
	attrs := resourceAttributes(realServerAttributes())
	attrs["id"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "`VIRTUAL_SERVER_KEY/ADDRESS:PORT@DIRECTORS`, such as " +
			"`tcp/10.0.0.10:80/192.168.1.10:80@10.0.0.2,10.0.0.3`; the import ID.",
	}
	attrs["virtual_server_id"] = schema.StringAttribute{
		Required: true,
		MarkdownDescription: "The `id` of the `lvs_virtual_server` this server belongs to " +
			"(`lvs_virtual_server.web.id`): it names the service and the directors the server is put on. " +
			"A change of the virtual server's directors moves the server along, in place.",
		Validators: []validator.String{vsIDValidator{}},
	}
	attrs["managed"] = managedAttribute("real server")
	for name, a := range realServerSideAttributes() {
		attrs[name] = a
	}
	return withTimeouts(schema.Schema{
		MarkdownDescription: "One real server (IPVS destination) of an `lvs_virtual_server`: address, port, " +
			"weight, forwarding method, thresholds and health check, put on every director of the virtual " +
			"server. With `host`, the real-server side is set up on the real server itself as well.\n\n" +
			"Changing the address or port replaces the server; everything else changes in place (a weight " +
			"change is one netlink update on a `netlink` director, a reload of keepalived on a `keepalived` one).\n\n" +
			"Read reports what the directors run: the kernel's weight, forwarding method and thresholds (so " +
			"`ipvsadm -e -w 0` by hand shows in the plan), the stored description for the rest. On a " +
			"`keepalived` director a server that its health check took down (removed from the table, or weight " +
			"`0` with `inhibit_on_failure`) is status, not drift: see `data.lvs_director_status`. A server removed " +
			"from a `netlink` director by hand is planned to be created again.\n\n" +
			"Destroy can drain first (`drain_on_destroy`).\n\n" +
			"Import with the `id`: `terraform import lvs_real_server.web1 " +
			"'tcp/10.0.0.10:80/192.168.1.10:80@10.0.0.2,10.0.0.3'`; add `;host=HOST` (`host`, `user@host` or " +
			"`user@host:port`) to fill the `host` block and adopt the real-server side built there by hand.",
		Attributes: attrs,
		Blocks: merge(resourceBlocks(realServerBlocks()), map[string]schema.Block{
			connectionBlockName: directorsConnectionBlock(),
			"host":              realServerHostBlock(),
		}),
	})
}

// realServerHostBlock is the `host` block of a real server, in
// lvs_real_server and in the real_server blocks of lvs_virtual_server: its
// own SSH host, where the real-server side is set up.
func realServerHostBlock() schema.SingleNestedBlock {
	hostAttrs := sshOverrideAttributes("the real server's host")
	hostAttrs["host"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: "Name or address of the real server's host, to reach it over SSH. Required when the block is present.",
		Validators:          hostValidatorsBesidesEmpty(),
	}
	hostAttrs["vips"] = schema.ListAttribute{
		ElementType: iptypes.IPAddressType{},
		Optional:    true,
		MarkdownDescription: "Virtual addresses the host accepts traffic for with `dr` and `tun` (on `lo` or the " +
			"tunnel device). Defaults to the virtual server's address; a fwmark service needs them.",
	}
	hostAttrs["gateway"] = schema.StringAttribute{
		CustomType: iptypes.IPAddressType{},
		Optional:   true,
		MarkdownDescription: "With `nat`: the director-side address replies must route through, set as the host's " +
			"default route (usually a VIP of the directors' inside VRRP instance).",
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "The real server's own SSH host. When present, the real-server side is set up there " +
			"too, and removed on destroy: with `dr` the VIPs on `lo` and `arp_ignore`/`arp_announce`; with `tun` " +
			"the tunnel device with the VIPs, and `rp_filter` off; with `nat` the default route through `gateway`. " +
			"`host`, and any of the provider's SSH settings to override for it.",
		Attributes: hostAttrs,
	}
}

// realServerSideAttributes are a real server's attributes beside its
// destination (realServerAttributes) that are not the kernel's: whether
// its host side is in place, and how its destroy drains. lvs_real_server
// and the real_server blocks of lvs_virtual_server both have them.
func realServerSideAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"host_in_sync": schema.BoolAttribute{
			Computed: true,
			MarkdownDescription: "With `host`: whether the host still has its real-server side (addresses, tunnel, " +
				"sysctls, route). `false` after a hand change such as a VIP removed from `lo`; every plan wants " +
				"`true`, so the change shows and apply repairs it. Null without `host`.",
		},
		"drain_on_destroy": schema.BoolAttribute{
			Optional: true,
			MarkdownDescription: "On destroy, first set the weight to `0` on every director and wait until the " +
				"server's active connections are gone (or `drain_timeout` passes), then remove it. Draining every " +
				"server of a service is fine: keepalived's warning that its quorum exceeds the total weight of `0` " +
				"is shown as a warning.",
		},
		"drain_timeout": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: fmt.Sprintf("How long a draining destroy waits for active connections to end, "+
				"as a duration such as `2m`; the server is removed then, whatever remains. Defaults to `%s`.", defaultDrainTimeout),
			Validators: []validator.String{durationValidator{}},
		},
	}
}

// vsIDValidator checks a virtual server id at plan time.
type vsIDValidator struct{}

func (vsIDValidator) Description(context.Context) string {
	return "a virtual server id such as `tcp/10.0.0.10:80@dir1,dir2`"
}

func (v vsIDValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (vsIDValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := cluster.ParseVirtualServerID(req.ConfigValue.ValueString()); err != nil {
		addAttributeError(&resp.Diagnostics, req.Path, summaryInvalidConfig,
			fmt.Sprintf("not the id of an lvs_virtual_server: %s. Use lvs_virtual_server.NAME.id", err))
	}
}
