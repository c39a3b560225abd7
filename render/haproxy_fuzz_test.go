package render

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// FuzzHAProxy proves that no string a user can set adds a directive or a
// section to haproxy.cfg. Fuzzed strings go into names, options, ACL
// criteria and conditions, bind and server options, log addresses, paths,
// host names and enumerated values, one group of fields at a time and all
// at once. Whenever the model accepts the result, the rendered file must
// split, the way haproxy reads it, into exactly the model's sections, and
// each line must start with a keyword the renderer emits in that section;
// the Options fields, which exist to let users add a directive line each,
// must each appear as exactly one whole line.
func FuzzHAProxy(f *testing.F) {
	nasty := []string{
		"", " ", "\n", "#", "x # y", `"`, "'", `\`, "x\\", "\n frontend evil", "x\nbackend evil",
		"frontend evil", "  listen evil", "defaults", "global", ".if 0", ".endif", "${HOME}",
		"x\r\nlisten evil", "a\tb", "\x00", "!", "is_api !x", "é", "{ src 1.2.3.4 }", "ring r",
		"peers p", "userlist u", "namespace_list", "option httplog", "server evil 1.2.3.4:80",
		// haproxy's quoting, which free text may use.
		`"global"`, `'frontend' evil`, `\global`, `glo"bal"`, `x "$HOME"`, `x "a`, `x 'a`, `x \`, `x \# y`,
		`stats realm HAProxy\ Statistics`, `http-response set-header X "a b"`, `x '#' "#"`, `x "\n frontend evil"`,
		"http-request redirect scheme https code 301 if !{ ssl_fc }", `"stats" socket /etc/passwd`, `x '..'/etc`,
	}
	for _, s := range nasty {
		f.Add(s, s, s, s, s, s, s, s, s, s, 0)
	}
	f.Add("web", "option forwardfor", "path_beg /api", "is_api", "v6only", "send-proxy",
		"/dev/log", "/var/lib/haproxy/run", "example.com", "http", 2)
	f.Add("a:b.c-d", "http-request deny if !is_api", "src 10.0.0.0/8", "!is_api || TRUE",
		"ssl crt /etc/x.pem", "ssl verify none", "127.0.0.1:514", "/var/lib/haproxy",
		"h_1.example", "hdr", 65535)
	f.Add("dc1", "x", "x", "x", "x", "alpn h2", "/dev/log", "/etc/ssl/certs/ca.pem",
		"app1.example.com", "none", 512)
	f.Add("dc1", "x", "x", "x", "x", "x", "/dev/log", "/etc/ssl/certs/ca.pem",
		"app1.example.com", "required", 8080)
	f.Add("dc1", "x", "x", "x", "x", "x", "/dev/log", "/etc/haproxy/ca.pem",
		"app1.example.com\nbackend evil", "ipv4", 1)

	f.Fuzz(func(t *testing.T, name, option, criterion, condition, bindOpt, serverOpt, logAddr, path, host, word string, n int) {
		in := fuzzInput{name, option, criterion, condition, bindOpt, serverOpt, logAddr, path, host, word, n}
		variants := [][]fuzzGroup{fuzzGroups}
		for _, g := range fuzzGroups {
			variants = append(variants, []fuzzGroup{g})
		}
		for _, groups := range variants {
			cfg := fuzzBase()
			for _, g := range groups {
				g.apply(cfg, &in)
			}
			out, err := HAProxy(cfg)
			if err != nil {
				var errs model.Errors
				if !errors.As(err, &errs) || out != "" {
					t.Fatalf("a refused model must give model.Errors and no text; got %T %v and %q", err, err, out)
				}
				continue
			}
			if err := checkRendered(cfg, out); err != nil {
				t.Fatalf("fields %s: %v\n%s", groupNames(groups), err, numbered(out))
			}
		}
	})
}

type fuzzInput struct {
	name, option, criterion, condition, bindOpt, serverOpt, logAddr, path, host, word string
	n                                                                                 int
}

