package agent_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/haproxycfg"
	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// handBuiltHAProxy is an haproxy host as an operator set it up: a
// frontend in front of an application (a listen section answering by
// itself), tab-indented, times with units.
const handBuiltHAProxy = `global
	log /dev/log	local0
	stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
	stats timeout 30s

defaults
	mode	http
	timeout connect 5s
	timeout client  30s
	timeout server  30s

frontend web
	bind :8080
	default_backend app

backend app
	balance roundrobin
	server app1 127.0.0.1:9000 check inter 1s

listen app_server
	bind 127.0.0.1:9000
	http-request return status 200 content-type text/plain string hand-built
`

// TestLabAdoptHandBuiltHAProxyUnderLoad: the real agent imports a
// hand-built haproxy.cfg that a hand-started haproxy runs, and the import
// applied with adopt takes the file over while clients keep sending
// requests: one reload of the same master, not one request failed, and
// the installed file is ours and says what the hand-written one said.
func TestLabAdoptHandBuiltHAProxyUnderLoad(t *testing.T) {
	need(t, "haproxy", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"hap1"}})
	la := &labAgent{t: t, lab: l, host: "hap1", bin: bin}

	if err := os.WriteFile(l.Hosts["hap1"].Path(agent.HAProxyConf), []byte(handBuiltHAProxy), 0o644); err != nil {
		t.Fatal(err)
	}
	la.exec("mkdir", "-p", "/run/haproxy")
	la.exec("haproxy", "-W", "-D", "-f", agent.HAProxyConf, "-p", agent.HAProxyPid)
	t.Cleanup(func() {
		if pid, err := l.Exec(context.Background(), "hap1", "cat", agent.HAProxyPid); err == nil {
			_, _ = l.Exec(context.Background(), "hap1", "kill", strings.TrimSpace(string(pid)))
		}
	})
	master := strings.TrimSpace(la.exec("cat", agent.HAProxyPid))
	url := fmt.Sprintf("http://%s:8080/", l.Hosts["hap1"].Addr)
	waitFor(t, 10*time.Second, "the hand-built haproxy answering", func() bool {
		body, err := fetch(url)
		return err == nil && body == "hand-built"
	})

	imp, code := la.do(wire.Request{Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, imp.Error)
	}
	t.Logf("import warnings: %q", imp.Warnings)
	var adopt []wire.Key
	for _, o := range imp.Imported {
		adopt = append(adopt, o.Key)
	}

	ld := startFetching(url, 4)
	time.Sleep(500 * time.Millisecond) // load before the adoption
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: imp.Imported, Adopt: adopt})
	time.Sleep(time.Second) // and after it
	ld.finish()
	if code != wire.ExitOK {
		t.Fatalf("adopt: exit %d: %v", code, resp.Error)
	}
	t.Logf("load: %d requests, %d failed, answers %v", ld.ok.Load()+ld.failed.Load(), ld.failed.Load(), ld.bodies)
	if n := ld.failed.Load(); n != 0 {
		t.Errorf("%d requests failed while the file was adopted, want 0; first errors: %v", n, ld.errs)
	}
	if ld.ok.Load() < 20 || ld.bodies["hand-built"] != int(ld.ok.Load()) {
		t.Errorf("answers %v: the load did not run, or something else answered", ld.bodies)
	}
	if resp.Applied.Reloads["haproxy"] != 1 {
		t.Errorf("applied %+v, want one haproxy reload", resp.Applied)
	}
	if now := strings.TrimSpace(la.exec("cat", agent.HAProxyPid)); now != master {
		t.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", master, now)
	}
	installed := string(readHostFile(t, l, "hap1", agent.HAProxyConf))
	if !strings.HasPrefix(installed, render.ManagedMarker) {
		t.Fatalf("the installed haproxy.cfg is not ours:\n%s", installed)
	}
	before, _, err := haproxycfg.Parse(strings.NewReader(handBuiltHAProxy), "hand")
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := haproxycfg.Parse(strings.NewReader(installed), "installed")
	if err != nil {
		t.Fatal(err)
	}
	// The listen section comes back as a frontend and a backend of its name.
	if len(before.Frontends) != 1 || len(after.Frontends) != 2 || len(after.Listens) != 0 ||
		!haproxycfg.Equivalent(before, withoutListen(before, after)) {
		t.Errorf("the installed haproxy.cfg says something else than the hand-written one:\n%s", installed)
	}
	if st := resp.Observed.HAProxy; !st.Running || !st.ConfigOurs || !st.ConfigMatches {
		t.Errorf("observed haproxy %+v", st)
	}
}

// withoutListen puts after's frontend+backend pair of before's listen back
// into a listen section, so the two configurations compare.
func withoutListen(before, after *model.HAProxyConfig) *model.HAProxyConfig {
	out := *after
	out.Frontends, out.Backends, out.Listens = nil, nil, nil
	for _, f := range after.Frontends {
		isListen := false
		for _, l := range before.Listens {
			if l.Name == f.Name {
				isListen = true
				for _, b := range after.Backends {
					if b.Name == f.Name {
						l2 := l
						l2.HAProxyBackend = b
						l2.Binds, l2.Maxconn = f.Binds, f.Maxconn
						out.Listens = append(out.Listens, l2)
					}
				}
			}
		}
		if !isListen {
			out.Frontends = append(out.Frontends, f)
		}
	}
	for _, b := range after.Backends {
		isListen := false
		for _, l := range before.Listens {
			isListen = isListen || l.Name == b.Name
		}
		if !isListen {
			out.Backends = append(out.Backends, b)
		}
	}
	return &out
}

