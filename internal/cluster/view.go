package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// View is one host's observation, indexed: every lookup a resource's read
// makes is a map access, so that reading n resources of a host costs O(n)
// in all, not O(n) each. A View never changes; a new observation gets a
// new View (see Views).
type View struct {
	obs      *wire.Observed
	objects  map[wire.Key]*wire.Object
	services map[string]*wire.IPVSService // kernel services by model key
	director *model.Director
	// realServers lists the real server objects stored under each service.
	realServers map[string][]wire.Key
	// dests indexes each kernel service's destinations by address:port:
	// where they are in Service.RealServers and in Destinations.
	dests map[*wire.IPVSService]map[string]destIndex
	// handBuilt holds the objects a hand-built configuration file declares
	// (WithHandBuilt), which describe what runs but is not stored.
	handBuilt map[wire.Key]*wire.Object
}

// WithHandBuilt is v with the objects an import read from the host's
// hand-built configuration files (keepalived.conf, haproxy.cfg): where the
// host stores no object of a key but the kernel runs it, the file's
// description supplies what the kernel cannot show (health checks, their
// defaults, quorum, the sorry server, the flags only keepalived reads), so
// that an import — and the configuration Terraform generates from it —
// carries them, and the apply that takes the file over keeps them. Such
// objects stay unstored (Stored is false). v itself is not changed.
func (v *View) WithHandBuilt(imported []wire.Object) *View {
	out := *v
	out.handBuilt = make(map[wire.Key]*wire.Object, len(imported))
	for i := range imported {
		out.handBuilt[imported[i].Key] = &imported[i]
	}
	return &out
}

// destIndex locates one destination in a kernel service (-1: not there).
type destIndex struct{ real, dest int }

// NewView indexes obs. obs must not change while the View is in use.
func NewView(obs *wire.Observed) *View {
	v := &View{obs: obs, objects: make(map[wire.Key]*wire.Object, len(obs.Objects)), services: make(map[string]*wire.IPVSService, len(obs.IPVS))}
	for i := range obs.Objects {
		o := &obs.Objects[i]
		v.objects[o.Key] = o
		if o.Key == wire.DirectorKey && o.Director != nil {
			v.director = o.Director
		}
		if o.Kind == wire.KindRealServer {
			if svc, _, ok := wire.SplitRealServerID(o.ID); ok {
				if v.realServers == nil {
					v.realServers = map[string][]wire.Key{}
				}
				v.realServers[svc] = append(v.realServers[svc], o.Key)
			}
		}
	}
	v.dests = make(map[*wire.IPVSService]map[string]destIndex, len(obs.IPVS))
	for i := range obs.IPVS {
		s := &obs.IPVS[i]
		v.services[s.Service.Key()] = s
		idx := make(map[string]destIndex, len(s.Service.RealServers))
		for j := range s.Service.RealServers {
			idx[s.Service.RealServers[j].Key(&s.Service)] = destIndex{real: j, dest: -1}
		}
		for j, d := range s.Destinations {
			at, ok := idx[d.Key]
			if !ok {
				at.real = -1
			}
			at.dest = j
			idx[d.Key] = at
		}
		v.dests[s] = idx
	}
	return v
}

// dest locates the destination of key in the kernel service k.
func (v *View) dest(k *wire.IPVSService, key string) destIndex {
	if at, ok := v.dests[k][key]; ok {
		return at
	}
	return destIndex{real: -1, dest: -1}
}

// Observed is the observation the View indexes, for the status data
// sources that report it whole.
func (v *View) Observed() *wire.Observed { return v.obs }

// AgentVersion is the version of the agent that observed ("" when an
// older agent did not say).
func (v *View) AgentVersion() string { return v.obs.AgentVersion }

// IPVSAvailable is false when the host's kernel has no IPVS.
func (v *View) IPVSAvailable() bool { return v.obs.IPVSAvailable }

// RealServersOf lists the keys of the real server objects stored under
// the service of key, in stored order.
func (v *View) RealServersOf(service string) []wire.Key { return v.realServers[service] }

// Host names the host in messages: its host name, or "the director".
func (v *View) Host() string {
	if v.obs.Hostname != "" {
		return v.obs.Hostname
	}
	return "the director"
}

// Object is the stored object of key, or nil.
func (v *View) Object(key wire.Key) *wire.Object { return v.objects[key] }

// Stored reports whether the host stores an object of key.
func (v *View) Stored(key wire.Key) bool { return v.objects[key] != nil }

