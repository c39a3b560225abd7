package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Each test has a lab of its own, named labPrefix and the test's number,
// on 10.94.<number>.0/24: the tests run in parallel, and never wait for
// (or race with) other packages' labs.
const labPrefix = "integ"

// vip is the lab subnet's address with the last octet n: .100 and above are
// never given to hosts.
func (e *env) vip(n byte) netip.Addr {
	a := e.lab.Subnet.Addr().As4()
	a[3] = n
	return netip.AddrFrom4(a)
}

// need skips t loudly without the tools, or fails it under $CI.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set but %s is not installed", tool)
			}
			t.Skipf("SKIPPED, NOT TESTED: %s is not installed (install it and rerun; CI fails here)", tool)
		}
	}
}

// agentBuild is the agent every test deploys: built or loaded once.
var agentBuild = sync.OnceValues(loadAgent)

type agentBinaries struct {
	bins    fs.FS
	version string
	source  string // how it was obtained, for the log
}

// loadAgent returns the agent for this machine: the embedded one when
// `make agent` has built it (and LVS_AGENT_FROM_SOURCE is not set), else
// one built from the source, gzipped as `make agent` does.
func loadAgent() (*agentBinaries, error) {
	dir, err := os.MkdirTemp("", "lvs-integration-agent-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "lvs-agent")
	fromSource := os.Getenv("LVS_AGENT_FROM_SOURCE") != ""
	if raw, err := agentbin.Binary(runtime.GOARCH); err == nil && !fromSource {
		if err := os.WriteFile(bin, raw, 0o755); err != nil {
			return nil, err
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			return nil, fmt.Errorf("embedded agent: lvs-agent version: %w", err)
		}
		v := strings.TrimSpace(string(out))
		return &agentBinaries{bins: agentbin.Embedded(), version: v, source: "the embedded agent (make agent), version " + v}, nil
	} else if err != nil && !errors.Is(err, agentbin.ErrNotBuilt) {
		return nil, err
	}
	const version = "integration"
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no embedded agent and no go tool to build one: %w", err)
	}
	build := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin,
		"github.com/lvsops/terraform-provider-lvs/internal/agent/cmd/lvs-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the agent: %w\n%s", err, out)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	name := "lvs-agent-linux-" + runtime.GOARCH + ".gz" // as agentbin names it
	return &agentBinaries{
		bins:    fstest.MapFS{name: {Data: gz.Bytes()}},
		version: version,
		source:  fmt.Sprintf("the agent built from the source: %d bytes, %d gzipped", len(raw), gz.Len()),
	}, nil
}

// agent returns the agent's binaries and version, failing t when there is
// none.
func agentBins(t *testing.T) *agentBinaries {
	t.Helper()
	a, err := agentBuild()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// env is one lab and one "Terraform run" against it: a transport.Pool and
// an agentbin.Deployer, as the provider holds them.
type env struct {
	t     *testing.T
	lab   *netns.Lab
	agent *agentBinaries
	run   *run
}

// run is what one provider process holds: a connection pool and a
// Deployer, and the pool's handle of each host.
type run struct {
	t     *testing.T
	pool  *transport.Pool
	d     *agentbin.Deployer
	hosts map[string]*transport.Host
}

// startEnv brings up lab number n (1-99, one per test) with the hosts
// and opens the first run against it. The test runs in parallel with the
// package's other lab tests. It skips without root, sshd or the tools.
func startEnv(t *testing.T, n int, hosts []string, tools ...string) *env {
	t.Helper()
	t.Parallel()
	need(t, tools...)
	// The lab first: without root it skips before the agent is built.
	l := netns.Start(t, netns.Config{
		Name:   fmt.Sprintf("%s%d", labPrefix, n),
		Subnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 94, byte(n), 0}), 24),
		Hosts:  hosts,
	})
	a := agentBins(t)
	t.Logf("deploying %s", a.source)
	e := &env{t: t, lab: l, agent: a}
	e.run = e.newRun()
	return e
}

