package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvsadm"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// vmAgentVersion is the version stamped on the agent these tests build.
const vmAgentVersion = "vmlab"

// vmAgentBuild builds lvs-agent from this source tree once per test
// process (static, as `make agent` does), gzip-compressed in the layout the
// Deployer reads. The embedded binaries are not used: the restore-at-boot
// test needs the agent of the code under test, and they may be older.
var vmAgentBuild = sync.OnceValues(func() (fs.FS, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no go tool to build the agent: %w", err)
	}
	dir, err := os.MkdirTemp("", "lvs-vm-agent-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "lvs-agent")
	build := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+vmAgentVersion,
		"-o", bin, "github.com/lvsops/terraform-provider-lvs/internal/agent/cmd/lvs-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the agent: %w\n%s", err, out)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return fstest.MapFS{"lvs-agent-linux-" + runtime.GOARCH + ".gz": {Data: gz.Bytes()}}, nil
})

func vmAgentBinaries(t *testing.T) fs.FS {
	t.Helper()
	bins, err := vmAgentBuild()
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

// vmHost is one VM driven the way the provider drives a host: the agent
// installed and called by an agentbin.Deployer over a transport.Pool with
// the VM's SSH settings (key, known_hosts checked).
type vmHost struct {
	t      *testing.T
	vm     *vm.VM
	deploy *agentbin.Deployer
	host   *transport.Host
}

// vmStart boots a VM (skipping loudly, or failing under CI, when the VM
// lab cannot run) and connects a Deployer to it.
func vmStart(t *testing.T, name string, bins fs.FS) *vmHost {
	t.Helper()
	v := vm.Start(t, vm.Config{Name: name})
	d, err := agentbin.New(vmAgentVersion, bins)
	if err != nil {
		t.Fatal(err)
	}
	hostName, portText, err := net.SplitHostPort(v.SSHAddr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(nil)
	t.Cleanup(func() { _ = pool.Close() })
	h, err := pool.Host(transport.Config{
		Host: hostName, Port: port, User: "root",
		PrivateKeyPath:  v.KeyFile,
		KnownHostsFiles: []string{v.KnownHosts},
		ConnectTimeout:  time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &vmHost{t: t, vm: v, deploy: d, host: h}
}

func vmContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// call runs one agent request.
func (h *vmHost) call(req *wire.Request) (*wire.Response, error) {
	h.t.Helper()
	return h.deploy.Call(vmContext(h.t), h.host, req)
}

// apply puts and deletes objects and fails the test when the agent refuses.
func (h *vmHost) apply(put []wire.Object, del ...wire.Key) *wire.Response {
	h.t.Helper()
	resp, err := h.call(&wire.Request{Verb: wire.VerbApply, Put: put, Delete: del})
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return resp
}

func (h *vmHost) observe() *wire.Observed {
	h.t.Helper()
	resp, err := h.call(&wire.Request{Verb: wire.VerbObserve})
	if err != nil {
		h.t.Fatalf("observe: %v", err)
	}
	return resp.Observed
}

// sh runs a shell command in the VM over its own SSH client and returns
// its standard output; a failure fails the test.
func (h *vmHost) sh(cmd string) string {
	h.t.Helper()
	res, err := h.vm.Run(vmContext(h.t), cmd, nil)
	if err != nil {
		h.t.Fatalf("%s: %s: %v (stderr %q)", h.vm.Name, cmd, err, res.Stderr)
	}
	return res.Stdout
}

// kernelIPVS reads the kernel's table with ipvsadm-save -n into the model.
func (h *vmHost) kernelIPVS() []model.VirtualServer {
	h.t.Helper()
	out := h.sh("ipvsadm-save -n")
	list, err := ipvsadm.Parse(strings.NewReader(out))
	if err != nil {
		h.t.Fatalf("parsing ipvsadm-save -n: %v\n%s", err, out)
	}
	return vmSorted(list)
}

// vmObservedIPVS is the table an observe reported, in the model.
func vmObservedIPVS(obs *wire.Observed) []model.VirtualServer {
	var list []model.VirtualServer
	for _, s := range obs.IPVS {
		list = append(list, s.Service)
	}
	return vmSorted(list)
}

// vmSorted orders services by key and each one's real servers by key, so
// that two reads of one table compare equal.
func vmSorted(list []model.VirtualServer) []model.VirtualServer {
	out := slices.Clone(list)
	for i := range out {
		vs := &out[i]
		vs.RealServers = slices.Clone(vs.RealServers)
		slices.SortFunc(vs.RealServers, func(a, b model.RealServer) int {
			return strings.Compare(a.Key(vs), b.Key(vs))
		})
	}
	slices.SortFunc(out, func(a, b model.VirtualServer) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// vmJSON renders v for a failure message.
func vmJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// vmSameTable fails the test when two tables differ.
func vmSameTable(t *testing.T, what string, got, want []model.VirtualServer) {
	t.Helper()
	if g, w := vmJSON(got), vmJSON(want); g != w {
		t.Errorf("%s:\n%s\nwant\n%s", what, g, w)
	}
}

// vmService finds the service of key in a table.
func vmService(list []model.VirtualServer, key string) (model.VirtualServer, bool) {
	for _, vs := range list {
		if vs.Key() == key {
			return vs, true
		}
	}
	return model.VirtualServer{}, false
}

// vmWithout returns the table without the service of key.
func vmWithout(list []model.VirtualServer, key string) []model.VirtualServer {
	return slices.DeleteFunc(slices.Clone(list), func(vs model.VirtualServer) bool { return vs.Key() == key })
}

// vmAgentError returns the agent's own error from a failed call, or fails.
func vmAgentError(t *testing.T, err error) *wire.Error {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Fatalf("call failed outside the agent: %v", err)
	}
	return we
}

// vmEventually polls cond until it holds or the deadline passes.
func vmEventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state:\n%s", what, within, state)
		}
		time.Sleep(time.Second)
	}
}

// Objects.

func vmIntPtr(i int) *int { return &i }

func vmDirector(d model.Director) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &d}
}

func vmVirtualServer(vs model.VirtualServer) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: &vs}
}

func vmRealServer(vs model.VirtualServer, rs model.RealServer) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: vs.Key() + "/" + rs.Key(&vs)}, RealServer: &rs}
}
