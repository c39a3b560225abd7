package integration

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	lvsagent "github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The VM tests drive the real agent in a VM whose kernel has IPVS (the
// machine's has none), the way the provider does: installed and called by
// an agentbin.Deployer over a transport.Pool with the VM's SSH settings.
// Each test function boots one VM; its subtests run in order on it, each
// building on the state the one before left.

// The VM's eth0 is qemu's user network, 10.0.2.15/24; IPVS needs no
// address of the VIPs or the real servers to program them.
var (
	vmVIP      = netip.MustParseAddr("10.0.2.100")
	vmVRRPVIP  = netip.MustParsePrefix("10.0.2.250/24")
	vmForeign  = "tcp/10.0.2.200:443"
	vmForeignA = "-A -t 10.0.2.200:443 -s rr"
	vmForeignD = "-a -t 10.0.2.200:443 -r 10.0.2.201:443 -g -w 5"
)

// vmNetlinkDirector runs VRRP only (keepalived) and leaves IPVS to the
// agent's netlink engine.
func vmNetlinkDirector(iface string) wire.Object {
	return vmDirector(model.Director{
		Interface: "eth0", RouterID: "vmnl", Engine: "netlink",
		// Exists only once ip_vs is loaded: at boot, nothing has loaded it
		// before the restore sets it.
		Sysctls: []model.Sysctl{{Key: "net.ipv4.vs.expire_nodest_conn", Value: "1"}},
		Instances: []model.VRRPInstance{{
			Name: "VI_1", Interface: iface, State: "MASTER", VirtualRouterID: 61, Priority: 150, AdvertInt: 1,
			VirtualIPs: []model.VirtualIP{{Prefix: vmVRRPVIP}},
		}},
	})
}

