package model

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// HAProxyResolvers is a resolvers section: the DNS servers haproxy asks,
// at run time, for the addresses of servers given by host name (server
// resolvers <name>). Times are in milliseconds; zero leaves haproxy's
// default.
type HAProxyResolvers struct {
	Name string `json:"name,omitzero"`
	// Nameservers are the DNS servers' addresses and ports, rendered as
	// nameserver ns1, ns2, ... in order.
	Nameservers []netip.AddrPort `json:"nameservers,omitzero"`
	// ParseResolvConf adds the nameservers of /etc/resolv.conf.
	ParseResolvConf bool `json:"parse_resolv_conf,omitzero"`
	// ResolveRetries is the number of queries sent before giving up.
	ResolveRetries int `json:"resolve_retries,omitzero"`
	// TimeoutResolve is the time between two resolutions of a name,
	// TimeoutRetry the time between two queries while no answer came.
	TimeoutResolve int `json:"timeout_resolve,omitzero"`
	TimeoutRetry   int `json:"timeout_retry,omitzero"`
	// HoldValid is how long the last valid answer is kept when no
	// answer comes ("hold valid").
	HoldValid int `json:"hold_valid,omitzero"`
	// AcceptedPayloadSize is the largest DNS answer (EDNS0) accepted:
	// 512 to 65535.
	AcceptedPayloadSize int `json:"accepted_payload_size,omitzero"`
}

// HAProxyResolvePrefers are the address families a server's host name may
// prefer (resolve-prefer).
var HAProxyResolvePrefers = []string{"ipv4", "ipv6"}

// HAProxyInitAddrMethods are the ways haproxy finds a server's address at
// startup (init-addr), besides an IP address.
var HAProxyInitAddrMethods = []string{"last", "libc", "none"}

// Hostname rules (RFC 1123): at most 253 characters, labels of 1 to 63
// letters, digits and `-`, not starting or ending with `-`, the last label
// not all digits (so that a mistyped IPv4 address is not a name).
const HostnameRule = "an IP address or an RFC 1123 host name (labels of letters, digits and `-` separated by `.`, " +
	"at most 63 characters each and 253 in all, not starting or ending with `-`, the last one not all digits)"

