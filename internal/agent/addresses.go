package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/lvsops/terraform-provider-lvs/internal/hostaddr"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Addresses puts addresses on devices and sets the default route;
// *hostaddr.Manager implements it. Every call is idempotent and reports
// whether it changed anything.
type Addresses interface {
	List(dev string) ([]netip.Prefix, error)
	Ensure(dev string, prefix netip.Prefix) (bool, error)
	// Scopes and EnsureScope see and set the scope of IPv4 addresses
	// (static addresses carry one).
	Scopes(dev string) (map[netip.Prefix]string, error)
	EnsureScope(dev string, prefix netip.Prefix, scope string) (bool, error)
	Remove(dev string, prefix netip.Prefix) (bool, error)
	Up(dev string) (bool, error)
	DefaultGateway(v6 bool) (netip.Addr, error)
	SetDefaultGateway(gw netip.Addr) (bool, error)
	Close() error
}

// addressesFile records what the agent put on the host's devices and
// routes, so that it removes exactly that when the objects are deleted.
const addressesFile = StateDir + "/addresses.json"

type addrState struct {
	Addresses []model.HostAddress `json:"addresses,omitempty"`
	// Gateway is the default gateway the agent set; PreviousGateway the
	// one it replaced, put back when no object wants a gateway any more.
	Gateway         netip.Addr `json:"gateway,omitzero"`
	PreviousGateway netip.Addr `json:"previous_gateway,omitzero"`
}

func (a *Agent) loadAddrState() (addrState, snapshot, error) {
	var st addrState
	path := a.path(addressesFile)
	snap, err := takeSnapshot(path, secretFileMode)
	if err != nil || !snap.exists {
		return st, snap, err
	}
	if err := json.Unmarshal(snap.data, &st); err != nil {
		return st, snap, fmt.Errorf("%s: %w", addressesFile, err)
	}
	return st, snap, nil
}

func (a *Agent) saveAddrState(st addrState) error {
	path := a.path(addressesFile)
	if len(st.Addresses) == 0 && !st.Gateway.IsValid() {
		return removeDurably(path)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), secretDirMode); err != nil {
		return err
	}
	return writeAtomic(path, data, secretFileMode)
}

// tunnelModules load the tunnel devices real servers receive on.
var tunnelModules = map[string]string{"tunl0": "ipip", "gre0": "ip_gre", "ip6tnl0": "ip6_tunnel"}

// loadTunnelModule makes the tunnel device of a TUN real server exist
// before any step touches it: the sysctls step sets its rp_filter, which
// exists only once the device does, and on a host where nothing loaded
// the module yet (ipip is loaded on demand) that step would fail. Loading
// a module is not undone: the address step brings the device up and puts
// the VIPs on it, and undoes that.
func (a *Agent) loadTunnelModule(ctx context.Context, hc *hostConfig) *wire.Error {
	if hc.realServer == nil || hc.realServer.TunnelDevice == "" {
		return nil
	}
	if a.Addrs == nil {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host", Message: "this agent cannot manage addresses"}
	}
	m, err := a.Addrs()
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host", Message: err.Error()}
	}
	defer m.Close()
	return a.ensureTunnelDevice(ctx, m, hc.realServer.TunnelDevice)
}

// ensureTunnelDevice loads the module of the tunnel device dev unless the
// device exists.
func (a *Agent) ensureTunnelDevice(ctx context.Context, m Addresses, dev string) *wire.Error {
	_, err := m.List(dev)
	if err == nil {
		return nil
	}
	if !errors.Is(err, hostaddr.ErrNoDevice) {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host", Message: err.Error()}
	}
	mod, ok := tunnelModules[dev]
	if !ok {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host",
			Message: fmt.Sprintf("tunnel device %s does not exist and no module is known to create it", dev)}
	}
	if _, stderr, err := a.Run.Run(ctx, "modprobe", mod); err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host",
			Message: fmt.Sprintf("%s needs module %s: modprobe %s: %v", dev, mod, mod, err), Detail: stderr}
	}
	if _, err := m.List(dev); err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: "load tunnel module", Object: "real_server_host",
			Message: fmt.Sprintf("module %s is loaded but %s: %v", mod, dev, err)}
	}
	return nil
}

