package provider

import (
	"fmt"
	"math"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The virtual server shape: one IPVS service with its scheduling,
// persistence, sorry server and health-check defaults (model.VirtualServer),
// and the keepalived virtual_server_group it may refer to. Attribute names
// are the ones model.VirtualServer and model.KeepalivedConfig use in their
// paths.

// virtualServerAttributes are a virtual server's own attributes.
func virtualServerAttributes() map[string]attrSpec {
	return map[string]attrSpec{
		"address": ipAttr("Virtual address (VIP) of the service. Exactly one of `address` (with `port`), " +
			"`fwmark` and `group` identifies the service."),
		"port": portAttr("Virtual port. `0` means every port and needs `persistence_timeout`.", 0),
		"protocol": enumAttr("Transport protocol of an address or group service; a fwmark service takes none.",
			model.Protocols, model.DefaultProtocol),
		"fwmark": rangeAttr("Firewall mark that selects the service's packets, set by an iptables or nftables rule "+
			"(`lvs_virtual_server` can have the agent program it: `fwmark_match`).",
			1, math.MaxUint32),
		"family": enumAttr("Address family of a `fwmark` or `group` service (derived from the address otherwise).",
			model.AddressFamilies, "inet"),
		"group": stringAttr("Name of a `virtual_server_group` whose members this service serves. " +
			"Groups are a keepalived feature (`engine = \"keepalived\"`)."),
		"scheduler": enumAttr("IPVS scheduling algorithm.", model.Schedulers, model.DefaultScheduler),
		"scheduler_port": boolAttr("Hash the source port as well as the address (`sh-port`/`mh-port`; " +
			"schedulers `sh` and `mh`)."),
		"scheduler_fallback": boolAttr("Pick another real server when the hashed one is unavailable " +
			"(`sh-fallback`/`mh-fallback`; schedulers `sh` and `mh`)."),
		"one_packet": boolAttr("Schedule each UDP datagram on its own (`ops`); for udp services."),
		"persistence_timeout": intAttr(fmt.Sprintf("Seconds a client stays on the real server it was first "+
			"sent to, at most `%d` (31 days); `0` disables persistence.", model.MaxPersistenceTimeout)),
		"persistence_granularity": intAttr("Prefix length that groups clients for persistence: `24` keeps a " +
			"whole /24 on one real server. Needs `persistence_timeout`. Defaults to the single address."),
		"forwarding_method": enumAttr("How packets reach the real servers, unless a real server sets its own: "+
			"`nat` rewrites the destination (replies must route back through the director), `dr` rewrites the "+
			"MAC address (real servers on the same network, VIP on their loopback), `tun` encapsulates.",
			model.ForwardingMethods, model.DefaultForwardingMethod),
		"tunnel_type": enumAttr("Encapsulation of `forwarding_method = \"tun\"`. keepalived's engine supports "+
			"`ipip` only.", model.TunnelTypes, model.DefaultTunnelType),
		"tunnel_port": portAttr("UDP port of the receiver for `tunnel_type = \"gue\"`.", 0),
		"delay_loop": intAttr("Seconds between health checks of the real servers. " +
			"Defaults to keepalived's `60`.").positive(),
		"retry":              intAttr("Default number of retries of a failing health check.").positive(),
		"delay_before_retry": intAttr("Default seconds between health-check retries.").positive(),
		"connect_timeout": intAttr("Default seconds a health check may take to connect. " +
			"Defaults to keepalived's `5`.").positive(),
		"virtualhost": stringAttr("Default `Host` header of `http_get` and `ssl_get` checks."),
		"quorum": intAttr("Summed weight of healthy real servers below which the service counts as down: " +
			"`quorum_down` runs and the sorry server takes over. Defaults to `1`."),
		"hysteresis":  intAttr("Margin around `quorum` that dampens flapping; below `quorum`."),
		"quorum_up":   stringAttr("Command run when the service regains quorum."),
		"quorum_down": stringAttr("Command run when the service loses quorum."),
		"alpha":       boolAttr("Start real servers as down until their first health check passes."),
		"omega":       boolAttr("Run every real server's `notify_down` when the service is removed."),
		"inhibit_on_failure": boolAttr("Set a failed real server's weight to `0` instead of removing it, so its " +
			"connections drain. Real servers may override it."),
	}
}

// virtualServerBlocks are a virtual server's nested blocks.
func virtualServerBlocks() map[string]blockSpec {
	return map[string]blockSpec{
		"sorry_server": {
			single:      true,
			description: "Destination that receives the traffic while the service has no quorum (`sorry_server`).",
			attrs: map[string]attrSpec{
				"address": ipAttr("Address of the sorry server.").mandatory(),
				"port": portAttr("Port of the sorry server. Defaults to the virtual port; only `nat` may map "+
					"it to another.", 0),
				"forwarding_method": enumAttr("Forwarding method towards the sorry server. Defaults to the "+
					"virtual server's.", model.ForwardingMethods, ""),
				"inhibit": boolAttr("Keep the sorry server in the IPVS table with weight `0` while real servers are up."),
			},
		},
		"real_server": realServerBlock(),
	}
}

func virtualServerBlock() blockSpec {
	return blockSpec{
		description: "An IPVS virtual service (keepalived `virtual_server`): a VIP, port and protocol, a " +
			"firewall mark, or a group, with the real servers behind it.",
		attrs:  virtualServerAttributes(),
		blocks: virtualServerBlocks(),
	}
}

func virtualServerGroupBlock() blockSpec {
	return blockSpec{
		description: "A keepalived `virtual_server_group`: several addresses, address ranges and firewall " +
			"marks served as one service by a `virtual_server` that names the group.",
		attrs: map[string]attrSpec{
			"name": stringAttr("Name of the group. " + model.NamePattern + ".").mandatory(),
		},
		blocks: map[string]blockSpec{
			"member": {
				description: "One address (or address range) with port, or one firewall mark.",
				attrs: map[string]attrSpec{
					"address": ipAttr("First address of the member."),
					"range_end": intAttr("Makes the member a range: the last value of the address's last octet " +
						"(IPv4) or last 16-bit group (IPv6)."),
					"port":   portAttr("Port of the member.", 0),
					"fwmark": rangeAttr("Firewall mark of the member, instead of an address.", 1, math.MaxUint32),
				},
			},
		},
	}
}

// virtualServerModel is the Terraform value of the virtual server shape.
type virtualServerModel struct {
	virtualServerSettings
	SorryServer *sorryServerModel `tfsdk:"sorry_server"`
	Group       types.String      `tfsdk:"group"`
	RealServers []realServerModel `tfsdk:"real_server"`
}

// virtualServerSettings are the attributes the lvs_virtual_server resource
// shares with the virtual_server blocks of lvs_keepalived_config: all but
// the group (a name there, a block in the resource), the real servers and
// the sorry server (the resource's has a host side, virtual_server_sorry.go).
type virtualServerSettings struct {
	Address                iptypes.IPAddress `tfsdk:"address"`
	Port                   types.Int64       `tfsdk:"port"`
	Protocol               types.String      `tfsdk:"protocol"`
	Fwmark                 types.Int64       `tfsdk:"fwmark"`
	Family                 types.String      `tfsdk:"family"`
	Scheduler              types.String      `tfsdk:"scheduler"`
	SchedulerPort          types.Bool        `tfsdk:"scheduler_port"`
	SchedulerFallback      types.Bool        `tfsdk:"scheduler_fallback"`
	OnePacket              types.Bool        `tfsdk:"one_packet"`
	PersistenceTimeout     types.Int64       `tfsdk:"persistence_timeout"`
	PersistenceGranularity types.Int64       `tfsdk:"persistence_granularity"`
	ForwardingMethod       types.String      `tfsdk:"forwarding_method"`
	TunnelType             types.String      `tfsdk:"tunnel_type"`
	TunnelPort             types.Int64       `tfsdk:"tunnel_port"`
	DelayLoop              types.Int64       `tfsdk:"delay_loop"`
	Retry                  types.Int64       `tfsdk:"retry"`
	DelayBeforeRetry       types.Int64       `tfsdk:"delay_before_retry"`
	ConnectTimeout         types.Int64       `tfsdk:"connect_timeout"`
	VirtualHost            types.String      `tfsdk:"virtualhost"`
	Quorum                 types.Int64       `tfsdk:"quorum"`
	Hysteresis             types.Int64       `tfsdk:"hysteresis"`
	QuorumUp               types.String      `tfsdk:"quorum_up"`
	QuorumDown             types.String      `tfsdk:"quorum_down"`
	Alpha                  types.Bool        `tfsdk:"alpha"`
	Omega                  types.Bool        `tfsdk:"omega"`
	InhibitOnFailure       types.Bool        `tfsdk:"inhibit_on_failure"`
}

type sorryServerModel struct {
	Address          iptypes.IPAddress `tfsdk:"address"`
	Port             types.Int64       `tfsdk:"port"`
	ForwardingMethod types.String      `tfsdk:"forwarding_method"`
	Inhibit          types.Bool        `tfsdk:"inhibit"`
}

type virtualServerGroupModel struct {
	Name    types.String    `tfsdk:"name"`
	Members []vsGroupMember `tfsdk:"member"`
}

type vsGroupMember struct {
	Address  iptypes.IPAddress `tfsdk:"address"`
	RangeEnd types.Int64       `tfsdk:"range_end"`
	Port     types.Int64       `tfsdk:"port"`
	Fwmark   types.Int64       `tfsdk:"fwmark"`
}

// toModel maps the virtual server shape, with its real servers, into the model.
func (m *virtualServerModel) toModel() model.VirtualServer {
	vs := m.virtualServerSettings.toModel()
	vs.SorryServer = m.SorryServer.toModel()
	vs.Group = m.Group.ValueString()
	for i := range m.RealServers {
		vs.RealServers = append(vs.RealServers, m.RealServers[i].toModel())
	}
	return vs
}

// toModel maps the shared settings into the model's virtual server,
// without group and real servers.
func (m *virtualServerSettings) toModel() model.VirtualServer {
	vs := model.VirtualServer{
		Address:                addrOf(m.Address),
		Port:                   intOf(m.Port),
		Protocol:               m.Protocol.ValueString(),
		Fwmark:                 markOf(m.Fwmark),
		Family:                 m.Family.ValueString(),
		Scheduler:              m.Scheduler.ValueString(),
		SchedulerPort:          m.SchedulerPort.ValueBool(),
		SchedulerFallback:      m.SchedulerFallback.ValueBool(),
		OnePacket:              m.OnePacket.ValueBool(),
		PersistenceTimeout:     intOf(m.PersistenceTimeout),
		PersistenceGranularity: intOf(m.PersistenceGranularity),
		ForwardingMethod:       m.ForwardingMethod.ValueString(),
		TunnelType:             m.TunnelType.ValueString(),
		TunnelPort:             intOf(m.TunnelPort),
		DelayLoop:              intOf(m.DelayLoop),
		Retry:                  intOf(m.Retry),
		DelayBeforeRetry:       intOf(m.DelayBeforeRetry),
		ConnectTimeout:         intOf(m.ConnectTimeout),
		VirtualHost:            m.VirtualHost.ValueString(),
		Quorum:                 intOf(m.Quorum),
		Hysteresis:             intOf(m.Hysteresis),
		QuorumUp:               m.QuorumUp.ValueString(),
		QuorumDown:             m.QuorumDown.ValueString(),
		Alpha:                  m.Alpha.ValueBool(),
		Omega:                  m.Omega.ValueBool(),
		InhibitOnFailure:       m.InhibitOnFailure.ValueBool(),
	}
	return vs
}

// toModel maps a sorry server into the model; nil without one.
func (s *sorryServerModel) toModel() *model.SorryServer {
	if s == nil {
		return nil
	}
	return &model.SorryServer{
		Address:          addrOf(s.Address),
		Port:             intOf(s.Port),
		ForwardingMethod: s.ForwardingMethod.ValueString(),
		Inhibit:          s.Inhibit.ValueBool(),
	}
}

// toModel maps a virtual server group into the model.
func (m *virtualServerGroupModel) toModel() model.VirtualServerGroup {
	g := model.VirtualServerGroup{Name: m.Name.ValueString()}
	for _, mem := range m.Members {
		g.Members = append(g.Members, model.VSGroupMember{
			Address:  addrOf(mem.Address),
			RangeEnd: intOf(mem.RangeEnd),
			Port:     intOf(mem.Port),
			Fwmark:   markOf(mem.Fwmark),
		})
	}
	return g
}

// virtualServerResourceSchema is the schema of lvs_virtual_server.
func virtualServerResourceSchema() schema.Schema {
	specs := virtualServerAttributes()
	delete(specs, "group") // the `group` block instead
	attrs := resourceAttributes(specs)
	attrs["id"] = schema.StringAttribute{
		Computed: true,
		MarkdownDescription: "`KEY@DIRECTORS`: the service's key on each director (`tcp/10.0.0.10:80`, " +
			"`udp/[2001:db8::10]:53`, `fwmark/7`, `fwmark6/7`, `group/NAME/tcp`) and its directors, sorted and comma-separated: " +
			"`tcp/10.0.0.10:80@10.0.0.2,10.0.0.3`. The import ID; `lvs_real_server.virtual_server_id` takes it.",
	}
	attrs["directors"] = directorsAttribute("service")
	attrs["managed"] = managedAttribute("service")
	return withTimeouts(schema.Schema{
		MarkdownDescription: "One IPVS virtual service (a VIP, port and protocol, a firewall mark, or a keepalived " +
			"virtual_server_group of several addresses and marks) with its " +
			"scheduler, persistence, default forwarding method, sorry server and health-check defaults, applied on " +
			"every director in `directors`. Each director must be an `lvs_director`: its `engine` decides who " +
			"programs the kernel's table (keepalived, from the generated `keepalived.conf`, or the agent over " +
			"netlink). The real servers are either `real_server` blocks here (the whole service is then one write " +
			"per director, as in keepalived.conf) or `lvs_real_server` resources that name this one's `id`; not both.\n\n" +
			"Changing the address, port, protocol, fwmark, family or group name replaces the service; every other " +
			"setting (a group's members too), and " +
			"the list of directors, changes in place (the service is put on added directors and removed from " +
			"removed ones, with its real servers).\n\n" +
			"Read reports what the directors really run: the kernel's IPVS table for the scheduler, its flags and " +
			"persistence (a hand edit such as `ipvsadm -E -s rr` shows in the plan), the stored description for " +
			"the rest. A group member whose kernel service was removed by hand is planned back, and the apply puts " +
			"it back. A service removed from a director by hand is planned to be put back on it; a director that " +
			"cannot be reached is an error, never a removal.\n\n" +
			"Import with the `id`: `terraform import lvs_virtual_server.web 'tcp/10.0.0.10:80@10.0.0.2,10.0.0.3'`; " +
			"the `real_server` blocks of a service stored with them are filled in (not their `host` and drain settings). " +
			"On a `netlink` director a hand-built service (`ipvsadm -A`) is taken over at the next apply. A service " +
			"of a hand-written `keepalived.conf` (a `virtual_server` block, a group service with its " +
			"`virtual_server_group` included) is read from that file; the apply that takes the file over is the " +
			"director's (`terraform import lvs_director`), and this one's waits for it.",
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			"sorry_server":      sorryServerResourceBlock(),
			"group":             groupBlockSchema(),
			"fwmark_match":      fwmarkMatchBlockSchema(),
			"real_server":       inlineRealServerBlock(),
			connectionBlockName: directorsConnectionBlock(),
		},
	})
}

