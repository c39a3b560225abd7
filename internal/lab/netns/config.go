package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Defaults used when a Config field is left zero.
const (
	DefaultName = "lvs"
	DefaultDir  = "/var/tmp/lvs-lab"
	// DirEnv names the environment variable that overrides DefaultDir.
	DirEnv = "LVS_LAB_DIR"
	// SSHPort is the port every host's sshd listens on.
	SSHPort = 22
	// User is the account the lab's client key is authorised for.
	User = "root"
	// HostInterface is the name of each host's interface on the lab bridge.
	HostInterface = "eth0"

	firstHostOctet = 11 // hosts get .11, .12, ...
	maxHosts       = 89 // ... up to .99, so .100 and above stay free for VIPs
)

// DefaultSubnet is the lab subnet used when Config.Subnet is zero.
var DefaultSubnet = netip.MustParsePrefix("10.77.0.0/24")

// DefaultPrivateDirs are the directories each host gets a private copy of:
// those the agent, keepalived and haproxy write.
func DefaultPrivateDirs() []string {
	return []string{"/etc/keepalived", "/etc/haproxy", "/etc/sysctl.d", "/var/lib/lvs-agent"}
}

// Config describes a lab. The zero value of every field but Hosts means its
// default.
type Config struct {
	// Name prefixes everything the lab creates: network namespaces are
	// "<Name>-<host>", the bridge "<Name>-br", veths "<Name>-<index>". Two labs
	// with different names (and subnets) can run side by side.
	Name string
	// Hosts are the host names, in address order. Required.
	Hosts []string
	// Subnet is the bridge's IPv4 subnet (at least a /25).
	Subnet netip.Prefix
	// Dir is the scratch directory holding every lab's state.
	Dir string
	// PrivateDirs are the absolute directories each host gets its own copy
	// of. A directory missing on the machine is created there (empty) to
	// serve as the mount point.
	PrivateDirs []string
}

var (
	labNameRE  = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)
	hostNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
)

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if !cfg.Subnet.IsValid() {
		cfg.Subnet = DefaultSubnet
	}
	if cfg.Dir == "" {
		cfg.Dir = os.Getenv(DirEnv)
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.PrivateDirs == nil {
		cfg.PrivateDirs = DefaultPrivateDirs()
	}
	cfg.Subnet = cfg.Subnet.Masked()
	return cfg
}

// validate reports every problem of a defaulted cfg at once.
func (cfg Config) validate() error {
	var errs []error
	if err := cfg.validateName(); err != nil {
		errs = append(errs, err)
	}
	if len(cfg.Hosts) == 0 {
		errs = append(errs, errors.New("no hosts"))
	}
	if len(cfg.Hosts) > maxHosts {
		errs = append(errs, fmt.Errorf("%d hosts: at most %d", len(cfg.Hosts), maxHosts))
	}
	seen := map[string]bool{}
	for _, h := range cfg.Hosts {
		if !hostNameRE.MatchString(h) {
			errs = append(errs, fmt.Errorf("host name %q: want 1-32 of [a-z0-9-], not starting with '-'", h))
		}
		if seen[h] {
			errs = append(errs, fmt.Errorf("host %q listed twice", h))
		}
		seen[h] = true
	}
	if !cfg.Subnet.Addr().Is4() || cfg.Subnet.Bits() > 25 {
		errs = append(errs, fmt.Errorf("subnet %s: want an IPv4 prefix of /25 or wider", cfg.Subnet))
	}
	for _, d := range cfg.PrivateDirs {
		if !path.IsAbs(d) || path.Clean(d) != d || d == "/" || d == "/run" || d == "/tmp" {
			errs = append(errs, fmt.Errorf("private dir %q: want a clean absolute path other than /, /run and /tmp", d))
		}
	}
	if underTmp(cfg.Dir) {
		errs = append(errs, fmt.Errorf("scratch dir %q: each host has its own /tmp, which would hide the host's files there (choose another %s)", cfg.Dir, DirEnv))
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab config: %w", errors.Join(errs...))
	}
	return nil
}

