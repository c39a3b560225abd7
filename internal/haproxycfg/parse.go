package haproxycfg

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// sectionKeywords start a section wherever they begin a line (haproxy 2.6
// and later additions).
var sectionKeywords = []string{
	"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers",
	"userlist", "mailers", "program", "http-errors", "ring", "cache",
	"log-forward", "fcgi-app", "namespace_list", "crt-store", "traces", "acme",
}

// Parse reads an haproxy.cfg; name is the file name errors and warnings
// give. The configuration is not validated: the caller decides what an
// invalid one means (render.HAProxy and the agent validate it).
func Parse(r io.Reader, name string) (*model.HAProxyConfig, []Warning, error) {
	cfg, warns, _, err := ParseWithLines(r, name)
	return cfg, warns, err
}

// Lines maps the paths of a parsed configuration (frontend[0],
// backend[1].server[0], global.options[2]) to the lines they were read
// from, so that a rule the configuration breaks is reported at file:line.
type Lines map[string]int

// Of is the line of the nearest element of p that was read from the file
// (the section when the element itself is not recorded), or 0.
func (ls Lines) Of(p model.Path) int {
	for n := len(p); n > 0; n-- {
		if no, ok := ls[p[:n].String()]; ok {
			return no
		}
	}
	return 0
}

