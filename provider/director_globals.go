package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The global_defs block of a director (model.GlobalDefs): notification
// mail and the VRRP settings that change what keepalived sends and lets
// through the firewall. Shared by lvs_director and the director block of
// lvs_keepalived_config.

func globalDefsBlock() blockSpec {
	return blockSpec{
		single: true,
		description: "keepalived's `global_defs` beyond `router_id` and script security: notification mail " +
			"and VRRP settings. Unset settings are keepalived's defaults.",
		attrs: map[string]attrSpec{
			"notification_email": stringListAttr("Addresses (or local users) keepalived mails on state changes " +
				"of instances with `smtp_alert`."),
			"notification_email_from": stringAttr("Sender of the notification mails."),
			"smtp_server":             ipAttr("SMTP server the mails go through."),
			"smtp_server_port":        portAttr("Port of `smtp_server`. Defaults to `25`.", 1),
			"smtp_connect_timeout":    rangeAttr("Seconds to connect to `smtp_server`. Defaults to `30`.", 0, model.MaxCheckTimeout),
			"smtp_alert": boolAttr("Mail on every state change, of VRRP instances and of checkers " +
				"(an instance's own `smtp_alert` overrides it)."),
			"vrrp_strict": boolAttr("Enforce RFC 3768/5798 strictly: no unicast peers, no authentication, and " +
				"(without `vrrp_iptables`) firewall rules that drop traffic to the virtual addresses."),
			"vrrp_skip_check_adv_addr": boolAttr("Accept adverts without checking their addresses against the " +
				"instance's own."),
			"vrrp_garp_interval": floatAttr("Seconds (two decimals) between the gratuitous ARPs of one burst."),
			"vrrp_gna_interval":  floatAttr("Seconds (two decimals) between the unsolicited neighbour advertisements of one burst."),
		},
		blocks: map[string]blockSpec{
			"lvs_sync_daemon": {
				single: true,
				description: "keepalived's `lvs_sync_daemon`: the IPVS connection synchronisation daemon, master " +
					"while `vrrp_instance` is MASTER and backup otherwise, so that a failover keeps connections.",
				attrs: map[string]attrSpec{
					"interface":     stringAttr("Interface the daemon sends and receives on.").mandatory(),
					"vrrp_instance": stringAttr("VRRP instance whose state makes the daemon master or backup."),
					"sync_id":       rangeAttr("Sync id of the daemon's messages. Defaults to the instance's `virtual_router_id`.", 0, 255),
				},
			},
			"vrrp_iptables": {
				single: true,
				description: "keepalived's `vrrp_iptables`: present without chains, keepalived adds no iptables " +
					"rules; with chains, it adds them there.",
				attrs: map[string]attrSpec{
					"in":  stringAttr("Chain for the input rules."),
					"out": stringAttr("Chain for the output rules; needs `in`."),
				},
			},
		},
	}
}

type globalDefsModel struct {
	NotificationEmail     []types.String       `tfsdk:"notification_email"`
	NotificationEmailFrom types.String         `tfsdk:"notification_email_from"`
	SMTPServer            iptypes.IPAddress    `tfsdk:"smtp_server"`
	SMTPServerPort        types.Int64          `tfsdk:"smtp_server_port"`
	SMTPConnectTimeout    types.Int64          `tfsdk:"smtp_connect_timeout"`
	SMTPAlert             types.Bool           `tfsdk:"smtp_alert"`
	VRRPStrict            types.Bool           `tfsdk:"vrrp_strict"`
	VRRPSkipCheckAdvAddr  types.Bool           `tfsdk:"vrrp_skip_check_adv_addr"`
	VRRPGarpInterval      types.Float64        `tfsdk:"vrrp_garp_interval"`
	VRRPGnaInterval       types.Float64        `tfsdk:"vrrp_gna_interval"`
	VRRPIPTables          *iptablesChainsModel `tfsdk:"vrrp_iptables"`
	LVSSyncDaemon         *syncDaemonModel     `tfsdk:"lvs_sync_daemon"`
}

