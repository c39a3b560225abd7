package agent

import (
	"os"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
)

// resyncKeepalivedWeights puts back the weight of a keepalived-owned
// destination that was changed by hand (ipvsadm -e -w): keepalived does
// not touch a real server whose configuration did not change, so a reload
// leaves such a change in place and the provider's plan would show it
// forever. A destination keepalived took out (absent) or inhibited
// (weight 0), and one whose weight a dynamic misc_check sets, are left to
// keepalived: that is health, not drift. The weight written is the one
// keepalived itself holds for a server that is up, so the two agree again.
func (a *Agent) resyncKeepalivedWeights(hc *hostConfig, rep *wire.ApplyReport) *wire.Error {
	if hc.keepalived == nil || !hc.keepalived.OwnsIPVS() || len(hc.keepalived.VirtualServers) == 0 || a.IPVS == nil {
		return nil
	}
	if _, err := os.Stat(a.path("/proc/net/ip_vs")); err != nil {
		return nil // keepalived reports a kernel without IPVS itself
	}
	const step = "resync keepalived weights"
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: ipvsCode(err), Step: step, Object: "director director", Message: err.Error()}
	}
	c, err := a.IPVS()
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	table, err := ipvs.Read(c)
	if err != nil {
		return fail(err)
	}
	for i := range hc.keepalived.VirtualServers {
		vs := &hc.keepalived.VirtualServers[i]
		svc, err := ipvs.ServiceOf(vs)
		if err != nil {
			continue // a group: keepalived's alone
		}
		for _, ts := range table {
			if ipvs.ServiceKey(ts.Service.Service) != ipvs.ServiceKey(svc) {
				continue
			}
			for j := range vs.RealServers {
				rs := &vs.RealServers[j]
				if rs.MiscCheck != nil && rs.MiscCheck.Dynamic {
					continue
				}
				want := ipvs.DestinationOf(vs, rs)
				for _, d := range ts.Destinations {
					if ipvs.DestinationKey(d.Destination) != ipvs.DestinationKey(want) || d.Weight == 0 || d.Weight == want.Weight {
						continue
					}
					fixed := d.Destination
					fixed.Weight = want.Weight
					if err := c.UpdateDestination(ts.Service.Service, fixed); err != nil {
						return fail(err)
					}
					rep.Netlink++
				}
			}
		}
	}
	return nil
}