// newRun opens a new pool and Deployer: another provider process, such as
// a second Terraform run.
func (e *env) newRun() *run {
	e.t.Helper()
	d, err := agentbin.New(e.agent.version, e.agent.bins)
	if err != nil {
		e.t.Fatal(err)
	}
	pool := transport.NewPool(nil)
	e.t.Cleanup(func() { _ = pool.Close() })
	r := &run{t: e.t, pool: pool, d: d, hosts: map[string]*transport.Host{}}
	for _, name := range e.lab.Order {
		h := e.lab.Hosts[name]
		th, err := pool.Host(transport.Config{
			Host: h.Addr.String(), Port: h.SSHPort, User: h.User,
			PrivateKey: string(h.ClientKeyPEM), KnownHostsFiles: []string{h.KnownHostsPath},
		})
		if err != nil {
			e.t.Fatal(err)
		}
		r.hosts[name] = th
	}
	return r
}

// ctx bounds one call.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// call sends req to the agent on host and returns its answer and error as
// the provider gets them.
func (r *run) call(host string, req *wire.Request) (*wire.Response, error) {
	r.t.Helper()
	th, ok := r.hosts[host]
	if !ok {
		r.t.Fatalf("no host %q", host)
	}
	return r.d.Call(callCtx(r.t), th, req)
}

// apply puts objs on host (and deletes dels), failing t on any error.
func (r *run) apply(host string, objs []wire.Object, dels ...wire.Key) *wire.Response {
	r.t.Helper()
	resp, err := r.call(host, &wire.Request{Verb: wire.VerbApply, Put: objs, Delete: dels})
	if err != nil {
		r.t.Fatalf("apply on %s: %v", host, err)
	}
	if resp.Applied == nil || resp.Observed == nil {
		r.t.Fatalf("apply on %s: response without report or observation: %+v", host, resp)
	}
	return resp
}

// observe returns what host really runs, failing t on any error.
func (r *run) observe(host string) *wire.Observed {
	r.t.Helper()
	resp, err := r.call(host, &wire.Request{Verb: wire.VerbObserve})
	if err != nil {
		r.t.Fatalf("observe %s: %v", host, err)
	}
	if resp.Observed == nil || resp.Observed.Hostname != host {
		r.t.Fatalf("observe %s: reported %+v", host, resp.Observed)
	}
	return resp.Observed
}

// exec runs args on host (in its namespaces, not over SSH: the test's own
// look at the host) and returns the output.
func (e *env) exec(host string, args ...string) string {
	e.t.Helper()
	out, err := e.lab.Exec(callCtx(e.t), host, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(out)
}

// addrs is `ip -o addr show dev` on host.
func (e *env) addrs(host, dev string) string {
	e.t.Helper()
	return e.exec(host, "ip", "-o", "addr", "show", "dev", dev)
}

// hasAddr reports whether host has prefix on dev.
func (e *env) hasAddr(host, dev string, prefix netip.Prefix) bool {
	e.t.Helper()
	return strings.Contains(e.addrs(host, dev), " "+prefix.String()+" ")
}

// file reads a file of host's private directories.
func (e *env) file(host, path string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(e.lab.Hosts[host].Path(path))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// pidOf reads a pid file in host's /run.
func (e *env) pidOf(host, pidFile string) string {
	e.t.Helper()
	return strings.TrimSpace(e.exec(host, "cat", pidFile))
}

// removeForeignHAProxyCfg removes the haproxy.cfg that each host's private
// /etc/haproxy inherits from the machine (Debian's, which the agent rightly
// refuses to overwrite), as an operator would before handing a host over.
func (e *env) removeForeignHAProxyCfg(hosts ...string) {
	e.t.Helper()
	for _, h := range hosts {
		e.exec(h, "rm", "-f", "/etc/haproxy/haproxy.cfg")
	}
}

// waitFor polls cond until it holds, failing t with what after timeout; it
// returns how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for deadline := began.Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		if cond() {
			return time.Since(began)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// agentError returns the agent's own error inside err (a *agentbin.CallError
// carrying a *wire.Error), failing t when err is something else.
func agentError(t *testing.T, err error) (*agentbin.CallError, *wire.Error) {
	t.Helper()
	var ce *agentbin.CallError
	var we *wire.Error
	if !errors.As(err, &ce) || !errors.As(err, &we) {
		t.Fatalf("error %v (%T): want an agentbin.CallError carrying the agent's wire.Error", err, err)
	}
	return ce, we
}