// ParseWithLines is Parse, also returning where each section, directive
// line, server, bind and rule was read.
func ParseWithLines(r io.Reader, name string) (*model.HAProxyConfig, []Warning, Lines, error) {
	p := &parser{file: name, cfg: &model.HAProxyConfig{}, lines: Lines{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	no := 0
	for sc.Scan() {
		no++
		l, err := splitLine(sc.Text(), no, name)
		if err != nil {
			return nil, p.warns, nil, err
		}
		if len(l.words) == 0 {
			continue
		}
		if err := p.line(l); err != nil {
			return nil, p.warns, nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, p.warns, nil, fmt.Errorf("%s: reading: %w", name, err)
	}
	p.finish()
	return p.cfg, p.warns, p.lines, nil
}

// section path is the model path of the section being read: global,
// defaults, frontend[i], backend[i], listen[i].
func (p *parser) sectionPath() model.Path {
	switch p.sec {
	case secGlobal:
		return model.Path{"global"}
	case secDefaults:
		return model.Path{"defaults"}
	case secFrontend:
		return model.Path{"frontend", len(p.cfg.Frontends)}
	case secBackend:
		return model.Path{"backend", len(p.cfg.Backends)}
	case secListen:
		return model.Path{"listen", len(p.cfg.Listens)}
	case secResolvers:
		return model.Path{"resolvers", len(p.cfg.Resolvers)}
	}
	return nil
}

// mark records that the element at steps below the current section was
// read from l.
func (p *parser) mark(l *line, steps ...any) {
	if sp := p.sectionPath(); sp != nil {
		p.lines[sp.At(steps...).String()] = l.no
	}
}

type sectionKind int

const (
	secNone sectionKind = iota
	secGlobal
	secDefaults
	secFrontend
	secBackend
	secListen
	secResolvers
	secOther
)

type parser struct {
	file  string
	cfg   *model.HAProxyConfig
	warns []Warning

	sec      sectionKind
	front    *model.HAProxyFrontend
	back     *model.HAProxyBackend
	listen   *model.HAProxyListen
	res      *model.HAProxyResolvers
	defaults int // defaults sections seen
	lines    Lines
}

func (p *parser) warn(l *line, format string, a ...any) {
	p.warns = append(p.warns, Warning{File: p.file, Line: l.no, Message: fmt.Sprintf(format, a...)})
}

func (p *parser) errf(l *line, format string, a ...any) error {
	return &Error{File: p.file, Line: l.no, Keyword: l.key(), Message: fmt.Sprintf(format, a...)}
}

func (p *parser) line(l *line) error {
	if strings.HasPrefix(l.key(), ".") {
		return p.errf(l, "conditional blocks and directives (.if, .diag, ...) are not supported: the configuration would depend on haproxy's version and environment")
	}
	if slices.Contains(sectionKeywords, l.key()) {
		return p.section(l)
	}
	switch p.sec {
	case secNone:
		return p.errf(l, "directive outside any section")
	case secGlobal:
		return p.global(l)
	case secDefaults:
		return p.defaultsLine(l)
	case secFrontend:
		return p.frontendLine(l)
	case secBackend:
		return p.backendLine(l, p.back)
	case secListen:
		return p.listenLine(l)
	case secResolvers:
		return p.resolversLine(l)
	}
	return nil // the lines of a section left out
}

func (p *parser) section(l *line) error {
	p.finishSection()
	name := ""
	if len(l.words) > 1 {
		name = l.words[1]
	}
	if len(l.words) > 2 && l.key() != "defaults" {
		p.warn(l, "%s %s: %q after the name is not carried by the model; left out", l.key(), name, strings.Join(l.words[2:], " "))
	}
	switch l.key() {
	case "global":
		p.sec = secGlobal
	case "defaults":
		p.sec = secDefaults
		p.defaults++
		if len(l.words) > 1 {
			p.warn(l, "defaults: the name and options of a defaults section (%s) are not carried by the model; read as the one defaults section", strings.Join(l.words[1:], " "))
		}
		if p.defaults > 1 {
			p.warn(l, "a second defaults section: the model has one; its settings are merged into the first (a later value wins), which is how haproxy applies them to the sections after it only")
		}
	case "resolvers":
		if name == "" {
			return p.errf(l, "needs a name")
		}
		p.sec = secResolvers
		p.res = &model.HAProxyResolvers{Name: name}
	case "frontend", "backend", "listen":
		if name == "" {
			return p.errf(l, "needs a name")
		}
		switch l.key() {
		case "frontend":
			p.sec = secFrontend
			p.front = &model.HAProxyFrontend{Name: name}
		case "backend":
			p.sec = secBackend
			p.back = &model.HAProxyBackend{Name: name}
		default:
			p.sec = secListen
			p.listen = &model.HAProxyListen{HAProxyBackend: model.HAProxyBackend{Name: name}}
		}
	default:
		p.sec = secOther
		p.warn(l, "section %s %s is not carried by the model; left out with every line in it", l.key(), name)
	}
	if _, seen := p.lines[p.sectionPath().String()]; !seen {
		p.mark(l)
	}
	return nil
}

// finishSection stores the section being read.
func (p *parser) finishSection() {
	switch p.sec {
	case secFrontend:
		p.cfg.Frontends = append(p.cfg.Frontends, *p.front)
	case secBackend:
		finishCheck(p.back)
		p.cfg.Backends = append(p.cfg.Backends, *p.back)
	case secListen:
		finishCheck(&p.listen.HAProxyBackend)
		p.cfg.Listens = append(p.cfg.Listens, *p.listen)
	case secResolvers:
		p.cfg.Resolvers = append(p.cfg.Resolvers, *p.res)
	}
	p.front, p.back, p.listen, p.res = nil, nil, nil, nil
	p.sec = secNone
}

// finishCheck gives an httpchk without a request haproxy's default URI.
func finishCheck(b *model.HAProxyBackend) {
	if b.HTTPCheck != nil && b.HTTPCheck.Path == "" {
		b.HTTPCheck.Path = "/"
	}
}

// finish stores the last section. A global "ssl-server-verify none" makes
// "verify none" every TLS server's default; the model has no such global
// default, so such servers get verify none of their own, which haproxy
// reads alike.
func (p *parser) finish() {
	p.finishSection()
	if !slices.ContainsFunc(p.cfg.Global.Options, func(o string) bool { return strings.Join(strings.Fields(o), " ") == "ssl-server-verify none" }) {
		return
	}
	servers := func(b *model.HAProxyBackend) {
		for i := range b.Servers {
			if s := &b.Servers[i]; (s.SSL || s.CheckSSL) && s.Verify == "" {
				s.Verify = "none"
			}
		}
	}
	for i := range p.cfg.Backends {
		servers(&p.cfg.Backends[i])
	}
	for i := range p.cfg.Listens {
		servers(&p.cfg.Listens[i].HAProxyBackend)
	}
}

// option keeps l as one free directive line of the section.
// The line is kept as spelled, with its quotes and escapes: haproxy reads
// it back as it read the file, and the model checks the words haproxy
// reads from it (a value in quotes cannot open a section or a directive).
func (p *parser) option(l *line, opts *[]string) error {
	p.mark(l, "options", len(*opts))
	*opts = append(*opts, l.spelledText())
	return nil
}

func (p *parser) global(l *line) error {
	g := &p.cfg.Global
	args := l.words[1:]
	switch l.key() {
	case "maxconn", "nbthread", "user", "group", "chroot", "uid", "gid":
		p.mark(l, l.key())
	case "log":
		p.mark(l, "log", len(g.Logs))
	case "stats":
		p.mark(l, "stats_socket")
	}
	var err error
	switch l.key() {
	case "maxconn":
		g.Maxconn, err = p.intArg(l)
	case "nbthread":
		g.Nbthread, err = p.intArg(l)
	case "user":
		g.User, err = p.one(l)
	case "group":
		g.Group, err = p.one(l)
	case "uid":
		g.UID, err = p.intArg(l)
	case "gid":
		g.GID, err = p.intArg(l)
	case "chroot":
		g.Chroot, err = p.one(l)
	case "pidfile":
		// Not refused: the line is inert where lvs-agent runs haproxy.
		// haproxy's -p takes precedence over it ("'pidfile' already
		// specified. Continuing."), and haproxy always runs with -p there:
		// lvs-agent starts it with -p /run/haproxy.pid, Debian's
		// haproxy.service and init script with the same path. Honouring
		// the path instead would take a pid file the agent cannot confine
		// (haproxy truncates whatever file is there, as root), that
		// systemd's -p overrides anyway, and that the agent would have to
		// remember to find the old master when the line changes.
		if len(args) != 1 {
			return p.errf(l, "takes one path")
		}
		p.warn(l, "pidfile %s is left out: lvs-agent starts haproxy with -p /run/haproxy.pid, as Debian's haproxy.service does, "+
			"and haproxy's -p takes precedence over a pidfile line (haproxy ignores the line with an alert), so the master's pid is "+
			"in /run/haproxy.pid; tools that read %s should read that file", args[0], args[0])
		return nil
	case "log":
		if lg, ok := logTarget(args); ok {
			g.Logs = append(g.Logs, lg)
			return nil
		}
		return p.option(l, &g.Options)
	case "stats":
		if len(args) >= 2 && args[0] == "socket" && strings.HasPrefix(args[1], "/") && g.StatsSocket == "" {
			g.StatsSocket = args[1]
			var dropped []string
			for i := 2; i < len(args); i++ {
				switch args[i] {
				case "mode", "level", "expose-fd":
					if i+1 < len(args) {
						if v := args[i] + " " + args[i+1]; v != "mode 660" && v != "level admin" && v != "expose-fd listeners" {
							dropped = append(dropped, v)
						}
						i++
					}
				default:
					dropped = append(dropped, args[i])
				}
			}
			if len(dropped) > 0 {
				p.warn(l, "stats socket %s: %q is not carried by the model; the socket is rendered with mode 660 level admin expose-fd listeners", args[1], strings.Join(dropped, " "))
			}
			return nil
		}
		return p.option(l, &g.Options)
	default:
		return p.option(l, &g.Options)
	}
	return err
}

// logTarget reads "ADDRESS FACILITY [LEVEL]" (the form the model holds).
func logTarget(args []string) (model.HAProxyLog, bool) {
	if len(args) < 2 || len(args) > 3 || !slices.Contains(model.HAProxyLogFacilities, args[1]) {
		return model.HAProxyLog{}, false
	}
	lg := model.HAProxyLog{Address: args[0], Facility: args[1]}
	if len(args) == 3 {
		if !slices.Contains(model.HAProxyLogLevels, args[2]) {
			return model.HAProxyLog{}, false
		}
		lg.Level = args[2]
	}
	return lg, true
}

func (p *parser) defaultsLine(l *line) error {
	d := &p.cfg.Defaults
	args := l.words[1:]
	var err error
	switch l.key() {
	case "mode":
		d.Mode, err = p.one(l)
	case "maxconn":
		d.Maxconn, err = p.intArg(l)
	case "retries":
		d.Retries, err = p.intArg(l)
	case "balance":
		algo, arg, ok := balanceOf(args)
		if !ok || l.quoted {
			// A backend without its own balance line would balance
			// otherwise: never left out with a warning.
			return p.errf(l, "defaults: \"balance %s\" is not an algorithm the model carries (%s); give each backend its balance line instead before importing",
				strings.Join(args, " "), strings.Join(model.HAProxyBalances, ", "))
		}
		d.Balance, d.BalanceArg = algo, arg
	case "timeout":
		ok, terr := p.timeout(l, &d.Timeouts)
		if terr != nil {
			return terr
		}
		if !ok {
			p.warn(l, "defaults: \"timeout %s\" is not carried by the model; left out", strings.Join(args, " "))
		}
	case "log":
		if len(args) == 1 && args[0] == "global" {
			d.LogGlobal = true
		} else {
			p.warn(l, "defaults: log targets other than \"log global\" are not carried by the model; left out")
		}
	case "option":
		switch {
		case len(args) == 0:
			return p.errf(l, "needs an option name")
		case len(args) == 1 && args[0] == "redispatch":
			d.Redispatch = true
		case l.quoted:
			p.warn(l, "defaults: option with quotes or backslashes is not carried by the model; left out")
		default:
			d.Options = append(d.Options, strings.Join(args, " "))
		}
	default:
		// The keyword only: the line may hold a secret (stats auth).
		p.warn(l, "defaults: %q is not carried by the model (its defaults hold mode, maxconn, retries, timeouts, log global and options); left out", l.key())
	}
	return err
}

func (p *parser) frontendLine(l *line) error {
	f := p.front
	args := l.words[1:]
	var err error
	switch l.key() {
	case "bind":
		var bs []model.HAProxyBind
		if bs, err = p.bind(l); err == nil {
			for k := range bs {
				p.mark(l, "bind", len(f.Binds)+k)
			}
			f.Binds = append(f.Binds, bs...)
		}
	case "mode":
		f.Mode, err = p.one(l)
	case "maxconn":
		f.Maxconn, err = p.intArg(l)
	case "default_backend":
		p.mark(l, "default_backend")
		f.DefaultBackend, err = p.one(l)
		if strings.Contains(f.DefaultBackend, "%[") {
			return p.errf(l, "a backend name computed from the request (%s) is not carried by the model, which routes to named backends only; rewrite it as use_backend rules before importing", f.DefaultBackend)
		}
	case "acl":
		if len(args) < 2 || l.quoted {
			return p.option(l, &f.Options)
		}
		p.mark(l, "acl", len(f.ACLs))
		f.ACLs = append(f.ACLs, model.HAProxyACL{Name: args[0], Criterion: strings.Join(args[1:], " ")})
	case "use_backend":
		switch {
		case l.quoted:
			return p.errf(l, "uses quotes or backslashes, which the model refuses in routing rules; rewrite the rule without them before importing")
		case len(args) == 0:
			return p.errf(l, "needs a backend")
		case strings.Contains(args[0], "%["):
			return p.errf(l, "a backend name computed from the request (%s) is not carried by the model, which routes to named backends only; rewrite it as one use_backend rule per backend before importing", args[0])
		case len(args) == 1:
			// Unconditional: it always matches, as "if TRUE" does.
			p.mark(l, "use_backend", len(f.UseBackends))
			f.UseBackends = append(f.UseBackends, model.HAProxyUseBackend{Backend: args[0], Cond: "if", Condition: "TRUE"})
			return nil
		case len(args) >= 3 && (args[1] == "if" || args[1] == "unless"):
			p.mark(l, "use_backend", len(f.UseBackends))
			f.UseBackends = append(f.UseBackends, model.HAProxyUseBackend{Backend: args[0], Cond: args[1], Condition: strings.Join(args[2:], " ")})
			return nil
		}
		return p.errf(l, "use_backend %s: %q is not \"if <condition>\" or \"unless <condition>\"", args[0], strings.Join(args[1:], " "))
	case "timeout":
		ok, terr := p.timeout(l, &f.Timeouts)
		if terr != nil || ok {
			return terr
		}
		return p.option(l, &f.Options)
	default:
		return p.option(l, &f.Options)
	}
	return err
}

// resolversLine reads a line of a resolvers section. A nameserver the
// model cannot hold is refused (servers would resolve through fewer
// servers); settings that only tune failure cases are left out with a
// warning.
func (p *parser) resolversLine(l *line) error {
	r := p.res
	args := l.words[1:]
	if l.quoted {
		return p.errf(l, "resolvers %s: quotes or backslashes are not carried by the model; write the line plainly before importing", r.Name)
	}
	var err error
	switch l.key() {
	case "nameserver":
		if len(args) != 2 {
			return p.errf(l, "resolvers %s: nameserver takes a name and an address", r.Name)
		}
		a := strings.TrimPrefix(args[1], "udp@")
		ap, perr := netip.ParseAddrPort(a)
		if perr != nil {
			addr, aerr := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"))
			if aerr != nil {
				return p.errf(l, "resolvers %s: nameserver %s: %q is not an IP address and port (the model holds UDP nameservers by address only)", r.Name, args[0], args[1])
			}
			ap = netip.AddrPortFrom(addr, 53)
		}
		p.mark(l, "nameservers", len(r.Nameservers))
		r.Nameservers = append(r.Nameservers, ap)
	case "parse-resolv-conf":
		r.ParseResolvConf = true
	case "resolve_retries":
		r.ResolveRetries, err = p.intArg(l)
	case "accepted_payload_size":
		r.AcceptedPayloadSize, err = p.intArg(l)
	case "timeout", "hold":
		var dst *int
		switch {
		case len(args) == 2 && l.key() == "timeout" && args[0] == "resolve":
			dst = &r.TimeoutResolve
		case len(args) == 2 && l.key() == "timeout" && args[0] == "retry":
			dst = &r.TimeoutRetry
		case len(args) == 2 && l.key() == "hold" && args[0] == "valid":
			dst = &r.HoldValid
		default:
			p.warn(l, "resolvers %s: %q is not carried by the model (it holds timeout resolve, timeout retry and hold valid); left out, haproxy's default applies", r.Name, strings.Join(l.words, " "))
			return nil
		}
		ms, merr := millis(args[1])
		if merr != nil {
			return p.errf(l, "%v", merr)
		}
		*dst = ms
	default:
		p.warn(l, "resolvers %s: %q is not carried by the model; left out", r.Name, l.key())
	}
	return err
}

func (p *parser) listenLine(l *line) error {
	switch l.key() {
	case "bind":
		bs, err := p.bind(l)
		for k := range bs {
			p.mark(l, "bind", len(p.listen.Binds)+k)
		}
		p.listen.Binds = append(p.listen.Binds, bs...)
		return err
	case "maxconn":
		var err error
		p.listen.Maxconn, err = p.intArg(l)
		return err
	}
	return p.backendLine(l, &p.listen.HAProxyBackend)
}

func (p *parser) backendLine(l *line, b *model.HAProxyBackend) error {
	args := l.words[1:]
	var err error
	switch l.key() {
	case "mode":
		b.Mode, err = p.one(l)
	case "balance":
		if algo, arg, ok := balanceOf(args); ok && !l.quoted {
			p.mark(l, "balance")
			b.Balance, b.BalanceArg = algo, arg
			return nil
		}
		return p.option(l, &b.Options)
	case "server":
		var s model.HAProxyServer
		if s, err = p.server(l); err == nil {
			p.mark(l, "server", len(b.Servers))
			b.Servers = append(b.Servers, s)
		}
	case "option":
		if len(args) >= 1 && args[0] == "httpchk" && b.HTTPCheck == nil {
			return p.httpchk(l, b)
		}
		return p.option(l, &b.Options)
	case "http-check":
		if b.HTTPCheck != nil && p.httpCheckLine(l, b.HTTPCheck) {
			return nil
		}
		return p.option(l, &b.Options)
	case "timeout":
		ok, terr := p.timeout(l, &b.Timeouts)
		if terr != nil || ok {
			return terr
		}
		return p.option(l, &b.Options)
	default:
		return p.option(l, &b.Options)
	}
	return err
}

// balanceOf reads the arguments of a balance line the model carries:
// an algorithm alone, hdr(NAME), random(DRAWS), rdp-cookie(NAME),
// url_param NAME, hash EXPR.
func balanceOf(args []string) (algo, arg string, ok bool) {
	switch {
	case len(args) == 1:
		algo, rest, paren := strings.Cut(args[0], "(")
		if paren {
			if !strings.HasSuffix(rest, ")") || rest == ")" {
				return "", "", false
			}
			arg = strings.TrimSuffix(rest, ")")
			if algo != "hdr" && algo != "random" && algo != "rdp-cookie" {
				return "", "", false
			}
			return algo, arg, true
		}
		if !slices.Contains(model.HAProxyBalances, algo) || algo == "hdr" || algo == "url_param" || algo == "hash" {
			return "", "", false
		}
		return algo, "", true
	case len(args) == 2 && (args[0] == "url_param" || args[0] == "hash"):
		return args[0], args[1], true
	}
	return "", "", false
}

// httpchk reads "option httpchk [[METHOD] URI [VERSION]]".
func (p *parser) httpchk(l *line, b *model.HAProxyBackend) error {
	args := l.words[2:]
	h := &model.HAProxyHTTPCheck{}
	switch len(args) {
	case 0:
	case 1:
		h.Path = args[0]
	case 2, 3:
		h.Method, h.Path = args[0], args[1]
		if len(args) == 3 {
			ver, rest, _ := strings.Cut(args[2], "\r\n")
			if ver != "HTTP/1.0" && ver != "HTTP/1.1" {
				return p.errf(l, "httpchk version %q is not HTTP/1.0 or HTTP/1.1", ver)
			}
			for _, hdr := range strings.Split(rest, "\r\n") {
				if hdr == "" {
					continue
				}
				name, val, _ := strings.Cut(hdr, ":")
				if strings.EqualFold(strings.TrimSpace(name), "host") {
					h.Host = strings.TrimSpace(val)
				} else {
					p.warn(l, "option httpchk: the header %q is not carried by the model; left out", strings.TrimSpace(hdr))
				}
			}
		}
	default:
		return p.errf(l, "option httpchk takes at most a method, a URI and a version")
	}
	b.HTTPCheck = h
	return nil
}

var statusRE = regexp.MustCompile(`^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$`)

// httpCheckLine reads "http-check send ..." and "http-check expect status
// X" into h; false when the line says more than the model holds.
func (p *parser) httpCheckLine(l *line, h *model.HAProxyHTTPCheck) bool {
	args := l.words[1:]
	if l.quoted || len(args) == 0 {
		return false
	}
	switch args[0] {
	case "send":
		var meth, uri, ver, host string
		for i := 1; i < len(args); i++ {
			if i+1 >= len(args) {
				return false
			}
			switch args[i] {
			case "meth":
				meth = args[i+1]
			case "uri":
				uri = args[i+1]
			case "ver":
				ver = args[i+1]
			case "hdr":
				if i+2 >= len(args) || !strings.EqualFold(args[i+1], "host") {
					return false
				}
				host = args[i+2]
				i++
			default:
				return false
			}
			i++
		}
		if ver != "" && ver != "HTTP/1.1" && ver != "HTTP/1.0" {
			return false
		}
		if ver == "HTTP/1.1" && host == "" {
			p.warn(l, "http-check send: HTTP/1.1 without a Host header is rendered as HTTP/1.0 (the model sends HTTP/1.1 only with a host)")
		}
		h.Method, h.Path, h.Host = meth, uri, host
		return true
	case "expect":
		if len(args) == 3 && args[1] == "status" && statusRE.MatchString(args[2]) && h.ExpectStatus == "" {
			h.ExpectStatus = args[2]
			return true
		}
	}
	return false
}

// timeout reads "timeout NAME VALUE" into t; false for a timeout the model
// has no field for.
func (p *parser) timeout(l *line, t *model.HAProxyTimeouts) (bool, error) {
	args := l.words[1:]
	if len(args) != 2 {
		return false, nil
	}
	fields := map[string]*int{
		"connect": &t.Connect, "client": &t.Client, "server": &t.Server, "queue": &t.Queue,
		"http-request": &t.HTTPRequest, "http-keep-alive": &t.HTTPKeepAlive, "check": &t.Check,
		"tunnel": &t.Tunnel, "client-fin": &t.ClientFin, "server-fin": &t.ServerFin,
	}
	f, ok := fields[args[0]]
	if !ok {
		return false, nil
	}
	ms, err := millis(args[1])
	if err != nil {
		return false, p.errf(l, "%v", err)
	}
	*f = ms
	return true, nil
}

// millis reads an haproxy time (default unit ms; us, ms, s, m, h, d).
func millis(s string) (int, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a time", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time: %w", s, err)
	}
	mult := map[string]int64{"": 1, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
	unit := s[i:]
	if unit == "us" {
		if n%1000 != 0 {
			return 0, fmt.Errorf("%q is not a whole number of milliseconds, which the model holds", s)
		}
		return int(n / 1000), nil
	}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("%q has an unknown time unit", s)
	}
	if n*m > 2147483647 {
		return 0, fmt.Errorf("%q is longer than haproxy accepts", s)
	}
	return int(n * m), nil
}

// bind reads "bind ADDR:PORT[,ADDR:PORT...] [options]".
func (p *parser) bind(l *line) ([]model.HAProxyBind, error) {
	args := l.words[1:]
	if len(args) == 0 {
		return nil, p.errf(l, "needs an address and port")
	}
	if l.spelled[1] != args[0] {
		return nil, p.errf(l, "the address %s uses quotes or backslashes, which the model does not carry in an address; write it plainly before importing", l.spelled[1])
	}
	// The options as spelled: haproxy reads their quotes as it read the file.
	opts := strings.Join(l.spelled[2:], " ")
	var out []model.HAProxyBind
	for _, a := range strings.Split(args[0], ",") {
		addr, port, err := parseAddrPort(a, true)
		if err != nil {
			return nil, p.errf(l, "%v", err)
		}
		out = append(out, model.HAProxyBind{Address: addr, Port: port, Options: opts})
	}
	return out, nil
}

// parseAddrPort reads ADDR:PORT as haproxy writes it ([v6]:port, v6:port
// with the port after the last colon, :port or *:port for every address
// when anyAddr is true).
func parseAddrPort(s string, anyAddr bool) (netip.Addr, int, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "ipv4@"), "ipv6@")
	if strings.Contains(s, "@") || strings.HasPrefix(s, "/") {
		return netip.Addr{}, 0, fmt.Errorf("%q is not an IP address and port; the model holds those only", s)
	}
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return netip.Addr{}, 0, fmt.Errorf("%q has no port; the model needs one", s)
	}
	host, portStr := s[:i], s[i+1:]
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return netip.Addr{}, 0, fmt.Errorf("%q: port %q is not a single port from 1 to 65535 (ranges and offsets are not carried by the model)", s, portStr)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || host == "*" {
		if !anyAddr {
			return netip.Addr{}, 0, fmt.Errorf("%q has no address", s)
		}
		return netip.Addr{}, port, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q: %q is not an IP address (the model holds addresses, not host names)", s, host)
	}
	return a, port, nil
}

