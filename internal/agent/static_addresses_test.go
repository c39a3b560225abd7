package agent

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// staticDirector is a single director without VRRP whose VIP is a static
// address, with the given engine.
func staticDirector(engine string, prefixes ...string) wire.Object {
	d := &model.Director{Interface: "eth0", RouterID: "single", Engine: engine}
	for _, p := range prefixes {
		d.StaticAddresses = append(d.StaticAddresses, model.StaticAddress{Prefix: netip.MustParsePrefix(p)})
	}
	return wire.Object{Key: directorKey, Director: d}
}

// TestStaticAddressesAreTheAgentsForBothEngines: the agent puts a
// director's static addresses on their device itself (keepalived.conf
// carries no static_ipaddress, so a keepalived restart does not take them
// away), reports them observed, puts back one removed by hand at the next
// apply, installs the boot hook for them, and removes exactly them with
// the director.
func TestStaticAddressesAreTheAgentsForBothEngines(t *testing.T) {
	for _, engine := range []string{"keepalived", "netlink"} {
		t.Run(engine, func(t *testing.T) {
			f, a := bootHost(t)
			vip := netip.MustParsePrefix("192.168.0.10/24")
			resp := mustApply(t, a, []wire.Object{staticDirector(engine, "192.168.0.10/24")})
			if !slices.Contains(f.addrs.devs["eth0"], vip) || resp.Applied.Netlink < 1 {
				t.Fatalf("eth0 = %v, netlink ops %d", f.addrs.devs["eth0"], resp.Applied.Netlink)
			}
			if !slices.Contains(resp.Observed.Addresses, model.HostAddress{Prefix: vip, Device: "eth0", Scope: "global"}) {
				t.Errorf("observed %v lacks %s on eth0", resp.Observed.Addresses, vip)
			}
			if conf, err := os.ReadFile(filepath.Join(f.root, KeepalivedConf)); err == nil && strings.Contains(string(conf), "static_ipaddress") {
				t.Errorf("keepalived.conf carries the agent's static address:\n%s", conf)
			}
			if _, err := os.Lstat(filepath.Join(f.root, CurrentLink)); err != nil {
				t.Errorf("no boot hook for the static address: %v", err)
			}

			// Removed by hand: the next apply of the same director puts it back.
			f.addrs.devs["eth0"] = slices.DeleteFunc(f.addrs.devs["eth0"], func(p netip.Prefix) bool { return p == vip })
			mustApply(t, a, []wire.Object{staticDirector(engine, "192.168.0.10/24")})
			if !slices.Contains(f.addrs.devs["eth0"], vip) {
				t.Errorf("after a hand removal and an apply: eth0 = %v", f.addrs.devs["eth0"])
			}

			mustApply(t, a, nil, directorKey)
			if got := f.addrs.devs["eth0"]; !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("192.168.0.21/24")}) {
				t.Errorf("after deleting the director: eth0 = %v, want only its own address", got)
			}
		})
	}
}

// TestStaticAddressScope: a static address with a scope is put on its
// device at that scope and observed with it; one whose scope was changed
// by hand is put back at its scope by the next apply; an address the
// agent recorded before scopes existed (an older agent's addresses.json)
// is the same address, not one to remove.
func TestStaticAddressScope(t *testing.T) {
	f, a := bootHost(t)
	vip := netip.MustParsePrefix("192.168.0.10/24")
	linkDirector := staticDirector("netlink", "192.168.0.10/24")
	linkDirector.Director.StaticAddresses[0].Scope = "link"
	resp := mustApply(t, a, []wire.Object{linkDirector})
	if f.addrs.scopes[vip] != "link" {
		t.Fatalf("scope of %s = %q, want link", vip, f.addrs.scopes[vip])
	}
	if !slices.Contains(resp.Observed.Addresses, model.HostAddress{Prefix: vip, Device: "eth0", Scope: "link"}) {
		t.Errorf("observed %v, want %s on eth0 at scope link", resp.Observed.Addresses, vip)
	}

	delete(f.addrs.scopes, vip) // `ip addr del`, then `ip addr add` without a scope: global
	got, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve, LockTimeoutSeconds: 1})
	if code != wire.ExitOK || got.Observed == nil {
		t.Fatalf("observe: exit %d: %v", code, got.Error)
	}
	if obs := got.Observed; !slices.Contains(obs.Addresses, model.HostAddress{Prefix: vip, Device: "eth0", Scope: "global"}) {
		t.Errorf("after a hand change, observed %v, want %s at scope global (drift)", got.Observed.Addresses, vip)
	}
	resp = mustApply(t, a, []wire.Object{linkDirector})
	if f.addrs.scopes[vip] != "link" || resp.Applied.Netlink != 1 {
		t.Errorf("after the apply: scope %q, %d netlink ops; want link, one", f.addrs.scopes[vip], resp.Applied.Netlink)
	}

	// Back to the default scope: the address is re-added at global.
	mustApply(t, a, []wire.Object{staticDirector("netlink", "192.168.0.10/24")})
	if _, set := f.addrs.scopes[vip]; set || !slices.Contains(f.addrs.devs["eth0"], vip) {
		t.Errorf("scope unset: eth0 %v, scopes %v; want %s at global", f.addrs.devs["eth0"], f.addrs.scopes, vip)
	}

	// What an agent before scopes recorded: the same address, no scope.
	st, _, err := a.loadAddrState()
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Addresses {
		st.Addresses[i].Scope = ""
	}
	if err := a.saveAddrState(st); err != nil {
		t.Fatal(err)
	}
	resp = mustApply(t, a, []wire.Object{staticDirector("netlink", "192.168.0.10/24")})
	if !slices.Contains(f.addrs.devs["eth0"], vip) || resp.Applied.Netlink != 0 {
		t.Errorf("with an older record: eth0 %v, %d netlink ops; want %s kept, none", f.addrs.devs["eth0"], resp.Applied.Netlink, vip)
	}
}
