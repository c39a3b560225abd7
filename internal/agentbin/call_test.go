package agentbin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestInterpret feeds canned agent outputs and exit codes through the
// response mapping.
func TestInterpret(t *testing.T) {
	observed := `{"version":2,"agent_version":"1.0.0","observed":{"hostname":"dir1","machine":"x86_64","kernel":"6.1","ipvs_available":false}}`
	foreign := `{"version":2,"agent_version":"1.0.0","error":{"code":5,"step":"install keepalived.conf","object":"director director","message":"/etc/keepalived/keepalived.conf was not written by us","detail":"import it first"}}`
	lost := &transport.Error{Host: host1, Step: "agent observe", Op: "run", Err: transport.ErrConnectionLost}
	for _, tc := range []struct {
		name      string
		run       expect
		wantResp  bool
		wantStep  string
		wantExit  int
		wantAgent bool
		errHas    []string
	}{{
		name:     "ok",
		run:      expect{res: ok(observed + "\n")},
		wantResp: true,
	}, {
		name:      "agent reports a failure",
		run:       exited(wire.ExitForeign, foreign, ""),
		wantResp:  true,
		wantStep:  "install keepalived.conf",
		wantExit:  wire.ExitForeign,
		wantAgent: true,
		errHas:    []string{host1, "agent observe", "exit code 5, foreign", "director director: install keepalived.conf", "not written by us", "import it first"},
	}, {
		name:      "agent reports a failure but exits 0",
		run:       expect{res: ok(foreign)},
		wantResp:  true,
		wantStep:  "install keepalived.conf",
		wantAgent: true,
		errHas:    []string{"not written by us"},
	}, {
		name:     "non-zero exit without an error in the response",
		run:      exited(wire.ExitFailed, observed, "panic: boom"),
		wantResp: true,
		wantStep: StepRun,
		wantExit: wire.ExitFailed,
		errHas:   []string{"without saying why", "panic: boom"},
	}, {
		name:     "no response",
		run:      exited(2, "", "goroutine 1 [running]:\nmain.main()"),
		wantStep: StepResponse,
		wantExit: 2,
		errHas:   []string{host1, "agent observe", "read response", "no response", "stderr:\ngoroutine 1 [running]:\nmain.main()"},
	}, {
		name:     "not found",
		run:      exited(127, "", "sh: 1: /var/lib/lvs-agent/bin/lvs-agent-x: not found"),
		wantStep: StepResponse,
		wantExit: 127,
		errHas:   []string{"exit code 127, not found", "lvs-agent-x: not found"},
	}, {
		name:     "garbled response",
		run:      expect{res: &transport.Result{Stdout: []byte(`{"version":2,"agent_vers`), Stderr: []byte("killed")}},
		wantStep: StepResponse,
		errHas:   []string{"unreadable response", `agent_vers`, "stderr:\nkilled"},
	}, {
		name:     "two documents",
		run:      expect{res: ok(observed + "\n" + observed)},
		wantStep: StepResponse,
		errHas:   []string{"more than one JSON document"},
	}, {
		name:     "other wire version",
		run:      expect{res: ok(`{"version":3,"agent_version":"9"}`)},
		wantStep: StepResponse,
		errHas:   []string{"wire version 3, expected 2"},
	}, {
		name:     "connection lost",
		run:      expect{err: lost},
		wantStep: StepRun,
		errHas:   []string{host1, "agent observe: run agent", "ssh connection lost"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := interpret(host1, wire.VerbObserve, tc.run.res, tc.run.err)
			if (resp != nil) != tc.wantResp {
				t.Errorf("response %+v; want one: %v", resp, tc.wantResp)
			}
			if resp != nil && (resp.AgentVersion != "1.0.0" || resp.Observed == nil && resp.Error == nil) {
				t.Errorf("response not decoded: %+v", resp)
			}
			if tc.wantStep == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if resp.Observed.Hostname != "dir1" {
					t.Errorf("hostname %q", resp.Observed.Hostname)
				}
				return
			}
			var ce *CallError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *CallError", err, err)
			}
			if ce.Host != host1 || ce.Verb != wire.VerbObserve || ce.Step != tc.wantStep || ce.ExitCode != tc.wantExit {
				t.Errorf("CallError host %q verb %q step %q exit %d; want %q %q %q %d",
					ce.Host, ce.Verb, ce.Step, ce.ExitCode, host1, wire.VerbObserve, tc.wantStep, tc.wantExit)
			}
			var we *wire.Error
			if errors.As(err, &we) != tc.wantAgent {
				t.Errorf("errors.As(*wire.Error) = %v; want %v", !tc.wantAgent, tc.wantAgent)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if got, want := transport.IsTransient(err), errors.Is(tc.run.err, transport.ErrConnectionLost); got != want {
				t.Errorf("IsTransient = %v; want %v", got, want)
			}
		})
	}
}

