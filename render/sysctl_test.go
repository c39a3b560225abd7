package render

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// sysctlCases are realistic inputs: what the model derives for a director
// and for real servers of each forwarding method.
func sysctlCases(t *testing.T) map[string][]model.Sysctl {
	t.Helper()
	a := netip.MustParseAddr
	director := &model.KeepalivedConfig{
		Director: model.Director{
			Interface: "eth0",
			Instances: []model.VRRPInstance{
				{Name: "VI_OUT", State: "MASTER", VirtualRouterID: 51, Priority: 150,
					VirtualIPs: []model.VirtualIP{{Prefix: netip.MustParsePrefix("192.168.0.10/24")}}},
				{Name: "VI_IN", Interface: "eth1", State: "MASTER", VirtualRouterID: 52, Priority: 150,
					VirtualIPs: []model.VirtualIP{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}},
			},
			Sysctls: []model.Sysctl{
				{Key: "net.core.somaxconn", Value: "4096", Reason: "long accept queues for the health-check listeners"},
				{Key: "net.ipv4.tcp_rmem", Value: "4096 131072 6291456"},
			},
		},
		VirtualServers: []model.VirtualServer{
			{Address: a("192.168.0.10"), Port: 80, ForwardingMethod: "nat",
				RealServers: []model.RealServer{{Address: a("10.0.0.21"), Port: 8080}}},
			{Address: a("192.168.0.10"), Port: 443, ForwardingMethod: "dr",
				RealServers: []model.RealServer{{Address: a("192.168.0.21")}}},
			{Address: a("2001:db8::10"), Port: 80, ForwardingMethod: "nat",
				RealServers: []model.RealServer{{Address: a("2001:db8:1::21"), Port: 8080}}},
		},
	}
	if err := director.Validate(nil); err != nil {
		t.Fatalf("director config: %v", err)
	}
	directorSysctls, err := director.DirectorSysctls()
	if err != nil {
		t.Fatal(err)
	}
	setup := func(h model.RealServerHost) []model.Sysctl {
		if err := h.Validate(nil); err != nil {
			t.Fatalf("real-server host: %v", err)
		}
		return h.Setup().Sysctls
	}
	return map[string][]model.Sysctl{
		"director":       directorSysctls,
		"realserver-dr":  setup(model.RealServerHost{Method: "dr", VIPs: []netip.Addr{a("192.168.0.10"), a("2001:db8::10")}}),
		"realserver-tun": setup(model.RealServerHost{Method: "tun", VIPs: []netip.Addr{a("192.168.0.10")}}),
		"realserver-gre": setup(model.RealServerHost{Method: "tun", TunnelType: "gre", VIPs: []netip.Addr{a("192.168.0.10")}}),
		"realserver-nat": setup(model.RealServerHost{Method: "nat", Gateway: a("10.0.0.1")}),
	}
}

func TestSysctlGolden(t *testing.T) {
	for name, list := range sysctlCases(t) {
		t.Run(name, func(t *testing.T) {
			got := Sysctl(list)
			if !strings.HasPrefix(got, ManagedMarker+"\n") {
				t.Errorf("first line is not the managed marker:\n%s", got)
			}
			goldenText(t, filepath.Join("testdata", "sysctl", name+".conf"), got)
			if again := Sysctl(list); again != got {
				t.Errorf("second rendering differs:\n%s", again)
			}
			settings := sysctlSettings(t, got)
			if len(settings) != len(list) {
				t.Fatalf("%d settings in the text, %d in the list", len(settings), len(list))
			}
			for i, s := range list {
				key := s.Key
				if s.Optional {
					key = "-" + key // sysctl.d: skipped where the kernel lacks it
				}
				if settings[i] != [2]string{key, s.Value} {
					t.Errorf("setting %d is %v, want %s = %s in model order", i, settings[i], s.Key, s.Value)
				}
			}
		})
	}
}

// TestSysctlOneLinePerField: whatever a field holds, it cannot add a
// setting of its own.
func TestSysctlOneLinePerField(t *testing.T) {
	got := Sysctl([]model.Sysctl{{Key: "net.ipv4.ip_forward", Value: "1", Reason: "NAT\nkernel.panic = 1"}})
	if s := sysctlSettings(t, got); len(s) != 1 || s[0] != [2]string{"net.ipv4.ip_forward", "1"} {
		t.Errorf("a reason with a line break made settings %v:\n%s", s, got)
	}
}

