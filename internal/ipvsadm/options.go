package ipvsadm

import (
	"errors"
	"strings"
)

// argKind says whether an option takes an argument.
type argKind int

const (
	noArg argKind = iota
	needArg
	optionalArg // -p: the next token unless it starts with '-'
)

// option is one ipvsadm option this parser knows, under its short name.
type option struct {
	name string
	arg  argKind
	// slot groups options ipvsadm counts as one (-t/-u/-f are all "the
	// service"); a slot may be given once per line.
	slot string
}

// options maps every spelling ipvsadm accepts for the options of a rule to
// the option. Short names are the map's canonical names.
var options = func() map[string]option {
	m := map[string]option{}
	add := func(short, long string, arg argKind, slot string) {
		o := option{name: short, arg: arg, slot: slot}
		if len(short) == 1 {
			m["-"+short] = o
		}
		m["--"+long] = o
	}
	add("A", "add-service", noArg, "command")
	add("a", "add-server", noArg, "command")
	add("t", "tcp-service", needArg, "service")
	add("u", "udp-service", needArg, "service")
	add("sctp", "sctp-service", needArg, "service")
	add("f", "fwmark-service", needArg, "service")
	add("6", "ipv6", noArg, "6")
	add("s", "scheduler", needArg, "s")
	add("p", "persistent", optionalArg, "p")
	add("M", "netmask", needArg, "M")
	add("o", "ops", noArg, "o")
	add("pe", "pe", needArg, "pe")
	add("b", "sched-flags", needArg, "b")
	add("r", "real-server", needArg, "r")
	add("g", "gatewaying", noArg, "forward")
	add("i", "ipip", noArg, "forward")
	add("m", "masquerading", noArg, "forward")
	add("w", "weight", needArg, "w")
	add("x", "u-threshold", needArg, "x")
	add("y", "l-threshold", needArg, "y")
	add("tun-type", "tun-type", needArg, "tun-type")
	add("tun-port", "tun-port", needArg, "tun-port")
	add("tun-nocsum", "tun-nocsum", noArg, "csum")
	add("tun-csum", "tun-csum", noArg, "csum")
	add("tun-remcsum", "tun-remcsum", noArg, "csum")
	return m
}()

// otherCommands are ipvsadm commands that never appear in saved rules.
var otherCommands = map[string]bool{
	"-E": true, "--edit-service": true, "-D": true, "--delete-service": true,
	"-e": true, "--edit-server": true, "-d": true, "--delete-server": true,
	"-C": true, "--clear": true, "-L": true, "-l": true, "--list": true,
	"-Z": true, "--zero": true, "-R": true, "--restore": true, "-S": true,
	"--save": true, "--set": true, "--start-daemon": true, "--stop-daemon": true,
	"-h": true, "--help": true, "-v": true, "--version": true,
}

// serviceOptions and destOptions are the options each command takes.
var (
	serviceOptions = "t u sctp f 6 s p M o pe b"
	destOptions    = "t u sctp f 6 r g i m w x y tun-type tun-port tun-nocsum tun-csum tun-remcsum"
)

// given is one option as written on a line.
type given struct {
	option
	tok string // as written, for error messages
	val string
	has bool // an argument was given (matters for optionalArg)
}

// command is one line split into its command and options.
type command struct {
	cmd  string // "A" or "a"
	opts map[string]given
}

// get returns the option given in slot, if any.
func (c *command) get(slot string) (given, bool) {
	g, ok := c.opts[slot]
	return g, ok
}

// readCommand splits tokens into a command and its options, refusing what
// ipvsadm would refuse for an -A or -a line.
func readCommand(toks []string) (*command, error) {
	c := &command{opts: map[string]given{}}
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		name, val, hasEq := tok, "", false
		if strings.HasPrefix(tok, "--") {
			name, val, hasEq = strings.Cut(tok, "=")
		}
		o, known := options[name]
		switch {
		case !known && otherCommands[name]:
			return nil, tokenError(tok, "command does not belong in saved rules; only -A (add service) and -a (add server) do")
		case !known && strings.HasPrefix(tok, "-"):
			return nil, tokenError(tok, "unknown option")
		case !known:
			return nil, tokenError(tok, "unexpected argument")
		}
		g := given{option: o, tok: tok, val: val, has: hasEq}
		if !hasEq && o.arg != noArg && i+1 < len(toks) &&
			(o.arg == needArg || !strings.HasPrefix(toks[i+1], "-")) {
			i++
			g.val, g.has = toks[i], true
		}
		if o.arg == needArg && !g.has {
			return nil, tokenError(tok, "needs an argument")
		}
		if o.arg == noArg && hasEq {
			return nil, tokenError(tok, "takes no argument")
		}
		if err := c.add(g); err != nil {
			return nil, err
		}
	}
	if c.cmd == "" {
		return nil, tokenError(toks[0], "a rule starts with -A (add service) or -a (add server)")
	}
	if _, ok := c.get("service"); !ok {
		return nil, tokenError("-"+c.cmd, "names no service; give -t, -u or --sctp-service ADDRESS:PORT, or -f MARK")
	}
	return c, nil
}

// add records one option, checking it belongs to the command.
func (c *command) add(g given) error {
	if g.slot == "command" {
		if c.cmd != "" {
			return tokenError(g.tok, "a line holds one command, and this one already is -%s", c.cmd)
		}
		c.cmd = g.name
		return nil
	}
	if c.cmd == "" {
		return tokenError(g.tok, "a rule starts with -A (add service) or -a (add server)")
	}
	allowed, what := serviceOptions, "-A (add service)"
	if c.cmd == "a" {
		allowed, what = destOptions, "-a (add server)"
	}
	if !fieldsContain(allowed, g.name) {
		return tokenError(g.tok, "does not apply to %s", what)
	}
	if prev, dup := c.opts[g.slot]; dup {
		return tokenError(g.tok, "conflicts with %s given before; ipvsadm takes one", prev.tok)
	}
	if g.name == "6" {
		svc, ok := c.get("service")
		if !ok || svc.name != "f" {
			return tokenError(g.tok, "applies to fwmark services and must follow -f MARK; other services take their family from the address")
		}
	}
	c.opts[g.slot] = g
	return nil
}

func fieldsContain(list, name string) bool {
	for _, f := range strings.Fields(list) {
		if f == name {
			return true
		}
	}
	return false
}

// errNoPort is returned by parseAddrPort for a bracketed address without
// its port.
var errNoPort = errors.New("a bracketed IPv6 address needs its port: [ADDRESS]:PORT")
