package agent

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// HAProxy's files on the host.
const (
	HAProxyConf = "/etc/haproxy/haproxy.cfg"
	HAProxyPid  = "/run/haproxy.pid"
)

// haproxy runs master-worker (-W): a reload is SIGUSR2 to the master, which
// re-executes itself with the new config and hands the listening sockets
// to the new worker, so no connection is refused; a config the new worker
// cannot load leaves the old worker running.
func (a *Agent) haproxy(socket string) *daemon {
	return &daemon{
		name:      "haproxy",
		confPath:  HAProxyConf,
		pidFile:   HAProxyPid,
		mode:      secretFileMode,
		reloadSig: sigUSR2,
		stopSig:   syscall.SIGTERM,
		// The master re-executes itself on SIGUSR2; one sent before it forked
		// the new worker is lost, so a reload waits for that worker.
		newWorkerOnReload: true,
		testStep:          "test haproxy config",
		reloadStep:        "reload haproxy",
		startArgs: func([]byte) []string {
			return []string{"haproxy", "-W", "-D", "-f", a.path(HAProxyConf), "-p", a.path(HAProxyPid)}
		},
		beforeStart: func() error {
			return os.MkdirAll(filepath.Dir(a.path(socket)), 0o755)
		},
	}
}

// statsSocket is the admin socket of cfg.
func statsSocket(cfg *model.HAProxyConfig) string {
	if cfg == nil || cfg.Global.StatsSocket == "" {
		return model.DefaultStatsSocket
	}
	return cfg.Global.StatsSocket
}

// prepareHAProxy renders haproxy.cfg and checks it with haproxy -c. With
// adopt, an haproxy.cfg lvs-agent did not write is replaced rather than
// refused.
func (a *Agent) prepareHAProxy(ctx context.Context, hc *hostConfig, adopt bool) (*daemon, *wire.Error) {
	d := a.haproxy(statsSocket(hc.haproxy))
	d.adopt = adopt
	var want []byte
	if hc.haproxy != nil {
		text, err := render.HAProxy(hc.haproxy)
		if err != nil {
			return nil, &wire.Error{Code: wire.ExitBadRequest, Step: "render haproxy.cfg", Object: "haproxy", Message: err.Error()}
		}
		want = []byte(text)
		if werr := a.checkHAProxyPaths(d, text); werr != nil {
			return nil, werr
		}
	}
	werr := a.prepare(ctx, d, want, func(ctx context.Context, path string) (string, error) {
		stdout, stderr, err := a.Run.Run(ctx, "haproxy", "-c", "-f", path)
		return strings.TrimSpace(stderr + stdout), err
	})
	return d, werr
}

// haproxyServers reads each server's state (backend/server -> UP, DOWN,
// MAINT, ...) from the admin socket; nil when the socket does not answer.
func (a *Agent) haproxyServers(socket string) map[string]string {
	conn, err := net.DialTimeout("unix", a.path(socket), time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return nil
	}
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil
	}
	return parseShowStat(bufio.NewReader(conn))
}

// parseShowStat reads the CSV of "show stat": pxname, svname, ... status.
func parseShowStat(r io.Reader) map[string]string {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.TrimSpace(h), "# ")] = i
	}
	px, sv, st := col["pxname"], col["svname"], col["status"]
	out := map[string]string{}
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if len(rec) <= st || rec[sv] == "FRONTEND" || rec[sv] == "BACKEND" {
			continue
		}
		out[rec[px]+"/"+rec[sv]] = rec[st]
	}
	return out
}

// haproxyFile is a path haproxy creates or writes when it runs a config:
// a unix socket it binds (the stats socket, a unix bind), which it binds
// under a temporary name and renames over the path, or a pid file, which
// it truncates and writes.
type haproxyFile struct {
	path string
	// socket: only a socket may be at path; else only a regular file.
	socket bool
	// what names the line or argument that asks for the file.
	what string
}

