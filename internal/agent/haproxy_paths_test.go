package agent

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestHAProxyFiles(t *testing.T) {
	text := strings.Join([]string{
		"# stats socket /commented/out",
		"global",
		"    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners",
		"    stats socket ipv4@127.0.0.1:9999 level admin",
		"    pidfile /run/other.pid",
		"    unix-bind prefix /jail mode 600",
		"frontend f",
		"    bind :80,unix@/run/haproxy/f.sock",
		"    bind /run/haproxy/g.sock mode 600",
		"    bind abns@x",
		"    bind uxst@/run/haproxy/h.sock",
		"    bind 10.0.0.1:443 ssl crt /etc/haproxy/site.pem",
	}, "\n")
	var got []string
	for _, f := range haproxyFiles(text) {
		kind := "file"
		if f.socket {
			kind = "socket"
		}
		got = append(got, kind+" "+f.path)
	}
	want := []string{
		"file " + HAProxyPid,
		"file /run/other.pid",
		"socket /run/haproxy/admin.sock", "socket /jail/run/haproxy/admin.sock",
		"socket /run/haproxy/f.sock", "socket /jail/run/haproxy/f.sock",
		"socket /run/haproxy/g.sock", "socket /jail/run/haproxy/g.sock",
		"socket /run/haproxy/h.sock", "socket /jail/run/haproxy/h.sock",
	}
	if !slices.Equal(got, want) {
		t.Errorf("haproxyFiles =\n%q\nwant\n%q", got, want)
	}
}

// haproxySocketPath is where the fake host's haproxy puts its admin socket.
func haproxySocketPath(f *fakeHost) string { return filepath.Join(f.root, model.DefaultStatsSocket) }

// TestHAProxyRefusesToReplaceWhatIsAtTheSocketPath: a regular file, a
// directory or a symlink at the stats socket's path, or a symlinked socket
// directory, makes the apply refuse before anything runs or is written,
// and leaves what is there byte for byte.
func TestHAProxyRefusesToReplaceWhatIsAtTheSocketPath(t *testing.T) {
	cases := []struct {
		name    string
		place   func(t *testing.T, f *fakeHost) (check func(t *testing.T))
		message string
	}{
		{"regular file", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			write(t, haproxySocketPath(f), precious)
			return func(t *testing.T) { assertContent(t, haproxySocketPath(f)) }
		}, "/run/haproxy/admin.sock: a regular file of 32 bytes is there, not a socket, and haproxy would replace it"},
		{"directory", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			write(t, filepath.Join(haproxySocketPath(f), "keep"), precious)
			return func(t *testing.T) { assertContent(t, filepath.Join(haproxySocketPath(f), "keep")) }
		}, "a directory is there, not a socket"},
		{"symlink to a file", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			passwd := filepath.Join(f.root, "etc/passwd")
			write(t, passwd, precious)
			mkdir(t, filepath.Dir(haproxySocketPath(f)))
			if err := os.Symlink(passwd, haproxySocketPath(f)); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				assertContent(t, passwd)
				if target, err := os.Readlink(haproxySocketPath(f)); err != nil || target != passwd {
					t.Errorf("the symlink was changed: %q, %v", target, err)
				}
			}
		}, "a symlink is there, not a socket"},
		{"symlinked socket directory", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			etc := filepath.Join(f.root, "etc")
			write(t, filepath.Join(etc, "admin.sock"), precious)
			if err := os.Symlink(etc, filepath.Join(f.root, "run/haproxy")); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) { assertContent(t, filepath.Join(etc, "admin.sock")) }
		}, "the directory /run/haproxy is a symlink"},
		{"directory at the pid file", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			mkdir(t, filepath.Join(f.root, HAProxyPid))
			return func(t *testing.T) {
				if fi, err := os.Lstat(filepath.Join(f.root, HAProxyPid)); err != nil || !fi.IsDir() {
					t.Errorf("the directory at the pid file was changed: %v", err)
				}
			}
		}, HAProxyPid + ": a directory is there, not a regular file"},
		{"symlink at the pid file", func(t *testing.T, f *fakeHost) func(t *testing.T) {
			// haproxy opens its pid file with O_TRUNC through the link.
			shadow := filepath.Join(f.root, "etc/shadow")
			write(t, shadow, precious)
			if err := os.Symlink(shadow, filepath.Join(f.root, HAProxyPid)); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) { assertContent(t, shadow) }
		}, HAProxyPid + ": a symlink is there, not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, a := newFakeHost(t)
			check := tc.place(t, f)
			resp, code := apply(t, a, haproxyObjs(80))
			if code != wire.ExitForeign || resp.Error == nil {
				t.Fatalf("exit %d, error %+v; want ExitForeign", code, resp.Error)
			}
			if e := resp.Error; e.Step != "check haproxy paths" || e.Object != "haproxy "+HAProxyConf || !strings.Contains(e.Message, tc.message) {
				t.Errorf("error %+v; want step %q, object %q, message containing %q", e, "check haproxy paths", "haproxy "+HAProxyConf, tc.message)
			}
			check(t)
			if calls, signals := f.take(); len(calls) != 0 || len(signals) != 0 {
				t.Errorf("the refused apply ran %q and sent %q", calls, signals)
			}
			if _, err := os.Stat(filepath.Join(f.root, HAProxyConf)); err == nil {
				t.Error("haproxy.cfg was written by the refused apply")
			}
			assertNoTempFiles(t, filepath.Join(f.root, filepath.Dir(HAProxyConf)))
		})
	}
}

