package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// ipvsOwnedFile lists the IPVS services the agent programmed itself (the
// netlink engine), by model Key: only those it ever changes or removes.
const ipvsOwnedFile = StateDir + "/ipvs-owned.json"

func (a *Agent) loadOwned() ([]string, snapshot, error) {
	snap, err := takeSnapshot(a.path(ipvsOwnedFile), secretFileMode)
	if err != nil || !snap.exists {
		return nil, snap, err
	}
	var keys []string
	if err := json.Unmarshal(snap.data, &keys); err != nil {
		return nil, snap, fmt.Errorf("%s: %w", ipvsOwnedFile, err)
	}
	return keys, snap, nil
}

func (a *Agent) saveOwned(keys []string) error {
	path := a.path(ipvsOwnedFile)
	if len(keys) == 0 {
		return removeDurably(path)
	}
	data, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), secretDirMode); err != nil {
		return err
	}
	return writeAtomic(path, data, secretFileMode)
}

// netlinkServices are the virtual servers the agent programs itself: all
// of a netlink-engine director's; none otherwise (keepalived owns them).
func netlinkServices(hc *hostConfig) []model.VirtualServer {
	if hc.keepalived == nil || hc.keepalived.OwnsIPVS() {
		return nil
	}
	return hc.keepalived.VirtualServers
}

// applyIPVS programs a netlink-engine director's IPVS table with the
// fewest netlink requests, never touching a service it did not create; a
// desired service that exists and is not ours is refused unless the
// request adopts its virtual server (import).
// Undo plans the table back to the owned services as they were.
//
// An engine switch hands services over without deleting them:
//   - keepalived -> netlink: the services prev (the host's previous stored
//     objects) declared under keepalived are ours to take over in place.
//     keepalived's reload later in the apply removes them from the kernel
//     (it deletes every virtual_server its new config no longer has), so
//     the StepIPVSHandover step programs them again right after it.
//   - netlink -> keepalived: the services keepalived now declares leave the
//     ownership record without being deleted; keepalived's reload adopts
//     them (it programs the services it declares).
func (a *Agent) applyIPVS(hc, prev *hostConfig, adopt []wire.Key, tx *txn, rep *wire.ApplyReport) *wire.Error {
	const step = "program IPVS"
	fail := func(code int, err error) *wire.Error {
		return &wire.Error{Code: code, Step: step, Object: "director director", Message: err.Error()}
	}
	owned, snap, err := a.loadOwned()
	if err != nil {
		return fail(wire.ExitFailed, err)
	}
	desired := netlinkServices(hc)
	handedOver := keepalivedDeclared(prev)
	toKeepalived := keepalivedDeclared(hc)
	kept := slices.DeleteFunc(slices.Clone(owned), func(k string) bool { return slices.Contains(toKeepalived, k) })
	if len(desired) == 0 && len(kept) == 0 {
		if len(owned) == 0 {
			return nil
		}
		// Every owned service is keepalived's now: drop the record only.
		tx.add(snap.restore)
		if err := a.saveOwned(nil); err != nil {
			return fail(wire.ExitFailed, err)
		}
		return nil
	}
	owned = kept
	if a.IPVS == nil {
		return fail(wire.ExitUnsupported, ipvs.ErrNoIPVS)
	}
	c, err := a.IPVS()
	if err != nil {
		return fail(ipvsCode(err), err)
	}
	defer c.Close()
	before, err := ipvs.Read(c)
	if err != nil {
		return fail(wire.ExitFailed, err)
	}
	isOwned := func(key string) bool {
		return slices.Contains(owned, key) || slices.Contains(handedOver, key) ||
			slices.Contains(adopt, wire.VirtualServerKey(key))
	}
	ops, err := ipvs.Plan(desired, before, isOwned)
	if err != nil {
		return fail(ipvsCode(err), err)
	}
	n, err := ipvs.Apply(c, ops)
	rep.Netlink += n
	if err != nil {
		return fail(wire.ExitFailed, err)
	}
	var newOwned []string
	for i := range desired {
		newOwned = append(newOwned, desired[i].Key())
	}
	tx.add(func() error { return a.undoIPVS(before, owned, newOwned, snap) })
	if err := a.saveOwned(newOwned); err != nil {
		return fail(wire.ExitFailed, err)
	}
	return nil
}