// sysctlSettings reads the key = value lines of a sysctl.d text, the way
// sysctl(8) does: '#' and ';' start comments.
func sysctlSettings(t *testing.T, text string) [][2]string {
	t.Helper()
	var out [][2]string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("line %q is neither a comment nor a setting", line)
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out
}

// TestSysctlGoldenKeysExist checks every key of the goldens against this
// kernel's /proc/sys, which catches a misspelt key before a host refuses
// it at boot. Interface keys are checked for lo, all and default only:
// named interfaces (eth0, tunl0) do not exist here.
func TestSysctlGoldenKeysExist(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sysctl", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	checked, skipped := 0, map[string]bool{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range sysctlSettings(t, string(text)) {
			key := kv[0]
			if strings.HasPrefix(key, "-net.ipv4.vs.") {
				// Optional: IPVS sysctls exist only where ip_vs is loaded,
				// which this machine's kernel may not have; the VM tests
				// read them on a real IPVS kernel.
				skipped[key] = true
				continue
			}
			parts := strings.Split(key, ".")
			if len(parts) > 3 && parts[0] == "net" && parts[2] == "conf" &&
				parts[3] != "lo" && parts[3] != "all" && parts[3] != "default" {
				skipped[key] = true
				continue
			}
			if _, err := os.Stat("/proc/sys/" + strings.ReplaceAll(key, ".", "/")); err != nil {
				t.Errorf("%s: %s does not exist in this kernel: %v", f, key, err)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d keys checked; the goldens should hold more", checked)
	}
	t.Logf("%d keys found in /proc/sys; not checked (named interfaces, IPVS): %v", checked, skipped)
}

// realServerHosts are the real-server sides the script goldens cover.
func realServerHosts() map[string]model.RealServerHost {
	a := netip.MustParseAddr
	return map[string]model.RealServerHost{
		"dr":       {Method: "dr", VIPs: []netip.Addr{a("192.168.0.10"), a("2001:db8::10")}},
		"tun-ipip": {Method: "tun", VIPs: []netip.Addr{a("192.168.0.10"), a("192.168.0.11")}},
		"nat":      {Method: "nat", Gateway: a("10.0.0.1")},
		"nat-ipv6": {Method: "nat", Gateway: a("2001:db8::1")},
	}
}

// TestRealServerScriptGolden compares each script with its golden and has
// the shell parse it (sh -n), so a template slip cannot ship a script that
// fails on the host.
func TestRealServerScriptGolden(t *testing.T) {
	sh := requireTool(t, "sh")
	for name, h := range realServerHosts() {
		t.Run(name, func(t *testing.T) {
			if err := h.Validate(nil); err != nil {
				t.Fatal(err)
			}
			got := RealServerScript(h.Setup())
			path := filepath.Join("testdata", "realserver", name+".sh")
			goldenText(t, path, got)
			lines := strings.SplitN(got, "\n", 3)
			if lines[0] != "#!/bin/sh" || lines[1] != ManagedMarker {
				t.Errorf("script does not start with the shebang and the managed marker:\n%s", got)
			}
			if !strings.Contains(got, "\nset -eu\n") {
				t.Errorf("script does not stop at the first failure (set -eu):\n%s", got)
			}
			if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("sh -n %s: %v\n%s", path, err, out)
			}
		})
	}
}

// TestRealServerScriptOrder pins the order of the steps: tunnel device up
// before its sysctls exist to be set, ARP sysctls before a VIP appears.
func TestRealServerScriptOrder(t *testing.T) {
	h := realServerHosts()["tun-ipip"]
	got := RealServerScript(h.Setup())
	order := []string{
		"modprobe ipip",
		"ip link set dev tunl0 up",
		"sysctl -w net.ipv4.conf.all.arp_ignore=1",
		"sysctl -w net.ipv4.conf.tunl0.rp_filter=0",
		"cat >" + RealServerSysctlFile + ".tmp",
		"mv -f " + RealServerSysctlFile + ".tmp " + RealServerSysctlFile,
		"ip addr replace 192.168.0.10/32 dev tunl0",
		"ip addr replace 192.168.0.11/32 dev tunl0",
	}
	at := 0
	for _, step := range order {
		i := strings.Index(got[at:], step)
		if i < 0 {
			t.Fatalf("step %q missing or out of order in:\n%s", step, got)
		}
		at += i + len(step)
	}
	if !strings.Contains(got, Sysctl(h.Setup().Sysctls)) {
		t.Errorf("the persisted fragment is not render.Sysctl's text:\n%s", got)
	}
}

