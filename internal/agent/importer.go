package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/haproxycfg"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// HAProxySettingsID is the ID of the haproxy_settings object an import
// returns (a host has one).
const HAProxySettingsID = "haproxy"

// importHost reads what a hand-built host runs and no stored object
// declares, as objects, changing nothing:
//
//   - a keepalived.conf lvs-agent did not write (no render.ManagedMarker):
//     the director object, and the virtual_server and real_server objects
//     of its virtual_server blocks;
//   - the IPVS services no stored object declares and the imported
//     keepalived.conf does not either (built with ipvsadm): virtual_server
//     and real_server objects; a director imported without virtual servers
//     of its own then gets the netlink engine, so that the agent, not
//     keepalived, owns them after the adoption;
//   - an haproxy.cfg lvs-agent did not write: the haproxy_settings object
//     (ID "haproxy") and one haproxy_frontend object per frontend, with its
//     default backend (listen sections become a frontend and a backend of
//     the same name).
//
// A file with nothing to serve (Debian's stock haproxy.cfg: global and
// defaults only; a keepalived.conf without instances or services) is not
// imported: adopting it would only start a daemon that does nothing.
//
// The provider puts the objects back in an apply that adopts them
// (wire.Request.Adopt): the files are then rendered from the objects, with
// the same addresses, services and servers, so keepalived and haproxy
// reload without dropping traffic. What the model cannot hold is left out
// and said in the warnings; what it cannot hold and would change traffic
// if left out is an error naming file:line, and nothing is imported.
func (a *Agent) importHost(ctx context.Context, req *wire.Request) ([]wire.Object, []string, *wire.Error) {
	unlock, werr := a.lock(ctx, req)
	if werr != nil {
		return nil, nil, werr
	}
	defer unlock()
	var im importer
	if werr := a.importKeepalived(&im); werr != nil {
		return nil, nil, werr
	}
	if werr := a.importHAProxy(&im); werr != nil {
		return nil, nil, werr
	}
	if werr := a.importIPVS(&im); werr != nil {
		return nil, nil, werr
	}
	return im.objects(), im.warnings, nil
}

// importer collects what an import found.
type importer struct {
	director *model.Director
	// services are the virtual servers found (with their real servers),
	// from keepalived.conf first, then from the IPVS table.
	services []model.VirtualServer
	// kaServices is how many of services came from keepalived.conf.
	kaServices int
	// groups are the virtual_server_groups of keepalived.conf that
	// imported services serve, by name: their objects carry them.
	groups map[string]model.VirtualServerGroup
	// declared are the service keys keepalived.conf declares (groups
	// included, member by member).
	declared []string
	haproxy  *wire.HAProxySettings
	fronts   []wire.HAProxyFrontend
	backs    []model.HAProxyBackend
	warnings []string
}

func (im *importer) warn(format string, a ...any) {
	im.warnings = append(im.warnings, fmt.Sprintf(format, a...))
}

// objects lists the imported objects: director, virtual and real servers,
// haproxy settings, frontends.
func (im *importer) objects() []wire.Object {
	var out []wire.Object
	if im.director != nil {
		d := *im.director
		if im.kaServices == 0 && len(im.services) > 0 {
			// Hand-built IPVS services under a VRRP-only keepalived: the
			// agent takes them over over netlink, keepalived stays VRRP only.
			d.Engine = "netlink"
		}
		out = append(out, wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &d})
	}
	for i := range im.services {
		vs := im.services[i]
		rss := vs.RealServers
		vs.RealServers = nil
		key := vs.Key()
		obj := wire.Object{Key: wire.VirtualServerKey(key), VirtualServer: &vs}
		if g, ok := im.groups[vs.Group]; ok && vs.Group != "" {
			obj.VirtualServerGroup = &g
		}
		out = append(out, obj)
		for k := range rss {
			rs := rss[k]
			out = append(out, wire.Object{Key: wire.RealServerKey(key, rs.Key(&vs)), RealServer: &rs})
		}
	}
	if im.haproxy != nil {
		out = append(out, wire.Object{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: HAProxySettingsID}, HAProxySettings: im.haproxy})
	}
	for i := range im.fronts {
		f := im.fronts[i]
		out = append(out, wire.Object{Key: wire.HAProxyFrontendKey(f.Frontend.Name), HAProxyFrontend: &f})
	}
	for i := range im.backs {
		b := im.backs[i]
		out = append(out, wire.Object{Key: wire.HAProxyBackendKey(b.Name), HAProxyBackend: &b})
	}
	return out
}

// readForeign reads a config file when it exists and lvs-agent did not
// write it; nil otherwise.
func (a *Agent) readForeign(path, step string) ([]byte, *wire.Error) {
	data, exists, err := readOptional(a.path(path))
	if err != nil {
		return nil, &wire.Error{Code: wire.ExitFailed, Step: step, Object: path, Message: err.Error()}
	}
	if !exists || isOurs(data) {
		return nil, nil
	}
	return data, nil
}

