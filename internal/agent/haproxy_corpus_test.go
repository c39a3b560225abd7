package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// The import corpus: haproxy's own example configurations, as the Debian
// haproxy package installs them (internal/lab/deps.sh installs it). Each
// file either imports to objects that route traffic exactly as the file
// does, or is refused with an error naming file:line; an import that
// sends traffic elsewhere (and only warns) fails the test.
const haproxyCorpusDir = "/usr/share/doc/haproxy/examples"

// routing is what decides where traffic goes, read from haproxy.cfg text
// without the model or its parser (so that neither can hide what it
// drops): each frontend's binds, rules and default backend, each backend's
// balance (its own or the defaults'), servers and health checks. A listen
// section is a frontend and a backend of its name, as haproxy runs it.
func routing(text string) []string {
	var out []string
	var sec, name, defaultsBalance string
	type proxy struct {
		binds, rules                  []string
		def, balance, check, checkReq string
		servers                       []string
		isFront, isBack               bool
	}
	proxies := map[string]*proxy{}
	var order []string
	get := func(kind, n string) *proxy {
		key := kind + " " + n
		if proxies[key] == nil {
			proxies[key] = &proxy{}
			order = append(order, key)
		}
		return proxies[key]
	}
	for _, raw := range strings.Split(text, "\n") {
		if i := strings.Index(raw, "#"); i >= 0 && (i == 0 || raw[i-1] != '\\') {
			raw = raw[:i]
		}
		w := strings.Fields(raw)
		if len(w) == 0 {
			continue
		}
		switch w[0] {
		case "global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "cache", "mailers", "program", "http-errors", "ring":
			sec, name = w[0], ""
			if len(w) > 1 && sec != "defaults" {
				name = w[1]
			}
			continue
		}
		if sec == "defaults" && w[0] == "balance" {
			defaultsBalance = strings.Join(w[1:], " ")
		}
		var f, b *proxy
		switch sec {
		case "frontend":
			f = get("frontend", name)
		case "backend":
			b = get("backend", name)
		case "listen":
			f, b = get("frontend", name), get("backend", name)
			f.def = name
		default:
			continue
		}
		if f != nil {
			f.isFront = true
			switch w[0] {
			case "bind":
				for _, a := range strings.Split(w[1], ",") {
					a = strings.TrimPrefix(strings.TrimPrefix(a, "*"), "0.0.0.0")
					f.binds = append(f.binds, a)
				}
			case "use_backend":
				f.rules = append(f.rules, strings.Join(w[1:], " "))
			case "default_backend":
				f.def = w[1]
			}
		}
		if b != nil {
			b.isBack = true
			switch {
			case w[0] == "balance":
				b.balance = strings.Join(w[1:], " ")
			case w[0] == "server":
				b.servers = append(b.servers, fmt.Sprintf("%s %s check=%v", w[1], w[2], slices.Contains(w[3:], "check")))
			case w[0] == "option" && len(w) > 1 && w[1] == "httpchk":
				b.check = "httpchk"
				switch len(w) {
				case 3:
					b.checkReq = "OPTIONS " + w[2]
				case 4, 5:
					b.checkReq = w[2] + " " + w[3]
				}
			case w[0] == "option" && len(w) > 1 && (w[1] == "tcp-check" || w[1] == "ssl-hello-chk" || w[1] == "smtpchk" || w[1] == "mysql-check"):
				b.check = w[1]
			case w[0] == "http-check" && len(w) > 1 && w[1] == "send":
				meth, uri := "OPTIONS", "/"
				for i := 2; i+1 < len(w); i++ {
					switch w[i] {
					case "meth":
						meth = w[i+1]
					case "uri":
						uri = w[i+1]
					}
				}
				b.checkReq = meth + " " + uri
			}
		}
	}
	for _, key := range order {
		p := proxies[key]
		if strings.HasPrefix(key, "frontend ") && p.isFront {
			out = append(out, fmt.Sprintf("%s binds=%v rules=%q default=%s", key, p.binds, p.rules, p.def))
		}
		if strings.HasPrefix(key, "backend ") && p.isBack {
			bal := p.balance
			if bal == "" {
				bal = defaultsBalance
			}
			if bal == "" {
				bal = "roundrobin"
			}
			req := p.checkReq
			if p.check == "httpchk" && req == "" {
				req = "OPTIONS /"
			}
			out = append(out, fmt.Sprintf("%s balance=%s check=%s %s servers=%q", key, bal, p.check, req, p.servers))
		}
	}
	slices.Sort(out)
	return out
}

var fileLine = regexp.MustCompile(regexp.QuoteMeta(HAProxyConf) + `:[0-9]+: `)

