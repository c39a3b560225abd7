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
			if !slices.Contains(resp.Observed.Addresses, model.HostAddress{Prefix: vip, Device: "eth0"}) {
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
