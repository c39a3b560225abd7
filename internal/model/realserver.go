package model

import (
	"net/netip"
	"strings"
)

// MaxCheckTimeout is the longest connect_timeout and misc_timeout, in
// seconds, that keepalived accepts (it keeps them in 32-bit microseconds:
// keepalived -t exits 5 above 4294.967295).
const MaxCheckTimeout = 4294

// RealServer is one destination of a virtual server.
type RealServer struct {
	Address netip.Addr `json:"address,omitzero"`
	// Port defaults to the virtual port; only nat may map it to another.
	Port int `json:"port,omitzero"`
	// Weight is 0–65535; nil means 1. Zero keeps the server in the table
	// without sending it new connections.
	Weight *int `json:"weight,omitzero"`
	// ForwardingMethod overrides the virtual server's: nat, dr or tun.
	ForwardingMethod string `json:"forwarding_method,omitzero"`
	TunnelType       string `json:"tunnel_type,omitzero"`
	TunnelPort       int    `json:"tunnel_port,omitzero"`
	// UpperThreshold stops new connections above that many active ones;
	// LowerThreshold lets them in again below it. Zero means no limit.
	UpperThreshold int `json:"upper_threshold,omitzero"`
	LowerThreshold int `json:"lower_threshold,omitzero"`
	// InhibitOnFailure sets the weight to 0 instead of removing the server
	// when its check fails (nil: the virtual server's setting).
	InhibitOnFailure *bool  `json:"inhibit_on_failure,omitzero"`
	NotifyUp         string `json:"notify_up,omitzero"`
	NotifyDown       string `json:"notify_down,omitzero"`

	// At most one checker.
	TCPCheck  *TCPCheck  `json:"tcp_check,omitzero"`
	HTTPGet   *HTTPCheck `json:"http_get,omitzero"`
	SSLGet    *HTTPCheck `json:"ssl_get,omitzero"`
	MiscCheck *MiscCheck `json:"misc_check,omitzero"`
	SMTPCheck *SMTPCheck `json:"smtp_check,omitzero"`
	PingCheck *PingCheck `json:"ping_check,omitzero"`
	UDPCheck  *UDPCheck  `json:"udp_check,omitzero"`
	DNSCheck  *DNSCheck  `json:"dns_check,omitzero"`
	FileCheck *FileCheck `json:"file_check,omitzero"`
}

// CheckCommon holds the settings every keepalived checker shares. Zero
// values inherit the virtual server's defaults.
type CheckCommon struct {
	ConnectIP        netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort      int        `json:"connect_port,omitzero"`
	BindTo           netip.Addr `json:"bind_to,omitzero"`
	ConnectTimeout   int        `json:"connect_timeout,omitzero"`
	Retry            int        `json:"retry,omitzero"`
	DelayBeforeRetry int        `json:"delay_before_retry,omitzero"`
}

// TCPCheck succeeds when a TCP connection opens.
type TCPCheck struct {
	CheckCommon
}

// HTTPCheck is HTTP_GET (or SSL_GET): each URL must answer with one of its
// status codes and, when a digest is given, a body of that MD5 digest.
type HTTPCheck struct {
	CheckCommon
	URLs        []CheckURL `json:"urls,omitzero"`
	VirtualHost string     `json:"virtual_host,omitzero"`
}

// CheckURL is one url block of an HTTP_GET or SSL_GET checker.
type CheckURL struct {
	Path string `json:"path,omitzero"`
	// StatusCode is codes or ranges separated by spaces, like 200 or
	// "200-299 400-499 503"; empty means any 2xx.
	StatusCode string `json:"status_code,omitzero"`
	// Digest is the MD5 of the expected body, in lower-case hex.
	Digest string `json:"digest,omitzero"`
}

// MiscCheck runs a script; exit 0 is up. With Dynamic, exit codes 2–255
// set the weight to code-2.
type MiscCheck struct {
	Script  string `json:"script,omitzero"`
	Timeout int    `json:"timeout,omitzero"`
	Dynamic bool   `json:"dynamic,omitzero"`
	User    string `json:"user,omitzero"`
}

// EffectivePort is the destination port with the virtual port as default.
func (rs *RealServer) EffectivePort(vs *VirtualServer) int {
	if rs.Port == 0 {
		return vs.Port
	}
	return rs.Port
}

// EffectiveWeight is the weight with the default applied.
func (rs *RealServer) EffectiveWeight() int {
	if rs.Weight == nil {
		return DefaultWeight
	}
	return *rs.Weight
}

// Key identifies a real server within its virtual server in import IDs:
// 192.168.1.10:80, [2001:db8::10]:80.
func (rs *RealServer) Key(vs *VirtualServer) string {
	return netip.AddrPortFrom(rs.Address, uint16(rs.EffectivePort(vs))).String()
}

// Validate checks one real server against the virtual server it belongs
// to; p is where the real server sits.
func (rs *RealServer) Validate(at Path, vs *VirtualServer) error {
	var errs Errors
	p := rootLoc(at)
	rs.validate(&errs, p, vs)
	return errs.err()
}

