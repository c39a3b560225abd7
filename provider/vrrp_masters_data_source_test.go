package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func directorObs(vrrp map[string]string, running bool, instances ...model.VRRPInstance) *wire.Observed {
	return &wire.Observed{
		Objects:    []wire.Object{{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &model.Director{Instances: instances}}},
		Keepalived: &wire.DaemonState{Running: running, VRRP: vrrp},
	}
}

func TestCountMasters(t *testing.T) {
	vi1 := model.VRRPInstance{Name: "VI_1", VirtualRouterID: 51}
	vi2 := model.VRRPInstance{Name: "VI_2", VirtualRouterID: 52}
	hosts := []string{"dir1", "dir2", "dir3"}
	obs := []*wire.Observed{
		directorObs(map[string]string{"VI_1": "MASTER", "VI_2": "BACKUP"}, true, vi1, vi2),
		directorObs(map[string]string{"VI_1": "MASTER", "VI_2": "MASTER"}, true, vi1, vi2),
		directorObs(nil, false, vi1, vi2), // keepalived stopped
	}
	got := countMasters(hosts, obs, nil)
	want := []vrrpInstanceMaster{{
		Name: str("VI_1"), VirtualRouterID: num(51), Masters: num(2),
		MasterHosts: []types.String{str("dir1"), str("dir2")},
		States:      map[string]string{"dir1": "MASTER", "dir2": "MASTER", "dir3": "NONE"},
	}, {
		Name: str("VI_2"), VirtualRouterID: num(52), Masters: num(1),
		MasterHosts: []types.String{str("dir2")},
		States:      map[string]string{"dir1": "BACKUP", "dir2": "MASTER", "dir3": "NONE"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("countMasters (-want +got):\n%s", d)
	}

	// Named instances: only those, and one no host runs counts no master.
	got = countMasters(hosts, obs, []string{"VI_9", "VI_2", "VI_2"})
	if len(got) != 2 || got[0].Name.ValueString() != "VI_2" || got[1].Name.ValueString() != "VI_9" {
		t.Fatalf("named instances: %+v", got)
	}
	if got[1].Masters.ValueInt64() != 0 || !got[1].VirtualRouterID.IsNull() || got[1].States["dir1"] != "NONE" {
		t.Fatalf("unknown instance: %+v", got[1])
	}
}
