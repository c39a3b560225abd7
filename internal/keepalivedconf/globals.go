package keepalivedconf

import (
	"net/netip"
	"strconv"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// globalSetting reads a global_defs keyword into g; false when the model
// has no place for it.
func (p *parser) globalSetting(c *node, g *model.GlobalDefs) (bool, error) {
	var err error
	switch c.key() {
	case "notification_email":
		for _, k := range c.block {
			g.NotificationEmail = append(g.NotificationEmail, k.words...)
		}
		g.NotificationEmail = append(g.NotificationEmail, c.args()...)
	case "notification_email_from":
		g.NotificationEmailFrom, err = p.one(c)
	case "smtp_server":
		args := c.args()
		if len(args) < 1 || len(args) > 2 {
			return true, p.errf(c, "takes an address and an optional port")
		}
		a, perr := netip.ParseAddr(args[0])
		if perr != nil {
			// keepalived also takes a host name; the model holds addresses.
			return true, p.errf(c, "%q is not an IP address (a host name is not carried by the model: give the server's address)", args[0])
		}
		g.SMTPServer = a
		if len(args) == 2 {
			if g.SMTPServerPort, err = strconv.Atoi(args[1]); err != nil {
				return true, p.errf(c, "port %q is not a number", args[1])
			}
		}
	case "smtp_connect_timeout":
		g.SMTPConnectTimeout, err = p.intArg(c)
	case "lvs_sync_daemon":
		err = p.syncDaemon(c, g)
	case "smtp_alert":
		g.SMTPAlert, err = p.boolArg(c)
	case "vrrp_strict":
		g.VRRPStrict = true
	case "vrrp_iptables":
		ch := &model.IPTablesChains{}
		switch args := c.args(); len(args) {
		case 0:
		case 1:
			ch.In = args[0]
		case 2:
			ch.In, ch.Out = args[0], args[1]
		default:
			return true, p.errf(c, "takes at most an in and an out chain")
		}
		g.VRRPIPTables = ch
	case "vrrp_skip_check_adv_addr":
		g.VRRPSkipCheckAdvAddr = true
	case "vrrp_garp_interval", "vrrp_gna_interval":
		var s string
		if s, err = p.one(c); err == nil {
			v, perr := strconv.ParseFloat(s, 64)
			if perr != nil {
				return true, p.errf(c, "%q is not a number of seconds", s)
			}
			if c.key() == "vrrp_garp_interval" {
				g.VRRPGarpInterval = v
			} else {
				g.VRRPGnaInterval = v
			}
		}
	default:
		return false, nil
	}
	return true, err
}

// syncDaemon reads "lvs_sync_daemon IFACE [INSTANCE] [id N]"; the other
// options (maxlen, port, ttl, group) are refused.
func (p *parser) syncDaemon(c *node, g *model.GlobalDefs) error {
	args := c.args()
	if len(args) == 0 {
		return p.errf(c, "needs an interface")
	}
	d := &model.LVSSyncDaemon{Interface: args[0]}
	for i := 1; i < len(args); i++ {
		switch {
		case args[i] == "id" && i+1 < len(args):
			v, err := strconv.Atoi(args[i+1])
			if err != nil {
				return p.errf(c, "id %q is not a number", args[i+1])
			}
			d.SyncID = v
			i++
		case i == 1:
			d.Instance = args[i]
		default:
			return p.material(c, "change how the IPVS sync daemon sends ("+args[i]+")")
		}
	}
	g.LVSSyncDaemon = d
	return nil
}
