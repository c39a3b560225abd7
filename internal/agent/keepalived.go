package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// Keepalived's files on the host.
const (
	KeepalivedConf = "/etc/keepalived/keepalived.conf"
	KeepalivedPid  = "/run/keepalived.pid"
	// keepalivedJSON is where keepalived dumps its VRRP state on its JSON
	// signal (keepalived --signum=JSON).
	keepalivedJSON = "/tmp/keepalived.json"
)

func (a *Agent) keepalived() *daemon {
	return &daemon{
		name:       "keepalived",
		confPath:   KeepalivedConf,
		pidFile:    KeepalivedPid,
		mode:       secretFileMode, // it holds VRRP passwords
		reloadSig:  syscall.SIGHUP,
		stopSig:    syscall.SIGTERM,
		testStep:   "test keepalived config",
		reloadStep: "reload keepalived",
		startArgs: func(conf []byte) []string {
			args := []string{"keepalived", "-D", "-f", a.path(KeepalivedConf), "-p", a.path(KeepalivedPid)}
			// Without virtual_server blocks keepalived runs VRRP only:
			// its checker process would need IPVS, and on a kernel
			// without IPVS keepalived exits entirely when that fails.
			if !hasVirtualServers(conf) {
				args = append(args, "-P")
			}
			return args
		},
	}
}

// hasVirtualServers reports whether a keepalived.conf has virtual_server
// blocks (the renderer leaves them out for the netlink engine and for
// virtual servers without real servers).
func hasVirtualServers(conf []byte) bool {
	for _, line := range bytes.Split(conf, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("virtual_server ")) {
			return true
		}
	}
	return false
}

// prepareKeepalived renders keepalived.conf from the host's objects and
// checks it with keepalived -t. With adopt, a keepalived.conf lvs-agent did
// not write is replaced rather than refused.
func (a *Agent) prepareKeepalived(ctx context.Context, hc *hostConfig, adopt bool) (*daemon, *wire.Error) {
	d := a.keepalived()
	d.adopt = adopt
	var want []byte
	if hc.keepalived != nil {
		text, err := render.Keepalived(hc.keepalived)
		if err != nil {
			return nil, &wire.Error{Code: wire.ExitBadRequest, Step: "render keepalived.conf", Object: "director director", Message: err.Error()}
		}
		want = []byte(text)
	}
	werr := a.prepare(ctx, d, want, func(ctx context.Context, path string) (string, error) {
		stdout, stderr, err := a.Run.Run(ctx, "keepalived", "-t", "-f", path)
		return strings.TrimSpace(stderr + stdout), err
	})
	return d, werr
}

// vrrpStates asks keepalived for its VRRP state (its JSON dump) and
// returns each instance's state; nil when keepalived cannot say.
func (a *Agent) vrrpStates(ctx context.Context, pid int) map[string]string {
	out, _, err := a.Run.Run(ctx, "keepalived", "--signum=JSON")
	if err != nil {
		return nil
	}
	sig, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || sig <= 0 {
		return nil
	}
	path := a.path(keepalivedJSON)
	os.Remove(path)
	// The dump may carry VRRP passwords: never leave it behind.
	defer os.Remove(path)
	if err := a.Procs.Signal(pid, syscall.Signal(sig)); err != nil {
		return nil
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(a.poll()) {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if states, err := parseVRRPJSON(data); err == nil {
			return states
		}
	}
	return nil
}

// vrrpStateNames are keepalived's VRRP_STATE_* values.
var vrrpStateNames = map[int]string{0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}

// parseVRRPJSON reads keepalived's JSON dump: one element per instance,
// with its name and numeric state.
func parseVRRPJSON(data []byte) (map[string]string, error) {
	var dump []struct {
		Data struct {
			Name  string `json:"iname"`
			State int    `json:"state"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &dump); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, in := range dump {
		name, ok := vrrpStateNames[in.Data.State]
		if !ok {
			name = fmt.Sprintf("UNKNOWN(%d)", in.Data.State)
		}
		out[in.Data.Name] = name
	}
	return out, nil
}

// harmlessKeepalivedWarnings reports whether the output of a keepalived -t
// that exited with status 5 holds only warnings that are safe to run
// with. So far none is.
func harmlessKeepalivedWarnings(string) ([]string, bool) { return nil, false }
