// Package agent is what runs on each host: it keeps one desired-state
// document per object, rebuilds the host's files and kernel state from all
// of them under a host-wide lock, and reports what the host really runs.
//
// An apply is all or nothing. It locks the host, loads the stored objects,
// applies the request's puts and deletes in memory, and validates the
// composed configuration with the model (a bad one is refused with
// ExitBadRequest before anything is touched). It renders every file and
// checks each with its tool (keepalived -t, haproxy -c) before any is
// installed. Then it runs the steps (the tunnel module a TUN real server
// needs, sysctls, addresses, firewall marks (nftables), netlink IPVS, keepalived, haproxy, the
// restore-at-boot hook), each registering how to undo itself; a failing
// step undoes the ones before it, in reverse. The new object set is stored only after every step
// succeeded, so the store never describes a host state that was not
// reached.
//
// The logic takes small interfaces (Runner, Procs, Sysctls, Addresses)
// and a file system root; only the binary builds the real ones.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// DefaultLockTimeout bounds the wait for the host lock when the request
// gives none.
const DefaultLockTimeout = 60 * time.Second

// Agent serves one request on one host.
type Agent struct {
	// Root prefixes every path the agent reads or writes: "/" on a host.
	Root    string
	Version string
	Run     Runner
	Procs   Procs
	Sysctl  Sysctls
	// Addrs opens the host's addresses and routes (netlink); it is called
	// only when an object puts addresses on the host or did before.
	Addrs func() (Addresses, error)
	// IPVS opens the kernel's IPVS table (netlink); it is called only for
	// a netlink-engine director, or one that was, and to observe.
	IPVS func() (ipvs.Client, error)
	// Routing opens the kernel's routes and policy rules (netlink); it is
	// called only on a director with static routes or rules.
	Routing func() (Routing, error)
	// Marks opens the agent's nftables table of firewall marks; it is
	// called only when a fwmark service has a match, or had one.
	Marks func() (Marks, error)
	// Guards opens the scheduler-change guard (nftables); it is called
	// only by an apply that changes a service's scheduler, or after one
	// was interrupted (sched_guard.go).
	Guards func() (Guard, error)
	// A started or reloaded daemon is done when the host shows it runs the
	// new config (awaitDaemon), within ReloadTimeout (default
	// DefaultReloadTimeout). Settle is how long a started daemon that
	// shows nothing to compare must stay up; Poll is how often both are
	// checked. A start that shows no live pid file within StartGrace
	// (default DefaultStartGrace) failed: the daemon exited.
	ReloadTimeout time.Duration
	Settle        time.Duration
	StartGrace    time.Duration
	Poll          time.Duration
	// Self is the host path of the running agent binary: the boot hook
	// runs it through CurrentLink. Empty installs no boot hook (tests).
	Self string
	// CrashAt names an apply step (ApplySteps) before which Crash is
	// called: the crash tests' hook, set from LVS_AGENT_TEST_CRASH_AT by
	// the binary. Crash kills the process as SIGKILL would.
	CrashAt string
	Crash   func()
	// PauseAt names an apply step before which Pause is called: the SSH
	// cut test's hook (LVS_AGENT_TEST_PAUSE_AT), so the connection is cut
	// while the apply is surely under way.
	PauseAt string
	Pause   func()
	// Conn is the caller's SSH connection (SSH_CONNECTION): what the
	// host's Stats count connections by. Empty counts none.
	Conn string
}

// Handle serves req and returns the response with the process exit code.
func (a *Agent) Handle(ctx context.Context, req *wire.Request) (*wire.Response, int) {
	resp := &wire.Response{Version: wire.Version, AgentVersion: a.Version}
	var werr *wire.Error
	switch req.Verb {
	case wire.VerbApply:
		resp.Applied, resp.Observed, resp.Warnings, resp.Refused, werr = a.apply(ctx, req)
	case wire.VerbObserve, wire.VerbStatus:
		resp.Observed, werr = a.observeLocked(ctx, req)
	case wire.VerbRestore:
		// At boot: rebuild sysctls, addresses, netlink-owned IPVS and the
		// daemons from the stored objects, as an apply that changes none.
		resp.Applied, resp.Observed, resp.Warnings, _, werr = a.apply(ctx, &wire.Request{LockTimeoutSeconds: req.LockTimeoutSeconds})
	case wire.VerbImport:
		resp.Imported, resp.Warnings, werr = a.importHost(ctx, req)
	case wire.VerbVersion:
	default:
		werr = &wire.Error{Code: wire.ExitUnsupported, Step: "request", Message: fmt.Sprintf("verb %q is not supported by this agent", req.Verb)}
	}
	if werr != nil {
		resp.Error = werr
		return resp, werr.Code
	}
	return resp, wire.ExitOK
}