// fuzzGroup puts fuzzed values into related fields of a configuration.
type fuzzGroup struct {
	name  string
	apply func(c *model.HAProxyConfig, in *fuzzInput)
}

var fuzzGroups = []fuzzGroup{
	{"proxy names", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Frontends[0].Name = in.name
		c.Backends[0].Name = in.name
		c.Frontends[0].DefaultBackend = in.name
		c.Listens[0].Name = in.name + "-l"
	}},
	{"server name", func(c *model.HAProxyConfig, in *fuzzInput) { c.Backends[0].Servers[0].Name = in.name }},
	{"acl name", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Frontends[0].ACLs[0].Name = in.name
		c.Frontends[0].UseBackends[0].Condition = in.name
	}},
	{"user and group", func(c *model.HAProxyConfig, in *fuzzInput) { c.Global.User, c.Global.Group = in.name, in.name }},
	{"balance arg", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Backends[0].Balance, c.Backends[0].BalanceArg = "hdr", in.name
		c.Listens[0].Balance, c.Listens[0].BalanceArg = "url_param", in.name
	}},
	{"options", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Global.Options = append(c.Global.Options, in.option)
		c.Defaults.Options = append(c.Defaults.Options, in.option)
		c.Frontends[0].Options = append(c.Frontends[0].Options, in.option)
		c.Backends[1].Options = append(c.Backends[1].Options, in.option)
		c.Listens[0].Options = append(c.Listens[0].Options, in.option)
	}},
	{"acl criterion", func(c *model.HAProxyConfig, in *fuzzInput) { c.Frontends[0].ACLs[0].Criterion = in.criterion }},
	{"condition", func(c *model.HAProxyConfig, in *fuzzInput) { c.Frontends[0].UseBackends[1].Condition = in.condition }},
	{"bind options", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Frontends[0].Binds[0].Options = in.bindOpt
		c.Listens[0].Binds[0].Options = in.bindOpt
	}},
	{"server options", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Backends[0].Servers[0].Options = in.serverOpt
		c.Listens[0].Servers[0].Options = in.serverOpt
	}},
	{"log address", func(c *model.HAProxyConfig, in *fuzzInput) { c.Global.Logs[0].Address = in.logAddr }},
	{"paths", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Global.Chroot, c.Global.StatsSocket = in.path, in.path
		c.Backends[0].HTTPCheck.Path = in.path
	}},
	{"check host", func(c *model.HAProxyConfig, in *fuzzInput) { c.Backends[0].HTTPCheck.Host = in.host }},
	{"log facility and level", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Global.Logs[0].Facility, c.Global.Logs[1].Level = in.word, in.word
	}},
	{"modes", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Defaults.Mode, c.Frontends[0].Mode, c.Backends[0].Mode, c.Backends[1].Mode = in.word, in.word, in.word, in.word
	}},
	{"balance", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Backends[1].Balance = in.word
		if in.word == "hdr" || in.word == "url_param" {
			c.Backends[1].BalanceArg = "X-Key"
		}
	}},
	{"rule cond", func(c *model.HAProxyConfig, in *fuzzInput) { c.Frontends[0].UseBackends[0].Cond = in.word }},
	{"check method and status", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Backends[0].HTTPCheck.Method = in.word
		c.Listens[0].HTTPCheck = &model.HAProxyHTTPCheck{Path: "/", ExpectStatus: in.word}
	}},
	{"server host name", func(c *model.HAProxyConfig, in *fuzzInput) {
		s := &c.Backends[0].Servers[0]
		s.Address, s.Hostname = netip.Addr{}, in.host
		c.Listens[0].Servers[0].Address, c.Listens[0].Servers[0].Hostname = netip.Addr{}, in.name
	}},
	{"resolvers name", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Resolvers[0].Name = in.name
		s := &c.Backends[0].Servers[0]
		s.Address, s.Hostname, s.Resolvers = netip.Addr{}, "app.example.com", in.name
	}},
	{"resolve prefer and init addr", func(c *model.HAProxyConfig, in *fuzzInput) {
		s := &c.Backends[0].Servers[0]
		s.Address, s.Hostname, s.ResolvePrefer, s.InitAddr = netip.Addr{}, "app.example.com", in.word, []string{in.word, in.host}
	}},
	{"server tls", func(c *model.HAProxyConfig, in *fuzzInput) {
		s := &c.Backends[0].Servers[0]
		s.SSL, s.CheckSSL, s.Verify, s.CAFile, s.SNI, s.VerifyHost = true, true, in.word, in.path, in.word, in.host
	}},
	{"numbers", func(c *model.HAProxyConfig, in *fuzzInput) {
		c.Global.Maxconn, c.Global.Nbthread, c.Defaults.Retries = in.n, in.n, in.n
		c.Defaults.Timeouts.Tunnel, c.Frontends[0].Timeouts.Client = in.n, in.n
		s := &c.Backends[0].Servers[0]
		s.Weight, s.Inter, s.Fall, s.Rise, s.Maxconn, s.Port = &in.n, in.n, in.n, in.n, in.n, in.n
		s.AgentCheck, s.AgentPort, s.AgentInter = true, in.n, in.n
		c.Frontends[0].Binds[1].Port = in.n
		r := &c.Resolvers[0]
		r.ResolveRetries, r.TimeoutResolve, r.HoldValid, r.AcceptedPayloadSize = in.n, in.n, in.n, in.n
	}},
}

