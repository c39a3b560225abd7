package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Every diagnostic the provider reports is built here, so that wording is
// consistent: a short Title Case summary, and a detail that says what was
// attempted, what to do, and the original error.

// Summaries of the diagnostics this package reports.
const (
	summaryInvalidConfig = "Invalid Load Balancer Configuration"
	summaryRender        = "Unable to Render %s"
	summaryInvalidSSH    = "Invalid SSH Settings"
	summaryWholeNumber   = "Invalid Whole Number"
)

// addAttributeError reports a configuration mistake at its attribute,
// with a detail that starts with the attribute's path: Terraform shows a
// source line, which for a value passed through a variable or a module is
// not the attribute's own.
func addAttributeError(diags *diag.Diagnostics, at path.Path, summary, msg string) {
	diags.AddAttributeError(at, summary, fmt.Sprintf("Attribute %s: %s.", at, strings.TrimSuffix(msg, ".")))
}

// addSSHError reports an SSH setting that breaks a rule of
// internal/transport as an attribute error. The detail starts with the
// attribute's path, as the framework's validators do; err says the rule
// and the allowed forms and never quotes a secret.
func addSSHError(diags *diag.Diagnostics, at path.Path, err error) {
	addAttributeError(diags, at, summaryInvalidSSH, err.Error())
}

// addDirectorError reports an entry of `directors` that does not name a
// director, on that entry.
func addDirectorError(diags *diag.Diagnostics, entry string, err error) {
	at := path.Root("directors").AtSetValue(types.StringValue(entry))
	addAttributeError(diags, at, summaryInvalidConfig, err.Error())
}

// addWholeNumberError reports a number with a fraction, or one too large
// for any setting, where a whole number is due.
func addWholeNumberError(diags *diag.Diagnostics, at path.Path, value string, tooLarge bool) {
	if tooLarge {
		diags.AddAttributeError(at, summaryWholeNumber,
			fmt.Sprintf("Attribute %s must be a whole number from %d to %d; got %s.", at, math.MinInt64, math.MaxInt64, value))
		return
	}
	diags.AddAttributeError(at, summaryWholeNumber,
		fmt.Sprintf("Attribute %s must be a whole number, such as 1 or 30; got %s.", at, value))
}

// modelPath converts a model path (attribute names and list indexes) into
// the framework's path. ok is false when a step is neither, which would be
// a bug in the model.
func modelPath(p model.Path) (out path.Path, ok bool) {
	out = path.Empty()
	for _, step := range p {
		switch s := step.(type) {
		case string:
			out = out.AtName(s)
		case int:
			out = out.AtListIndex(s)
		default:
			return path.Empty(), false
		}
	}
	return out, true
}

// addConfigErrors reports the domain rules err breaks (model.Errors) as
// attribute errors on the attributes the user wrote. The detail starts with
// the attribute's path, as the framework's validators do, since Terraform
// shows only a source line, which for a rule between several values may be
// another one. A rule on a value that the schema's own validators already
// reject is left out, so each mistake is reported once. Any other error
// becomes a plain error.
func addConfigErrors(ctx context.Context, diags *diag.Diagnostics, config tfsdk.Config, err error) {
	if err == nil {
		return
	}
	fieldErrs := model.AsErrors(err)
	if fieldErrs == nil {
		diags.AddError(summaryInvalidConfig, err.Error())
		return
	}
	for _, fe := range fieldErrs {
		p, ok := modelPath(fe.Path)
		switch {
		case len(fe.Path) == 0:
			diags.AddError(summaryInvalidConfig, fe.Msg)
		case !ok:
			diags.AddError(summaryInvalidConfig, fe.Error())
		case rejectedBySchema(ctx, config, p):
			continue
		default:
			diags.AddAttributeError(p, summaryInvalidConfig, fe.Error())
		}
	}
}

