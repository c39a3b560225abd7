// Package ipvsadm reads IPVS rules in the format `ipvsadm-save -n` (the
// same as `ipvsadm -S -n`) prints and `ipvsadm -R` reads, into the
// declarative model. Importing a hand-built director starts here.
//
// The format, as ipvsadm 1.31 prints it (print_service_entry with
// FMT_RULE), is one command per line:
//
//	-A -t 10.0.0.10:80 -s wlc -p 300 -M 255.255.255.0 -o -b sh-fallback,sh-port
//	-a -t 10.0.0.10:80 -r 192.168.1.10:80 -m -w 1
//	-A -f 7 -6 -s rr
//	-a -f 7 -6 -r [2001:db8::10]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
//
// ipvsadm prints -p only for persistent services, -M only when it is not
// the single-address default (/32, or /128 for IPv6), -o and -b only when
// set, and for every destination its forwarding switch and weight; tunnel
// destinations carry --tun-type (always, ipip included), GUE its
// --tun-port, and GUE and GRE their checksum option. Thresholds are never
// printed, but -x and -y are accepted, since `ipvsadm -R` takes them.
//
// The parser also takes the long option names, `ipvsadm` tokens (skipped
// as ipvsadm -R skips them), blank lines and `#` comment lines (dropped as
// ipvsadm-restore drops them). Addresses and ports must be numeric: read
// the output of `ipvsadm-save -n`, not of `ipvsadm-save`.
//
// Every field the rules carry is set explicitly in the result: protocol,
// scheduler, family of fwmark services, ports of destinations and their
// weights. The forwarding method (with tunnel type and port) is put on
// the virtual server when every destination shares it, and on each real
// server otherwise; a service without destinations has none.
package ipvsadm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// ErrNotModelled marks IPVS features that ipvsadm can express but the
// model does not carry (persistence engines, tunnel checksums, generic
// scheduler flags, …). Test for it with errors.Is.
var ErrNotModelled = errors.New("not modelled")

// ParseError is a line of the rules that could not be read.
type ParseError struct {
	Line  int
	Token string // the offending token, when one is to blame
	Err   error
}

func (e *ParseError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("ipvsadm rules line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("ipvsadm rules line %d: %q: %v", e.Line, e.Token, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads `ipvsadm-save -n` output. Services come back in the order
// of their -A lines, destinations in the order of their -a lines. Each
// service is checked against the model's rules, so what Parse returns is
// a valid description.
func Parse(r io.Reader) ([]model.VirtualServer, error) {
	p := parser{index: map[serviceKey]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := p.line(n, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ipvsadm rules: reading: %w", err)
	}
	return p.finish()
}

// serviceKey identifies an IPVS service as the kernel does.
type serviceKey struct {
	proto  string // tcp, udp, sctp; empty for fwmark services
	addr   netip.AddrPort
	fwmark uint32
	v6     bool
}

func (k serviceKey) String() string {
	switch {
	case k.fwmark != 0 && k.v6:
		return fmt.Sprintf("-f %d -6", k.fwmark)
	case k.fwmark != 0:
		return fmt.Sprintf("-f %d", k.fwmark)
	default:
		return protoOption[k.proto] + " " + k.addr.String()
	}
}

// protoOption is the option ipvsadm prints for each protocol.
var protoOption = map[string]string{"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}

// service is a virtual server being read, with what the model keeps apart.
type service struct {
	vs    model.VirtualServer
	line  int
	token string
	dests []dest
}

// dest is a destination being read: its real server and forwarding.
type dest struct {
	rs              model.RealServer
	method, tunType string
	tunPort         int
}

type parser struct {
	services []*service
	index    map[serviceKey]int
}

// line reads one line of rules.
func (p *parser) line(n int, text string) error {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return nil
	}
	var toks []string
	for _, f := range strings.Fields(trimmed) {
		if f != "ipvsadm" {
			toks = append(toks, f)
		}
	}
	if len(toks) == 0 {
		return nil
	}
	c, err := readCommand(toks)
	if err != nil {
		return withLine(n, err)
	}
	switch c.cmd {
	case "A":
		return withLine(n, p.addService(n, c))
	default:
		return withLine(n, p.addDest(c))
	}
}

// withLine sets the line number of a parse error.
func withLine(n int, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.Line = n
		return pe
	}
	if err != nil {
		return &ParseError{Line: n, Err: err}
	}
	return nil
}

// tokenError blames one token.
func tokenError(tok string, format string, args ...any) error {
	return &ParseError{Token: tok, Err: fmt.Errorf(format, args...)}
}

// notModelled blames one token for a feature the model lacks.
func notModelled(tok, what string) error {
	return &ParseError{Token: tok, Err: fmt.Errorf("%s is %w by this provider", what, ErrNotModelled)}
}

// finish applies the forwarding-method rule and validates every service.
func (p *parser) finish() ([]model.VirtualServer, error) {
	out := make([]model.VirtualServer, 0, len(p.services))
	for _, s := range p.services {
		shared := len(s.dests) > 0
		for _, d := range s.dests {
			first := s.dests[0]
			if d.method != first.method || d.tunType != first.tunType || d.tunPort != first.tunPort {
				shared = false
			}
		}
		for _, d := range s.dests {
			rs := d.rs
			if !shared {
				rs.ForwardingMethod, rs.TunnelType, rs.TunnelPort = d.method, d.tunType, d.tunPort
			}
			s.vs.RealServers = append(s.vs.RealServers, rs)
		}
		if shared {
			d := s.dests[0]
			s.vs.ForwardingMethod, s.vs.TunnelType, s.vs.TunnelPort = d.method, d.tunType, d.tunPort
		}
		if err := s.vs.Validate(nil); err != nil {
			return nil, &ParseError{Line: s.line, Token: s.token, Err: fmt.Errorf("service %s: %w", s.vs.Key(), err)}
		}
		out = append(out, s.vs)
	}
	return out, nil
}