// lock takes the host lock within the request's timeout.
func (a *Agent) lock(ctx context.Context, req *wire.Request) (func(), *wire.Error) {
	timeout := DefaultLockTimeout
	if req.LockTimeoutSeconds > 0 {
		timeout = time.Duration(req.LockTimeoutSeconds) * time.Second
	}
	unlock, err := lockHost(ctx, a.Root, timeout)
	if errors.Is(err, errLocked) {
		return nil, &wire.Error{Code: wire.ExitLocked, Step: "lock host", Message: fmt.Sprintf("%v after %v; retry when the other run is done", err, timeout)}
	}
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: "lock host", Message: err.Error()}
	}
	return unlock, nil
}

func (a *Agent) observeLocked(ctx context.Context, req *wire.Request) (*wire.Observed, *wire.Error) {
	unlock, werr := a.lock(ctx, req)
	if werr != nil {
		return nil, werr
	}
	defer unlock()
	defer a.count(false, nil)
	st := newStore(a.Root)
	objs, err := st.load()
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: "load objects", Message: err.Error()}
	}
	pend, err := st.pending()
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: "read journal", Message: err.Error()}
	}
	if pend == nil {
		return a.observe(ctx, objs), nil
	}
	// An apply stopped part-way: report what it set out to store (the
	// objects Terraform last asked for), and the daemons as out of sync,
	// so the plan has an update that lets the next apply finish it.
	obs := a.observe(ctx, pend.apply(objs))
	obs.Interrupted = fmt.Sprintf("an apply started at %s stopped before it finished (killed, cut off or rebooted); the next apply completes it", pend.Started.Format(time.RFC3339))
	for _, d := range []*wire.DaemonState{obs.Keepalived, obs.HAProxy} {
		if d != nil && d.ConfigSHA256 != "" {
			d.ConfigMatches = false
		}
	}
	return obs, nil
}

