package agent

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
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
		name:       "haproxy",
		confPath:   HAProxyConf,
		pidFile:    HAProxyPid,
		mode:       secretFileMode,
		reloadSig:  sigUSR2,
		stopSig:    syscall.SIGTERM,
		testStep:   "test haproxy config",
		reloadStep: "reload haproxy",
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
