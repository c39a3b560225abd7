package model

import (
	"slices"
	"strconv"
	"strings"
)

// The routing rules of haproxy sections that the model can judge before
// haproxy does: balance arguments, the ACL names a condition uses, and
// routing directives given as free lines where the backend they name would
// escape the checks.

// HAProxyPredefinedACLs are the ACLs haproxy 2.6 defines itself; a
// condition may use them without an acl line.
var HAProxyPredefinedACLs = []string{
	"FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_2.0", "HTTP_CONTENT", "HTTP_URL_ABS", "HTTP_URL_SLASH",
	"HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS",
	"METH_POST", "METH_PUT", "METH_TRACE", "RDP_COOKIE", "REQ_CONTENT", "TRUE", "WAIT_END",
}

// checkBalance checks an algorithm and its argument (of a backend, a
// listen or the defaults); p is the section.
func checkBalance(errs *Errors, p loc, algo, arg string) {
	checkEnum(errs, p.At("balance"), algo, HAProxyBalances)
	ap := p.At("balance_arg")
	switch algo {
	case "hdr", "url_param":
		if arg == "" {
			errs.add(ap, "must be set for balance %q (the header or parameter name)", algo)
		}
		checkName(errs, ap, arg)
	case "hash":
		if arg == "" {
			errs.add(ap, "must be set for balance \"hash\" (a sample expression, such as req.hdr(host))")
		}
		checkWord(errs, ap, arg)
	case "random":
		if n, err := strconv.Atoi(arg); arg != "" && (err != nil || n < 1 || n > 100) {
			errs.add(ap, "%q is not a number of draws from 1 to 100 (balance random(<draws>)); unset draws 2", arg)
		}
	case "rdp-cookie":
		if arg != "" {
			checkName(errs, ap, arg)
		}
	default:
		if arg != "" {
			errs.add(ap, "applies to balance \"hdr\", \"url_param\", \"hash\", \"random\" and \"rdp-cookie\" only")
		}
	}
}

// declaredACLs are the ACL names a frontend declares: its acl blocks and
// the acl lines among its options.
func (f *HAProxyFrontend) declaredACLs() map[string]bool {
	out := map[string]bool{}
	for _, a := range f.ACLs {
		out[a.Name] = true
	}
	for _, o := range f.Options {
		if w := strings.Fields(o); len(w) >= 2 && w[0] == "acl" {
			out[w[1]] = true
		}
	}
	return out
}

// checkCondition checks a rule's condition: ACL names (each may be negated
// with `!`) joined by `or` or `||`, and anonymous ACLs in braces
// (`{ path_beg /img }`), whose braces stand as words of their own. Every
// name must be declared or predefined: haproxy -c refuses an unknown one,
// at apply.
func checkCondition(errs *Errors, p loc, cond string, declared map[string]bool) {
	words := strings.Fields(cond)
	for _, w := range words {
		if strings.ContainsAny(w, "{}") && w != "{" && w != "}" {
			errs.add(p, "%s: %q holds a brace; braces of an anonymous ACL are words of their own ({ path_beg /img })", quote(cond), w)
			return
		}
	}
	// The text around the braces is checked as any haproxy text.
	plain := slices.DeleteFunc(slices.Clone(words), func(w string) bool { return w == "{" || w == "}" })
	n := len(*errs)
	checkHAProxyText(errs, p, strings.Join(plain, " "))
	checkHAProxyParams(errs, p, strings.Join(plain, " "))
	if len(*errs) != n || strings.Join(words, " ") != cond {
		if len(*errs) == n {
			errs.add(p, "%s has leading, trailing or repeated spaces; separate words with one space", quote(cond))
		}
		return
	}
	inBraces, inside, unknown := false, 0, false
	for _, w := range words {
		switch {
		case w == "{":
			if inBraces {
				errs.add(p, "%s opens an anonymous ACL inside another; close the first with `}`", quote(cond))
				return
			}
			inBraces, inside = true, 0
		case w == "}":
			if !inBraces || inside == 0 {
				errs.add(p, "%s closes an anonymous ACL that it did not open or that is empty", quote(cond))
				return
			}
			inBraces = false
		case inBraces:
			inside++
		case w == "or" || w == "||" || w == "!":
		default:
			name := strings.TrimPrefix(w, "!")
			if !unknown && !declared[name] && !slices.Contains(HAProxyPredefinedACLs, name) {
				unknown = true // one message per condition
				errs.add(p, "%s uses the ACL %q, which this frontend does not declare; declare it in an acl block, use one haproxy predefines (%s), or write the criterion in braces: { path_beg /api }",
					quote(cond), name, strings.Join(HAProxyPredefinedACLs[:4], ", ")+", ...")
			}
		}
	}
	if inBraces {
		errs.add(p, "%s opens an anonymous ACL with `{` and never closes it with `}`", quote(cond))
	}
}

// checkRoutingOptions refuses routing directives among a frontend's free
// lines: the backend they name would be checked by haproxy only at apply.
func checkRoutingOptions(errs *Errors, p loc, opts []string) {
	for i, o := range opts {
		switch first, _, _ := strings.Cut(o, " "); first {
		case "use_backend":
			errs.add(p.At(i), "%q routes to a backend from a free line; give it as a use_backend block, whose backend and ACLs are checked at plan", o)
		case "default_backend":
			errs.add(p.At(i), "%q names the default backend from a free line; set default_backend instead", o)
		}
	}
}
