//go:build !linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// errNotLinux is returned by everything that needs Linux namespaces.
var errNotLinux = fmt.Errorf("network-namespace lab: needs Linux: %w", errors.ErrUnsupported)

// Up needs Linux; elsewhere it returns an error wrapping errors.ErrUnsupported.
func Up(context.Context, Config) (*Lab, error) { return nil, errNotLinux }

// Teardown needs Linux.
func Teardown(context.Context, Config) error { return errNotLinux }

// Attach needs Linux.
func Attach(Config) (*Lab, error) { return nil, errNotLinux }

// Process is a process running in a lab host's network namespace.
type Process struct {
	PID     int
	Command string
}

// HostStatus is what Status observed of one host.
type HostStatus struct {
	Host      *Host
	Namespace bool
	SSH       bool
	Processes []Process
}

// Command needs Linux.
func (l *Lab) Command(context.Context, string, ...string) (*exec.Cmd, error) { return nil, errNotLinux }

// Exec needs Linux.
func (l *Lab) Exec(context.Context, string, ...string) ([]byte, error) { return nil, errNotLinux }

// Down needs Linux.
func (l *Lab) Down(context.Context) error { return errNotLinux }

// Status needs Linux.
func (l *Lab) Status(context.Context) ([]HostStatus, error) { return nil, errNotLinux }

// Release needs Linux.
func (l *Lab) Release() {}
