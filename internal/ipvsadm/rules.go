package ipvsadm

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Limits ipvsadm 1.31 applies to the values of a rule.
const (
	maxTimeout   = 86400 * 31 // MAX_TIMEOUT: -p
	maxWeight    = 65535
	maxThreshold = math.MaxInt32
	// defaultTimeout is what -p without a value means (IPVS_SVC_PERSISTENT_TIMEOUT).
	defaultTimeout = 300
	// defaultScheduler is what ipvsadm uses when -s is not given (DEF_SCHED).
	defaultScheduler = "wlc"
)

// protocols maps the service options to the model's protocol names.
var protocols = map[string]string{"t": "tcp", "u": "udp", "sctp": "sctp"}

// methods maps the forwarding switches to the model's method names.
var methods = map[string]string{"g": "dr", "i": "tun", "m": "nat"}

// serviceOf reads the service a line names.
func serviceOf(c *command) (serviceKey, error) {
	g, _ := c.get("service")
	if g.name == "f" {
		mark, err := strconv.ParseUint(g.val, 10, 32)
		if err != nil || mark == 0 {
			return serviceKey{}, tokenError(g.val, "invalid fwmark; give a decimal number from 1 to %d", uint32(math.MaxUint32))
		}
		_, v6 := c.get("6")
		return serviceKey{fwmark: uint32(mark), v6: v6}, nil
	}
	addr, port, _, err := parseAddrPort(g.val)
	if err != nil {
		return serviceKey{}, tokenError(g.val, "invalid virtual service address: %w", err)
	}
	return serviceKey{proto: protocols[g.name], addr: netip.AddrPortFrom(addr, uint16(port)), v6: addr.Is6()}, nil
}

// addService reads an -A line.
func (p *parser) addService(n int, c *command) error {
	key, err := serviceOf(c)
	if err != nil {
		return err
	}
	svcTok, _ := c.get("service")
	if i, dup := p.index[key]; dup {
		return tokenError(svcTok.val, "service %s is already added on line %d", key, p.services[i].line)
	}
	vs := model.VirtualServer{Scheduler: defaultScheduler}
	if key.fwmark != 0 {
		vs.Fwmark, vs.Family = key.fwmark, "inet"
		if key.v6 {
			vs.Family = "inet6"
		}
	} else {
		vs.Address, vs.Port, vs.Protocol = key.addr.Addr(), int(key.addr.Port()), key.proto
	}
	if g, ok := c.get("s"); ok {
		vs.Scheduler = g.val
	}
	if g, ok := c.get("pe"); ok {
		return notModelled(g.tok+" "+g.val, "a persistence engine (--pe)")
	}
	if err := persistence(c, &vs, key.v6); err != nil {
		return err
	}
	_, vs.OnePacket = c.get("o")
	if g, ok := c.get("b"); ok {
		if err := schedFlags(g.val, &vs); err != nil {
			return err
		}
	}
	p.index[key] = len(p.services)
	p.services = append(p.services, &service{vs: vs, line: n, token: svcTok.tok + " " + svcTok.val})
	return nil
}

// persistence reads -p and -M.
func persistence(c *command, vs *model.VirtualServer, v6 bool) error {
	if g, ok := c.get("p"); ok {
		vs.PersistenceTimeout = defaultTimeout
		if g.has {
			t, err := number(g.val, 1, maxTimeout)
			if err != nil {
				return tokenError(g.val, "invalid persistence timeout: %w", err)
			}
			vs.PersistenceTimeout = t
		}
	}
	g, ok := c.get("M")
	if !ok {
		return nil
	}
	var prefix int
	if v6 {
		n, err := number(g.val, 1, 128)
		if err != nil {
			return tokenError(g.val, "invalid IPv6 persistence netmask: give a prefix length: %w", err)
		}
		prefix = n
	} else {
		n, err := dottedMask(g.val)
		if err != nil {
			return tokenError(g.val, "invalid persistence netmask: %w", err)
		}
		if n == 0 {
			return notModelled(g.val, "a persistence netmask of /0 (every client on one server)")
		}
		prefix = n
	}
	if prefix == 32 && !v6 || prefix == 128 {
		prefix = 0 // the model's "single address"
	}
	vs.PersistenceGranularity = prefix
	return nil
}

