package agent

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// hostConfig is what all the objects stored on a host add up to.
type hostConfig struct {
	// keepalived is nil when the host is not a director.
	keepalived *model.KeepalivedConfig
	// haproxy is nil when the host runs no haproxy.
	haproxy *model.HAProxyConfig
	// realServer merges the real-server sides of the host's real_server_host
	// objects; nil when there are none.
	realServer *model.HostSetup
	// certs are the host's TLS certificates (haproxy_certificate
	// objects), in name order; written whether or not haproxy runs.
	certs []model.HAProxyCertificate
	// staticAddrs are the director's static addresses (its VIPs without
	// VRRP), which the agent holds over netlink for both engines; the
	// keepalived.conf it renders carries none (addresses.go).
	staticAddrs []model.HostAddress
	// sysctls are every kernel setting the host needs, in a stable order.
	sysctls []model.Sysctl
	// fwmarks are the mark rules of the director's fwmark services, sorted.
	fwmarks []model.FwmarkRule
}

// badRequest is an object or composition the model refuses.
func badRequest(object string, err error) *wire.Error {
	return &wire.Error{Code: wire.ExitBadRequest, Step: "validate", Object: object, Message: err.Error()}
}

// compose builds and validates the host's configuration from all objects.
func compose(objs map[wire.Key]wire.Object) (*hostConfig, *wire.Error) {
	list := sortedObjects(objs)
	var hc hostConfig
	if werr := composeKeepalived(&hc, list); werr != nil {
		return nil, werr
	}
	if werr := composeHAProxy(&hc, list); werr != nil {
		return nil, werr
	}
	if werr := composeRealServerHost(&hc, list); werr != nil {
		return nil, werr
	}
	if werr := hc.collectSysctls(); werr != nil {
		return nil, werr
	}
	hc.fwmarks = fwmarkRules(hc.keepalived)
	return &hc, nil
}

// realServerParent splits a real server ID "<virtual server key>/<address:port>".
func realServerParent(id string) (vsKey, rsKey string, ok bool) { return wire.SplitRealServerID(id) }

func composeKeepalived(hc *hostConfig, list []wire.Object) *wire.Error {
	var dir *wire.Object
	vsIndex := map[string]int{}
	cfg := &model.KeepalivedConfig{}
	var vsObjs []wire.Object
	groupFrom := map[string]wire.Key{}
	for i := range list {
		o := &list[i]
		switch o.Kind {
		case wire.KindDirector:
			if dir != nil {
				return badRequest(o.Key.String(), fmt.Errorf("a host has one director; %s is already stored", dir.Key))
			}
			if err := o.Director.Validate(nil); err != nil {
				return badRequest(o.Key.String(), err)
			}
			dir = o
		case wire.KindVirtualServer:
			vs := *o.VirtualServer
			vs.RealServers = slices.Clone(vs.RealServers)
			if err := vs.Validate(nil); err != nil {
				return badRequest(o.Key.String(), err)
			}
			if vs.Key() != o.ID {
				return badRequest(o.Key.String(), fmt.Errorf("the id of a virtual server is its key %q", vs.Key()))
			}
			if werr := addGroup(cfg, groupFrom, o); werr != nil {
				return werr
			}
			vsIndex[o.ID] = len(cfg.VirtualServers)
			cfg.VirtualServers = append(cfg.VirtualServers, vs)
			vsObjs = append(vsObjs, *o)
		}
	}
	for _, o := range list {
		if o.Kind != wire.KindRealServer {
			continue
		}
		vsKey, rsKey, ok := realServerParent(o.ID)
		if !ok {
			return badRequest(o.Key.String(), fmt.Errorf("a real server id is \"<virtual server key>/<address:port>\""))
		}
		i, ok := vsIndex[vsKey]
		if !ok {
			return badRequest(o.Key.String(), fmt.Errorf("its virtual server %s is not stored on this host; put it in the same or an earlier apply", vsKey))
		}
		vs := &cfg.VirtualServers[i]
		if inline := vsObjs[i].VirtualServer.RealServers; len(inline) > 0 {
			return badRequest(o.Key.String(), fmt.Errorf("its virtual server %s declares its %d real servers inline "+
				"(real_server blocks of its lvs_virtual_server) and owns all its destinations: add this one as a "+
				"real_server block there, or remove the blocks first", vsKey, len(inline)))
		}
		if err := o.RealServer.Validate(nil, vs); err != nil {
			return badRequest(o.Key.String(), err)
		}
		if got := o.RealServer.Key(vs); got != rsKey {
			return badRequest(o.Key.String(), fmt.Errorf("the id ends in %q but the real server is %s", rsKey, got))
		}
		vs.RealServers = append(vs.RealServers, *o.RealServer)
	}
	if dir == nil {
		if len(cfg.VirtualServers) > 0 {
			return badRequest(vsObjs[0].Key.String(), fmt.Errorf("virtual servers need the director object on their host"))
		}
		return nil
	}
	cfg.Director = *dir.Director
	if err := cfg.Validate(nil); err != nil {
		return badRequest(objectAt(err, dir.Key.String(), "virtual_server", vsObjs), err)
	}
	// The agent owns the static addresses, not keepalived: they stay while
	// keepalived is stopped or restarts, as `ip addr add` on a single
	// director does, and the netlink engine has no keepalived at all.
	hc.staticAddrs = cfg.Director.StaticHostAddresses()
	cfg.Director.StaticAddresses = nil
	hc.keepalived = cfg
	return nil
}

