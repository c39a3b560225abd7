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
func (es *Errors) add(p Path, format string, args ...any) {
	*es = append(*es, &FieldError{Path: p, Msg: fmt.Sprintf(format, args...)})
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
