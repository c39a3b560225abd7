package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
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

func TestKeyPath(t *testing.T) {
	tests := []struct{ key, path string }{
		{"net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		{"net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter"},
		{"net.ipv4.conf.all.arp_ignore", "net/ipv4/conf/all/arp_ignore"},
		{"net.ipv6.conf.bond0/7/1.forwarding", "net/ipv6/conf/bond0.7.1/forwarding"},
	}
	for _, tt := range tests {
		got, err := KeyPath(tt.key)
		if err != nil || got != tt.path {
			t.Errorf("KeyPath(%q) = %q, %v; want %q", tt.key, got, err, tt.path)
		}
		if back := PathKey(tt.path); back != tt.key {
			t.Errorf("PathKey(%q) = %q, want %q", tt.path, back, tt.key)
		}
	}
	for _, bad := range []string{"", ".net", "net..ipv4", "net.ipv4.", "net./.x", "net.//.x", "net.ipv4.conf.a\x00b.x"} {
		if p, err := KeyPath(bad); err == nil {
			t.Errorf("KeyPath(%q) = %q, want an error", bad, p)
		}
	}
}

// fakeRoot makes a /proc/sys tree below a temporary directory.
func fakeRoot(t *testing.T, values map[string]string) *Host {
	t.Helper()
	h := New(t.TempDir())
	for key, v := range values {
		rel, err := KeyPath(key)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(h.ProcSys, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGetSet(t *testing.T) {
	h := fakeRoot(t, map[string]string{
		"net.ipv4.ip_forward":              "0\n",
		"net.ipv4.ip_local_port_range":     "32768\t60999\n",
		"net.ipv4.conf.eth0/100.rp_filter": "1 \n",
		"net.ipv4.conf.all.arp_announce":   "0\n",
	})
	if v, err := h.Get("net.ipv4.ip_local_port_range"); err != nil || v != "32768 60999" {
		t.Errorf("Get(port range) = %q, %v; want white space folded", v, err)
	}
	prev, err := h.Set("net.ipv4.ip_forward", "1")
	if err != nil || prev != "0" {
		t.Fatalf("Set = %q, %v; want previous 0", prev, err)
	}
	if got := readFile(t, filepath.Join(h.ProcSys, "net/ipv4/ip_forward")); got != "1\n" {
		t.Errorf("file holds %q, want 1", got)
	}
	// The VLAN key reaches the dotted directory; an equal value is not written
	// (the file keeps its trailing blank).
	prev, err = h.Set("net.ipv4.conf.eth0/100.rp_filter", "1")
	if err != nil || prev != "1" {
		t.Fatalf("Set(vlan) = %q, %v", prev, err)
	}
	if got := readFile(t, filepath.Join(h.ProcSys, "net/ipv4/conf/eth0.100/rp_filter")); got != "1 \n" {
		t.Errorf("an unchanged value was rewritten: %q", got)
	}
	if _, err := h.Set("net.ipv4.conf.eth9.rp_filter", "0"); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "net.ipv4.conf.eth9.rp_filter") {
		t.Errorf("Set of a missing key: %v, want ErrUnknownKey naming the key", err)
	}
}

func TestApplyRecordsOriginalsAndRestore(t *testing.T) {
	h := fakeRoot(t, map[string]string{
		"net.ipv4.ip_forward":            "0\n",
		"net.ipv4.conf.all.arp_ignore":   "0\n",
		"net.ipv4.conf.all.arp_announce": "2\n",
	})
	prev := Previous{}
	list := []model.Sysctl{
		{Key: "net.ipv4.ip_forward", Value: "1"},
		{Key: "net.ipv4.conf.all.arp_ignore", Value: "1"},
		{Key: "net.ipv4.conf.all.arp_announce", Value: "2"}, // already so
	}
	changed, err := h.Apply(list, prev)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.arp_ignore"}; !reflect.DeepEqual(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	// A second change keeps the value from before the first one.
	if _, err := h.Apply([]model.Sysctl{{Key: "net.ipv4.conf.all.arp_ignore", Value: "2"}}, prev); err != nil {
		t.Fatal(err)
	}
	if want := (Previous{"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.arp_ignore": "0"}); !reflect.DeepEqual(prev, want) {
		t.Errorf("previous %v, want %v", prev, want)
	}
	if err := h.Restore([]string{"net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"}, prev); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.Get("net.ipv4.conf.all.arp_ignore"); v != "0" {
		t.Errorf("arp_ignore restored to %q, want 0", v)
	}
	if v, _ := h.Get("net.ipv4.conf.all.arp_announce"); v != "2" {
		t.Errorf("arp_announce, never changed by us, became %q", v)
	}
	if v, _ := h.Get("net.ipv4.ip_forward"); v != "1" {
		t.Errorf("ip_forward, not asked to restore, became %q", v)
	}
	if want := (Previous{"net.ipv4.ip_forward": "0"}); !reflect.DeepEqual(prev, want) {
		t.Errorf("previous after restore %v, want %v", prev, want)
	}
}

func TestApplyRollsBackOnFailure(t *testing.T) {
	h := fakeRoot(t, map[string]string{"net.ipv4.ip_forward": "0\n", "net.ipv4.conf.all.arp_ignore": "0\n"})
	prev := Previous{"net.ipv4.conf.all.arp_ignore": "0"}
	_, err := h.Apply([]model.Sysctl{
		{Key: "net.ipv4.ip_forward", Value: "1"},
		{Key: "net.ipv4.conf.all.arp_ignore", Value: "1"},
		{Key: "net.ipv4.conf.nosuch.arp_ignore", Value: "1"},
	}, prev)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Apply: %v, want ErrUnknownKey", err)
	}
	for _, key := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.arp_ignore"} {
		if v, _ := h.Get(key); v != "0" {
			t.Errorf("%s = %q after a failed apply, want 0", key, v)
		}
	}
	if want := (Previous{"net.ipv4.conf.all.arp_ignore": "0"}); !reflect.DeepEqual(prev, want) {
		t.Errorf("previous %v, want the record from before the call only: %v", prev, want)
	}
}

func TestFragment(t *testing.T) {
	h := New(t.TempDir())
	list := []model.Sysctl{{Key: "net.ipv4.conf.all.arp_ignore", Value: "1", Reason: "DR: the VIP stays invisible to ARP"}}
	changed, err := h.WriteFragment("90-lvs-realserver.conf", list)
	if err != nil || !changed {
		t.Fatalf("WriteFragment = %v, %v", changed, err)
	}
	path := filepath.Join(h.SysctlD, "90-lvs-realserver.conf")
	if got := readFile(t, path); got != render.Sysctl(list) {
		t.Errorf("fragment text:\n%s\nwant render.Sysctl's:\n%s", got, render.Sysctl(list))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("fragment mode %v, %v; want 0644", fi.Mode(), err)
	}
	if changed, err := h.WriteFragment("90-lvs-realserver.conf", list); err != nil || changed {
		t.Errorf("rewriting identical content: changed %v, %v", changed, err)
	}
	list[0].Value = "2"
	if changed, err := h.WriteFragment("90-lvs-realserver.conf", list); err != nil || !changed {
		t.Errorf("writing new content: changed %v, %v", changed, err)
	}
	entries, _ := os.ReadDir(h.SysctlD)
	if len(entries) != 1 {
		t.Errorf("sysctl.d holds %d entries, want the fragment alone (no temp files)", len(entries))
	}
	for _, bad := range []string{"", "../x.conf", "a/b.conf", ".hidden.conf", "x.txt"} {
		if _, err := h.WriteFragment(bad, list); err == nil {
			t.Errorf("fragment name %q accepted", bad)
		}
	}
	if removed, err := h.RemoveFragment("90-lvs-realserver.conf"); err != nil || !removed {
		t.Errorf("RemoveFragment = %v, %v", removed, err)
	}
	if removed, err := h.RemoveFragment("90-lvs-realserver.conf"); err != nil || removed {
		t.Errorf("RemoveFragment of a missing file = %v, %v; want false, nil", removed, err)
	}
}