func groupNames(groups []fuzzGroup) string {
	if len(groups) == len(fuzzGroups) {
		return "all"
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.name
	}
	return strings.Join(names, ", ")
}

// fuzzBase is a valid configuration with every kind of line.
func fuzzBase() *model.HAProxyConfig {
	return &model.HAProxyConfig{
		Global: model.HAProxyGlobal{
			Maxconn: 100, Nbthread: 1, User: "haproxy", Group: "haproxy", Chroot: "/var/lib/haproxy",
			Logs: []model.HAProxyLog{
				{Address: "/dev/log", Facility: "local0"},
				{Address: "127.0.0.1:514", Facility: "local1", Level: "notice"},
			},
			Options: []string{"hard-stop-after 30s"},
		},
		Resolvers: []model.HAProxyResolvers{{
			Name: "dns", Nameservers: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:53")}, ParseResolvConf: true,
		}},
		Defaults: model.HAProxyDefaults{
			Mode: "http", LogGlobal: true, Redispatch: true, Retries: 3, Maxconn: 50,
			Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 5000, Server: 5000},
			Options:  []string{"httplog"},
		},
		Frontends: []model.HAProxyFrontend{{
			Name:  "www",
			Binds: []model.HAProxyBind{{Address: netip.MustParseAddr("192.0.2.1"), Port: 80}, {Port: 8080}},
			Mode:  "http", Maxconn: 10,
			ACLs: []model.HAProxyACL{{Name: "is_api", Criterion: "path_beg /api"}},
			UseBackends: []model.HAProxyUseBackend{
				{Backend: "admin", Condition: "is_api"},
				{Backend: "admin", Cond: "unless", Condition: "TRUE"},
			},
			DefaultBackend: "web",
			Timeouts:       model.HAProxyTimeouts{HTTPRequest: 1000},
			Options:        []string{"option forwardfor"},
		}},
		Backends: []model.HAProxyBackend{
			{
				Name: "web", Mode: "http", Balance: "roundrobin",
				HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/", Host: "example.com", ExpectStatus: "200"},
				Timeouts:  model.HAProxyTimeouts{Server: 1000},
				Servers: []model.HAProxyServer{{Name: "web1", Address: netip.MustParseAddr("10.0.0.1"), Port: 80,
					Weight: new(int), Check: true, Inter: 1000, Fall: 2, Rise: 2, Backup: true, Maxconn: 5, Options: "send-proxy"}},
			},
			{Name: "admin", Options: []string{"http-reuse safe"}},
		},
		Listens: []model.HAProxyListen{{
			HAProxyBackend: model.HAProxyBackend{Name: "db", Mode: "tcp", Servers: []model.HAProxyServer{
				{Name: "db1", Address: netip.MustParseAddr("2001:db8::1"), Port: 5432},
			}},
			Binds:   []model.HAProxyBind{{Address: netip.MustParseAddr("2001:db8::2"), Port: 5432}},
			Maxconn: 10,
		}},
	}
}