// apply serves an apply (and a restore). Its warnings say what the user
// should know although it succeeded: a hand-written file kept aside, a
// keepalived -t warning it ran with. The writers it refused
// (refuseConflicts) are reported and left out, whether the rest then
// succeeds or fails; when it refuses every writer, nothing is changed and
// the first refusal is its error (wire.ExitConflict).
func (a *Agent) apply(ctx context.Context, req *wire.Request) (*wire.ApplyReport, *wire.Observed, []string, []wire.Refusal, *wire.Error) {
	unlock, werr := a.lock(ctx, req)
	if werr != nil {
		return nil, nil, nil, nil, werr
	}
	defer unlock()
	rep := &wire.ApplyReport{Reloads: map[string]int{}}
	defer func() { a.count(true, rep.Reloads) }()
	st := newStore(a.Root)
	old, err := st.load()
	if err != nil {
		return nil, nil, nil, nil, &wire.Error{Code: wire.ExitFailed, Step: "load objects", Message: err.Error()}
	}
	// An apply that stopped part-way left its journal: roll it forward
	// first, so this one apply converges the host to what both wanted.
	pend, err := st.pending()
	if err != nil {
		return nil, nil, nil, nil, &wire.Error{Code: wire.ExitFailed, Step: "read journal", Message: err.Error()}
	}
	// Writers that conflict with what other resources store are refused
	// before anything is journaled; the others go on.
	base := old
	if pend != nil {
		base = pend.apply(old)
	}
	put, del, refused := refuseConflicts(base, req)
	if len(refused) > 0 {
		if len(put)+len(del) == 0 {
			first := refused[0].Error
			return nil, nil, nil, refused, &first
		}
		kept := *req
		kept.Put, kept.Delete, kept.Writers = put, del, nil
		req = &kept
	}
	objs := maps.Clone(old)
	// The keys this apply may change: only those are compared and stored.
	touched := map[wire.Key]bool{}
	for _, k := range req.Delete {
		touched[k] = true
	}
	for _, o := range req.Put {
		touched[o.Key] = true
	}
	if pend != nil {
		for _, k := range pend.Delete {
			touched[k] = true
		}
		for _, o := range pend.Put {
			touched[o.Key] = true
		}
		objs = pend.apply(old)
		rep.Recovered = pend.Started.Format(time.RFC3339)
		rep.Changed = append(rep.Changed, pend.Delete...)
		for _, o := range pend.Put {
			rep.Changed = append(rep.Changed, o.Key)
		}
	}
	for _, k := range req.Delete {
		if _, ok := objs[k]; ok {
			delete(objs, k)
			rep.Changed = append(rep.Changed, k)
		}
	}
	for _, o := range req.Put {
		if prev, ok := objs[o.Key]; !ok || !sameObject(prev, o) {
			rep.Changed = append(rep.Changed, o.Key)
		}
		objs[o.Key] = o
	}
	hc, werr := compose(objs)
	if werr != nil {
		return nil, nil, nil, refused, werr
	}
	// The previous objects' configuration: what an engine switch hands over.
	prev, werr := compose(old)
	if werr != nil {
		prev = nil
	}

	// Everything is rendered and checked by its tool before anything is
	// touched.
	directorKey := wire.Key{Kind: wire.KindDirector, ID: "director"}
	_, stored := old[directorKey]
	ka, werr := a.prepareKeepalived(ctx, hc, slices.Contains(req.Adopt, directorKey), stored)
	if werr != nil {
		return nil, nil, nil, refused, werr
	}
	defer ka.cleanup()
	// A reload is done when the kernel's IPVS table shows keepalived
	// programmed the change from the previous objects' configuration; a
	// start, when it programmed all of it.
	ka.readyFor = func(fresh bool) readiness {
		var before *model.KeepalivedConfig
		if !fresh && prev != nil {
			before = prev.keepalived
		}
		return a.ipvsReady(hc.keepalived, before)
	}
	// Certificates are on the host before haproxy -c reads them.
	certs, werr := a.writeCerts(hc)
	succeeded := false
	defer func() {
		if !succeeded {
			certs.undo()
		}
	}()
	if werr != nil {
		return nil, nil, nil, refused, werr
	}
	hp, werr := a.prepareHAProxy(ctx, hc, slices.ContainsFunc(req.Adopt, func(k wire.Key) bool { return k.Kind == wire.KindHAProxySettings }))
	if werr != nil {
		return nil, nil, nil, refused, werr
	}
	defer hp.cleanup()

	change := diffKeys(old, objs, touched)
	// From before IPVS changes until keepalived (or the netlink engine)
	// shows the new schedulers: see schedulerChanges.
	unguard, guardWarn := a.guardSchedulerChanges(prev, hc)
	defer unguard()
	var tx txn
	steps := []applyStep{
		{StepJournal, func() *wire.Error {
			if err := st.begin(change, time.Now()); err != nil {
				return &wire.Error{Code: wire.ExitFailed, Step: "write journal", Message: err.Error()}
			}
			return nil
		}},
		// Before the sysctls: the tunnel's rp_filter exists only once
		// its module is loaded.
		{StepTunnelModule, func() *wire.Error { return a.loadTunnelModule(ctx, hc) }},
		{StepSysctls, func() *wire.Error { return a.applySysctls(ctx, hc, &tx, rep) }},
		{StepAddresses, func() *wire.Error { return a.applyAddresses(ctx, hc, &tx, rep) }},
		{StepFwmarks, func() *wire.Error { return a.applyFwmarks(hc, &tx, rep) }},
		{StepIPVS, func() *wire.Error { return a.applyIPVS(hc, prev, req.Adopt, &tx, rep) }},
		{StepKeepalived, func() *wire.Error { return a.commitDaemon(ctx, ka, &tx, rep) }},
		// keepalived -> netlink: the reload just deleted the services its
		// old config declared; program them again at once.
		{StepIPVSHandover, func() *wire.Error {
			werr := a.reprogramHandedOver(hc, prev, rep)
			// keepalived is done (awaitDaemon saw the new schedulers in
			// the kernel), the netlink engine edited before it, and a
			// handover has programmed what keepalived deleted.
			unguard()
			return werr
		}},
		{StepKeepalivedWeights, func() *wire.Error { return a.resyncKeepalivedWeights(hc, rep) }},
		{StepGroupLeftovers, func() *wire.Error { return a.removeGroupLeftovers(prev, hc, rep) }},
		{StepVRRPVIPs, func() *wire.Error {
			if werr := a.repairVIPs(ctx, hc, ka, &tx, rep); werr != nil {
				return werr
			}
			if werr := a.keepStaticAddresses(hc, rep); werr != nil {
				return werr
			}
			return a.keepStaticRoutes(ctx, hc, ka, &tx, rep)
		}},
		{StepHAProxy, func() *wire.Error { return a.commitDaemon(ctx, hp, &tx, rep) }},
		{StepBootHook, func() *wire.Error { return a.applyBootHook(ctx, hc, &tx, rep) }},
		{StepStore, func() *wire.Error {
			if err := st.saveChange(objs, change); err != nil {
				return &wire.Error{Code: wire.ExitFailed, Step: "store objects", Message: err.Error()}
			}
			return nil
		}},
		{StepFinish, func() *wire.Error {
			// The store holds the change: the journal has done its work.
			// Should removing it fail, the next apply rolls forward a
			// change that is already made, which changes nothing.
			if err := st.finish(); err != nil {
				return &wire.Error{Code: wire.ExitFailed, Step: "remove journal", Message: err.Error()}
			}
			return nil
		}},
	}
	for _, step := range steps {
		if a.CrashAt == step.name && a.Crash != nil {
			a.Crash()
		}
		if a.PauseAt == step.name && a.Pause != nil {
			a.Pause()
		}
		if werr := step.run(); werr != nil {
			if err := tx.rollback(); err != nil {
				werr.Detail = joinDetail(werr.Detail, "undoing the steps before it also failed: "+err.Error())
			}
			// This request's change did not happen and must never be
			// rolled forward: the journal goes back to what it was (the
			// interrupted apply's change, or none).
			if err := st.revert(pend); err != nil {
				werr.Detail = joinDetail(werr.Detail, "resetting the journal also failed: "+err.Error())
			}
			return nil, nil, nil, refused, werr
		}
	}
	succeeded = true
	warnings := append(slices.Clip(ka.warnings), hp.warnings...)
	warnings = append(warnings, a.pruneCerts(hc)...)
	if guardWarn != "" {
		warnings = append(warnings, guardWarn)
	}
	// The response's observation reads what the apply changed; the
	// composition and the rendered configs are the apply's own.
	obs := a.observeComposed(ctx, objs, hc, renderedConfigs{keepalived: ka.want, haproxy: hp.want})
	return rep, obs, warnings, refused, nil
}