// Director is the director the host stores, or nil.
func (v *View) Director() *model.Director { return v.director }

// Engine is the IPVS engine of the stored director ("" when none).
func (v *View) Engine() string {
	if v.director == nil {
		return ""
	}
	return orDefault(v.director.Engine, model.DefaultEngine)
}

// KeepalivedInSync is whether keepalived runs the configuration the host's
// stored objects render to, and every instance it reports MASTER holds its
// virtual addresses (one removed by hand where keepalived missed it is not).
func (v *View) KeepalivedInSync() bool {
	k := v.obs.Keepalived
	return k != nil && k.Running && k.ConfigMatches && len(k.MissingVIPs) == 0
}

// HAProxyInSync is true when haproxy runs the config the host's stored
// objects render to.
func (v *View) HAProxyInSync() bool { return DaemonInSync(v.obs.HAProxy) }

// DaemonInSync is true when the daemon runs the config the host's stored
// objects render to.
func DaemonInSync(st *wire.DaemonState) bool { return st != nil && st.Running && st.ConfigMatches }

// ForeignKeepalived reports whether the host's keepalived.conf exists and
// was not written by lvs-agent (hand-built).
func (v *View) ForeignKeepalived() bool { return foreign(v.obs.Keepalived) }

// ForeignHAProxy reports whether the host's haproxy.cfg exists and was not
// written by lvs-agent (hand-built).
func (v *View) ForeignHAProxy() bool { return foreign(v.obs.HAProxy) }

func foreign(st *wire.DaemonState) bool { return st != nil && st.ConfigSHA256 != "" && !st.ConfigOurs }

// Sysctl is the current value of a sysctl a stored object manages.
func (v *View) Sysctl(key string) (string, bool) {
	s, ok := v.obs.Sysctls[key]
	return s, ok
}

