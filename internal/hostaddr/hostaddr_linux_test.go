package hostaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// unavailable skips t with a loud reason, or fails it when CI is set: CI
// runs as root with every tool, so a missing one there is a broken pipeline.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skipf("SKIPPED, NOT TESTED: %s (CI fails here)", reason)
}

// testNetns makes a named network namespace (so that the real ip tool can
// check it with -n), returns a Manager in it and its name, and removes it
// when the test ends. The test's own thread goes back to its namespace at
// once: only the Manager's netlink sockets live in the new one.
func testNetns(t *testing.T) (*Manager, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the test needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable(t, "ip (iproute2) is not installed")
	}
	name := fmt.Sprintf("lvs-hostaddr-test-%d", os.Getpid())
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	ns, err := netns.NewNamed(name) // also switches this thread into it
	if serr := netns.Set(orig); serr != nil {
		t.Fatalf("returning to the original namespace: %v", serr) // the thread stays locked, and dies with the test
	}
	orig.Close()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	ns.Close()
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	m, err := OpenNetns("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, name
}

// ipShow runs ip in the namespace: the real tool's view, independent of List.
func ipShow(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
	return string(out)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestVIPOnLoopback(t *testing.T) {
	m, ns := testNetns(t)
	if changed, err := m.Up("lo"); err != nil || !changed {
		t.Fatalf("Up(lo) = %v, %v; a new namespace's lo is down", changed, err)
	}
	if changed, err := m.Up("lo"); err != nil || changed {
		t.Errorf("second Up(lo) = %v, %v; want no change", changed, err)
	}
	for _, vip := range []netip.Prefix{pfx("10.0.0.10/32"), pfx("2001:db8::10/128")} {
		if added, err := m.Ensure("lo", vip); err != nil || !added {
			t.Fatalf("Ensure(lo, %s) = %v, %v", vip, added, err)
		}
		if added, err := m.Ensure("lo", vip); err != nil || added {
			t.Errorf("second Ensure(lo, %s) = %v, %v; want no change and no error", vip, added, err)
		}
	}
	have, err := m.List("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []netip.Prefix{pfx("127.0.0.1/8"), pfx("10.0.0.10/32"), pfx("2001:db8::10/128")} {
		if !slices.Contains(have, want) {
			t.Errorf("List(lo) = %v, missing %s", have, want)
		}
	}
	if out := ipShow(t, ns, "addr", "show", "dev", "lo"); !strings.Contains(out, "inet 10.0.0.10/32") || !strings.Contains(out, "inet6 2001:db8::10/128") {
		t.Errorf("ip addr show dev lo does not show the VIPs:\n%s", out)
	}
	if removed, err := m.Remove("lo", pfx("10.0.0.10/32")); err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if removed, err := m.Remove("lo", pfx("10.0.0.10/32")); err != nil || removed {
		t.Errorf("second Remove = %v, %v; want no change and no error", removed, err)
	}
	if out := ipShow(t, ns, "addr", "show", "dev", "lo"); strings.Contains(out, "10.0.0.10") || !strings.Contains(out, "2001:db8::10") {
		t.Errorf("after removing the IPv4 VIP, ip addr show dev lo:\n%s", out)
	}
}

func TestLabelsAndMissingDevices(t *testing.T) {
	m, ns := testNetns(t)
	if err := m.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure("eth0", pfx("192.168.50.1/24")); err != nil {
		t.Fatal(err)
	}
	if added, err := m.Ensure("eth0:1", pfx("192.168.50.10/24")); err != nil || !added {
		t.Fatalf("Ensure(eth0:1) = %v, %v", added, err)
	}
	if out := ipShow(t, ns, "addr", "show", "dev", "eth0"); !strings.Contains(out, "192.168.50.10/24") || !strings.Contains(out, "eth0:1") {
		t.Errorf("labelled address missing:\n%s", out)
	}
	if got, _ := m.List("eth0:1"); !slices.Equal(got, []netip.Prefix{pfx("192.168.50.10/24")}) {
		t.Errorf("List(eth0:1) = %v, want the labelled address only", got)
	}
	if _, err := m.Ensure("eth0:2", pfx("192.168.50.10/24")); err == nil {
		t.Error("the same address under a second label was accepted silently")
	}
	for _, call := range []func() error{
		func() error { _, err := m.Ensure("nosuch0", pfx("10.0.0.1/32")); return err },
		func() error { _, err := m.Remove("nosuch0", pfx("10.0.0.1/32")); return err },
		func() error { _, err := m.List("nosuch0"); return err },
		func() error { _, err := m.Up("nosuch0"); return err },
	} {
		if err := call(); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "nosuch0") {
			t.Errorf("missing device: %v, want ErrNoDevice naming it", err)
		}
	}
}