// addRenderError reports a renderer's failure to produce file. Rule
// violations the renderer found go to their attributes; anything else is a
// bug in the provider.
func addRenderError(ctx context.Context, diags *diag.Diagnostics, config tfsdk.Config, file string, err error) {
	if model.AsErrors(err) != nil {
		addConfigErrors(ctx, diags, config, err)
		return
	}
	diags.AddError(fmt.Sprintf(summaryRender, file),
		fmt.Sprintf("The configuration passed validation, but rendering %s from it failed. "+
			"This is a bug in the provider; please report it with the configuration that triggers it.\n\n"+
			"Error: %s", file, err))
}

// rejectedBySchema reports whether the value at p is already rejected by
// its own type (an address type that does not parse) or by the schema
// validators of its attribute: those report it themselves.
func rejectedBySchema(ctx context.Context, config tfsdk.Config, p path.Path) bool {
	var v attr.Value
	if config.GetAttribute(ctx, p, &v).HasError() || v == nil {
		return false
	}
	if tv, ok := v.(xattr.ValidateableAttribute); ok {
		r := xattr.ValidateAttributeResponse{}
		tv.ValidateAttribute(ctx, xattr.ValidateAttributeRequest{Path: p}, &r)
		if r.Diagnostics.HasError() {
			return true
		}
	}
	a, d := config.Schema.AttributeAtPath(ctx, p)
	if d.HasError() {
		return false // a block or a list element: no attribute validators
	}
	var resp diag.Diagnostics
	switch a := a.(type) {
	case interface{ StringValidators() []validator.String }:
		sv, ok := v.(basetypes.StringValuable)
		if !ok {
			return false
		}
		s, d := sv.ToStringValue(ctx)
		if d.HasError() {
			return false
		}
		for _, vd := range a.StringValidators() {
			r := validator.StringResponse{}
			vd.ValidateString(ctx, validator.StringRequest{Path: p, Config: config, ConfigValue: s}, &r)
			resp.Append(r.Diagnostics...)
		}
	case interface{ Int64Validators() []validator.Int64 }:
		iv, ok := v.(basetypes.Int64Valuable)
		if !ok {
			return false
		}
		i, d := iv.ToInt64Value(ctx)
		if d.HasError() {
			return false
		}
		for _, vd := range a.Int64Validators() {
			r := validator.Int64Response{}
			vd.ValidateInt64(ctx, validator.Int64Request{Path: p, Config: config, ConfigValue: i}, &r)
			resp.Append(r.Diagnostics...)
		}
	}
	return resp.HasError()
}

// addHostError reports a failure to reach or change a host: the agent's
// deployment or run (agentbin.CallError), the SSH transport, or the fleet.
// action and object make the summary ("Unable to Apply Director"); the
// detail names the host, the object, the step that failed and what to do,
// then the error and the agent's own detail (tool output such as
// `keepalived -t`).
func addHostError(diags *diag.Diagnostics, action, object, host string, err error) {
	summary := fmt.Sprintf("Unable to %s %s", action, object)
	step := "connect"
	var agentDetail string
	var ce *agentbin.CallError
	var fe *fleet.Error
	switch {
	case errors.As(err, &ce):
		step = ce.Step
		if ce.Agent != nil {
			agentDetail = ce.Agent.Detail
		}
	case errors.As(err, &fe):
		step = fe.Step
	}
	var b strings.Builder
	advice := hostErrorAdvice(err)
	if te := timedOut(err); te != nil {
		advice = timeoutAdvice(te)
	}
	if transport.IsTransient(err) {
		advice += stateAfter(action)
	}
	if s, a, ok := conflictAdvice(err); ok {
		step, advice = s, a
	}
	fmt.Fprintf(&b, "Host: %s\nObject: %s\nStep: %s\n\n%s\n\nError: %s", host, strings.ToLower(object), step, advice, err)
	if agentDetail != "" && !strings.Contains(err.Error(), agentDetail) {
		b.WriteString("\n\nAgent detail:\n" + agentDetail)
	}
	diags.AddError(summary, b.String())
}