// IsRFC1123Hostname reports whether v is a host name per HostnameRule.
func IsRFC1123Hostname(v string) bool {
	if v == "" || len(v) > 253 {
		return false
	}
	labels := strings.Split(v, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		if strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

func (r *HAProxyResolvers) validate(errs *Errors, p loc) {
	checkName(errs, p.At("name"), r.Name)
	if len(r.Nameservers) == 0 && !r.ParseResolvConf {
		errs.add(p.At("nameservers"), "must list a nameserver (or set parse_resolv_conf = true): resolvers %q would resolve nothing", r.Name)
	}
	seen := map[netip.AddrPort]bool{}
	for i, ns := range r.Nameservers {
		np := p.At("nameservers", i)
		switch {
		case !ns.IsValid() || !ns.Addr().IsValid():
			errs.add(np, "must be an IP address and port, such as 10.0.0.53:53")
		case ns.Port() == 0:
			errs.add(np, "%s has port 0; give the DNS server's port, such as 53", ns)
		case ns.Addr().Zone() != "":
			errs.add(np, "%s has a zone; give a plain address", ns)
		case seen[ns]:
			errs.add(np, "%s is listed twice", ns)
		}
		seen[ns] = true
	}
	checkRange(errs, p.At("resolve_retries"), r.ResolveRetries, 0, 1000)
	checkRange(errs, p.At("timeout_resolve"), r.TimeoutResolve, 0, 2147483647)
	checkRange(errs, p.At("timeout_retry"), r.TimeoutRetry, 0, 2147483647)
	checkRange(errs, p.At("hold_valid"), r.HoldValid, 0, 2147483647)
	// haproxy 2.6: "must be between 512 and 65535".
	if r.AcceptedPayloadSize != 0 {
		checkRange(errs, p.At("accepted_payload_size"), r.AcceptedPayloadSize, 512, 65535)
	}
}

// checkResolvers validates the resolvers sections and refuses two of one name.
func checkResolvers(errs *Errors, p loc, rs []HAProxyResolvers) map[string]bool {
	names := map[string]bool{}
	for i := range rs {
		rp := p.At("resolvers", i)
		rs[i].validate(errs, rp)
		if names[rs[i].Name] {
			errs.add(rp.At("name"), "%q is already the name of another resolvers section", rs[i].Name)
		}
		names[rs[i].Name] = true
	}
	return names
}

// checkServerAddress checks a server's address: an IP address or a host
// name, exactly one; and the settings that only a host name uses.
func checkServerAddress(errs *Errors, sp loc, s *HAProxyServer) {
	switch {
	case s.Address.IsValid() && s.Hostname != "":
		errs.add(sp.At("address"), "holds both the IP address %s and the host name %q; give one", s.Address, s.Hostname)
	case s.Hostname != "":
		if !IsRFC1123Hostname(s.Hostname) {
			errs.add(sp.At("address"), "%s is not %s", quote(s.Hostname), HostnameRule)
		}
	case !s.Address.IsValid():
		errs.add(sp.At("address"), "must be %s", HostnameRule)
	case s.Address.Zone() != "":
		// haproxy cannot resolve a scoped address ("could not resolve address").
		errs.add(sp.At("address"), "%s has a zone; give a plain address", s.Address)
	}
	byName := s.Hostname != ""
	if s.Resolvers != "" {
		checkName(errs, sp.At("resolvers"), s.Resolvers)
		if !byName {
			errs.add(sp.At("resolvers"), "resolves a host name, but address is the IP address %s; give a host name or remove resolvers", s.Address)
		}
	}
	checkEnum(errs, sp.At("resolve_prefer"), s.ResolvePrefer, HAProxyResolvePrefers)
	if s.ResolvePrefer != "" && !byName {
		errs.add(sp.At("resolve_prefer"), "chooses among the addresses of a host name, but address is the IP address %s; remove it", s.Address)
	}
	if len(s.InitAddr) > 0 && !byName {
		errs.add(sp.At("init_addr"), "says how haproxy finds a host name's address at startup, but address is the IP address %s; remove it", s.Address)
	}
	seen := map[string]bool{}
	for i, m := range s.InitAddr {
		ip := sp.At("init_addr", i)
		if a, err := netip.ParseAddr(m); err == nil {
			if a.Zone() != "" {
				errs.add(ip, "%s has a zone; give a plain address", quote(m))
			}
		} else if !slices.Contains(HAProxyInitAddrMethods, m) {
			errs.add(ip, "%s is not allowed; allowed values are %s or an IP address", quote(m), quoteList(HAProxyInitAddrMethods))
		}
		if seen[m] {
			errs.add(ip, "%s is listed twice", quote(m))
		}
		seen[m] = true
	}
}

// NameserverName is the name of the i-th nameserver of a resolvers section
// in haproxy.cfg (ns1, ns2, ...).
func NameserverName(i int) string { return "ns" + strconv.Itoa(i+1) }

// serverKeywords are the server-line keywords the model's server fields
// render, with the attribute that sets each and whether it is set on s.
// A set field whose keyword also appears in the free options would put
// the keyword twice on the line, the later one silently winning (or, for
// flags, the attribute looking like the only source of the setting), so
// the pair is refused.
func serverKeywords(s *HAProxyServer) []struct {
	keyword, attr string
	set           bool
} {
	return []struct {
		keyword, attr string
		set           bool
	}{
		{"check", "check", s.Check},
		{"port", "check_port", s.CheckPort != 0},
		{"addr", "check_addr", s.CheckAddr.IsValid()},
		{"inter", "inter", s.Inter != 0},
		{"fall", "fall", s.Fall != 0},
		{"rise", "rise", s.Rise != 0},
		{"weight", "weight", s.Weight != nil},
		{"backup", "backup", s.Backup},
		{"maxconn", "maxconn", s.Maxconn != 0},
		{"maxqueue", "maxqueue", s.Maxqueue != 0},
		{"slowstart", "slowstart", s.Slowstart != 0},
		{"send-proxy", "send_proxy", s.SendProxy},
		{"send-proxy-v2", "send_proxy_v2", s.SendProxyV2},
		{"resolvers", "resolvers", s.Resolvers != ""},
		{"resolve-prefer", "resolve_prefer", s.ResolvePrefer != ""},
		{"init-addr", "init_addr", len(s.InitAddr) > 0},
		{"ssl", "ssl", s.SSL},
		{"verify", "verify", s.Verify != ""},
		{"ca-file", "ca_file", s.CAFile != ""},
		{"sni", "sni", s.SNI != ""},
		{"verifyhost", "verifyhost", s.VerifyHost != ""},
		{"check-ssl", "check_ssl", s.CheckSSL},
		{"agent-check", "agent_check", s.AgentCheck},
		{"agent-port", "agent_port", s.AgentPort != 0},
		{"agent-inter", "agent_inter", s.AgentInter != 0},
	}
}

// checkServerOptionKeywords refuses a keyword in a server's options that
// one of its set attributes renders.
func checkServerOptionKeywords(errs *Errors, sp loc, s *HAProxyServer) {
	if s.Options == "" {
		return
	}
	words := haproxyWords(s.Options)
	for _, k := range serverKeywords(s) {
		if k.set && slices.Contains(words, k.keyword) {
			errs.add(sp.At("options"), "has %q, which the attribute %s sets; remove it from options", k.keyword, k.attr)
		}
	}
}
