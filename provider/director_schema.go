package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The director shape: one LVS director host with its VRRP instances, sync
// groups and extra sysctls (model.Director). Attribute names are the ones
// model.Director.Validate uses in its paths.

// directorAttributes are the director's own attributes.
func directorAttributes() map[string]attrSpec {
	return map[string]attrSpec{
		"interface": stringAttr("Default network interface of the VRRP instances that name none, such as `eth0`."),
		"router_id": stringAttr("Names this director in keepalived's `global_defs` and in notification mails. " +
			"Defaults to the host name."),
		"script_user": stringAttr("User that runs `vrrp_script`, notify and health-checker scripts " +
			"(`global_defs` `script_user`). When unset and the director runs scripts, `root` (keepalived's own " +
			"default, `keepalived_script`, does not exist on Debian; keepalived 2.2.7 also crashes checking scripts " +
			"of a non-root user, fixed in 2.2.8)."),
		"enable_script_security": boolAttr("Refuse to run scripts that a non-root user could modify " +
			"(`global_defs` `enable_script_security`). Always on when the director runs any script " +
			"(`track_script`, `notify*`, `misc_check`, `quorum_up`/`quorum_down`), since keepalived refuses " +
			"scripts without it; set it to have it on without scripts too."),
		"engine": enumAttr("Which program owns the director's IPVS table: `keepalived` programs it from its "+
			"`virtual_server` blocks and runs the health checks; `netlink` has the provider's agent program IPVS "+
			"directly, for hosts without keepalived's checkers. Changing it in place is hitless: keepalived is reloaded, "+
			"not restarted, the VIPs stay where they are, and the services are handed over in the kernel.", model.Engines, model.DefaultEngine),
	}
}

// directorBlocks are the director's nested blocks.
func directorBlocks() map[string]blockSpec {
	return map[string]blockSpec{
		"vrrp_instance":   vrrpInstanceBlock(),
		"vrrp_sync_group": vrrpSyncGroupBlock(),
		"sysctl":          sysctlBlock(),
		"global_defs":     globalDefsBlock(),
		"static_address":  staticAddressBlock(),
		"static_route":    routeBlock(false),
		"static_rule":     ruleBlock(false),
	}
}

func notifyAttributes(what string) map[string]attrSpec {
	return map[string]attrSpec{
		"notify_master": stringAttr("Command run when " + what + " becomes MASTER."),
		"notify_backup": stringAttr("Command run when " + what + " becomes BACKUP."),
		"notify_fault":  stringAttr("Command run when " + what + " enters the FAULT state."),
		"notify_stop":   stringAttr("Command run when keepalived stops " + what + "."),
		"notify": stringAttr("Command run on every state change of " + what + ", with the type, name, " +
			"new state and priority appended as arguments."),
	}
}

