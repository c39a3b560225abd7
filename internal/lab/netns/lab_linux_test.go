//go:build linux

package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testCtx bounds one test's lab work.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sshRun runs cmd on host over a real SSH connection (the lab's client key,
// host key checked against its known_hosts), feeding it stdin, and returns
// its standard output; it fails the test on any error.
func sshRun(t testing.TB, ctx context.Context, l *Lab, host, cmd, stdin string) string {
	t.Helper()
	client, err := l.Dial(ctx, host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatalf("host %s: new session: %v", host, err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := sess.Run(cmd); err != nil {
		t.Fatalf("host %s: ssh %q: %v: %s", host, cmd, err, stderr.String())
	}
	return stdout.String()
}

// exec runs args in host's namespaces and fails the test on error.
func mustExec(t testing.TB, ctx context.Context, l *Lab, host string, args ...string) string {
	t.Helper()
	out, err := l.Exec(ctx, host, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// poll calls cond every 20 ms until it returns true, failing the test with
// what after the timeout.
func poll(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
	return time.Since(began)
}

func uniqueName(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "lab-proof-" + hex.EncodeToString(b)
}

func TestHostsHaveOwnIdentityAndPrivateDirs(t *testing.T) {
	l := Start(t, Config{Hosts: []string{"dir1", "dir2"}})
	ctx := testCtx(t)

	for _, host := range l.Order {
		if got := strings.TrimSpace(sshRun(t, ctx, l, host, "hostname", "")); got != host {
			t.Errorf("host %s: hostname over SSH = %q", host, got)
		}
		want := l.Hosts[host].Addr.String() + "/24"
		if got := mustExec(t, ctx, l, host, "ip", "-o", "-4", "addr", "show", "dev", HostInterface); !strings.Contains(got, want) {
			t.Errorf("host %s: %s has no %s: %s", host, HostInterface, want, got)
		}
	}

	// Each host has its own host key: dir2's key does not pass for dir1.
	cfg, err := l.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostKeyCallback = ssh.FixedHostKey(l.Hosts["dir2"].HostKey)
	if c, err := ssh.Dial("tcp", l.Hosts["dir1"].SSHAddr(), cfg); err == nil {
		c.Close()
		t.Error("dir1 accepted with dir2's host key: hosts share a key")
	}

	// A file written over SSH on dir1 in each private directory (and /run
	// and /tmp) exists on dir1 and in dir1's scratch copy, and nowhere else.
	name := uniqueName(t)
	var paths []string
	for _, dir := range append(DefaultPrivateDirs(), "/run", "/tmp") {
		paths = append(paths, dir+"/"+name)
	}
	script := `for p; do echo "written on $(hostname)" > "$p"; done`
	sshRun(t, ctx, l, "dir1", fmt.Sprintf("sh -c '%s' sh %s", script, strings.Join(paths, " ")), "")
	if got, want := mustExec(t, ctx, l, "dir1", append([]string{"cat"}, paths...)...), strings.Repeat("written on dir1\n", len(paths)); got != want {
		t.Errorf("dir1: cat %v = %q, want %q", paths, got, want)
	}
	present := `for p; do if test -e "$p"; then echo "$p"; fi; done`
	if got := mustExec(t, ctx, l, "dir2", append([]string{"sh", "-c", present, "sh"}, paths...)...); got != "" {
		t.Errorf("written on dir1, present on dir2:\n%s", got)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written on dir1 is on the machine (stat: %v)", p, err)
		}
		if strings.HasPrefix(p, "/run/") || strings.HasPrefix(p, "/tmp/") {
			continue
		}
		if b, err := os.ReadFile(l.Hosts["dir1"].Path(p)); err != nil || string(b) != "written on dir1\n" {
			t.Errorf("dir1's scratch copy of %s: %q, %v", p, b, err)
		}
	}
}

// TestTmpIsPrivate: the machine's /tmp (where t.TempDir lives) is not seen
// on a host, TempDir is seen on every host at the same path, and the same
// file name in /tmp holds each host's own content (keepalived's fixed
// /tmp/keepalived.json on two directors).
func TestTmpIsPrivate(t *testing.T) {
	l := Start(t, Config{Hosts: []string{"dir1", "dir2"}})
	ctx := testCtx(t)

	onMachine := filepath.Join(t.TempDir(), "machine-file")
	if err := os.WriteFile(onMachine, []byte("machine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(TempDir(t), "shared-file")
	if err := os.WriteFile(shared, []byte("shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "/tmp/" + uniqueName(t) + ".json"
	for _, host := range l.Order {
		if out, err := l.Exec(ctx, host, "test", "-e", onMachine); err == nil {
			t.Errorf("host %s sees the machine's %s (%s)", host, onMachine, out)
		}
		if got := mustExec(t, ctx, l, host, "cat", shared); got != "shared\n" {
			t.Errorf("host %s: TempDir file reads %q", host, got)
		}
		mustExec(t, ctx, l, host, "sh", "-c", `hostname > "$1"`, "sh", name)
		if got := strings.TrimSpace(mustExec(t, ctx, l, host, "stat", "-f", "-c", "%T", "/tmp")); got != "tmpfs" {
			t.Errorf("host %s: /tmp is %s, want tmpfs", host, got)
		}
	}
	for _, host := range l.Order {
		if got := strings.TrimSpace(mustExec(t, ctx, l, host, "cat", name)); got != host {
			t.Errorf("host %s: %s holds %q, written by another host", host, name, got)
		}
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s written on the hosts is on the machine (stat: %v)", name, err)
	}
}

func TestDownLeavesNothing(t *testing.T) {
	requireLab(t)
	ctx := testCtx(t)
	cfg := Config{Name: TestName, Subnet: TestSubnet, Hosts: []string{"dir1", "rs1"}}
	// A namespace named like the lab's, but not the lab's, stays.
	foreign := TestName + "-foreign"
	run(t, "ip", "netns", "add", foreign)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", foreign).Run() })
	l, err := Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	downed := false
	t.Cleanup(func() {
		if !downed {
			_ = l.Down(context.Background())
		}
	})

	// Something started later in a host: haproxy over SSH (daemonized), and
	// a stray process through Command.
	rs1 := l.Hosts["rs1"]
	sshRun(t, ctx, l, "rs1", "cat > /etc/haproxy/haproxy.cfg", fmt.Sprintf(`global
  pidfile /run/haproxy.pid
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend web
  bind %s:8080
  http-request return status 200 content-type text/plain string "served by rs1"
`, rs1.Addr))
	sshRun(t, ctx, l, "rs1", "haproxy -c -f /etc/haproxy/haproxy.cfg >/dev/null && haproxy -D -f /etc/haproxy/haproxy.cfg", "")
	resp, err := http.Get("http://" + rs1.Addr.String() + ":8080/")
	if err != nil {
		t.Fatalf("haproxy on rs1: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "served by rs1" {
		t.Errorf("haproxy on rs1 answered %q", body)
	}
	stray, err := l.Command(ctx, "dir1", "sleep", "300")
	if err != nil {
		t.Fatal(err)
	}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = stray.Wait() }()

	var pids []int
	for _, h := range l.Order {
		for _, f := range []string{"/run/sshd.pid", "/run/haproxy.pid"} {
			out, err := l.Exec(ctx, h, "cat", f)
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatalf("host %s: %s: %v", h, f, err)
			}
			pids = append(pids, pid)
		}
	}
	if len(pids) != 3 {
		t.Fatalf("want pids of 2 sshd and 1 haproxy, got %v", pids)
	}
	pids = append(pids, stray.Process.Pid)

	began := time.Now()
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	downed = true
	t.Logf("down in %v", time.Since(began).Round(time.Millisecond))

	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d survives Down", pid)
		}
	}
	prefix := TestName + "-"
	if out := run(t, "ip", "netns", "list"); strings.Count(out, prefix) != 1 || !strings.Contains(out, foreign) {
		t.Errorf("want only %s left, namespaces are:\n%s", foreign, out)
	}
	if out := run(t, "ip", "-o", "link"); strings.Contains(out, prefix) {
		t.Errorf("links left:\n%s", out)
	}
	if mounts, err := mountsUnder(l.Dir); err != nil || len(mounts) > 0 {
		t.Errorf("mounts left: %v %v", mounts, err)
	}
	for _, p := range []string{l.Dir, layout{l.cfg}.lockPath()} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left (stat: %v)", p, err)
		}
	}
	if err := l.Down(ctx); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

func TestUpReplacesLabLeftByDeadProcess(t *testing.T) {
	requireLab(t)
	ctx := testCtx(t)
	cfg := Config{Name: TestName, Subnet: TestSubnet, Hosts: []string{"dir1"}}
	old, err := Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	oldPID := strings.TrimSpace(mustExec(t, ctx, old, "dir1", "cat", "/run/sshd.pid"))
	oldKey := old.Hosts["dir1"].HostKey
	// The process that brought it up exits: its lock goes, the lab stays.
	old.Release()

	l, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("up over a stale lab: %v", err)
	}
	t.Cleanup(func() { _ = l.Down(context.Background()) })
	if pid, _ := strconv.Atoi(oldPID); alive(pid) {
		t.Errorf("old sshd %d survives the new Up", pid)
	}
	if bytes.Equal(oldKey.Marshal(), l.Hosts["dir1"].HostKey.Marshal()) {
		t.Error("new lab reuses the old host key")
	}
	if got := strings.TrimSpace(sshRun(t, ctx, l, "dir1", "hostname", "")); got != "dir1" {
		t.Errorf("hostname = %q", got)
	}
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestKeepalivedFailover runs keepalived (VRRP only: the kernel has no IPVS;
// VRRPv3 for sub-second adverts, which keeps the test short) on two hosts, each with its own /etc/keepalived and its default pid files
// in its own /run, and sees the VIP move when the master stops.
func TestKeepalivedFailover(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		unavailable(t, "keepalived is not installed")
	}
	l := Start(t, Config{Hosts: []string{"dir1", "dir2"}})
	ctx := testCtx(t)
	vip := vipOf(l.Subnet)
	prio := map[string]int{"dir1": 120, "dir2": 100}
	state := map[string]string{"dir1": "MASTER", "dir2": "BACKUP"}
	start := "setsid keepalived -P -n -l -D -f /etc/keepalived/keepalived.conf </dev/null >/run/keepalived.log 2>&1 &"
	hasVIP := func(host string) bool {
		return strings.Contains(mustExec(t, ctx, l, host, "ip", "-o", "-4", "addr", "show", "dev", HostInterface), " "+vip.String()+"/")
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range l.Order {
				out, _ := l.Exec(context.Background(), h, "cat", "/run/keepalived.log")
				t.Logf("host %s: keepalived log:\n%s", h, out)
			}
		}
	})

	for _, host := range l.Order {
		sshRun(t, ctx, l, host, "cat > /etc/keepalived/keepalived.conf", fmt.Sprintf(`global_defs {
  router_id %s
  vrrp_version 3
}
vrrp_instance VI_1 {
  state %s
  interface %s
  virtual_router_id 51
  priority %d
  advert_int 0.1
  virtual_ipaddress {
    %s/%d dev %s
  }
}
`, host, state[host], HostInterface, prio[host], vip, l.Subnet.Bits(), HostInterface))
		sshRun(t, ctx, l, host, start, "")
		if host == "dir1" {
			took := poll(t, 10*time.Second, "dir1 to hold the VIP", func() bool { return hasVIP("dir1") })
			t.Logf("dir1 master after %v", took.Round(time.Millisecond))
		}
	}
	poll(t, 10*time.Second, "dir2 to enter BACKUP", func() bool {
		log, _ := l.Exec(ctx, "dir2", "cat", "/run/keepalived.log")
		return bytes.Contains(log, []byte("Entering BACKUP STATE"))
	})
	if hasVIP("dir2") {
		t.Fatal("dir2 holds the VIP while dir1 is master")
	}
	if _, err := os.Stat("/run/keepalived.pid"); err == nil {
		t.Error("/run/keepalived.pid exists on the machine: the hosts' /run is not private")
	}

	sshRun(t, ctx, l, "dir1", "kill $(cat /run/keepalived.pid)", "")
	took := poll(t, 10*time.Second, "dir2 to take the VIP over", func() bool { return hasVIP("dir2") })
	t.Logf("failover to dir2 after SIGTERM of dir1's keepalived: %v", took.Round(time.Millisecond))
	poll(t, 5*time.Second, "dir1 to release the VIP", func() bool { return !hasVIP("dir1") })
}

// vipOf is the subnet's .100 address, which the lab never assigns.
func vipOf(subnet netip.Prefix) netip.Addr {
	a := subnet.Addr().As4()
	a[3] += 100
	return netip.AddrFrom4(a)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no hosts", Config{}, "no hosts"},
		{"dash in lab name", Config{Name: "my-lab", Hosts: []string{"a"}}, `lab name "my-lab"`},
		{"lab name too long", Config{Name: "abcdefghijk", Hosts: []string{"a"}}, "lab name"},
		{"bad host", Config{Hosts: []string{"Dir1"}}, `host name "Dir1"`},
		{"duplicate host", Config{Hosts: []string{"a", "a"}}, `host "a" listed twice`},
		{"small subnet", Config{Hosts: []string{"a"}, Subnet: netip.MustParsePrefix("10.1.0.0/26")}, "/25 or wider"},
		{"ipv6 subnet", Config{Hosts: []string{"a"}, Subnet: netip.MustParsePrefix("fd00::/64")}, "IPv4"},
		{"relative dir", Config{Hosts: []string{"a"}, Dir: "tmp"}, "absolute path"},
		{"private /run", Config{Hosts: []string{"a"}, PrivateDirs: []string{"/run"}}, `private dir "/run"`},
		{"private /tmp", Config{Hosts: []string{"a"}, PrivateDirs: []string{"/tmp"}}, `private dir "/tmp"`},
		{"scratch dir in /tmp", Config{Hosts: []string{"a"}, Dir: "/tmp/lab"}, `scratch dir "/tmp/lab"`},
		{"unclean private dir", Config{Hosts: []string{"a"}, PrivateDirs: []string{"/etc/x/"}}, `private dir "/etc/x/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.withDefaults().validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	ok := Config{Hosts: []string{"dir1", "rs-1"}}.withDefaults()
	if err := ok.validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if got := (layout{ok}).addr(1); got != netip.MustParseAddr("10.77.0.12") {
		t.Errorf("second host's address = %s", got)
	}
}

// BenchmarkUpDown measures bringing a three-host lab up (sshd answering on
// every host) and down.
func BenchmarkUpDown(b *testing.B) {
	requireLab(b)
	cfg := Config{Name: TestName, Subnet: TestSubnet, Hosts: []string{"dir1", "dir2", "rs1"}}
	var up, down time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		began := time.Now()
		l, err := Up(ctx, cfg)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		mid := time.Now()
		err = l.Down(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		up, down = up+mid.Sub(began), down+time.Since(mid)
	}
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "up-ms/op")
	b.ReportMetric(float64(down.Milliseconds())/float64(b.N), "down-ms/op")
}

// requireLab stops a test that calls Up directly where Start would skip.
func requireLab(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the network-namespace lab needs root")
	}
	if _, err := sshdPath(); err != nil {
		unavailable(t, "the network-namespace lab needs OpenSSH's sshd")
	}
}

// alive reports whether pid runs (a zombie does not: this machine's init
// may not reap daemons' parents).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// run runs a command on the machine and returns its output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}

// TestEtcIsPrivate: an agent writes outside its own directories too
// (/etc/rc.local, /etc/systemd/system). Whatever a host writes anywhere
// under /etc must stay on that host.
func TestEtcIsPrivate(t *testing.T) {
	l := Start(t, Config{Hosts: []string{"dir1", "dir2"}})
	ctx := testCtx(t)
	name := "/etc/" + uniqueName(t) + ".conf"
	t.Cleanup(func() { _ = os.Remove(name) })
	for _, host := range l.Order {
		mustExec(t, ctx, l, host, "sh", "-c", `hostname > "$1"`, "sh", name)
	}
	for _, host := range l.Order {
		if got := strings.TrimSpace(mustExec(t, ctx, l, host, "cat", name)); got != host {
			t.Errorf("host %s: %s holds %q, written by another host", host, name, got)
		}
		// The machine's own /etc is still readable through the overlay.
		if _, err := l.Exec(ctx, host, "test", "-s", "/etc/passwd"); err != nil {
			t.Errorf("host %s cannot read /etc/passwd: %v", host, err)
		}
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s written on the hosts is on the machine (stat: %v)", name, err)
	}
}
