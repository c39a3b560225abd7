package model

import (
	"net/netip"
	"regexp"
	"strings"
)

// The checkers of keepalived 2.2 beyond TCP_CHECK, HTTP_GET/SSL_GET and
// MISC_CHECK (realserver.go). A real server has at most one checker.

// SMTPCheck is SMTP_CHECK: the server must greet, answer HELO and QUIT
// with SMTP's success codes. Hosts are further addresses checked the same
// way (keepalived's host blocks); the server is up only while all are.
type SMTPCheck struct {
	CheckCommon
	// HeloName is the name sent with HELO (keepalived's default: the
	// director's host name).
	HeloName string     `json:"helo_name,omitzero"`
	Hosts    []SMTPHost `json:"hosts,omitzero"`
}

// SMTPHost is one host block of an SMTP_CHECK.
type SMTPHost struct {
	ConnectIP   netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort int        `json:"connect_port,omitzero"`
	BindTo      netip.Addr `json:"bind_to,omitzero"`
}

// PingCheck is PING_CHECK: an ICMP echo must be answered.
type PingCheck struct {
	CheckCommon
}

// UDPCheck is UDP_CHECK: a datagram is sent (Payload, in hex; random when
// empty) and the check fails on an ICMP error, or, with RequireReply, when
// no reply comes, when the reply's length is outside MinReplyLength to
// MaxReplyLength, or when it does not match ReplyPattern (hex, x for a
// nibble that may be anything).
type UDPCheck struct {
	CheckCommon
	Payload        string `json:"payload,omitzero"`
	RequireReply   bool   `json:"require_reply,omitzero"`
	ReplyPattern   string `json:"reply_pattern,omitzero"`
	MinReplyLength int    `json:"min_reply_length,omitzero"`
	MaxReplyLength int    `json:"max_reply_length,omitzero"`
}

// DNSCheck is DNS_CHECK: a query of Type (default SOA) for Name (default
// ".") must be answered.
type DNSCheck struct {
	CheckCommon
	Type string `json:"type,omitzero"`
	Name string `json:"name,omitzero"`
}

// DNSCheckTypes are the query types DNS_CHECK sends.
var DNSCheckTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}

// FileCheck is FILE_CHECK: keepalived reads a number from File whenever
// it changes. With Weight 0, a non-zero number takes the server down;
// otherwise the number times Weight (negated with Reverse) is added to the
// server's IPVS weight. Weight nil is keepalived's default (1).
type FileCheck struct {
	File    string `json:"file,omitzero"`
	Weight  *int   `json:"weight,omitzero"`
	Reverse bool   `json:"reverse,omitzero"`
}

// HasDynamicWeight reports whether a checker sets the server's weight (a
// dynamic MISC_CHECK, a FILE_CHECK of non-zero weight): the weight the
// kernel holds is then status, not drift.
func (rs *RealServer) HasDynamicWeight() bool {
	if rs.MiscCheck != nil && rs.MiscCheck.Dynamic {
		return true
	}
	return rs.FileCheck != nil && (rs.FileCheck.Weight == nil || *rs.FileCheck.Weight != 0)
}

