//go:build linux

package netns

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sys/unix"
)

// hostSetup prepares a host's mount and UTS namespaces; see the script.
//
//go:embed hostsetup.sh
var hostSetup string

// Time limits of the steps that wait on processes. Up and Down also honour
// their context.
const (
	sshWait      = 20 * time.Second       // sshd listening, when ctx has no deadline
	pollInterval = 20 * time.Millisecond  // between checks of a condition
	termGrace    = 3 * time.Second        // SIGTERM to SIGKILL
	killGrace    = 2 * time.Second        // SIGKILL to giving up
	lockPoll     = 100 * time.Millisecond // between tries of a held lab lock
)

// state is what Up records in the lab's state.json, for Attach and Teardown.
type state struct {
	Hosts       []string `json:"hosts"`
	Subnet      string   `json:"subnet"`
	PrivateDirs []string `json:"private_dirs"`
	// CreatedDirs are mount points Up had to create on the machine; Down
	// leaves them (see removeScratch).
	CreatedDirs []string `json:"created_dirs,omitempty"`
}

// Up builds the lab described by cfg and returns once every host's sshd
// accepts connections. A lab of the same name left by an earlier run is torn
// down first; a lab of the same name held by a running process is waited for.
// On error, whatever Up built is torn down again.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sshWait)
		defer cancel()
	}
	y := layout{cfg}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab %s: create scratch dir: %w", cfg.Name, err)
	}
	lock, err := acquireLock(ctx, y.lockPath())
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", cfg.Name, err)
	}
	l := newLab(y, lock)
	if err := l.build(ctx); err != nil {
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*termGrace)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("lab %s: up: %w", cfg.Name, err), l.Down(cleanupCtx))
	}
	return l, nil
}

// newLab fills in a Lab's names and paths from its layout; keys come later.
func newLab(y layout, lock *os.File) *Lab {
	l := &Lab{
		Name:           y.cfg.Name,
		Dir:            y.labDir(),
		Bridge:         y.bridge(),
		Gateway:        y.gateway(),
		Subnet:         y.cfg.Subnet,
		Hosts:          make(map[string]*Host, len(y.cfg.Hosts)),
		Order:          append([]string(nil), y.cfg.Hosts...),
		KnownHostsPath: y.knownHosts(),
		ClientKeyPath:  y.clientKey(),
		SSHConfigPath:  y.sshConfig(),
		cfg:            y.cfg,
		lock:           lock,
	}
	for i, name := range y.cfg.Hosts {
		l.Hosts[name] = &Host{
			Name:           name,
			Namespace:      y.namespace(name),
			Addr:           y.addr(i),
			SSHPort:        SSHPort,
			User:           User,
			KnownHostsPath: l.KnownHostsPath,
			ClientKeyPath:  l.ClientKeyPath,
			Dir:            y.hostDir(name),
			Root:           filepath.Join(y.hostDir(name), "root"),
		}
	}
	return l
}

