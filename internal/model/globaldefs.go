package model

import (
	"math"
	"net/netip"
	"regexp"
)

// GlobalDefs are the global_defs settings of keepalived.conf beyond the
// router id and script security: notification mail, and VRRP settings that
// change what the director sends and lets through its firewall. Zero values
// are keepalived's defaults.
type GlobalDefs struct {
	// NotificationEmail are the addresses keepalived mails on state
	// changes (of instances with SMTPAlert), from NotificationEmailFrom,
	// through SMTPServer ("ADDR" or "ADDR PORT" as keepalived writes it).
	NotificationEmail     []string   `json:"notification_email,omitzero"`
	NotificationEmailFrom string     `json:"notification_email_from,omitzero"`
	SMTPServer            netip.Addr `json:"smtp_server,omitzero"`
	SMTPServerPort        int        `json:"smtp_server_port,omitzero"`
	// SMTPConnectTimeout is in seconds (keepalived's default: 30).
	SMTPConnectTimeout int `json:"smtp_connect_timeout,omitzero"`
	// SMTPAlert mails on every state change, VRRP and checkers (an
	// instance's own smtp_alert overrides it).
	SMTPAlert bool `json:"smtp_alert,omitzero"`
	// VRRPStrict enforces RFC 3768/5798 strictly: no unicast peers, no
	// authentication, and (with VRRPIPTables unset) firewall rules that
	// drop traffic to the virtual addresses.
	VRRPStrict bool `json:"vrrp_strict,omitzero"`
	// VRRPIPTables is vrrp_iptables: nil leaves it out; with no chain it
	// stops keepalived adding iptables rules; with chains it adds them there.
	VRRPIPTables *IPTablesChains `json:"vrrp_iptables,omitzero"`
	// VRRPSkipCheckAdvAddr accepts adverts without checking their
	// addresses against the instance's own.
	VRRPSkipCheckAdvAddr bool `json:"vrrp_skip_check_adv_addr,omitzero"`
	// VRRPGarpInterval and VRRPGnaInterval are the delays, in seconds
	// (two decimals), between gratuitous ARPs and unsolicited neighbour
	// advertisements.
	VRRPGarpInterval float64 `json:"vrrp_garp_interval,omitzero"`
	VRRPGnaInterval  float64 `json:"vrrp_gna_interval,omitzero"`
	// LVSSyncDaemon starts the IPVS connection synchronisation daemon
	// (master while Instance is MASTER, backup otherwise).
	LVSSyncDaemon *LVSSyncDaemon `json:"lvs_sync_daemon,omitzero"`
}

// LVSSyncDaemon is global_defs' lvs_sync_daemon: the interface the IPVS
// sync daemon sends and receives on, the VRRP instance whose state makes
// it master or backup, and its sync id (0: keepalived's default, the
// instance's virtual router id).
type LVSSyncDaemon struct {
	Interface string `json:"interface,omitzero"`
	Instance  string `json:"instance,omitzero"`
	SyncID    int    `json:"sync_id,omitzero"`
}

// IPTablesChains are the chains of vrrp_iptables; both empty means the
// keyword alone.
type IPTablesChains struct {
	In  string `json:"in,omitzero"`
	Out string `json:"out,omitzero"`
}

// IsZero reports whether nothing is set (global_defs says nothing more).
func (g *GlobalDefs) IsZero() bool {
	return len(g.NotificationEmail) == 0 && g.NotificationEmailFrom == "" && !g.SMTPServer.IsValid() &&
		g.SMTPServerPort == 0 && g.SMTPConnectTimeout == 0 && !g.SMTPAlert && !g.VRRPStrict &&
		g.VRRPIPTables == nil && !g.VRRPSkipCheckAdvAddr && g.VRRPGarpInterval == 0 && g.VRRPGnaInterval == 0 &&
		g.LVSSyncDaemon == nil
}

// emailRE is a mail address keepalived can write unquoted on one line.
var emailRE = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$|^[A-Za-z0-9._%+-]+$`)

func (g *GlobalDefs) validate(errs *Errors, p loc) {
	for i, e := range g.NotificationEmail {
		if !emailRE.MatchString(e) || len(e) > 253 {
			errs.add(p.At("notification_email", i), "%s is not a mail address (or local user) keepalived can write", quote(e))
		}
	}
	if e := g.NotificationEmailFrom; e != "" && (!emailRE.MatchString(e) || len(e) > 253) {
		errs.add(p.At("notification_email_from"), "%s is not a mail address (or local user) keepalived can write", quote(e))
	}
	if g.SMTPServer.IsValid() {
		checkNoZone(errs, p.At("smtp_server"), g.SMTPServer)
	}
	if g.SMTPServerPort != 0 {
		if !g.SMTPServer.IsValid() {
			errs.add(p.At("smtp_server_port"), "needs smtp_server")
		}
		checkRange(errs, p.At("smtp_server_port"), g.SMTPServerPort, 1, 65535)
	}
	checkRange(errs, p.At("smtp_connect_timeout"), g.SMTPConnectTimeout, 0, MaxCheckTimeout)
	if c := g.VRRPIPTables; c != nil {
		if c.In != "" {
			checkName(errs, p.At("vrrp_iptables", "in"), c.In)
		}
		if c.Out != "" {
			if c.In == "" {
				errs.add(p.At("vrrp_iptables", "out"), "needs the in chain first")
			}
			checkName(errs, p.At("vrrp_iptables", "out"), c.Out)
		}
	}
	if d := g.LVSSyncDaemon; d != nil {
		dp := p.At("lvs_sync_daemon")
		checkInterface(errs, dp.At("interface"), d.Interface)
		if d.Instance != "" {
			checkName(errs, dp.At("vrrp_instance"), d.Instance)
		}
		checkRange(errs, dp.At("sync_id"), d.SyncID, 0, 255)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"vrrp_garp_interval", g.VRRPGarpInterval}, {"vrrp_gna_interval", g.VRRPGnaInterval}} {
		checkRange(errs, p.At(f.name), f.v, 0, 3600)
		if math.Round(f.v*100) != f.v*100 {
			errs.add(p.At(f.name), "%v has more than two decimals", f.v)
		}
	}
}
