package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// HAProxyConfig is one host's haproxy.cfg.
type HAProxyConfig struct {
	Global   HAProxyGlobal   `json:"global,omitzero"`
	Defaults HAProxyDefaults `json:"defaults,omitzero"`
	// Resolvers are the resolvers sections servers given by host name
	// may name.
	Resolvers []HAProxyResolvers `json:"resolvers,omitzero"`
	Frontends []HAProxyFrontend  `json:"frontends,omitzero"`
	Backends  []HAProxyBackend   `json:"backends,omitzero"`
	Listens   []HAProxyListen    `json:"listens,omitzero"`
	// Certificates are the TLS certificates binds name (Certificate), as
	// the agent composes a host's configuration; a rendered-only
	// configuration has none and points binds at HAProxyCertPath. Never
	// encoded: it holds private keys.
	Certificates []HAProxyCertificate `json:"-"`
}

// HAProxyGlobal is the global section.
type HAProxyGlobal struct {
	Maxconn  int    `json:"maxconn,omitzero"`
	Nbthread int    `json:"nbthread,omitzero"`
	User     string `json:"user,omitzero"`
	Group    string `json:"group,omitzero"`
	// UID and GID are the numeric forms of User and Group (uid, gid); zero
	// is unset, and each conflicts with its named form.
	UID int `json:"uid,omitzero"`
	GID int `json:"gid,omitzero"`
	// Chroot is the directory haproxy chroots into after startup: below
	// HAProxyChrootParents or one of HAProxyChrootDirs.
	Chroot string       `json:"chroot,omitzero"`
	Logs   []HAProxyLog `json:"logs,omitzero"`
	// StatsSocket is the path of the admin socket (the agent uses it to
	// read server states), below one of HAProxyStatsSocketDirs; empty
	// means /run/haproxy/admin.sock.
	StatsSocket string `json:"stats_socket,omitzero"`
	// Options are extra global directives, one per line, each a keyword
	// and its arguments (tune.ssl.default-dh-param 2048). Directives the
	// model owns or that create files (stats socket, pidfile, chroot,
	// unix-bind, user, group) are refused; see paths.go.
	Options []string `json:"options,omitzero"`
}

// DefaultStatsSocket is the admin socket when HAProxyGlobal.StatsSocket is empty.
const DefaultStatsSocket = "/run/haproxy/admin.sock"

// HAProxyLog is one log target.
type HAProxyLog struct {
	// Address is a syslog target: /dev/log, 127.0.0.1:514, stdout.
	Address  string `json:"address,omitzero"`
	Facility string `json:"facility,omitzero"`
	Level    string `json:"level,omitzero"`
}

// HAProxyTimeouts are the timeouts of a section, in milliseconds; zero
// leaves haproxy's default (or the defaults section's).
type HAProxyTimeouts struct {
	Connect       int `json:"connect,omitzero"`
	Client        int `json:"client,omitzero"`
	Server        int `json:"server,omitzero"`
	Queue         int `json:"queue,omitzero"`
	HTTPRequest   int `json:"http_request,omitzero"`
	HTTPKeepAlive int `json:"http_keep_alive,omitzero"`
	Check         int `json:"check,omitzero"`
	Tunnel        int `json:"tunnel,omitzero"`
	ClientFin     int `json:"client_fin,omitzero"`
	ServerFin     int `json:"server_fin,omitzero"`
}

// HAProxyDefaults is the defaults section.
type HAProxyDefaults struct {
	Mode       string          `json:"mode,omitzero"`
	Maxconn    int             `json:"maxconn,omitzero"`
	Retries    int             `json:"retries,omitzero"`
	Timeouts   HAProxyTimeouts `json:"timeouts,omitzero"`
	Redispatch bool            `json:"redispatch,omitzero"`
	// Balance and BalanceArg are the algorithm every backend without its
	// own balance line uses (as HAProxyBackend's).
	Balance    string `json:"balance,omitzero"`
	BalanceArg string `json:"balance_arg,omitzero"`
	// Log makes proxies use the global log targets ("log global").
	LogGlobal bool `json:"log_global,omitzero"`
	// Options are extra "option" names (httplog, dontlognull, forwardfor).
	Options []string `json:"options,omitzero"`
}