// build does Up's work under the lab lock.
func (l *Lab) build(ctx context.Context) error {
	y := layout{l.cfg}
	if err := teardown(ctx, y); err != nil {
		return fmt.Errorf("remove the previous lab: %w", err)
	}
	if err := checkSubnetFree(l.Subnet); err != nil {
		return err
	}
	// The state is written before anything is created: teardown removes
	// only what it lists, never another lab's or tool's namespaces.
	st := state{Hosts: l.Order, Subnet: l.Subnet.String(), PrivateDirs: y.cfg.PrivateDirs}
	if err := os.MkdirAll(y.labDir(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", y.labDir(), err)
	}
	if err := writeJSON(y.statePath(), st); err != nil {
		return err
	}
	created, err := l.writeFiles(y)
	st.CreatedDirs = created
	if err != nil {
		return err
	}
	if err := l.createNetwork(ctx, y); err != nil {
		return err
	}
	if err := l.eachHost(func(h *Host) error { return l.startHost(ctx, y, h) }); err != nil {
		return err
	}
	if err := l.eachHost(func(h *Host) error { return waitSSH(ctx, h) }); err != nil {
		return err
	}
	return writeJSON(y.statePath(), st)
}

// eachHost runs fn for every host concurrently and joins their errors.
func (l *Lab) eachHost(fn func(*Host) error) error {
	errs := make([]error, len(l.Order))
	var wg sync.WaitGroup
	for i, name := range l.Order {
		wg.Go(func() { errs[i] = fn(l.Hosts[name]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeFiles fills the scratch directory: keys, known_hosts, sshd configs,
// ssh_config and each host's private directories. It returns the mount
// points it created on the machine.
func (l *Lab) writeFiles(y layout) (createdDirs []string, err error) {
	if err := makePrivateMount(y.nsDir()); err != nil {
		return createdDirs, err
	}
	pemBytes, clientPub, err := newKey(y.clientKey(), "lvs-lab-"+l.Name)
	if err != nil {
		return createdDirs, fmt.Errorf("client key: %w", err)
	}
	l.ClientKeyPEM = pemBytes
	if err := os.WriteFile(y.authorizedKeys(), ssh.MarshalAuthorizedKey(clientPub), 0o644); err != nil {
		return createdDirs, fmt.Errorf("write authorized_keys: %w", err)
	}
	var known, sshConfig bytes.Buffer
	for _, name := range l.Order {
		h := l.Hosts[name]
		h.ClientKeyPEM = pemBytes
		if err := os.MkdirAll(h.Root, 0o755); err != nil {
			return createdDirs, fmt.Errorf("host %s: create scratch dir: %w", name, err)
		}
		_, hostPub, err := newKey(filepath.Join(h.Dir, "ssh_host_ed25519_key"), name)
		if err != nil {
			return createdDirs, fmt.Errorf("host %s: host key: %w", name, err)
		}
		h.HostKey = hostPub
		fmt.Fprintln(&known, knownhosts.Line([]string{h.SSHAddr()}, hostPub))
		fmt.Fprintf(&sshConfig, "Host %s %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n\n",
			name, h.Addr, h.Addr, h.SSHPort, h.User, h.ClientKeyPath, h.KnownHostsPath)
		if err := os.WriteFile(filepath.Join(h.Dir, "sshd_config"), sshdConfig(y, h), 0o644); err != nil {
			return createdDirs, fmt.Errorf("host %s: write sshd_config: %w", name, err)
		}
		created, err := seedPrivateDirs(h, y.cfg.PrivateDirs)
		createdDirs = append(createdDirs, created...)
		if err != nil {
			return createdDirs, fmt.Errorf("host %s: %w", name, err)
		}
	}
	if err := os.WriteFile(y.knownHosts(), known.Bytes(), 0o644); err != nil {
		return createdDirs, fmt.Errorf("write known_hosts: %w", err)
	}
	if err := os.WriteFile(y.sshConfig(), sshConfig.Bytes(), 0o644); err != nil {
		return createdDirs, fmt.Errorf("write ssh_config: %w", err)
	}
	return createdDirs, nil
}

// makePrivateMount creates dir as a bind mount of itself with private
// propagation: unshare(1) can persist a mount namespace only on such a mount.
func makePrivateMount(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s a private mount: %w", dir, err)
	}
	return nil
}

// sshdConfig is host h's sshd_config: key-only root login with the lab's
// client key. StrictModes is off because the keys live in a scratch directory
// whose parents sshd does not trust; PAM is off because no account setup is
// wanted.
func sshdConfig(y layout, h *Host) []byte {
	return fmt.Appendf(nil, `# lab host %[1]s (generated)
ListenAddress %[2]s
HostKey %[3]s/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile %[4]s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
`, h.Name, h.SSHAddr(), h.Dir, y.authorizedKeys())
}

// seedPrivateDirs creates h's private copy of each dir, seeded with the
// machine's content, and creates on the machine the mount points that are
// missing there. It returns the machine directories it created.
func seedPrivateDirs(h *Host, dirs []string) (created []string, err error) {
	for _, dir := range dirs {
		private := h.Path(dir)
		if err := os.MkdirAll(filepath.Dir(private), 0o755); err != nil {
			return created, fmt.Errorf("private %s: %w", dir, err)
		}
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return created, fmt.Errorf("create mount point %s on the machine: %w", dir, err)
			}
			created = append(created, dir)
		}
		if out, err := exec.Command("cp", "-a", "--", dir, private).CombinedOutput(); err != nil {
			return created, fmt.Errorf("copy %s: %w: %s", dir, err, bytes.TrimSpace(out))
		}
	}
	return created, nil
}

// createNetwork creates the bridge, the namespaces and the veths, with one
// `ip -batch` in the root namespace and one in each host's namespace.
func (l *Lab) createNetwork(ctx context.Context, y layout) error {
	bits := l.Subnet.Bits()
	root := []string{
		fmt.Sprintf("link add %s type bridge forward_delay 0 mcast_snooping 0", l.Bridge),
		fmt.Sprintf("addr add %s/%d dev %s", l.Gateway, bits, l.Bridge),
		fmt.Sprintf("link set %s up", l.Bridge),
	}
	for i, name := range l.Order {
		h, veth := l.Hosts[name], y.veth(i)
		root = append(root,
			"netns add "+h.Namespace,
			fmt.Sprintf("link add %s type veth peer name %s netns %s", veth, HostInterface, h.Namespace),
			fmt.Sprintf("link set %s alias %s master %s up", veth, name, l.Bridge),
		)
	}
	if err := ipBatch(ctx, nil, root); err != nil {
		return fmt.Errorf("create bridge %s and namespaces: %w", l.Bridge, err)
	}
	return l.eachHost(func(h *Host) error {
		err := ipBatch(ctx, []string{"-n", h.Namespace}, []string{
			"link set lo up",
			fmt.Sprintf("addr add %s/%d dev %s", h.Addr, bits, HostInterface),
			fmt.Sprintf("link set %s up", HostInterface),
			fmt.Sprintf("route add default via %s", l.Gateway),
		})
		if err != nil {
			return fmt.Errorf("host %s: configure %s: %w", h.Name, HostInterface, err)
		}
		return nil
	})
}

// ipBatch runs `ip [opts] -batch -` with the given commands on stdin.
func ipBatch(ctx context.Context, opts, cmds []string) error {
	args := append(append([]string{}, opts...), "-batch", "-")
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// startHost creates h's persisted mount and UTS namespaces, prepares them
// with hostsetup.sh, and starts sshd in them (sshd daemonizes).
func (l *Lab) startHost(ctx context.Context, y layout, h *Host) error {
	for _, f := range []string{y.mntNS(h.Name), y.utsNS(h.Name)} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return fmt.Errorf("host %s: create namespace file: %w", h.Name, err)
		}
	}
	args := []string{
		"--net=" + netnsPath(h.Namespace), "--",
		"unshare", "--mount=" + y.mntNS(h.Name), "--uts=" + y.utsNS(h.Name), "--propagation=private", "--",
		"sh", "-c", hostSetup, "hostsetup", h.Name, h.Root, y.nsDir(),
	}
	args = append(args, y.cfg.PrivateDirs...)
	if out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("host %s: set up namespaces: %w: %s", h.Name, err, bytes.TrimSpace(out))
	}
	sshd, err := sshdPath()
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	_, err = l.Exec(ctx, h.Name, sshd, "-f", filepath.Join(h.Dir, "sshd_config"), "-E", filepath.Join(h.Dir, "sshd.log"))
	if err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	return nil
}

// waitSSH waits until h's sshd sends its banner.
func waitSSH(ctx context.Context, h *Host) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := sshBanner(ctx, h.SSHAddr())
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: wait for sshd on %s: %w (last try: %w)", h.Name, h.SSHAddr(), ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// sshBanner connects to addr and reads an SSH server's version line.
func sshBanner(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("not an SSH banner: %q", line)
	}
	return nil
}