// TestCall runs the agent through the fake: installed once, the request on
// stdin only, and checked again after the shell could not find it.
func TestCall(t *testing.T) {
	ctx := context.Background()
	bins, sum := fakeBinaries(t, "agent v1")
	d, err := New("1.0.0", bins)
	if err != nil {
		t.Fatal(err)
	}
	path := RemotePath("1.0.0", sum)
	const secret = "vrrp-s3cret"
	req := &wire.Request{Verb: wire.VerbApply, Put: []wire.Object{{
		Key:      wire.Key{Kind: wire.KindDirector, ID: "director"},
		Director: &model.Director{Instances: []model.VRRPInstance{{Name: "VI_1", Authentication: &model.VRRPAuth{Type: "PASS", Password: secret}}}},
	}}}
	applied := `{"version":2,"agent_version":"1.0.0","applied":{"files":["/etc/keepalived/keepalived.conf"]}}`
	f := newFake(t,
		expect{step: StepDetectArch, res: ok("x86_64\n")},
		expect{step: StepCheck, res: ok(sum + "  -\n")},
		expect{step: "agent apply", args: []string{path}, res: ok(applied)},
		expect{step: "agent apply", args: []string{path}, res: ok(applied)},
	)
	for range 2 { // the second call reuses the installed agent: no check
		resp, err := d.Call(ctx, f, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Applied == nil || len(resp.Applied.Files) != 1 {
			t.Errorf("response %+v", resp)
		}
	}
	for i, cmd := range f.cmds {
		if strings.Contains(strings.Join(cmd.Args, " "), secret) {
			t.Errorf("command %d carries the secret in its arguments: %q", i, cmd.Args)
		}
	}
	sent, err := wire.ReadRequest(strings.NewReader(string(f.stdin[2])))
	if err != nil {
		t.Fatalf("the agent would refuse the request on stdin: %v", err)
	}
	if sent.Version != wire.Version || sent.Put[0].Director.Instances[0].Authentication.Password != secret {
		t.Errorf("request on stdin %+v; want version %d and the object", sent, wire.Version)
	}
	if req.Version != 0 {
		t.Error("Call changed the caller's request")
	}

	// The agent vanished: the error says so, and the next call checks again.
	vanished := exited(127, "", "sh: 1: "+path+": not found")
	vanished.step, vanished.args = "agent apply", []string{path}
	f.expectMore(
		vanished,
		expect{step: StepCheck, res: ok("absent\n")},
		expect{step: StepInstall + " " + path, res: ok("")},
		expect{step: "agent apply", args: []string{path}, res: ok(applied)},
	)
	if _, err := d.Call(ctx, f, req); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Call of a vanished agent = %v", err)
	}
	if _, err := d.Call(ctx, f, req); err != nil {
		t.Fatalf("Call after reinstalling: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(f.stdin[len(f.stdin)-1], &body); err != nil || body["verb"] != "apply" {
		t.Errorf("last request %s: %v", f.stdin[len(f.stdin)-1], err)
	}
}

func TestCallDeployFailure(t *testing.T) {
	bins, _ := fakeBinaries(t, "agent v1")
	d, err := New("1.0.0", bins)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(t, expect{step: StepDetectArch, res: ok("aarch64\n")})
	_, err = d.Call(context.Background(), f, &wire.Request{Verb: wire.VerbObserve})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Step != StepDeploy || !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Call without a binary for the host = %v; want a CallError at %q wrapping ErrNotBuilt", err, StepDeploy)
	}
	if !strings.Contains(err.Error(), host1+": agent observe: install agent") {
		t.Errorf("error %q does not name host, verb and step", err)
	}
}

// A host that cannot be reached has not failed to install or run the
// agent: the step is "connect", whether the first command was the
// deployment's architecture probe or the agent run itself.
func TestCallUnreachableHostIsStepConnect(t *testing.T) {
	bins, sum := fakeBinaries(t, "agent v1")
	d, err := New("1.0.0", bins)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(step string) error {
		return &transport.Error{Host: host1, Step: step, Op: "run uname -m",
			Err: &transport.ConnectError{Err: syscall.ECONNREFUSED}}
	}
	f := newFake(t, expect{step: StepDetectArch, err: refused(StepDetectArch)})
	_, err = d.Call(context.Background(), f, &wire.Request{Verb: wire.VerbObserve})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Step != StepConnect || !transport.IsTransient(err) {
		t.Fatalf("deploy to an unreachable host = %v; want a transient CallError at %q", err, StepConnect)
	}
	if !strings.Contains(err.Error(), host1+": agent observe: connect: ") || strings.Contains(err.Error(), StepDeploy) {
		t.Errorf("error %q: want step connect, not %q", err, StepDeploy)
	}

	// Installed, then the host goes away: the run is step connect too.
	path := RemotePath("1.0.0", sum)
	observed := `{"version":2,"agent_version":"1.0.0","observed":{}}`
	f.expectMore(
		expect{step: StepDetectArch, res: ok("x86_64\n")},
		expect{step: StepCheck, res: ok(sum + "  -\n")},
		expect{step: "agent observe", args: []string{path}, res: ok(observed)},
		expect{step: "agent observe", args: []string{path}, err: refused("agent observe")},
	)
	if _, err := d.Call(context.Background(), f, &wire.Request{Verb: wire.VerbObserve}); err != nil {
		t.Fatal(err)
	}
	_, err = d.Call(context.Background(), f, &wire.Request{Verb: wire.VerbObserve})
	if !errors.As(err, &ce) || ce.Step != StepConnect {
		t.Errorf("run on an unreachable host = %v; want step %q", err, StepConnect)
	}
	// A failure of a command that did run keeps its step.
	f.expectMore(expect{step: "agent observe", args: []string{path},
		err: &transport.Error{Host: host1, Step: "agent observe", Op: "run", Err: transport.ErrConnectionLost}})
	_, err = d.Call(context.Background(), f, &wire.Request{Verb: wire.VerbObserve})
	if !errors.As(err, &ce) || ce.Step != StepRun {
		t.Errorf("connection lost mid-run = %v; want step %q", err, StepRun)
	}
}
