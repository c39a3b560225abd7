package provider

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseHostImportID reads an import ID naming a host: `host`,
// `user@host`, `host:port`, `user@host:port`, `[v6addr]:port`.
func parseHostImportID(id string) (user, host string, port int, err error) {
	rest := id
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
		if user == "" {
			return "", "", 0, fmt.Errorf("empty user before @")
		}
	}
	host = rest
	switch {
	case strings.HasPrefix(rest, "["):
		j := strings.Index(rest, "]")
		if j < 0 {
			return "", "", 0, fmt.Errorf("unclosed [")
		}
		host = rest[1:j]
		if tail := rest[j+1:]; tail != "" {
			if !strings.HasPrefix(tail, ":") {
				return "", "", 0, fmt.Errorf("unexpected %q after ]", tail)
			}
			if port, err = parsePort(tail[1:]); err != nil {
				return "", "", 0, err
			}
		}
	case strings.Count(rest, ":") == 1:
		j := strings.Index(rest, ":")
		host = rest[:j]
		if port, err = parsePort(rest[j+1:]); err != nil {
			return "", "", 0, err
		}
	case strings.Count(rest, ":") > 1:
		if _, perr := netip.ParseAddr(rest); perr != nil {
			return "", "", 0, fmt.Errorf("%q is neither host:port nor an IPv6 address", rest)
		}
	}
	if host == "" || strings.ContainsAny(host, " /\t") {
		return "", "", 0, fmt.Errorf("no usable host name")
	}
	return user, host, port, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q: want 1 to 65535", s)
	}
	return p, nil
}