func (a *Agent) importKeepalived(im *importer) *wire.Error {
	const step = "import keepalived.conf"
	data, werr := a.readForeign(KeepalivedConf, step)
	if data == nil || werr != nil {
		return werr
	}
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "keepalived " + KeepalivedConf, Message: err.Error()}
	}
	cfg, warns, err := keepalivedconf.Parse(bytes.NewReader(data), KeepalivedConf)
	if err != nil {
		return fail(err)
	}
	if len(cfg.Director.Instances) == 0 && len(cfg.VirtualServers) == 0 {
		im.warn("%s has no vrrp_instance or virtual_server: nothing to import", KeepalivedConf)
		return nil
	}
	for _, w := range warns {
		im.warn("%s", w)
	}
	// A group service's object carries its virtual_server_group.
	var kept []model.VirtualServer
	for _, vs := range cfg.VirtualServers {
		if len(vs.RealServers) == 0 {
			im.warn("%s: virtual_server %s has no real servers (keepalived ignores it); not imported", KeepalivedConf, vs.Key())
			continue
		}
		kept = append(kept, vs)
	}
	if len(cfg.Groups) > 0 {
		for _, vs := range cfg.VirtualServers {
			for _, g := range cfg.Groups {
				if g.Name == vs.Group {
					for _, m := range g.Members {
						im.declared = append(im.declared, memberKeys(m, vs.EffectiveProtocol())...)
					}
				}
			}
		}
	}
	var groups []model.VirtualServerGroup
	for _, g := range cfg.Groups {
		if !slices.ContainsFunc(kept, func(vs model.VirtualServer) bool { return vs.Group == g.Name }) {
			im.warn("%s: virtual_server_group %s is not imported: no imported virtual_server serves it", KeepalivedConf, g.Name)
			continue
		}
		groups = append(groups, g)
		if im.groups == nil {
			im.groups = map[string]model.VirtualServerGroup{}
		}
		im.groups[g.Name] = g
	}
	cfg.VirtualServers, cfg.Groups = kept, groups
	if err := cfg.Validate(nil); err != nil {
		return fail(fmt.Errorf("the imported configuration is not valid for lvs-agent, so it could not be adopted: %w", err))
	}
	im.director = &cfg.Director
	im.services = append(im.services, cfg.VirtualServers...)
	im.kaServices = len(cfg.VirtualServers)
	for i := range cfg.VirtualServers {
		im.declared = append(im.declared, cfg.VirtualServers[i].Key())
	}
	return nil
}

// memberKeys are the service keys a group member stands for.
func memberKeys(m model.VSGroupMember, proto string) []string {
	if m.Fwmark != 0 {
		return []string{fmt.Sprintf("fwmark/%d", m.Fwmark), fmt.Sprintf("fwmark6/%d", m.Fwmark)}
	}
	var out []string
	for a, n := m.Address, 0; a.IsValid() && n <= 65535; a, n = a.Next(), n+1 {
		out = append(out, proto+"/"+netip.AddrPortFrom(a, uint16(m.Port)).String())
		b := a.AsSlice()
		last := int(b[len(b)-1])
		if a.Is6() {
			last = int(b[14])<<8 | int(b[15])
		}
		if m.RangeEnd == 0 || last >= m.RangeEnd {
			break
		}
	}
	return out
}

// importIPVS reads the IPVS services no stored object declares (built by
// hand with ipvsadm, or by a foreign keepalived) as virtual_server and
// real_server objects. Services the imported keepalived.conf declares come
// from there (keepalived programs them); the others come from the table
// unless keepalived.conf owns IPVS, which leaves them foreign (warned).
func (a *Agent) importIPVS(im *importer) *wire.Error {
	const step = "import IPVS"
	foundFiles := im.director != nil || im.haproxy != nil
	if a.IPVS == nil {
		if foundFiles {
			return nil
		}
		return &wire.Error{Code: wire.ExitUnsupported, Step: step, Message: ipvs.ErrNoIPVS.Error()}
	}
	c, err := a.IPVS()
	if err != nil {
		if foundFiles && errors.Is(err, ipvs.ErrNoIPVS) {
			im.warn("the kernel has no IPVS: its table was not read")
			return nil
		}
		return &wire.Error{Code: ipvsCode(err), Step: step, Message: err.Error()}
	}
	defer c.Close()
	table, err := ipvs.Read(c)
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	owned, _, err := a.loadOwned()
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	// Services of stored virtual servers are ours, whichever engine runs them.
	stored, err := newStore(a.Root).load()
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	for k, o := range stored {
		if k.Kind == wire.KindVirtualServer {
			owned = append(owned, k.ID)
			if g := o.VirtualServerGroup; g != nil && o.VirtualServer != nil {
				for _, svc := range g.MemberServices(o.VirtualServer) {
					owned = append(owned, svc.Key())
				}
			}
		}
	}
	for _, ts := range table {
		key := ipvs.ServiceKey(ts.Service.Service)
		if slices.Contains(owned, key) || slices.Contains(im.declared, key) {
			continue
		}
		dests := make([]kipvs.Destination, len(ts.Destinations))
		for i, d := range ts.Destinations {
			dests[i] = d.Destination
		}
		vs := ipvs.VirtualServerOf(ts.Service.Service, dests)
		if im.kaServices > 0 {
			im.warn("IPVS service %s is not in %s, which programs this director's IPVS; not imported (it stays as it is, foreign to lvs-agent)", vs.Key(), KeepalivedConf)
			continue
		}
		im.services = append(im.services, vs)
	}
	return nil
}

