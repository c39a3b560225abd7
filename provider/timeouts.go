package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Every resource has a `timeouts` block (create, read, update, delete), as
// HashiCorp's providers have. Each CRUD step bounds its context with
// withTimeout; the deadline reaches the fleet's batching (a batch ends
// when all its writers gave up), the SSH dial and session, and the agent
// call (its wait for the host lock, and the process itself, killed when
// the deadline passes; the agent's journal lets the next apply complete
// an apply stopped part-way). The error then names the host, the object,
// the step, and which timeout ran out.

// timeoutsBlockName is the block's name in every resource schema.
const timeoutsBlockName = "timeouts"

// timeoutOp is one operation a timeout bounds, with its default.
type timeoutOp struct {
	name string
	def  time.Duration
}

// The operations and their defaults: generous for a slow host (an agent
// upload over a slow link, a keepalived or haproxy reload that takes its
// reload timeout), short enough that a hung host fails a CI run rather
// than stall it.
var (
	timeoutCreate = timeoutOp{"create", 10 * time.Minute}
	timeoutRead   = timeoutOp{"read", 5 * time.Minute}
	timeoutUpdate = timeoutOp{"update", 10 * time.Minute}
	timeoutDelete = timeoutOp{"delete", 10 * time.Minute}
)

// plus is op with d added to its default: a delete that drains first gets
// its drain's timeout on top.
func (op timeoutOp) plus(d time.Duration) timeoutOp {
	op.def += d
	return op
}

// timeoutsBlock is the `timeouts` block of a resource schema.
func timeoutsBlock() schema.Block {
	desc := func(op timeoutOp, more string) string {
		return fmt.Sprintf("How long the %s may take, as a duration such as `30s` or `2h45m` (units `s`, `m`, `h`); "+
			"default `%s`.%s", op.name, shortDuration(op.def), more)
	}
	b, ok := timeouts.Block(context.Background(), timeouts.Opts{
		Create: true, Read: true, Update: true, Delete: true,
		CreateDescription: desc(timeoutCreate, ""),
		ReadDescription:   desc(timeoutRead, " A read happens at every refresh, so during `terraform plan` too."),
		UpdateDescription: desc(timeoutUpdate, ""),
		DeleteDescription: desc(timeoutDelete, " It counts from the delete's start, a drain included (for "+
			"`lvs_real_server`, whose default adds its `drain_timeout`). A delete timeout takes effect once "+
			"it is saved in the state, by an apply before the destroy."),
	}).(schema.SingleNestedBlock)
	if !ok {
		panic("timeouts.Block is no longer a SingleNestedBlock")
	}
	b.CustomType = timeoutsType{b.CustomType.(timeouts.Type)} //nolint:forcetypeassert // as Block builds it
	b.MarkdownDescription = "Bounds on how long each operation on the hosts may take. When one runs out, the " +
		"agent call under way is stopped, the error names the host and the step, and the host is left " +
		"consistent: the agent keeps a journal of each apply, and the next apply completes one stopped part-way."
	for name, a := range b.Attributes {
		if s, ok := a.(schema.StringAttribute); ok {
			s.MarkdownDescription = s.Description
			b.Attributes[name] = s
		}
	}
	return b
}

// withTimeouts is s, a resource schema, with the `timeouts` block.
func withTimeouts(s schema.Schema) schema.Schema {
	blocks := make(map[string]schema.Block, len(s.Blocks)+1)
	for k, b := range s.Blocks {
		blocks[k] = b
	}
	blocks[timeoutsBlockName] = timeoutsBlock()
	s.Blocks = blocks
	return s
}

// withTimeout bounds ctx by the resource's timeout for op (its default
// when the block or the attribute is unset, as after an import). When the
// deadline passes, the context's cause is a *timeoutError naming op.
func withTimeout(ctx context.Context, t timeoutsValue, op timeoutOp, diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	d := op.def
	if !t.IsNull() && !t.IsUnknown() {
		var dd diag.Diagnostics
		switch op.name {
		case timeoutCreate.name:
			d, dd = t.Create(ctx, op.def)
		case timeoutRead.name:
			d, dd = t.Read(ctx, op.def)
		case timeoutUpdate.name:
			d, dd = t.Update(ctx, op.def)
		case timeoutDelete.name:
			d, dd = t.Delete(ctx, op.def)
		}
		diags.Append(dd...)
	}
	tflog.Debug(ctx, "operation timeout", map[string]any{"operation": op.name, "timeout": d.String()})
	return context.WithTimeoutCause(ctx, d, &timeoutError{op: op.name, timeout: d})
}

