package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// guardFile records that the agent put the scheduler guard in place, so
// that an apply interrupted before it took the guard away (a crash) has the
// next apply remove it, without every apply opening nftables to look.
const guardFile = StateDir + "/sched-guard"

// Guard is the agent's scheduler-change guard (nftmark.Manager.Guard):
// rules that drop the connections IPVS passes to the local stack.
type Guard interface {
	Guard(services []model.FwmarkRule) error
	Unguard() error
	Close() error
}

// schedulerChanges are the services of both configurations whose
// scheduler the apply changes (all of them in an engine switch), as guard
// matches (address services with a
// port, TCP or UDP; an fwmark service is matched by no address). The
// kernel edits such a service in place, but between unbinding the old
// scheduler and binding the new one it schedules nothing: a connection
// arriving then falls to the director's own stack, which refuses it.
func schedulerChanges(prev, hc *hostConfig) []model.FwmarkRule {
	if prev == nil || prev.keepalived == nil || hc.keepalived == nil {
		return nil
	}
	before := allServices(prev.keepalived)
	// An engine switch to netlink reloads keepalived into a config
	// without its virtual_server blocks: its checker deletes every service
	// it programmed, and the handover step programs them again once they
	// are gone; every service is briefly absent while its VIP is held.
	// (Under an earlier agent's VRRP-only keepalived, the switch back to
	// keepalived restarts it, with the same gap.)
	engineSwitch := prev.keepalived.OwnsIPVS() != hc.keepalived.OwnsIPVS()
	var out []model.FwmarkRule
	for k, vs := range allServices(hc.keepalived) {
		old := before[k]
		if old == nil || (!engineSwitch && old.EffectiveScheduler() == vs.EffectiveScheduler()) {
			continue
		}
		proto := vs.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if vs.Fwmark != 0 || vs.Port == 0 || (proto != "tcp" && proto != "udp") || !vs.Address.IsValid() {
			continue
		}
		out = append(out, model.FwmarkRule{
			Destination: netip.PrefixFrom(vs.Address, vs.Address.BitLen()), Protocol: proto, Port: vs.Port,
		})
	}
	slices.SortFunc(out, func(a, b model.FwmarkRule) int { return compareRule(a, b) })
	return out
}

func compareRule(a, b model.FwmarkRule) int {
	if c := a.Destination.Addr().Compare(b.Destination.Addr()); c != 0 {
		return c
	}
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	switch {
	case a.Protocol < b.Protocol:
		return -1
	case a.Protocol > b.Protocol:
		return 1
	}
	return 0
}

// allServices are the kernel services c declares, by key, whichever
// engine programs them (group services expanded into their members).
func allServices(c *model.KeepalivedConfig) map[string]*model.VirtualServer {
	out := map[string]*model.VirtualServer{}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		members := []model.VirtualServer{*vs}
		if vs.Group != "" {
			members = groupServices(c, vs)
		}
		for j := range members {
			m := members[j]
			svc, err := ipvs.ServiceOf(&m)
			if err != nil {
				continue
			}
			out[ipvs.ServiceKey(svc)] = &m
		}
	}
	return out
}

// guardSchedulerChanges puts the guard in place for the services whose
// scheduler this apply changes, and returns what takes it away again (to
// call once the kernel shows the new schedulers; safe to call twice). A
// guard left by an interrupted apply is taken away first. The guard is a
// protection, not a requirement: when nftables cannot hold it the apply
// goes on, with a warning.
func (a *Agent) guardSchedulerChanges(prev, hc *hostConfig) (release func(), warning string) {
	rules := schedulerChanges(prev, hc)
	_, err := os.Stat(a.path(guardFile))
	leftover := err == nil
	if (len(rules) == 0 && !leftover) || a.Guards == nil {
		return func() {}, ""
	}
	g, err := a.Guards()
	if err != nil {
		return func() {}, guardWarning(rules, err)
	}
	if len(rules) == 0 {
		defer g.Close()
		if err := g.Unguard(); err == nil {
			_ = removeDurably(a.path(guardFile))
		}
		return func() {}, ""
	}
	if err := writeAtomic(a.path(guardFile), []byte(fmt.Sprintf("%d services\n", len(rules))), secretFileMode); err != nil {
		g.Close()
		return func() {}, guardWarning(rules, err)
	}
	if err := g.Guard(rules); err != nil {
		g.Close()
		return func() {}, guardWarning(rules, err)
	}
	done := false
	return func() {
		if done {
			return
		}
		done = true
		defer g.Close()
		if err := g.Unguard(); err == nil || errors.Is(err, os.ErrNotExist) {
			_ = removeDurably(a.path(guardFile))
		}
	}, ""
}

func guardWarning(rules []model.FwmarkRule, err error) string {
	return fmt.Sprintf("scheduler change of %d services without the connection guard (a connection arriving in the kernel's edit may be refused): %v", len(rules), err)
}
