package agent

import (
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestKeepalivedWeightsChangedByHandArePutBack(t *testing.T) {
	_, a, table := netlinkHost(t)
	vsO, up, down := vsObj(), rsObj("192.168.0.21"), rsObj("192.168.0.22")
	vs := *vsO.VirtualServer
	svc, err := ipvs.ServiceOf(&vs)
	if err != nil {
		t.Fatal(err)
	}
	// As keepalived programmed it, then: .21's weight edited by hand to 9,
	// .22 inhibited to 0 by its failed health check.
	edited := ipvs.DestinationOf(&vs, up.RealServer)
	edited.Weight = 9
	inhibited := ipvs.DestinationOf(&vs, down.RealServer)
	inhibited.Weight = 0
	table.Seed(svc, edited, inhibited)

	resp := mustApply(t, a, []wire.Object{directorObj(100), vsO, up, down})
	var updates []string
	for _, c := range table.WriteCalls() {
		updates = append(updates, c.String())
	}
	if len(updates) != 1 || resp.Applied.Netlink != 1 {
		t.Fatalf("netlink writes %v (reported %d), want one weight update", updates, resp.Applied.Netlink)
	}
	got, err := ipvs.Read(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got[0].Destinations {
		want := uint32(1)
		if ipvs.DestinationKey(d.Destination) == "192.168.0.22:80" {
			want = 0 // health, not drift: keepalived's
		}
		if d.Weight != want {
			t.Errorf("%s weight %d, want %d", ipvs.DestinationKey(d.Destination), d.Weight, want)
		}
	}
	// In sync: nothing to write.
	table.ResetCalls()
	mustApply(t, a, []wire.Object{vsO})
	if w := table.WriteCalls(); len(w) != 0 {
		t.Errorf("an apply with the weights in sync wrote %v", w)
	}
}
