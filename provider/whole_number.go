package provider

import (
	"context"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// wholeNumberType is the type of every integer attribute the provider
// declares. Terraform numbers may have a fraction; the framework's own
// Int64 type refuses one with "Value Conversion Error ... This is always an
// error in the provider" and a misformatted value (`%!s(*big.Float=51.5)`),
// once per place that reads the value, some without the attribute. This
// type reads such a number as unknown instead (so reading the
// configuration does not fail) and reports it, once, at its attribute:
// "must be a whole number". Its values are plain types.Int64.
type wholeNumberType struct {
	basetypes.Int64Type
}

var _ basetypes.Int64Typable = wholeNumberType{}

// Equal is true for wholeNumberType and for the framework's Int64 type,
// whose values it holds: an object value built of types.Int64 fields (a
// model struct) must match a schema that declares this type.
func (t wholeNumberType) Equal(o attr.Type) bool {
	switch o.(type) {
	case wholeNumberType, basetypes.Int64Type:
		return true
	}
	return false
}

func (t wholeNumberType) String() string { return "provider.wholeNumberType" }

// notWhole returns the number in, as written, when it is known and not a
// whole number an int64 holds; "" otherwise.
func notWhole(in tftypes.Value) string {
	if !in.IsKnown() || in.IsNull() || !in.Type().Is(tftypes.Number) {
		return ""
	}
	var f *big.Float
	if err := in.As(&f); err != nil || f == nil {
		return ""
	}
	if _, acc := f.Int64(); f.IsInt() && acc == big.Exact {
		return ""
	}
	return f.Text('g', -1)
}

// tooLarge is true for a whole number beyond int64.
func tooLarge(in tftypes.Value) bool {
	var f *big.Float
	return in.As(&f) == nil && f != nil && f.IsInt()
}

// ValueFromTerraform reads a number with a fraction as unknown; Validate
// reports it.
func (t wholeNumberType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	if notWhole(in) != "" {
		return types.Int64Unknown(), nil
	}
	return t.Int64Type.ValueFromTerraform(ctx, in)
}

// Validate refuses a number with a fraction, or one beyond int64, at its
// attribute.
func (t wholeNumberType) Validate(_ context.Context, in tftypes.Value, at path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	if v := notWhole(in); v != "" {
		addWholeNumberError(&diags, at, v, tooLarge(in))
	}
	return diags
}

// ValueType is types.Int64: models keep their types.Int64 fields.
func (t wholeNumberType) ValueType(context.Context) attr.Value { return types.Int64{} }
