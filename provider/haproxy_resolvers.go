package provider

import (
	"slices"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// standInResolvers are resolvers sections of the names the servers of bs
// use, for validating a frontend or backend at plan time on its own: the
// host's resolvers sections are lvs_haproxy's, and whether a name is one
// of them is checked at apply, where every object of the host is known.
// Errors at the stand-ins' own paths (resolvers[i]) are to be dropped.
func standInResolvers(bs []model.HAProxyBackend) []model.HAProxyResolvers {
	var out []model.HAProxyResolvers
	for _, b := range bs {
		for _, s := range b.Servers {
			if s.Resolvers != "" && !slices.ContainsFunc(out, func(r model.HAProxyResolvers) bool { return r.Name == s.Resolvers }) {
				out = append(out, model.HAProxyResolvers{Name: s.Resolvers, ParseResolvConf: true})
			}
		}
	}
	return out
}