// HAProxyBind is one listening address.
type HAProxyBind struct {
	// Address is empty (or 0.0.0.0 / ::) for every address.
	Address netip.Addr `json:"address,omitzero"`
	Port    int        `json:"port,omitzero"`
	// Certificate names an HAProxyCertificate: the bind terminates TLS
	// with it ("ssl crt <file>", before Options).
	Certificate string `json:"certificate,omitzero"`
	// Options follow the address on the bind line (ssl crt /etc/x.pem, transparent).
	Options string `json:"options,omitzero"`
}

// HAProxyACL is a named condition (acl is_api path_beg /api).
type HAProxyACL struct {
	Name      string `json:"name,omitzero"`
	Criterion string `json:"criterion,omitzero"`
}

// HAProxyUseBackend routes requests matching a condition to a backend.
type HAProxyUseBackend struct {
	Backend string `json:"backend,omitzero"`
	// Cond is "if" (default) or "unless".
	Cond      string `json:"cond,omitzero"`
	Condition string `json:"condition,omitzero"`
}

// HAProxyFrontend is one frontend section.
type HAProxyFrontend struct {
	Name           string              `json:"name,omitzero"`
	Binds          []HAProxyBind       `json:"binds,omitzero"`
	Mode           string              `json:"mode,omitzero"`
	Maxconn        int                 `json:"maxconn,omitzero"`
	DefaultBackend string              `json:"default_backend,omitzero"`
	ACLs           []HAProxyACL        `json:"acls,omitzero"`
	UseBackends    []HAProxyUseBackend `json:"use_backends,omitzero"`
	Timeouts       HAProxyTimeouts     `json:"timeouts,omitzero"`
	// Options are extra directives, one per line, each a keyword and its
	// arguments (option forwardfor, http-request set-header X-Forwarded-Proto
	// https). They come after the acl lines, so they may use the ACLs.
	Options []string `json:"options,omitzero"`
}

// HAProxyServer is one server line of a backend.
type HAProxyServer struct {
	Name string `json:"name,omitzero"`
	// Address is the server's IP address, or Hostname its DNS name
	// (exactly one of them). haproxy resolves a host name at startup as
	// InitAddr says (unset: last, then libc), and at run time through
	// the resolvers section Resolvers names, if any.
	Address       netip.Addr `json:"address,omitzero"`
	Hostname      string     `json:"hostname,omitzero"`
	Resolvers     string     `json:"resolvers,omitzero"`
	ResolvePrefer string     `json:"resolve_prefer,omitzero"`
	InitAddr      []string   `json:"init_addr,omitzero"`
	// Port zero is a port-less server: haproxy connects to the port the
	// client connected to (the usual choice behind an LVS DR VIP).
	Port   int  `json:"port,omitzero"`
	Weight *int `json:"weight,omitzero"`
	Check  bool `json:"check,omitzero"`
	// CheckPort and CheckAddr send the health check elsewhere than the
	// traffic ("port", "addr"); a port-less server with check needs one.
	CheckPort int        `json:"check_port,omitzero"`
	CheckAddr netip.Addr `json:"check_addr,omitzero"`
	// SendProxy and SendProxyV2 prefix each connection with a PROXY
	// protocol header (version 1 or 2); at most one of them.
	SendProxy   bool `json:"send_proxy,omitzero"`
	SendProxyV2 bool `json:"send_proxy_v2,omitzero"`
	// Slowstart ramps a server's weight up over that many milliseconds
	// after it comes back; Maxqueue bounds its queue.
	Slowstart int `json:"slowstart,omitzero"`
	Maxqueue  int `json:"maxqueue,omitzero"`
	// Inter, Fall and Rise tune the health check (inter in milliseconds).
	Inter   int  `json:"inter,omitzero"`
	Fall    int  `json:"fall,omitzero"`
	Rise    int  `json:"rise,omitzero"`
	Backup  bool `json:"backup,omitzero"`
	Maxconn int  `json:"maxconn,omitzero"`
	// SSL speaks TLS to the server ("ssl"), CheckSSL runs the health
	// check over TLS ("check-ssl"). Verify (none or required; unset is
	// haproxy's required) checks the server's certificate against
	// CAFile, and VerifyHost is the name it must carry; SNI is the
	// sample expression whose value is sent as the server name.
	SSL        bool   `json:"ssl,omitzero"`
	Verify     string `json:"verify,omitzero"`
	CAFile     string `json:"ca_file,omitzero"`
	SNI        string `json:"sni,omitzero"`
	VerifyHost string `json:"verifyhost,omitzero"`
	CheckSSL   bool   `json:"check_ssl,omitzero"`
	// AgentCheck asks an agent on the server, at AgentPort, every
	// AgentInter milliseconds (unset: inter), for its state and weight.
	AgentCheck bool `json:"agent_check,omitzero"`
	AgentPort  int  `json:"agent_port,omitzero"`
	AgentInter int  `json:"agent_inter,omitzero"`
	// Options follow the server line (send-proxy, ssl verify none).
	Options string `json:"options,omitzero"`
}