// haproxyFiles lists the files haproxy creates or writes when it runs
// text, a haproxy.cfg: its stats sockets, its unix socket binds (a path or
// unix@path; abns@ sockets are abstract and have no file), pidfile lines,
// and the pid file lvs-agent starts it with. A unix-bind prefix, which
// haproxy puts before socket paths, is applied as well as not, so both
// places are checked.
func haproxyFiles(text string) []haproxyFile {
	type line struct {
		what  string
		addrs []string
	}
	var sockets []line
	prefix := ""
	out := []haproxyFile{{path: HAProxyPid, what: "the pid file lvs-agent starts haproxy with (-p)"}}
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case len(f) >= 3 && f[0] == "stats" && f[1] == "socket":
			sockets = append(sockets, line{"stats socket", f[2:3]})
		case len(f) >= 2 && f[0] == "bind":
			sockets = append(sockets, line{"bind " + f[1], strings.Split(f[1], ",")})
		case len(f) >= 2 && f[0] == "pidfile":
			out = append(out, haproxyFile{path: f[1], what: "pidfile"})
		case len(f) >= 3 && f[0] == "unix-bind":
			for i := 1; i+1 < len(f); i += 2 {
				if f[i] == "prefix" {
					prefix = f[i+1]
				}
			}
		}
	}
	for _, s := range sockets {
		for _, a := range s.addrs {
			p, ok := unixSocketPath(a)
			if !ok {
				continue
			}
			out = append(out, haproxyFile{path: p, socket: true, what: s.what})
			if prefix != "" {
				out = append(out, haproxyFile{path: prefix + p, socket: true, what: s.what + " (after unix-bind prefix " + prefix + ")"})
			}
		}
	}
	return out
}

// unixSocketPath is the file of a unix socket address: /run/x.sock,
// unix@/run/x.sock, and haproxy 3.1's uxst@ and uxdg@ spellings.
func unixSocketPath(a string) (string, bool) {
	if strings.HasPrefix(a, "/") {
		return a, true
	}
	for _, prefix := range []string{"unix@", "uxst@", "uxdg@"} {
		if p, ok := strings.CutPrefix(a, prefix); ok {
			return p, true
		}
	}
	return "", false
}

// checkHAProxyPaths refuses to let haproxy replace a file that is not what
// its path is for: before the config text is tested or installed, every
// file haproxy would create (haproxyFiles) must be absent or already of
// its kind (a socket for a socket, a regular file for a pid file), and no
// directory from the confining one down (/run/haproxy) may be a symlink,
// which would move the socket anywhere. The model refuses such paths at
// plan time; this is for hosts where something else put a file there.
// Nothing is changed when it refuses, so the running haproxy keeps its
// config.
func (a *Agent) checkHAProxyPaths(d *daemon, text string) *wire.Error {
	const step = "check haproxy paths"
	refuse := func(code int, format string, args ...any) *wire.Error {
		return &wire.Error{Code: code, Step: step, Object: d.object(), Message: fmt.Sprintf(format, args...)}
	}
	for _, f := range haproxyFiles(text) {
		if !filepath.IsAbs(f.path) || path.Clean(f.path) != f.path {
			return refuse(wire.ExitBadRequest, "%s %s is not a clean absolute path; haproxy would create a file there", f.what, f.path)
		}
		for _, dir := range confinedDirs(f.path) {
			fi, err := os.Lstat(a.path(dir))
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return refuse(wire.ExitFailed, "%s %s: %v", f.what, f.path, err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(a.path(dir))
				return refuse(wire.ExitForeign, "%s %s: the directory %s is a symlink (to %s), so haproxy would create the file wherever it points; "+
					"lvs-agent never lets a daemon write through a link it did not make: replace the link with a directory",
					f.what, f.path, dir, target)
			}
		}
		fi, err := os.Lstat(a.path(f.path))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return refuse(wire.ExitFailed, "%s %s: %v", f.what, f.path, err)
		}
		want, ok := "a socket", fi.Mode()&fs.ModeSocket != 0
		if !f.socket {
			want, ok = "a regular file", fi.Mode().IsRegular()
		}
		if !ok {
			return refuse(wire.ExitForeign, "%s %s: %s is there, not %s, and haproxy would replace it; "+
				"lvs-agent never lets a daemon replace a file that is not what the path is for: move it away or choose another path. "+
				"haproxy.cfg and the running haproxy were left as they were", f.what, f.path, describeFile(fi), want)
		}
	}
	return nil
}

// confinedDirs are the directories of p, from the directory that confines
// it (one of model.HAProxyStatsSocketDirs) down to p's parent; none when p
// lies in no such directory (the directories above it belong to the
// distribution: /var/run is a symlink to /run on current systems).
func confinedDirs(p string) []string {
	for _, base := range model.HAProxyStatsSocketDirs {
		rest, ok := strings.CutPrefix(p, base+"/")
		if !ok {
			continue
		}
		dirs := []string{base}
		parts := strings.Split(rest, "/")
		for _, part := range parts[:len(parts)-1] {
			dirs = append(dirs, dirs[len(dirs)-1]+"/"+part)
		}
		return dirs
	}
	return nil
}

// describeFile names what a file is: a regular file of 42 bytes, a
// directory, a symlink.
func describeFile(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsRegular():
		return fmt.Sprintf("a regular file of %d bytes", fi.Size())
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a file of mode " + fi.Mode().String()
}