var (
	hexRE        = regexp.MustCompile(`^[0-9a-fA-F]+( [0-9a-fA-F]+)*$`)
	hexPatternRE = regexp.MustCompile(`^[0-9a-fA-FxX]+( [0-9a-fA-FxX]+)*$`)
	// filePathRE is an absolute path keepalived can read unquoted.
	filePathRE = regexp.MustCompile(`^/[A-Za-z0-9_.@%+=:,/-]*$`)
	// heloRE is a HELO name: a host name, or a word keepalived writes unquoted.
	heloRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,253}$`)
	// dnsNameRE is a query name, "." included.
	dnsNameRE = regexp.MustCompile(`^(\.|[A-Za-z0-9_-]([A-Za-z0-9_.-]{0,252}))$`)
)

// validateChecks checks the real server's checkers; at most one is set.
func (rs *RealServer) validateChecks(errs *Errors, p loc) {
	// checks are the health checks given, in the order below: a second
	// one is reported at its own block, naming the first.
	var checks []string
	fam6 := rs.Address.Is6()
	if c := rs.TCPCheck; c != nil {
		checks = append(checks, "tcp_check")
		c.validate(errs, p.At("tcp_check"), fam6)
	}
	if c := rs.HTTPGet; c != nil {
		checks = append(checks, "http_get")
		c.validate(errs, p.At("http_get"), fam6)
	}
	if c := rs.SSLGet; c != nil {
		checks = append(checks, "ssl_get")
		c.validate(errs, p.At("ssl_get"), fam6)
	}
	if c := rs.MiscCheck; c != nil {
		checks = append(checks, "misc_check")
		mp := p.At("misc_check")
		if c.Script == "" {
			errs.add(mp.At("script"), "must be set")
		}
		checkText(errs, mp.At("script"), c.Script)
		checkRange(errs, mp.At("timeout"), c.Timeout, 0, MaxCheckTimeout)
		if c.User != "" {
			checkName(errs, mp.At("user"), c.User)
		}
	}
	if c := rs.SMTPCheck; c != nil {
		checks = append(checks, "smtp_check")
		sp := p.At("smtp_check")
		c.CheckCommon.validate(errs, sp, fam6)
		if c.HeloName != "" && !heloRE.MatchString(c.HeloName) {
			errs.add(sp.At("helo_name"), "%s is not a host name; use at most 253 letters, digits, `_`, `.` and `-`", quote(c.HeloName))
		}
		for i, h := range c.Hosts {
			hp := sp.At("host", i)
			hc := CheckCommon{ConnectIP: h.ConnectIP, ConnectPort: h.ConnectPort, BindTo: h.BindTo}
			hc.validate(errs, hp, fam6)
		}
	}
	if c := rs.PingCheck; c != nil {
		checks = append(checks, "ping_check")
		pp := p.At("ping_check")
		c.CheckCommon.validate(errs, pp, fam6)
		if c.ConnectPort != 0 {
			errs.add(pp.At("connect_port"), "does not apply: an ICMP echo has no port")
		}
	}
	if c := rs.UDPCheck; c != nil {
		checks = append(checks, "udp_check")
		up := p.At("udp_check")
		c.CheckCommon.validate(errs, up, fam6)
		if c.Payload != "" && !hexRE.MatchString(c.Payload) {
			errs.add(up.At("payload"), "%s is not hex; give hex digits, in groups separated by single spaces", quote(c.Payload))
		}
		checkLen(errs, up.At("payload"), c.Payload)
		if c.ReplyPattern != "" {
			if !hexPatternRE.MatchString(c.ReplyPattern) {
				errs.add(up.At("reply_pattern"), "%s is not hex; give hex digits (x for any), in groups separated by single spaces", quote(c.ReplyPattern))
			}
			checkLen(errs, up.At("reply_pattern"), c.ReplyPattern)
		}
		if !c.RequireReply {
			for _, f := range []struct {
				name string
				set  bool
			}{{"reply_pattern", c.ReplyPattern != ""}, {"min_reply_length", c.MinReplyLength != 0}, {"max_reply_length", c.MaxReplyLength != 0}} {
				if f.set {
					errs.add(up.At(f.name), "needs require_reply = true")
				}
			}
		}
		checkRange(errs, up.At("min_reply_length"), c.MinReplyLength, 0, 65535)
		checkRange(errs, up.At("max_reply_length"), c.MaxReplyLength, 0, 65535)
		if c.MaxReplyLength != 0 && c.MinReplyLength > c.MaxReplyLength {
			errs.add(up.At("min_reply_length"), "%d is above max_reply_length (%d)", c.MinReplyLength, c.MaxReplyLength)
		}
	}
	if c := rs.DNSCheck; c != nil {
		checks = append(checks, "dns_check")
		dp := p.At("dns_check")
		c.CheckCommon.validate(errs, dp, fam6)
		checkEnum(errs, dp.At("type"), c.Type, DNSCheckTypes)
		if c.Name != "" && !dnsNameRE.MatchString(c.Name) {
			errs.add(dp.At("name"), "%s is not a domain name; use at most 253 letters, digits, `_`, `.` and `-`", quote(c.Name))
		}
	}
	if c := rs.FileCheck; c != nil {
		checks = append(checks, "file_check")
		fp := p.At("file_check")
		switch {
		case c.File == "":
			errs.add(fp.At("file"), "must be set")
		case !filePathRE.MatchString(c.File):
			errs.add(fp.At("file"), "%s is not an absolute path keepalived can read; use `/` followed by letters, digits and `_.@%%+=:,/-`", quote(c.File))
		default:
			checkLen(errs, fp.At("file"), c.File)
		}
		if c.Weight != nil {
			checkRange(errs, fp.At("weight"), *c.Weight, -65535, 65535)
		}
	}
	for _, second := range checks[min(1, len(checks)):] {
		errs.add(p.At(second), "is a second health check beside %s; a real server takes at most one of %s",
			checks[0], strings.Join(CheckKinds, ", "))
	}
}

// CheckKinds are the checker attributes of a real server.
var CheckKinds = []string{"tcp_check", "http_get", "ssl_get", "misc_check", "smtp_check", "ping_check", "udp_check", "dns_check", "file_check"}
