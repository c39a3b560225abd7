package model

import (
	"slices"
	"strings"
)

// The allowed values of every enumerated attribute, written once: validation
// messages and the provider's schema descriptions and validators use these
// same slices.
var (
	// Protocols of an IPVS virtual server.
	Protocols = []string{"tcp", "udp", "sctp"}
	// Schedulers are the IPVS scheduling algorithms.
	Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"}
	// ForwardingMethods are the IPVS packet-forwarding methods.
	ForwardingMethods = []string{"nat", "dr", "tun"}
	// TunnelTypes are the encapsulations of the tun forwarding method.
	TunnelTypes = []string{"ipip", "gue", "gre"}
	// AddressFamilies name IPv4 and IPv6 as keepalived and ipvsadm do.
	AddressFamilies = []string{"inet", "inet6"}

	// VRRPStates are the initial states of a VRRP instance.
	VRRPStates = []string{"MASTER", "BACKUP"}
	// VRRPVersions are the VRRP protocol versions keepalived speaks.
	VRRPVersions = []int{2, 3}
	// VRRPAuthTypes are the VRRPv2 authentication types.
	VRRPAuthTypes = []string{"PASS", "AH"}

	// HAProxyModes are the proxy modes of haproxy sections.
	HAProxyModes = []string{"tcp", "http"}
	// HAProxyBalances are the haproxy 2.6 load-balancing algorithms. hdr,
	// url_param and hash take their argument (header, parameter, sample
	// expression) in BalanceArg; random (the number of draws) and
	// rdp-cookie (the cookie name) may.
	HAProxyBalances = []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "random", "rdp-cookie", "hash"}
	// HAProxyLogLevels are syslog levels accepted on haproxy log lines.
	HAProxyLogLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	// HAProxyLogFacilities are the syslog facilities haproxy log lines accept.
	HAProxyLogFacilities = []string{
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
		"ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
		"local5", "local6", "local7",
	}
	// HAProxyRuleConditions are the keywords that join a use_backend rule to its condition.
	HAProxyRuleConditions = []string{"if", "unless"}
)

// Default values the renderers apply when a field is left at its zero value.
const (
	DefaultProtocol         = "tcp"
	DefaultScheduler        = "wlc"
	DefaultForwardingMethod = "nat"
	DefaultTunnelType       = "ipip"
	DefaultVRRPVersion      = 2
	DefaultAdvertInt        = 1.0
	DefaultWeight           = 1
	DefaultHAProxyMode      = "tcp"
	DefaultHAProxyBalance   = "roundrobin"
)

// oneOf reports whether v is one of allowed.
func oneOf[T comparable](v T, allowed []T) bool { return slices.Contains(allowed, v) }

// quoteList renders allowed values for an error message: "a", "b" or "c".
func quoteList(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = `"` + a + `"`
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// checkEnum records an error at p when v is set and not one of allowed.
func checkEnum(errs *Errors, p loc, v string, allowed []string) {
	if v != "" && !oneOf(v, allowed) {
		errs.add(p, "%s is not allowed; allowed values are %s", quote(v), quoteList(allowed))
	}
}

// checkRange records an error at p when v is outside [lo, hi].
func checkRange[T int | int64 | uint32 | float64](errs *Errors, p loc, v, lo, hi T) {
	if v < lo || v > hi {
		errs.add(p, "%v is out of range; allowed values are %v to %v", v, lo, hi)
	}
}
