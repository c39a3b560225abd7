package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestEngineSwitchKeepalivedToNetlinkTakesTheServiceOver(t *testing.T) {
	f, a, table := netlinkHost(t)
	rs := rsObj("192.168.0.21")
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rs}) // the fake keepalived programs it
	table.ResetCalls()

	resp := mustApply(t, a, []wire.Object{netlinkDirector(), vsObj(), rs})
	for _, c := range table.WriteCalls() {
		if c.Method == "RemoveService" || c.Method == "RemoveDestination" {
			t.Errorf("the switch removed what it hands over: %v", table.WriteCalls())
		}
	}
	var ours int
	for _, s := range resp.Observed.IPVS {
		if s.Ours && len(s.Destinations) == 1 {
			ours++
		}
	}
	if ours != 1 {
		t.Errorf("observed %+v, want the service ours with its destination", resp.Observed.IPVS)
	}
	if _, err := os.Stat(filepath.Join(f.root, ipvsOwnedFile)); err != nil {
		t.Errorf("the netlink engine did not record the service it took over: %v", err)
	}
}

func TestEngineSwitchNetlinkToKeepalivedLeavesTheServiceToKeepalived(t *testing.T) {
	f, a, table := netlinkHost(t)
	rs := rsObj("192.168.0.21")
	mustApply(t, a, []wire.Object{netlinkDirector(), vsObj(), rs})
	if _, err := os.Stat(filepath.Join(f.root, ipvsOwnedFile)); err != nil {
		t.Fatalf("netlink engine recorded nothing: %v", err)
	}
	table.ResetCalls()

	resp := mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rs})
	if w := table.WriteCalls(); len(w) != 0 {
		t.Errorf("the switch wrote IPVS %v, want none: keepalived takes the service as it is", w)
	}
	if _, err := os.Stat(filepath.Join(f.root, ipvsOwnedFile)); !os.IsNotExist(err) {
		t.Errorf("the ownership record still lists keepalived's service (stat: %v)", err)
	}
	if len(resp.Observed.IPVS) != 1 || !resp.Observed.IPVS[0].Ours {
		t.Errorf("observed %+v, want the service, keepalived's (ours)", resp.Observed.IPVS)
	}
}
