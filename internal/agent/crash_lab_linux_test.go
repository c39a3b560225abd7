//go:build linux

package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// crashAt runs an apply of req with the agent told to kill itself (as
// SIGKILL does) before the named step, and reports whether it died so.
func (la *labAgent) crashAt(step string, req wire.Request) bool {
	la.t.Helper()
	var stdout, stderr bytes.Buffer
	err := la.run(req, &stdout, &stderr, "LVS_AGENT_TEST_CRASH_AT="+step)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	la.t.Fatalf("crash at %s: the agent was not killed (%v): stdout %s stderr %s", step, err, stdout.String(), stderr.String())
	return false
}

// crashObjects is a host with both daemons: a VRRP director, director
// sysctls, and an haproxy frontend; prio and port make two versions.
func crashObjects(prio, port int) []wire.Object {
	d := labDirector("eth0", prio)
	d.Director.Sysctls = []model.Sysctl{{Key: "net.ipv4.ip_nonlocal_bind", Value: "1"}}
	return []wire.Object{d,
		{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
			Defaults: model.HAProxyDefaults{Mode: "tcp", Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
		}},
		{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{
			Frontend: model.HAProxyFrontend{Name: "web", Binds: []model.HAProxyBind{{Port: 8080}}, DefaultBackend: "web_servers"},
			Backend: model.HAProxyBackend{Name: "web_servers", Servers: []model.HAProxyServer{
				{Name: "web1", Address: netip.MustParseAddr("10.93.0.21"), Port: port},
			}},
		}},
	}
}

// TestLabCrashAtEveryStep kills the real agent binary before each step of
// an apply in turn, on a lab host running the real keepalived and haproxy.
// Whatever the step, the daemons keep serving, an observe says the apply
// was interrupted (and reports what it set out to store), and one apply
// that asks for nothing new completes it: the stored objects, both
// daemons' configs and the kernel's sysctls are those of the killed
// apply, with no journal left.
func TestLabCrashAtEveryStep(t *testing.T) {
	need(t, "keepalived", "haproxy", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	// The host's private /etc is seeded from the machine's: Debian's own
	// haproxy.cfg is foreign and would be refused.
	la.exec("rm", "-f", agent.HAProxyConf, agent.KeepalivedConf)

	version := 0
	want := func() []wire.Object { return crashObjects(100+version, 8000+version) }
	if resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: want()}); code != wire.ExitOK {
		t.Fatalf("first apply: exit %d: %v", code, resp.Error)
	}
	for _, step := range agent.ApplySteps {
		before := want()
		version++
		after := want()
		if !la.crashAt(step, wire.Request{Verb: wire.VerbApply, Put: after}) {
			continue
		}
		// The previous configuration (or the new one, past its step)
		// keeps serving.
		obs, code := la.do(wire.Request{Verb: wire.VerbObserve})
		if code != wire.ExitOK {
			t.Fatalf("%s: observe after the crash: exit %d: %v", step, code, obs.Error)
		}
		o := obs.Observed
		if !o.Keepalived.Running || !o.HAProxy.Running {
			t.Errorf("%s: after the crash keepalived running %v, haproxy running %v", step, o.Keepalived.Running, o.HAProxy.Running)
		}
		interrupted := step != agent.StepJournal
		if (o.Interrupted != "") != interrupted {
			t.Errorf("%s: observe says interrupted %q, want interrupted %v", step, o.Interrupted, interrupted)
		}
		reported := before
		if interrupted {
			reported = after
			if o.Keepalived.ConfigMatches || o.HAProxy.ConfigMatches {
				t.Errorf("%s: an interrupted apply must show the daemons out of sync (keepalived %v, haproxy %v)", step, o.Keepalived.ConfigMatches, o.HAProxy.ConfigMatches)
			}
		}
		if !sameObjects(o.Objects, reported) {
			t.Errorf("%s: observe reports objects %s, want %s", step, objectsJSON(o.Objects), objectsJSON(reported))
		}
		if !interrupted {
			// Nothing was begun: the next apply is the same request.
			version--
			continue
		}

		// One apply asking for nothing new rolls the killed one forward.
		resp, code := la.do(wire.Request{Verb: wire.VerbApply})
		if code != wire.ExitOK {
			t.Fatalf("%s: recovering apply: exit %d: %v", step, code, resp.Error)
		}
		if resp.Applied.Recovered == "" {
			t.Errorf("%s: the recovering apply does not say it completed an earlier one", step)
		}
		o = resp.Observed
		if o.Interrupted != "" || !o.Keepalived.ConfigMatches || !o.HAProxy.ConfigMatches || !sameObjects(o.Objects, after) {
			t.Errorf("%s: after the recovery: interrupted %q, keepalived in sync %v, haproxy in sync %v, objects %s",
				step, o.Interrupted, o.Keepalived.ConfigMatches, o.HAProxy.ConfigMatches, objectsJSON(o.Objects))
		}
		if _, err := os.Stat(l.Hosts["dir1"].Path(agent.StateDir + "/journal.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the journal is still there after the recovery (%v)", step, err)
		}
		conf := readHostFile(t, l, "dir1", agent.KeepalivedConf)
		if !strings.Contains(string(conf), "priority "+strconv.Itoa(100+version)) {
			t.Errorf("%s: keepalived.conf lacks priority %d:\n%s", step, 100+version, conf)
		}
		// And the apply after that one changes nothing.
		resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: after})
		if code != wire.ExitOK || len(resp.Applied.Changed) != 0 || resp.Applied.Reloads["keepalived"]+resp.Applied.Reloads["haproxy"] != 0 {
			t.Errorf("%s: the apply after the recovery: exit %d, applied %+v, error %v", step, code, resp.Applied, resp.Error)
		}
	}
}

