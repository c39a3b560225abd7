//go:build !linux

package hostaddr

import (
	"fmt"
	"net/netip"
	"runtime"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Manager changes the addresses and routes of one network namespace; off
// Linux every method fails with ErrUnsupported.
type Manager struct{}

func unsupported() error {
	return fmt.Errorf("hostaddr: %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnsupported)
}

// Open fails off Linux.
func Open() (*Manager, error) { return nil, unsupported() }

// OpenNetns fails off Linux.
func OpenNetns(string) (*Manager, error) { return nil, unsupported() }

// Close does nothing.
func (m *Manager) Close() error { return nil }

// List fails off Linux.
func (m *Manager) List(string) ([]netip.Prefix, error) { return nil, unsupported() }

// Ensure fails off Linux.
func (m *Manager) Ensure(string, netip.Prefix) (bool, error) { return false, unsupported() }

// Scopes fails off Linux.
func (m *Manager) Scopes(string) (map[netip.Prefix]string, error) { return nil, unsupported() }

// EnsureScope fails off Linux.
func (m *Manager) EnsureScope(string, netip.Prefix, string) (bool, error) {
	return false, unsupported()
}

// Remove fails off Linux.
func (m *Manager) Remove(string, netip.Prefix) (bool, error) { return false, unsupported() }

// Up fails off Linux.
func (m *Manager) Up(string) (bool, error) { return false, unsupported() }

// DefaultGateway fails off Linux.
func (m *Manager) DefaultGateway(bool) (netip.Addr, error) { return netip.Addr{}, unsupported() }

// SetDefaultGateway fails off Linux.
func (m *Manager) SetDefaultGateway(netip.Addr) (bool, error) { return false, unsupported() }

// Routes fails off Linux.
func (m *Manager) Routes(bool) ([]model.Route, error) { return nil, unsupported() }

// Rules fails off Linux.
func (m *Manager) Rules(bool) ([]model.Rule, error) { return nil, unsupported() }

// AddRoute fails off Linux.
func (m *Manager) AddRoute(model.Route) error { return unsupported() }

// DeleteRoute fails off Linux.
func (m *Manager) DeleteRoute(model.Route) error { return unsupported() }

// AddRule fails off Linux.
func (m *Manager) AddRule(model.Rule) error { return unsupported() }

// DeleteRule fails off Linux.
func (m *Manager) DeleteRule(model.Rule) error { return unsupported() }