// TestHAProxyPathCheckKeepsThePreviousConfig: once haproxy runs, a file
// put at its socket's path refuses the next apply, which leaves the
// installed haproxy.cfg and the running haproxy alone.
func TestHAProxyPathCheckKeepsThePreviousConfig(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, haproxyObjs(80))
	before := f.read(HAProxyConf)
	f.take()

	write(t, haproxySocketPath(f), "not a socket\n")
	resp, code := apply(t, a, haproxyObjs(81))
	if code != wire.ExitForeign || resp.Error.Step != "check haproxy paths" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if f.read(HAProxyConf) != before {
		t.Error("haproxy.cfg changed although the apply was refused")
	}
	if calls, signals := f.take(); len(calls) != 0 || len(signals) != 0 {
		t.Errorf("the refused apply ran %q and sent %q (haproxy must keep running as it was)", calls, signals)
	}
	obs, _ := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve, LockTimeoutSeconds: 1})
	if st := obs.Observed.HAProxy; !st.Running || !st.ConfigMatches {
		t.Errorf("after the refused apply haproxy is %+v", st)
	}
}

// TestHAProxyPathCheckAcceptsItsOwnSocket: a socket at the path (haproxy's
// own, from its last start) does not stop the apply.
func TestHAProxyPathCheckAcceptsItsOwnSocket(t *testing.T) {
	f, a := newFakeHost(t)
	sock := haproxySocketPath(f)
	mkdir(t, filepath.Dir(sock))
	if len(sock) > 107 {
		t.Skipf("SKIPPED: the temporary socket path %s is too long for a unix socket", sock)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	write(t, filepath.Join(f.root, HAProxyPid), "12345\n") // a stale pid file is a regular file
	mustApply(t, a, haproxyObjs(80))
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("the socket is gone: %v", err)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// precious is the content of the files haproxy must never replace.
const precious = "root:x:0:0:root:/root:/bin/bash\n"

func assertContent(t *testing.T, p string) {
	want := precious
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if string(got) != want {
		t.Errorf("%s was changed: %q, want %q", p, got, want)
	}
}

// TestStoredHAProxyObjectWithARefusedPathIsNotApplied: an object stored
// before the model confined paths (stats socket /etc/passwd) is refused
// when the host's configuration is composed, with the attribute in the
// message, before any command runs: haproxy never gets the path.
func TestStoredHAProxyObjectWithARefusedPathIsNotApplied(t *testing.T) {
	f, a := newFakeHost(t)
	write(t, filepath.Join(f.root, "etc/passwd"), precious)
	objs := map[wire.Key]wire.Object{}
	for _, o := range haproxyObjs(80) {
		if o.HAProxySettings != nil {
			o.HAProxySettings.Global.StatsSocket = "/etc/passwd"
		}
		objs[o.Key] = o
	}
	if err := newStore(f.root).save(nil, objs); err != nil {
		t.Fatal(err)
	}
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbRestore, LockTimeoutSeconds: 1})
	if code != wire.ExitBadRequest || resp.Error == nil || !strings.Contains(resp.Error.Message, `global.stats_socket: "/etc/passwd" is outside the directories`) {
		t.Fatalf("exit %d, error %+v; want ExitBadRequest naming global.stats_socket", code, resp.Error)
	}
	if calls, _ := f.take(); len(calls) != 0 {
		t.Errorf("commands ran: %q", calls)
	}
	assertContent(t, filepath.Join(f.root, "etc/passwd"))
}
