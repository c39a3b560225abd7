//go:build linux

package vm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// run runs command on v and fails the test when it does not exit 0.
func run(t *testing.T, v *VM, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := v.Run(ctx, command, nil)
	if err != nil {
		t.Fatalf("%v\nstdout: %s", err, res.Stdout)
	}
	return res.Stdout
}

// TestIPVS boots one VM and checks what the director tests rely on: IPVS
// through ipvsadm and through netlink from a static Go binary, every
// scheduler, ipip, keepalived with a virtual_server, and SSH on the second
// NIC through a host bridge.
func TestIPVS(t *testing.T) {
	Require(t)
	bridge, hostAddr, vmAddr := testBridge(t)
	v := Start(t, Config{Name: "ipvs1", Bridge: bridge, BridgeAddr: vmAddr})

	t.Run("kernel", func(t *testing.T) {
		cache, err := LoadCache(CacheDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(run(t, v, "uname -r")); got != cache.KernelVersion {
			t.Errorf("uname -r = %q, want the cached kernel %q", got, cache.KernelVersion)
		}
		if got := strings.TrimSpace(run(t, v, "hostname")); got != "ipvs1" {
			t.Errorf("hostname = %q, want ipvs1", got)
		}
	})

	t.Run("ipvsadm", func(t *testing.T) {
		out := run(t, v, "ipvsadm -C && ipvsadm -A -t 10.0.0.1:80 -s rr && "+
			"ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 3 && ipvsadm -Ln")
		want := [][]string{
			{"TCP", "10.0.0.1:80", "rr"},
			{"->", "10.0.0.2:80", "Route", "3", "0", "0"},
		}
		assertTable(t, out, want)
		// The kernel's own view, not ipvsadm's.
		if procTable := run(t, v, "cat /proc/net/ip_vs"); !strings.Contains(procTable, "0A000001:0050 rr") {
			t.Errorf("/proc/net/ip_vs has no 10.0.0.1:80 rr service:\n%s", procTable)
		}
	})

	t.Run("go-netlink", func(t *testing.T) {
		bin := buildProbe(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := v.Upload(ctx, "/tmp/ipvsprobe", bin, 0o755); err != nil {
			t.Fatal(err)
		}
		run(t, v, "ipvsadm -C && ipvsadm -A -t 10.0.0.1:80 -s wrr && ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 3")
		out := run(t, v, "/tmp/ipvsprobe")
		for _, want := range []string{"service TCP 10.0.0.1:80 wrr", "dest 10.0.0.2:80 DirectRoute weight=3"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("ipvsprobe output lacks %q:\n%s", want, out)
			}
		}
		if !regexp.MustCompile(`(?m)^version 1\.\d+\.\d+$`).MatchString(out) {
			t.Errorf("ipvsprobe printed no IPVS version:\n%s", out)
		}
	})

	t.Run("schedulers", func(t *testing.T) {
		// Each scheduler is a module the kernel loads on first use.
		schedulers := []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"}
		var script strings.Builder
		script.WriteString("set -e; ipvsadm -C\n")
		for i, s := range schedulers {
			fmt.Fprintf(&script, "ipvsadm -A -t 10.0.1.%d:80 -s %s\n", i+1, s)
		}
		script.WriteString("ipvsadm -Ln")
		out := run(t, v, script.String())
		var want [][]string
		for i, s := range schedulers {
			want = append(want, []string{"TCP", fmt.Sprintf("10.0.1.%d:80", i+1), s})
		}
		assertTable(t, out, want)
		run(t, v, "ipvsadm -C")
	})

	t.Run("ipip", func(t *testing.T) {
		out := run(t, v, "modprobe ipip && ip -d link show tunl0")
		if !strings.Contains(out, "ipip") {
			t.Errorf("tunl0 is not an ipip device:\n%s", out)
		}
	})

	t.Run("keepalived", func(t *testing.T) {
		good := keepalivedConfig("lb_algo wlc")
		bad := keepalivedConfig("lb_algo wlc\n    no_such_keyword 1")
		checkKeepalived(t, v, good, 0)
		checkKeepalived(t, v, bad, 5)
		// And keepalived programs the kernel from that virtual_server.
		run(t, v, "ipvsadm -C")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := v.Upload(ctx, "/etc/keepalived/keepalived.conf", []byte(good), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, v, "keepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid")
		defer run(t, v, "kill $(cat /run/keepalived.pid); ipvsadm -C")
		out := run(t, v, "for i in $(seq 50); do ipvsadm -Ln | grep -q 10.0.3.22 && break; sleep 0.2; done; ipvsadm -Ln")
		assertTable(t, out, [][]string{
			{"TCP", "10.0.3.100:80", "wlc"},
			{"->", "10.0.3.21:80", "Route", "2", "0", "0"},
			{"->", "10.0.3.22:80", "Route", "1", "0", "0"},
		})
	})

	t.Run("bridge", func(t *testing.T) {
		// SSH through the tap on the bridge, checked by the same known_hosts.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client, err := v.dial(ctx, netip.AddrPortFrom(v.BridgeAddr, 22).String(), 30*time.Second)
		if err != nil {
			t.Fatalf("ssh from the bridge (%v): %v", hostAddr, err)
		}
		defer client.Close()
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Output("ip -4 -o addr show dev eth1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), vmAddr.String()) {
			t.Errorf("eth1 lacks %v:\n%s", vmAddr, out)
		}
	})
}

// TestReboot checks that the persistent disk survives a reboot while the
// kernel state does not, and that the boot applies /etc/sysctl.d and runs
// /etc/rc.local (the VM's restore-at-boot hooks).
func TestReboot(t *testing.T) {
	v := Start(t, Config{Name: "reboot1"})
	before := strings.TrimSpace(run(t, v, "cat /proc/sys/kernel/random/boot_id"))
	run(t, v, `set -e
echo agent-state > /var/lib/lvs-agent/state
echo 'vrrp_instance x {}' > /etc/keepalived/keepalived.conf
echo net.ipv4.ip_forward=1 > /etc/sysctl.d/90-lvs.conf
printf '#!/bin/sh\nipvsadm -A -t 10.9.9.9:443 -s wlc\n' > /etc/rc.local
chmod 755 /etc/rc.local
echo volatile > /tmp/volatile
ipvsadm -A -t 10.0.0.1:80 -s rr`)
	if got := run(t, v, "ipvsadm -Sn"); !strings.Contains(got, "-A -t 10.0.0.1:80 -s rr") {
		t.Fatalf("the IPVS service was not added before the reboot:\n%s", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), DefaultBootTimeout)
	defer cancel()
	if err := v.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot to SSH took %v", v.BootTime.Round(100*time.Millisecond))

	if after := strings.TrimSpace(run(t, v, "cat /proc/sys/kernel/random/boot_id")); after == before {
		t.Errorf("boot id %s unchanged: the VM did not reboot", after)
	}
	for file, want := range map[string]string{
		"/var/lib/lvs-agent/state":        "agent-state\n",
		"/etc/keepalived/keepalived.conf": "vrrp_instance x {}\n",
		"/proc/sys/net/ipv4/ip_forward":   "1\n", // restored from /etc/sysctl.d at boot
	} {
		if got := run(t, v, "cat "+file); got != want {
			t.Errorf("after reboot %s = %q, want %q", file, got, want)
		}
	}
	// Only what /etc/rc.local restored at boot: the service added by hand is gone.
	if got := run(t, v, "ipvsadm -Sn"); got != "-A -t 10.9.9.9:443 -s wlc\n" {
		t.Errorf("IPVS table after reboot = %q, want only the service /etc/rc.local adds", got)
	}
	if _, err := v.Run(ctx, "test -e /tmp/volatile", nil); err == nil {
		t.Errorf("/tmp/volatile survived the reboot: /tmp is not a fresh tmpfs")
	} else if ce := new(CommandError); !errors.As(err, &ce) {
		t.Fatal(err)
	}
}

// assertTable checks that each row of want is a line of out, field by field.
func assertTable(t *testing.T, out string, want [][]string) {
	t.Helper()
	lines := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		lines[strings.Join(strings.Fields(line), " ")] = true
	}
	for _, row := range want {
		if !lines[strings.Join(row, " ")] {
			t.Errorf("no line %q in:\n%s", strings.Join(row, " "), out)
		}
	}
}