func (rs *RealServer) validate(errs *Errors, p loc, vs *VirtualServer) {
	switch {
	case !rs.Address.IsValid():
		errs.add(p.At("address"), "must be an IP address")
	case rs.Address.Zone() != "":
		errs.add(p.At("address"), "%s has a zone; IPVS destinations take plain addresses", quoteAddr(rs.Address))
	case rs.Address.Is6() != vs.IsIPv6():
		errs.add(p.At("address"), "%s is of another address family than its virtual server (%s); IPVS does not translate between IPv4 and IPv6", quoteAddr(rs.Address), short(vs.Key()))
	}
	checkRange(errs, p.At("port"), rs.Port, 0, 65535)
	if rs.Weight != nil {
		checkRange(errs, p.At("weight"), *rs.Weight, 0, 65535)
	}
	checkEnum(errs, p.At("forwarding_method"), rs.ForwardingMethod, ForwardingMethods)
	method := vs.MethodOf(rs)
	if rs.ForwardingMethod != "" || rs.TunnelType != "" || rs.TunnelPort != 0 {
		checkTunnel(errs, p, method, rs.TunnelType, rs.TunnelPort)
	}
	if method != "nat" && rs.Port != 0 && rs.Port != vs.Port && vs.Fwmark == 0 && vs.Group == "" {
		errs.add(p.At("port"), "%d differs from the virtual port %d; %s forwarding does not map ports, so leave port unset or set it to %d (or use nat)", rs.Port, vs.Port, short(method), vs.Port)
	}
	// A nat destination without a port under a service without one
	// (fwmark, group, port 0) is valid: the kernel then keeps each
	// packet's destination port (ip_vs_schedule: dest->port ?: vport), as
	// in ipvsadm(8)'s fwmark example `-r 192.168.10.1:0 -m`.
	checkRange(errs, p.At("upper_threshold"), rs.UpperThreshold, 0, 1<<30)
	checkRange(errs, p.At("lower_threshold"), rs.LowerThreshold, 0, 1<<30)
	if rs.LowerThreshold != 0 && rs.LowerThreshold >= rs.UpperThreshold {
		errs.add(p.At("lower_threshold"), "%d must be below upper_threshold (%d)", rs.LowerThreshold, rs.UpperThreshold)
	}
	checkText(errs, p.At("notify_up"), rs.NotifyUp)
	checkText(errs, p.At("notify_down"), rs.NotifyDown)

	rs.validateChecks(errs, p)
}

func (c *CheckCommon) validate(errs *Errors, p loc, fam6 bool) {
	checkNoZone(errs, p.At("connect_ip"), c.ConnectIP)
	checkNoZone(errs, p.At("bindto"), c.BindTo)
	if c.ConnectIP.IsValid() && c.ConnectIP.Is6() != fam6 {
		errs.add(p.At("connect_ip"), "%s is of another address family than the real server", quoteAddr(c.ConnectIP))
	}
	if c.BindTo.IsValid() && c.BindTo.Is6() != fam6 {
		errs.add(p.At("bindto"), "%s is of another address family than the real server", quoteAddr(c.BindTo))
	}
	checkRange(errs, p.At("connect_port"), c.ConnectPort, 0, 65535)
	checkRange(errs, p.At("connect_timeout"), c.ConnectTimeout, 0, MaxCheckTimeout)
	checkRange(errs, p.At("retry"), c.Retry, 0, 1000)
	checkRange(errs, p.At("delay_before_retry"), c.DelayBeforeRetry, 0, 86400)
}

func (c *TCPCheck) validate(errs *Errors, p loc, fam6 bool) { c.CheckCommon.validate(errs, p, fam6) }

func (c *HTTPCheck) validate(errs *Errors, p loc, fam6 bool) {
	c.CheckCommon.validate(errs, p, fam6)
	checkHostname(errs, p.At("virtualhost"), c.VirtualHost)
	if len(c.URLs) == 0 {
		errs.add(p.At("url"), "needs at least one url with a path")
	}
	for i, u := range c.URLs {
		up := p.At("url", i)
		switch {
		case u.Path == "":
			errs.add(up.At("path"), "must be set")
		case u.Path[0] != '/':
			errs.add(up.At("path"), "%s must start with /", quote(u.Path))
		default:
			checkWord(errs, up.At("path"), u.Path)
		}
		checkStatusCodes(errs, up.At("status_code"), u.StatusCode)
		if u.Digest != "" && !digestRE.MatchString(u.Digest) {
			errs.add(up.At("digest"), "%s is not an MD5 digest; give 32 lower-case hex digits (genhash prints it)", quote(u.Digest))
		}
	}
}

// checkStatusCodes accepts HTTP status codes and ranges separated by
// single spaces: "200", "200-299 400-499 503".
func checkStatusCodes(errs *Errors, p loc, v string) {
	if v == "" {
		return
	}
	if strings.Join(strings.Fields(v), " ") != v {
		errs.add(p, "%s: separate codes and ranges by single spaces", quote(v))
		return
	}
	checkLen(errs, p, v)
	for _, code := range strings.Fields(v) {
		if !statusRE.MatchString(code) {
			errs.add(p, "%s is not an HTTP status code or range such as 200 or 200-299", quote(code))
		} else if lo, hi, isRange := strings.Cut(code, "-"); isRange && lo > hi {
			// keepalived -t exits 5: "Invalid HTTP_GET status code".
			errs.add(p, "%s is an empty range; give the lower code first", quote(code))
		}
	}
}
