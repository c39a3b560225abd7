package agent

import (
	"errors"
	"slices"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Handover bridges close the gap of a keepalived -> netlink engine switch.
//
// keepalived's reload deletes every virtual_server its new config no longer
// declares (check/ipwrapper.c, clear_diff_services: clear_service_vs takes
// the destinations and the service out of the kernel), and the
// ipvs-handover step can program the service again only once it has
// (reprogramHandedOver, after the reload's readiness saw it gone). Between
// the two, a new connection to the VIP finds no IPVS service and the
// director's own stack answers it with a reset: connection refused.
// Connections already scheduled are not affected (their IPVS connection
// entries keep forwarding with expire_nodest_conn at its default 0).
//
// So for that moment each handed-over service gets a bridge: a persistent
// port-zero service on the same address and protocol, with the same
// scheduler and destinations. IPVS looks a packet up by address and port
// first and falls back to the port-zero service of the address only when
// there is none (ip_vs_service_find), so the bridge takes exactly the new
// connections that arrive while the real service is missing, and forwards
// them to the packet's own port on the same real servers. The
// ipvs-handover step removes the bridges once the services are back.
//
// A bridge forwards to the packet's port, so only services whose
// destinations all listen on the service's port get one (dr and tun
// always, nat without a mapped port); none is made where the address
// already has a port-zero service (the user's own catch-all, which then
// takes those connections anyway), nor for fwmark services.

// bridgeTimeout is a bridge's persistence, in seconds: the shortest, so
// the templates of the connections it scheduled expire within a second of
// its removal.
const bridgeTimeout = 1

// handoverBridge is one bridge: the port-zero service and its destinations.
type handoverBridge struct {
	svc   kipvs.Service
	dests []kipvs.Destination
}

// handoverBridges are the bridges a keepalived -> netlink switch from
// prev to hc needs: one per handed-over service that can have one.
func handoverBridges(hc, prev *hostConfig) []handoverBridge {
	if hc == nil {
		return nil
	}
	handedOver := keepalivedDeclared(prev)
	if len(handedOver) == 0 {
		return nil
	}
	var out []handoverBridge
	for _, vs := range netlinkServices(hc) {
		if !slices.Contains(handedOver, vs.Key()) || vs.Fwmark != 0 || vs.Port == 0 || len(vs.RealServers) == 0 {
			continue
		}
		if b, ok := bridgeOf(&vs); ok {
			out = append(out, b)
		}
	}
	return out
}

// bridgeOf is vs's bridge, unless a destination maps the port.
func bridgeOf(vs *model.VirtualServer) (handoverBridge, bool) {
	svc, err := ipvs.ServiceOf(vs)
	if err != nil {
		return handoverBridge{}, false
	}
	svc.Port = 0
	svc.Flags |= kipvs.ServicePersistent
	svc.Timeout = bridgeTimeout
	b := handoverBridge{svc: svc}
	for i := range vs.RealServers {
		d := ipvs.DestinationOf(vs, &vs.RealServers[i])
		if d.Port != uint16(vs.Port) {
			return handoverBridge{}, false
		}
		d.Port = 0
		b.dests = append(b.dests, d)
	}
	return b, true
}

// isBridge reports whether a kernel service looks like a bridge of ours.
func isBridge(s kipvs.Service) bool {
	return s.FWMark == 0 && s.Port == 0 && s.Flags&kipvs.ServicePersistent != 0 && s.Timeout == bridgeTimeout
}

// addHandoverBridges programs the bridges of a keepalived -> netlink
// switch (before keepalived's reload deletes the services), and registers
// their removal with tx. table is the kernel's table before.
func (a *Agent) addHandoverBridges(c ipvs.Client, hc, prev *hostConfig, table ipvs.Table, tx *txn) (int, error) {
	have := map[string]bool{}
	for i := range table {
		have[ipvs.ServiceKey(table[i].Service.Service)] = true
	}
	var added []handoverBridge
	n := 0
	for _, b := range handoverBridges(hc, prev) {
		if have[ipvs.ServiceKey(b.svc)] {
			continue // the address has a port-zero service already
		}
		if err := c.CreateService(b.svc); err != nil {
			return n, errors.Join(err, removeBridges(c, added))
		}
		n++
		added = append(added, b)
		for _, d := range b.dests {
			if err := c.CreateDestination(b.svc, d); err != nil {
				return n, errors.Join(err, removeBridges(c, added))
			}
			n++
		}
	}
	if len(added) > 0 {
		tx.add(func() error {
			c, err := a.IPVS()
			if err != nil {
				return err
			}
			defer c.Close()
			return a.removeHandoverBridges(c, hc, prev)
		})
	}
	return n, nil
}

// removeHandoverBridges removes the bridges of a keepalived -> netlink
// switch that are in the kernel.
func (a *Agent) removeHandoverBridges(c ipvs.Client, hc, prev *hostConfig) error {
	bridges := handoverBridges(hc, prev)
	if len(bridges) == 0 {
		return nil
	}
	table, err := ipvs.Read(c)
	if err != nil {
		return err
	}
	var present []handoverBridge
	for _, b := range bridges {
		for i := range table {
			if s := table[i].Service.Service; ipvs.ServiceKey(s) == ipvs.ServiceKey(b.svc) && isBridge(s) {
				present = append(present, handoverBridge{svc: s})
			}
		}
	}
	return removeBridges(c, present)
}

func removeBridges(c ipvs.Client, bridges []handoverBridge) error {
	var errs []error
	for _, b := range bridges {
		errs = append(errs, c.RemoveService(b.svc))
	}
	return errors.Join(errs...)
}
