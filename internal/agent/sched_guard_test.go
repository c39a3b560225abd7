package agent

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fakeGuard records what the agent asked of the scheduler guard.
type fakeGuard struct {
	calls []string
	opens int
}

func (g *fakeGuard) Guard(rules []model.FwmarkRule) error {
	g.calls = append(g.calls, fmt.Sprintf("guard %v", rules))
	return nil
}
func (g *fakeGuard) Unguard() error { g.calls = append(g.calls, "unguard"); return nil }
func (g *fakeGuard) Close() error   { return nil }

func schedVS(sched string) wire.Object {
	o := vsObj()
	o.VirtualServer.Scheduler = sched
	return o
}

// TestSchedulerChangeIsGuardedUntilKeepalivedIsDone: an apply that
// changes a service's scheduler puts the guard on that VIP:port before
// IPVS changes and takes it away after keepalived's reload; an apply that
// changes anything else never opens nftables; a guard left by an
// interrupted apply is taken away by the next one.
func TestSchedulerChangeIsGuardedUntilKeepalivedIsDone(t *testing.T) {
	f, a := newFakeHost(t)
	g := &fakeGuard{}
	a.Guards = func() (Guard, error) { g.opens++; return g, nil }
	mustApply(t, a, []wire.Object{directorObj(100), schedVS("wrr"), rsObj("192.168.0.21")})
	if g.opens != 0 {
		t.Fatalf("a create opened the guard: %v", g.calls)
	}
	mustApply(t, a, []wire.Object{schedVS("wlc")})
	want := []string{"guard [daddr 192.168.0.10/32 tcp dport 80 mark 0]", "unguard"}
	if !reflect.DeepEqual(g.calls, want) {
		t.Errorf("scheduler change: guard calls %q, want %q", g.calls, want)
	}
	if _, err := os.Stat(filepath.Join(f.root, guardFile)); !os.IsNotExist(err) {
		t.Errorf("the guard file outlived the apply: %v", err)
	}
	// A weight change: no guard.
	g.calls, g.opens = nil, 0
	rs := rsObj("192.168.0.21")
	w := 3
	rs.RealServer.Weight = &w
	mustApply(t, a, []wire.Object{rs})
	if g.opens != 0 {
		t.Errorf("a weight change opened the guard: %v", g.calls)
	}
	// An interrupted apply left its guard: the next apply removes it.
	if err := writeAtomic(filepath.Join(f.root, guardFile), []byte("1 services\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustApply(t, a, nil)
	if !reflect.DeepEqual(g.calls, []string{"unguard"}) {
		t.Errorf("after an interrupted apply: guard calls %q, want [unguard]", g.calls)
	}
	if _, err := os.Stat(filepath.Join(f.root, guardFile)); !os.IsNotExist(err) {
		t.Errorf("the leftover guard file is still there: %v", err)
	}
}

func TestSchedulerChangesMatchesOnlyChangedAddressServices(t *testing.T) {
	a4 := netip.MustParseAddr("10.0.0.10")
	a6 := netip.MustParseAddr("2001:db8::10")
	cfg := func(sched string) *hostConfig {
		return &hostConfig{keepalived: &model.KeepalivedConfig{VirtualServers: []model.VirtualServer{
			{Address: a4, Port: 80, Scheduler: sched},
			{Address: a4, Port: 53, Protocol: "udp", Scheduler: sched},
			{Address: a6, Port: 443, Scheduler: sched},
			{Address: a4, Port: 8080, Scheduler: "rr"},
			{Fwmark: 7, Scheduler: sched},
		}}}
	}
	got := schedulerChanges(cfg("wrr"), cfg("sh"))
	want := []model.FwmarkRule{
		{Destination: netip.MustParsePrefix("10.0.0.10/32"), Protocol: "udp", Port: 53},
		{Destination: netip.MustParsePrefix("10.0.0.10/32"), Protocol: "tcp", Port: 80},
		{Destination: netip.MustParsePrefix("2001:db8::10/128"), Protocol: "tcp", Port: 443},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got %v\nwant %v", got, want)
	}
	if got := schedulerChanges(cfg("wrr"), cfg("wrr")); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
	// An engine switch guards every address service, changed or not.
	netlink := cfg("wrr")
	netlink.keepalived.Director.Engine = "netlink"
	if got := schedulerChanges(cfg("wrr"), netlink); len(got) != 4 {
		t.Errorf("engine switch: %v, want the 4 address services", got)
	}
	if got := schedulerChanges(nil, cfg("wrr")); len(got) != 0 {
		t.Errorf("first apply: %v", got)
	}
	// wlc is the default: unset and wlc are the same scheduler.
	if got := schedulerChanges(cfg(""), cfg("wlc")); len(got) != 0 {
		t.Errorf("unset to wlc: %v", got)
	}
}