// applyAddresses brings the real-server side of the host in line: the
// tunnel device up, the VIPs on their devices, the default route through
// the director. Addresses the agent put there and no object wants any
// more are removed; nothing else is touched.
func (a *Agent) applyAddresses(ctx context.Context, hc *hostConfig, tx *txn, rep *wire.ApplyReport) *wire.Error {
	const step = "apply addresses"
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "real_server_host", Message: err.Error()}
	}
	st, snap, err := a.loadAddrState()
	if err != nil {
		return fail(err)
	}
	want := hc.wantedAddresses()
	if len(want.Addresses) == 0 && !want.Gateway.IsValid() && want.TunnelDevice == "" && len(st.Addresses) == 0 && !st.Gateway.IsValid() {
		return nil
	}
	if a.Addrs == nil {
		return fail(errors.New("this agent cannot manage addresses"))
	}
	m, err := a.Addrs()
	if err != nil {
		return fail(err)
	}
	defer m.Close()

	var undo []func(Addresses) error
	tx.add(func() error {
		m, err := a.Addrs()
		if err != nil {
			return err
		}
		defer m.Close()
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i](m))
		}
		return errors.Join(append(errs, snap.restore())...)
	})

	if dev := want.TunnelDevice; dev != "" {
		if werr := a.ensureTunnelDevice(ctx, m, dev); werr != nil {
			return werr
		}
		if _, err := m.Up(dev); err != nil {
			return fail(err)
		}
	}
	for _, ha := range want.Addresses {
		added, undoIt, err := ensureAddress(m, ha)
		if err != nil {
			werr := fail(err)
			if slices.ContainsFunc(hc.staticAddrs, ha.SameAddress) {
				werr.Object = "director" // a static address: the director's
			}
			return werr
		}
		if added {
			rep.Netlink++
			undo = append(undo, undoIt)
		}
	}
	for _, ha := range st.Addresses {
		if slices.ContainsFunc(want.Addresses, ha.SameAddress) {
			continue
		}
		removed, err := m.Remove(ha.Device, ha.Prefix)
		if err != nil && !errors.Is(err, hostaddr.ErrNoDevice) {
			return fail(err)
		}
		if removed {
			rep.Netlink++
			undo = append(undo, func(m Addresses) error { _, err := m.Ensure(ha.Device, ha.Prefix); return err })
		}
	}
	if werr := a.applyGateway(m, &st, want.Gateway, &undo, rep); werr != nil {
		return werr
	}
	st.Addresses = want.Addresses
	if err := a.saveAddrState(st); err != nil {
		return fail(err)
	}
	return nil
}

// ensureAddress puts ha on its device at its scope, and says how to undo
// that: take it off again, or put back the scope it had.
func ensureAddress(m Addresses, ha model.HostAddress) (bool, func(Addresses) error, error) {
	var before map[netip.Prefix]string
	if ha.Scope != "" && ha.Prefix.Addr().Is4() {
		var err error
		if before, err = m.Scopes(ha.Device); err != nil {
			return false, nil, err
		}
	}
	changed, err := m.EnsureScope(ha.Device, ha.Prefix, ha.Scope)
	if err != nil || !changed {
		return false, nil, err
	}
	if prev, had := before[ha.Prefix]; had {
		return true, func(m Addresses) error { _, err := m.EnsureScope(ha.Device, ha.Prefix, prev); return err }, nil
	}
	return true, func(m Addresses) error { _, err := m.Remove(ha.Device, ha.Prefix); return err }, nil
}

// wantedAddresses is the real-server side with the director's static
// addresses added: the addresses the agent holds on the host.
func (hc *hostConfig) wantedAddresses() model.HostSetup {
	var want model.HostSetup
	if hc.realServer != nil {
		want = *hc.realServer
		want.Addresses = slices.Clone(want.Addresses)
	}
	for _, a := range hc.staticAddrs {
		if !slices.ContainsFunc(want.Addresses, a.SameAddress) {
			want.Addresses = append(want.Addresses, a)
		}
	}
	return want
}

// applyGateway routes through gw (when valid), remembering the gateway it
// replaced, or puts that one back when no object wants a gateway.
func (a *Agent) applyGateway(m Addresses, st *addrState, gw netip.Addr, undo *[]func(Addresses) error, rep *wire.ApplyReport) *wire.Error {
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: "set default route", Object: "real_server_host", Message: err.Error()}
	}
	target, v6 := gw, gw.Is6()
	if !gw.IsValid() {
		if !st.Gateway.IsValid() {
			return nil
		}
		// Put back the gateway we replaced. A host that had none keeps
		// ours: hostaddr replaces default routes but does not delete them.
		target, v6 = st.PreviousGateway, st.Gateway.Is6()
	}
	cur, err := m.DefaultGateway(v6)
	if err != nil {
		return fail(err)
	}
	if !st.Gateway.IsValid() {
		st.PreviousGateway = cur
	}
	if target.IsValid() {
		changed, err := m.SetDefaultGateway(target)
		if err != nil {
			return fail(err)
		}
		if changed {
			rep.Netlink++
			if cur.IsValid() {
				*undo = append(*undo, func(m Addresses) error { _, err := m.SetDefaultGateway(cur); return err })
			}
		}
	}
	st.Gateway = gw
	if !gw.IsValid() {
		st.PreviousGateway = netip.Addr{}
	}
	return nil
}

// observeAddresses lists the addresses on every device the stored
// objects, or what the agent applied before, put addresses on.
func (a *Agent) observeAddresses(hc *hostConfig) ([]model.HostAddress, error) {
	st, _, err := a.loadAddrState()
	if err != nil {
		return nil, err
	}
	var devs []string
	add := func(list []model.HostAddress) {
		for _, ha := range list {
			if !slices.Contains(devs, ha.Device) {
				devs = append(devs, ha.Device)
			}
		}
	}
	add(hc.wantedAddresses().Addresses)
	add(st.Addresses)
	if len(devs) == 0 || a.Addrs == nil {
		return nil, nil
	}
	m, err := a.Addrs()
	if err != nil {
		return nil, fmt.Errorf("opening the host's addresses: %w", err)
	}
	defer m.Close()
	slices.Sort(devs)
	var out []model.HostAddress
	for _, dev := range devs {
		list, err := m.List(dev)
		if errors.Is(err, hostaddr.ErrNoDevice) {
			continue // no device, so none of its addresses: they are gone
		}
		if err != nil {
			return nil, err
		}
		scopes, err := m.Scopes(dev)
		if err != nil && !errors.Is(err, hostaddr.ErrNoDevice) {
			return nil, err
		}
		for _, p := range list {
			out = append(out, model.HostAddress{Prefix: p, Device: dev, Scope: scopes[p]})
		}
	}
	return out, nil
}
