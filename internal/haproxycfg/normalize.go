package haproxycfg

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Normalize returns a copy of cfg with the defaults the renderer and
// haproxy apply written out, so that two configurations that make haproxy
// do the same compare equal: the admin socket's default path, the
// default check URI, 0.0.0.0 binds as binds on every IPv4 address.
func Normalize(cfg *model.HAProxyConfig) *model.HAProxyConfig {
	out := deepCopy(cfg)
	if out.Global.StatsSocket == "" {
		out.Global.StatsSocket = model.DefaultStatsSocket
	}
	binds := func(bs []model.HAProxyBind) {
		for i := range bs {
			if a := bs[i].Address; a.IsValid() && a.Is4() && a.IsUnspecified() {
				bs[i].Address = netip.Addr{}
			}
		}
	}
	backend := func(b *model.HAProxyBackend) {
		if b.HTTPCheck != nil && b.HTTPCheck.Path == "" {
			b.HTTPCheck.Path = "/"
		}
	}
	for i := range out.Frontends {
		binds(out.Frontends[i].Binds)
		for k := range out.Frontends[i].UseBackends {
			if out.Frontends[i].UseBackends[k].Cond == "" {
				out.Frontends[i].UseBackends[k].Cond = "if"
			}
		}
	}
	for i := range out.Backends {
		backend(&out.Backends[i])
	}
	for i := range out.Listens {
		binds(out.Listens[i].Binds)
		backend(&out.Listens[i].HAProxyBackend)
	}
	// The order of sections means nothing to haproxy (the agent writes
	// frontends in name order, each followed in the backends by its own).
	slices.SortStableFunc(out.Frontends, func(a, b model.HAProxyFrontend) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(out.Backends, func(a, b model.HAProxyBackend) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(out.Listens, func(a, b model.HAProxyListen) int { return strings.Compare(a.Name, b.Name) })
	emptyToNil(reflect.ValueOf(out))
	return out
}

// Equivalent reports whether a and b make haproxy do the same (they are
// equal once normalized).
func Equivalent(a, b *model.HAProxyConfig) bool {
	return reflect.DeepEqual(Normalize(a), Normalize(b))
}

func deepCopy(cfg *model.HAProxyConfig) *model.HAProxyConfig {
	data, err := json.Marshal(cfg)
	if err != nil {
		panic("haproxycfg: copying a configuration: " + err.Error())
	}
	var out model.HAProxyConfig
	if err := json.Unmarshal(data, &out); err != nil {
		panic("haproxycfg: copying a configuration: " + err.Error())
	}
	return &out
}
