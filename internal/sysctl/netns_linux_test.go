package sysctl

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// inNetnsEnv marks the test binary re-run inside a fresh network
// namespace; it holds the parent's namespace, which the child must not be in.
const inNetnsEnv = "LVS_SYSCTL_TEST_IN_NETNS"

// TestRealProcSysInNetns runs realProcSys against the kernel's /proc/sys,
// inside a network namespace of its own (unshare --net) so that the
// per-namespace settings it changes are thrown away with it and the
// machine's own sysctls are never touched.
func TestRealProcSysInNetns(t *testing.T) {
	if parent := os.Getenv(inNetnsEnv); parent != "" {
		realProcSys(t, parent)
		return
	}
	if os.Geteuid() != 0 {
		unavailable(t, "the test needs root to make a network namespace")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" is not installed")
		}
	}
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run=^TestRealProcSysInNetns$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), inNetnsEnv+"="+parent)
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test inside the namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestRealProcSysInNetns") {
		t.Fatal("the test inside the namespace did not pass (skipped or not run)")
	}
}

func realProcSys(t *testing.T, parent string) {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || self == parent {
		t.Fatalf("refusing to touch sysctls: not in a network namespace of our own (%s, parent %s: %v)", self, parent, err)
	}
	// A device with a dot in its name, as a VLAN would have (a veth: this
	// kernel has neither the dummy nor the 8021q module).
	if out, err := exec.Command("ip", "link", "add", "eth0.100", "type", "veth", "peer", "name", "peer0").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	h := &Host{ProcSys: "/proc/sys", SysctlD: t.TempDir()}
	prev := Previous{}
	list := []model.Sysctl{
		{Key: "net.ipv4.ip_forward", Value: "1"},
		{Key: "net.ipv4.conf.all.arp_ignore", Value: "1"},
		{Key: "net.ipv4.conf.all.arp_announce", Value: "2"},
		{Key: "net.ipv4.conf.eth0/100.rp_filter", Value: "2"},
	}
	before := map[string]string{}
	for _, s := range list {
		v, err := h.Get(s.Key)
		if err != nil {
			t.Fatal(err)
		}
		before[s.Key] = v
	}
	if _, err := h.Apply(list, prev); err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		path, _ := KeyPath(s.Key)
		b, err := os.ReadFile("/proc/sys/" + path)
		if err != nil || strings.TrimSpace(string(b)) != s.Value {
			t.Errorf("kernel has %s = %q (%v), want %s", s.Key, b, err, s.Value)
		}
	}
	// The kernel refuses a bad value; the whole apply is undone.
	_, err = h.Apply([]model.Sysctl{
		{Key: "net.ipv4.conf.all.arp_ignore", Value: "0"},
		{Key: "net.ipv4.conf.all.arp_announce", Value: "bogus"},
	}, prev)
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("bad value: %v, want EINVAL from the kernel", err)
	}
	if v, _ := h.Get("net.ipv4.conf.all.arp_ignore"); v != "1" {
		t.Errorf("arp_ignore = %s after a failed apply, want 1 (rolled back)", v)
	}
	keys := make([]string, len(list))
	for i, s := range list {
		keys[i] = s.Key
	}
	if err := h.Restore(keys, prev); err != nil {
		t.Fatal(err)
	}
	for key, v := range before {
		if got, _ := h.Get(key); got != v {
			t.Errorf("%s restored to %q, want %q", key, got, v)
		}
	}
	if len(prev) != 0 {
		t.Errorf("records left after restoring everything: %v", prev)
	}
}
