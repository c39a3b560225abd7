package render

import (
	"strconv"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// globalLines are the global_defs lines of g beyond router_id and script
// security, in the order of keepalived's manual; nothing for the zero value.
func globalLines(g *model.GlobalDefs) []string {
	var out []string
	if len(g.NotificationEmail) > 0 {
		out = append(out, "notification_email {")
		for _, e := range g.NotificationEmail {
			out = append(out, "    "+e)
		}
		out = append(out, "}")
	}
	if g.NotificationEmailFrom != "" {
		out = append(out, "notification_email_from "+g.NotificationEmailFrom)
	}
	if g.SMTPServer.IsValid() {
		out = append(out, "smtp_server "+hostPort(g.SMTPServer, g.SMTPServerPort))
	}
	if g.SMTPConnectTimeout != 0 {
		out = append(out, "smtp_connect_timeout "+strconv.Itoa(g.SMTPConnectTimeout))
	}
	if g.SMTPAlert {
		out = append(out, "smtp_alert")
	}
	if g.VRRPStrict {
		out = append(out, "vrrp_strict")
	}
	if c := g.VRRPIPTables; c != nil {
		l := "vrrp_iptables"
		if c.In != "" {
			l += " " + c.In
		}
		if c.Out != "" {
			l += " " + c.Out
		}
		out = append(out, l)
	}
	if g.VRRPSkipCheckAdvAddr {
		out = append(out, "vrrp_skip_check_adv_addr")
	}
	if g.VRRPGarpInterval != 0 {
		out = append(out, "vrrp_garp_interval "+formatSeconds(g.VRRPGarpInterval, 0))
	}
	if g.VRRPGnaInterval != 0 {
		out = append(out, "vrrp_gna_interval "+formatSeconds(g.VRRPGnaInterval, 0))
	}
	if d := g.LVSSyncDaemon; d != nil {
		l := "lvs_sync_daemon " + d.Interface
		if d.Instance != "" {
			l += " " + d.Instance
		}
		if d.SyncID != 0 {
			l += " id " + strconv.Itoa(d.SyncID)
		}
		out = append(out, l)
	}
	return out
}