// importCorpusFile imports text as a hand-built haproxy.cfg and returns
// the haproxy.cfg the agent renders from the imported objects, or the
// import's error.
func importCorpusFile(t *testing.T, text string) (string, []string, error) {
	t.Helper()
	f, a := newFakeHost(t)
	writeFile(t, f.root, HAProxyConf, text)
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		return "", resp.Warnings, fmt.Errorf("exit %d: %s", code, resp.Error.Message)
	}
	var hc hostConfig
	if werr := composeHAProxy(&hc, resp.Imported); werr != nil {
		return "", resp.Warnings, fmt.Errorf("compose: %s", werr.Message)
	}
	if hc.haproxy == nil {
		return "", resp.Warnings, nil
	}
	out, err := render.HAProxy(hc.haproxy)
	return out, resp.Warnings, err
}

// TestHAProxyImportCorpus runs the installed corpus and prints the tally.
func TestHAProxyImportCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(haproxyCorpusDir, "*.cfg"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no haproxy example configurations in %s: install the haproxy package (internal/lab/deps.sh)", haproxyCorpusDir)
		}
		t.Skipf("SKIPPED: no haproxy example configurations in %s (install the haproxy package: internal/lab/deps.sh)", haproxyCorpusDir)
	}
	var imported, refused []string
	for _, file := range files {
		name := filepath.Base(file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out, warnings, err := importCorpusFile(t, string(data))
		switch {
		case err != nil && fileLine.MatchString(err.Error()):
			refused = append(refused, name)
			t.Logf("%s: refused: %v", name, firstLine(err.Error()))
		case err != nil:
			t.Errorf("%s: refused without naming file:line: %v", name, err)
		default:
			want, got := routing(string(data)), routing(out)
			if !slices.Equal(want, got) {
				t.Errorf("%s: the import routes traffic otherwise than the file\nfile:\n  %s\nimported:\n  %s\nwarnings:\n  %s\nrendered:\n%s",
					name, strings.Join(want, "\n  "), strings.Join(got, "\n  "), strings.Join(warnings, "\n  "), out)
				continue
			}
			imported = append(imported, name)
			t.Logf("%s: imported, same routing (%d warnings)", name, len(warnings))
			// What haproxy accepts as written, it accepts as imported.
			if haproxyAccepts(string(data)) && !haproxyAccepts(out) {
				t.Errorf("%s: haproxy -c accepts the file but not its import:\n%s", name, out)
			}
		}
	}
	t.Logf("haproxy example corpus: %d files: %d imported with the same routing %v, %d refused at file:line %v, %d wrong",
		len(files), len(imported), imported, len(refused), refused, len(files)-len(imported)-len(refused))
	fmt.Printf("haproxy import corpus tally: %d files, %d imported equivalent, %d refused with file:line, %d wrong\n",
		len(files), len(imported), len(refused), len(files)-len(imported)-len(refused))
}

// haproxyAccepts reports whether haproxy -c accepts text (false when
// haproxy is not installed, so that nothing is claimed then).
func haproxyAccepts(text string) bool {
	path, err := exec.LookPath("haproxy")
	if err != nil {
		return false
	}
	dir, err := os.MkdirTemp("", "corpus")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "haproxy.cfg")
	if os.WriteFile(file, []byte(text), 0o600) != nil {
		return false
	}
	return exec.Command(path, "-c", "-f", file).Run() == nil
}

// contentSwitching is content-sw-sample.cfg's routing: anonymous ACLs
// sending images to the static backend, the rest to the dynamic one.
const contentSwitching = `global
	maxconn 10000
	stats socket /var/run/haproxy.stat mode 600 level admin
	uid 200
	gid 200
frontend public
	bind 192.168.1.10:80 name clear
	mode http
	use_backend static if { hdr_beg(host) -i img }
	use_backend static if { path_beg /img /css   }
	default_backend dynamic
backend static
	mode http
	balance roundrobin
	option httpchk HEAD /favicon.ico
	server statsrv1 192.168.1.8:80 check inter 1000
backend dynamic
	mode http
	balance roundrobin
	option httpchk HEAD /login.php
	server dynsrv1 192.168.1.1:80 minconn 50 maxconn 500 cookie s1 check inter 1000
`

