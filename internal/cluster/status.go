package cluster

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvsadm"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The health of a destination, as the status data source reports it.
const (
	HealthUp      = "up"      // in the table with a weight
	HealthDrained = "drained" // in the table at weight 0, as configured
	HealthDown    = "down"    // taken out (or to weight 0) by a health check
)

// ServiceStatus is one kernel IPVS service with the health of its
// destinations: those in the kernel, sorted by address and port, then the
// declared ones a health check removed.
type ServiceStatus struct {
	Service      wire.IPVSService
	Destinations []DestinationStatus
}

// DestinationStatus is one destination with its counters and health.
type DestinationStatus struct {
	wire.IPVSDestination
	Health string
}

// Services is the status of every IPVS service the host runs, in the
// kernel's order.
func (v *View) Services() []ServiceStatus {
	declared := v.declaredRealServers()
	out := make([]ServiceStatus, 0, len(v.obs.IPVS))
	for _, s := range v.obs.IPVS {
		out = append(out, serviceStatus(s, declared[s.Service.Key()]))
	}
	return out
}

// declaredRealServers maps a virtual server key to the weights of the real
// servers stored objects declare for it (address:port -> weight), from
// virtual server objects and real server objects alike.
func (v *View) declaredRealServers() map[string]map[string]int {
	out := map[string]map[string]int{}
	add := func(vsKey, rsKey string, weight int) {
		if out[vsKey] == nil {
			out[vsKey] = map[string]int{}
		}
		out[vsKey][rsKey] = weight
	}
	for _, o := range v.obs.Objects {
		switch {
		case o.VirtualServer != nil:
			vs := o.VirtualServer
			for i := range vs.RealServers {
				rs := &vs.RealServers[i]
				add(vs.Key(), rs.Key(vs), rs.EffectiveWeight())
			}
		case o.RealServer != nil:
			if svc, dest, ok := wire.SplitRealServerID(o.ID); ok {
				add(svc, dest, o.RealServer.EffectiveWeight())
			}
		}
	}
	return out
}

