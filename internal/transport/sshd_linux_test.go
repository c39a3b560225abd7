package transport

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testSSHD is a real OpenSSH sshd started for one test, listening on a free
// loopback port with its own host keys, authorized_keys and log.
type testSSHD struct {
	host     string
	port     int
	dir      string
	hostKeys []ssh.PublicKey // the first is Ed25519
	logPath  string
	cmd      *exec.Cmd
}

type sshdOptions struct {
	netns          string            // network namespace to run in (listens on port 22 there)
	listenIP       string            // default 127.0.0.1
	authorizedKeys []ssh.PublicKey   // accepted for every user
	extraHostKeys  []string          // "ecdsa", "rsa": host keys besides Ed25519
	config         map[string]string // overrides of sshd_config keywords
}

// startSSHD runs /usr/sbin/sshd -D -e with a config like the lab's and
// waits until it listens. It is stopped when the test ends.
func startSSHD(t *testing.T, o sshdOptions) *testSSHD {
	t.Helper()
	requireRoot(t)
	sshdPath := "/usr/sbin/sshd"
	if _, err := os.Stat(sshdPath); err != nil {
		unavailable(t, "OpenSSH sshd is not installed (Debian: openssh-server): "+err.Error())
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatal(err)
	}
	if o.listenIP == "" {
		o.listenIP = "127.0.0.1"
	}
	// Not t.TempDir: non-root test users must be able to read authorized_keys.
	dir, err := os.MkdirTemp("", "lvs-sshd-") //nolint:usetesting // see above
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &testSSHD{host: o.listenIP, port: 22, dir: dir, logPath: filepath.Join(dir, "sshd.log")}
	if o.netns == "" {
		s.port = freePort(t, o.listenIP)
	}

	cfg := map[string]string{
		"ListenAddress":                net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		"PidFile":                      "none",
		"AuthorizedKeysFile":           filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin":              "prohibit-password",
		"PasswordAuthentication":       "no",
		"KbdInteractiveAuthentication": "no",
		"UsePAM":                       "no",
		"StrictModes":                  "no",
		"UseDNS":                       "no",
		"LogLevel":                     "VERBOSE",
		"MaxStartups":                  "100",
		// bash sources ~/.bashrc for commands run by sshd when SHLVL < 2; this
		// machine's root .bashrc takes ~0.5 s (pyenv init) per command.
		"SetEnv": "SHLVL=1",
	}
	for k, v := range o.config {
		cfg[k] = v
	}
	var text strings.Builder
	for _, typ := range append([]string{"ed25519"}, o.extraHostKeys...) {
		signer, keyPEM := newHostKey(t, typ)
		path := filepath.Join(dir, "host_"+typ)
		writeFile(t, path, keyPEM, 0o600)
		s.hostKeys = append(s.hostKeys, signer.PublicKey())
		fmt.Fprintf(&text, "HostKey %s\n", path)
	}
	for k, v := range cfg {
		fmt.Fprintf(&text, "%s %s\n", k, v)
	}
	writeFile(t, filepath.Join(dir, "sshd_config"), text.String(), 0o644)
	var ak bytes.Buffer
	for _, k := range o.authorizedKeys {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	writeFile(t, filepath.Join(dir, "authorized_keys"), ak.String(), 0o644)

	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if o.netns != "" { // ip netns exec becomes sshd: same PID
		s.cmd = exec.Command("ip", append([]string{"netns", "exec", o.netns}, s.cmd.Args...)...)
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("sshd log %s:\n%s", s.addr(), s.log())
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.log(), "Server listening on") {
		select {
		case <-exited:
			t.Fatalf("sshd exited at start:\n%s", s.log())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start listening:\n%s", s.log())
		}
	}
	return s
}

func (s *testSSHD) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

func (s *testSSHD) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// logCount counts log lines containing substr.
func (s *testSSHD) logCount(substr string) int {
	return strings.Count(s.log(), substr)
}

// waitLog waits until the log has at least n lines containing substr.
func (s *testSSHD) waitLog(t *testing.T, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.logCount(substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("sshd log never had %d lines with %q:\n%s", n, substr, s.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pinned returns the host's Ed25519 key in authorized_keys form, for Config.HostKey.
func (s *testSSHD) pinned() string { return string(ssh.MarshalAuthorizedKey(s.hostKeys[0])) }

// knownHosts writes a known_hosts file with the given keys for this host.
func (s *testSSHD) knownHosts(t *testing.T, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test known_hosts\nunrelated.example " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(probeKey))) + "\n")
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.addr())}, k) + "\n")
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, path, b.String(), 0o644)
	return path
}

// config returns a Config for root with keyPEM, verifying the pinned host key.
func (s *testSSHD) config(keyPEM string) Config {
	return Config{Host: s.host, Port: s.port, User: "root", PrivateKey: keyPEM, HostKey: s.pinned()}
}

// sessionPIDs returns the sshd processes serving connections: every
// descendant of the listener (never the listener itself).
func (s *testSSHD) sessionPIDs(t *testing.T) []int {
	t.Helper()
	parent := map[int]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			parent[pid] = ppid
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == s.cmd.Process.Pid {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// connectionsTo lists established TCP connections whose destination port is
// port, as `ss -tnp` prints them (one line each, with the owning process).
func connectionsTo(t *testing.T, port int) []string {
	t.Helper()
	requireTool(t, "ss")
	out, err := exec.Command("ss", "-Htnp", "state", "established", fmt.Sprintf("( dport = :%d )", port)).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// newHostKey generates a host key of type ed25519, ecdsa or rsa.
func newHostKey(t *testing.T, typ string) (ssh.Signer, string) {
	t.Helper()
	var priv any
	var err error
	switch typ {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key type %q", typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signerPEM(t, priv, "")
}

// newClientKey generates an Ed25519 client key: its signer and its
// (optionally passphrase-encrypted) OpenSSH PEM.
func newClientKey(t *testing.T, passphrase string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signerPEM(t, priv, passphrase)
}

func signerPEM(t *testing.T, priv any, passphrase string) (ssh.Signer, string) {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

// newPool returns a pool closed when the test ends.
func newPool(t *testing.T, log Logger) *Pool {
	p := NewPool(log)
	t.Cleanup(func() { p.Close() })
	return p
}

// mustHost returns the pool's Host for cfg or fails the test.
func mustHost(t *testing.T, p *Pool, cfg Config) *Host {
	t.Helper()
	h, err := p.Host(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