func vrrpInstanceBlock() blockSpec {
	return blockSpec{
		description: "A VRRP instance (keepalived `vrrp_instance`): a virtual router on one interface that holds " +
			"its virtual addresses while it is MASTER.",
		attrs: merge(map[string]attrSpec{
			"name":      stringAttr("Name of the instance, unique on the director. " + model.NamePattern + ".").mandatory(),
			"interface": stringAttr("Interface the instance sends adverts on. Defaults to the director's `interface`."),
			"state": enumAttr("Initial state; the priority decides the election. keepalived starts an instance "+
				"without a state as BACKUP.", model.VRRPStates, ""),
			"virtual_router_id": rangeAttr("VRRP virtual router id, shared by the directors of one virtual router "+
				"and unique per interface.", 1, 255).mandatory(),
			"priority": rangeAttr("Election priority; the highest live priority becomes MASTER.", 1, 254).mandatory(),
			"advert_int": floatAttr("Advertisement interval in seconds, from `0.01` to `255`; fractions need "+
				"`version = 3`. Defaults to `1`.").floatRange(0.01, 255),
			"version": intEnumAttr("VRRP protocol version.", model.VRRPVersions, model.DefaultVRRPVersion),
			"unicast_src_ip": ipAttr("Source address of unicast adverts; with `unicast_peers` the instance " +
				"advertises by unicast instead of multicast."),
			"unicast_peers": ipListAttr("Addresses of the other directors of this virtual router, for unicast adverts " +
				"(networks without multicast)."),
			"nopreempt": boolAttr("Keep a lower-priority MASTER in place when a higher-priority director returns. " +
				"Needs `state = \"BACKUP\"`."),
			"preempt_delay": intAttr("Seconds to wait after startup before preempting a lower-priority MASTER. " +
				"Cannot be combined with `nopreempt`."),
			"garp_master_delay":   intAttr("Seconds after becoming MASTER before the second burst of gratuitous ARPs.").positive(),
			"garp_master_repeat":  intAttr("Gratuitous ARPs sent per burst after becoming MASTER.").positive(),
			"garp_master_refresh": intAttr("Seconds between gratuitous ARP refreshes while MASTER; `0` sends none."),
			"smtp_alert":          boolAttr("Mail the `global_defs` `notification_email` addresses on state changes of this instance."),
			"use_vmac": boolAttr("Hold the instance's addresses on a macvlan interface with the VRRP virtual MAC " +
				"(`00:00:5e:00:01:<virtual_router_id>`) that keepalived creates on the instance's interface " +
				"(keepalived `use_vmac`), so that a failover needs no ARP cache update on the clients."),
			"vmac_interface": stringAttr("Name of the macvlan interface of `use_vmac`. Defaults to keepalived's " +
				"`vrrp.<virtual_router_id>`."),
			"vmac_xmit_base": boolAttr("Send and receive the adverts on the base interface rather than the macvlan " +
				"(keepalived `vmac_xmit_base`). Needs `use_vmac`; required with `unicast_peers`."),
		}, notifyAttributes("the instance")),
		blocks: map[string]blockSpec{
			"authentication": {
				single: true,
				description: "VRRPv2 authentication (`authentication`). VRRP version 3 has none; " +
					"prefer a dedicated network to a shared password.",
				attrs: map[string]attrSpec{
					"type":     enumAttr("Authentication type.", model.VRRPAuthTypes, "").mandatory(),
					"password": stringAttr("Shared password; VRRP carries at most 8 characters.").mandatory().secret(),
				},
			},
			"virtual_ipaddress": {
				description: "An address the instance holds while MASTER (`virtual_ipaddress`). " +
					"An instance holds IPv4 or IPv6 addresses, not both.",
				attrs: map[string]attrSpec{
					"address": stringAttr("The address, optionally with its prefix length, such as `10.0.0.10/24`; " +
						"a bare address is taken as `/32` or `/128`.").mandatory(),
					"dev":   stringAttr("Device the address goes on. Defaults to the instance's interface."),
					"label": stringAttr("Interface label, such as `eth0:1`, for tools that still read labels."),
				},
			},
			"track_script": {
				description: "A health script (keepalived `vrrp_script` tracked by the instance) that adjusts the " +
					"priority or faults the instance. Scripts of the same name on several instances must be identical.",
				attrs: map[string]attrSpec{
					"name":     stringAttr("Name of the script. " + model.NamePattern + ".").mandatory(),
					"script":   stringAttr("Command to run; exit status 0 is success.").mandatory(),
					"interval": intAttr("Seconds between runs. Defaults to keepalived's `1`.").positive(),
					"timeout":  intAttr("Seconds a run may take. Defaults to the interval.").positive(),
					"weight": intAttr("Added to the priority while the script succeeds (positive) or subtracted while " +
						"it fails (negative); `0` faults the instance on failure."),
					"fall": intAttr("Failures in a row that count as failed.").positive(),
					"rise": intAttr("Successes in a row that count as succeeded.").positive(),
				},
			},
			"virtual_route": routeBlock(true),
			"virtual_rule":  ruleBlock(true),
			"track_interface": {
				description: "An interface whose link state the instance follows (`track_interface`).",
				attrs: map[string]attrSpec{
					"name": stringAttr("Interface name.").mandatory(),
					"weight": intAttr("Priority change while the interface is down; " +
						"`0` faults the instance."),
				},
			},
		},
	}
}

func vrrpSyncGroupBlock() blockSpec {
	return blockSpec{
		description: "A VRRP sync group (`vrrp_sync_group`): instances that change state together, such as the " +
			"outside and inside routers of a NAT director.",
		attrs: merge(map[string]attrSpec{
			"name":  stringAttr("Name of the group. " + model.NamePattern + ".").mandatory(),
			"group": stringListAttr("Names of the `vrrp_instance`s in the group, at least 2.").mandatory(),
		}, notifyAttributes("the group")),
	}
}

func sysctlBlock() blockSpec {
	return blockSpec{
		description: "An extra kernel setting for the director, applied after the ones the virtual servers need " +
			"(which it may not contradict). One default it may replace: a director with real servers sets " +
			"`net.ipv4.vs.expire_nodest_conn = 1`, so that a new connection reusing the client port of one to a " +
			"removed real server is scheduled afresh instead of silently dropped; a `sysctl` block with that key " +
			"sets another value.",
		attrs: map[string]attrSpec{
			"key":    stringAttr("Dotted sysctl key, such as `net.core.somaxconn`.").mandatory(),
			"value":  stringAttr("Value to set.").mandatory(),
			"reason": stringAttr("Why the setting is there; written as a comment above it."),
		},
	}
}