// HAProxyHTTPCheck configures option httpchk and http-check lines.
type HAProxyHTTPCheck struct {
	Method string `json:"method,omitzero"`
	Path   string `json:"path,omitzero"`
	// Host is sent as the Host header (HTTP/1.1 checks).
	Host string `json:"host,omitzero"`
	// ExpectStatus is a status or range the check accepts (200, 200-399).
	ExpectStatus string `json:"expect_status,omitzero"`
}

// HAProxyBackend is one backend section.
type HAProxyBackend struct {
	Name       string            `json:"name,omitzero"`
	Mode       string            `json:"mode,omitzero"`
	Balance    string            `json:"balance,omitzero"`
	BalanceArg string            `json:"balance_arg,omitzero"`
	Servers    []HAProxyServer   `json:"servers,omitzero"`
	HTTPCheck  *HAProxyHTTPCheck `json:"http_check,omitzero"`
	Timeouts   HAProxyTimeouts   `json:"timeouts,omitzero"`
	// Options are extra directives, one per line, each a keyword and its
	// arguments (option http-server-close, http-reuse safe).
	Options []string `json:"options,omitzero"`
}

// HAProxyListen is a listen section: a frontend and its backend in one.
type HAProxyListen struct {
	// HAProxyBackend holds the section's name (Name is promoted) and its
	// backend settings. A separate Name field here used to shadow it, so the
	// name the duplicate checks saw was not the one validated and rendered.
	HAProxyBackend
	Binds   []HAProxyBind `json:"binds,omitzero"`
	Maxconn int           `json:"maxconn,omitzero"`
}

// HTTPMethods are the request methods an httpchk may use.
var HTTPMethods = []string{"GET", "HEAD", "OPTIONS", "POST"}

