package keepalivedconf

import (
	"reflect"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Normalize returns a copy of cfg with every default keepalived (and the
// renderer) would apply written out, so that two configurations that make
// keepalived do the same compare equal: an instance's interface taken from
// the director, advert_int 1, version 2, a virtual address's device from
// its instance, the virtual servers' protocol, scheduler and forwarding
// method, each real server's port, weight, method and inhibit setting,
// script security when scripts run. Virtual servers without real servers
// (keepalived ignores them) are left out; services, their real servers and
// groups are sorted (their order means nothing to keepalived).
func Normalize(cfg *model.KeepalivedConfig) *model.KeepalivedConfig {
	out := deepCopy(cfg)
	d := &out.Director
	if cfg.RunsScripts() {
		d.EnableScriptSecurity = true
		if d.ScriptUser == "" {
			d.ScriptUser = "root"
		}
	}
	for i := range d.Instances {
		in := &d.Instances[i]
		if in.Interface == "" {
			in.Interface = d.Interface
		}
		if in.AdvertInt == 0 {
			in.AdvertInt = model.DefaultAdvertInt
		}
		in.Version = in.EffectiveVersion()
		for k := range in.VirtualIPs {
			if in.VirtualIPs[k].Device == "" {
				in.VirtualIPs[k].Device = in.Interface
			}
		}
	}
	normRoutes(d.StaticRoutes)
	for i := range d.Instances {
		normRoutes(d.Instances[i].VirtualRoutes)
	}
	for k := range d.StaticAddresses {
		if d.StaticAddresses[k].Device == "" {
			d.StaticAddresses[k].Device = d.Interface
		}
	}
	d.Interface = ""
	if !cfg.OwnsIPVS() {
		out.VirtualServers, out.Groups = nil, nil
		emptyToNil(reflect.ValueOf(out))
		return out
	}
	out.VirtualServers = slices.DeleteFunc(out.VirtualServers, func(vs model.VirtualServer) bool { return len(vs.RealServers) == 0 })
	// The order of services, of real servers and of groups means nothing to
	// keepalived (the agent writes them in key order).
	slices.SortStableFunc(out.VirtualServers, func(a, b model.VirtualServer) int { return strings.Compare(a.Key(), b.Key()) })
	slices.SortStableFunc(out.Groups, func(a, b model.VirtualServerGroup) int { return strings.Compare(a.Name, b.Name) })
	for i := range out.VirtualServers {
		vs := &out.VirtualServers[i]
		if vs.Fwmark == 0 {
			vs.Protocol = vs.EffectiveProtocol()
		}
		if vs.Family == "inet" {
			vs.Family = ""
		}
		vs.Scheduler = vs.EffectiveScheduler()
		vs.ForwardingMethod = vs.EffectiveMethod()
		if vs.TunnelType == model.DefaultTunnelType {
			vs.TunnelType = ""
		}
		if s := vs.SorryServer; s != nil && s.ForwardingMethod == "" {
			s.ForwardingMethod = vs.ForwardingMethod
		}
		for k := range vs.RealServers {
			rs := &vs.RealServers[k]
			rs.Port = rs.EffectivePort(vs)
			w := rs.EffectiveWeight()
			rs.Weight = &w
			rs.ForwardingMethod = vs.MethodOf(rs)
			if rs.TunnelType == model.DefaultTunnelType {
				rs.TunnelType = ""
			}
			if rs.InhibitOnFailure == nil {
				b := vs.InhibitOnFailure
				rs.InhibitOnFailure = &b
			}
		}
		slices.SortStableFunc(vs.RealServers, func(a, b model.RealServer) int { return strings.Compare(a.Key(vs), b.Key(vs)) })
	}
	emptyToNil(reflect.ValueOf(out))
	return out
}

// Equivalent reports whether a and b make keepalived do the same (they are
// equal once normalized).
func Equivalent(a, b *model.KeepalivedConfig) bool {
	return reflect.DeepEqual(Normalize(a), Normalize(b))
}

// normRoutes clears no_track on routes without a device: keepalived
// cannot track those anyway, and the renderer writes no_track on them.
func normRoutes(rs []model.Route) {
	for i := range rs {
		if rs[i].Device == "" {
			rs[i].NoTrack = false
		}
	}
}
