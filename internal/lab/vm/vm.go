//go:build linux

package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Machine is a qemu machine type.
type Machine string

const (
	// MachineMicroVM boots the uncompressed kernel through its PVH entry
	// point, without firmware or PCI: the fastest boot (the default).
	MachineMicroVM Machine = "microvm"
	// MachinePC is the classic PC with SeaBIOS and PCI virtio devices.
	MachinePC Machine = "pc"
)

// Defaults of Config's zero values.
const (
	DefaultMemoryMiB   = 256 // the initramfs needs about 192 MiB
	DefaultDiskMiB     = 64
	DefaultBootTimeout = 3 * time.Minute // TCG on a busy machine is slow
)

// Config describes one VM. Only Name is required.
type Config struct {
	// Name is the VM's hostname: lower-case letters, digits and '-'.
	Name string
	// MemoryMiB is the guest's memory (default DefaultMemoryMiB).
	MemoryMiB int
	// CPUs is the number of virtual CPUs (default 1).
	CPUs int
	// Machine is the qemu machine type (default MachineMicroVM).
	Machine Machine
	// Dir holds the VM's state: its disk, keys, known_hosts, console log.
	// Booting again on the same Dir boots the same disk and identity.
	// When empty, Boot makes a temporary one that Stop removes.
	Dir string
	// CacheDir is where setup.sh built the kernel (default CacheDir()).
	CacheDir string
	// DiskMiB is the size of a new persistent disk (default DefaultDiskMiB).
	DiskMiB int
	// SSHPort is the loopback port forwarded to the VM's sshd; 0 picks a
	// free one.
	SSHPort int
	// Bridge, when set, gives the VM a second NIC (eth1) on a tap device
	// enslaved to this existing host bridge, with BridgeAddr on it.
	Bridge     string
	BridgeAddr netip.Prefix
	// KernelArgs are appended to the kernel command line.
	KernelArgs []string
}

// VM is a running virtual machine. Its methods are not safe for concurrent
// use with Reboot or Stop; Run may be called concurrently otherwise.
type VM struct {
	// Name is Config.Name.
	Name string
	// SSHAddr is the loopback host:port of the VM's sshd.
	SSHAddr string
	// BridgeAddr is the VM's address on Config.Bridge (port 22 serves SSH
	// there too), or the zero Addr.
	BridgeAddr netip.Addr
	// KnownHosts is a known_hosts file naming the VM's host key for SSHAddr
	// and BridgeAddr.
	KnownHosts string
	// KeyFile is the private key (OpenSSH format, 0600) that logs in as root.
	KeyFile string
	// Signer is KeyFile's key.
	Signer ssh.Signer
	// Console is the file the VM's serial console is written to.
	Console string
	// BootTime is how long the last Boot or Reboot took, up to SSH.
	BootTime time.Duration

	cfg      Config
	cache    Cache
	ownDir   bool
	tap      string
	proc     *process
	bootID   string
	mu       sync.Mutex
	client   *ssh.Client
	stopOnce sync.Once
	stopErr  error
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// withDefaults fills in cfg's zero values and checks it.
func (cfg Config) withDefaults() (Config, error) {
	if !nameRE.MatchString(cfg.Name) {
		return cfg, fmt.Errorf("name %q: want lower-case letters, digits and '-', at most 32", cfg.Name)
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = DefaultMemoryMiB
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	if cfg.Machine == "" {
		cfg.Machine = MachineMicroVM
	}
	if cfg.Machine != MachineMicroVM && cfg.Machine != MachinePC {
		return cfg, fmt.Errorf("machine %q: want %q or %q", cfg.Machine, MachineMicroVM, MachinePC)
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = CacheDir()
	}
	if cfg.DiskMiB == 0 {
		cfg.DiskMiB = DefaultDiskMiB
	}
	if (cfg.Bridge == "") != !cfg.BridgeAddr.IsValid() {
		return cfg, fmt.Errorf("bridge %q with address %v: set both or neither", cfg.Bridge, cfg.BridgeAddr)
	}
	if cfg.BridgeAddr.IsValid() && !cfg.BridgeAddr.Addr().Is4() {
		return cfg, fmt.Errorf("bridge address %v: want an IPv4 prefix", cfg.BridgeAddr)
	}
	return cfg, nil
}

// Boot starts a VM and waits until its sshd accepts the client key (or ctx
// ends; without a deadline, DefaultBootTimeout applies). The VM runs until
// Stop, whatever becomes of ctx.
func Boot(ctx context.Context, cfg Config) (*VM, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("boot VM: %w", err)
	}
	v := &VM{Name: cfg.Name, cfg: cfg}
	if err := v.boot(ctx); err != nil {
		if stopErr := v.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, fmt.Errorf("boot VM %s: %w", cfg.Name, err)
	}
	return v, nil
}

func (v *VM) boot(ctx context.Context) error {
	start := time.Now()
	cache, err := LoadCache(v.cfg.CacheDir)
	if err != nil {
		return err
	}
	v.cache = cache

	if v.cfg.Dir == "" {
		if v.cfg.Dir, err = os.MkdirTemp("", "lvs-vm-"+v.Name+"-"); err != nil {
			return fmt.Errorf("create state dir: %w", err)
		}
		v.ownDir = true
	}
	id, err := prepareState(v.cfg.Dir, v.cfg.DiskMiB)
	if err != nil {
		return fmt.Errorf("prepare state in %s: %w", v.cfg.Dir, err)
	}
	v.Signer = id.signer
	v.KeyFile = filepath.Join(v.cfg.Dir, clientKeyFile)
	v.KnownHosts = filepath.Join(v.cfg.Dir, knownHostsFile)
	v.Console = filepath.Join(v.cfg.Dir, consoleFile)

	if v.cfg.Bridge != "" {
		if v.tap, err = addTap(v.cfg.Bridge); err != nil {
			return err
		}
		v.BridgeAddr = v.cfg.BridgeAddr.Addr()
	}

	ctx, cancel := bootContext(ctx)
	defer cancel()
	if err := v.startQemu(ctx, id.hostKey); err != nil {
		return err
	}
	v.BootTime = time.Since(start)
	return nil
}

// bootContext gives ctx DefaultBootTimeout when it has no deadline.
func bootContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultBootTimeout)
}

