package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rsschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The shapes of the cluster description (director, virtual server, real
// server, haproxy sections) are written once, as attrSpec and blockSpec
// values, and emitted into whichever schema package needs them: the
// render-only data sources now, the resources (resource/schema, with plan
// modifiers) later. The framework's data source and resource schema types
// are distinct, so a shared neutral form is what keeps one description.

// attrKind is the Terraform type of an attribute.
type attrKind int

const (
	kindString attrKind = iota
	kindInt
	kindFloat
	kindBool
	// kindIP is one IPv4 or IPv6 address (iptypes.IPAddress).
	kindIP
	// kindStrings is a list of strings.
	kindStrings
	// kindIPs is a list of IPv4 or IPv6 addresses.
	kindIPs
)

// attrSpec describes one attribute of a shape.
type attrSpec struct {
	kind        attrKind
	description string
	required    bool
	sensitive   bool

	stringValidators []validator.String
	intValidators    []validator.Int64
	floatValidators  []validator.Float64
	listValidators   []validator.List
}

// blockSpec describes a nested block: a list of objects, or a single
// optional object (single) whose attributes are addressed without an index.
type blockSpec struct {
	description string
	single      bool
	attrs       map[string]attrSpec
	blocks      map[string]blockSpec
}

func stringAttr(description string) attrSpec {
	return attrSpec{kind: kindString, description: description}
}

func intAttr(description string) attrSpec {
	return attrSpec{kind: kindInt, description: description}
}

func floatAttr(description string) attrSpec {
	return attrSpec{kind: kindFloat, description: description}
}

func boolAttr(description string) attrSpec {
	return attrSpec{kind: kindBool, description: description}
}

func ipAttr(description string) attrSpec {
	return attrSpec{kind: kindIP, description: description + " An IPv4 or IPv6 address."}
}

func stringListAttr(description string) attrSpec {
	return attrSpec{kind: kindStrings, description: description}
}

func ipListAttr(description string) attrSpec {
	return attrSpec{kind: kindIPs, description: description}
}

// enumAttr is a string attribute restricted to allowed; the same slice
// feeds the validator and the description. def, when not empty, is the
// value an unset attribute means.
func enumAttr(description string, allowed []string, def string) attrSpec {
	a := stringAttr(description + " " + allowedText(allowed, def))
	a.stringValidators = []validator.String{stringvalidator.OneOf(allowed...)}
	return a
}

// intEnumAttr is enumAttr for integers.
func intEnumAttr(description string, allowed []int, def int) attrSpec {
	words := make([]string, len(allowed))
	values := make([]int64, len(allowed))
	for i, v := range allowed {
		words[i] = fmt.Sprint(v)
		values[i] = int64(v)
	}
	a := intAttr(description + " " + allowedText(words, fmt.Sprint(def)))
	a.intValidators = []validator.Int64{int64validator.OneOf(values...)}
	return a
}

// rangeAttr is an integer attribute restricted to [lo, hi], which the
// description states.
func rangeAttr(description string, lo, hi int64) attrSpec {
	a := intAttr(fmt.Sprintf("%s From `%d` to `%d`.", description, lo, hi))
	a.intValidators = []validator.Int64{int64validator.Between(lo, hi)}
	return a
}

// portAttr is a TCP/UDP port; lo is 0 where 0 means "unset" or "all".
func portAttr(description string, lo int64) attrSpec { return rangeAttr(description, lo, 65535) }

// positive refuses 0 (and below) at plan. The model takes 0 as "unset", so
// an explicit 0 would silently become the daemon's default; for the
// attributes this marks, 0 is not that default, so it is refused with the
// allowed range rather than dropped.
func (a attrSpec) positive() attrSpec {
	a.description += " At least `1`; leave it unset for the default."
	a.intValidators = append(a.intValidators, int64validator.AtLeast(1))
	return a
}

// floatRange restricts a float attribute to [lo, hi] at plan, 0 included:
// the model takes 0 as "unset", so an explicit 0 must not pass silently.
func (a attrSpec) floatRange(lo, hi float64) attrSpec {
	a.floatValidators = append(a.floatValidators, float64validator.Between(lo, hi))
	return a
}

// mandatory marks the attribute required.
func (a attrSpec) mandatory() attrSpec {
	a.required = true
	return a
}

// secret marks the attribute sensitive: Terraform hides it in plans and output.
func (a attrSpec) secret() attrSpec {
	a.sensitive = true
	return a
}

// allowedText renders allowed values (and the default) for a description.
func allowedText(allowed []string, def string) string {
	q := make([]string, len(allowed))
	for i, v := range allowed {
		q[i] = "`" + v + "`"
	}
	s := "One of " + strings.Join(q, ", ") + "."
	if def != "" {
		s += " Defaults to `" + def + "`."
	}
	return s
}

// dataSourceAttribute emits the attribute into a data source schema.
func (a attrSpec) dataSourceAttribute() dsschema.Attribute {
	switch a.kind {
	case kindString:
		return dsschema.StringAttribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.stringValidators,
		}
	case kindIP:
		return dsschema.StringAttribute{
			CustomType:          iptypes.IPAddressType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.stringValidators,
		}
	case kindInt:
		return dsschema.Int64Attribute{
			CustomType:          wholeNumberType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.intValidators,
		}
	case kindFloat:
		return dsschema.Float64Attribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.floatValidators,
		}
	case kindBool:
		return dsschema.BoolAttribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive,
		}
	case kindStrings:
		return dsschema.ListAttribute{
			ElementType:         types.StringType,
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.listValidators,
		}
	case kindIPs:
		return dsschema.ListAttribute{
			ElementType:         iptypes.IPAddressType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive,
		}
	}
	panic(fmt.Sprintf("provider: attribute kind %d has no data source form", a.kind))
}

