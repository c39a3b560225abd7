package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestEngineSwitchKeepalivedToNetlinkTakesTheServiceOver(t *testing.T) {
	f, a, table := netlinkHost(t)
	rs := rsObj("192.168.0.21")
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rs}) // the fake keepalived programs it
	table.ResetCalls()

	resp := mustApply(t, a, []wire.Object{netlinkDirector(), vsObj(), rs})
	// keepalived's reload deletes the service (the fake does as keepalived
	// does); a persistent port-zero bridge on the VIP takes new
	// connections from before that until the service is programmed again,
	// then goes: the agent itself removes nothing else.
	var calls []string
	for _, c := range table.WriteCalls() {
		calls = append(calls, c.String())
		if (c.Method == "RemoveService" && c.Service.Port != 0) || c.Method == "RemoveDestination" {
			t.Errorf("the switch removed what it hands over: %v", table.WriteCalls())
		}
	}
	want := []string{
		"CreateService tcp/192.168.0.10:0", "CreateDestination 192.168.0.21:0 of tcp/192.168.0.10:0",
		"CreateService tcp/192.168.0.10:80", "CreateDestination 192.168.0.21:80 of tcp/192.168.0.10:80",
		"RemoveService tcp/192.168.0.10:0",
	}
	if !slices.Equal(calls, want) {
		t.Errorf("IPVS writes of the switch:\n  %s\nwant the bridge around the handover:\n  %s", strings.Join(calls, "\n  "), strings.Join(want, "\n  "))
	}
	for _, c := range table.WriteCalls() {
		if c.Method == "CreateService" && c.Service.Port == 0 &&
			(c.Service.Flags&kipvs.ServicePersistent == 0 || c.Service.Timeout != bridgeTimeout) {
			t.Errorf("bridge %+v: want persistent for %d s (the kernel schedules port zero only so)", c.Service, bridgeTimeout)
		}
	}
	if svcs, err := table.Services(); err != nil || len(svcs) != 1 {
		t.Errorf("the table after the switch: %v (%v), want the one service handed over", svcs, err)
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
