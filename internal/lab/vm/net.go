//go:build linux

package vm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
)

// addTap creates a tap device enslaved to the existing bridge and up, for
// qemu to open by name.
func addTap(bridge string) (string, error) {
	if _, err := os.Stat(filepath.Join("/sys/class/net", bridge, "bridge")); err != nil {
		return "", fmt.Errorf("bridge %s: not a bridge on this host (create it first): %w", bridge, err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("name tap device: %w", err)
	}
	tap := "lvsvm" + hex.EncodeToString(suffix)
	if err := ip("tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
		return "", fmt.Errorf("create tap %s: %w", tap, err)
	}
	if err := ip("link", "set", "dev", tap, "master", bridge, "up"); err != nil {
		_ = delTap(tap)
		return "", fmt.Errorf("attach tap %s to bridge %s: %w", tap, bridge, err)
	}
	return tap, nil
}

// delTap removes a tap device made by addTap.
func delTap(tap string) error {
	if err := ip("link", "del", "dev", tap); err != nil {
		return fmt.Errorf("delete tap %s: %w", tap, err)
	}
	return nil
}

// ip runs iproute2's ip with args.
func ip(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// macFor derives a stable, locally administered MAC address for the VM's
// NIC on a bridge from its IPv4 address there, so two VMs with different
// addresses never share one.
func macFor(addr netip.Addr) string {
	a := addr.As4()
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}