// checkSubnetFree fails when an interface of the machine already has an
// address in subnet: the lab's routes would clash with it.
func checkSubnetFree(subnet netip.Prefix) error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			return fmt.Errorf("list addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP.To4())
			if ok && (subnet.Contains(ip) || ipn.Contains(subnet.Addr().AsSlice())) {
				return fmt.Errorf("subnet %s is in use: %s has %s (choose another Config.Subnet, or take that lab down)", subnet, ifc.Name, ipn)
			}
		}
	}
	return nil
}

// Command returns a command that runs args inside host's namespaces
// (network, mount, UTS), as root. Start it for daemons that must outlive the
// call; Down kills whatever is still running there.
func (l *Lab) Command(ctx context.Context, host string, args ...string) (*exec.Cmd, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("host %s: no command", host)
	}
	y := layout{l.cfg}
	ns := []string{"--net=" + netnsPath(h.Namespace), "--mount=" + y.mntNS(host), "--uts=" + y.utsNS(host), "--wd=/", "--"}
	return exec.CommandContext(ctx, "nsenter", append(ns, args...)...), nil
}

// Exec runs args inside host's namespaces and returns its standard output.
// A failure is an *ExecError carrying the standard error.
func (l *Lab) Exec(ctx context.Context, host string, args ...string) ([]byte, error) {
	cmd, err := l.Command(ctx, host, args...)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &ExecError{Host: host, Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}

// Down tears the lab down: kills every process in its namespaces, unmounts,
// deletes namespaces, veths, bridge and scratch directory, and releases the
// lab lock. Calling it again is harmless.
func (l *Lab) Down(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return Teardown(ctx, l.cfg)
	}
	y := layout{l.cfg}
	err := teardown(ctx, y)
	if err == nil {
		err = removeLock(y)
	}
	releaseLock(l.lock)
	l.lock = nil
	if err != nil {
		return fmt.Errorf("lab %s: down: %w", l.Name, err)
	}
	return nil
}

// Release lets go of the lab without tearing it down: the lock is released,
// so that another process can Attach to the lab, take it down with
// Teardown, or rebuild it with Up. The lab command calls it before exiting.
func (l *Lab) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock != nil {
		releaseLock(l.lock)
		l.lock = nil
	}
}

// removeLock removes the lab's lock file, which its caller holds, and the
// scratch directory of all labs when this was the last thing in it.
func removeLock(y layout) error {
	if err := os.Remove(y.lockPath()); err != nil {
		return fmt.Errorf("remove lock: %w", err)
	}
	_ = os.Remove(y.cfg.Dir) // fails, as it should, while other labs are there
	return nil
}

// Teardown removes the lab named by cfg, whether or not a process still
// holds it (it waits for that process's lock), and whether or not it is
// complete: what is found is removed.
func Teardown(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validateName(); err != nil {
		return err
	}
	y := layout{cfg}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("lab %s: create scratch dir: %w", cfg.Name, err)
	}
	lock, err := acquireLock(ctx, y.lockPath())
	if err != nil {
		return fmt.Errorf("lab %s: %w", cfg.Name, err)
	}
	defer releaseLock(lock)
	if err := teardown(ctx, y); err != nil {
		return fmt.Errorf("lab %s: down: %w", cfg.Name, err)
	}
	return removeLock(y)
}

// writeJSON writes v to path, indented.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