// TestLabRefusedApplyKeepsTheJournal: an apply that is refused while an
// interrupted one is pending (keepalived -t refuses its config) leaves the
// pending journal as it was: the refused change is never rolled forward,
// and the next apply completes the interrupted one.
func TestLabRefusedApplyKeepsTheJournal(t *testing.T) {
	need(t, "keepalived", "haproxy", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	la.exec("rm", "-f", agent.HAProxyConf, agent.KeepalivedConf)
	if resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: crashObjects(100, 8000)}); code != wire.ExitOK {
		t.Fatalf("first apply: exit %d: %v", code, resp.Error)
	}
	la.crashAt(agent.StepHAProxy, wire.Request{Verb: wire.VerbApply, Put: crashObjects(101, 8001)})
	bad := crashObjects(102, 8002)
	bad[0] = labDirector("eth9", 102) // no such interface: keepalived -t refuses it
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: bad})
	if code == wire.ExitOK || resp.Error.Step != "test keepalived config" {
		t.Fatalf("an apply with a missing interface: exit %d, error %+v", code, resp.Error)
	}
	obs, _ := la.do(wire.Request{Verb: wire.VerbObserve})
	if obs.Observed.Interrupted == "" || !sameObjects(obs.Observed.Objects, crashObjects(101, 8001)) {
		t.Errorf("after a refused apply: interrupted %q, objects %s; want the interrupted apply's objects", obs.Observed.Interrupted, objectsJSON(obs.Observed.Objects))
	}
	resp, code = la.do(wire.Request{Verb: wire.VerbApply})
	if code != wire.ExitOK || resp.Applied.Recovered == "" {
		t.Fatalf("recovery: exit %d, applied %+v, error %v", code, resp.Applied, resp.Error)
	}
	if !sameObjects(resp.Observed.Objects, crashObjects(101, 8001)) || !resp.Observed.Keepalived.ConfigMatches || !resp.Observed.HAProxy.ConfigMatches {
		t.Errorf("after the recovery: objects %s, keepalived in sync %v, haproxy in sync %v",
			objectsJSON(resp.Observed.Objects), resp.Observed.Keepalived.ConfigMatches, resp.Observed.HAProxy.ConfigMatches)
	}
}