// directorModel is the Terraform value of the director shape.
type directorModel struct {
	Interface            types.String         `tfsdk:"interface"`
	RouterID             types.String         `tfsdk:"router_id"`
	ScriptUser           types.String         `tfsdk:"script_user"`
	EnableScriptSecurity types.Bool           `tfsdk:"enable_script_security"`
	Engine               types.String         `tfsdk:"engine"`
	VRRPInstances        []vrrpInstanceModel  `tfsdk:"vrrp_instance"`
	VRRPSyncGroups       []vrrpSyncGroupModel `tfsdk:"vrrp_sync_group"`
	Sysctls              []sysctlModel        `tfsdk:"sysctl"`
	GlobalDefs           *globalDefsModel     `tfsdk:"global_defs"`
	StaticAddresses      []staticAddressModel `tfsdk:"static_address"`
	StaticRoutes         []routeModel         `tfsdk:"static_route"`
	StaticRules          []ruleModel          `tfsdk:"static_rule"`
}

type notifyModel struct {
	NotifyMaster types.String `tfsdk:"notify_master"`
	NotifyBackup types.String `tfsdk:"notify_backup"`
	NotifyFault  types.String `tfsdk:"notify_fault"`
	NotifyStop   types.String `tfsdk:"notify_stop"`
	Notify       types.String `tfsdk:"notify"`
}

type vrrpInstanceModel struct {
	Name              types.String          `tfsdk:"name"`
	Interface         types.String          `tfsdk:"interface"`
	State             types.String          `tfsdk:"state"`
	VirtualRouterID   types.Int64           `tfsdk:"virtual_router_id"`
	Priority          types.Int64           `tfsdk:"priority"`
	AdvertInt         types.Float64         `tfsdk:"advert_int"`
	Version           types.Int64           `tfsdk:"version"`
	UnicastSrcIP      iptypes.IPAddress     `tfsdk:"unicast_src_ip"`
	UnicastPeers      []iptypes.IPAddress   `tfsdk:"unicast_peers"`
	NoPreempt         types.Bool            `tfsdk:"nopreempt"`
	PreemptDelay      types.Int64           `tfsdk:"preempt_delay"`
	GarpMasterDelay   types.Int64           `tfsdk:"garp_master_delay"`
	GarpMasterRepeat  types.Int64           `tfsdk:"garp_master_repeat"`
	GarpMasterRefresh types.Int64           `tfsdk:"garp_master_refresh"`
	Authentication    *vrrpAuthModel        `tfsdk:"authentication"`
	VirtualIPAddress  []virtualIPModel      `tfsdk:"virtual_ipaddress"`
	TrackScripts      []trackScriptModel    `tfsdk:"track_script"`
	TrackInterfaces   []trackInterfaceModel `tfsdk:"track_interface"`
	SMTPAlert         types.Bool            `tfsdk:"smtp_alert"`
	UseVMAC           types.Bool            `tfsdk:"use_vmac"`
	VMACInterface     types.String          `tfsdk:"vmac_interface"`
	VMACXmitBase      types.Bool            `tfsdk:"vmac_xmit_base"`
	VirtualRoutes     []routeModel          `tfsdk:"virtual_route"`
	VirtualRules      []ruleModel           `tfsdk:"virtual_rule"`
	notifyModel
}

type vrrpAuthModel struct {
	Type     types.String `tfsdk:"type"`
	Password types.String `tfsdk:"password"`
}

type virtualIPModel struct {
	Address types.String `tfsdk:"address"`
	Dev     types.String `tfsdk:"dev"`
	Label   types.String `tfsdk:"label"`
}

type trackScriptModel struct {
	Name     types.String `tfsdk:"name"`
	Script   types.String `tfsdk:"script"`
	Interval types.Int64  `tfsdk:"interval"`
	Timeout  types.Int64  `tfsdk:"timeout"`
	Weight   types.Int64  `tfsdk:"weight"`
	Fall     types.Int64  `tfsdk:"fall"`
	Rise     types.Int64  `tfsdk:"rise"`
}

type trackInterfaceModel struct {
	Name   types.String `tfsdk:"name"`
	Weight types.Int64  `tfsdk:"weight"`
}

