package render

import (
	"fmt"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// RealServerSysctlFile is where RealServerScript keeps a real server's
// sysctls for reboots. The 90- prefix orders it after distribution files.
const RealServerSysctlFile = "/etc/sysctl.d/90-lvs-realserver.conf"

// Sysctl renders a sysctl.d fragment: the ManagedMarker line, then each
// setting as `key = value` under a comment with its reason, in the list's
// order (the model's derivation order, so the same list gives the same
// bytes). Each field is written on one line whatever it holds, so no
// value can add a setting of its own.
func Sysctl(list []model.Sysctl) string {
	type entry struct{ Key, Value, Reason string }
	entries := make([]entry, len(list))
	for i, s := range list {
		key := oneLine(s.Key)
		if s.Optional {
			// systemd-sysctl and sysctl --system skip a missing key
			// prefixed with "-" instead of failing.
			key = "-" + key
		}
		entries[i] = entry{Key: key, Value: oneLine(s.Value), Reason: oneLine(s.Reason)}
	}
	return mustExecute("sysctl.conf", pongo2.Context{"marker": ManagedMarker, "entries": entries})
}

// RealServerScript renders the real-server side of a host as an idempotent
// POSIX shell script (for cloud-init and review): bring up the tunnel
// device, apply the sysctls and keep them in RealServerSysctlFile, put the
// VIPs on their devices, route through the gateway. Running it again
// changes nothing.
//
// The steps run in that order on purpose: the tunnel device must exist
// before its own sysctls (net.ipv4.conf.tunl0.*) can be set, and
// arp_ignore/arp_announce must be in force before a VIP appears on lo, or
// the host may answer ARP for the VIP in between.
func RealServerScript(h model.HostSetup) string {
	ctx := pongo2.Context{"marker": ManagedMarker, "sysctlFile": RealServerSysctlFile}
	if h.TunnelDevice != "" {
		ctx["tunnel"] = map[string]string{
			"Device": shellWord(h.TunnelDevice),
			"Module": shellWord(tunnelModule(h.TunnelDevice)),
		}
	}
	if len(h.Sysctls) > 0 {
		var sets []string
		for _, s := range h.Sysctls {
			sets = append(sets, shellWord(oneLine(s.Key)+"="+oneLine(s.Value)))
		}
		ctx["sysctls"] = sets
		ctx["sysctlText"] = Sysctl(h.Sysctls)
	}
	var addrs []string
	for _, a := range h.Addresses {
		addrs = append(addrs, shellWord(a.Prefix.String())+" dev "+shellWord(a.Device))
	}
	ctx["addresses"] = addrs
	if gw := h.Gateway; gw.IsValid() {
		ip := "ip"
		if gw.Is6() {
			ip = "ip -6"
		}
		ctx["gateway"] = ip + " route replace default via " + gw.String()
	}
	return mustExecute("realserver.sh", ctx)
}

// tunnelModule is the kernel module that provides a fallback tunnel device.
func tunnelModule(dev string) string {
	switch dev {
	case "gre0":
		return "ip_gre"
	case "ip6tnl0":
		return "ip6_tunnel"
	default: // tunl0
		return "ipip"
	}
}

// mustExecute renders a template whose input cannot make it fail: the
// templates are embedded and covered by the golden tests, so an error is
// a bug in this package.
func mustExecute(name string, ctx pongo2.Context) string {
	out, err := execute(name, ctx)
	if err != nil {
		panic(fmt.Sprintf("render: %s: %v", name, err))
	}
	return out
}

// oneLine folds any run of white space (line breaks included) into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters of addresses, prefixes, device names and sysctl settings.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/@=+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