// Validate checks the configuration; p is where it sits (global at
// p.global[0], frontends at p.frontend[i], and so on).
func (c *HAProxyConfig) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	g := &c.Global
	gp := p.At("global")
	checkRange(&errs, gp.At("maxconn"), g.Maxconn, 0, 10000000)
	// haproxy 2.6 (Debian bookworm) is built with at most 64 threads and
	// refuses more: "'nbthread' value must be between 1 and 64".
	checkRange(&errs, gp.At("nbthread"), g.Nbthread, 0, 64)
	if g.User != "" {
		checkName(&errs, gp.At("user"), g.User)
	}
	if g.Group != "" {
		checkName(&errs, gp.At("group"), g.Group)
	}
	checkRange(&errs, gp.At("uid"), g.UID, 0, 2147483647)
	checkRange(&errs, gp.At("gid"), g.GID, 0, 2147483647)
	if g.UID != 0 && g.User != "" {
		errs.add(gp.At("uid"), "conflicts with user: give the user by name or by number")
	}
	if g.GID != 0 && g.Group != "" {
		errs.add(gp.At("gid"), "conflicts with group: give the group by name or by number")
	}
	checkChroot(&errs, gp.At("chroot"), g.Chroot)
	checkPathBelow(&errs, gp.At("stats_socket"), g.StatsSocket, "the admin socket", HAProxyStatsSocketDirs)
	// haproxy refuses longer socket paths ("too long (max 97)"): it needs
	// room in sun_path for the temporary name it binds before renaming.
	if len(g.StatsSocket) > 97 {
		errs.add(gp.At("stats_socket"), "%q is longer than the 97 characters haproxy accepts for a socket path", g.StatsSocket)
	}
	for i, l := range g.Logs {
		lp := gp.At("log", i)
		if l.Address == "" {
			errs.add(lp.At("address"), "must be set, such as /dev/log or 127.0.0.1:514")
		}
		// A unix socket target (/dev/log) is connected to, never created,
		// so it is not confined; it is still a clean absolute path.
		if strings.HasPrefix(l.Address, "/") {
			checkCleanPath(&errs, lp.At("address"), l.Address)
		} else {
			checkWord(&errs, lp.At("address"), l.Address)
		}
		// haproxy requires a facility on every log line ("log : expects
		// <address> and <facility>") and knows only the syslog ones.
		if l.Facility == "" {
			errs.add(lp.At("facility"), "must be set, such as local0")
		}
		checkEnum(&errs, lp.At("facility"), l.Facility, HAProxyLogFacilities)
		checkEnum(&errs, lp.At("level"), l.Level, HAProxyLogLevels)
	}
	checkOptions(&errs, gp.At("options"), g.Options)

	d := &c.Defaults
	dp := p.At("defaults")
	checkEnum(&errs, dp.At("mode"), d.Mode, HAProxyModes)
	checkRange(&errs, dp.At("maxconn"), d.Maxconn, 0, 10000000)
	checkRange(&errs, dp.At("retries"), d.Retries, 0, 1000)
	checkBalance(&errs, dp, d.Balance, d.BalanceArg)
	d.Timeouts.validate(&errs, dp)
	checkOptions(&errs, dp.At("options"), d.Options)

	checkCertificates(&errs, p, c.Certificates)
	resolvers := checkResolvers(&errs, p, c.Resolvers)
	checkServerResolvers := func(bp loc, b *HAProxyBackend) {
		for k, s := range b.Servers {
			if s.Resolvers != "" && !resolvers[s.Resolvers] {
				errs.add(bp.At("server", k, "resolvers"), "%q is not the name of a resolvers section of this configuration", s.Resolvers)
			}
		}
	}

	backends := map[string]bool{}
	for i := range c.Backends {
		b := &c.Backends[i]
		bp := p.At("backend", i)
		b.validate(&errs, bp)
		checkServerResolvers(bp, b)
		if backends[b.Name] {
			errs.add(bp.At("name"), "%q is already the name of another backend or listen section", b.Name)
		}
		backends[b.Name] = true
	}
	listens := map[string]bool{}
	binds := map[netip.AddrPort]string{}
	claimBinds := func(bp loc, owner string, bs []HAProxyBind) {
		if len(bs) == 0 {
			errs.add(bp, "needs at least one bind")
		}
		for k, b := range bs {
			b.validate(&errs, bp.At(k))
			key := netip.AddrPortFrom(b.Address, uint16(b.Port))
			if prev, dup := binds[key]; dup {
				errs.add(bp.At(k), "%s is already bound by %s", key, prev)
			}
			binds[key] = owner
		}
	}
	for i := range c.Listens {
		l := &c.Listens[i]
		lp := p.At("listen", i)
		l.validate(&errs, lp)
		checkServerResolvers(lp, &l.HAProxyBackend)
		if backends[l.Name] || listens[l.Name] {
			errs.add(lp.At("name"), "%q is already the name of another backend or listen section", l.Name)
		}
		listens[l.Name] = true
		claimBinds(lp.At("bind"), "listen "+l.Name, l.Binds)
		checkRange(&errs, lp.At("maxconn"), l.Maxconn, 0, 10000000)
	}
	frontends := map[string]bool{}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		fp := p.At("frontend", i)
		checkName(&errs, fp.At("name"), f.Name)
		if frontends[f.Name] || listens[f.Name] {
			errs.add(fp.At("name"), "%q is already the name of another frontend or listen section", f.Name)
		}
		frontends[f.Name] = true
		claimBinds(fp.At("bind"), "frontend "+f.Name, f.Binds)
		checkEnum(&errs, fp.At("mode"), f.Mode, HAProxyModes)
		checkRange(&errs, fp.At("maxconn"), f.Maxconn, 0, 10000000)
		f.Timeouts.validate(&errs, fp)
		checkOptions(&errs, fp.At("options"), f.Options)
		checkRoutingOptions(&errs, fp.At("options"), f.Options)
		known := func(path loc, name string) {
			if name != "" {
				checkName(&errs, path, name)
			}
			if name != "" && !backends[name] && !listens[name] {
				errs.add(path, "%q is not the name of a backend of this configuration", name)
			}
		}
		known(fp.At("default_backend"), f.DefaultBackend)
		mode := orDefault(f.Mode, orDefault(d.Mode, DefaultHAProxyMode))
		if f.DefaultBackend == "" && len(f.UseBackends) == 0 {
			switch {
			case f.ServesStats() && mode == "http":
				// haproxy answers the statistics page itself; the
				// requests it does not match get a 503, as from a
				// backend without servers.
			case f.ServesStats():
				errs.add(fp.At("default_backend"), "must be set (or give use_backend rules); a frontend without a backend drops every request: "+
					"its stats lines would serve the statistics page, but haproxy ignores them in tcp mode; set mode = \"http\" (here or in defaults)")
			default:
				errs.add(fp.At("default_backend"), "must be set (or give use_backend rules); a frontend without a backend drops every request")
			}
		}
		acls := map[string]bool{}
		for k, a := range f.ACLs {
			ap := fp.At("acl", k)
			checkName(&errs, ap.At("name"), a.Name)
			if a.Criterion == "" {
				errs.add(ap.At("criterion"), "must be set, such as path_beg /api")
			}
			checkHAProxyQuoted(&errs, ap.At("criterion"), a.Criterion)
			checkHAProxyParams(&errs, ap.At("criterion"), a.Criterion)
			acls[a.Name] = true
		}
		for k, u := range f.UseBackends {
			up := fp.At("use_backend", k)
			known(up.At("backend"), u.Backend)
			if u.Backend == "" {
				errs.add(up.At("backend"), "must be set")
			}
			checkEnum(&errs, up.At("cond"), u.Cond, HAProxyRuleConditions)
			if u.Condition == "" {
				errs.add(up.At("condition"), "must be set, such as is_api or !is_static")
			}
			checkCondition(&errs, up.At("condition"), u.Condition, f.declaredACLs())
		}
		// haproxy 2.6 upgrades a tcp stream to HTTP when it reaches an
		// http backend, but refuses an http frontend feeding a tcp backend.
		for _, u := range append([]HAProxyUseBackend{{Backend: f.DefaultBackend}}, f.UseBackends...) {
			if bm := c.backendMode(u.Backend); mode == "http" && bm == "tcp" {
				errs.add(fp.At("mode"), "frontend %q is http but backend %q is tcp; haproxy refuses an http frontend feeding a tcp backend (the other way round it upgrades the stream)", f.Name, u.Backend)
			}
		}
	}
	return errs.err()
}

