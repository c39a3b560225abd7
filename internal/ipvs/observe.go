package ipvs

import (
	"github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Observe turns a table read by Read into the wire's terms: each service
// as a model virtual server (see VirtualServerOf) with its destinations'
// weights and live counters, and whether it is ours (ours is asked with
// ServiceKey names).
func Observe(t Table, ours func(key string) bool) []wire.IPVSService {
	out := make([]wire.IPVSService, 0, len(t))
	for _, ts := range t {
		dests := make([]ipvs.Destination, len(ts.Destinations))
		counters := make([]wire.IPVSDestination, len(ts.Destinations))
		for i, d := range ts.Destinations {
			dests[i] = d.Destination
			counters[i] = wire.IPVSDestination{
				Key:           DestinationKey(d.Destination),
				Weight:        int(d.Weight),
				ActiveConns:   int(d.ActiveConnections),
				InactiveConns: int(d.InactiveConnections),
				PersistConns:  int(d.PersistentConnections),
			}
		}
		key := ServiceKey(ts.Service.Service)
		out = append(out, wire.IPVSService{
			Service:      VirtualServerOf(ts.Service.Service, dests),
			Destinations: counters,
			Ours:         ours(key),
		})
	}
	return out
}