func serviceStatus(s wire.IPVSService, declared map[string]int) ServiceStatus {
	st := ServiceStatus{Service: s, Destinations: []DestinationStatus{}}
	seen := map[string]bool{}
	// The kernel lists destinations in the order they were added, which
	// depends on how Terraform ordered the real servers' creation: sort by
	// address and port so the status reads the same every time.
	dests := slices.Clone(s.Destinations)
	slices.SortFunc(dests, func(a, b wire.IPVSDestination) int {
		pa, ea := netip.ParseAddrPort(a.Key)
		pb, eb := netip.ParseAddrPort(b.Key)
		if ea != nil || eb != nil {
			return strings.Compare(a.Key, b.Key)
		}
		return pa.Compare(pb)
	})
	for _, d := range dests {
		seen[d.Key] = true
		health := HealthUp
		if d.Weight == 0 {
			health = HealthDrained
			if w, ok := declared[d.Key]; ok && w > 0 {
				health = HealthDown
			}
		}
		st.Destinations = append(st.Destinations, DestinationStatus{IPVSDestination: d, Health: health})
	}
	var missing []string
	for k, w := range declared {
		if !seen[k] && w > 0 {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		st.Destinations = append(st.Destinations, DestinationStatus{IPVSDestination: wire.IPVSDestination{Key: k}, Health: HealthDown})
	}
	return st
}

// InstanceMasters is one VRRP instance across a group of directors.
type InstanceMasters struct {
	Name string
	// VirtualRouterID is the instance's id as a stored director declares
	// it; 0 when none does (a hand-built keepalived).
	VirtualRouterID int
	// States maps each host to its state of the instance (NONE when it
	// runs no such instance); MasterHosts are those in MASTER, in order.
	States      map[string]string
	MasterHosts []string
	// Preempting are the hosts in BACKUP that keepalived says will take
	// over: they preempt and their effective priority is above that of
	// every MASTER (a director with the higher priority that started
	// after its peer, still within its preempt delay or its first three
	// advertisement intervals). Empty when a host cannot say.
	Preempting []string
}

// CountMasters groups the hosts' VRRP states by instance: views[i] is the
// view of hosts[i]; names, when given, selects the instances (else every
// instance a host runs), sorted by name.
func CountMasters(hosts []string, views []*View, names []string) []InstanceMasters {
	vrid := map[string]int{}
	seen := map[string]bool{}
	for _, v := range views {
		if d := v.Director(); d != nil {
			for _, in := range d.Instances {
				if _, ok := vrid[in.Name]; !ok {
					vrid[in.Name] = in.VirtualRouterID
				}
			}
		}
		if k := v.obs.Keepalived; k != nil {
			for name := range k.VRRP {
				seen[name] = true
			}
		}
	}
	if len(names) == 0 {
		for n := range seen {
			names = append(names, n)
		}
	}
	names = slices.Clone(names)
	sort.Strings(names)
	names = slices.Compact(names)
	out := []InstanceMasters{}
	for _, name := range names {
		in := InstanceMasters{Name: name, VirtualRouterID: vrid[name], States: map[string]string{}, MasterHosts: []string{}}
		for i, h := range hosts {
			state := "NONE"
			if k := views[i].obs.Keepalived; k != nil {
				if s, ok := k.VRRP[name]; ok {
					state = s
				}
			}
			in.States[h] = state
			if state == "MASTER" {
				in.MasterHosts = append(in.MasterHosts, h)
			}
		}
		in.Preempting = preempting(hosts, views, name, in.States)
		out = append(out, in)
	}
	return out
}

// preempting lists the hosts whose instance name is BACKUP, preempts, and
// has an effective priority above every MASTER's. Nothing when there is
// no MASTER (that is an election, not a preemption) or a MASTER's
// priority is unknown.
func preempting(hosts []string, views []*View, name string, states map[string]string) []string {
	election := func(i int) (wire.VRRPElection, bool) {
		k := views[i].obs.Keepalived
		if k == nil {
			return wire.VRRPElection{}, false
		}
		e, ok := k.Elections[name]
		return e, ok
	}
	top, masters := 0, 0
	for i, h := range hosts {
		if states[h] != "MASTER" {
			continue
		}
		e, ok := election(i)
		if !ok {
			return nil
		}
		masters++
		top = max(top, e.Priority)
	}
	if masters == 0 {
		return nil
	}
	var out []string
	for i, h := range hosts {
		if states[h] != "BACKUP" {
			continue
		}
		if e, ok := election(i); ok && e.Preempt && e.Priority > top {
			out = append(out, h)
		}
	}
	return out
}

// HostStatus is what a host reports about itself, flattened for the
// status data source: daemons, VRRP states, stored objects and the IPVS
// table as ipvsadm would list it.
type HostStatus struct {
	Hostname, Kernel, AgentVersion      string
	IPVSAvailable                       bool
	KeepalivedRunning, KeepalivedInSync bool
	HAProxyRunning, HAProxyInSync       bool
	VRRP                                map[string]string   // instance -> state
	MissingVIPs                         map[string][]string // instance -> addresses it should hold
	HAProxyServers                      map[string]string   // backend/server -> state
	Objects                             []string            // stored object keys
	IPVSTable                           string              // `ipvsadm -Ln` of the kernel table
}

// Status is the host's HostStatus; maps and slices are copies.
func (v *View) Status() HostStatus {
	obs := v.obs
	ka, hp := obs.Keepalived, obs.HAProxy
	st := HostStatus{
		Hostname: obs.Hostname, Kernel: obs.Kernel, AgentVersion: obs.AgentVersion,
		IPVSAvailable:     obs.IPVSAvailable,
		KeepalivedRunning: ka != nil && ka.Running, KeepalivedInSync: DaemonInSync(ka),
		HAProxyRunning: hp != nil && hp.Running, HAProxyInSync: DaemonInSync(hp),
		VRRP: map[string]string{}, MissingVIPs: map[string][]string{}, HAProxyServers: map[string]string{},
		Objects:   make([]string, 0, len(obs.Objects)),
		IPVSTable: ipvsadm.List(obs.IPVS),
	}
	if ka != nil {
		maps.Copy(st.VRRP, ka.VRRP)
		for k, addrs := range ka.MissingVIPs {
			st.MissingVIPs[k] = slices.Clone(addrs)
		}
	}
	if hp != nil {
		maps.Copy(st.HAProxyServers, hp.Servers)
	}
	for _, o := range obs.Objects {
		st.Objects = append(st.Objects, o.Key.String())
	}
	return st
}

// AppliedView is the view of the observation an apply's response carries,
// or nil when it carries none (an agent that answered before observing).
func AppliedView(resp *wire.Response) *View {
	if resp == nil || resp.Observed == nil {
		return nil
	}
	return NewView(resp.Observed)
}