type syncDaemonModel struct {
	Interface types.String `tfsdk:"interface"`
	Instance  types.String `tfsdk:"vrrp_instance"`
	SyncID    types.Int64  `tfsdk:"sync_id"`
}

type iptablesChainsModel struct {
	In  types.String `tfsdk:"in"`
	Out types.String `tfsdk:"out"`
}

// toModel maps the block; a nil block is keepalived's defaults.
func (m *globalDefsModel) toModel() model.GlobalDefs {
	if m == nil {
		return model.GlobalDefs{}
	}
	g := model.GlobalDefs{
		NotificationEmail:     stringsOf(m.NotificationEmail),
		NotificationEmailFrom: m.NotificationEmailFrom.ValueString(),
		SMTPServer:            addrOf(m.SMTPServer),
		SMTPServerPort:        intOf(m.SMTPServerPort),
		SMTPConnectTimeout:    intOf(m.SMTPConnectTimeout),
		SMTPAlert:             m.SMTPAlert.ValueBool(),
		VRRPStrict:            m.VRRPStrict.ValueBool(),
		VRRPSkipCheckAdvAddr:  m.VRRPSkipCheckAdvAddr.ValueBool(),
		VRRPGarpInterval:      m.VRRPGarpInterval.ValueFloat64(),
		VRRPGnaInterval:       m.VRRPGnaInterval.ValueFloat64(),
	}
	if c := m.VRRPIPTables; c != nil {
		g.VRRPIPTables = &model.IPTablesChains{In: c.In.ValueString(), Out: c.Out.ValueString()}
	}
	if d := m.LVSSyncDaemon; d != nil {
		g.LVSSyncDaemon = &model.LVSSyncDaemon{Interface: d.Interface.ValueString(), Instance: d.Instance.ValueString(), SyncID: intOf(d.SyncID)}
	}
	return g
}

// globalDefsFrom maps stored settings back; nil when none is set.
func globalDefsFrom(g model.GlobalDefs) *globalDefsModel {
	if g.IsZero() {
		return nil
	}
	m := &globalDefsModel{
		NotificationEmailFrom: optString(g.NotificationEmailFrom),
		SMTPServer:            iptypes.NewIPAddressNull(),
		SMTPServerPort:        optInt64(g.SMTPServerPort),
		SMTPConnectTimeout:    optInt64(g.SMTPConnectTimeout),
		SMTPAlert:             optTrue(g.SMTPAlert),
		VRRPStrict:            optTrue(g.VRRPStrict),
		VRRPSkipCheckAdvAddr:  optTrue(g.VRRPSkipCheckAdvAddr),
		VRRPGarpInterval:      types.Float64Null(),
		VRRPGnaInterval:       types.Float64Null(),
	}
	for _, e := range g.NotificationEmail {
		m.NotificationEmail = append(m.NotificationEmail, types.StringValue(e))
	}
	if g.SMTPServer.IsValid() {
		m.SMTPServer = iptypes.NewIPAddressValue(g.SMTPServer.String())
	}
	if g.VRRPGarpInterval != 0 {
		m.VRRPGarpInterval = types.Float64Value(g.VRRPGarpInterval)
	}
	if g.VRRPGnaInterval != 0 {
		m.VRRPGnaInterval = types.Float64Value(g.VRRPGnaInterval)
	}
	if c := g.VRRPIPTables; c != nil {
		m.VRRPIPTables = &iptablesChainsModel{In: optString(c.In), Out: optString(c.Out)}
	}
	if d := g.LVSSyncDaemon; d != nil {
		m.LVSSyncDaemon = &syncDaemonModel{Interface: types.StringValue(d.Interface), Instance: optString(d.Instance), SyncID: optInt64(d.SyncID)}
	}
	return m
}