// underTmp reports whether dir is /tmp or inside it.
func underTmp(dir string) bool {
	dir = filepath.Clean(dir)
	return dir == "/tmp" || strings.HasPrefix(dir, "/tmp/")
}

// validateName checks what names a lab on the machine: its name and its
// scratch directory.
func (cfg Config) validateName() error {
	if !labNameRE.MatchString(cfg.Name) {
		return fmt.Errorf("lab name %q: want 1-10 of [a-z0-9], starting with a letter", cfg.Name)
	}
	if !filepath.IsAbs(cfg.Dir) {
		return fmt.Errorf("lab %s: scratch dir %q: want an absolute path", cfg.Name, cfg.Dir)
	}
	return nil
}

// Host is one lab host as seen from the machine.
type Host struct {
	// Name is the host name (also its hostname inside).
	Name string
	// Namespace is the network namespace, as listed by `ip netns list`.
	Namespace string
	// Addr is the host's address on the lab bridge.
	Addr netip.Addr
	// SSHPort is the port sshd listens on at Addr.
	SSHPort int
	// User is the account ClientKey logs in as.
	User string
	// KnownHostsPath is a known_hosts file listing every host of the lab.
	KnownHostsPath string
	// ClientKeyPath is the OpenSSH private key authorised for User.
	ClientKeyPath string
	// ClientKeyPEM is the content of ClientKeyPath.
	ClientKeyPEM []byte
	// HostKey is the public half of the host's sshd key.
	HostKey ssh.PublicKey
	// Dir is the host's scratch directory.
	Dir string
	// Root mirrors the host's private directories: the host's /etc/haproxy is
	// Root+"/etc/haproxy" on the machine.
	Root string
}

// SSHAddr is Addr:SSHPort, ready for net.Dial.
func (h *Host) SSHAddr() string {
	return netip.AddrPortFrom(h.Addr, uint16(h.SSHPort)).String()
}

// Path returns where the host's file at the absolute path p lives on the
// machine, when p is inside one of the host's private directories.
func (h *Host) Path(p string) string {
	return filepath.Join(h.Root, filepath.FromSlash(p))
}

// Lab is a running lab. Its methods are safe for concurrent use.
type Lab struct {
	// Name is Config.Name.
	Name string
	// Dir is this lab's scratch directory (Config.Dir/Name).
	Dir string
	// Bridge is the bridge's interface name in the root namespace.
	Bridge string
	// Gateway is the bridge's address: the machine as seen from the hosts.
	Gateway netip.Addr
	// Subnet is the lab subnet.
	Subnet netip.Prefix
	// Hosts are the lab's hosts by name.
	Hosts map[string]*Host
	// Order lists the host names in Config.Hosts order.
	Order []string
	// KnownHostsPath, ClientKeyPath and ClientKeyPEM are as in Host.
	KnownHostsPath string
	ClientKeyPath  string
	ClientKeyPEM   []byte
	// SSHConfigPath is an ssh_config(5) naming every host, for
	// `ssh -F SSHConfigPath dir1`.
	SSHConfigPath string

	cfg  Config
	mu   sync.Mutex // guards lock
	lock *os.File   // the lab lock, held from Up to Down
}

// Host returns the named host, or an error naming the lab's hosts.
func (l *Lab) Host(name string) (*Host, error) {
	h, ok := l.Hosts[name]
	if !ok {
		return nil, fmt.Errorf("lab %s: no host %q (have %v)", l.Name, name, l.Order)
	}
	return h, nil
}

// ExecError is a command run by Lab.Exec that failed.
type ExecError struct {
	Host   string
	Args   []string
	Stderr string
	Err    error
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("host %s: %s: %v: %s", e.Host, strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *ExecError) Unwrap() error { return e.Err }