// cfgSection is one section of a haproxy.cfg as haproxy reads it: its
// header line and its body lines without their indentation.
type cfgSection struct {
	header string
	lines  []string
}

// haproxySections are the keywords that open a section of haproxy.cfg
// wherever they start a line, indented or not (haproxy 2.6 and later).
// Written out here rather than taken from the model, which this test checks.
var haproxySections = []string{
	"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist",
	"mailers", "program", "http-errors", "ring", "cache", "log-forward", "fcgi-app",
	"namespace_list", "crt-store", "traces", "acme",
}

// parseHAProxyCfg splits text into sections the way haproxy does, and
// refuses what haproxy would read differently from the way the file looks:
// comment, quote and escape characters anywhere but the marker line,
// non-printable characters, and body lines not indented by four spaces.
func parseHAProxyCfg(text string) ([]cfgSection, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("the file does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != ManagedMarker {
		return nil, fmt.Errorf("line 1 is %q, not the managed marker", lines[0])
	}
	var secs []cfgSection
	for i, l := range lines[1:] {
		no := i + 2
		for _, r := range l {
			if r < ' ' || r > '~' {
				return nil, fmt.Errorf("line %d: %q holds %q, which haproxy reads as a line end or cannot read", no, l, r)
			}
		}
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" {
			continue
		}
		words, err := haproxyLineWords(trimmed)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q %w", no, l, err)
		}
		first := words[0]
		if slices.Contains(haproxySections, first) || strings.HasPrefix(first, ".") {
			secs = append(secs, cfgSection{header: trimmed})
			continue
		}
		if len(secs) == 0 {
			return nil, fmt.Errorf("line %d: %q is outside any section", no, l)
		}
		if !strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "     ") {
			return nil, fmt.Errorf("line %d: %q is not indented by four spaces", no, l)
		}
		secs[len(secs)-1].lines = append(secs[len(secs)-1].lines, l[4:])
	}
	return secs, nil
}