// directorsAttribute is the `directors` set of the virtual and real server.
func directorsAttribute(what string) schema.SetAttribute {
	return schema.SetAttribute{
		ElementType: types.StringType,
		Required:    true,
		MarkdownDescription: "The directors the " + what + " is applied on: the ids of their `lvs_director` " +
			"resources, `[lvs_director.a.id, lvs_director.b.id]` (`user@host:port`), or their hosts as `host`, " +
			"`host:port`, `user@host` or `user@host:port`. They are reached with the provider's SSH settings, " +
			"overridden by the `ssh` block and then by the user and port written here. Adding or removing " +
			"one changes the " + what + " in place.",
		Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(directorCheck{})},
	}
}

// directorsConnectionBlock overrides the provider's SSH settings for the
// directors of a virtual or real server; their hosts come from
// `directors`.
func directorsConnectionBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "SSH settings of the provider to override for every director of `directors` " +
			"(the hosts come from `directors`). Usually absent: the provider's defaults reach the directors as " +
			"they reach the `lvs_director` resources.",
		Attributes: sshOverrideAttributes("the directors"),
	}
}

// sshOverrideAttributes are the provider's SSH settings as optional
// overrides of a resource.
func sshOverrideAttributes(forWhat string) map[string]schema.Attribute {
	attrs := map[string]schema.Attribute{}
	for name, f := range sshFields {
		d := f.description + " Overrides the provider's setting for " + forWhat + "."
		switch f.kind {
		case kindString:
			attrs[name] = schema.StringAttribute{MarkdownDescription: d, Optional: true, Sensitive: f.sensitive,
				Validators: f.stringValidators()}
		case kindInt:
			attrs[name] = schema.Int64Attribute{MarkdownDescription: d, Optional: true, Validators: f.intValidators(),
				CustomType: wholeNumberType{}}
		case kindBool:
			attrs[name] = schema.BoolAttribute{MarkdownDescription: d, Optional: true}
		case kindStrings:
			attrs[name] = schema.ListAttribute{MarkdownDescription: d, Optional: true, ElementType: types.StringType,
				Validators: f.listValidators()}
		}
	}
	return attrs
}

// managedAttribute is the computed flag that makes the adoption of an
// imported, hand-built object a planned change.
func managedAttribute(what string) schema.BoolAttribute {
	return schema.BoolAttribute{
		Computed: true,
		MarkdownDescription: "Whether every director stores the " + what + " as the provider's own. `false` after " +
			"importing one built by hand (`ipvsadm`) or by a foreign configuration: every plan wants `true`, so the " +
			"next apply takes it over (without interrupting its traffic) and from then on changes and removes it.",
	}
}
