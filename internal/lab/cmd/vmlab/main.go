//go:build linux

// Command vmlab keeps VMs of the VM lab (internal/lab/vm: a kernel with
// IPVS) running after it returns, each with a second NIC on an existing
// bridge (the network-namespace lab's), so that the lab's namespaces are
// their clients and real servers:
//
//	go run ./internal/lab/cmd/vmlab up -bridge lvs-br -vm dir1=10.77.0.21/24,dir2=10.77.0.22/24 [-authorize KEY]
//	go run ./internal/lab/cmd/vmlab status
//	go run ./internal/lab/cmd/vmlab down
//
// A VM is a child of the process that booted it (qemu dies with it), so up
// starts a small supervisor in the background (`vmlab serve`, its own
// session) that boots the VMs one after the other, writes vms.json and a
// known_hosts file naming every VM's host key at its bridge address, and
// waits; down signals it, and it powers the VMs off and removes their taps.
// up returns once the VMs answer SSH, or fails with the supervisor's log.
// up when the same VMs already run does nothing; every up boots fresh VMs
// (new disks, new keys).
//
// -authorize adds a public key (an authorized_keys line, or the public half
// of an OpenSSH private key file) to root's authorized keys in every VM, so
// one key reaches the namespaces and the VMs alike.
//
// State lives in -dir (default $LVS_VMLAB_DIR, else /var/tmp/lvs-vmlab):
// serve.pid, serve.log, vms.json, known_hosts, and one directory per VM
// (disk, keys, console.log). Needs root, and internal/lab/vm/setup.sh's cache.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

const (
	defaultDir = "/var/tmp/lvs-vmlab"
	dirEnv     = "LVS_VMLAB_DIR"

	pidFile    = "serve.pid"
	logFile    = "serve.log"
	stateFile  = "vms.json"
	knownHosts = "known_hosts"
	specFile   = "spec.json"
)

const usage = `usage: vmlab up|down|status [flags]

  up      boot the VMs in the background and wait until they answer SSH
          (nothing to do when the same VMs already run)
  down    power the VMs off, remove their taps and state
  status  show the running VMs

flags:
`

// spec is what up was asked for; serve boots it.
type spec struct {
	Bridge    string   `json:"bridge"`
	VMs       []vmSpec `json:"vms"`
	Authorize string   `json:"authorize,omitempty"` // authorized_keys line
	MemoryMiB int      `json:"memory_mib,omitempty"`
}

type vmSpec struct {
	Name string       `json:"name"`
	Addr netip.Prefix `json:"addr"`
}

// state is vms.json: the spec and the running VMs.
type state struct {
	Spec spec      `json:"spec"`
	VMs  []vmState `json:"vms"`
}