// addHostWarnings reports what an agent apply on host said the user should
// know although it succeeded (wire.Response.Warnings: a hand-written file
// it kept aside before repairing it, a keepalived -t warning it accepted),
// as warnings under summary ("Director Applied With Warnings"), and logs
// each.
func addHostWarnings(ctx context.Context, diags *diag.Diagnostics, summary, object, host string, resp *wire.Response) {
	if resp == nil || len(resp.Warnings) == 0 {
		return
	}
	for _, w := range resp.Warnings {
		tflog.Warn(ctx, "agent apply warning", map[string]any{"host": host, "object": object, "warning": w})
	}
	diags.AddWarning(summary, fmt.Sprintf("Host: %s\nObject: %s\n\nThe agent applied the change and reports:\n- %s",
		host, strings.ToLower(object), strings.Join(resp.Warnings, "\n- ")))
}

// hostErrorAdvice says what to do about a host error.
func hostErrorAdvice(err error) string {
	var (
		ce   *agentbin.CallError
		auth *transport.AuthError
		sudo *transport.SudoError
		conf *transport.ConfigError
	)
	switch {
	case errors.Is(err, agentbin.ErrNotBuilt):
		return "This provider binary carries no lvs-agent for the host's architecture. Build the agent with " +
			"`make agent`, then rebuild and reinstall the provider (`make install`)."
	case errors.As(err, &auth):
		return "The host refused every authentication method offered. Check the connection's user and its " +
			"private_key, private_key_path, agent or password settings."
	case errors.As(err, &sudo):
		return "The login user is not root and cannot run `sudo -n` without a password. Allow it passwordless " +
			"sudo, or connect as root."
	case errors.As(err, &conf):
		return "The SSH settings for this host are not usable. Fix the provider's or the resource's connection settings."
	case errors.As(err, &ce) && ce.Agent != nil:
		switch ce.Agent.Code {
		case wire.ExitForeign:
			return "Something lvs-agent did not write is in the way. Import it first (terraform import), or move it away."
		case wire.ExitLocked:
			return "Another agent run held the host lock for too long. Retry when it has finished."
		case wire.ExitUnsupported:
			return "The host lacks what this needs (see the error). Install it, or choose another engine."
		case wire.ExitBadRequest:
			if ce.Agent.Step == "validate" {
				return "The host's objects, taken together, break a rule that no single resource can check at plan: " +
					"a name one of them refers to that the host does not have (a backend, a certificate, a resolvers " +
					"section of lvs_haproxy), or an address and port two of them bind. Fix the object named below, or the " +
					"one it refers to, and apply again. If the resource refers to nothing outside itself, this is a bug; " +
					"please report it."
			}
			return "The agent refused the request. If the configuration passed `terraform validate`, this is a bug; " +
				"please report it."
		}
		return "The agent left the host as it was before the request. Fix the cause shown below and apply again."
	case transport.IsTransient(err):
		return "The host could not be reached. Check that it is up, that its address and port are right and that " +
			"sshd runs, then retry."
	}
	return "Check the host and the connection settings, then retry."
}

// stateAfter says what a failed action on an unreachable host leaves in
// the Terraform state, for the actions where that is certain: a failed
// create records nothing, a failed update, delete or drain keeps the
// resource as the state had it, a failed read changes nothing, a failed
// import imports nothing. "Apply" (a create or an update) says nothing.
func stateAfter(action string) string {
	switch action {
	case "Create":
		return " Nothing was recorded in the state: the next apply creates the resource again."
	case "Update", "Delete", "Drain":
		return " The resource stays in the state as it was before this apply."
	case "Read":
		return " The state was not changed."
	case "Import":
		return " Nothing was imported."
	}
	return ""
}

// knownConfig reads a configuration into data for the plan-time checks of
// the resource or data source typeName. While some values are unknown it
// returns false and the checks wait: they run again once the values are
// known (at plan for resources whose inputs come from others, at apply or
// read otherwise).
func knownConfig[T any](ctx context.Context, config tfsdk.Config, typeName string, data *T, diags *diag.Diagnostics) bool {
	if !config.Raw.IsFullyKnown() {
		tflog.Debug(ctx, "Configuration has unknown values; its rules are checked once they are known",
			map[string]any{"type": typeName})
		return false
	}
	diags.Append(config.Get(ctx, data)...)
	return !diags.HasError()
}
