package agent

import "github.com/lvsops/terraform-provider-lvs/internal/wire"

// keepStaticAddresses puts the director's static addresses back after
// keepalived's reload when it took any away: taking over a hand-built
// keepalived.conf whose static_ipaddress block the rendered file no longer
// has (the agent holds those addresses now), keepalived removes the
// addresses of that block on reload, after the addresses step ensured
// them. Ensure is idempotent, so on every other apply this changes nothing.
func (a *Agent) keepStaticAddresses(hc *hostConfig, rep *wire.ApplyReport) *wire.Error {
	if len(hc.staticAddrs) == 0 || a.Addrs == nil {
		return nil
	}
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: "keep static addresses", Object: "director", Message: err.Error()}
	}
	m, err := a.Addrs()
	if err != nil {
		return fail(err)
	}
	defer m.Close()
	for _, ha := range hc.staticAddrs {
		added, err := m.EnsureScope(ha.Device, ha.Prefix, ha.Scope)
		if err != nil {
			return fail(err)
		}
		if added {
			rep.Netlink++
		}
	}
	return nil
}