// haproxyLineWords splits a line into the words haproxy reads, written
// from the configuration manual (2.2, 2.3) apart from the model's own
// splitter, and refuses what would make haproxy read the line otherwise
// than it looks: a comment, an unterminated quote, a trailing backslash,
// an environment variable inside double quotes.
func haproxyLineWords(l string) ([]string, error) {
	var words []string
	var cur []byte
	inWord := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch c {
		case ' ':
			if inWord {
				words, cur, inWord = append(words, string(cur)), nil, false
			}
			continue
		case '#':
			return nil, errors.New("holds a comment")
		case '\\':
			if i+1 == len(l) {
				return nil, errors.New("ends with a backslash")
			}
			i++
			cur = append(cur, l[i])
		case '\'':
			end := strings.IndexByte(l[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("has an unterminated single quote")
			}
			cur = append(cur, l[i+1:i+1+end]...)
			i += end + 1
		case '"':
			i++
			for ; i < len(l) && l[i] != '"'; i++ {
				switch l[i] {
				case '$':
					return nil, errors.New("expands an environment variable")
				case '\\':
					i++
				}
				if i < len(l) {
					cur = append(cur, l[i])
				}
			}
			if i >= len(l) {
				return nil, errors.New("has an unterminated double quote")
			}
		default:
			cur = append(cur, c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, nil
}

func sectionHeaders(secs []cfgSection) []string {
	out := make([]string, len(secs))
	for i, s := range secs {
		out[i] = s.header
	}
	return out
}

// expectedHeaders are the section headers cfg asks for, in order.
func expectedHeaders(cfg *model.HAProxyConfig) []string {
	out := []string{"global", "defaults"}
	for _, r := range cfg.Resolvers {
		out = append(out, "resolvers "+r.Name)
	}
	for _, f := range cfg.Frontends {
		out = append(out, "frontend "+f.Name)
	}
	for _, b := range cfg.Backends {
		out = append(out, "backend "+b.Name)
	}
	for _, l := range cfg.Listens {
		out = append(out, "listen "+l.Name)
	}
	return out
}

// sectionKeywords are the first words the renderer emits in each kind of
// section, besides the users' option lines; "option" lines it emits itself
// are listed in full.
var sectionKeywords = map[string][]string{
	"global":    {"log", "chroot", "user", "group", "maxconn", "nbthread", "stats"},
	"defaults":  {"mode", "log", "retries", "maxconn", "timeout", "option redispatch"},
	"resolvers": {"nameserver", "parse-resolv-conf", "resolve_retries", "timeout", "hold", "accepted_payload_size"},
	"frontend":  {"bind", "mode", "maxconn", "timeout", "acl", "use_backend", "default_backend"},
	"backend":   {"mode", "balance", "option httpchk", "http-check", "timeout", "server"},
	"listen":    {"bind", "mode", "maxconn", "balance", "option httpchk", "http-check", "timeout", "server"},
}

// sectionModel is what the model asks of one section: its users' option
// lines, as rendered, and how many lines of each counted keyword.
type sectionModel struct {
	options []string
	counts  map[string]int
}

func sectionModels(cfg *model.HAProxyConfig) []sectionModel {
	defaults := make([]string, len(cfg.Defaults.Options))
	for i, o := range cfg.Defaults.Options {
		defaults[i] = "option " + o
	}
	out := []sectionModel{
		{cfg.Global.Options, map[string]int{"log": len(cfg.Global.Logs), "stats": 1}},
		{defaults, map[string]int{}},
	}
	for _, r := range cfg.Resolvers {
		out = append(out, sectionModel{nil, map[string]int{"nameserver": len(r.Nameservers)}})
	}
	for _, f := range cfg.Frontends {
		out = append(out, sectionModel{f.Options, map[string]int{"bind": len(f.Binds), "acl": len(f.ACLs), "use_backend": len(f.UseBackends)}})
	}
	for _, b := range cfg.Backends {
		out = append(out, sectionModel{b.Options, map[string]int{"server": len(b.Servers)}})
	}
	for _, l := range cfg.Listens {
		out = append(out, sectionModel{l.Options, map[string]int{"server": len(l.Servers), "bind": len(l.Binds)}})
	}
	return out
}

// checkRendered holds the rendered text of a valid cfg to the promise of
// FuzzHAProxy.
func checkRendered(cfg *model.HAProxyConfig, text string) error {
	secs, err := parseHAProxyCfg(text)
	if err != nil {
		return err
	}
	if got, want := sectionHeaders(secs), expectedHeaders(cfg); !reflect.DeepEqual(got, want) {
		return fmt.Errorf("sections %q, want %q", got, want)
	}
	for i, sm := range sectionModels(cfg) {
		sec := secs[i]
		kind, _, _ := strings.Cut(sec.header, " ")
		lines := slices.Clone(sec.lines)
		for _, o := range sm.options {
			k := slices.Index(lines, o)
			if k < 0 {
				return fmt.Errorf("%s: option %q is not one whole line", sec.header, o)
			}
			lines = slices.Delete(lines, k, k+1)
		}
		counts := map[string]int{}
		for _, l := range lines {
			words, _ := haproxyLineWords(l)
			first := words[0]
			if first == "option" {
				first = l
			}
			if !slices.Contains(sectionKeywords[kind], first) {
				return fmt.Errorf("%s: %q starts with a keyword the renderer does not emit there", sec.header, l)
			}
			counts[first]++
		}
		for kw, n := range sm.counts {
			if counts[kw] != n {
				return fmt.Errorf("%s: %d %s lines, want %d", sec.header, counts[kw], kw, n)
			}
		}
	}
	return nil
}