// dottedMask returns the prefix length of a contiguous dotted IPv4 netmask.
func dottedMask(s string) (int, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, errors.New("give a dotted IPv4 netmask such as 255.255.255.0")
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^m)
	if m<<ones != 0 {
		return 0, fmt.Errorf("%w: the model carries prefix lengths, and %s is not contiguous", ErrNotModelled, s)
	}
	return ones, nil
}

// schedFlags reads -b: the sh and mh flags the model carries. flag-1 and
// flag-2 are the same bits under their generic names.
func schedFlags(arg string, vs *model.VirtualServer) error {
	sched := vs.Scheduler
	for _, f := range strings.Split(arg, ",") {
		family, name, _ := strings.Cut(f, "-")
		switch {
		case (family == "sh" || family == "mh") && family != sched:
			return tokenError(f, "incompatible scheduler flag: it belongs to scheduler %q, this service uses %q", family, sched)
		case f == "sh-fallback" || f == "mh-fallback", f == "flag-1" && (sched == "sh" || sched == "mh"):
			vs.SchedulerFallback = true
		case f == "sh-port" || f == "mh-port", f == "flag-2" && (sched == "sh" || sched == "mh"):
			vs.SchedulerPort = true
		case family == "flag" && (name == "1" || name == "2" || name == "3"):
			return notModelled(f, fmt.Sprintf("scheduler flag %s with scheduler %q", f, sched))
		default:
			return tokenError(f, "invalid scheduler flag; ipvsadm knows flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback and mh-port")
		}
	}
	return nil
}

// addDest reads an -a line.
func (p *parser) addDest(c *command) error {
	key, err := serviceOf(c)
	if err != nil {
		return err
	}
	svcTok, _ := c.get("service")
	i, ok := p.index[key]
	if !ok {
		return tokenError(svcTok.val, "destination of service %s comes before the service's -A line", key)
	}
	s := p.services[i]
	r, ok := c.get("r")
	if !ok {
		return tokenError("-a", "needs the real server: -r ADDRESS[:PORT]")
	}
	addr, port, hasPort, err := parseAddrPort(r.val)
	if err != nil {
		return tokenError(r.val, "invalid real server address: %w", err)
	}
	d := dest{method: "dr"} // ipvsadm's default switch is -g
	if g, ok := c.get("forward"); ok {
		d.method = methods[g.name]
	}
	if !hasPort || key.fwmark == 0 && d.method != "nat" {
		// ipvsadm copies the virtual port, and forces it for dr and tun.
		port = int(key.addr.Port())
	}
	if addr.Is6() != key.v6 {
		if d.method == "tun" {
			return notModelled(r.val, "a tunnelled destination of the other address family")
		}
		return tokenError(r.val, "is of another address family than service %s; ipvsadm allows that for tunnelling only", key)
	}
	for _, prev := range s.dests {
		if prev.rs.Address == addr && prev.rs.Port == port {
			return tokenError(r.val, "is already a destination of service %s", key)
		}
	}
	d.rs = model.RealServer{Address: addr, Port: port}
	if err := destNumbers(c, &d.rs); err != nil {
		return err
	}
	if err := tunnel(c, &d); err != nil {
		return err
	}
	s.dests = append(s.dests, d)
	return nil
}

