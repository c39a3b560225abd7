package transport

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sh runs a setup command or fails the test.
func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a network namespace with lo up, deleted when the test ends.
func newNetns(t *testing.T, name string) {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// bastionLab builds root ns <-> B <-> T with veth pairs: the bastion's
// namespace B is reachable from here, the target's namespace T only from B
// (B does not forward). It returns the namespaces and addresses.
type bastionLab struct {
	bastionNS, targetNS                 string
	bastionIP, bastionInnerIP, targetIP string
}

func newBastionLab(t *testing.T) bastionLab {
	t.Helper()
	requireRoot(t)
	requireTool(t, "ip")
	id := os.Getpid() % 100000
	n := id%250 + 1
	l := bastionLab{
		bastionNS: fmt.Sprintf("lvst%db", id), targetNS: fmt.Sprintf("lvst%dt", id),
		bastionIP: fmt.Sprintf("10.250.%d.2", n), bastionInnerIP: fmt.Sprintf("10.251.%d.1", n), targetIP: fmt.Sprintf("10.251.%d.2", n),
	}
	newNetns(t, l.bastionNS)
	newNetns(t, l.targetNS)
	rootSide := fmt.Sprintf("lvt%dr", id)
	sh(t, "ip", "link", "add", rootSide, "type", "veth", "peer", "name", "eth0", "netns", l.bastionNS)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", rootSide).Run() })
	sh(t, "ip", "addr", "add", fmt.Sprintf("10.250.%d.1/30", n), "dev", rootSide)
	sh(t, "ip", "link", "set", rootSide, "up")
	sh(t, "ip", "-n", l.bastionNS, "addr", "add", l.bastionIP+"/30", "dev", "eth0")
	sh(t, "ip", "-n", l.bastionNS, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", l.bastionNS, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", l.targetNS)
	sh(t, "ip", "-n", l.bastionNS, "addr", "add", l.bastionInnerIP+"/30", "dev", "eth1")
	sh(t, "ip", "-n", l.bastionNS, "link", "set", "eth1", "up")
	sh(t, "ip", "-n", l.targetNS, "addr", "add", l.targetIP+"/30", "dev", "eth0")
	sh(t, "ip", "-n", l.targetNS, "link", "set", "eth0", "up")
	// A direct attempt goes to B, which drops it: no packet leaves the machine.
	sh(t, "ip", "route", "add", fmt.Sprintf("10.251.%d.0/30", n), "via", l.bastionIP)
	return l
}

func TestBastion(t *testing.T) {
	lab := newBastionLab(t)
	bastionSigner, bastionPEM := newClientKey(t, "")
	targetSigner, targetPEM := newClientKey(t, "")
	bastion := startSSHD(t, sshdOptions{netns: lab.bastionNS, listenIP: lab.bastionIP,
		authorizedKeys: []ssh.PublicKey{bastionSigner.PublicKey()}})
	target := startSSHD(t, sshdOptions{netns: lab.targetNS, listenIP: lab.targetIP,
		authorizedKeys: []ssh.PublicKey{targetSigner.PublicKey()}})

	// Each hop with its own key and host-key policy.
	jump := Config{Host: lab.bastionIP, User: "root", PrivateKey: bastionPEM,
		KnownHostsFiles: []string{bastion.knownHosts(t, bastion.hostKeys[0])}}
	cfg := target.config(targetPEM)
	cfg.Bastion = &jump
	log := &recordingLogger{}
	p := newPool(t, log)
	h := mustHost(t, p, cfg)
	if want := "root@" + target.addr() + " via root@" + bastion.addr(); h.String() != want {
		t.Errorf("ID %q, want %q", h, want)
	}

	for i := 0; i < 3; i++ {
		res, err := h.Run(t.Context(), Command{Step: "where", Args: []string{"sh", "-c", `echo "$SSH_CONNECTION"`}})
		if err != nil {
			t.Fatal(err)
		}
		// SSH_CONNECTION: client-ip client-port server-ip server-port
		if f := strings.Fields(string(res.Stdout)); len(f) != 4 || f[0] != lab.bastionInnerIP || f[2] != lab.targetIP {
			t.Fatalf("target saw SSH_CONNECTION %q, want the bastion %s as client", res.Stdout, lab.bastionInnerIP)
		}
	}
	if n := target.logCount("Accepted publickey for root from " + lab.bastionInnerIP); n != 1 {
		t.Errorf("target logged %d logins from the bastion, want 1:\n%s", n, target.log())
	}
	if n := bastion.logCount("Accepted publickey for root"); n != 1 {
		t.Errorf("bastion logged %d logins, want 1 (shared)", n)
	}

	t.Run("target unreachable directly", func(t *testing.T) {
		direct := cfg
		direct.Bastion, direct.ConnectTimeout = nil, 300*time.Millisecond
		err := runOnce(t, direct)
		if err == nil || !IsTransient(err) {
			t.Fatalf("direct connection: got %v, want a transient failure", err)
		}
	})

	t.Run("bastion connection dropped", func(t *testing.T) {
		for _, pid := range bastion.sessionPIDs(t) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		if got := whoami(t, h); got != "root" {
			t.Fatalf("after the bastion dropped: %q", got)
		}
		if b, tg := bastion.logCount("Accepted publickey"), target.logCount("Accepted publickey"); b != 2 || tg != 2 {
			t.Errorf("logins after reconnect: bastion %d, target %d; want 2 and 2", b, tg)
		}
	})

	t.Run("bastion host key mismatch", func(t *testing.T) {
		impostor, _ := newHostKey(t, "ed25519")
		bad := jump
		bad.KnownHostsFiles = []string{bastion.knownHosts(t, impostor.PublicKey())}
		c := cfg
		c.Bastion = &bad
		err := runOnce(t, c)
		var hke *HostKeyError
		if !errors.As(err, &hke) || hke.Host != bastion.addr() || !strings.Contains(err.Error(), "through bastion root@"+bastion.addr()) {
			t.Fatalf("got %v, want a HostKeyError for the bastion", err)
		}
	})
}
