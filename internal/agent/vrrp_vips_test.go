package agent

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

var vip10 = netip.MustParsePrefix("192.168.0.10/24")

func observeFake(t *testing.T, a *Agent) *wire.Observed {
	t.Helper()
	resp, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve, LockTimeoutSeconds: 1})
	if code != wire.ExitOK {
		t.Fatalf("observe: exit %d: %v", code, resp.Error)
	}
	return resp.Observed
}

// A VIP removed from the MASTER in a way keepalived did not see is
// reported, and the next apply puts it back without touching keepalived.
func TestVIPRemovedFromMasterIsReportedAndRepaired(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	if obs := observeFake(t, a); obs.Keepalived.VRRP["VI_1"] != "MASTER" || obs.Keepalived.MissingVIPs != nil {
		t.Fatalf("after the apply: vrrp %v, missing %v", obs.Keepalived.VRRP, obs.Keepalived.MissingVIPs)
	}

	// ip addr del, and keepalived missed the netlink event.
	if _, err := f.addrs.Remove("eth0", vip10); err != nil {
		t.Fatal(err)
	}
	obs := observeFake(t, a)
	if want := map[string][]string{"VI_1": {"192.168.0.10/24"}}; !reflect.DeepEqual(obs.Keepalived.MissingVIPs, want) {
		t.Fatalf("missing VIPs %v, want %v", obs.Keepalived.MissingVIPs, want)
	}
	if !obs.Keepalived.ConfigMatches || !obs.Keepalived.Running {
		t.Errorf("keepalived %+v: only the VIP is amiss", obs.Keepalived)
	}

	f.take()
	resp := mustApply(t, a, []wire.Object{directorObj(100)})
	if resp.Applied.Netlink != 1 || resp.Applied.Reloads["keepalived"] != 0 {
		t.Errorf("repair: %d netlink ops, reloads %v; want 1 and none", resp.Applied.Netlink, resp.Applied.Reloads)
	}
	if _, signals := f.take(); slices.ContainsFunc(signals, func(s string) bool { return !strings.HasSuffix(s, " signal 36") }) {
		t.Errorf("keepalived was signalled %v; only its JSON dump may be asked for (no reload, no restart)", signals)
	}
	if list, _ := f.addrs.List("eth0"); !slices.Contains(list, vip10) {
		t.Errorf("eth0 %v: the VIP was not put back", list)
	}
	if m := resp.Observed.Keepalived.MissingVIPs; m != nil {
		t.Errorf("after the repair still missing %v", m)
	}
	if resp := mustApply(t, a, []wire.Object{directorObj(100)}); resp.Applied.Netlink != 0 {
		t.Errorf("an apply with nothing missing made %d netlink ops", resp.Applied.Netlink)
	}
}

// BACKUP and FAULT instances hold no VIPs: keepalived removed them, and
// the agent must not put them back.
func TestVIPsOfBackupAreNeitherReportedNorAdded(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	if _, err := f.addrs.Remove("eth0", vip10); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"1", "3"} {
		f.vrrpDump = `[{"data":{"iname":"VI_1","state":` + state + `}}]`
		if obs := observeFake(t, a); obs.Keepalived.MissingVIPs != nil {
			t.Errorf("state %s: missing VIPs %v reported", state, obs.Keepalived.MissingVIPs)
		}
		resp := mustApply(t, a, []wire.Object{directorObj(100)})
		if list, _ := f.addrs.List("eth0"); slices.Contains(list, vip10) || resp.Applied.Netlink != 0 {
			t.Errorf("state %s: the apply put the VIP on a non-MASTER (eth0 %v, %d netlink ops)", state, list, resp.Applied.Netlink)
		}
	}
}

// The repair is a step of the apply: a later step failing takes the
// re-added VIP off again, leaving the host as it was.
func TestVIPRepairIsUndoneWhenALaterStepFails(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, append([]wire.Object{directorObj(100)}, haproxyObjs(80)...))
	if _, err := f.addrs.Remove("eth0", vip10); err != nil {
		t.Fatal(err)
	}
	f.dieOnSignal["haproxy"] = true
	resp, code := apply(t, a, append([]wire.Object{directorObj(100)}, haproxyObjs(81)...))
	if code != wire.ExitFailed || resp.Error.Step != "reload haproxy" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if list, _ := f.addrs.List("eth0"); slices.Contains(list, vip10) {
		t.Errorf("eth0 %v: the VIP the failed apply re-added stayed", list)
	}
}

func TestVIPTargetsDeviceAndLabel(t *testing.T) {
	d := &model.Director{Interface: "eth0", Instances: []model.VRRPInstance{
		{Name: "A", VirtualIPs: []model.VirtualIP{{Prefix: vip10}, {Prefix: netip.MustParsePrefix("10.0.0.1/32"), Device: "lo"}}},
		{Name: "B", Interface: "eth1", VirtualIPs: []model.VirtualIP{{Prefix: netip.MustParsePrefix("10.1.0.1/24"), Label: "eth1:7"}, {Prefix: netip.MustParsePrefix("10.1.0.2/24"), Label: "odd"}}},
	}}
	got := vipTargets(d)
	want := []vipTarget{
		{instance: "A", prefix: vip10, dev: "eth0", ensureDev: "eth0"},
		{instance: "A", prefix: netip.MustParsePrefix("10.0.0.1/32"), dev: "lo", ensureDev: "lo"},
		{instance: "B", prefix: netip.MustParsePrefix("10.1.0.1/24"), dev: "eth1", ensureDev: "eth1:7"},
		{instance: "B", prefix: netip.MustParsePrefix("10.1.0.2/24"), dev: "eth1", ensureDev: "eth1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vipTargets\n got %+v\nwant %+v", got, want)
	}
	m := &fakeAddrs{devs: map[string][]netip.Prefix{"eth0": {vip10}, "lo": nil}}
	miss := missingVIPs(m, d, map[string]string{"A": "MASTER", "B": "MASTER"})
	if w := map[string][]string{"A": {"10.0.0.1/32"}}; !reflect.DeepEqual(byInstance(miss), w) {
		t.Errorf("missing %v, want %v (eth1 cannot be listed: keepalived faults B)", byInstance(miss), w)
	}
}