// addGroup adds the virtual_server_group a virtual server object carries
// to cfg.Groups, once: objects that carry the same group (a tcp and a udp
// service over one set of addresses) must carry the same definition.
// from records which object brought each group.
func addGroup(cfg *model.KeepalivedConfig, from map[string]wire.Key, o *wire.Object) *wire.Error {
	g := o.VirtualServerGroup
	if g == nil {
		return nil
	}
	if err := (&model.KeepalivedConfig{Groups: []model.VirtualServerGroup{*g}}).Validate(nil); err != nil {
		if errs := groupErrors(err); errs != nil {
			return badRequest(o.Key.String(), errs)
		}
	}
	prev, seen := from[g.Name]
	if !seen {
		from[g.Name] = o.Key
		cp := *g
		cp.Members = slices.Clone(g.Members)
		cfg.Groups = append(cfg.Groups, cp)
		return nil
	}
	for _, have := range cfg.Groups {
		if have.Name == g.Name && !sameJSON(have, *g) {
			return badRequest(o.Key.String(), fmt.Errorf("carries virtual_server_group %q with other members than %s does; "+
				"services over one group must declare it alike", g.Name, prev))
		}
	}
	return nil
}

// groupErrors keeps the errors of a group's own rules (under
// virtual_server_group), leaving out those of the empty director the
// check runs with.
func groupErrors(err error) error {
	var out model.Errors
	for _, fe := range model.AsErrors(err) {
		if len(fe.Path) > 0 && fe.Path[0] == "virtual_server_group" {
			out = append(out, fe)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sameJSON reports whether two values encode alike.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// objectAt names the object a composed configuration's error points at:
// the object at index i of objs when the first error's path starts with
// section[i], else def.
func objectAt(err error, def, section string, objs []wire.Object) string {
	errs := model.AsErrors(err)
	if len(errs) == 0 || len(errs[0].Path) < 2 || errs[0].Path[0] != section {
		return def
	}
	if i, ok := errs[0].Path[1].(int); ok && i < len(objs) {
		return objs[i].Key.String()
	}
	return def
}

func composeHAProxy(hc *hostConfig, list []wire.Object) *wire.Error {
	var settings *wire.Object
	cfg := &model.HAProxyConfig{}
	// fronts and backs are the objects behind cfg.Frontends and
	// cfg.Backends, index for index, so that an error names its object.
	var fronts, backs []wire.Object
	var shared []wire.Object
	for i := range list {
		o := &list[i]
		switch o.Kind {
		case wire.KindHAProxySettings:
			if settings != nil {
				return badRequest(o.Key.String(), fmt.Errorf("a host has one haproxy settings object; %s is already stored", settings.Key))
			}
			settings = o
			cfg.Global = o.HAProxySettings.Global
			cfg.Defaults = o.HAProxySettings.Defaults
			cfg.Resolvers = o.HAProxySettings.Resolvers
		case wire.KindHAProxyFrontend:
			if o.HAProxyFrontend.Frontend.Name != o.ID {
				return badRequest(o.Key.String(), fmt.Errorf("the id of an haproxy frontend is its name %q", o.HAProxyFrontend.Frontend.Name))
			}
			cfg.Frontends = append(cfg.Frontends, o.HAProxyFrontend.Frontend)
			fronts = append(fronts, *o)
			if o.HAProxyFrontend.OwnsBackend() {
				cfg.Backends = append(cfg.Backends, o.HAProxyFrontend.Backend)
				backs = append(backs, *o)
			}
		case wire.KindHAProxyBackend:
			if o.HAProxyBackend.Name != o.ID {
				return badRequest(o.Key.String(), fmt.Errorf("the id of an haproxy backend is its name %q", o.HAProxyBackend.Name))
			}
			shared = append(shared, *o)
		case wire.KindHAProxyCertificate:
			c := o.HAProxyCertificate
			if c.Name != o.ID {
				return badRequest(o.Key.String(), fmt.Errorf("the id of an haproxy certificate is its name %q", c.Name))
			}
			if err := c.Validate(nil); err != nil {
				return badRequest(o.Key.String(), err)
			}
			hc.certs = append(hc.certs, *c)
		}
	}
	// Shared backends after the frontends' own, in stored (name) order.
	for _, o := range shared {
		cfg.Backends = append(cfg.Backends, *o.HAProxyBackend)
		backs = append(backs, o)
	}
	if settings == nil && len(fronts) == 0 && len(shared) == 0 {
		return nil
	}
	cfg.Certificates = hc.certs
	if werr := checkBindCertificates(cfg, fronts); werr != nil {
		return werr
	}
	def := "haproxy"
	if settings != nil {
		def = settings.Key.String()
	}
	if err := cfg.Validate(nil); err != nil {
		obj := objectAt(err, def, "frontend", fronts)
		if obj == def {
			obj = objectAt(err, def, "backend", backs)
		}
		return badRequest(obj, err)
	}
	hc.haproxy = cfg
	return nil
}

func composeRealServerHost(hc *hostConfig, list []wire.Object) *wire.Error {
	var out *model.HostSetup
	for _, o := range list {
		if o.Kind != wire.KindRealServerHost {
			continue
		}
		if err := o.RealServerHost.Validate(nil); err != nil {
			return badRequest(o.Key.String(), err)
		}
		s := o.RealServerHost.Setup()
		if out == nil {
			out = &model.HostSetup{}
		}
		if s.TunnelDevice != "" && out.TunnelDevice != "" && s.TunnelDevice != out.TunnelDevice {
			return badRequest(o.Key.String(), fmt.Errorf("needs tunnel device %s but another real server on this host uses %s", s.TunnelDevice, out.TunnelDevice))
		}
		if s.TunnelDevice != "" {
			out.TunnelDevice = s.TunnelDevice
		}
		if s.Gateway.IsValid() {
			if out.Gateway.IsValid() && out.Gateway != s.Gateway {
				return badRequest(o.Key.String(), fmt.Errorf("routes through %s but another real server on this host routes through %s", s.Gateway, out.Gateway))
			}
			out.Gateway = s.Gateway
		}
		for _, a := range s.Addresses {
			if !slices.Contains(out.Addresses, a) {
				out.Addresses = append(out.Addresses, a)
			}
		}
		out.Sysctls = append(out.Sysctls, s.Sysctls...)
	}
	if out != nil {
		sort.Slice(out.Addresses, func(i, j int) bool {
			a, b := out.Addresses[i], out.Addresses[j]
			if a.Device != b.Device {
				return a.Device < b.Device
			}
			return a.Prefix.Addr().Less(b.Prefix.Addr())
		})
	}
	hc.realServer = out
	return nil
}

// collectSysctls merges the settings every part of the host needs; two
// parts wanting different values of one key is a bad request.
func (hc *hostConfig) collectSysctls() *wire.Error {
	type source struct {
		name string
		list []model.Sysctl
	}
	var sources []source
	if hc.keepalived != nil {
		list, err := hc.keepalived.DirectorSysctls()
		if err != nil {
			return badRequest("director director", err)
		}
		sources = append(sources, source{"the director", list})
	}
	if hc.realServer != nil {
		sources = append(sources, source{"the real-server side", hc.realServer.Sysctls})
	}
	if hc.haproxy != nil {
		sources = append(sources, source{"haproxy", render.HAProxySysctls(hc.haproxy)})
	}
	seen := map[string]int{}
	from := map[string]string{}
	for _, src := range sources {
		for _, s := range src.list {
			if i, ok := seen[s.Key]; ok {
				if hc.sysctls[i].Value != s.Value {
					return badRequest("", fmt.Errorf("%s needs %s but %s needs %s = %s", src.name, s, from[s.Key], s.Key, hc.sysctls[i].Value))
				}
				continue
			}
			seen[s.Key] = len(hc.sysctls)
			from[s.Key] = src.name
			hc.sysctls = append(hc.sysctls, s)
		}
	}
	return nil
}