func sameObjects(got, want []wire.Object) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	byKey := func(a, b wire.Object) int { return strings.Compare(a.Key.String(), b.Key.String()) }
	slices.SortFunc(g, byKey)
	slices.SortFunc(w, byKey)
	return objectsJSON(g) == objectsJSON(w)
}

func objectsJSON(objs []wire.Object) string {
	b, _ := json.Marshal(objs)
	return string(b)
}

// TestLabSSHCutDuringApply runs an apply through the lab host's real sshd
// and kills the ssh client while the apply is under way (the daemons are
// reloading), as a dropped connection would. The agent must leave the host
// consistent on its own (it ignores the hang-up and finishes), or at worst
// with a journal that one apply completes; either way the host then runs
// and stores the apply's objects, and the apply after that changes nothing.
func TestLabSSHCutDuringApply(t *testing.T) {
	need(t, "keepalived", "haproxy", "go", "ssh")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	la.exec("rm", "-f", agent.HAProxyConf, agent.KeepalivedConf)
	if resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: crashObjects(100, 8000)}); code != wire.ExitOK {
		t.Fatalf("first apply: exit %d: %v", code, resp.Error)
	}
	want := crashObjects(101, 8001)
	body, err := json.Marshal(wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: want})
	if err != nil {
		t.Fatal(err)
	}
	// The agent pauses (5 s) before the haproxy step, keepalived reloaded:
	// 1.5 s in, the apply is between its steps.
	ssh := exec.Command("ssh", "-F", l.SSHConfigPath, "dir1", "env", "LVS_AGENT_TEST_PAUSE_AT="+agent.StepHAProxy, bin)
	ssh.Stdin = bytes.NewReader(body)
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ssh.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = ssh.Wait()
	if out, _ := l.Exec(context.Background(), "dir1", "pgrep", "-f", bin); strings.TrimSpace(string(out)) == "" {
		t.Fatal("the apply was over before the connection was cut: the test proves nothing (cut sooner)")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := l.Exec(context.Background(), "dir1", "pgrep", "-f", bin)
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent still runs 30 s after its connection was cut: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	obs, code := la.do(wire.Request{Verb: wire.VerbObserve})
	if code != wire.ExitOK {
		t.Fatalf("observe: exit %d: %v", code, obs.Error)
	}
	if obs.Observed.Interrupted == "" {
		t.Logf("the agent finished the apply after its connection was cut")
	} else {
		t.Logf("the agent stopped with the connection (%s); one apply completes it", obs.Observed.Interrupted)
		if resp, code := la.do(wire.Request{Verb: wire.VerbApply}); code != wire.ExitOK || resp.Applied.Recovered == "" {
			t.Fatalf("recovering apply: exit %d, applied %+v, error %v", code, resp.Applied, resp.Error)
		}
		obs, _ = la.do(wire.Request{Verb: wire.VerbObserve})
	}
	o := obs.Observed
	if !sameObjects(o.Objects, want) || !o.Keepalived.ConfigMatches || !o.HAProxy.ConfigMatches || !o.Keepalived.Running || !o.HAProxy.Running {
		t.Errorf("after the cut: objects %s, keepalived running %v in sync %v, haproxy running %v in sync %v",
			objectsJSON(o.Objects), o.Keepalived.Running, o.Keepalived.ConfigMatches, o.HAProxy.Running, o.HAProxy.ConfigMatches)
	}
	if resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: want}); code != wire.ExitOK || len(resp.Applied.Changed) != 0 {
		t.Errorf("the apply after the cut: exit %d, applied %+v, error %v", code, resp.Applied, resp.Error)
	}
}