// parseServerAddr reads a server's ADDR:PORT, or a port-less address
// (10.0.0.1, [2001:db8::1]), which keeps the client's destination port,
// or a host name with or without a port (app.example.com:8080). An IPv6
// address without brackets is read as haproxy reads it, its last group a
// port, so only the bracketed form is port-less.
func parseServerAddr(s string) (netip.Addr, string, int, error) {
	bare := strings.TrimPrefix(strings.TrimPrefix(s, "ipv4@"), "ipv6@")
	if strings.HasPrefix(bare, "[") && strings.HasSuffix(bare, "]") {
		a, err := netip.ParseAddr(bare[1 : len(bare)-1])
		if err != nil {
			return netip.Addr{}, "", 0, fmt.Errorf("%q is not an IP address", s)
		}
		return a, "", 0, nil
	}
	host, port := bare, 0
	if i := strings.LastIndex(bare, ":"); i >= 0 && strings.Count(bare, ":") == 1 {
		var err error
		host = bare[:i]
		if port, err = strconv.Atoi(bare[i+1:]); err != nil || port < 1 || port > 65535 {
			return netip.Addr{}, "", 0, fmt.Errorf("%q: port %q is not a single port from 1 to 65535 (ranges and offsets are not carried by the model)", s, bare[i+1:])
		}
	} else if strings.Contains(bare, ":") {
		a, p, err := parseAddrPort(s, false)
		return a, "", p, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return netip.Addr{}, "", 0, fmt.Errorf("%q is not an IP address", s)
		}
		return a, "", port, nil
	}
	if !model.IsRFC1123Hostname(host) {
		return netip.Addr{}, "", 0, fmt.Errorf("%q is not %s", host, model.HostnameRule)
	}
	if bare != s {
		return netip.Addr{}, "", 0, fmt.Errorf("%q: an address family prefix on a host name is not carried by the model (resolve_prefer chooses the family)", s)
	}
	return netip.Addr{}, host, port, nil
}

