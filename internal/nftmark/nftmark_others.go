//go:build !linux

package nftmark

import "github.com/lvsops/terraform-provider-lvs/internal/model"

// Manager is not available off Linux.
type Manager struct{}

// Open fails off Linux.
func Open() (*Manager, error) { return nil, ErrUnsupported }

// List fails off Linux.
func (*Manager) List() (State, error) { return State{}, ErrUnsupported }

// Replace fails off Linux.
func (*Manager) Replace([]model.FwmarkRule) (bool, error) { return false, ErrUnsupported }

// Close does nothing.
func (*Manager) Close() error { return nil }

// Guard fails off Linux.
func (*Manager) Guard([]model.FwmarkRule) error { return ErrUnsupported }

// Unguard fails off Linux.
func (*Manager) Unguard() error { return ErrUnsupported }

// Guarded fails off Linux.
func (*Manager) Guarded() (int, error) { return 0, ErrUnsupported }