var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func fetch(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}

// fetching sends requests from workers clients, each on a new connection,
// until finish, and counts answers by body and failures.
type fetching struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	bodies     map[string]int
	errs       []error
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startFetching(url string, workers int) *fetching {
	f := &fetching{bodies: map[string]int{}, stop: make(chan struct{})}
	for range workers {
		f.wg.Go(func() {
			for {
				select {
				case <-f.stop:
					return
				default:
				}
				body, err := fetch(url)
				f.mu.Lock()
				if err != nil {
					f.failed.Add(1)
					if len(f.errs) < 5 {
						f.errs = append(f.errs, err)
					}
				} else {
					f.ok.Add(1)
					f.bodies[body]++
				}
				f.mu.Unlock()
			}
		})
	}
	return f
}

func (f *fetching) finish() {
	close(f.stop)
	f.wg.Wait()
}

// handBuiltKeepalived is a VRRP-only director as an operator set it up.
const handBuiltKeepalived = `! hand-built director
global_defs {
    router_id dir1
    notification_email { ops@example.com }
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 78
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass handpass
    }
    virtual_ipaddress {
        10.93.0.101/24
    }
}
`

// TestLabAdoptHandBuiltKeepalived: the real agent imports the
// keepalived.conf a hand-started keepalived runs, and the import applied
// with adopt takes it over: keepalived is reloaded (same pid), stays
// MASTER, and the VIP never leaves the interface.
func TestLabAdoptHandBuiltKeepalived(t *testing.T) {
	need(t, "keepalived", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	if err := os.WriteFile(l.Hosts["dir1"].Path(agent.KeepalivedConf), []byte(handBuiltKeepalived), 0o600); err != nil {
		t.Fatal(err)
	}
	la.exec("keepalived", "-D", "-P", "-f", agent.KeepalivedConf, "-p", agent.KeepalivedPid)
	t.Cleanup(func() {
		if pid, err := l.Exec(context.Background(), "dir1", "cat", agent.KeepalivedPid); err == nil {
			_, _ = l.Exec(context.Background(), "dir1", "kill", strings.TrimSpace(string(pid)))
		}
	})
	hasVIP := func() (bool, error) {
		out, err := l.Exec(context.Background(), "dir1", "ip", "-o", "addr", "show", "dev", "eth0")
		return strings.Contains(string(out), "10.93.0.101/24"), err
	}
	waitFor(t, 15*time.Second, "the hand-started keepalived holding the VIP", func() bool {
		ok, _ := hasVIP()
		return ok
	})
	pid := strings.TrimSpace(la.exec("cat", agent.KeepalivedPid))

	imp, code := la.do(wire.Request{Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, imp.Error)
	}
	t.Logf("import warnings: %q", imp.Warnings)
	var adopt []wire.Key
	for _, o := range imp.Imported {
		adopt = append(adopt, o.Key)
	}
	// The host's stock haproxy.cfg (Debian's, serving nothing) is not imported.
	if len(adopt) != 1 || adopt[0].Kind != wire.KindDirector {
		t.Fatalf("imported %v, want the director only", adopt)
	}

	// Watch the VIP from before the adoption to a while after it.
	var samples, missing atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if ok, err := hasVIP(); err == nil {
				samples.Add(1)
				if !ok {
					missing.Add(1)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	time.Sleep(500 * time.Millisecond)
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: imp.Imported, Adopt: adopt})
	time.Sleep(3 * time.Second) // a few adverts after the reload
	close(stop)
	wg.Wait()
	if code != wire.ExitOK {
		t.Fatalf("adopt: exit %d: %v", code, resp.Error)
	}
	t.Logf("VIP watched %d times, missing %d", samples.Load(), missing.Load())
	if missing.Load() != 0 || samples.Load() < 10 {
		t.Errorf("the VIP was missing in %d of %d samples during the adoption, want 0 (of at least 10)", missing.Load(), samples.Load())
	}
	if resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("applied %+v, want one keepalived reload", resp.Applied)
	}
	if now := strings.TrimSpace(la.exec("cat", agent.KeepalivedPid)); now != pid {
		t.Errorf("keepalived pid %s -> %s: restarted, not reloaded", pid, now)
	}
	installed := string(readHostFile(t, l, "dir1", agent.KeepalivedConf))
	before, _, err := keepalivedconf.Parse(strings.NewReader(handBuiltKeepalived), "hand")
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := keepalivedconf.Parse(strings.NewReader(installed), "installed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(installed, render.ManagedMarker) || !keepalivedconf.Equivalent(before, after) {
		t.Errorf("the installed keepalived.conf is not ours or says something else:\n%s", installed)
	}
	var st *wire.DaemonState
	waitFor(t, 10*time.Second, "observe says VI_1 is MASTER", func() bool {
		obs, code := la.do(wire.Request{Verb: wire.VerbObserve})
		st = obs.Observed.Keepalived
		return code == wire.ExitOK && st.VRRP["VI_1"] == "MASTER"
	})
	if !st.Running || !st.ConfigOurs || !st.ConfigMatches {
		t.Errorf("observed keepalived %+v", st)
	}
}