// backendMode returns the effective mode of a backend or listen section, or
// "" when no section has that name. Listens count too, and an unset mode is
// the defaults' or haproxy's own (tcp): haproxy -c refuses an http frontend
// whose backend is tcp by default just as it refuses an explicit one.
func (c *HAProxyConfig) backendMode(name string) string {
	mode := func(m string) string { return orDefault(m, orDefault(c.Defaults.Mode, DefaultHAProxyMode)) }
	for _, b := range c.Backends {
		if b.Name == name {
			return mode(b.Mode)
		}
	}
	for _, l := range c.Listens {
		if l.Name == name {
			return mode(l.Mode)
		}
	}
	return ""
}

func (b *HAProxyBind) validate(errs *Errors, p loc) {
	if b.Address.IsValid() && b.Address.Zone() != "" {
		errs.add(p.At("address"), "%s has a zone; bind plain addresses", b.Address)
	}
	checkRange(errs, p.At("port"), b.Port, 1, 65535)
	if b.Certificate != "" {
		checkName(errs, p.At("certificate"), b.Certificate)
	}
	checkHAProxyQuoted(errs, p.At("options"), b.Options)
	checkHAProxyParams(errs, p.At("options"), b.Options)
}

func (b *HAProxyBackend) validate(errs *Errors, p loc) {
	checkName(errs, p.At("name"), b.Name)
	checkEnum(errs, p.At("mode"), b.Mode, HAProxyModes)
	checkBalance(errs, p, b.Balance, b.BalanceArg)
	b.Timeouts.validate(errs, p)
	checkOptions(errs, p.At("options"), b.Options)
	if h := b.HTTPCheck; h != nil {
		hp := p.At("http_check")
		checkEnum(errs, hp.At("method"), h.Method, HTTPMethods)
		if h.Path == "" || h.Path[0] != '/' {
			errs.add(hp.At("path"), "%q must start with /", h.Path)
		}
		checkWord(errs, hp.At("path"), h.Path)
		checkHostname(errs, hp.At("host"), h.Host)
		if h.ExpectStatus != "" && !statusRE.MatchString(h.ExpectStatus) {
			errs.add(hp.At("expect_status"), "%q is not an HTTP status code or range such as 200 or 200-399", h.ExpectStatus)
		}
	}
	names := map[string]bool{}
	for i, s := range b.Servers {
		sp := p.At("server", i)
		checkName(errs, sp.At("name"), s.Name)
		if names[s.Name] {
			errs.add(sp.At("name"), "%q is already the name of another server of this backend", s.Name)
		}
		names[s.Name] = true
		checkServerAddress(errs, sp, &s)
		checkRange(errs, sp.At("port"), s.Port, 0, 65535)
		checkRange(errs, sp.At("check_port"), s.CheckPort, 0, 65535)
		if s.CheckAddr.IsValid() && s.CheckAddr.Zone() != "" {
			errs.add(sp.At("check_addr"), "%s has a zone; give a plain address", s.CheckAddr)
		}
		if s.Port == 0 && s.Check && s.CheckPort == 0 {
			errs.add(sp.At("check_port"), "must be set for a port-less server with check = true: haproxy has no port to check it on")
		}
		if !s.Check && (s.CheckPort != 0 || s.CheckAddr.IsValid()) {
			errs.add(sp.At("check"), "check_port and check_addr direct the health check; set check = true")
		}
		if s.SendProxy && s.SendProxyV2 {
			errs.add(sp.At("send_proxy_v2"), "conflicts with send_proxy: a connection carries one PROXY protocol header; choose version 1 or 2")
		}
		checkRange(errs, sp.At("slowstart"), s.Slowstart, 0, 86400000)
		checkRange(errs, sp.At("maxqueue"), s.Maxqueue, 0, 10000000)
		if s.Weight != nil {
			checkRange(errs, sp.At("weight"), *s.Weight, 0, 256)
		}
		checkRange(errs, sp.At("inter"), s.Inter, 0, 86400000)
		checkRange(errs, sp.At("fall"), s.Fall, 0, 1000)
		checkRange(errs, sp.At("rise"), s.Rise, 0, 1000)
		if !s.Check && (s.Inter != 0 || s.Fall != 0 || s.Rise != 0) {
			errs.add(sp.At("check"), "inter, fall and rise tune the health check; set check = true")
		}
		checkRange(errs, sp.At("maxconn"), s.Maxconn, 0, 10000000)
		checkHAProxyQuoted(errs, sp.At("options"), s.Options)
		checkHAProxyParams(errs, sp.At("options"), s.Options)
		checkServerTLS(errs, sp, &s)
		checkRange(errs, sp.At("agent_port"), s.AgentPort, 0, 65535)
		checkRange(errs, sp.At("agent_inter"), s.AgentInter, 0, 86400000)
		if s.AgentCheck && s.AgentPort == 0 {
			// haproxy -c: "server s does not have agent port. Agent check has been disabled."
			errs.add(sp.At("agent_port"), "must be set with agent_check = true: haproxy has no port to reach the agent on")
		}
		if !s.AgentCheck && (s.AgentPort != 0 || s.AgentInter != 0) {
			errs.add(sp.At("agent_check"), "agent_port and agent_inter tune the agent check; set agent_check = true")
		}
		checkServerOptionKeywords(errs, sp, &s)
	}
}

