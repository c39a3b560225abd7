package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// DefaultReloadTimeout bounds the wait for a started or reloaded daemon to
// show that it runs the new config, when the Agent gives none.
const DefaultReloadTimeout = 60 * time.Second

// readiness tells whether a daemon shows, on the host, that it runs the
// config it was just given; missing says what it still lacks. nil: the
// daemon shows nothing to compare (see awaitDaemon).
type readiness func() (ready bool, missing string)

// awaitDaemon waits for d to run the config it was given at step, on
// evidence rather than a fixed sleep:
//
//   - pid is the process that was signalled to reload (0 after a start, or
//     when systemd reloads it): it must stay, a reload that ends it failed
//     (keepalived exits when its new config cannot run);
//   - ready, when not nil, is what the host must show: keepalived's IPVS
//     table reaching the rendered config (ipvsReady). A reload is done as
//     soon as it does, a start once the process is up and it does;
//   - without it, a reload is done at once (keepalived's VRRP process takes
//     the signals of the later observation in order, after its reload),
//     and a start must stay up for the Settle period: keepalived with
//     virtual servers on a kernel without IPVS exits a moment after it
//     started, and nothing else would show it.
//
// The wait is bounded by ReloadTimeout; running out is an error naming
// the host, the step and what was still missing.
func (a *Agent) awaitDaemon(ctx context.Context, d *daemon, step string, pid int, ready readiness) *wire.Error {
	fail := func(msg string) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: d.object(), Message: msg}
	}
	start := time.Now()
	deadline := start.Add(a.reloadTimeout())
	started := 0 // the pid seen up after a start
	for {
		cur, err := a.pid(d)
		if err != nil && pid != 0 && a.Procs.Alive(pid) {
			// haproxy's master rewrites its pid file as it re-executes
			// on the reload signal (truncate, then write): a read in
			// between finds it empty. The signalled process still runs.
			cur, err = pid, nil
		}
		up := err == nil && a.Procs.Alive(cur)
		switch {
		case pid != 0 && (!up || cur != pid):
			what := "exited"
			if up {
				what = fmt.Sprintf("was replaced by pid %d", cur)
			}
			return fail(fmt.Sprintf("%s pid %d %s during %q on %s; its log (syslog or journal) says why", d.name, pid, what, step, a.hostname()))
		case started != 0 && (!up || cur != started):
			return fail(fmt.Sprintf("%s (pid %d) stopped %v after %q on %s; its log (syslog or journal) says why",
				d.name, started, time.Since(start).Round(time.Millisecond), step, a.hostname()))
		case up && started == 0 && pid == 0:
			started = cur
		case !up && started == 0 && pid == 0 && time.Since(start) >= a.startGrace():
			// The start command returned, yet no live process holds the
			// pid file: the daemon exited before a poll saw it up
			// (keepalived with a checker on a kernel without IPVS lives
			// about 100ms). Waiting out ReloadTimeout would not change it.
			return fail(fmt.Sprintf("%s exited within %v of %q on %s: no live process holds %s; its log (syslog or journal) says why",
				d.name, a.startGrace(), step, a.hostname(), d.pidFile))
		}
		missing := ""
		if up {
			switch {
			case ready != nil:
				var ok bool
				if ok, missing = ready(); ok {
					return nil
				}
			case pid != 0:
				return nil
			case time.Since(start) >= a.Settle:
				return nil
			}
		}
		if !time.Now().Before(deadline) {
			if !up {
				return fail(fmt.Sprintf("%s is not running %v after %q on %s; its log (syslog or journal) says why",
					d.name, a.reloadTimeout(), step, a.hostname()))
			}
			return fail(fmt.Sprintf("%s did not reach the rendered config %v after %q on %s: %s",
				d.name, a.reloadTimeout(), step, a.hostname(), missing))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err().Error())
		case <-time.After(a.poll()):
		}
	}
}

// DefaultStartGrace bounds how long a started daemon may take to show a
// live pid file, when the Agent gives none: keepalived and haproxy write
// theirs within milliseconds of the start command's return.
const DefaultStartGrace = 10 * time.Second

// startGrace is how long a start may go without a live pid file before it
// counts as failed, never more than ReloadTimeout.
func (a *Agent) startGrace() time.Duration {
	g := a.StartGrace
	if g <= 0 {
		g = DefaultStartGrace
	}
	return min(g, a.reloadTimeout())
}