// startQemu starts qemu and waits for SSH. With a port picked here, it
// retries when qemu could not bind it (another process took it meanwhile).
func (v *VM) startQemu(ctx context.Context, hostKey ssh.PublicKey) error {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := v.cfg.SSHPort
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
		v.SSHAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := v.writeKnownHosts(hostKey); err != nil {
			return err
		}
		proc, err := startProcess(v.qemuArgs(port), filepath.Join(v.cfg.Dir, qemuLogFile))
		if err != nil {
			return err
		}
		v.proc = proc
		err = v.waitSSH(ctx, "")
		if err == nil {
			return nil
		}
		if v.cfg.SSHPort != 0 || attempt == attempts || !proc.exited() ||
			!strings.Contains(proc.log(), "host forwarding") {
			return err
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick SSH port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("pick SSH port: listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}

// writeKnownHosts writes a known_hosts file naming hostKey for the
// loopback address and, with a bridge, for the bridge address.
func (v *VM) writeKnownHosts(hostKey ssh.PublicKey) error {
	addrs := []string{knownhosts.Normalize(v.SSHAddr)}
	if v.BridgeAddr.IsValid() {
		addrs = append(addrs, knownhosts.Normalize(v.BridgeAddr.String()))
	}
	line := knownhosts.Line(addrs, hostKey) + "\n"
	if err := os.WriteFile(v.KnownHosts, []byte(line), 0o644); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	return nil
}

// qemuArgs is the qemu command line.
func (v *VM) qemuArgs(sshPort int) []string {
	dev := "pci"
	kernel := v.cache.KernelBzImage
	// mitigations=off: a throw-away lab guest gains nothing from them and
	// pays for them in emulated instructions.
	kargs := []string{"console=ttyS0", "quiet", "panic=-1", "rdinit=/init", "mitigations=off", "lvs.name=" + v.Name}
	if v.cfg.Machine == MachineMicroVM {
		dev = "device"
		kernel = v.cache.KernelELF
		// microvm has no HPET nor ACPI PM timer: under load the guest
		// fails to calibrate the TSC against the PIT and hangs. TCG's
		// guest TSC runs at the host's rate, so tell the guest that.
		if khz := hostTSCkHz(); khz > 0 {
			kargs = append(kargs, "tsc_early_khz="+strconv.Itoa(khz))
		}
	}
	if v.cfg.BridgeAddr.IsValid() {
		kargs = append(kargs, "lvs.ip2="+v.cfg.BridgeAddr.String())
	}
	kargs = append(kargs, v.cfg.KernelArgs...)

	args := []string{
		"-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max",
		"-M", string(v.cfg.Machine),
		"-smp", strconv.Itoa(v.cfg.CPUs), "-m", strconv.Itoa(v.cfg.MemoryMiB),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-serial", "file:" + v.Console,
		"-kernel", kernel, "-initrd", v.cache.Initrd,
		"-append", strings.Join(kargs, " "),
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", sshPort),
		"-device", "virtio-net-" + dev + ",netdev=n0",
		"-drive", "file=" + filepath.Join(v.cfg.Dir, diskFile) + ",if=none,id=d0,format=raw",
		"-device", "virtio-blk-" + dev + ",drive=d0",
		"-device", "virtio-rng-" + dev,
	}
	if v.tap != "" {
		args = append(args,
			"-netdev", "tap,id=n1,ifname="+v.tap+",script=no,downscript=no",
			"-device", "virtio-net-"+dev+",netdev=n1,mac="+macFor(v.cfg.BridgeAddr.Addr()))
	}
	return args
}

// hostTSCkHz reads the host's TSC rate from /proc/cpuinfo, or returns 0.
func hostTSCkHz() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return 0
			}
			return int(mhz * 1000)
		}
	}
	return 0
}

