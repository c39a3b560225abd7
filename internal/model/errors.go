// Package model is the declarative description of a load-balancer cluster:
// directors with their VRRP instances, IPVS virtual servers with their real
// servers, and haproxy configuration. It holds plain Go values and the domain
// rules that decide whether a description is valid; it knows nothing about
// Terraform, SSH or the kernel.
//
// Validation errors carry a Path whose steps are the Terraform attribute names
// (strings) and list indexes (ints) of the offending value, so the provider can
// attach each error to the attribute the user wrote.
package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Path locates a value inside a description. Each step is either an
// attribute name (string) or a list index (int).
type Path []any

// At returns a new path with the given steps appended. The receiver is never
// modified, so a prefix can be shared by sibling values.
func (p Path) At(steps ...any) Path {
	out := make(Path, 0, len(p)+len(steps))
	out = append(out, p...)
	return append(out, steps...)
}

// loc is a Path under construction: where a value sits while it is
// validated. Its steps stay in the frames of the validating calls (At
// keeps a pointer to its receiver and the steps it was given), so locating
// every attribute of a large description allocates nothing; a Path is
// built only when an error is recorded (path). A loc never outlives the
// call that built it: nothing stores one, and every error holds a Path of
// its own.
type loc struct {
	up    *loc
	base  Path // the caller's prefix, at the root only
	steps []any
}

// rootLoc starts the locations of a validation at the caller's prefix p.
func rootLoc(p Path) loc { return loc{base: p} }

// At is Path.At for a location under construction: the steps follow l's.
func (l *loc) At(steps ...any) loc { return loc{up: l, steps: steps} }

// path builds the Path of l. Steps are ints (list indexes) or strings
// (attribute names), and each is copied (see step): nothing that l points
// into is kept, so the compiler keeps every loc, and the steps given to
// At, in the frames of the validating calls.
func (l loc) path() Path {
	n := 0
	for x := &l; x != nil; x = x.up {
		n += len(x.base) + len(x.steps)
	}
	if n == 0 {
		return nil
	}
	out := make(Path, n)
	for x := &l; x != nil; x = x.up {
		n -= len(x.steps)
		for i, s := range x.steps {
			out[n+i] = step(s)
		}
		n -= len(x.base)
		for i, s := range x.base {
			out[n+i] = step(s)
		}
	}
	return out
}

// step copies one step of a path. The copy of a string's bytes is what
// tells escape analysis that the step's own memory is not kept (a copied
// string header would keep its bytes, and so everything l points to,
// alive on the heap); it costs an allocation on an error's path only.
func step(s any) any {
	switch v := s.(type) {
	case int:
		return v
	case string:
		return strings.Clone(v)
	}
	panic("model: a path step is an attribute name (string) or a list index (int)")
}

// String renders the path the way Terraform shows attribute paths:
// vrrp_instance[0].priority.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch v := s.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// FieldError is one broken domain rule, located at Path.
type FieldError struct {
	Path Path
	Msg  string
}

func (e *FieldError) Error() string {
	if len(e.Path) == 0 {
		return e.Msg
	}
	return e.Path.String() + ": " + e.Msg
}

// Errors collects every broken rule of a description, in the order found.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// add records a rule violation.
func (es *Errors) add(p loc, format string, args ...any) {
	*es = append(*es, &FieldError{Path: p.path(), Msg: fmt.Sprintf(format, args...)})
}

// merge appends the field errors held in err, if any.
func (es *Errors) merge(err error) {
	var more Errors
	if errors.As(err, &more) {
		*es = append(*es, more...)
		return
	}
	if err != nil {
		*es = append(*es, &FieldError{Msg: err.Error()})
	}
}

// err returns nil when no rule was broken, so callers can write
// `return errs.err()`.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AsErrors returns the field errors held in err (nil when err holds none).
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	return nil
}