// serverArgs are the server keywords that take one argument, so that the
// argument stays with its keyword in Options.
var serverArgs = map[string]bool{
	"addr": true, "agent-addr": true, "agent-inter": true, "agent-port": true, "agent-send": true,
	"alpn": true, "ca-file": true, "check-alpn": true, "check-proto": true, "check-sni": true,
	"ciphers": true, "ciphersuites": true, "cookie": true, "crl-file": true, "crt": true,
	"downinter": true, "error-limit": true, "fastinter": true, "id": true, "init-addr": true,
	"log-proto": true, "max-reuse": true, "maxqueue": true, "minconn": true, "namespace": true,
	"npn": true, "observe": true, "on-error": true, "on-marked-down": true, "on-marked-up": true,
	"pool-low-conn": true, "pool-max-conn": true, "pool-purge-delay": true, "port": true,
	"proto": true, "redir": true, "resolve-net": true, "resolve-opts": true, "resolve-prefer": true,
	"resolvers": true, "send-proxy-v2-options": true, "shard": true, "slowstart": true, "sni": true,
	"source": true, "ssl-max-ver": true, "ssl-min-ver": true, "tcp-ut": true, "track": true,
	"verify": true, "verifyhost": true, "ws": true, "curves": true, "sigalgs": true,
	"client-sigalgs": true, "usesrc": true, "interface": true, "set-proxy-v2-tlv-fmt": true,
}