// waitSSH polls until the VM's sshd runs a command for the client key,
// with a boot id other than notBootID, and keeps that client. Each attempt
// has a short connect timeout: the first connection through slirp can hang.
func (v *VM) waitSSH(ctx context.Context, notBootID string) error {
	var last error
	for {
		if v.proc.exited() {
			werr := v.proc.waitErr()
			if werr == nil {
				werr = errors.New("exit status 0")
			}
			return fmt.Errorf("qemu exited while booting (%w): %s\nconsole:\n%s", werr, v.proc.log(), v.consoleTail(30))
		}
		client, err := v.dial(ctx, v.SSHAddr, 5*time.Second)
		if err == nil {
			var id string
			if id, err = bootID(client); err == nil && id != notBootID {
				v.bootID = id
				v.setClient(client)
				return nil
			}
			client.Close()
			if err == nil {
				err = errors.New("still the boot before")
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for SSH on %s: %w (last attempt: %w)\nconsole:\n%s", v.SSHAddr, ctx.Err(), last, v.consoleTail(30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// bootID reads the kernel's boot id, which changes at every boot.
func bootID(client *ssh.Client) (string, error) {
	s, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output("cat /proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// consoleTail returns the last n lines of the console log.
func (v *VM) consoleTail(n int) string {
	data, err := os.ReadFile(v.Console)
	if err != nil {
		return fmt.Sprintf("(no console log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ConsoleTail returns the last n lines the VM wrote to its serial console.
func (v *VM) ConsoleTail(n int) string { return v.consoleTail(n) }

// Reboot reboots the VM from the inside (busybox init's shutdown, then a
// reset of the same qemu process: the SSH port, the tap and the disk stay)
// and waits until SSH answers from the new boot. Files on the persistent
// disk survive it; the kernel's state does not.
func (v *VM) Reboot(ctx context.Context) error {
	start := time.Now()
	before := v.bootID
	client, err := v.sshClient(ctx)
	if err != nil {
		return fmt.Errorf("reboot VM %s: %w", v.Name, err)
	}
	s, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("reboot VM %s: open session: %w", v.Name, err)
	}
	// The connection may drop before the command returns: its outcome
	// shows in whether the boot id changes.
	_ = s.Run("sync; reboot")
	s.Close()
	v.dropClient()

	ctx, cancel := bootContext(ctx)
	defer cancel()
	if err := v.waitSSH(ctx, before); err != nil {
		return fmt.Errorf("reboot VM %s: %w", v.Name, err)
	}
	v.BootTime = time.Since(start)
	return nil
}

// Stop powers the VM off (after a sync of its disk when it still answers)
// and removes its tap device, and its state directory when Boot made it.
// It is safe to call more than once.
func (v *VM) Stop() error {
	v.stopOnce.Do(func() { v.stopErr = v.stop() })
	return v.stopErr
}

func (v *VM) stop() error {
	var errs []error
	if v.proc != nil && !v.proc.exited() && v.currentClient() != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, _ = v.Run(ctx, "sync", nil) // best effort: the VM is killed anyway
		cancel()
	}
	v.dropClient()
	if v.proc != nil {
		if err := v.proc.stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if v.tap != "" {
		if err := delTap(v.tap); err != nil {
			errs = append(errs, err)
		}
	}
	if v.ownDir {
		if err := os.RemoveAll(v.cfg.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove state dir: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop VM %s: %w", v.Name, err)
	}
	return nil
}

// process is a running qemu.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startProcess starts qemu with its own output going to logPath. qemu is
// killed if the test process dies first.
func startProcess(args []string, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create qemu log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command("qemu-system-x86_64", args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitErr is qemu's exit status; call it only after exited.
func (p *process) waitErr() error { return p.err }

// log returns what qemu itself printed.
func (p *process) log() string {
	data, _ := os.ReadFile(p.logPath)
	return string(bytes.TrimSpace(data))
}

// stop ends qemu: SIGTERM, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal qemu: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill qemu: %w", err)
	}
	<-p.done
	return nil
}
