package transport

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultPort              = 22
	DefaultUser              = "root"
	DefaultConnectTimeout    = 10 * time.Second
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultKeepaliveCountMax = 3
	DefaultMaxSessions       = 4
)

// Config describes how to reach one host over SSH. Host and at least one
// authentication method are required; zero values elsewhere take the
// defaults above. Host keys are verified unless InsecureIgnoreHostKey is set:
// against HostKey when given, else KnownHostsFiles, else ~/.ssh/known_hosts.
type Config struct {
	// Host is the name or address to connect to.
	Host string
	// Port is the SSH port (default 22).
	Port int
	// User is the login user (default root). A non-root user needs
	// passwordless sudo.
	User string

	// PrivateKey is a private key in PEM form (OpenSSH, PKCS#1, PKCS#8).
	PrivateKey string
	// PrivateKeyPath is the path of a private key file; the alternative to PrivateKey.
	PrivateKeyPath string
	// Passphrase decrypts an encrypted private key.
	Passphrase string
	// Agent enables authentication with the keys of an ssh-agent.
	Agent bool
	// AgentSocket is the agent's socket (default $SSH_AUTH_SOCK).
	AgentSocket string
	// Password enables password authentication, and keyboard-interactive
	// authentication answered with it.
	Password string

	// KnownHostsFiles are OpenSSH known_hosts files to verify the host key with.
	KnownHostsFiles []string
	// HostKey pins the host's public key(s), in authorized_keys format, one per line.
	HostKey string
	// InsecureIgnoreHostKey accepts any host key. It must be chosen explicitly.
	InsecureIgnoreHostKey bool

	// Bastion is the jump host to tunnel through, with its own settings.
	Bastion *Config

	// ConnectTimeout bounds TCP connect, handshake and authentication.
	ConnectTimeout time.Duration
	// CommandTimeout bounds each command; zero leaves it to the caller's context.
	CommandTimeout time.Duration
	// KeepaliveInterval is the period of keepalive@openssh.com requests.
	KeepaliveInterval time.Duration
	// KeepaliveCountMax is how many intervals a keepalive may go unanswered
	// before the connection is dropped.
	KeepaliveCountMax int
	// MaxSessions limits the commands running at once on this connection.
	MaxSessions int
}

// Address returns host:port. An IPv6 host may be written bare or in
// brackets ("[2001:db8::1]"); both give "[2001:db8::1]:22".
func (c Config) Address() string {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	host := c.Host
	if inner, ok := strings.CutPrefix(host, "["); ok && strings.HasSuffix(inner, "]") {
		host = strings.TrimSuffix(inner, "]")
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ID names the connection: user@host:port, followed by " via " and the
// bastion's ID when there is one. It holds no secret and is the key under
// which a Pool shares connections.
func (c Config) ID() string {
	user := c.User
	if user == "" {
		user = DefaultUser
	}
	id := user + "@" + c.Address()
	if c.Bastion != nil {
		id += " via " + c.Bastion.ID()
	}
	return id
}

// normalize returns a copy of c with defaults filled in (bastion included)
// and the settings checked.
func (c Config) normalize() (Config, error) {
	fail := func(field, msg string) (Config, error) {
		return Config{}, &ConfigError{Host: c.ID(), Field: field, Msg: msg}
	}
	if c.Host == "" {
		return fail("Host", "is required")
	}
	if err := ValidateHost(c.Host); err != nil {
		return fail("Host", err.Error())
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Port < 1 || c.Port > 65535 {
		return fail("Port", "must be between 1 and 65535, got "+strconv.Itoa(c.Port))
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if err := ValidateUser(c.User); err != nil {
		return fail("User", err.Error())
	}
	if c.PrivateKey != "" && c.PrivateKeyPath != "" {
		return fail("PrivateKeyPath", "conflicts with PrivateKey: set one of them")
	}
	if c.PrivateKey == "" && c.PrivateKeyPath == "" && !c.Agent && c.Password == "" {
		return fail("", "no authentication method: set PrivateKey, PrivateKeyPath, Agent or Password")
	}
	if c.Agent && c.AgentSocket == "" {
		c.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
		if c.AgentSocket == "" {
			return fail("AgentSocket", "Agent is enabled but SSH_AUTH_SOCK is not set")
		}
	}
	if c.InsecureIgnoreHostKey && (c.HostKey != "" || len(c.KnownHostsFiles) > 0) {
		return fail("InsecureIgnoreHostKey", "conflicts with HostKey and KnownHostsFiles")
	}
	if c.HostKey != "" && len(c.KnownHostsFiles) > 0 {
		return fail("HostKey", "conflicts with KnownHostsFiles: set one of them")
	}
	if !c.InsecureIgnoreHostKey && c.HostKey == "" && len(c.KnownHostsFiles) == 0 {
		home, err := os.UserHomeDir()
		if err != nil {
			return fail("KnownHostsFiles", "not set and the home directory is unknown")
		}
		c.KnownHostsFiles = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if c.KeepaliveCountMax == 0 {
		c.KeepaliveCountMax = DefaultKeepaliveCountMax
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	switch {
	case c.ConnectTimeout < 0:
		return fail("ConnectTimeout", "must not be negative")
	case c.CommandTimeout < 0:
		return fail("CommandTimeout", "must not be negative")
	case c.KeepaliveInterval < 0:
		return fail("KeepaliveInterval", "must not be negative")
	case c.KeepaliveCountMax < 0:
		return fail("KeepaliveCountMax", "must not be negative")
	case c.MaxSessions < 0:
		return fail("MaxSessions", "must not be negative")
	}
	if c.Bastion != nil {
		b, err := c.Bastion.normalize()
		if err != nil {
			return Config{}, err
		}
		c.Bastion = &b
	}
	c.KnownHostsFiles = append([]string(nil), c.KnownHostsFiles...)
	return c, nil
}