// timeoutError is the cause of a context whose operation timeout ran out.
// It is a context.DeadlineExceeded (so transport.IsTransient holds).
type timeoutError struct {
	op      string
	timeout time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("the %s timeout of %s ran out", e.op, shortDuration(e.timeout))
}

func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// timedOut is the timeout that err says ran out, or nil.
func timedOut(err error) *timeoutError {
	var te *timeoutError
	if errors.As(err, &te) {
		return te
	}
	return nil
}

// timeoutAdvice says what a timeout that ran out means for the host and
// what to do.
func timeoutAdvice(te *timeoutError) string {
	return fmt.Sprintf("The %s timeout (%s) ran out before the host finished: the agent call under way was "+
		"stopped. The host is left consistent: the agent journals each apply, and the next apply completes "+
		"one stopped part-way. Apply again; if the host is only slow, raise `%s` in the resource's "+
		"`timeouts` block.", te.op, shortDuration(te.timeout), te.op)
}

// shortDuration writes d as a user would ("10m", "90s", "1h30m"), not
// as time.Duration.String does ("10m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s = s[:len(s)-len(suffix)+1]
		}
	}
	return s
}

// timeoutsType is the block's type: timeouts.Type, whose values are
// timeoutsValue.
type timeoutsType struct{ timeouts.Type }

var (
	_ basetypes.ObjectTypable  = timeoutsType{}
	_ basetypes.ObjectValuable = timeoutsValue{}
)

// fullTimeoutsType is the block's object type.
var fullTimeoutsType = timeoutsType{timeouts.Type{ObjectType: types.ObjectType{AttrTypes: map[string]attr.Type{
	"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType,
}}}}

func (t timeoutsType) String() string { return "timeoutsType" }

func (t timeoutsType) Equal(o attr.Type) bool {
	other, ok := o.(timeoutsType)
	return ok && t.Type.Equal(other.Type)
}

func (t timeoutsType) ValueFromObject(_ context.Context, in basetypes.ObjectValue) (basetypes.ObjectValuable, diag.Diagnostics) {
	if in.IsNull() {
		return timeoutsValue{}, nil
	}
	return timeoutsValue{timeouts.Value{Object: in}}, nil
}

func (t timeoutsType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.Type.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	tv, ok := v.(timeouts.Value)
	if !ok {
		return nil, fmt.Errorf("unexpected timeouts value %T", v)
	}
	if tv.IsNull() {
		return timeoutsValue{}, nil // one null, whether read or built in code
	}
	return timeoutsValue{tv}, nil
}

func (t timeoutsType) ValueType(context.Context) attr.Value { return timeoutsValue{} }

// timeoutsValue is the `timeouts` block's value in a resource model: a
// timeouts.Value whose zero value (a model built in code rather than read
// from a plan or state) is the block's null, of the block's type.
type timeoutsValue struct{ timeouts.Value }

func (v timeoutsValue) Type(ctx context.Context) attr.Type { return fullTimeoutsType }

func (v timeoutsValue) Equal(o attr.Value) bool {
	other, ok := o.(timeoutsValue)
	return ok && v.Object.Equal(other.Object)
}

// ToObjectValue is the block's object; the zero value's is the null of
// the block's type (the framework reads its attribute types).
func (v timeoutsValue) ToObjectValue(ctx context.Context) (basetypes.ObjectValue, diag.Diagnostics) {
	if v.IsNull() && len(v.Object.AttributeTypes(ctx)) == 0 {
		return types.ObjectNull(fullTimeoutsType.AttrTypes), nil
	}
	return v.Object, nil
}

func (v timeoutsValue) ToTerraformValue(ctx context.Context) (tftypes.Value, error) {
	if v.IsNull() && len(v.Object.AttributeTypes(ctx)) == 0 {
		return tftypes.NewValue(fullTimeoutsType.TerraformType(ctx), nil), nil
	}
	return v.Value.ToTerraformValue(ctx)
}