type vrrpSyncGroupModel struct {
	Name  types.String   `tfsdk:"name"`
	Group []types.String `tfsdk:"group"`
	notifyModel
}

type sysctlModel struct {
	Key    types.String `tfsdk:"key"`
	Value  types.String `tfsdk:"value"`
	Reason types.String `tfsdk:"reason"`
}

// toModel maps the director shape into the model.
func (m *directorModel) toModel() model.Director {
	d := model.Director{
		Interface:            m.Interface.ValueString(),
		RouterID:             m.RouterID.ValueString(),
		ScriptUser:           m.ScriptUser.ValueString(),
		EnableScriptSecurity: m.EnableScriptSecurity.ValueBool(),
		Engine:               m.Engine.ValueString(),
		Globals:              m.GlobalDefs.toModel(),
		StaticAddresses:      staticAddressesModel(m.StaticAddresses),
		StaticRoutes:         routesModel(m.StaticRoutes),
		StaticRules:          rulesModel(m.StaticRules),
	}
	for i := range m.VRRPInstances {
		d.Instances = append(d.Instances, m.VRRPInstances[i].toModel())
	}
	for _, g := range m.VRRPSyncGroups {
		d.SyncGroups = append(d.SyncGroups, model.VRRPSyncGroup{
			Name:      g.Name.ValueString(),
			Instances: stringsOf(g.Group),
			Notify:    g.notify(),
		})
	}
	for _, s := range m.Sysctls {
		d.Sysctls = append(d.Sysctls, model.Sysctl{
			Key: s.Key.ValueString(), Value: s.Value.ValueString(), Reason: s.Reason.ValueString(),
		})
	}
	return d
}

// notify maps the notify_* attributes into the model.
func (m *notifyModel) notify() model.Notify {
	return model.Notify{
		Master: m.NotifyMaster.ValueString(),
		Backup: m.NotifyBackup.ValueString(),
		Fault:  m.NotifyFault.ValueString(),
		Stop:   m.NotifyStop.ValueString(),
		Any:    m.Notify.ValueString(),
	}
}

func (m *vrrpInstanceModel) toModel() model.VRRPInstance {
	in := model.VRRPInstance{
		Name:              m.Name.ValueString(),
		Interface:         m.Interface.ValueString(),
		State:             m.State.ValueString(),
		VirtualRouterID:   intOf(m.VirtualRouterID),
		Priority:          intOf(m.Priority),
		AdvertInt:         m.AdvertInt.ValueFloat64(),
		Version:           intOf(m.Version),
		UnicastSrcIP:      addrOf(m.UnicastSrcIP),
		UnicastPeers:      addrsOf(m.UnicastPeers),
		NoPreempt:         m.NoPreempt.ValueBool(),
		PreemptDelay:      intOf(m.PreemptDelay),
		GarpMasterDelay:   intOf(m.GarpMasterDelay),
		GarpMasterRepeat:  intOf(m.GarpMasterRepeat),
		GarpMasterRefresh: intOf(m.GarpMasterRefresh),
		Notify:            m.notify(),
		SMTPAlert:         m.SMTPAlert.ValueBool(),
		UseVMAC:           m.UseVMAC.ValueBool(),
		VMACInterface:     m.VMACInterface.ValueString(),
		VMACXmitBase:      m.VMACXmitBase.ValueBool(),
		VirtualRoutes:     routesModel(m.VirtualRoutes),
		VirtualRules:      rulesModel(m.VirtualRules),
	}
	if a := m.Authentication; a != nil {
		in.Authentication = &model.VRRPAuth{Type: a.Type.ValueString(), Password: a.Password.ValueString()}
	}
	for _, v := range m.VirtualIPAddress {
		in.VirtualIPs = append(in.VirtualIPs, model.VirtualIP{
			Prefix: prefixOf(v.Address.ValueString()),
			Device: v.Dev.ValueString(),
			Label:  v.Label.ValueString(),
		})
	}
	for _, t := range m.TrackScripts {
		in.TrackScripts = append(in.TrackScripts, model.TrackScript{
			Name:     t.Name.ValueString(),
			Script:   t.Script.ValueString(),
			Interval: intOf(t.Interval),
			Timeout:  intOf(t.Timeout),
			Weight:   intOf(t.Weight),
			Fall:     intOf(t.Fall),
			Rise:     intOf(t.Rise),
		})
	}
	for _, t := range m.TrackInterfaces {
		in.TrackIfaces = append(in.TrackIfaces, model.TrackInterface{Name: t.Name.ValueString(), Weight: intOf(t.Weight)})
	}
	return in
}