func (t *HAProxyTimeouts) validate(errs *Errors, p loc) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"connect", t.Connect}, {"client", t.Client}, {"server", t.Server}, {"queue", t.Queue},
		{"http_request", t.HTTPRequest}, {"http_keep_alive", t.HTTPKeepAlive}, {"check", t.Check},
		{"tunnel", t.Tunnel}, {"client_fin", t.ClientFin}, {"server_fin", t.ServerFin},
	} {
		checkRange(errs, p.At("timeout_"+f.name), f.v, 0, 2147483647)
	}
}

func checkOptions(errs *Errors, p loc, opts []string) {
	for i, o := range opts {
		if o == "" {
			errs.add(p.At(i), "must not be empty")
		}
		n := len(*errs)
		checkHAProxyQuoted(errs, p.At(i), o)
		if len(*errs) == n {
			checkHAProxyLine(errs, p.At(i), o)
		}
		// haproxy ignores indentation: an option line whose first word is a
		// section keyword opens a new section (a whole frontend injected
		// through a global option), and one starting with "." is a
		// conditional-block directive (.if 0 disables what follows). The
		// word is the one haproxy reads: "global" in quotes is global.
		first := ""
		if words := haproxyWords(o); len(words) > 0 {
			first = words[0]
		}
		if slices.Contains(haproxySectionKeywords, first) || strings.HasPrefix(first, ".") {
			errs.add(p.At(i), "%q starts with %q, which opens a new section or block in haproxy.cfg; give a directive of this section", o, first)
		}
	}
}

// haproxySectionKeywords are the words that start a section of haproxy.cfg
// wherever they appear at the start of a line (2.6, plus later additions).
var haproxySectionKeywords = []string{
	"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers",
	"userlist", "mailers", "program", "http-errors", "ring", "cache",
	"log-forward", "fcgi-app", "namespace_list", "crt-store", "traces", "acme",
}

// ServesStats reports whether the frontend serves haproxy's statistics
// page: one of its lines is a stats directive (stats enable, stats uri /,
// stats auth, ...). In haproxy 2.6 each of them enables the page with
// default settings (cfgparse-listen.c: every "stats" keyword of a proxy
// allocates its uri_auth), which haproxy answers itself in http mode, so
// such a frontend needs no backend.
func (f *HAProxyFrontend) ServesStats() bool {
	return slices.ContainsFunc(f.Options, func(o string) bool {
		w := haproxyWords(o)
		return len(w) >= 2 && w[0] == "stats"
	})
}

// Key identifies a frontend on its host in import IDs.
func (f *HAProxyFrontend) String() string { return fmt.Sprintf("frontend %s", f.Name) }