// SameSysctlValue compares sysctl values as the kernel prints them
// (several fields are separated by tabs).
func SameSysctlValue(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// DerivedSysctlsInSync is whether every sysctl the director derives from
// the virtual servers stored on its host has its required value. The
// director's own sysctl blocks are left out: they show their own diff.
func (v *View) DerivedSysctlsInSync(stored *model.Director) bool {
	cfg := model.KeepalivedConfig{Director: *stored}
	index := map[string]int{}
	for _, o := range v.obs.Objects {
		if o.Kind == wire.KindVirtualServer && o.VirtualServer != nil {
			vs := *o.VirtualServer
			vs.RealServers = append([]model.RealServer(nil), vs.RealServers...)
			index[o.ID] = len(cfg.VirtualServers)
			cfg.VirtualServers = append(cfg.VirtualServers, vs)
		}
	}
	for _, o := range v.obs.Objects {
		if o.Kind != wire.KindRealServer || o.RealServer == nil {
			continue
		}
		if svc, _, ok := wire.SplitRealServerID(o.ID); ok {
			if j, ok := index[svc]; ok {
				cfg.VirtualServers[j].RealServers = append(cfg.VirtualServers[j].RealServers, *o.RealServer)
			}
		}
	}
	own := map[string]bool{}
	for _, s := range stored.Sysctls {
		own[s.Key] = true
	}
	cfg.Director.Sysctls = nil
	want, err := cfg.DirectorSysctls()
	if err != nil {
		return true // the agent refuses such a host; nothing to compare
	}
	for _, s := range want {
		if own[s.Key] {
			continue // the director's own sysctl replaces a default
		}
		if got, ok := v.obs.Sysctls[s.Key]; ok && !SameSysctlValue(got, s.Value) {
			return false
		}
	}
	return true
}

// KernelServiceOf is the kernel's service of exactly key, or nil.
func (v *View) KernelServiceOf(key string) *wire.IPVSService { return v.services[key] }

// KernelService is the kernel's service of key, or nil; for a group
// service, the first of its member services that runs (the real servers
// of a group service are the destinations of each member service alike).
func (v *View) KernelService(key string) *wire.IPVSService {
	if !strings.HasPrefix(key, "group/") {
		return v.services[key]
	}
	o := v.objects[wire.VirtualServerKey(key)]
	if o == nil || o.VirtualServer == nil || o.VirtualServerGroup == nil {
		return nil
	}
	for _, svc := range o.VirtualServerGroup.MemberServices(o.VirtualServer) {
		if k := v.services[svc.Key()]; k != nil {
			return k
		}
	}
	return nil
}

// errNoIPVS is the error of a virtual or real server read on a host whose
// kernel has no IPVS.
func (v *View) errNoIPVS(what string) error {
	return fmt.Errorf("the kernel of %s has no IPVS (no /proc/net/ip_vs): %s need the ip_vs module", v.Host(), what)
}

// RequireIPVS is an error when the host's kernel has no IPVS.
func (v *View) RequireIPVS() error {
	if !v.obs.IPVSAvailable {
		return v.errNoIPVS("virtual servers")
	}
	return nil
}

// Presence says what one director does with an object a resource names.
type Presence int

const (
	// Gone: neither stored nor running: the object is not there.
	Gone Presence = iota
	// Running: the kernel (or daemon) runs it.
	Running
	// NotRendered: stored, and by design absent from what runs: keepalived
	// programs no virtual server without real servers (it leaves such a
	// virtual_server out). Not drift.
	NotRendered
	// Missing: stored but not running where it should: removed by hand, or
	// an apply failed part-way. Drift, to be put back.
	Missing
)

func (p Presence) String() string {
	return [...]string{"gone", "running", "not rendered", "missing"}[p]
}

// ServiceState is a virtual server as one director has it.
type ServiceState struct {
	Presence Presence
	// Stored is whether the director stores the service's object.
	Stored bool
	// Observed is the service as the director runs it (Running), or as it
	// stores it (NotRendered, Missing); nil when Gone.
	Observed *model.VirtualServer
}

// VirtualServer is the service of key (not a group service: see
// GroupService) as the director runs it: the stored description with the
// kernel's scheduler, flags and persistence. A service in the table that is
// not stored (built by hand, imported) is read from the table alone.
func (v *View) VirtualServer(key string) (ServiceState, error) {
	if !v.obs.IPVSAvailable {
		return ServiceState{}, v.errNoIPVS("virtual servers")
	}
	stored := v.objects[wire.VirtualServerKey(key)]
	st := ServiceState{Stored: stored != nil && stored.VirtualServer != nil}
	k := v.services[key]
	if k == nil {
		if !st.Stored {
			return st, nil
		}
		vs := *stored.VirtualServer
		vs.RealServers = nil
		st.Observed = &vs
		st.Presence = Missing
		if v.notRendered(key) {
			st.Presence = NotRendered
		}
		return st, nil
	}
	var vs model.VirtualServer
	if st.Stored {
		vs = *stored.VirtualServer
	} else if hb := v.handBuilt[wire.VirtualServerKey(key)]; hb != nil && hb.VirtualServer != nil {
		vs = *hb.VirtualServer // the kernel's scheduling below
	} else {
		vs = k.Service
	}
	ks := k.Service
	vs.Scheduler = ks.Scheduler
	vs.SchedulerPort, vs.SchedulerFallback, vs.OnePacket = ks.SchedulerPort, ks.SchedulerFallback, ks.OnePacket
	vs.PersistenceTimeout, vs.PersistenceGranularity = ks.PersistenceTimeout, ks.PersistenceGranularity
	vs.RealServers = nil
	marks, err := v.FwmarkMatches(&vs)
	if err != nil {
		return ServiceState{}, err
	}
	vs.FwmarkMatches = marks
	st.Observed, st.Presence = &vs, Running
	return st, nil
}

// notRendered reports whether the stored service of key is absent from
// the kernel by design: on a keepalived director, a virtual server with no
// real server stored is left out of keepalived.conf.
func (v *View) notRendered(key string) bool {
	if v.Engine() != model.DefaultEngine {
		return false
	}
	if o := v.objects[wire.VirtualServerKey(key)]; o != nil && o.VirtualServer != nil && len(o.VirtualServer.RealServers) > 0 {
		return false
	}
	return len(v.realServers[key]) == 0
}

// GroupService is a group service of key as the director runs it: the
// stored description (or, when the director does not store it, prior)
// with the scheduler, flags and persistence of its member services in the
// kernel, where one differs; and the group with only the members whose
// services are all in the kernel, so that a member removed by hand shows
// in the plan. nil when no member runs.
func (v *View) GroupService(key string, prior *model.VirtualServer, priorGroup *model.VirtualServerGroup) (*model.VirtualServer, *model.VirtualServerGroup) {
	vs, g := *prior, priorGroup
	if o := v.objects[wire.VirtualServerKey(key)]; o != nil && o.VirtualServer != nil && o.VirtualServerGroup != nil {
		vs, g = *o.VirtualServer, o.VirtualServerGroup
	}
	if g == nil {
		return nil, nil
	}
	vs.RealServers = nil
	seen := model.VirtualServerGroup{Name: g.Name}
	settled := false
	for i := range g.Members {
		m := &g.Members[i]
		all := true
		for _, svc := range m.Services(&vs) {
			k := v.services[svc.Key()]
			if k == nil {
				all = false
				continue
			}
			ks := &k.Service
			if !settled && !SameSettings(&vs, ks) {
				vs.Scheduler = ks.Scheduler
				vs.SchedulerPort, vs.SchedulerFallback, vs.OnePacket = ks.SchedulerPort, ks.SchedulerFallback, ks.OnePacket
				vs.PersistenceTimeout, vs.PersistenceGranularity = ks.PersistenceTimeout, ks.PersistenceGranularity
				settled = true
			}
		}
		if all {
			seen.Members = append(seen.Members, *m)
		}
	}
	if len(seen.Members) == 0 {
		return nil, nil
	}
	return &vs, &seen
}

// SameSettings reports whether the kernel service k has the scheduler,
// flags and persistence of vs.
func SameSettings(vs, k *model.VirtualServer) bool {
	eff := func(p int, v6 bool) int {
		if p == 0 {
			if v6 {
				return 128
			}
			return 32
		}
		return p
	}
	return vs.EffectiveScheduler() == k.EffectiveScheduler() && vs.SchedulerPort == k.SchedulerPort &&
		vs.SchedulerFallback == k.SchedulerFallback && vs.OnePacket == k.OnePacket &&
		vs.PersistenceTimeout == k.PersistenceTimeout &&
		eff(vs.PersistenceGranularity, vs.IsIPv6()) == eff(k.PersistenceGranularity, k.IsIPv6())
}

// HostSideInSync reports whether the host stores the real-server side of
// the real server with object ID id and runs it: its addresses present,
// its sysctls at their values.
func (v *View) HostSideInSync(id string) bool {
	o := v.objects[wire.RealServerHostKey(id)]
	if o == nil || o.RealServerHost == nil {
		return false
	}
	setup := o.RealServerHost.Setup()
	for _, want := range setup.Addresses {
		found := false
		for _, a := range v.obs.Addresses {
			if a.Device == want.Device && a.Prefix.Addr() == want.Prefix.Addr() {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	for _, s := range setup.Sysctls {
		if got, ok := v.obs.Sysctls[s.Key]; ok && got != s.Value {
			return false
		}
	}
	return true
}

// RealServerState is a real server as one director has it.
type RealServerState struct {
	// Observed is the real server as the director runs it; nil when gone.
	Observed *model.RealServer
	// Method is the virtual server's effective forwarding method (what an
	// unset forwarding_method means).
	Method string
	// Stored is whether the director stores the real server's object.
	Stored bool
	// DownByHealth: keepalived's health check took it out of the table;
	// Observed is then the stored description (status, not drift).
	DownByHealth bool
}

// RealServer is the real server as one director runs it. The kernel's
// weight, method and thresholds replace the stored ones, except on a
// keepalived director where a health check decides: a server missing from
// the table, or at weight 0 with inhibit_on_failure, or with a dynamic
// misc_check, keeps its stored weight (status, not drift).
func (v *View) RealServer(id RealServerID) (RealServerState, error) {
	if !v.obs.IPVSAvailable {
		return RealServerState{}, v.errNoIPVS("real servers")
	}
	vsKey := id.VS.Key()
	k := v.KernelService(vsKey)
	var storedRS *model.RealServer
	if o := v.objects[id.ObjectKey()]; o != nil && o.RealServer != nil {
		storedRS = o.RealServer
	}
	var vs model.VirtualServer
	switch o := v.objects[wire.VirtualServerKey(vsKey)]; {
	case o != nil && o.VirtualServer != nil:
		vs = *o.VirtualServer
		if storedRS == nil {
			// A real server declared inline, in its service's object.
			storedRS = inlineRealServer(&vs, id.DestKey())
		}
		vs.RealServers = nil
	case k != nil:
		vs = k.Service
	default:
		return RealServerState{Stored: storedRS != nil}, nil
	}
	st := RealServerState{Stored: storedRS != nil}
	// Not stored, but declared in a hand-built file: the file's
	// description, under what the kernel shows (as for a stored one).
	if storedRS == nil {
		if hb := v.handBuilt[id.ObjectKey()]; hb != nil && hb.RealServer != nil {
			storedRS = hb.RealServer
			if hv := v.handBuilt[wire.VirtualServerKey(vsKey)]; hv != nil && hv.VirtualServer != nil && k != nil {
				vs = *hv.VirtualServer
				vs.RealServers = nil
			}
		}
	}
	var dest *model.RealServer
	if k != nil {
		if at := v.dest(k, destKeyIn(id, k)); at.real >= 0 {
			dest = &k.Service.RealServers[at.real]
		}
	}
	keepalived := v.Engine() == model.DefaultEngine
	var rs model.RealServer
	switch {
	case storedRS != nil && (st.Stored || dest != nil):
		rs = *storedRS
	case dest != nil:
		rs = *dest
	default:
		return st, nil
	}
	st.Method = vs.EffectiveMethod()
	if dest == nil {
		if keepalived && st.Stored {
			st.Observed, st.DownByHealth = &rs, true
		}
		return st, nil
	}
	if kmethod := k.Service.MethodOf(dest); kmethod != vs.MethodOf(&rs) {
		rs.ForwardingMethod = kmethod
	}
	rs.UpperThreshold, rs.LowerThreshold = dest.UpperThreshold, dest.LowerThreshold
	w := dest.EffectiveWeight()
	inhibit := vs.InhibitOnFailure
	if rs.InhibitOnFailure != nil {
		inhibit = *rs.InhibitOnFailure
	}
	// On keepalived, a dynamic misc_check or file_check sets weights, and a failed check
	// of an inhibited server sets 0: both are status.
	healthSet := rs.HasDynamicWeight() || w == 0 && inhibit
	if !keepalived || !healthSet {
		rs.Weight = &w
	}
	st.Observed = &rs
	return st, nil
}

// InlineRealServers are the real servers the stored service of key
// declares inline (the real_server blocks of its lvs_virtual_server), in
// stored order; nil when it has none or is not stored. Such a service owns
// all its destinations: no real server object may name it.
func (v *View) InlineRealServers(key string) []model.RealServer {
	if o := v.objects[wire.VirtualServerKey(key)]; o != nil && o.VirtualServer != nil {
		return o.VirtualServer.RealServers
	}
	return nil
}

// inlineRealServer is the real server of vs's inline list at dest
// (address:port), or nil.
func inlineRealServer(vs *model.VirtualServer, dest string) *model.RealServer {
	for i := range vs.RealServers {
		if rs := &vs.RealServers[i]; rs.Key(vs) == dest {
			return rs
		}
	}
	return nil
}

// destKeyIn is the key of the real server's destination in the kernel
// service k: a real server without a port of its own under a group
// service is at the port of each member service (a fwmark service's is 0,
// as the id's).
func destKeyIn(id RealServerID, k *wire.IPVSService) string {
	if id.Port == 0 && k != nil {
		return netip.AddrPortFrom(id.Address, uint16(k.Service.Port)).String()
	}
	return id.DestKey()
}

// ActiveConns counts the active connections of the real server.
func (v *View) ActiveConns(id RealServerID) int {
	k := v.KernelService(id.VS.Key())
	if k == nil {
		return 0
	}
	if at := v.dest(k, destKeyIn(id, k)); at.dest >= 0 {
		return k.Destinations[at.dest].ActiveConns
	}
	return 0
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Observer is what Views reads hosts through (internal/fleet's Fleet).
type Observer interface {
	// Observe is the host's observation reflecting every write made
	// before the call; ObserveFresh one made after the call.
	Observe(ctx context.Context, cfg transport.Config) (*wire.Observed, error)
	ObserveFresh(ctx context.Context, cfg transport.Config) (*wire.Observed, error)
	// Latest is the latest observation the process has of the host,
	// however many of its own writes followed it, observing only when it
	// has none; Written is the process's own latest write of key (nil
	// object: deleted) and whether there was one. Together they answer
	// what a host stores without an observe per resource.
	Latest(ctx context.Context, cfg transport.Config) (*wire.Observed, error)
	Written(cfg transport.Config, key wire.Key) (*wire.Object, bool)
}

// Views serves a View of each host's current observation, built once per
// observation however many resources read it.
type Views struct {
	obs  Observer
	mu   sync.Mutex
	last map[string]*View // by host id: the View of the host's latest observation
}

// NewViews reads hosts through obs.
func NewViews(obs Observer) *Views { return &Views{obs: obs, last: map[string]*View{}} }

// View is the View of the host's observation (shared within a run).
func (vs *Views) View(ctx context.Context, cfg transport.Config) (*View, error) {
	obs, err := vs.obs.Observe(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return vs.viewOf(cfg, obs), nil
}

// Fresh is View of a new observation (for a caller that waits for the
// host to change on its own).
func (vs *Views) Fresh(ctx context.Context, cfg transport.Config) (*View, error) {
	obs, err := vs.obs.ObserveFresh(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return vs.viewOf(cfg, obs), nil
}

// StoredService is the service of key as the host describes it (see
// View.ServiceDescription), answered from what the process knows: its own
// latest write of the service, else the latest observation of the host.
// It observes only a host it has never observed, so that n real servers
// created at once looking up their service cost no observe each, and none
// waits behind the apply in flight to the host (DESIGN.md principle 5).
func (vs *Views) StoredService(ctx context.Context, cfg transport.Config, key string) (*model.VirtualServer, error) {
	if o, ok := vs.obs.Written(cfg, wire.VirtualServerKey(key)); ok {
		if o == nil || o.VirtualServer == nil {
			return nil, nil // deleted by this process
		}
		svc := *o.VirtualServer
		svc.RealServers = nil
		return &svc, nil
	}
	obs, err := vs.obs.Latest(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return vs.viewOf(cfg, obs).ServiceDescription(key), nil
}

// StoredInlineRealServers is the real servers the host stores inside the
// service of key (its real_server blocks), answered as StoredService is:
// from the process's own latest write, else the latest observation, so
// that a real server's create checking the service's ownership never
// waits behind the apply in flight to the host.
func (vs *Views) StoredInlineRealServers(ctx context.Context, cfg transport.Config, key string) ([]model.RealServer, error) {
	if o, ok := vs.obs.Written(cfg, wire.VirtualServerKey(key)); ok {
		if o == nil || o.VirtualServer == nil {
			return nil, nil // deleted by this process
		}
		return o.VirtualServer.RealServers, nil
	}
	obs, err := vs.obs.Latest(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return vs.viewOf(cfg, obs).InlineRealServers(key), nil
}

func (vs *Views) viewOf(cfg transport.Config, obs *wire.Observed) *View {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v := vs.last[cfg.ID()]; v != nil && v.obs == obs {
		return v
	}
	v := NewView(obs)
	vs.last[cfg.ID()] = v
	return v
}

// ServiceDescription is the service of key as the director describes it:
// its stored object, else its kernel service (built by hand), without
// real servers; nil when the director has neither.
func (v *View) ServiceDescription(key string) *model.VirtualServer {
	if o := v.objects[wire.VirtualServerKey(key)]; o != nil && o.VirtualServer != nil {
		vs := *o.VirtualServer
		vs.RealServers = nil
		return &vs
	}
	if k := v.KernelService(key); k != nil {
		vs := k.Service
		vs.RealServers = nil
		return &vs
	}
	return nil
}

// HAProxyBackend is the backend of its own named name that the host
// stores (an haproxy_backend object), or nil.
func (v *View) HAProxyBackend(name string) *model.HAProxyBackend {
	if o := v.objects[wire.HAProxyBackendKey(name)]; o != nil {
		return o.HAProxyBackend
	}
	return nil
}

// HAProxyBackendNames are the names of every backend the host's haproxy
// objects define: backends of their own and frontends' own, sorted.
func (v *View) HAProxyBackendNames() []string {
	var out []string
	for _, o := range v.obs.Objects {
		switch {
		case o.Kind == wire.KindHAProxyBackend && o.HAProxyBackend != nil:
			out = append(out, o.HAProxyBackend.Name)
		case o.Kind == wire.KindHAProxyFrontend && o.HAProxyFrontend != nil && o.HAProxyFrontend.OwnsBackend():
			out = append(out, o.HAProxyFrontend.Backend.Name)
		}
	}
	slices.Sort(out)
	return out
}

// HAProxyCertificate is the certificate named name that the host stores
// (an haproxy_certificate object), or nil.
func (v *View) HAProxyCertificate(name string) *model.HAProxyCertificate {
	if o := v.objects[wire.HAProxyCertificateKey(name)]; o != nil {
		return o.HAProxyCertificate
	}
	return nil
}

// HAProxyCertificateInSync is true when the file of the stored certificate
// named name is on the host as the agent wrote it (see
// wire.DaemonState.CertificatesDrifted).
func (v *View) HAProxyCertificateInSync(name string) bool {
	h := v.obs.HAProxy
	return h != nil && !slices.Contains(h.CertificatesDrifted, name)
}
