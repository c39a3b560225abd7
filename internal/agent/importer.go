package agent

import (
	"context"
	"slices"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
)

// importIPVS reads the IPVS services no stored object declares (built by
// hand with ipvsadm, or by a foreign keepalived) as virtual_server and
// real_server objects, changing nothing. The provider adopts them by
// putting them back in an apply with a netlink-engine director, which
// records them as owned.
func (a *Agent) importIPVS(ctx context.Context, req *wire.Request) ([]wire.Object, *wire.Error) {
	unlock, werr := a.lock(ctx, req)
	if werr != nil {
		return nil, werr
	}
	defer unlock()
	const step = "import IPVS"
	if a.IPVS == nil {
		return nil, &wire.Error{Code: wire.ExitUnsupported, Step: step, Message: ipvs.ErrNoIPVS.Error()}
	}
	c, err := a.IPVS()
	if err != nil {
		return nil, &wire.Error{Code: ipvsCode(err), Step: step, Message: err.Error()}
	}
	defer c.Close()
	table, err := ipvs.Read(c)
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	owned, _, err := a.loadOwned()
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	var out []wire.Object
	for _, ts := range table {
		if slices.Contains(owned, ipvs.ServiceKey(ts.Service.Service)) {
			continue
		}
		dests := make([]kipvs.Destination, len(ts.Destinations))
		for i, d := range ts.Destinations {
			dests[i] = d.Destination
		}
		vs := ipvs.VirtualServerOf(ts.Service.Service, dests)
		rss := vs.RealServers
		vs.RealServers = nil
		key := vs.Key()
		out = append(out, wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: key}, VirtualServer: &vs})
		for i := range rss {
			rs := rss[i]
			out = append(out, wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: key + "/" + rs.Key(&vs)}, RealServer: &rs})
		}
	}
	return out, nil
}
