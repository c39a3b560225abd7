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