// TestVMNetlinkEngine: the netlink engine on a real IPVS kernel, a bad
// keepalived config that leaves everything as it was, and the restore at
// boot after a real reboot.
func TestVMNetlinkEngine(t *testing.T) {
	vm.Require(t)
	bins := vmAgentBinaries(t)
	h := vmStart(t, "lvs-netlink", bins)

	web := model.VirtualServer{Address: vmVIP, Port: 80, Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "dr"}
	fw := model.VirtualServer{Fwmark: 7, Scheduler: "rr", ForwardingMethod: "dr", PersistenceTimeout: 300}
	rs1 := model.RealServer{Address: netip.MustParseAddr("10.0.2.101"), Weight: vmIntPtr(1)}
	rs2 := model.RealServer{Address: netip.MustParseAddr("10.0.2.102"), Weight: vmIntPtr(2)}
	rs3 := model.RealServer{Address: netip.MustParseAddr("10.0.2.103"), Weight: vmIntPtr(1)}
	objs := []wire.Object{
		vmNetlinkDirector("eth0"),
		vmVirtualServer(web), vmRealServer(web, rs1), vmRealServer(web, rs2),
		vmVirtualServer(fw), vmRealServer(fw, rs3),
	}

	// The kernel table as the objects want it, with the foreign service.
	var foreign []model.VirtualServer

	t.Run("apply", func(t *testing.T) {
		h.t = t
		h.sh("ipvsadm " + vmForeignA + " && ipvsadm " + vmForeignD)
		foreign = h.kernelIPVS()
		if len(foreign) != 1 || foreign[0].Key() != vmForeign {
			t.Fatalf("hand-made service: ipvsadm-save shows %s", vmJSON(foreign))
		}
		resp := h.apply(objs)
		if resp.Applied.Netlink == 0 {
			t.Errorf("first apply reported no netlink requests: %+v", resp.Applied)
		}
		kernel := h.kernelIPVS()
		vmSameTable(t, "observe after apply against ipvsadm-save -n", vmObservedIPVS(resp.Observed), kernel)
		vmSameTable(t, "observe against ipvsadm-save -n", vmObservedIPVS(h.observe()), kernel)
		got, ok := vmService(kernel, web.Key())
		if !ok || len(got.RealServers) != 2 || got.Scheduler != "wrr" || got.ForwardingMethod != "dr" ||
			got.RealServers[1].EffectiveWeight() != 2 {
			t.Errorf("kernel service %s = %s", web.Key(), vmJSON(got))
		}
		got, ok = vmService(kernel, fw.Key())
		if !ok || len(got.RealServers) != 1 || got.PersistenceTimeout != 300 {
			t.Errorf("kernel service %s = %s", fw.Key(), vmJSON(got))
		}
		f, _ := vmService(kernel, vmForeign)
		vmSameTable(t, "the foreign service after apply", []model.VirtualServer{f}, foreign)
		for _, s := range resp.Observed.IPVS {
			if want := s.Service.Key() != vmForeign; s.Ours != want {
				t.Errorf("observe: %s ours = %v, want %v", s.Service.Key(), s.Ours, want)
			}
		}
		// The same objects again: nothing to do.
		if resp := h.apply(objs); resp.Applied.Netlink != 0 || len(resp.Applied.Changed) != 0 {
			t.Errorf("unchanged apply: %+v", resp.Applied)
		}
	})

	t.Run("one weight is one netlink update", func(t *testing.T) {
		h.t = t
		before := h.kernelIPVS()
		rs2.Weight = vmIntPtr(5)
		objs[3] = vmRealServer(web, rs2)
		resp := h.apply([]wire.Object{objs[3]})
		if resp.Applied.Netlink != 1 {
			t.Errorf("weight change: %d netlink requests, want exactly 1 (%+v)", resp.Applied.Netlink, resp.Applied)
		}
		if out := h.sh("ipvsadm -Ln -t 10.0.2.100:80"); !strings.Contains(out, "10.0.2.102:80") ||
			!regexpLine(out, "10.0.2.102:80", "Route", "5") {
			t.Errorf("ipvsadm -Ln does not show weight 5 for 10.0.2.102:\n%s", out)
		}
		after := h.kernelIPVS()
		vmSameTable(t, "observe against ipvsadm-save -n", vmObservedIPVS(resp.Observed), after)
		// Only that weight changed.
		want := vmSorted(before)
		for i := range want {
			if want[i].Key() == web.Key() {
				want[i].RealServers[1].Weight = vmIntPtr(5)
			}
		}
		vmSameTable(t, "table after the weight change", after, want)
	})

	t.Run("ipvsadm -Ln as the status formats it", func(t *testing.T) {
		h.t = t
		vmCheckList(t, h)
	})

	t.Run("bad keepalived config leaves everything", func(t *testing.T) {
		h.t = t
		// keepalived -t refuses an interface the host lacks; the model
		// cannot know the host's interfaces and accepts it.
		obs := h.observe()
		if obs.Keepalived == nil || !obs.Keepalived.Running || !obs.Keepalived.ConfigMatches {
			t.Fatalf("keepalived before: %+v", obs.Keepalived)
		}
		confBefore := h.sh("cat " + lvsagent.KeepalivedConf)
		pidBefore := h.sh("cat " + lvsagent.KeepalivedPid)
		tableBefore := h.kernelIPVS()
		rs1.Weight = vmIntPtr(9) // would be a netlink update, were the apply to run
		_, err := h.call(&wire.Request{Verb: wire.VerbApply, Put: []wire.Object{vmNetlinkDirector("eth9"), vmRealServer(web, rs1)}})
		if err == nil {
			t.Fatal("apply of a director on a missing interface succeeded")
		}
		we := vmAgentError(t, err)
		if we.Code != wire.ExitFailed || we.Step != "test keepalived config" || !strings.Contains(we.Detail, "eth9") {
			t.Errorf("refusal = %+v; want exit %d at the keepalived test naming eth9", we, wire.ExitFailed)
		}
		rs1.Weight = vmIntPtr(1)
		if got := h.sh("cat " + lvsagent.KeepalivedConf); got != confBefore {
			t.Errorf("keepalived.conf changed:\n%s", got)
		}
		if got := h.sh("cat " + lvsagent.KeepalivedPid); got != pidBefore {
			t.Errorf("keepalived pid %q, before %q", got, pidBefore)
		}
		vmSameTable(t, "IPVS table after the refused apply", h.kernelIPVS(), tableBefore)
		obs = h.observe()
		if !obs.Keepalived.Running || !obs.Keepalived.ConfigMatches {
			t.Errorf("keepalived after: %+v", obs.Keepalived)
		}
		if got := h.sh("ls /tmp /etc/keepalived"); strings.Contains(got, ".tmp-") {
			t.Errorf("temporary files left behind:\n%s", got)
		}
	})

	t.Run("delete one virtual server", func(t *testing.T) {
		h.t = t
		before := h.kernelIPVS()
		resp := h.apply(nil, objs[4].Key, objs[5].Key)
		after := h.kernelIPVS()
		vmSameTable(t, "table after deleting "+fw.Key(), after, vmWithout(before, fw.Key()))
		vmSameTable(t, "observe against ipvsadm-save -n", vmObservedIPVS(resp.Observed), after)
		objs = objs[:4]
	})

	t.Run("restore after reboot", func(t *testing.T) {
		h.t = t
		// Real-server side too: the VIP on lo with the ARP sysctls.
		rsh := wire.Object{Key: wire.Key{Kind: wire.KindRealServerHost, ID: "dr"},
			RealServerHost: &model.RealServerHost{Method: "dr", VIPs: []netip.Addr{netip.MustParseAddr("10.0.2.120")}}}
		objs = append(objs, rsh)
		resp := h.apply([]wire.Object{rsh})
		if !slices.Contains(resp.Applied.Files, lvsagent.CurrentLink) && !strings.Contains(h.sh("ls -l "+lvsagent.CurrentLink), "lvs-agent-"+vmAgentVersion) {
			t.Errorf("no link %s: files %q", lvsagent.CurrentLink, resp.Applied.Files)
		}
		if rc := h.sh("cat " + lvsagent.RCLocal); !strings.Contains(rc, lvsagent.CurrentLink+" restore") {
			t.Fatalf("/etc/rc.local has no restore line:\n%s", rc)
		}
		tableBefore := h.kernelIPVS()
		obsBefore := h.observe()
		loBefore := h.sh("ip -o addr show dev lo")
		if !strings.Contains(loBefore, "10.0.2.120/32") {
			t.Fatalf("VIP not on lo: %s", loBefore)
		}
		if obsBefore.Sysctls["net.ipv4.conf.all.arp_ignore"] != "1" || obsBefore.Sysctls["net.ipv4.vs.expire_nodest_conn"] != "1" {
			t.Fatalf("sysctls before: %v", obsBefore.Sysctls)
		}
		bootID := h.sh("cat /proc/sys/kernel/random/boot_id")

		if err := h.vm.Reboot(vmContext(t)); err != nil {
			t.Fatal(err)
		}
		t.Logf("reboot to SSH took %v", h.vm.BootTime.Round(100*time.Millisecond))
		if h.sh("cat /proc/sys/kernel/random/boot_id") == bootID {
			t.Fatal("the VM did not reboot")
		}
		var restore wire.Response
		out := h.sh("cat " + lvsagent.RestoreLog)
		if err := json.Unmarshal([]byte(out), &restore); err != nil || restore.Error != nil || restore.Applied == nil {
			t.Fatalf("the boot hook's restore: %v\n%s", err, out)
		}
		t.Logf("restore at boot: %+v", restore.Applied)
		// The hand-made service was never ours to restore.
		vmSameTable(t, "IPVS table after reboot", h.kernelIPVS(), vmWithout(tableBefore, vmForeign))
		if got := h.sh("ip -o addr show dev lo"); got != loBefore {
			t.Errorf("lo after reboot:\n%s\nbefore:\n%s", got, loBefore)
		}
		obs := h.observe()
		if vmJSON(obs.Sysctls) != vmJSON(obsBefore.Sysctls) {
			t.Errorf("sysctls after reboot %v, before %v", obs.Sysctls, obsBefore.Sysctls)
		}
		if !obs.Keepalived.Running || !obs.Keepalived.ConfigMatches {
			t.Errorf("keepalived after reboot: %+v", obs.Keepalived)
		}
		vmSameTable(t, "observe after reboot against ipvsadm-save -n", vmObservedIPVS(obs), h.kernelIPVS())
	})

	t.Run("the last object takes the hook away", func(t *testing.T) {
		h.t = t
		// The foreign service again (the reboot took it), to prove the
		// deletes leave it.
		h.sh("ipvsadm " + vmForeignA + " && ipvsadm " + vmForeignD)
		var keys []wire.Key
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		h.apply(nil, keys...)
		vmSameTable(t, "table after deleting everything", h.kernelIPVS(), foreign)
		if out := h.sh("ls " + lvsagent.RCLocal + " " + lvsagent.CurrentLink + " 2>&1 || true"); !strings.Contains(out, "No such file") ||
			strings.Count(out, "No such file") != 2 {
			t.Errorf("boot hook left behind: %s", out)
		}
		if got := h.sh("ip -o addr show dev lo"); strings.Contains(got, "10.0.2.120") {
			t.Errorf("VIP left on lo: %s", got)
		}
	})
}