// destNumbers reads -w, -x and -y.
func destNumbers(c *command, rs *model.RealServer) error {
	w := 1
	if g, ok := c.get("w"); ok {
		n, err := number(g.val, 0, maxWeight)
		if err != nil {
			return tokenError(g.val, "invalid weight: %w", err)
		}
		w = n
	}
	rs.Weight = &w
	for _, t := range []struct {
		slot string
		dst  *int
		what string
	}{{"x", &rs.UpperThreshold, "upper threshold"}, {"y", &rs.LowerThreshold, "lower threshold"}} {
		if g, ok := c.get(t.slot); ok {
			n, err := number(g.val, 0, maxThreshold)
			if err != nil {
				return tokenError(g.val, "invalid %s: %v", t.what, err)
			}
			*t.dst = n
		}
	}
	return nil
}

// tunnel reads the tunnel options of a destination, with the combinations
// ipvsadm allows (tunnel_types_v_options).
func tunnel(c *command, d *dest) error {
	tt, hasType := c.get("tun-type")
	tp, hasPort := c.get("tun-port")
	cs, hasCsum := c.get("csum")
	if d.method != "tun" {
		for _, g := range []struct {
			given
			ok bool
		}{{tt, hasType}, {tp, hasPort}, {cs, hasCsum}} {
			if g.ok {
				return tokenError(g.tok, "tunnel options apply to tunnelling (-i) only, this destination uses %s", d.method)
			}
		}
		return nil
	}
	d.tunType = model.DefaultTunnelType
	if hasType {
		switch tt.val {
		case "ipip", "gue", "gre":
			d.tunType = tt.val
		default:
			return tokenError(tt.val, "invalid tunnel type; give ipip, gue or gre")
		}
	}
	switch {
	case d.tunType == "gue" && !hasPort:
		return tokenError(tt.tok+" "+tt.val, "needs --tun-port")
	case d.tunType != "gue" && hasPort:
		return tokenError(tp.tok, "applies to tunnel type gue only, not %s", d.tunType)
	case hasPort:
		n, err := number(tp.val, 1, 65535)
		if err != nil {
			return tokenError(tp.val, "invalid tunnel port: %w", err)
		}
		d.tunPort = n
	}
	if !hasCsum {
		return nil
	}
	switch {
	case d.tunType == "ipip" || d.tunType == "gre" && cs.name == "tun-remcsum":
		return tokenError(cs.tok, "does not apply to tunnel type %s", d.tunType)
	case cs.name != "tun-nocsum":
		return notModelled(cs.tok, "a tunnel checksum option (only the default --tun-nocsum is)")
	}
	return nil
}

// number reads a decimal integer within [lo, hi].
func number(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a decimal number", s)
	case n < lo || n > hi:
		return 0, fmt.Errorf("%d is out of range %d to %d", n, lo, hi)
	}
	return n, nil
}

// parseAddrPort reads ADDRESS[:PORT] as ipvsadm's parse_service does:
// IPv6 in brackets with a port, or bare without one.
func parseAddrPort(s string) (addr netip.Addr, port int, hasPort bool, err error) {
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return addr, 0, false, errNoPort
		}
		host, portStr, hasPort = s[1:end], s[end+2:], true
	case strings.Count(s, ":") == 1:
		host, portStr, hasPort = strings.Cut(s, ":")
	}
	addr, err = netip.ParseAddr(host)
	switch {
	case err != nil:
		return addr, 0, false, fmt.Errorf("%q is not a numeric IP address (read the output of ipvsadm-save -n)", host)
	case addr.Zone() != "":
		return addr, 0, false, fmt.Errorf("%q has a zone, which IPVS does not take", host)
	case strings.HasPrefix(s, "[") && !addr.Is6():
		return addr, 0, false, fmt.Errorf("%q is in brackets but not an IPv6 address", host)
	}
	if hasPort {
		if port, err = number(portStr, 0, 65535); err != nil {
			return addr, 0, false, fmt.Errorf("invalid port (read the output of ipvsadm-save -n): %w", err)
		}
	}
	return addr, port, hasPort, nil
}
