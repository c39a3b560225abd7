//go:build unix

// Command lvs-agent runs on each host the provider manages: it reads one
// JSON request (internal/wire) on stdin, writes one JSON response on
// stdout, and exits with the wire's exit code. `lvs-agent version` prints
// its version; `lvs-agent restore` (the boot hook's form) serves the restore
// verb without a request on stdin. It never logs secrets; it writes nothing but the response
// to stdout.
//
// How the provider calls it: upload the binary once per host and version,
// then run it as root (`sudo -n /path/lvs-agent`) with the request on
// stdin, never in argv (it carries VRRP passwords). Per host and run send
// at most one apply carrying every Put and Delete (the agent rebuilds the
// host from all stored objects, so objects of other runs are kept), and
// serve every read from one observe. Exit codes: 0 ok, 1 a step failed and
// the host was left as before, 2 bad request (model errors with their
// attribute paths), 3 host lock held past lock_timeout_seconds (retry),
// 4 unsupported (no IPVS for a netlink director), 5 foreign config or
// IPVS service in the way: run the import verb and apply again with the
// imported keys in adopt. The response always carries the error's step,
// object and the tool's full stderr in detail.
//
// Flags (for tests): -root prefixes every path; -settle is how long a
// started daemon that shows nothing to compare must stay up; -reload-timeout
// bounds the wait for a started or reloaded daemon to show the new config.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/hostaddr"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/nftmark"
	"github.com/lvsops/terraform-provider-lvs/internal/sysctl"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// crashEnv names an apply step (agent.ApplySteps) before which the agent
// kills itself, pauseEnv one before which it sleeps pauseFor: for the
// crash tests only.
const (
	crashEnv = "LVS_AGENT_TEST_CRASH_AT"
	pauseEnv = "LVS_AGENT_TEST_PAUSE_AT"
	pauseFor = 5 * time.Second
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("lvs-agent", flag.ContinueOnError)
	root := fs.String("root", "/", "file-system root prefix (for tests)")
	settle := fs.Duration("settle", 2*time.Second, "how long a started daemon that shows nothing to compare (no IPVS service) must stay up")
	reloadTimeout := fs.Duration("reload-timeout", agent.DefaultReloadTimeout, "how long a started or reloaded daemon may take to show it runs the new config")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return wire.ExitBadRequest
	}
	if fs.Arg(0) == "version" {
		fmt.Println(version)
		return wire.ExitOK
	}
	// `lvs-agent restore` is the boot hook's form of the restore verb:
	// no request on stdin.
	bootRestore := fs.NArg() == 1 && fs.Arg(0) == string(wire.VerbRestore)
	if fs.NArg() > 0 && !bootRestore {
		fmt.Fprintf(os.Stderr, "lvs-agent: unexpected argument %q; the request comes on stdin\n", fs.Arg(0))
		return wire.ExitBadRequest
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A cut SSH connection must not stop an apply between two steps: the
	// agent finishes it (and its response goes nowhere). Were it stopped
	// anyway, its journal lets the next apply complete it.
	signal.Ignore(syscall.SIGHUP)

	a := &agent.Agent{
		Root:    *root,
		Version: version,
		Run:     agent.ExecRunner{},
		Procs:   agent.HostProcs{Root: *root},
		Sysctl:  sysctl.New(*root),
		Settle:  *settle,
		// Reloads are done on evidence (the IPVS table), bounded by this.
		ReloadTimeout: *reloadTimeout,
		Self:          self(),
		// The crash tests' hook: die as if SIGKILLed before the named step.
		CrashAt: os.Getenv(crashEnv),
		Crash:   func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) },
		PauseAt: os.Getenv(pauseEnv),
		Pause:   func() { time.Sleep(pauseFor) },
		// The connection the call came on, for the host's counters.
		Conn: os.Getenv("SSH_CONNECTION"),
		IPVS: ipvs.Open,
		Marks: func() (agent.Marks, error) {
			m, err := nftmark.Open()
			if err != nil {
				return nil, err
			}
			return m, nil
		},
		Guards: func() (agent.Guard, error) {
			m, err := nftmark.Open()
			if err != nil {
				return nil, err
			}
			return m, nil
		},
		Routing: func() (agent.Routing, error) {
			m, err := hostaddr.Open()
			if err != nil {
				return nil, err
			}
			return m, nil
		},
		Addrs: func() (agent.Addresses, error) {
			m, err := hostaddr.Open()
			if err != nil {
				return nil, err
			}
			return m, nil
		},
	}
	var resp *wire.Response
	var code int
	req, err := &wire.Request{Version: wire.Version, Verb: wire.VerbRestore}, error(nil)
	if !bootRestore {
		req, err = wire.ReadRequest(os.Stdin)
	}
	if err != nil {
		code = wire.ExitBadRequest
		resp = &wire.Response{Version: wire.Version, AgentVersion: version,
			Error: &wire.Error{Code: code, Step: "read request", Message: err.Error()}}
	} else {
		resp, code = a.Handle(ctx, req)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "lvs-agent: writing the response: %v\n", err)
		return wire.ExitFailed
	}
	return code
}

// self is the path of this binary with symlinks resolved (the boot hook
// links to it); empty when the system cannot say.
func self() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}