// keepalivedConfig is a director config with one DR virtual server whose
// block holds the given lines.
func keepalivedConfig(vsLines string) string {
	return `global_defs {
    router_id vmtest
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.0.3.100/32 dev eth0
    }
}
virtual_server 10.0.3.100 80 {
    delay_loop 6
    ` + vsLines + `
    lb_kind DR
    protocol TCP
    real_server 10.0.3.21 80 {
        weight 2
    }
    real_server 10.0.3.22 80 {
        weight 1
    }
}
`
}

// checkKeepalived runs keepalived -t on config in the VM and checks its
// exit status.
func checkKeepalived(t *testing.T, v *VM, config string, wantStatus int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := v.Run(ctx, "cat > /tmp/check.conf && keepalived -t -f /tmp/check.conf", strings.NewReader(config))
	var ce *CommandError
	if err != nil && !errors.As(err, &ce) {
		t.Fatal(err)
	}
	if res.ExitStatus != wantStatus {
		t.Errorf("keepalived -t exited %d, want %d; stderr:\n%s\nconfig:\n%s", res.ExitStatus, wantStatus, res.Stderr, config)
	}
}

// buildProbe builds testdata/ipvsprobe as a static binary (its own module,
// so the probe's dependencies do not depend on the main module's tidiness).
func buildProbe(t *testing.T) []byte {
	t.Helper()
	requireTool(t, "go")
	out := filepath.Join(t.TempDir(), "ipvsprobe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "ipvsprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ipvsprobe: %v\n%s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// testBridge creates a bridge for the test with a /24 of 10.79.0.0/16
// chosen by the process id (so concurrent runs and the namespace lab's
// 10.77.0.0/24 do not collide) and returns its name, the host's address on
// it and an address for a VM.
func testBridge(t *testing.T) (name string, host, vm netip.Prefix) {
	t.Helper()
	n := os.Getpid() % 250
	name = fmt.Sprintf("lvsvmt%d", n)
	host = netip.MustParsePrefix(fmt.Sprintf("10.79.%d.1/24", n))
	vm = netip.MustParsePrefix(fmt.Sprintf("10.79.%d.2/24", n))
	if err := ip("link", "add", name, "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ip("link", "del", name); err != nil {
			t.Error(err)
		}
	})
	if err := ip("addr", "add", host.String(), "dev", name); err != nil {
		t.Fatal(err)
	}
	if err := ip("link", "set", name, "up"); err != nil {
		t.Fatal(err)
	}
	return name, host, vm
}
