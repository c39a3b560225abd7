package agentbin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Steps of a Call that fails outside the agent's own steps.
const (
	StepConnect  = "connect"
	StepDeploy   = "install agent"
	StepRun      = "run agent"
	StepResponse = "read response"
)

// Shell exit codes for a program that could not be executed or found.
const (
	exitCannotExecute = 126
	exitNotFound      = 127
)

// CallError is a Call that failed. It names the host, the verb and the
// step: the agent's own (Agent is then set) or one of StepConnect,
// StepDeploy, StepRun, StepResponse (Err is then set). StepConnect is any
// step that failed because the host could not be reached at all.
type CallError struct {
	Host string
	Verb wire.Verb
	Step string
	// ExitCode is the agent's exit code (one of the wire Exit codes when
	// the agent reported the failure); 0 when it did not run to the end.
	ExitCode int
	// Agent is the failure the agent reported, if it reported one.
	Agent *wire.Error
	// Stderr is the agent's full standard error.
	Stderr string
	// Err is the failure outside the agent: transport, deployment, or an
	// unreadable response.
	Err error
}

func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: agent %s", e.Host, e.Verb)
	if e.ExitCode != 0 {
		fmt.Fprintf(&b, " (exit code %d%s)", e.ExitCode, exitName(e.ExitCode))
	}
	if e.Agent != nil {
		b.WriteString(": " + e.Agent.Error())
		return b.String()
	}
	b.WriteString(": " + e.Step)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if s := strings.TrimRight(e.Stderr, "\n"); s != "" {
		b.WriteString("; stderr:\n" + s)
	}
	return b.String()
}

// Unwrap returns the underlying failure and the agent's error, so that
// errors.As finds a *wire.Error and transport.IsTransient sees a lost
// connection.
func (e *CallError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Agent != nil {
		errs = append(errs, e.Agent)
	}
	return errs
}

// exitName describes a wire exit code, for messages.
func exitName(code int) string {
	switch code {
	case wire.ExitFailed:
		return ", failed"
	case wire.ExitBadRequest:
		return ", bad request"
	case wire.ExitLocked:
		return ", host locked"
	case wire.ExitUnsupported:
		return ", unsupported"
	case wire.ExitForeign:
		return ", foreign state in the way"
	case wire.ExitConflict:
		return ", conflicts with another resource"
	case exitCannotExecute:
		return ", cannot execute"
	case exitNotFound:
		return ", not found"
	}
	return ""
}

// Call runs the agent on the host with req on its stdin (never in argv,
// since objects may hold secrets), installing it first if this Deployer has
// not yet done so on that host. The request is sent with wire.Version.
// The response is read whatever the exit code: a failure the agent reports
// is returned with its response and a *CallError carrying the agent's
// wire.Error; a missing or unreadable response is a *CallError with the
// agent's stderr.
func (d *Deployer) Call(ctx context.Context, r Runner, req *wire.Request) (*wire.Response, error) {
	path, err := d.path(ctx, r)
	if err != nil {
		return nil, &CallError{Host: r.String(), Verb: req.Verb, Step: stepOf(err, StepDeploy), Err: err}
	}
	sent := *req
	sent.Version = wire.Version
	body, err := json.Marshal(&sent)
	if err != nil {
		return nil, &CallError{Host: r.String(), Verb: req.Verb, Step: StepRun, Err: fmt.Errorf("encoding the request: %w", err)}
	}
	res, err := r.Run(ctx, transport.Command{
		Step:  "agent " + string(req.Verb),
		Args:  []string{path},
		Stdin: bytes.NewReader(body),
	})
	resp, err := interpret(r.String(), req.Verb, res, err)
	var ce *CallError
	if errors.As(err, &ce) && (ce.ExitCode == exitCannotExecute || ce.ExitCode == exitNotFound) {
		d.forget(r) // the installed agent went away: check it again next time
	}
	return resp, err
}

// stepOf is step, or StepConnect when err says the host was never
// reached: an unreachable host has not failed to install or run anything.
func stepOf(err error, step string) string {
	if transport.IsConnectFailure(err) {
		return StepConnect
	}
	return step
}

// interpret maps what running the agent produced to its response and error.
func interpret(host string, verb wire.Verb, res *transport.Result, runErr error) (*wire.Response, error) {
	var pe *transport.ProcessError
	if runErr != nil && !errors.As(runErr, &pe) {
		return nil, &CallError{Host: host, Verb: verb, Step: stepOf(runErr, StepRun), Err: runErr}
	}
	if res == nil {
		return nil, &CallError{Host: host, Verb: verb, Step: StepRun, Err: errors.New("the transport returned no result")}
	}
	fail := &CallError{Host: host, Verb: verb, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	resp, err := decodeResponse(res.Stdout)
	switch {
	case err != nil:
		fail.Step, fail.Err = StepResponse, err
		return nil, fail
	case resp.Error != nil:
		fail.Step, fail.Agent = resp.Error.Step, resp.Error
		return resp, fail
	case res.ExitCode != 0:
		fail.Step, fail.Err = StepRun, errors.New("the agent failed without saying why")
		return resp, fail
	}
	return resp, nil
}

// decodeResponse reads exactly one wire.Response of this wire version.
func decodeResponse(stdout []byte) (*wire.Response, error) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return nil, errors.New("the agent wrote no response")
	}
	dec := json.NewDecoder(bytes.NewReader(stdout))
	var resp wire.Response
	if err := dec.Decode(&resp); err != nil {
		// Not wrapped: a truncated document is io.ErrUnexpectedEOF, which
		// would pass for a transient transport failure.
		return nil, fmt.Errorf("unreadable response %s: %s", excerpt(stdout), err.Error())
	}
	if dec.More() {
		return nil, fmt.Errorf("unreadable response %s: more than one JSON document", excerpt(stdout))
	}
	if resp.Version != wire.Version {
		return nil, fmt.Errorf("response of wire version %d, expected %d", resp.Version, wire.Version)
	}
	return &resp, nil
}

// excerpt quotes the start of a garbled response for an error message.
func excerpt(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return fmt.Sprintf("%q...", b[:limit])
	}
	return fmt.Sprintf("%q", b)
}
