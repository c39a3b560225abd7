package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// A VRRP instance that keepalived reports MASTER holds its virtual
// addresses. keepalived 2.2.7 watches them over netlink: when one is
// removed it drops the instance to BACKUP (all its VIPs go, a priority-0
// advert goes out) and takes MASTER back after its skew time, about 0.6s,
// re-adding them all. It only misses a removal whose netlink event it never
// read (its monitor socket overran while it was busy or stalled); then the
// MASTER runs without the VIP and nobody serves it until the next election.
// Observe reports such addresses and an apply puts them back, as keepalived
// would (same prefix, device and label), without a reload: measured on the
// lab, a reload while a VIP is missing hands the VIP to the peer for
// seconds.

// vipTarget is one virtual address of an instance, where keepalived puts it.
type vipTarget struct {
	instance string
	prefix   netip.Prefix
	// dev is the device the address goes on; ensureDev the name hostaddr
	// adds it under (the label, such as eth0:1, when it has one).
	dev, ensureDev string
}

// vipTargets lists the virtual addresses of every instance of d.
func vipTargets(d *model.Director) []vipTarget {
	var out []vipTarget
	for _, in := range d.Instances {
		iface := in.Interface
		if iface == "" {
			iface = d.Interface
		}
		for _, v := range in.VirtualIPs {
			dev := v.Device
			if dev == "" {
				dev = iface
			}
			t := vipTarget{instance: in.Name, prefix: v.Prefix, dev: dev, ensureDev: dev}
			if v.Label != "" && strings.HasPrefix(v.Label, dev+":") {
				t.ensureDev = v.Label
			}
			out = append(out, t)
		}
	}
	return out
}

// missingVIPs returns the virtual addresses of the instances states says
// are MASTER that are not on their device. A device that cannot be listed
// counts as missing none: keepalived puts that instance in FAULT.
func missingVIPs(m Addresses, d *model.Director, states map[string]string) []vipTarget {
	var out []vipTarget
	have := map[string][]netip.Prefix{}
	for _, t := range vipTargets(d) {
		if states[t.instance] != "MASTER" {
			continue
		}
		list, ok := have[t.dev]
		if !ok {
			var err error
			if list, err = m.List(t.dev); err != nil {
				continue
			}
			have[t.dev] = list
		}
		if !slices.Contains(list, t.prefix) {
			out = append(out, t)
		}
	}
	return out
}

// byInstance is the wire form of missing VIPs: instance -> prefixes.
func byInstance(ts []vipTarget) map[string][]string {
	if len(ts) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, t := range ts {
		out[t.instance] = append(out[t.instance], t.prefix.String())
	}
	return out
}

// observeMissingVIPs reports the missing VIPs of the MASTER instances.
func (a *Agent) observeMissingVIPs(hc *hostConfig, states map[string]string) map[string][]string {
	if hc.keepalived == nil || len(states) == 0 || a.Addrs == nil {
		return nil
	}
	m, err := a.Addrs()
	if err != nil {
		return nil
	}
	defer m.Close()
	return byInstance(missingVIPs(m, &hc.keepalived.Director, states))
}

// repairVIPs puts back the virtual addresses a MASTER instance lacks. It
// runs only when the apply left keepalived's configuration as it was (a
// reload just now makes keepalived set its VIPs itself, and its states are
// in flux); it asks keepalived for the states right before, and again
// after, adding: an instance that left MASTER meanwhile must not hold
// them, so they are taken off again. Never a restart or reload, which
// would fail the VIPs over.
func (a *Agent) repairVIPs(ctx context.Context, hc *hostConfig, ka *daemon, tx *txn, rep *wire.ApplyReport) *wire.Error {
	if hc.keepalived == nil || len(hc.keepalived.Director.Instances) == 0 || ka == nil || ka.action != actEnsure || a.Addrs == nil {
		return nil
	}
	if running, _ := a.running(ctx, ka, ka.want); !running {
		return nil
	}
	pid, err := a.pid(ka)
	if err != nil {
		return nil
	}
	states := a.vrrpStates(ctx, pid)
	if len(states) == 0 {
		return nil
	}
	const step = "restore VRRP virtual addresses"
	fail := func(t vipTarget, err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "vrrp_instance " + t.instance, Message: err.Error()}
	}
	m, err := a.Addrs()
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "director director", Message: err.Error()}
	}
	defer m.Close()
	missing := missingVIPs(m, &hc.keepalived.Director, states)
	if len(missing) == 0 {
		return nil
	}
	var added []vipTarget
	undo := func(m Addresses) error {
		var errs []error
		for i := len(added) - 1; i >= 0; i-- {
			t := added[i]
			if _, err := m.Remove(t.ensureDev, t.prefix); err != nil {
				errs = append(errs, fmt.Errorf("vrrp_instance %s: removing %s from %s: %w", t.instance, t.prefix, t.dev, err))
			}
		}
		return errors.Join(errs...)
	}
	tx.add(func() error {
		m, err := a.Addrs()
		if err != nil {
			return err
		}
		defer m.Close()
		return undo(m)
	})
	for _, t := range missing {
		ok, err := m.Ensure(t.ensureDev, t.prefix)
		if err != nil {
			return fail(t, fmt.Errorf("adding %s to %s: %w", t.prefix, t.dev, err))
		}
		if ok {
			added = append(added, t)
			rep.Netlink++
		}
	}
	// keepalived may have left MASTER while the addresses went on.
	now := a.vrrpStates(ctx, pid)
	var back []vipTarget
	for _, t := range added {
		// No answer keeps them: the instance was MASTER a moment ago.
		if now == nil || now[t.instance] == "MASTER" {
			back = append(back, t)
			continue
		}
		if _, err := m.Remove(t.ensureDev, t.prefix); err != nil {
			return fail(t, fmt.Errorf("vrrp_instance %s left MASTER (%q) while its VIP %s went back on %s, and removing it failed: %w",
				t.instance, now[t.instance], t.prefix, t.dev, err))
		}
	}
	added = back
	return nil
}