// netnsHost is a throwaway host for running real-server scripts: a sleep
// process in its own network and mount namespaces, entered with nsenter
// for each command, with a tmpfs over /etc/sysctl.d so that the host's
// /etc is never written.
type netnsHost struct {
	t   *testing.T
	pid string
}

func newNetnsHost(t *testing.T) *netnsHost {
	t.Helper()
	requireRoot(t)
	for _, tool := range []string{"unshare", "nsenter", "ip", "sysctl", "sh", "mount"} {
		requireTool(t, tool)
	}
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the namespace holder: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	h := &netnsHost{t: t, pid: fmt.Sprint(cmd.Process.Pid)}
	// nsenter must never run before unshare has made the namespaces, or it
	// would act on this host: wait for the exec of sleep, then compare.
	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, _ := os.ReadFile("/proc/" + h.pid + "/comm")
		if strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare did not start sleep within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, ns := range []string{"net", "mnt"} {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns)
		theirs, err2 := os.Readlink("/proc/" + h.pid + "/ns/" + ns)
		if err1 != nil || err2 != nil || mine == theirs {
			t.Fatalf("the %s namespace of the holder is not a new one (%s vs %s; %v %v)", ns, mine, theirs, err1, err2)
		}
	}
	h.must("mount", "-t", "tmpfs", "lvs-test-sysctl.d", "/etc/sysctl.d")
	return h
}

// run runs a command inside the namespaces.
func (h *netnsHost) run(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"--target", h.pid, "--net", "--mount", "--"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), err
}

func (h *netnsHost) must(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// state is what a real-server script sets up, as the kernel reports it.
func (h *netnsHost) state(dev string, s []model.Sysctl) string {
	h.t.Helper()
	var b strings.Builder
	b.WriteString(h.must("ip", "-o", "addr", "show", "dev", dev))
	b.WriteString(h.must("ip", "route", "show", "default"))
	b.WriteString(h.must("ip", "-6", "route", "show", "default"))
	for _, kv := range s {
		fmt.Fprintf(&b, "%s=%s", kv.Key, h.must("sysctl", "-n", kv.Key))
	}
	file, _ := h.run("cat", RealServerSysctlFile)
	b.WriteString(file)
	return b.String()
}

// writeScript puts a script where the namespaces can read it.
func writeScript(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "realserver.sh")
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostSysctlFileState reports whether this host has the real-server
// fragment, so a test can prove it did not write it.
func hostSysctlFileState() string {
	b, err := os.ReadFile(RealServerSysctlFile)
	if err != nil {
		return "absent: " + err.Error()
	}
	return "present: " + string(b)
}

// applyTwice runs the script, checks the outcome with verify, runs it
// again unchanged and after undoing its work by hand (drift), and requires
// the same state each time.
func applyTwice(t *testing.T, h *netnsHost, h0 model.HostSetup, dev string, drift [][]string, verify func(state string)) {
	t.Helper()
	hostFile := hostSysctlFileState()
	script := writeScript(t, RealServerScript(h0))
	// Start from values the script must change.
	for _, s := range h0.Sysctls {
		wrong := "0"
		if s.Value == "0" {
			wrong = "1"
		}
		h.must("sysctl", "-w", s.Key+"="+wrong)
	}
	h.must("sh", script)
	first := h.state(dev, h0.Sysctls)
	verify(first)
	h.must("sh", script)
	if again := h.state(dev, h0.Sysctls); again != first {
		t.Errorf("a second run changed the host:\n--- after run 1\n%s--- after run 2\n%s", first, again)
	}
	for _, cmd := range drift {
		h.must(cmd...)
	}
	if drifted := h.state(dev, h0.Sysctls); drifted == first {
		t.Fatalf("the hand changes %v did not change the state", drift)
	}
	h.must("sh", script)
	if repaired := h.state(dev, h0.Sysctls); repaired != first {
		t.Errorf("the script did not repair hand changes:\n--- want\n%s--- got\n%s", first, repaired)
	}
	if now := hostSysctlFileState(); now != hostFile {
		t.Errorf("this host's %s changed: %s -> %s", RealServerSysctlFile, hostFile, now)
	}
}

// TestRealServerScriptDRInNetns runs the DR script on a fresh network
// namespace and reads back what the kernel holds.
func TestRealServerScriptDRInNetns(t *testing.T) {
	h := newNetnsHost(t)
	host := realServerHosts()["dr"]
	setup := host.Setup()
	hostArp, _ := os.ReadFile("/proc/sys/net/ipv4/conf/all/arp_ignore")
	applyTwice(t, h, setup, "lo", [][]string{
		{"sysctl", "-w", "net.ipv4.conf.all.arp_ignore=0"},
		{"ip", "addr", "del", "192.168.0.10/32", "dev", "lo"},
	}, func(state string) {
		for _, want := range []string{
			"inet 192.168.0.10/32 ", "inet6 2001:db8::10/128 ",
			"net.ipv4.conf.all.arp_ignore=1\n", "net.ipv4.conf.all.arp_announce=2\n",
			"net.ipv4.conf.lo.arp_ignore=1\n", "net.ipv4.conf.lo.arp_announce=2\n",
			Sysctl(setup.Sysctls),
		} {
			if !strings.Contains(state, want) {
				t.Errorf("after the DR script the host lacks %q:\n%s", want, state)
			}
		}
		if n := strings.Count(state, "192.168.0.10/32"); n != 1 {
			t.Errorf("the VIP is on lo %d times:\n%s", n, state)
		}
	})
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/conf/all/arp_ignore"); string(now) != string(hostArp) {
		t.Errorf("this host's arp_ignore changed: %q -> %q", hostArp, now)
	}
}