func TestDefaultGatewayReplace(t *testing.T) {
	m, ns := testNetns(t)
	// A veth pair: this kernel has no dummy module.
	if err := m.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"eth0", "peer0"} {
		if _, err := m.Up(dev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Ensure("eth0", pfx("192.168.50.1/24")); err != nil {
		t.Fatal(err)
	}
	if gw, err := m.DefaultGateway(false); err != nil || gw.IsValid() {
		t.Fatalf("DefaultGateway in a new namespace = %v, %v; want none", gw, err)
	}
	for _, gw := range []string{"192.168.50.254", "192.168.50.253"} {
		want := netip.MustParseAddr(gw)
		if changed, err := m.SetDefaultGateway(want); err != nil || !changed {
			t.Fatalf("SetDefaultGateway(%s) = %v, %v", gw, changed, err)
		}
		if changed, err := m.SetDefaultGateway(want); err != nil || changed {
			t.Errorf("second SetDefaultGateway(%s) = %v, %v; want no change", gw, changed, err)
		}
		if got, err := m.DefaultGateway(false); err != nil || got != want {
			t.Errorf("DefaultGateway = %v, %v; want %s", got, err, gw)
		}
		out := ipShow(t, ns, "-4", "route", "show", "default")
		if strings.Count(out, "default") != 1 || !strings.Contains(out, "default via "+gw+" dev eth0") {
			t.Errorf("ip route show default after setting %s:\n%s", gw, out)
		}
	}
	if _, err := m.SetDefaultGateway(netip.MustParseAddr("10.99.0.1")); err == nil {
		t.Error("an unreachable gateway was accepted")
	}
}

// TestAddressScope: EnsureScope adds an address at its scope, as ip shows
// it, leaves it alone at that scope, and re-adds one found at another
// scope; Scopes reports what the kernel holds, and "" leaves the scope of
// an address already there.
func TestAddressScope(t *testing.T) {
	m, ns := testNetns(t)
	if err := m.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	a := pfx("192.168.60.16/24")
	if added, err := m.EnsureScope("eth0", a, "link"); err != nil || !added {
		t.Fatalf("EnsureScope(link) = %v, %v", added, err)
	}
	if out := ipShow(t, ns, "-o", "addr", "show", "dev", "eth0"); !strings.Contains(out, "inet 192.168.60.16/24") || !strings.Contains(out, "scope link") {
		t.Errorf("ip addr show after EnsureScope(link):\n%s", out)
	}
	if added, err := m.EnsureScope("eth0", a, "link"); err != nil || added {
		t.Errorf("second EnsureScope(link) = %v, %v; want no change", added, err)
	}
	if added, err := m.Ensure("eth0", a); err != nil || added {
		t.Errorf("Ensure of an address there at scope link = %v, %v; want no change", added, err)
	}
	if got, err := m.Scopes("eth0"); err != nil || got[a] != "link" {
		t.Errorf("Scopes = %v, %v; want %s at link", got, err, a)
	}

	// Changed by hand to the default scope: put back at link.
	ipShow(t, ns, "addr", "del", a.String(), "dev", "eth0")
	ipShow(t, ns, "addr", "add", a.String(), "dev", "eth0")
	if got, _ := m.Scopes("eth0"); got[a] != "global" {
		t.Errorf("Scopes after ip addr add without scope = %v, want global", got)
	}
	if added, err := m.EnsureScope("eth0", a, "link"); err != nil || !added {
		t.Fatalf("EnsureScope(link) of a global address = %v, %v; want it changed", added, err)
	}
	if out := ipShow(t, ns, "-o", "addr", "show", "dev", "eth0"); strings.Count(out, "192.168.60.16") != 1 || !strings.Contains(out, "scope link") {
		t.Errorf("after the repair, ip addr show:\n%s", out)
	}
	// A secondary address must have its primary's scope.
	if _, err := m.EnsureScope("eth0", pfx("192.168.60.17/24"), "global"); err == nil || !strings.Contains(err.Error(), "must have that address's scope") {
		t.Errorf("EnsureScope of a secondary at another scope = %v, want the kernel's refusal explained", err)
	}
	if _, err := m.EnsureScope("eth0", a, "galaxy"); err == nil || !strings.Contains(err.Error(), `unknown scope "galaxy"`) {
		t.Errorf("EnsureScope(galaxy) = %v, want an unknown-scope error", err)
	}
}