func (a *Agent) reloadTimeout() time.Duration {
	if a.ReloadTimeout > 0 {
		return a.ReloadTimeout
	}
	return DefaultReloadTimeout
}

// hostname names the host in messages.
func (a *Agent) hostname() string {
	if h := a.readTrim("/proc/sys/kernel/hostname"); h != "" {
		return "host " + h
	}
	return "the host"
}

// ipvsExpectation is what keepalived's checker process has programmed
// once it loaded a config. keepalived 2.2 does all of it in one step of
// its reload (check_daemon.c reload_check_thread -> start_check):
// clear_diff_services removes the services and real servers the old
// config had and the new one lacks and edits changed services, then
// init_services adds the new services and every new real server not
// started down (alpha) — before any health check, which runs at least
// BOOTSTRAP_DELAY (1s) later. So the table reaching it is the evidence
// that the reload is done, and a new destination seen present once counts
// even when its check takes it out afterwards.
type ipvsExpectation struct {
	services map[string]*serviceExpectation
	absent   map[string]bool // services that must be gone
}

// serviceExpectation is what keepalived programs for one service.
type serviceExpectation struct {
	// required: the service is new (or keepalived started afresh), so
	// keepalived adds it. A service it had before and that is not in the
	// table was removed by hand; a reload does not bring it back, so only
	// its destinations are compared when it is there.
	required  bool
	dests     map[string]bool // new destinations, to see once
	goneDests map[string]bool // destinations that must be gone
	scheduler string          // the scheduler it must show, when it changes
}

// keepalivedServices are the kernel services keepalived programs for c,
// by key, with the destinations each gets (group services expanded into
// their member services); nil when keepalived does not own IPVS.
func keepalivedServices(c *model.KeepalivedConfig) map[string]*model.VirtualServer {
	if c == nil || !c.OwnsIPVS() {
		return nil
	}
	out := map[string]*model.VirtualServer{}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if len(vs.RealServers) == 0 {
			continue // not rendered
		}
		members := []model.VirtualServer{*vs}
		if vs.Group != "" {
			members = groupServices(c, vs)
		}
		for j := range members {
			m := members[j]
			svc, err := ipvs.ServiceOf(&m)
			if err != nil {
				continue // nothing IPVS can hold
			}
			out[ipvs.ServiceKey(svc)] = &m
		}
	}
	return out
}

// destinationKeys are the destination keys of vs in the kernel.
func destinationKeys(vs *model.VirtualServer) map[string]bool {
	out := map[string]bool{}
	for i := range vs.RealServers {
		out[ipvs.DestinationKey(ipvs.DestinationOf(vs, &vs.RealServers[i]))] = true
	}
	return out
}

// newIPVSExpectation is what keepalived must program going from the old
// config (nil: none, keepalived starts afresh) to the new one. Group
// services keep their member services when they lose them
// (removeGroupLeftovers cleans those), so only plain services are expected
// gone.
func newIPVSExpectation(newCfg, oldCfg *model.KeepalivedConfig) *ipvsExpectation {
	now, before := keepalivedServices(newCfg), keepalivedServices(oldCfg)
	e := &ipvsExpectation{services: map[string]*serviceExpectation{}, absent: map[string]bool{}}
	for k, vs := range now {
		se := &serviceExpectation{dests: map[string]bool{}, goneDests: map[string]bool{}}
		e.services[k] = se
		want := destinationKeys(vs)
		had := map[string]bool{}
		if old := before[k]; old != nil {
			had = destinationKeys(old)
			if vs.EffectiveScheduler() != old.EffectiveScheduler() {
				se.scheduler = vs.EffectiveScheduler()
			}
		} else {
			se.required = true
		}
		for d := range had {
			if !want[d] {
				se.goneDests[d] = true
			}
		}
		if vs.Alpha {
			continue // its new real servers may start down
		}
		for d := range want {
			if !had[d] {
				se.dests[d] = true
			}
		}
	}
	for k, vs := range before {
		if now[k] == nil && vs.Group == "" && !isGroupMember(oldCfg, k) {
			e.absent[k] = true
		}
	}
	return e
}