// TestRealServerScriptNATInNetns runs the NAT script on a namespace with a
// veth pair, so the gateway is on a link.
func TestRealServerScriptNATInNetns(t *testing.T) {
	h := newNetnsHost(t)
	h.must("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	h.must("ip", "addr", "add", "10.0.0.2/24", "dev", "v0")
	h.must("ip", "link", "set", "v0", "up")
	h.must("ip", "link", "set", "v1", "up")
	host := realServerHosts()["nat"]
	applyTwice(t, h, host.Setup(), "v0", [][]string{
		{"ip", "route", "replace", "default", "via", "10.0.0.3"},
	}, func(state string) {
		if !strings.Contains(state, "default via 10.0.0.1 dev v0") || strings.Count(state, "default via") != 1 {
			t.Errorf("want exactly one default route via 10.0.0.1:\n%s", state)
		}
	})
}

// TestRealServerScriptTUNInNetns runs the ipip script where the kernel
// offers tunl0. Where it cannot (no ipip in the kernel and no module to
// load), it proves instead that the script stops at the tunnel step with
// no VIP half set up, and says so loudly.
func TestRealServerScriptTUNInNetns(t *testing.T) {
	h := newNetnsHost(t)
	host := realServerHosts()["tun-ipip"]
	setup := host.Setup()
	if _, err := h.run("ip", "link", "show", "dev", "tunl0"); err != nil {
		if _, lookErr := exec.LookPath("modprobe"); lookErr == nil {
			_ = exec.Command("modprobe", "ipip").Run()
		}
	}
	if _, err := h.run("ip", "link", "show", "dev", "tunl0"); err != nil {
		t.Logf("NOT RUN FOR REAL: this kernel offers no tunl0 (ipip neither built in nor loadable: %v); "+
			"checking instead the script's tunnel steps, and that it stops at them leaving no VIP", err)
		text := RealServerScript(setup)
		for _, want := range []string{"modprobe ipip", "ip link set dev tunl0 up", "ip addr replace 192.168.0.10/32 dev tunl0"} {
			if !strings.Contains(text, want) {
				t.Errorf("the TUN script lacks %q:\n%s", want, text)
			}
		}
		_, runErr := h.run("sh", writeScript(t, text))
		if runErr == nil || !strings.Contains(runErr.Error(), "tunl0") {
			t.Fatalf("the TUN script did not stop at the missing tunl0: %v", runErr)
		}
		if out := h.must("ip", "-o", "addr", "show"); strings.Contains(out, "192.168.0.10") {
			t.Errorf("a VIP was added although the tunnel failed:\n%s", out)
		}
		return
	}
	applyTwice(t, h, setup, "tunl0", [][]string{
		{"sysctl", "-w", "net.ipv4.conf.tunl0.rp_filter=1"},
		{"ip", "addr", "del", "192.168.0.11/32", "dev", "tunl0"},
	}, func(state string) {
		for _, want := range []string{
			"inet 192.168.0.10/32 ", "inet 192.168.0.11/32 ",
			"net.ipv4.conf.all.rp_filter=0\n", "net.ipv4.conf.tunl0.rp_filter=0\n",
			"net.ipv4.conf.all.arp_ignore=1\n",
		} {
			if !strings.Contains(state, want) {
				t.Errorf("after the TUN script the host lacks %q:\n%s", want, state)
			}
		}
	})
}