// dataSourceBlock emits the block into a data source schema.
func (b blockSpec) dataSourceBlock() dsschema.Block {
	blocks := dataSourceBlocks(b.blocks)
	if b.single {
		attrs := dataSourceAttributes(requiredWhenPresent(b.attrs))
		return dsschema.SingleNestedBlock{MarkdownDescription: b.description, Attributes: attrs, Blocks: blocks}
	}
	attrs := dataSourceAttributes(b.attrs)
	return dsschema.ListNestedBlock{
		MarkdownDescription: b.description,
		NestedObject:        dsschema.NestedBlockObject{Attributes: attrs, Blocks: blocks},
	}
}

// requiredWhenPresent turns the required attributes of a single nested
// block into optional ones: the framework enforces Required inside such a
// block even when the block itself is absent. The model's rules report a
// missing value when the block is given; the description says so.
func requiredWhenPresent(specs map[string]attrSpec) map[string]attrSpec {
	out := make(map[string]attrSpec, len(specs))
	for name, a := range specs {
		if a.required {
			a.required = false
			a.description += " Required when the block is present."
		}
		out[name] = a
	}
	return out
}

func dataSourceAttributes(specs map[string]attrSpec) map[string]dsschema.Attribute {
	out := make(map[string]dsschema.Attribute, len(specs))
	for name, a := range specs {
		out[name] = a.dataSourceAttribute()
	}
	return out
}

func dataSourceBlocks(specs map[string]blockSpec) map[string]dsschema.Block {
	out := make(map[string]dsschema.Block, len(specs))
	for name, b := range specs {
		out[name] = b.dataSourceBlock()
	}
	return out
}

// merge joins the attribute or block maps of several shapes into one level.
// A name given twice is a programming error.
func merge[V any](maps ...map[string]V) map[string]V {
	out := map[string]V{}
	for _, m := range maps {
		for k, v := range m {
			if _, dup := out[k]; dup {
				panic("provider: schema name " + k + " is defined twice")
			}
			out[k] = v
		}
	}
	return out
}

// resourceAttribute emits the attribute into a resource schema. The shapes
// are plain desired state: optional values stay null when unset (no
// Computed), so what the user wrote is what the state holds.
func (a attrSpec) resourceAttribute() rsschema.Attribute {
	switch a.kind {
	case kindString:
		return rsschema.StringAttribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.stringValidators,
		}
	case kindIP:
		return rsschema.StringAttribute{
			CustomType:          iptypes.IPAddressType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.stringValidators,
		}
	case kindInt:
		return rsschema.Int64Attribute{
			CustomType:          wholeNumberType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.intValidators,
		}
	case kindFloat:
		return rsschema.Float64Attribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.floatValidators,
		}
	case kindBool:
		return rsschema.BoolAttribute{
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive,
		}
	case kindStrings:
		return rsschema.ListAttribute{
			ElementType:         types.StringType,
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive, Validators: a.listValidators,
		}
	case kindIPs:
		return rsschema.ListAttribute{
			ElementType:         iptypes.IPAddressType{},
			MarkdownDescription: a.description, Required: a.required, Optional: !a.required,
			Sensitive: a.sensitive,
		}
	}
	panic(fmt.Sprintf("provider: attribute kind %d has no resource form", a.kind))
}

// resourceBlock emits the block into a resource schema.
func (b blockSpec) resourceBlock() rsschema.Block {
	blocks := resourceBlocks(b.blocks)
	if b.single {
		attrs := resourceAttributes(requiredWhenPresent(b.attrs))
		return rsschema.SingleNestedBlock{MarkdownDescription: b.description, Attributes: attrs, Blocks: blocks}
	}
	attrs := resourceAttributes(b.attrs)
	return rsschema.ListNestedBlock{
		MarkdownDescription: b.description,
		NestedObject:        rsschema.NestedBlockObject{Attributes: attrs, Blocks: blocks},
	}
}

func resourceAttributes(specs map[string]attrSpec) map[string]rsschema.Attribute {
	out := make(map[string]rsschema.Attribute, len(specs))
	for name, a := range specs {
		out[name] = a.resourceAttribute()
	}
	return out
}

func resourceBlocks(specs map[string]blockSpec) map[string]rsschema.Block {
	out := make(map[string]rsschema.Block, len(specs))
	for name, b := range specs {
		out[name] = b.resourceBlock()
	}
	return out
}