// The steps of an apply, in order. The names are stable: they are what a
// crash test (Agent.CrashAt) stops at.
const (
	StepJournal           = "journal"
	StepTunnelModule      = "tunnel-module"
	StepSysctls           = "sysctls"
	StepAddresses         = "addresses"
	StepFwmarks           = "fwmarks"
	StepIPVS              = "ipvs"
	StepKeepalived        = "keepalived"
	StepIPVSHandover      = "ipvs-handover"
	StepKeepalivedWeights = "keepalived-weights"
	StepGroupLeftovers    = "group-leftovers"
	StepVRRPVIPs          = "vrrp-vips"
	StepHAProxy           = "haproxy"
	StepBootHook          = "boot-hook"
	StepStore             = "store"
	StepFinish            = "finish"
)

// ApplySteps are the step names in the order an apply runs them.
var ApplySteps = []string{
	StepJournal, StepTunnelModule, StepSysctls, StepAddresses, StepFwmarks, StepIPVS, StepKeepalived, StepIPVSHandover, StepKeepalivedWeights,
	StepGroupLeftovers, StepVRRPVIPs, StepHAProxy, StepBootHook, StepStore, StepFinish,
}

type applyStep struct {
	name string
	run  func() *wire.Error
}

// sameObject reports whether two documents are equal as stored.
func sameObject(a, b wire.Object) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// txn collects how to undo the steps done so far.
type txn struct {
	undo []func() error
}

func (t *txn) add(f func() error) { t.undo = append(t.undo, f) }

// rollback undoes every step, last first, and reports what could not be undone.
func (t *txn) rollback() error {
	var errs []error
	for i := len(t.undo) - 1; i >= 0; i-- {
		if err := t.undo[i](); err != nil {
			errs = append(errs, err)
		}
	}
	t.undo = nil
	return errors.Join(errs...)
}
