package netns

import (
	"fmt"
	"net/netip"
	"path/filepath"
)

// layout names every path and object of one lab, derived from its config
// alone, so that a lab left behind by a dead process can be found and removed.
type layout struct {
	cfg Config
}

func (y layout) labDir() string          { return filepath.Join(y.cfg.Dir, y.cfg.Name) }
func (y layout) lockPath() string        { return filepath.Join(y.cfg.Dir, y.cfg.Name+".lock") }
func (y layout) statePath() string       { return filepath.Join(y.labDir(), "state.json") }
func (y layout) nsDir() string           { return filepath.Join(y.labDir(), "ns") }
func (y layout) hostDir(h string) string { return filepath.Join(y.labDir(), "hosts", h) }
func (y layout) mntNS(h string) string   { return filepath.Join(y.nsDir(), h+".mnt") }
func (y layout) utsNS(h string) string   { return filepath.Join(y.nsDir(), h+".uts") }
func (y layout) clientKey() string       { return filepath.Join(y.labDir(), "id_ed25519") }
func (y layout) knownHosts() string      { return filepath.Join(y.labDir(), "known_hosts") }
func (y layout) authorizedKeys() string  { return filepath.Join(y.labDir(), "authorized_keys") }
func (y layout) sshConfig() string       { return filepath.Join(y.labDir(), "ssh_config") }

// prefix starts the name of every namespace and link of the lab.
func (y layout) prefix() string { return y.cfg.Name + "-" }

func (y layout) bridge() string            { return y.prefix() + "br" }
func (y layout) namespace(h string) string { return y.prefix() + h }

// veth is the root-namespace end of host i's veth pair (15 bytes at most).
func (y layout) veth(i int) string { return fmt.Sprintf("%s%d", y.prefix(), i) }

// gateway is the bridge's address, the first of the subnet.
func (y layout) gateway() netip.Addr { return y.cfg.Subnet.Addr().Next() }

// addr is the address of host i.
func (y layout) addr(i int) netip.Addr {
	a := y.cfg.Subnet.Addr().As4()
	a[3] += byte(firstHostOctet + i)
	return netip.AddrFrom4(a)
}