func (a *Agent) importHAProxy(im *importer) *wire.Error {
	const step = "import haproxy.cfg"
	data, werr := a.readForeign(HAProxyConf, step)
	if data == nil || werr != nil {
		return werr
	}
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "haproxy " + HAProxyConf, Message: err.Error()}
	}
	cfg, warns, lines, err := haproxycfg.ParseWithLines(bytes.NewReader(data), HAProxyConf)
	if err != nil {
		return fail(err)
	}
	if len(cfg.Frontends) == 0 && len(cfg.Listens) == 0 {
		// Debian's stock haproxy.cfg, for one: adopting it would only
		// start an haproxy that serves nothing.
		im.warn("%s has no frontend or listen section: nothing to import", HAProxyConf)
		return nil
	}
	for _, w := range warns {
		im.warn("%s", w)
	}
	// The admin socket is the agent's: one outside the directories it may
	// be in moves to the default (no traffic goes through it).
	if sock := cfg.Global.StatsSocket; sock != "" {
		probe := model.HAProxyConfig{Global: model.HAProxyGlobal{StatsSocket: sock}}
		if probe.Validate(nil) != nil {
			im.warn("%s:%d: stats socket %s is outside the directories lvs-agent lets haproxy create its admin socket in; the adopted haproxy.cfg has it at %s",
				HAProxyConf, lines.Of(model.Path{"global", "stats_socket"}), sock, model.DefaultStatsSocket)
			cfg.Global.StatsSocket = ""
		}
	}
	// What the file says is checked as it is, so that a refusal names the
	// line it comes from; the objects below say the same to haproxy.
	if err := cfg.Validate(nil); err != nil {
		var msgs []string
		for _, e := range model.AsErrors(err) {
			msgs = append(msgs, fmt.Sprintf("%s:%d: %s: %s", HAProxyConf, lines.Of(e.Path), e.Path, e.Msg))
		}
		return fail(fmt.Errorf("the configuration cannot be adopted as it is, so it was not imported (nothing changed):\n%s", strings.Join(msgs, "\n")))
	}
	backends := map[string]model.HAProxyBackend{}
	var order []string
	for _, b := range cfg.Backends {
		backends[b.Name] = b
		order = append(order, b.Name)
	}
	// A listen section is a frontend and a backend of one name.
	fronts := cfg.Frontends
	for _, l := range cfg.Listens {
		im.warn("%s: listen %s is imported as a frontend and a backend of that name", HAProxyConf, l.Name)
		b := l.HAProxyBackend
		backends[b.Name] = b
		order = append(order, b.Name)
		fronts = append(fronts, model.HAProxyFrontend{Name: l.Name, Binds: l.Binds, Mode: l.Mode, Maxconn: l.Maxconn, DefaultBackend: l.Name})
	}
	// A backend that one frontend names, as its default and nowhere else,
	// stays that frontend's own; every other is a backend of its own
	// (haproxy_backend), which the frontends route to by name.
	uses := map[string]int{}
	for _, f := range fronts {
		names := map[string]bool{f.DefaultBackend: true}
		for _, u := range f.UseBackends {
			names[u.Backend] = true
		}
		for n := range names {
			uses[n]++
		}
	}
	owned := map[string]bool{}
	var out []wire.HAProxyFrontend
	for _, f := range fronts {
		fe := wire.HAProxyFrontend{Frontend: f}
		if b, ok := backends[f.DefaultBackend]; ok && uses[b.Name] == 1 &&
			!slices.ContainsFunc(f.UseBackends, func(u model.HAProxyUseBackend) bool { return u.Backend == b.Name }) {
			fe.Backend = b
			owned[b.Name] = true
		}
		out = append(out, fe)
	}
	var backs []model.HAProxyBackend
	for _, name := range order {
		if !owned[name] {
			backs = append(backs, backends[name])
		}
	}
	settings := &wire.HAProxySettings{Global: cfg.Global, Defaults: cfg.Defaults, Resolvers: cfg.Resolvers}
	// Check what the agent will compose from these objects.
	composed := &model.HAProxyConfig{Global: settings.Global, Defaults: settings.Defaults, Resolvers: settings.Resolvers, Backends: backs}
	for _, f := range out {
		composed.Frontends = append(composed.Frontends, f.Frontend)
		if f.OwnsBackend() {
			composed.Backends = append(composed.Backends, f.Backend)
		}
	}
	if err := composed.Validate(nil); err != nil {
		return fail(fmt.Errorf("the imported configuration is not valid for lvs-agent, so it could not be adopted: %w", err))
	}
	im.haproxy = settings
	im.fronts = out
	im.backs = backs
	return nil
}
