package agent

import (
	"errors"
	"fmt"
	"os"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
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
	const step = "resync keepalived weights"
	fail := keepalivedIPVSFailure(step)
	c, table, werr := a.keepalivedIPVSTable(step)
	if c == nil {
		return werr
	}
	defer c.Close()
	for i := range hc.keepalived.VirtualServers {
		vs := &hc.keepalived.VirtualServers[i]
		services := []model.VirtualServer{*vs}
		if vs.Group != "" {
			services = groupServices(hc.keepalived, vs)
			// Only a keepalived that was neither started nor reloaded by
			// this apply has programmed all it will: otherwise it may
			// still be adding members itself.
			if len(vs.RealServers) > 0 && rep.Reloads["keepalived"] == 0 {
				n, err := repairGroupServices(c, table, services)
				rep.Netlink += n
				if err != nil {
					return fail(fmt.Errorf("virtual server %s: %w", vs.Key(), err))
				}
				if n > 0 {
					if table, err = ipvs.Read(c); err != nil {
						return fail(err)
					}
				}
			}
		}
		for k := range services {
			n, err := resyncWeights(c, table, &services[k])
			rep.Netlink += n
			if err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// resyncWeights puts back the weights of svc's destinations (see
// resyncKeepalivedWeights) and says how many it changed.
func resyncWeights(c ipvs.Client, table ipvs.Table, vs *model.VirtualServer) (int, error) {
	svc, err := ipvs.ServiceOf(vs)
	if err != nil {
		// A service IPVS cannot hold is in no table: nothing to resync.
		return 0, nil //nolint:nilerr // not a failure of the resync
	}
	n := 0
	for _, ts := range table {
		if ipvs.ServiceKey(ts.Service.Service) != ipvs.ServiceKey(svc) {
			continue
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			if rs.HasDynamicWeight() {
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
					return n, err
				}
				n++
			}
		}
	}
	return n, nil
}

// repairGroupServices puts back the member services of a keepalived group
// service that were removed by hand (ipvsadm -D on one member address):
// keepalived programs a group's members when it starts and does not look
// at them again, and a reload skips the members it already programmed, so
// the service would stay missing while the provider plans it back
// forever. A missing member gets the service's settings and the
// destinations of a member that is still in the table, since keepalived
// keeps the destinations of all members alike (health included). With no
// member left the service is missing as a whole, which is left alone as
// for any keepalived service. It says how many netlink requests it made.
func repairGroupServices(c ipvs.Client, table ipvs.Table, services []model.VirtualServer) (int, error) {
	have := map[string]*ipvs.TableService{}
	for i := range table {
		have[ipvs.ServiceKey(table[i].Service.Service)] = &table[i]
	}
	var sibling *ipvs.TableService
	for i := range services {
		if svc, err := ipvs.ServiceOf(&services[i]); err == nil && have[ipvs.ServiceKey(svc)] != nil {
			sibling = have[ipvs.ServiceKey(svc)]
			break
		}
	}
	if sibling == nil {
		return 0, nil
	}
	n := 0
	for i := range services {
		vs := &services[i]
		svc, err := ipvs.ServiceOf(vs)
		if err != nil || have[ipvs.ServiceKey(svc)] != nil {
			continue
		}
		if err := c.CreateService(svc); err != nil {
			return n, fmt.Errorf("putting back member service %s: %w", vs.Key(), err)
		}
		n++
		var dests []kipvs.Destination
		for _, d := range sibling.Destinations {
			dest := d.Destination
			if dest.FwdMethod != kipvs.Masquerade {
				dest.Port = svc.Port // the kernel keeps a dr/tun destination on the service's port
			}
			dests = append(dests, dest)
		}
		for _, d := range dests {
			if err := c.CreateDestination(svc, d); err != nil {
				return n, fmt.Errorf("putting back destination %s of member service %s: %w", ipvs.DestinationKey(d), vs.Key(), err)
			}
			n++
		}
	}
	return n, nil
}

// removeGroupLeftovers removes the member services of keepalived groups
// that the stored objects declared before this apply (oldHC, composed by
// the apply) and no longer do:
// keepalived 2.2, reloaded with a group that lost members (or with a group
// service gone), removes their destinations but leaves the services
// themselves in the kernel, where they would stay foreign forever. Only
// services keepalived programmed for us are touched.
func (a *Agent) removeGroupLeftovers(oldHC, hc *hostConfig, rep *wire.ApplyReport) *wire.Error {
	if a.IPVS == nil || oldHC == nil {
		return nil // nil: what was stored did not compose; nothing known to clean
	}
	gone := map[string]bool{}
	for _, k := range groupMemberKeys(oldHC) {
		gone[k] = true
	}
	for _, k := range groupMemberKeys(hc) {
		delete(gone, k)
	}
	if len(gone) == 0 {
		return nil
	}
	const step = "remove keepalived group leftovers"
	fail := keepalivedIPVSFailure(step)
	c, table, werr := a.keepalivedIPVSTable(step)
	if c == nil {
		return werr
	}
	defer c.Close()
	for _, ts := range table {
		if !gone[ipvs.ServiceKey(ts.Service.Service)] {
			continue
		}
		if err := c.RemoveService(ts.Service.Service); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("removing member service %s: %w", ipvs.ServiceKey(ts.Service.Service), err))
		}
		rep.Netlink++
	}
	return nil
}

// groupMemberKeys are the kernel services of the group services keepalived
// programs for hc.
func groupMemberKeys(hc *hostConfig) []string {
	if hc == nil || hc.keepalived == nil || !hc.keepalived.OwnsIPVS() {
		return nil
	}
	var keys []string
	for i := range hc.keepalived.VirtualServers {
		if vs := &hc.keepalived.VirtualServers[i]; vs.Group != "" && len(vs.RealServers) > 0 {
			keys = append(keys, keepalivedServiceKeys(hc.keepalived, vs)...)
		}
	}
	return keys
}

// keepalivedIPVSFailure makes the error of a step that corrects the table
// keepalived programs.
func keepalivedIPVSFailure(step string) func(error) *wire.Error {
	return func(err error) *wire.Error {
		return &wire.Error{Code: ipvsCode(err), Step: step, Object: "director director", Message: err.Error()}
	}
}

// keepalivedIPVSTable opens the kernel's IPVS table for a step that
// corrects what keepalived programs. The client is nil when there is
// nothing to correct: a kernel without IPVS (keepalived reports it
// itself), or a failure, which the error says. The caller closes it.
func (a *Agent) keepalivedIPVSTable(step string) (ipvs.Client, ipvs.Table, *wire.Error) {
	if !a.hasIPVS() {
		return nil, nil, nil
	}
	fail := keepalivedIPVSFailure(step)
	c, err := a.IPVS()
	if err != nil {
		return nil, nil, fail(err)
	}
	table, err := ipvs.Read(c)
	if err != nil {
		c.Close()
		return nil, nil, fail(err)
	}
	return c, table, nil
}

// hasIPVS reports whether the kernel has IPVS (/proc/net/ip_vs).
func (a *Agent) hasIPVS() bool {
	_, err := os.Stat(a.path("/proc/net/ip_vs"))
	return err == nil
}
