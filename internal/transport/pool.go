// Package transport runs commands on remote hosts over SSH and uploads files
// to them. It knows nothing about Terraform.
//
// A Pool holds one connection per user@host:port (and bastion chain) for the
// whole process; each command runs in its own session on it, at most
// Config.MaxSessions at once per host. A broken connection is redialed once;
// keepalives drop a peer that stopped answering. Host keys are verified
// unless the caller opts out.
//
// Commands are argument lists, quoted by Quote for the remote login shell,
// which must be a POSIX shell; each runs as `echo $$; exec <command>` so that
// a cancelled command's process group can be killed. A non-root user runs
// them through `sudo -n --`, probed once per host. Secrets belong on stdin:
// arguments appear in logs and errors.
package transport

import (
	"context"
	"reflect"
	"sync"
)

// Logger receives the package's debug events. fields never hold secrets.
// The provider adapts it to tflog.
type Logger interface {
	Debug(ctx context.Context, msg string, fields map[string]any)
}

type nopLogger struct{}

func (nopLogger) Debug(context.Context, string, map[string]any) {}

// Pool shares SSH connections among all callers in a process.
type Pool struct {
	log Logger

	mu     sync.Mutex
	hosts  map[string]*Host
	closed bool
}

// NewPool returns an empty pool that logs to log (nil: nowhere).
func NewPool(log Logger) *Pool {
	if log == nil {
		log = nopLogger{}
	}
	return &Pool{log: log, hosts: map[string]*Host{}}
}

// Host returns the handle for cfg's connection, shared by every caller that
// asks for the same user@host:port and bastion chain. It checks cfg and
// parses its key and host-key settings, but does not connect: the first
// command does. Asking for a known connection with different settings is a
// *ConfigError rather than a silent choice between them.
func (p *Pool) Host(cfg Config) (*Host, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return p.host(cfg)
}

func (p *Pool) host(cfg Config) (*Host, error) {
	id := cfg.ID()
	p.mu.Lock()
	h, found := p.hosts[id]
	closed := p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return nil, &Error{Host: id, Op: "connect", Err: ErrClosed}
	case found && !reflect.DeepEqual(h.cfg, cfg):
		return nil, &ConfigError{Host: id, Msg: "this connection is already in use with different settings"}
	case found:
		return h, nil
	}

	var bastion *Host
	if cfg.Bastion != nil {
		var err error
		if bastion, err = p.host(*cfg.Bastion); err != nil {
			return nil, err
		}
	}
	h, err := newHost(cfg, bastion, p.log)
	if err != nil {
		return nil, err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if other, ok := p.hosts[id]; ok { // another caller won the race
		if !reflect.DeepEqual(other.cfg, cfg) {
			return nil, &ConfigError{Host: id, Msg: "this connection is already in use with different settings"}
		}
		return other, nil
	}
	if p.closed {
		return nil, &Error{Host: id, Op: "connect", Err: ErrClosed}
	}
	p.hosts[id] = h
	return h, nil
}

// Close closes every connection. Commands still running fail with
// ErrConnectionLost; later calls fail with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	hosts := p.hosts
	p.hosts = map[string]*Host{}
	p.mu.Unlock()
	for _, h := range hosts {
		h.close()
	}
	return nil
}
