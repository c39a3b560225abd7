package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
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
		// Never -P (VRRP only), so that no change of the config needs a
		// restart: keepalived 2.x starts its checker process only for a
		// config with virtual_server blocks (main.c running_checker:
		// have_checker_config), so one without them runs VRRP only, also
		// on a kernel without IPVS; and a reload that brings the first
		// virtual_server starts the checker (propagate_signal). An
		// engine switch, or a director's first real server, is then a
		// reload, which leaves the VRRP instances and their VIPs where
		// they are; a restart would take the VIPs down on every
		// director of the group at once.
		startArgs: func([]byte) []string {
			return []string{"keepalived", "-D", "-f", a.path(KeepalivedConf), "-p", a.path(KeepalivedPid)}
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
// not write is replaced rather than refused. With stored (the host stored
// the director before this apply), it is ours by the store: a file
// replaced by hand is kept aside and repaired.
func (a *Agent) prepareKeepalived(ctx context.Context, hc *hostConfig, adopt, stored bool) (*daemon, *wire.Error) {
	d := a.keepalived()
	d.adopt = adopt
	if stored {
		d.owner = "director object"
	}
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
		out := strings.TrimSpace(stderr + stdout)
		if err != nil && exitCode(err) == keepalivedExitConfigTest {
			if warns, ok := harmlessKeepalivedWarnings(out); ok {
				d.warnings = append(d.warnings, warns...)
				return out, nil
			}
		}
		return out, err
	})
	return d, werr
}

// vrrpStates asks keepalived for its VRRP state (its JSON dump) and
// returns each instance's state; nil when keepalived cannot say.
func (a *Agent) vrrpStates(ctx context.Context, pid int) map[string]string {
	d := a.vrrpDump(ctx, pid)
	if d == nil {
		return nil
	}
	return d.states
}

// vrrpDump asks keepalived for its JSON dump and reads it; nil when
// keepalived cannot say.
func (a *Agent) vrrpDump(ctx context.Context, pid int) *vrrpDumped {
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
		if d, err := parseVRRPJSON(data); err == nil {
			return d
		}
	}
	return nil
}

// vrrpStateNames are keepalived's VRRP_STATE_* values.
var vrrpStateNames = map[int]string{0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}

// vrrpDumped is what the agent reads from keepalived's JSON dump.
type vrrpDumped struct {
	states map[string]string
	// elections holds the instances whose dump names their effective
	// priority (every keepalived with a JSON dump does).
	elections map[string]wire.VRRPElection
}

// parseVRRPJSON reads keepalived's JSON dump: one element per instance,
// with its name, numeric state and election settings (vrrp/vrrp_json.c).
func parseVRRPJSON(data []byte) (*vrrpDumped, error) {
	var dump []struct {
		Data struct {
			Name              string `json:"iname"`
			State             int    `json:"state"`
			EffectivePriority *int   `json:"effective_priority"`
			// nopreempt is a JSON bool in keepalived 2.2 and later, a number
			// before.
			Nopreempt    json.RawMessage `json:"nopreempt"`
			PreemptDelay int             `json:"preempt_delay"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &dump); err != nil {
		return nil, err
	}
	out := &vrrpDumped{states: map[string]string{}, elections: map[string]wire.VRRPElection{}}
	for _, in := range dump {
		name, ok := vrrpStateNames[in.Data.State]
		if !ok {
			name = fmt.Sprintf("UNKNOWN(%d)", in.Data.State)
		}
		out.states[in.Data.Name] = name
		if in.Data.EffectivePriority != nil {
			np := strings.TrimSpace(string(in.Data.Nopreempt))
			out.elections[in.Data.Name] = wire.VRRPElection{
				Priority:     *in.Data.EffectivePriority,
				Preempt:      np == "" || np == "false" || np == "0",
				PreemptDelay: in.Data.PreemptDelay,
			}
		}
	}
	return out, nil
}

// keepalivedExitConfigTest is keepalived's KEEPALIVED_EXIT_CONFIG_TEST:
// keepalived -t found configuration errors that are not fatal. keepalived
// reports its warnings at that same level (report_config_error with
// CONFIG_GENERAL_ERROR), so the status alone does not tell a warning from
// an unknown keyword; the output does (harmlessKeepalivedWarnings).
const keepalivedExitConfigTest = 5

var (
	// keepalived's check of a virtual server whose real servers weigh 0 in
	// all: it lowers the quorum to 0 (check/check_data.c).
	quorumToZeroRE = regexp.MustCompile(`^Warning - quorum \d+ for (.+) exceeds total weight of real servers 0, reducing quorum to 0$`)
	// What follows from it: the hysteresis is now >= the quorum of 0.
	hysteresisToZeroQuorumRE = regexp.MustCompile(`^Virtual server (.+): hysteresis \d+ >= quorum 0; setting hysteresis to \d+$`)
)

// harmlessKeepalivedWarnings reports whether the output of a keepalived -t
// that exited with keepalivedExitConfigTest holds only warnings that are
// safe to run with, and returns them. Only one case is: a virtual server
// whose real servers are all at weight 0, as while they drain before a
// destroy (or by the user's choice). keepalived lowers its quorum to 0 and
// then its hysteresis to match; the service carries no traffic either way.
// Any other line, including a quorum above a non-zero total weight (a
// mistake: the service could never reach it), makes the config refused.
func harmlessKeepalivedWarnings(out string) ([]string, bool) {
	var warns []string
	drained := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := quorumToZeroRE.FindStringSubmatch(line); m != nil {
			drained[m[1]] = true
			warns = append(warns, "keepalived -t: "+line+" (every real server of the service is at weight 0, as while draining)")
			continue
		}
		if m := hysteresisToZeroQuorumRE.FindStringSubmatch(line); m != nil && drained[m[1]] {
			continue
		}
		return nil, false
	}
	return warns, len(warns) > 0
}

// exitCode is the exit status of a command that failed, or -1 when it did
// not exit (not started, killed).
func exitCode(err error) int {
	var e interface{ ExitCode() int }
	if errors.As(err, &e) {
		return e.ExitCode()
	}
	return -1
}
