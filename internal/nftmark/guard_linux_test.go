//go:build linux

package nftmark

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// inNS runs fn on a thread inside ns; the thread is dropped afterwards.
func inNS(t *testing.T, ns netns.NsHandle, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := netns.Set(ns); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}

// dial reports how a TCP connect to addr from inside ns ends: "refused",
// "timeout" or "ok".
func dial(t *testing.T, ns netns.NsHandle, addr string) string {
	t.Helper()
	out := ""
	inNS(t, ns, func() {
		c, err := net.DialTimeout("tcp", addr, 400*time.Millisecond)
		var ne net.Error
		switch {
		case err == nil:
			c.Close()
			out = "ok"
		case errors.Is(err, syscall.ECONNREFUSED):
			out = "refused"
		case errors.As(err, &ne) && ne.Timeout():
			out = "timeout"
		default:
			out = err.Error()
		}
	})
	return out
}

// TestGuardDropsWhatTheLocalStackWouldRefuse: in a network namespace of
// its own, a connection to an address:port nothing listens on is refused
// (as a director answers one IPVS did not schedule); with the guard it is
// dropped instead (the client's SYN retry then reaches the edited
// service); a connection established before the guard keeps working, a
// port not guarded still answers, and Unguard restores the reset.
func TestGuardDropsWhatTheLocalStackWouldRefuse(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root")
		}
		t.Skip("needs root (a network namespace of its own)")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { ns.Close(); orig.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("10.9.0.1"), Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTables(); err != nil {
		t.Fatalf("this kernel has no nf_tables: %v", err)
	}
	m := &Manager{conn: c}

	// A listener on :81 and a connection to it made before the guard.
	var ln net.Listener
	var est net.Conn
	inNS(t, ns, func() {
		if ln, err = net.Listen("tcp", "10.9.0.1:81"); err != nil {
			t.Error(err)
			return
		}
		est, err = net.Dial("tcp", "10.9.0.1:81")
		if err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	defer ln.Close()
	defer est.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()

	if got := dial(t, ns, "10.9.0.1:80"); got != "refused" {
		t.Fatalf("before the guard: %s, want refused", got)
	}
	vip := netip.MustParsePrefix("10.9.0.1/32")
	if err := m.Guard([]model.FwmarkRule{{Destination: vip, Protocol: "tcp", Port: 80}, {Destination: vip, Protocol: "tcp", Port: 81}}); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Guarded(); err != nil || n != 2 {
		t.Fatalf("guarded rules: %d, %v; want 2", n, err)
	}
	if got := dial(t, ns, "10.9.0.1:80"); got != "timeout" {
		t.Errorf("guarded: %s, want timeout (the SYN dropped, not refused)", got)
	}
	if got := dial(t, ns, "10.9.0.1:81"); got != "timeout" {
		t.Errorf("a new connection to the guarded listener: %s, want timeout", got)
	}
	if got := dial(t, ns, "10.9.0.1:82"); got != "refused" {
		t.Errorf("a port not guarded: %s, want refused", got)
	}
	// The established connection's segments are not SYNs: they pass.
	if _, err := est.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = accepted.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := accepted.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Errorf("an established connection under the guard: read %d, %v", n, err)
	}
	// A second Guard replaces the rules; Unguard removes the table.
	if err := m.Guard([]model.FwmarkRule{{Destination: vip, Protocol: "tcp", Port: 80}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Guarded(); n != 1 {
		t.Errorf("after a second Guard: %d rules, want 1", n)
	}
	if err := m.Unguard(); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Guarded(); err != nil || n != 0 {
		t.Errorf("after Unguard: %d rules, %v", n, err)
	}
	if got := dial(t, ns, "10.9.0.1:80"); got != "refused" {
		t.Errorf("after Unguard: %s, want refused", got)
	}
	if err := m.Unguard(); err != nil {
		t.Errorf("a second Unguard: %v", err)
	}
	if err := m.Guard([]model.FwmarkRule{{Destination: vip}}); err == nil {
		t.Error("a guard without protocol and port was accepted")
	}
}
