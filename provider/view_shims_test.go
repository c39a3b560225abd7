package provider

import (
	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The provider's older unit tests of observation cases, kept as they were
// written, read through internal/cluster's View (which interprets
// observations now): these shims give them their former signatures.

func observeRealServer(obs *wire.Observed, id cluster.RealServerID) (*model.RealServer, string, error) {
	st, err := cluster.NewView(obs).RealServer(id)
	return st.Observed, st.Method, err
}

func activeConns(obs *wire.Observed, id cluster.RealServerID) int {
	return cluster.NewView(obs).ActiveConns(id)
}

// observeGroupService is group/web/tcp, the service the group tests use.
func observeGroupService(obs *wire.Observed, prior *model.VirtualServer, g *model.VirtualServerGroup) (*model.VirtualServer, *model.VirtualServerGroup) {
	return cluster.NewView(obs).GroupService("group/web/tcp", prior, g)
}

// observeVirtualServer is the service as the kernel runs it, nil unless
// it runs.
func observeVirtualServer(obs *wire.Observed, key string) (*model.VirtualServer, error) {
	st, err := cluster.NewView(obs).VirtualServer(key)
	if err != nil || st.Presence != cluster.Running {
		return nil, err
	}
	return st.Observed, nil
}

func foreignKeepalived(obs *wire.Observed) bool { return cluster.NewView(obs).ForeignKeepalived() }

func keepalivedAdoption(imported []wire.Object, obs *wire.Observed) ([]wire.Object, []wire.Key) {
	return cluster.NewView(obs).KeepalivedAdoption(imported)
}

func derivedSysctlsInSync(obs *wire.Observed, d *model.Director) bool {
	return cluster.NewView(obs).DerivedSysctlsInSync(d)
}