// TestImportKeepsUseBackendRules: the use_backend rules of
// content-sw-sample.cfg are imported, not dropped with a warning (which
// sent /img, /css and Host img.* to the dynamic backend after adoption):
// both backends become backends of their own, the rules route to them.
func TestImportKeepsUseBackendRules(t *testing.T) {
	f, a := newFakeHost(t)
	writeFile(t, f.root, HAProxyConf, contentSwitching)
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	var keys []string
	var front *wire.HAProxyFrontend
	for _, o := range resp.Imported {
		keys = append(keys, o.Key.String())
		if o.HAProxyFrontend != nil {
			front = o.HAProxyFrontend
		}
	}
	// static, which a rule names, is a backend of its own; dynamic, the
	// frontend's default and nothing else, stays the frontend's own.
	want := []string{"haproxy_settings haproxy", "haproxy_frontend public", "haproxy_backend static"}
	if !slices.Equal(keys, want) {
		t.Fatalf("imported %q, want %q", keys, want)
	}
	if front.Backend.Name != "dynamic" || front.Frontend.DefaultBackend != "dynamic" || len(front.Frontend.UseBackends) != 2 ||
		front.Frontend.UseBackends[1].Condition != "{ path_beg /img /css }" {
		t.Fatalf("frontend imported as %+v", front)
	}
	for _, w := range resp.Warnings {
		if strings.Contains(w, "not imported") || strings.Contains(w, "use_backend") {
			t.Errorf("a routing rule was left out: %s", w)
		}
	}
	out, _, err := importCorpusFile(t, contentSwitching)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(routing(contentSwitching), routing(out)) {
		t.Fatalf("routes otherwise:\n%v\n%v\n%s", routing(contentSwitching), routing(out), out)
	}
	checkWithTool(t, "haproxy", out, "-c", "-f")
}

// TestImportRefusesDynamicRouting: a backend name computed from the
// request cannot be carried; the import stops at its line.
func TestImportRefusesDynamicRouting(t *testing.T) {
	_, _, err := importCorpusFile(t, "frontend f\n  bind :80\n  use_backend %[req.hdr(host),lower]\n  default_backend b\nbackend b\n  server s 10.0.0.1:80\n")
	if err == nil || !strings.Contains(err.Error(), HAProxyConf+":3: use_backend: a backend name computed from the request") {
		t.Fatalf("dynamic use_backend: %v", err)
	}
}

// TestImportKeepsDefaultsBalance: quick-test.cfg's "balance random" in
// defaults is carried, not rendered as roundrobin after a warning.
func TestImportKeepsDefaultsBalance(t *testing.T) {
	const quick = "defaults\n   mode http\n   balance random      # power-of-two-choices\n   timeout client 60s\n" +
		"   timeout server 60s\n   timeout connect 1s\nlisten p\n   bind :8000\n   server s1 172.31.32.33:8000\n"
	out, warnings, err := importCorpusFile(t, quick)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		if strings.Contains(w, "balance") {
			t.Errorf("balance left out: %s", w)
		}
	}
	if !strings.Contains(out, "\ndefaults\n    mode http\n    balance random\n") {
		t.Fatalf("defaults balance not rendered:\n%s", out)
	}
	checkWithTool(t, "haproxy", out, "-c", "-f")
	// What the model cannot carry in defaults is refused at its line, never
	// dropped (every backend would balance otherwise).
	_, _, err = importCorpusFile(t, "defaults\n  balance uri whole\nlisten p\n  bind :8000\n  server s1 10.0.0.1:80\n")
	if err == nil || !strings.Contains(err.Error(), HAProxyConf+":2: balance") {
		t.Fatalf("defaults balance uri whole: %v", err)
	}
}

func firstLine(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	if rest != "" {
		first += " " + strings.ReplaceAll(rest, "\n", " | ")
	}
	return first
}

// TestImportLeavesPidfileOut: a pidfile line is inert where lvs-agent runs
// haproxy (its -p, and Debian's haproxy.service's, take precedence), so it
// is left out with a warning at its line that says where the pid is,
// rather than refusing the file; options given by hand still may not
// hold one.
func TestImportLeavesPidfileOut(t *testing.T) {
	const text = "global\n  daemon\n  pidfile /var/run/haproxy-svc1.pid\n  hard-stop-after 5m\n" +
		"listen p\n  bind :8000\n  server s1 10.0.0.1:80\n"
	out, warnings, err := importCorpusFile(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "pidfile") || !strings.Contains(out, "    daemon\n    hard-stop-after 5m\n") {
		t.Fatalf("rendered:\n%s", out)
	}
	found := false
	for _, w := range warnings {
		found = found || strings.HasPrefix(w, HAProxyConf+":3: ") && strings.Contains(w, "pidfile /var/run/haproxy-svc1.pid is left out") &&
			strings.Contains(w, "-p "+HAProxyPid)
	}
	if !found {
		t.Fatalf("no warning at line 3 naming %s: %q", HAProxyPid, warnings)
	}
	checkWithTool(t, "haproxy", out, "-c", "-f")
	cfg := model.HAProxyConfig{Global: model.HAProxyGlobal{Options: []string{"pidfile /var/run/haproxy-svc1.pid"}}}
	if err := cfg.Validate(nil); err == nil || !strings.Contains(err.Error(), "lvs-agent starts haproxy with a pid file of its own") {
		t.Fatalf("pidfile in global options: %v", err)
	}
}
