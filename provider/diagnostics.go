package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Every diagnostic the provider reports is built here, so that wording is
// consistent: a short Title Case summary, and a detail that says what was
// attempted, what to do, and the original error.

// Summaries of the diagnostics this package reports.
const (
	summaryInvalidConfig = "Invalid Load Balancer Configuration"
	summaryRender        = "Unable to Render %s"
)

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