// undoIPVS plans the table back to the services owned before the apply,
// as they were read then.
func (a *Agent) undoIPVS(before ipvs.Table, owned, newOwned []string, snap snapshot) error {
	var old []model.VirtualServer
	for _, ts := range before {
		if slices.Contains(owned, ipvs.ServiceKey(ts.Service.Service)) {
			dests := make([]kipvs.Destination, len(ts.Destinations))
			for i, d := range ts.Destinations {
				dests[i] = d.Destination
			}
			old = append(old, ipvs.VirtualServerOf(ts.Service.Service, dests))
		}
	}
	c, err := a.IPVS()
	if err != nil {
		return err
	}
	defer c.Close()
	now, err := ipvs.Read(c)
	if err != nil {
		return err
	}
	ops, err := ipvs.Plan(old, now, func(key string) bool { return slices.Contains(owned, key) || slices.Contains(newOwned, key) })
	if err != nil {
		return err
	}
	_, err = ipvs.Apply(c, ops)
	return errors.Join(err, snap.restore())
}

// keepalivedDeclared are the kernel services keepalived programs for hc's
// keepalived-engine director (none for a netlink one or no director).
func keepalivedDeclared(hc *hostConfig) []string {
	if hc == nil || hc.keepalived == nil || !hc.keepalived.OwnsIPVS() {
		return nil
	}
	var keys []string
	for i := range hc.keepalived.VirtualServers {
		keys = append(keys, keepalivedServiceKeys(hc.keepalived, &hc.keepalived.VirtualServers[i])...)
	}
	return keys
}

// reprogramHandedOver runs after keepalived's reload on a keepalived ->
// netlink switch: that reload deleted the services its old config declared
// and the new one does not, which the netlink engine now owns; program
// them again at once. Nothing to do on any other apply.
func (a *Agent) reprogramHandedOver(hc, prev *hostConfig, rep *wire.ApplyReport) *wire.Error {
	desired := netlinkServices(hc)
	if len(desired) == 0 || len(keepalivedDeclared(prev)) == 0 || a.IPVS == nil {
		return nil
	}
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: ipvsCode(err), Step: "program IPVS after keepalived", Object: "director director", Message: err.Error()}
	}
	c, err := a.IPVS()
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	now, err := ipvs.Read(c)
	if err != nil {
		return fail(err)
	}
	var keys []string
	for i := range desired {
		keys = append(keys, desired[i].Key())
	}
	ops, err := ipvs.Plan(desired, now, func(key string) bool { return slices.Contains(keys, key) })
	if err != nil {
		return fail(err)
	}
	n, err := ipvs.Apply(c, ops)
	rep.Netlink += n
	if err != nil {
		return fail(err)
	}
	return nil
}

// ipvsCode classifies an IPVS error as a wire exit code.
func ipvsCode(err error) int {
	switch {
	case errors.Is(err, ipvs.ErrNoIPVS):
		return wire.ExitUnsupported
	case errors.Is(err, ipvs.ErrForeign):
		return wire.ExitForeign
	}
	return wire.ExitFailed
}

// keepalivedServiceKeys are the kernel services keepalived programs for
// vs: its own key, or for a group service one per member address and mark.
func keepalivedServiceKeys(c *model.KeepalivedConfig, vs *model.VirtualServer) []string {
	if vs.Group == "" {
		return []string{vs.Key()}
	}
	var keys []string
	for _, svc := range groupServices(c, vs) {
		keys = append(keys, svc.Key())
	}
	return keys
}

// groupServices are the member services of a group service (none when
// its group is not in c).
func groupServices(c *model.KeepalivedConfig, vs *model.VirtualServer) []model.VirtualServer {
	for i := range c.Groups {
		if c.Groups[i].Name == vs.Group {
			return c.Groups[i].MemberServices(vs)
		}
	}
	return nil
}

// observeIPVS reads the kernel's table; a service is ours when the agent
// programmed it or the installed keepalived config declares it.
func (a *Agent) observeIPVS(hc *hostConfig) ([]wire.IPVSService, error) {
	if a.IPVS == nil {
		return nil, nil
	}
	c, err := a.IPVS()
	if err != nil {
		return nil, fmt.Errorf("opening the IPVS table: %w", err)
	}
	defer c.Close()
	t, err := ipvs.Read(c)
	if err != nil {
		return nil, fmt.Errorf("reading the IPVS table: %w", err)
	}
	owned, _, err := a.loadOwned()
	if err != nil {
		return nil, err
	}
	var declared []string
	if hc.keepalived != nil && hc.keepalived.OwnsIPVS() {
		for i := range hc.keepalived.VirtualServers {
			declared = append(declared, keepalivedServiceKeys(hc.keepalived, &hc.keepalived.VirtualServers[i])...)
		}
	}
	return ipvs.Observe(t, func(key string) bool { return slices.Contains(owned, key) || slices.Contains(declared, key) }), nil
}
