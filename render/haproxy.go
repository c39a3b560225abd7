package render

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// HAProxy renders a host's haproxy.cfg: global, defaults, then the
// frontends, backends and listen sections in the model's order. The global
// section always carries the admin socket the agent talks to, with
// expose-fd listeners so that reloads can take the listening sockets over
// (haproxy -x) without dropping connections.
//
// An invalid cfg is refused with its model.Errors, unwrapped.
func HAProxy(cfg *model.HAProxyConfig) (string, error) {
	if err := cfg.Validate(nil); err != nil {
		return "", err
	}
	return renderHAProxy(cfg)
}

// renderHAProxy lays out cfg without validating it.
func renderHAProxy(cfg *model.HAProxyConfig) (string, error) {
	out, err := execute("haproxy.cfg", pongo2.Context{"cfg": haproxyViewOf(cfg)})
	if err != nil {
		return "", fmt.Errorf("render haproxy.cfg: %w", err)
	}
	return out, nil
}

// HAProxySysctls derives the kernel settings an haproxy host needs: when a
// bind names a specific address, haproxy must be able to bind it before the
// host holds it (the VIP of a keepalived BACKUP, which moves here only on
// failover), so non-local binds are allowed for that address family.
// Loopback addresses are always local and need nothing.
func HAProxySysctls(cfg *model.HAProxyConfig) []model.Sysctl {
	var v4, v6 bool
	for _, b := range allBinds(cfg) {
		a := b.Address
		if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() {
			continue
		}
		if a.Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	const reason = "haproxy binds virtual addresses this host may not hold yet (a VIP on a VRRP BACKUP)"
	var out []model.Sysctl
	if v4 {
		out = append(out, model.Sysctl{Key: "net.ipv4.ip_nonlocal_bind", Value: "1", Reason: reason})
	}
	if v6 {
		out = append(out, model.Sysctl{Key: "net.ipv6.ip_nonlocal_bind", Value: "1", Reason: reason})
	}
	return out
}

func allBinds(cfg *model.HAProxyConfig) []model.HAProxyBind {
	var out []model.HAProxyBind
	for _, f := range cfg.Frontends {
		out = append(out, f.Binds...)
	}
	for _, l := range cfg.Listens {
		out = append(out, l.Binds...)
	}
	return out
}

// haproxyView is what templates/haproxy.cfg lays out: every value already
// in its haproxy spelling, unset values empty.
type haproxyView struct {
	// Marker is the first line, by which the agent knows the file is its own.
	Marker   string
	Global   globalView
	Defaults defaultsView
	// Resolvers are the resolvers sections, each as its lines.
	Resolvers []resolversView
	// Proxies are the frontends, backends and listens, in that order.
	Proxies []proxyView
}

type globalView struct {
	Logs        []string
	Chroot      string
	User, Group string
	UID, GID    int
	Maxconn     int
	Nbthread    int
	StatsSocket string
	Options     []string
}

type resolversView struct {
	Name  string
	Lines []string
}

// resolversViewOf spells a resolvers section's lines: the nameservers
// (ns1, ns2, ...), then the settings that are set, times in milliseconds.
func resolversViewOf(r *model.HAProxyResolvers) resolversView {
	v := resolversView{Name: r.Name}
	for i, ns := range r.Nameservers {
		v.Lines = append(v.Lines, "nameserver "+model.NameserverName(i)+" "+ns.String())
	}
	if r.ParseResolvConf {
		v.Lines = append(v.Lines, "parse-resolv-conf")
	}
	for _, l := range []struct {
		keyword string
		n       int
	}{
		{"resolve_retries", r.ResolveRetries}, {"timeout resolve", r.TimeoutResolve},
		{"timeout retry", r.TimeoutRetry}, {"hold valid", r.HoldValid},
		{"accepted_payload_size", r.AcceptedPayloadSize},
	} {
		if l.n != 0 {
			v.Lines = append(v.Lines, l.keyword+" "+strconv.Itoa(l.n))
		}
	}
	return v
}

type defaultsView struct {
	Mode       string
	Balance    string
	LogGlobal  bool
	Redispatch bool
	Retries    int
	Maxconn    int
	Timeouts   []string
	Options    []string
}

// proxyView is one frontend, backend or listen section; the fields a kind
// of section does not have stay empty.
type proxyView struct {
	Kind, Name     string
	Binds          []string
	Mode           string
	Maxconn        int
	Balance        string
	HTTPCheck      []string
	Timeouts       []string
	ACLs           []string
	Options        []string
	UseBackends    []string
	DefaultBackend string
	Servers        []string
}

func haproxyViewOf(cfg *model.HAProxyConfig) haproxyView {
	v := haproxyView{
		Marker:   ManagedMarker,
		Global:   globalViewOf(&cfg.Global),
		Defaults: defaultsViewOf(&cfg.Defaults),
	}
	for i := range cfg.Resolvers {
		v.Resolvers = append(v.Resolvers, resolversViewOf(&cfg.Resolvers[i]))
	}
	for _, f := range cfg.Frontends {
		fv := frontendView(&f)
		fv.Binds = bindLines(cfg, f.Binds)
		v.Proxies = append(v.Proxies, fv)
	}
	for _, b := range cfg.Backends {
		v.Proxies = append(v.Proxies, backendView("backend", &b))
	}
	for _, l := range cfg.Listens {
		p := backendView("listen", &l.HAProxyBackend)
		p.Binds = bindLines(cfg, l.Binds)
		p.Maxconn = l.Maxconn
		v.Proxies = append(v.Proxies, p)
	}
	return v
}

func globalViewOf(g *model.HAProxyGlobal) globalView {
	v := globalView{
		Chroot:      g.Chroot,
		User:        g.User,
		Group:       g.Group,
		UID:         g.UID,
		GID:         g.GID,
		Maxconn:     g.Maxconn,
		Nbthread:    g.Nbthread,
		StatsSocket: g.StatsSocket,
		Options:     g.Options,
	}
	if v.StatsSocket == "" {
		v.StatsSocket = model.DefaultStatsSocket
	}
	for _, l := range g.Logs {
		v.Logs = append(v.Logs, joinSet(l.Address, l.Facility, l.Level))
	}
	return v
}

func defaultsViewOf(d *model.HAProxyDefaults) defaultsView {
	return defaultsView{
		Mode:       d.Mode,
		Balance:    balance(d.Balance, d.BalanceArg),
		LogGlobal:  d.LogGlobal,
		Redispatch: d.Redispatch,
		Retries:    d.Retries,
		Maxconn:    d.Maxconn,
		Timeouts:   timeoutLines(&d.Timeouts),
		Options:    d.Options,
	}
}

func frontendView(f *model.HAProxyFrontend) proxyView {
	v := proxyView{
		Kind:           "frontend",
		Name:           f.Name,
		Mode:           f.Mode,
		Maxconn:        f.Maxconn,
		Timeouts:       timeoutLines(&f.Timeouts),
		Options:        f.Options,
		DefaultBackend: f.DefaultBackend,
	}
	for _, a := range f.ACLs {
		v.ACLs = append(v.ACLs, a.Name+" "+a.Criterion)
	}
	for _, u := range f.UseBackends {
		cond := u.Cond
		if cond == "" {
			cond = "if"
		}
		v.UseBackends = append(v.UseBackends, joinSet(u.Backend, cond, u.Condition))
	}
	return v
}

func backendView(kind string, b *model.HAProxyBackend) proxyView {
	v := proxyView{
		Kind:     kind,
		Name:     b.Name,
		Mode:     b.Mode,
		Balance:  balance(b.Balance, b.BalanceArg),
		Timeouts: timeoutLines(&b.Timeouts),
		Options:  b.Options,
	}
	if h := b.HTTPCheck; h != nil {
		v.HTTPCheck = httpCheckLines(h)
	}
	for _, s := range b.Servers {
		v.Servers = append(v.Servers, serverLine(&s))
	}
	return v
}

// balance spells an algorithm with its argument: hdr(Host), url_param id,
// hash req.hdr(host), random(3), rdp-cookie(msts).
func balance(algo, arg string) string {
	switch {
	case arg == "":
		return algo
	case algo == "url_param" || algo == "hash":
		return algo + " " + arg
	}
	return algo + "(" + arg + ")"
}

// httpCheckLines are the lines after "option httpchk", in the haproxy 2.2+
// form: the request on an http-check send line, the accepted status on an
// http-check expect line. HTTP/1.1 is declared only with a Host header to
// send, which HTTP/1.1 requires; without one the check speaks HTTP/1.0.
// An unset method or status leaves haproxy's (OPTIONS, any 2xx or 3xx).
func httpCheckLines(h *model.HAProxyHTTPCheck) []string {
	send := "send"
	if h.Method != "" {
		send += " meth " + h.Method
	}
	send += " uri " + h.Path
	if h.Host != "" {
		send += " ver HTTP/1.1 hdr Host " + h.Host
	}
	lines := []string{send}
	if h.ExpectStatus != "" {
		lines = append(lines, "expect status "+h.ExpectStatus)
	}
	return lines
}

// serverLine is everything after "server": name, address, then the set
// check and tuning keywords, then the free options.
func serverLine(s *model.HAProxyServer) string {
	addr := netip.AddrPortFrom(s.Address, uint16(s.Port)).String()
	switch {
	case s.Hostname != "" && s.Port == 0:
		addr = s.Hostname
	case s.Hostname != "":
		addr = s.Hostname + ":" + strconv.Itoa(s.Port)
	case s.Port == 0:
		// Port-less: the client's destination port. An IPv6 address
		// goes in brackets, or haproxy reads its last group as a port.
		addr = s.Address.String()
		if s.Address.Is6() {
			addr = "[" + addr + "]"
		}
	}
	line := s.Name + " " + addr
	if s.Check {
		line += " check"
	}
	line += numArg("port", s.CheckPort)
	if s.CheckAddr.IsValid() {
		line += " addr " + s.CheckAddr.String()
	}
	line += numArg("inter", s.Inter) + numArg("fall", s.Fall) + numArg("rise", s.Rise)
	if s.Weight != nil {
		line += " weight " + strconv.Itoa(*s.Weight)
	}
	if s.Backup {
		line += " backup"
	}
	line += numArg("maxconn", s.Maxconn) + numArg("maxqueue", s.Maxqueue)
	if s.Slowstart != 0 {
		line += " slowstart " + strconv.Itoa(s.Slowstart) + "ms"
	}
	if s.SendProxy {
		line += " send-proxy"
	}
	if s.SendProxyV2 {
		line += " send-proxy-v2"
	}
	if s.SSL {
		line += " ssl"
	}
	if s.CheckSSL {
		line += " check-ssl"
	}
	for _, kv := range [][2]string{{"verify", s.Verify}, {"ca-file", s.CAFile}, {"sni", s.SNI}, {"verifyhost", s.VerifyHost}} {
		if kv[1] != "" {
			line += " " + kv[0] + " " + kv[1]
		}
	}
	if s.AgentCheck {
		line += " agent-check" + numArg("agent-port", s.AgentPort)
		if s.AgentInter != 0 {
			line += " agent-inter " + strconv.Itoa(s.AgentInter) + "ms"
		}
	}
	if s.Resolvers != "" {
		line += " resolvers " + s.Resolvers
	}
	if s.ResolvePrefer != "" {
		line += " resolve-prefer " + s.ResolvePrefer
	}
	if len(s.InitAddr) > 0 {
		line += " init-addr " + strings.Join(s.InitAddr, ",")
	}
	if s.Options != "" {
		line += " " + s.Options
	}
	return line
}

// bindLines spell each bind as address:port (IPv6 in brackets, no address
// as ":port" for every IPv4 address), then "ssl crt <file>" for a bind
// naming a certificate, then its options. The file is the one the agent
// writes for a certificate of cfg (HAProxyCertificate.FilePath), else
// the fixed path a rendered-only configuration expects (HAProxyCertPath).
func bindLines(cfg *model.HAProxyConfig, binds []model.HAProxyBind) []string {
	out := make([]string, 0, len(binds))
	for _, b := range binds {
		addr := ":" + strconv.Itoa(b.Port)
		if b.Address.IsValid() {
			addr = netip.AddrPortFrom(b.Address, uint16(b.Port)).String()
		}
		tls := ""
		if b.Certificate != "" {
			file := model.HAProxyCertPath(b.Certificate)
			if c := cfg.Certificate(b.Certificate); c != nil {
				file = c.FilePath()
			}
			tls = "ssl crt " + file
		}
		out = append(out, joinSet(addr, tls, b.Options))
	}
	return out
}

// timeoutLines are the set timeouts as "<name> <ms>", in haproxy's names.
func timeoutLines(t *model.HAProxyTimeouts) []string {
	var out []string
	for _, f := range []struct {
		name string
		ms   int
	}{
		{"connect", t.Connect}, {"client", t.Client}, {"server", t.Server}, {"queue", t.Queue},
		{"http-request", t.HTTPRequest}, {"http-keep-alive", t.HTTPKeepAlive}, {"check", t.Check},
		{"tunnel", t.Tunnel}, {"client-fin", t.ClientFin}, {"server-fin", t.ServerFin},
	} {
		if f.ms != 0 {
			out = append(out, f.name+" "+strconv.Itoa(f.ms))
		}
	}
	return out
}

// numArg is " keyword n", or "" when n is zero (unset).
func numArg(keyword string, n int) string {
	if n == 0 {
		return ""
	}
	return " " + keyword + " " + strconv.Itoa(n)
}

// joinSet joins the non-empty words with single spaces.
func joinSet(words ...string) string {
	return strings.Join(slices.DeleteFunc(words, func(w string) bool { return w == "" }), " ")
}