// isGroupMember reports whether key is a member service of a group
// service of c.
func isGroupMember(c *model.KeepalivedConfig, key string) bool {
	for i := range c.VirtualServers {
		if vs := &c.VirtualServers[i]; vs.Group != "" {
			for _, m := range groupServices(c, vs) {
				if svc, err := ipvs.ServiceOf(&m); err == nil && ipvs.ServiceKey(svc) == key {
					return true
				}
			}
		}
	}
	return false
}

// empty reports whether there is nothing to wait for.
func (e *ipvsExpectation) empty() bool {
	if len(e.absent) > 0 {
		return false
	}
	for _, se := range e.services {
		if se.required || se.scheduler != "" || len(se.dests) > 0 || len(se.goneDests) > 0 {
			return false
		}
	}
	return true
}

// check compares table with e, recording in seen the new destinations it
// found, and says what is still missing ("" when nothing).
func (e *ipvsExpectation) check(table ipvs.Table, seen map[string]bool) string {
	have := map[string]*ipvs.TableService{}
	for i := range table {
		have[ipvs.ServiceKey(table[i].Service.Service)] = &table[i]
	}
	var missing []string
	for k, se := range e.services {
		ts := have[k]
		if ts == nil {
			if se.required {
				missing = append(missing, "service "+k+" not in the IPVS table")
			}
			continue
		}
		if se.scheduler != "" && ts.Service.Scheduler != se.scheduler {
			missing = append(missing, "service "+k+" still has scheduler "+ts.Service.Scheduler+", not "+se.scheduler)
		}
		in := map[string]bool{}
		for _, d := range ts.Destinations {
			in[ipvs.DestinationKey(d.Destination)] = true
		}
		for d := range se.dests {
			if in[d] {
				seen[k+" "+d] = true
			}
			if !seen[k+" "+d] {
				missing = append(missing, "destination "+d+" of "+k+" not in the IPVS table")
			}
		}
		for d := range se.goneDests {
			if in[d] {
				missing = append(missing, "destination "+d+" of "+k+" still in the IPVS table")
			}
		}
	}
	for k := range e.absent {
		if have[k] != nil {
			missing = append(missing, "service "+k+" still in the IPVS table")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	slices.Sort(missing)
	if len(missing) > 5 {
		missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
	}
	return strings.Join(missing, "; ")
}

// ipvsReady is the readiness of keepalived going from oldCfg to newCfg:
// the kernel's IPVS table reaching what keepalived programs. nil when
// there is nothing to compare (keepalived owns no service in either).
//
// On a kernel that shows no IPVS yet (/proc/net/ip_vs), a config with
// services is not ready until it does: keepalived's checker loads ip_vs
// as it starts (ipvs_start), and where the kernel has none the checker
// exits, and keepalived with it (report_child_status: fatal), which
// awaitDaemon sees. A reload that brings the first virtual_server starts
// the checker then, so the reload is not done at once.
func (a *Agent) ipvsReady(newCfg, oldCfg *model.KeepalivedConfig) readiness {
	if a.IPVS == nil {
		return nil
	}
	if !a.hasIPVS() {
		if len(keepalivedServices(newCfg)) == 0 {
			return nil
		}
		var table readiness
		return func() (bool, string) {
			if !a.hasIPVS() {
				return false, "the kernel shows no IPVS (/proc/net/ip_vs) yet: keepalived's checker loads ip_vs as it starts"
			}
			if table == nil {
				if table = a.tableReady(newCfg, oldCfg); table == nil {
					return true, ""
				}
			}
			return table()
		}
	}
	return a.tableReady(newCfg, oldCfg)
}

// tableReady is the IPVS table half of ipvsReady; nil when keepalived
// programs nothing going from oldCfg to newCfg.
func (a *Agent) tableReady(newCfg, oldCfg *model.KeepalivedConfig) readiness {
	e := newIPVSExpectation(newCfg, oldCfg)
	if e.empty() {
		return nil
	}
	seen := map[string]bool{}
	return func() (bool, string) {
		c, err := a.IPVS()
		if err != nil {
			return false, "opening the IPVS table: " + err.Error()
		}
		defer c.Close()
		table, err := ipvs.Read(c)
		if err != nil {
			return false, "reading the IPVS table: " + err.Error()
		}
		missing := e.check(table, seen)
		return missing == "", missing
	}
}
