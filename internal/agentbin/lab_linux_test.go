package agentbin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// labConfig is this package's own lab, so its tests never wait for the
// shared test lab of other packages.
var labConfig = netns.Config{
	Name:   "agentbin",
	Subnet: netip.MustParsePrefix("10.79.0.0/24"),
	Hosts:  []string{"dir1", "dir2"},
}

// TestLabEnsureAndCall installs the real agent on two lab hosts over real
// SSH and runs it.
func TestLabEnsureAndCall(t *testing.T) {
	bins, version := labAgent(t)
	// The agent of another version, for the upgrade at the end.
	const next = "agentbin-next"
	nextBins := buildAgent(t, next)
	l := netns.Start(t, labConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pool := transport.NewPool(nil)
	t.Cleanup(func() { _ = pool.Close() })

	hosts := map[string]*countingRunner{}
	for _, name := range l.Order {
		h := l.Hosts[name]
		th, err := pool.Host(transport.Config{
			Host: h.Addr.String(), Port: h.SSHPort, User: h.User,
			PrivateKey: string(h.ClientKeyPEM), KnownHostsFiles: []string{h.KnownHostsPath},
		})
		if err != nil {
			t.Fatal(err)
		}
		hosts[name] = &countingRunner{Runner: th}
	}
	bin, err := load(bins, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	path := RemotePath(version, bin.sum)
	install := StepInstall + " " + path

	// A fresh host: detected, checked, installed.
	d := newDeployer(t, version, bins)
	files := map[string]fileID{}
	for _, name := range l.Order {
		r := hosts[name]
		got, uploaded, err := d.Ensure(ctx, r)
		if err != nil || got != path || !uploaded {
			t.Fatalf("%s: first Ensure = %q, %v, %v; want %q, uploaded", name, got, uploaded, err, path)
		}
		r.expectSteps(t, StepDetectArch, StepCheck, install)
		files[name] = installedFile(t, l.Hosts[name], path, bin.sum)
	}

	// A new run (a new Deployer): architecture and checksum read, nothing
	// written. The same Deployer again: the checksum only.
	d = newDeployer(t, version, bins)
	for _, steps := range [][]string{{StepDetectArch, StepCheck}, {StepCheck}} {
		for _, name := range l.Order {
			r := hosts[name]
			if got, uploaded, err := d.Ensure(ctx, r); err != nil || got != path || uploaded {
				t.Fatalf("%s: Ensure of an installed agent = %q, %v, %v; want %q, not uploaded", name, got, uploaded, err, path)
			}
			r.expectSteps(t, steps...)
			if f := installedFile(t, l.Hosts[name], path, bin.sum); f != files[name] {
				t.Errorf("%s: the installed agent was rewritten: %+v, before %+v", name, f, files[name])
			}
		}
	}

	// A corrupt copy on dir1 is replaced; dir2's is left alone.
	if err := os.WriteFile(l.Hosts["dir1"].Path(path), []byte("#!/bin/sh\necho corrupt\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, uploaded, err := d.Ensure(ctx, hosts["dir1"]); err != nil || !uploaded {
		t.Fatalf("dir1: Ensure over a corrupt copy = %v, %v; want uploaded", uploaded, err)
	}
	hosts["dir1"].expectSteps(t, StepCheck, install)
	installedFile(t, l.Hosts["dir1"], path, bin.sum)
	if f := installedFile(t, l.Hosts["dir2"], path, bin.sum); f != files["dir2"] {
		t.Errorf("dir2: the installed agent was rewritten")
	}

	for _, name := range l.Order {
		r := hosts[name]
		resp, err := d.Call(ctx, r, &wire.Request{Verb: wire.VerbVersion})
		if err != nil || resp.AgentVersion != version {
			t.Fatalf("%s: Call version = %+v, %v; want agent version %q", name, resp, err, version)
		}
		resp, err = d.Call(ctx, r, &wire.Request{Verb: wire.VerbObserve})
		if err != nil {
			t.Fatalf("%s: Call observe: %v", name, err)
		}
		if resp.Observed == nil || resp.Observed.Hostname != name {
			t.Errorf("%s: observe reported %+v; want hostname %q", name, resp.Observed, name)
		}
		r.expectSteps(t, "agent version", "agent observe")
	}

	// A verb the agent refuses comes back as its own error and exit code.
	_, err = d.Call(ctx, hosts["dir2"], &wire.Request{Verb: "reboot"})
	var ce *CallError
	var we *wire.Error
	if !errors.As(err, &ce) || ce.ExitCode != wire.ExitUnsupported || !errors.As(err, &we) || ce.Step != we.Step {
		t.Fatalf("Call of an unknown verb = %v; want a CallError with the agent's error and exit code %d", err, wire.ExitUnsupported)
	}
	if !strings.Contains(err.Error(), hosts["dir2"].String()+": agent reboot (exit code 4, unsupported)") {
		t.Errorf("error %q does not name host, verb and exit code", err)
	}
	hosts["dir2"].expectSteps(t, "agent reboot")

	// The agent vanished from dir2: the call fails naming it, and the next
	// call installs it again.
	if err := os.Remove(l.Hosts["dir2"].Path(path)); err != nil {
		t.Fatal(err)
	}
	_, err = d.Call(ctx, hosts["dir2"], &wire.Request{Verb: wire.VerbVersion})
	if !errors.As(err, &ce) || ce.ExitCode != exitNotFound || ce.Step != StepResponse || !strings.Contains(ce.Stderr, path) {
		t.Fatalf("Call of a removed agent = %v; want exit %d at %q with the shell's complaint", err, exitNotFound, StepResponse)
	}
	if resp, err := d.Call(ctx, hosts["dir2"], &wire.Request{Verb: wire.VerbVersion}); err != nil || resp.AgentVersion != version {
		t.Fatalf("Call after the agent vanished = %+v, %v", resp, err)
	}
	hosts["dir2"].expectSteps(t, "agent version", StepCheck, install, "agent version")
	installedFile(t, l.Hosts["dir2"], path, bin.sum)

	// Another provider version on the same host (an upgrade, or a second
	// configuration pinning another release): its agent goes beside the
	// old one, which is left as it is for whoever still runs it, and
	// answers with its own version; the old version's next run finds its
	// agent still there and uploads nothing.
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nextBin, err := load(nextBins, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	nextPath := RemotePath(next, nextBin.sum)
	if nextPath == path {
		t.Fatalf("versions %s and %s share the path %s", version, next, path)
	}
	dNext := newDeployer(t, next, nextBins)
	if got, uploaded, err := dNext.Ensure(ctx, hosts["dir1"]); err != nil || got != nextPath || !uploaded {
		t.Fatalf("dir1: Ensure of version %s = %q, %v, %v; want %q, uploaded", next, got, uploaded, err, nextPath)
	}
	hosts["dir1"].expectSteps(t, StepDetectArch, StepCheck, StepInstall+" "+nextPath)
	installedFile(t, l.Hosts["dir1"], nextPath, nextBin.sum)
	oldFile := installedFile(t, l.Hosts["dir1"], path, bin.sum)
	if resp, err := dNext.Call(ctx, hosts["dir1"], &wire.Request{Verb: wire.VerbVersion}); err != nil || resp.AgentVersion != next {
		t.Fatalf("dir1: Call version through %s = %+v, %v", next, resp, err)
	}
	dOld := newDeployer(t, version, bins)
	if resp, err := dOld.Call(ctx, hosts["dir1"], &wire.Request{Verb: wire.VerbVersion}); err != nil || resp.AgentVersion != version {
		t.Fatalf("dir1: Call version through %s after %s = %+v, %v", version, next, resp, err)
	}
	hosts["dir1"].expectSteps(t, "agent version", StepDetectArch, StepCheck, "agent version")
	if f := installedFile(t, l.Hosts["dir1"], path, bin.sum); f != oldFile {
		t.Errorf("dir1: the %s agent was rewritten when %s ran again", version, version)
	}
}

// newDeployer is New for a test.
func newDeployer(t *testing.T, version string, bins fs.FS) *Deployer {
	t.Helper()
	d, err := New(version, bins)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// countingRunner records the step of every command run through it.
type countingRunner struct {
	Runner
	mu    sync.Mutex
	steps []string
}

func (c *countingRunner) Run(ctx context.Context, cmd transport.Command) (*transport.Result, error) {
	c.mu.Lock()
	c.steps = append(c.steps, cmd.Step)
	c.mu.Unlock()
	return c.Runner.Run(ctx, cmd)
}

// expectSteps checks the steps run since the last call, and forgets them.
func (c *countingRunner) expectSteps(t *testing.T, want ...string) {
	t.Helper()
	c.mu.Lock()
	got := c.steps
	c.steps = nil
	c.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("%s: commands run %q; want %q", c, got, want)
	}
}

// fileID identifies one version of a file: a rewrite changes it.
type fileID struct {
	ino   uint64
	mtime time.Time
}

// installedFile checks the agent installed on h at path (sha256, mode, no
// temporaries beside it) and returns its identity.
func installedFile(t *testing.T, h *netns.Host, path, sum string) fileID {
	t.Helper()
	local := h.Path(path)
	b, err := os.ReadFile(local)
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
		t.Errorf("%s: %s has sha256 %x; want %s", h.Name, path, got, sum)
	}
	fi, err := os.Stat(local)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %s has mode %v; want 0755", h.Name, path, fi.Mode())
	}
	entries, err := os.ReadDir(filepath.Dir(local))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s: temporary file %s left in %s", h.Name, e.Name(), RemoteDir)
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no inode for %s", local)
	}
	return fileID{ino: st.Ino, mtime: fi.ModTime()}
}

// labAgent returns a binary set holding the agent for this machine and its
// version: the embedded one when `make agent` has built it, else one built
// here from the source.
func labAgent(t *testing.T) (fs.FS, string) {
	t.Helper()
	if raw, err := Binary(runtime.GOARCH); err == nil {
		bin := filepath.Join(t.TempDir(), "lvs-agent")
		if err := os.WriteFile(bin, raw, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("embedded agent: lvs-agent version: %v", err)
		}
		t.Logf("using the embedded agent, version %s", out)
		return Embedded(), strings.TrimSpace(string(out))
	} else if !errors.Is(err, ErrNotBuilt) {
		t.Fatal(err)
	}
	const version = "agentbin-lab"
	return buildAgent(t, version), version
}

// buildAgent builds the agent of this source tree stamped with version, in
// the layout a Deployer reads.
func buildAgent(t *testing.T, version string) fs.FS {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool to build the agent: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "lvs-agent")
	build := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", bin, "../agent/cmd/lvs-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the agent %s from source: %d bytes, %d compressed", version, len(raw), gz.Len())
	return fstest.MapFS{fileName(runtime.GOARCH): {Data: gz.Bytes()}}
}