// regexpLine reports whether a line of out holds every field, in order.
func regexpLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		i := 0
		for _, w := range f {
			if i < len(fields) && w == fields[i] {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}

// TestVMKeepalivedEngine: keepalived programs IPVS from a virtual_server
// and its health checks decide which destinations are in the table; the
// agent reports that as it is, and an unchanged apply neither reloads
// keepalived nor touches the table.
func TestVMKeepalivedEngine(t *testing.T) {
	vm.Require(t)
	bins := vmAgentBinaries(t)
	h := vmStart(t, "lvs-keepalived", bins)

	// A TCP listener at 10.0.2.15:8081; nothing on 8082.
	h.sh("mkdir -p /tmp/www && { busybox httpd -f -p 10.0.2.15:8081 -h /tmp/www </dev/null >/dev/null 2>&1 & echo $! >/tmp/httpd.pid; }")
	vs := model.VirtualServer{Address: vmVIP, Port: 80, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "nat",
		DelayLoop: 2, ConnectTimeout: 1, Retry: 1, DelayBeforeRetry: 1}
	up := model.RealServer{Address: netip.MustParseAddr("10.0.2.15"), Port: 8081, Weight: vmIntPtr(3), TCPCheck: &model.TCPCheck{}}
	down := model.RealServer{Address: netip.MustParseAddr("10.0.2.15"), Port: 8082, Weight: vmIntPtr(3), TCPCheck: &model.TCPCheck{}}
	objs := []wire.Object{
		vmDirector(model.Director{Interface: "eth0", RouterID: "vmka"}),
		vmVirtualServer(vs), vmRealServer(vs, up), vmRealServer(vs, down),
	}
	resp := h.apply(objs)
	if resp.Applied.Reloads["keepalived"] != 1 || resp.Applied.Netlink != 0 {
		t.Errorf("apply: %+v; want one keepalived start and no netlink requests", resp.Applied)
	}

	healthy := func(obs *wire.Observed) (bool, string) {
		for _, s := range obs.IPVS {
			if s.Service.Key() != vs.Key() {
				continue
			}
			var live []string
			for _, d := range s.Destinations {
				if d.Weight > 0 {
					live = append(live, d.Key)
				}
			}
			return s.Ours && slices.Equal(live, []string{"10.0.2.15:8081"}), vmJSON(obs.IPVS)
		}
		return false, vmJSON(obs.IPVS)
	}
	vmEventually(t, 90*time.Second, "keepalived's checks: 8081 in the table, 8082 out", func() (bool, string) {
		return healthy(h.observe())
	})
	obs := h.observe()
	if !obs.Keepalived.Running || !obs.Keepalived.ConfigOurs || !obs.Keepalived.ConfigMatches {
		t.Errorf("keepalived: %+v", obs.Keepalived)
	}
	vmSameTable(t, "observe against ipvsadm-save -n", vmObservedIPVS(obs), h.kernelIPVS())
	got, _ := vmService(h.kernelIPVS(), vs.Key())
	if got.ForwardingMethod != "nat" || got.Scheduler != "wlc" {
		t.Errorf("kernel service %s", vmJSON(got))
	}

	// A failing check is status, not drift: applying the same objects
	// changes nothing and keepalived is not reloaded.
	table := h.kernelIPVS()
	resp = h.apply(objs)
	if resp.Applied.Reloads["keepalived"] != 0 || len(resp.Applied.Changed) != 0 || resp.Applied.Netlink != 0 {
		t.Errorf("unchanged apply: %+v", resp.Applied)
	}
	vmSameTable(t, "table after an unchanged apply", h.kernelIPVS(), table)

	// The listener goes away: keepalived takes 8081 out, the agent says so.
	h.sh("kill $(cat /tmp/httpd.pid)")
	vmEventually(t, 90*time.Second, "both real servers failing: none in the table", func() (bool, string) {
		obs := h.observe()
		for _, s := range obs.IPVS {
			if s.Service.Key() == vs.Key() {
				for _, d := range s.Destinations {
					if d.Weight > 0 {
						return false, vmJSON(obs.IPVS)
					}
				}
				return true, ""
			}
		}
		return false, vmJSON(obs.IPVS)
	})
}