// server reads "server NAME ADDR:PORT [params]".
func (p *parser) server(l *line) (model.HAProxyServer, error) {
	args := l.words[1:]
	var s model.HAProxyServer
	if len(args) < 2 {
		return s, p.errf(l, "needs a name and an address with port")
	}
	// The model's own keywords and values must be plain words; what goes
	// into the free options is kept as spelled.
	spelled := l.spelled[1:]
	s.Name = args[0]
	a, host, port, err := parseServerAddr(args[1])
	if err != nil {
		return s, p.errf(l, "server %s: %v", s.Name, err)
	}
	s.Address, s.Hostname, s.Port = a, host, port
	var opts []string
	num := func(i int, dst *int, ms bool) error {
		if i+1 >= len(args) {
			return p.errf(l, "server %s: %s needs a value", s.Name, args[i])
		}
		var v int
		var err error
		if ms {
			v, err = millis(args[i+1])
		} else {
			v, err = strconv.Atoi(args[i+1])
		}
		if err != nil {
			return p.errf(l, "server %s: %s %q is not a number", s.Name, args[i], args[i+1])
		}
		*dst = v
		return nil
	}
	for i := 2; i < len(args); i++ {
		var err error
		switch args[i] {
		case "check":
			s.Check = true
			continue
		case "backup":
			s.Backup = true
			continue
		case "inter":
			err = num(i, &s.Inter, true)
		case "fall":
			err = num(i, &s.Fall, false)
		case "rise":
			err = num(i, &s.Rise, false)
		case "maxconn":
			err = num(i, &s.Maxconn, false)
		case "maxqueue":
			err = num(i, &s.Maxqueue, false)
		case "slowstart":
			err = num(i, &s.Slowstart, true)
		case "port":
			err = num(i, &s.CheckPort, false)
		case "addr":
			if i+1 >= len(args) {
				return s, p.errf(l, "server %s: addr needs a value", s.Name)
			}
			a, aerr := netip.ParseAddr(args[i+1])
			if aerr != nil {
				return s, p.errf(l, "server %s: addr %q is not an IP address (the model holds addresses, not host names)", s.Name, args[i+1])
			}
			s.CheckAddr = a
		case "send-proxy":
			s.SendProxy = true
			continue
		case "send-proxy-v2":
			s.SendProxyV2 = true
			continue
		case "ssl":
			s.SSL = true
			continue
		case "check-ssl":
			s.CheckSSL = true
			continue
		case "agent-check":
			s.AgentCheck = true
			continue
		case "agent-port":
			err = num(i, &s.AgentPort, false)
		case "agent-inter":
			err = num(i, &s.AgentInter, true)
		case "resolvers", "resolve-prefer", "init-addr", "verify", "ca-file", "sni", "verifyhost":
			if i+1 >= len(args) {
				return s, p.errf(l, "server %s: %s needs a value", s.Name, args[i])
			}
			dst := map[string]*string{"resolvers": &s.Resolvers, "resolve-prefer": &s.ResolvePrefer,
				"verify": &s.Verify, "ca-file": &s.CAFile, "sni": &s.SNI, "verifyhost": &s.VerifyHost}[args[i]]
			if dst != nil {
				*dst = args[i+1]
			} else {
				s.InitAddr = strings.Split(args[i+1], ",")
			}
		case "weight":
			var w int
			err = num(i, &w, false)
			s.Weight = &w
		default:
			opts = append(opts, spelled[i])
			if serverArgs[args[i]] && i+1 < len(args) {
				opts = append(opts, spelled[i+1])
				i++
			}
			continue
		}
		if spelled[i] != args[i] || (i+1 < len(args) && spelled[i+1] != args[i+1]) {
			return s, p.errf(l, "server %s: %s %s uses quotes or backslashes, which the model does not carry in its server settings; write them plainly before importing", s.Name, spelled[i], spelled[min(i+1, len(args)-1)])
		}
		if err != nil {
			return s, err
		}
		i++
	}
	s.Options = strings.Join(opts, " ")
	return s, nil
}

func (p *parser) one(l *line) (string, error) {
	if len(l.words) < 2 {
		return "", p.errf(l, "needs a value")
	}
	if len(l.words) > 2 {
		p.warn(l, "%s: %q after the value is not carried by the model; left out", l.key(), strings.Join(l.words[2:], " "))
	}
	return l.words[1], nil
}

func (p *parser) intArg(l *line) (int, error) {
	s, err := p.one(l)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, p.errf(l, "%q is not a whole number", s)
	}
	return v, nil
}