type vmState struct {
	Name       string `json:"name"`
	BridgeAddr string `json:"bridge_addr"`
	SSHAddr    string `json:"ssh_addr"`
	KeyFile    string `json:"key_file"`
	KnownHosts string `json:"known_hosts"`
	Console    string `json:"console"`
	BootTime   string `json:"boot_time"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vmlab:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vmlab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	dir := fs.String("dir", envOr(dirEnv, defaultDir), "state directory")
	bridge := fs.String("bridge", "", "existing host bridge for each VM's eth1 (up)")
	vms := fs.String("vm", "", "comma-separated NAME=ADDR/BITS, each VM's eth1 address on the bridge (up)")
	authorize := fs.String("authorize", "", "public key (or OpenSSH private key) file to authorize for root in every VM (up)")
	memory := fs.Int("memory", 0, "guest memory in MiB (up; default vm.DefaultMemoryMiB)")
	timeout := fs.Duration("timeout", 6*time.Minute, "give up after this long (up, down)")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("no subcommand")
	}
	cmd := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !filepath.IsAbs(*dir) {
		return fmt.Errorf("-dir %q: want an absolute path", *dir)
	}
	switch cmd {
	case "up":
		sp, err := parseSpec(*bridge, *vms, *authorize, *memory)
		if err != nil {
			return err
		}
		return up(*dir, sp, *timeout, stdout)
	case "serve":
		return serve(*dir)
	case "down":
		return down(*dir, *timeout, stdout)
	case "status":
		return status(*dir, stdout)
	default:
		fs.Usage()
		return fmt.Errorf("unknown subcommand %q", cmd)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// parseSpec checks up's flags.
func parseSpec(bridge, vms, authorize string, memory int) (spec, error) {
	sp := spec{Bridge: bridge, MemoryMiB: memory}
	if bridge == "" {
		return sp, errors.New("-bridge: required (the namespace lab's bridge, such as lvs-br)")
	}
	if vms == "" {
		return sp, errors.New("-vm: required, such as dir1=10.77.0.21/24,dir2=10.77.0.22/24")
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(vms, ",") {
		name, addr, ok := strings.Cut(item, "=")
		if !ok {
			return sp, fmt.Errorf("-vm %q: want NAME=ADDR/BITS", item)
		}
		p, err := netip.ParsePrefix(addr)
		if err != nil {
			return sp, fmt.Errorf("-vm %q: %w", item, err)
		}
		if seen[name] {
			return sp, fmt.Errorf("-vm: %s listed twice", name)
		}
		seen[name] = true
		sp.VMs = append(sp.VMs, vmSpec{Name: name, Addr: p})
	}
	if authorize != "" {
		line, err := authorizedKey(authorize)
		if err != nil {
			return sp, fmt.Errorf("-authorize: %w", err)
		}
		sp.Authorize = line
	}
	return sp, nil
}

// authorizedKey reads path as an authorized_keys line or as a private key
// and returns the public key's authorized_keys line.
func authorizedKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), nil
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return "", fmt.Errorf("%s: neither a public key nor an unencrypted private key: %w", path, err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

// up starts serve in the background unless the same VMs already run, and
// waits until it has written vms.json (or failed).
func up(dir string, sp spec, timeout time.Duration, stdout io.Writer) error {
	began := time.Now()
	if pid, alive := supervisor(dir); alive {
		st, err := readState(dir)
		if err == nil && reflect.DeepEqual(st.Spec, sp) {
			fmt.Fprintf(stdout, "vmlab: already up (supervisor pid %d)\n", pid)
			return status(dir, stdout)
		}
		fmt.Fprintf(stdout, "vmlab: other VMs run (or are booting) under pid %d: taking them down first\n", pid)
		if err := down(dir, timeout, stdout); err != nil {
			return err
		}
	}
	if err := cleanState(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	specJSON, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, specFile), specJSON, 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, logFile))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "serve", "-dir", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this process and its terminal
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Fprintf(stdout, "vmlab: booting %d VM(s) on bridge %s (supervisor pid %d, log %s)\n",
		len(sp.VMs), sp.Bridge, pid, filepath.Join(dir, logFile))

	deadline := time.After(timeout)
	for {
		if _, err := readState(dir); err == nil {
			fmt.Fprintf(stdout, "vmlab: up in %v\n", time.Since(began).Round(100*time.Millisecond))
			return status(dir, stdout)
		}
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			log, _ := os.ReadFile(filepath.Join(dir, logFile))
			return fmt.Errorf("the supervisor exited before the VMs were up (%w):\n%s", err, bytes.TrimSpace(log))
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			log, _ := os.ReadFile(filepath.Join(dir, logFile))
			return fmt.Errorf("VMs not up after %v (supervisor stopped):\n%s", timeout, bytes.TrimSpace(log))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serve boots the VMs of spec.json, writes vms.json and known_hosts, and
// keeps the VMs until SIGTERM or SIGINT.
func serve(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	data, err := os.ReadFile(filepath.Join(dir, specFile))
	if err != nil {
		return err
	}
	var sp spec
	if err := json.Unmarshal(data, &sp); err != nil {
		return fmt.Errorf("spec.json: %w", err)
	}
	var running []*vm.VM
	defer func() {
		for _, v := range running {
			if err := v.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "vmlab:", err)
			}
			fmt.Printf("%s: stopped\n", v.Name)
		}
		_ = os.Remove(filepath.Join(dir, stateFile))
		_ = os.Remove(filepath.Join(dir, pidFile))
	}()

	st := state{Spec: sp}
	var hosts bytes.Buffer
	// One after the other: two TCG guests booting at once take about as
	// long in total and twice the CPU.
	for _, s := range sp.VMs {
		v, err := vm.Boot(ctx, vm.Config{
			Name: s.Name, MemoryMiB: sp.MemoryMiB,
			Bridge: sp.Bridge, BridgeAddr: s.Addr,
			Dir: filepath.Join(dir, s.Name),
		})
		if err != nil {
			return err
		}
		running = append(running, v)
		fmt.Printf("%s: up at %s (ssh %s) in %v\n", v.Name, v.BridgeAddr, v.SSHAddr, v.BootTime.Round(100*time.Millisecond))
		if sp.Authorize != "" {
			if _, err := v.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(sp.Authorize+"\n")); err != nil {
				return fmt.Errorf("authorize the key on %s: %w", v.Name, err)
			}
		}
		kh, err := os.ReadFile(v.KnownHosts)
		if err != nil {
			return err
		}
		hosts.Write(kh)
		st.VMs = append(st.VMs, vmState{
			Name: v.Name, BridgeAddr: v.BridgeAddr.String(), SSHAddr: v.SSHAddr,
			KeyFile: v.KeyFile, KnownHosts: v.KnownHosts, Console: v.Console,
			BootTime: v.BootTime.Round(100 * time.Millisecond).String(),
		})
	}
	if err := writeAtomic(filepath.Join(dir, knownHosts), hosts.Bytes()); err != nil {
		return err
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, stateFile), append(out, '\n')); err != nil {
		return err
	}
	fmt.Println("all VMs up; waiting for SIGTERM")
	<-ctx.Done()
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// supervisor returns the pid in serve.pid and whether it runs.
func supervisor(dir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	// Only our own supervisor: a recycled pid must not be signalled.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("\x00serve\x00")) {
		return pid, false
	}
	return pid, true
}

func readState(dir string) (state, error) {
	var st state
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// cleanState removes what a previous run left in dir: its files and the
// VM directories (disk, keys, logs). Nothing else in dir is touched.
func cleanState(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	own := map[string]bool{pidFile: true, logFile: true, stateFile: true, knownHosts: true, specFile: true,
		stateFile + ".tmp": true, knownHosts + ".tmp": true}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "disk.img")); err != nil {
				continue // not a VM's state directory
			}
		} else if !own[e.Name()] {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// down signals the supervisor and waits for it to stop the VMs.
func down(dir string, timeout time.Duration, stdout io.Writer) error {
	began := time.Now()
	pid, alive := supervisor(dir)
	if !alive {
		fmt.Fprintln(stdout, "vmlab: no VMs running")
		return cleanState(dir)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal supervisor %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, alive := supervisor(dir); !alive || syscall.Kill(pid, 0) != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("supervisor %d still runs %v after SIGTERM (see %s)", pid, timeout, filepath.Join(dir, logFile))
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintf(stdout, "vmlab: down in %v\n", time.Since(began).Round(100*time.Millisecond))
	return cleanState(dir)
}

func status(dir string, stdout io.Writer) error {
	pid, alive := supervisor(dir)
	if !alive {
		return errors.New("no VMs running (vmlab up starts them)")
	}
	st, err := readState(dir)
	if err != nil {
		return fmt.Errorf("supervisor %d runs but the VMs are not up yet (log: %s)", pid, filepath.Join(dir, logFile))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tBRIDGE ADDRESS\tSSH\tBOOT\tCONSOLE")
	for _, v := range st.VMs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.BridgeAddr, v.SSHAddr, v.BootTime, v.Console)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.VMs) > 0 {
		v := st.VMs[0]
		fmt.Fprintf(stdout, "\nbridge %s, known_hosts %s; log in with: ssh -i %s -o UserKnownHostsFile=%s root@%s\n",
			st.Spec.Bridge, filepath.Join(dir, knownHosts), v.KeyFile, v.KnownHosts, v.BridgeAddr)
	}
	return nil
}
