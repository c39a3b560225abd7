package keepalivedconf

import (
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Parse reads a keepalived.conf; name is the file name errors and warnings
// give. The configuration is not validated: the caller decides what an
// invalid one means (render.Keepalived and the agent validate it).
func Parse(r io.Reader, name string) (*model.KeepalivedConfig, []Warning, error) {
	return ParseWith(r, name, Options{})
}

// Options are what a file's meaning depends on besides its text.
type Options struct {
	// Host is the configuration id keepalived runs with (its -i option;
	// by default the host name up to the first dot): `@Host` lines are
	// read without the prefix, `@other` lines are left out, `@^Host` lines
	// are left out and `@^other` lines read. Empty refuses @ lines.
	Host string
}

// ParseWith is Parse with options.
func ParseWith(r io.Reader, name string, opt Options) (*model.KeepalivedConfig, []Warning, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading: %w", name, err)
	}
	toks, err := lex(string(src), name, opt.Host)
	if err != nil {
		return nil, nil, err
	}
	tree, err := parseTree(toks, name)
	if err != nil {
		return nil, nil, err
	}
	p := &parser{file: name, cfg: &model.KeepalivedConfig{}, scripts: map[string]*scriptDef{}, trackFiles: map[string]*trackFileDef{},
		nextRulePriority: [2]uint32{firstAutoRulePriority, firstAutoRulePriority}}
	if err := p.top(tree); err != nil {
		return nil, p.warns, err
	}
	return p.cfg, p.warns, nil
}

type scriptDef struct {
	ts     model.TrackScript
	weight int
	used   bool
	line   int
}

type parser struct {
	file    string
	cfg     *model.KeepalivedConfig
	warns   []Warning
	scripts map[string]*scriptDef
	// pending track_script references, resolved once every vrrp_script is read.
	tracks []trackRef
	// track_file blocks by name, and the FILE_CHECKs naming them.
	trackFiles map[string]*trackFileDef
	fileRefs   []fileRef
	// nextRulePriority is the preference keepalived gives the next rule
	// without one, per family (IPv4, IPv6).
	nextRulePriority [2]uint32
}

type trackFileDef struct {
	file    string
	weight  *int
	reverse bool
	line    int
}

// fileRef is a FILE_CHECK whose track_file is resolved at the end.
type fileRef struct {
	check *model.FileCheck
	name  string
	line  int
}

type trackRef struct {
	inst   int
	name   string
	weight *int
	line   int
}

func (p *parser) warn(n *node, format string, a ...any) {
	p.warns = append(p.warns, Warning{File: p.file, Line: n.line, Message: fmt.Sprintf(format, a...)})
}

func (p *parser) errf(n *node, format string, a ...any) error {
	return &Error{File: p.file, Line: n.line, Keyword: n.key(), Message: fmt.Sprintf(format, a...)}
}

// ignored warns that a keyword was left out.
func (p *parser) ignored(n *node, where string) {
	p.warn(n, "%s: %q is not carried by the model; left out", where, n.key())
}

// material refuses a keyword whose absence would change what the director does.
func (p *parser) material(n *node, why string) error {
	return p.errf(n, "the model cannot carry it, and leaving it out would %s", why)
}

func (p *parser) top(tree []*node) error {
	for _, n := range tree {
		var err error
		switch n.key() {
		case "include":
			err = p.errf(n, "includes are not supported: merge the included files into one keepalived.conf before importing it")
		case "global_defs":
			err = p.globalDefs(n)
		case "vrrp_script":
			err = p.vrrpScript(n)
		case "vrrp_sync_group":
			err = p.syncGroup(n)
		case "vrrp_instance":
			err = p.instance(n)
		case "virtual_server_group":
			err = p.vsGroup(n)
		case "virtual_server":
			err = p.virtualServer(n)
		case "static_ipaddress":
			err = p.staticAddresses(n)
		case "static_routes":
			var rs []model.Route
			rs, err = p.routes(n, false)
			p.cfg.Director.StaticRoutes = append(p.cfg.Director.StaticRoutes, rs...)
		case "static_rules":
			var rs []model.Rule
			rs, err = p.rules(n, false)
			p.cfg.Director.StaticRules = append(p.cfg.Director.StaticRules, rs...)
		case "track_file", "vrrp_track_file":
			err = p.trackFile(n)
		case "net_namespace", "net_namespace_ipvs":
			err = p.material(n, "run keepalived, its addresses, routes and IPVS services in the host's own network namespace instead of the one named")
		case "vrrp_track_process", "bfd_instance":
			p.warn(n, "%q is not carried by the model; left out (instances tracking it are refused)", n.key())
		default:
			p.ignored(n, "top level")
		}
		if err != nil {
			return err
		}
	}
	// Resolve the track_script references now that every vrrp_script is known.
	for _, t := range p.tracks {
		d, ok := p.scripts[t.name]
		in := &p.cfg.Director.Instances[t.inst]
		if !ok {
			p.warns = append(p.warns, Warning{File: p.file, Line: t.line, Message: fmt.Sprintf("track_script %q names no vrrp_script; keepalived ignores it, and so does the import", t.name)})
			continue
		}
		ts := d.ts
		ts.Weight = d.weight
		if t.weight != nil {
			ts.Weight = *t.weight
		}
		in.TrackScripts = append(in.TrackScripts, ts)
		d.used = true
	}
	for _, r := range p.fileRefs {
		d, ok := p.trackFiles[r.name]
		if !ok {
			return &Error{File: p.file, Line: r.line, Keyword: "track_file", Message: fmt.Sprintf("%q names no track_file block", r.name)}
		}
		r.check.File = d.file
		if r.check.Weight == nil && d.weight != nil {
			w := *d.weight
			r.check.Weight = &w
			r.check.Reverse = d.reverse
		}
	}
	for _, name := range p.unusedScripts() {
		p.warns = append(p.warns, Warning{File: p.file, Line: p.scripts[name].line, Message: fmt.Sprintf("vrrp_script %s is tracked by no instance; left out", name)})
	}
	return nil
}

func (p *parser) globalDefs(n *node) error {
	d := &p.cfg.Director
	for _, c := range n.block {
		switch c.key() {
		case "router_id":
			v, err := p.one(c)
			if err != nil {
				return err
			}
			d.RouterID = v
		case "script_user":
			if len(c.args()) == 0 {
				return p.errf(c, "needs a user name")
			}
			d.ScriptUser = c.args()[0]
			if len(c.args()) > 1 {
				p.warn(c, "script_user: the group %q is not carried by the model; scripts run with the user's primary group", c.args()[1])
			}
		case "enable_script_security":
			d.EnableScriptSecurity = true
		default:
			ok, err := p.globalSetting(c, &d.Globals)
			if err != nil {
				return err
			}
			if !ok {
				return p.material(c, "change how keepalived runs (every global_defs setting does: mail, VRRP, firewall, checkers)")
			}
		}
	}
	return nil
}

// trackFile reads a top-level track_file block: the file FILE_CHECKs
// (and instances) read a number from.
func (p *parser) trackFile(n *node) error {
	if len(n.args()) != 1 {
		return p.errf(n, "needs exactly one name")
	}
	d := &trackFileDef{line: n.line}
	for _, c := range n.block {
		var err error
		switch c.key() {
		case "file":
			d.file, err = p.one(c)
		case "weight":
			var w int
			if w, d.reverse, err = p.weightReverse(c); err == nil {
				d.weight = &w
			}
		case "init_file":
			err = p.material(c, "stop keepalived creating the file when it is missing (the model expects the file to exist)")
		default:
			p.ignored(c, "track_file")
		}
		if err != nil {
			return err
		}
	}
	if d.file == "" {
		return p.errf(n, "needs a file")
	}
	p.trackFiles[n.args()[0]] = d
	return nil
}

func (p *parser) vrrpScript(n *node) error {
	if len(n.args()) != 1 {
		return p.errf(n, "needs exactly one name")
	}
	d := &scriptDef{ts: model.TrackScript{Name: n.args()[0]}, line: n.line}
	for _, c := range n.block {
		var err error
		switch c.key() {
		case "script":
			d.ts.Script, err = p.rest(c)
		case "interval":
			d.ts.Interval, err = p.intArg(c)
		case "timeout":
			d.ts.Timeout, err = p.intArg(c)
		case "weight":
			d.weight, err = p.intArg(c)
			if err == nil && len(c.args()) > 1 {
				p.warn(c, "weight: %q is not carried by the model; left out", strings.Join(c.args()[1:], " "))
			}
		case "fall":
			d.ts.Fall, err = p.intArg(c)
		case "rise":
			d.ts.Rise, err = p.intArg(c)
		default:
			p.ignored(c, "vrrp_script")
		}
		if err != nil {
			return err
		}
	}
	p.scripts[d.ts.Name] = d
	return nil
}

func (p *parser) syncGroup(n *node) error {
	if len(n.args()) != 1 {
		return p.errf(n, "needs exactly one name")
	}
	g := model.VRRPSyncGroup{Name: n.args()[0]}
	for _, c := range n.block {
		switch c.key() {
		case "group":
			for _, m := range c.block {
				g.Instances = append(g.Instances, m.words...)
			}
			g.Instances = append(g.Instances, c.args()...)
		default:
			ok, err := p.notify(c, &g.Notify)
			if err != nil {
				return err
			}
			if !ok && len(c.block) == 0 && len(c.args()) == 0 {
				// The syntax before group {}: keepalived 2.2 reads a bare
				// instance name as an unknown keyword.
				p.warn(c, "vrrp_sync_group %s: %q outside group { } is an unknown keyword to keepalived 2.2, which leaves the instance out of the group; keepalived ignores it, and so does the import", g.Name, c.key())
			} else if !ok {
				p.ignored(c, "vrrp_sync_group")
			}
		}
	}
	if len(g.Instances) == 0 {
		p.warn(n, "vrrp_sync_group %s has no instances, so it syncs nothing; keepalived ignores it, and so does the import", g.Name)
		return nil
	}
	p.cfg.Director.SyncGroups = append(p.cfg.Director.SyncGroups, g)
	return nil
}

// notify reads a notify_* keyword into n; false when c is not one.
func (p *parser) notify(c *node, n *model.Notify) (bool, error) {
	var dst *string
	switch c.key() {
	case "notify_master":
		dst = &n.Master
	case "notify_backup":
		dst = &n.Backup
	case "notify_fault":
		dst = &n.Fault
	case "notify_stop":
		dst = &n.Stop
	case "notify":
		dst = &n.Any
	default:
		return false, nil
	}
	v, err := p.rest(c)
	*dst = v
	return true, err
}

func (p *parser) instance(n *node) error {
	if len(n.args()) != 1 {
		return p.errf(n, "needs exactly one name")
	}
	in := model.VRRPInstance{Name: n.args()[0]}
	idx := len(p.cfg.Director.Instances)
	var authNode *node
	for _, c := range n.block {
		var err error
		switch c.key() {
		case "state":
			in.State, err = p.one(c)
			in.State = strings.ToUpper(in.State)
		case "interface":
			in.Interface, err = p.one(c)
		case "virtual_router_id":
			in.VirtualRouterID, err = p.intArg(c)
		case "priority":
			in.Priority, err = p.intArg(c)
		case "advert_int":
			var s string
			if s, err = p.one(c); err == nil {
				in.AdvertInt, err = strconv.ParseFloat(s, 64)
				if err != nil {
					err = p.errf(c, "%q is not a number of seconds", s)
				}
			}
		case "version":
			in.Version, err = p.intArg(c)
			if in.Version == model.DefaultVRRPVersion {
				in.Version = 0
			}
		case "authentication":
			a := &model.VRRPAuth{}
			for _, k := range c.block {
				switch k.key() {
				case "auth_type":
					a.Type, err = p.one(k)
				case "auth_pass":
					// Never quote it in a warning: it is a secret.
					if len(k.args()) == 0 {
						err = p.errf(k, "needs a password")
					} else {
						a.Password = k.args()[0]
						if len(a.Password) > 8 {
							// What keepalived does too (VRRPv2 carries 8).
							a.Password = a.Password[:8]
							p.warn(k, "auth_pass: longer than the 8 characters VRRP carries; cut to its first 8, as keepalived does")
						}
						if len(k.args()) > 1 {
							p.warn(k, "auth_pass: the words after the first are not part of the password (keepalived ignores them too); left out")
						}
					}
				default:
					p.ignored(k, "authentication")
				}
				if err != nil {
					return err
				}
			}
			in.Authentication = a
			authNode = c
		case "unicast_src_ip", "mcast_src_ip":
			// keepalived keeps both in one field: the adverts' source address.
			in.UnicastSrcIP, err = p.addr(c)
		case "unicast_peer":
			for _, k := range c.block {
				a, perr := netip.ParseAddr(k.key())
				if perr != nil {
					return p.errf(k, "is not an IP address")
				}
				if len(k.args()) > 0 {
					p.warn(k, "unicast_peer: %q is not carried by the model; left out", strings.Join(k.args(), " "))
				}
				in.UnicastPeers = append(in.UnicastPeers, a)
			}
		case "virtual_ipaddress":
			for _, k := range c.block {
				vip, verr := p.vip(k)
				if verr != nil {
					return verr
				}
				in.VirtualIPs = append(in.VirtualIPs, vip)
			}
		case "track_script":
			for _, k := range c.block {
				ref := trackRef{inst: idx, name: k.key(), line: k.line}
				if w, ok, werr := p.weightOf(k); werr != nil {
					return werr
				} else if ok {
					ref.weight = &w
				}
				p.tracks = append(p.tracks, ref)
			}
		case "track_interface":
			for _, k := range c.block {
				ti := model.TrackInterface{Name: k.key()}
				w, _, werr := p.weightOf(k)
				if werr != nil {
					return werr
				}
				ti.Weight = w
				in.TrackIfaces = append(in.TrackIfaces, ti)
			}
		case "nopreempt", "no_preempt":
			in.NoPreempt = true
		case "preempt":
			in.NoPreempt = false
		case "preempt_delay":
			in.PreemptDelay, err = p.intArg(c)
		case "garp_master_delay":
			in.GarpMasterDelay, err = p.intArg(c)
		case "garp_master_repeat":
			in.GarpMasterRepeat, err = p.intArg(c)
		case "garp_master_refresh":
			in.GarpMasterRefresh, err = p.intArg(c)
		case "virtual_ipaddress_excluded":
			err = p.material(c, "drop the addresses it lists when the director is MASTER")
		case "virtual_routes":
			var rs []model.Route
			rs, err = p.routes(c, true)
			in.VirtualRoutes = append(in.VirtualRoutes, rs...)
		case "virtual_rules":
			var rs []model.Rule
			rs, err = p.rules(c, true)
			in.VirtualRules = append(in.VirtualRules, rs...)
		case "use_vmac":
			err = p.useVMAC(c, &in)
		case "vmac_xmit_base":
			in.VMACXmitBase = true
		case "use_vmac_addr", "use_ipvlan":
			err = p.material(c, "change the MAC address the virtual addresses answer with")
		case "track_process", "track_file", "track_bfd":
			err = p.material(c, "stop the instance failing over when what it tracks fails")
		case "smtp_alert":
			in.SMTPAlert, err = p.boolArg(c)
		case "lvs_sync_daemon_interface":
			// keepalived 2.2 reads it as global_defs' lvs_sync_daemon
			// IFACE INSTANCE ("deprecated. Please use global lvs_sync_daemon").
			var iface string
			if iface, err = p.one(c); err == nil {
				g := &p.cfg.Director.Globals
				if g.LVSSyncDaemon != nil {
					err = p.errf(c, "a second IPVS sync daemon; keepalived runs one")
				} else {
					g.LVSSyncDaemon = &model.LVSSyncDaemon{Interface: iface, Instance: in.Name}
				}
			}
		default:
			var ok bool
			ok, err = p.notify(c, &in.Notify)
			if !ok {
				p.ignored(c, "vrrp_instance "+in.Name)
			}
		}
		if err != nil {
			return err
		}
	}
	in.VirtualIPs = p.dropDuplicateVIPs(n, in.VirtualIPs, in.Interface)
	if a := in.Authentication; a != nil && a.Type == "AH" && in.State == "MASTER" {
		// keepalived: "Initial state master is incompatible with AH
		// authentication - clearing".
		in.Authentication = nil
		p.warn(authNode, "auth_type AH with initial state MASTER: keepalived ignores it (it clears the authentication), and so does the import")
	}
	p.cfg.Director.Instances = append(p.cfg.Director.Instances, in)
	return nil
}

// vip reads one virtual_ipaddress line: ADDR[/LEN] [dev D] [label L] ...
func (p *parser) vip(n *node) (model.VirtualIP, error) {
	var v model.VirtualIP
	s := n.key()
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return v, p.errf(n, "is not an address with prefix length")
		}
		v.Prefix = pf
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return v, p.errf(n, "is not an IP address")
		}
		v.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	args := n.args()
	for i := 0; i < len(args); i++ {
		kw := args[i]
		switch kw {
		case "dev", "label", "brd", "broadcast", "scope", "track_group", "preferred_lft", "valid_lft":
			if i+1 >= len(args) {
				return v, p.errf(n, "%q needs a value", kw)
			}
			val := args[i+1]
			i++
			switch kw {
			case "dev":
				v.Device = val
			case "label":
				v.Label = val
			default:
				p.warn(n, "virtual_ipaddress %s: %q %s is not carried by the model; left out (the kernel's default applies)", s, kw, val)
			}
		default:
			p.warn(n, "virtual_ipaddress %s: %q is not carried by the model; left out", s, kw)
		}
	}
	return v, nil
}

// staticAddresses reads a static_ipaddress block into the director's
// static addresses: lines as virtual_ipaddress has them. A label is
// refused (the agent holds these addresses over netlink, without labels).
func (p *parser) staticAddresses(n *node) error {
	for _, k := range n.block {
		scope, k, err := p.staticScope(k)
		if err != nil {
			return err
		}
		nw := len(p.warns)
		v, err := p.vip(k)
		if err != nil {
			return err
		}
		if len(p.warns) > nw {
			// An option the model leaves out (scope, brd, lifetimes)
			// changes the address the agent would hold: refuse it.
			msg := strings.TrimPrefix(p.warns[nw].Message, "virtual_ipaddress ")
			p.warns = p.warns[:nw]
			return p.errf(k, "static_ipaddress: %s; the agent holds static addresses with the kernel's defaults only, so the import refuses it: remove the option or make the address a virtual_ipaddress", strings.TrimSuffix(msg, "; left out (the kernel's default applies)"))
		}
		if v.Label != "" {
			return p.errf(k, "static_ipaddress %s: label %q cannot be carried (the agent holds static addresses without labels); remove the label or make the address a virtual_ipaddress", v.Prefix, v.Label)
		}
		p.cfg.Director.StaticAddresses = append(p.cfg.Director.StaticAddresses, model.StaticAddress{Prefix: v.Prefix, Device: v.Device, Scope: scope})
	}
	return nil
}

// staticScope takes a static_ipaddress line's "scope NAME" (the model
// carries it) and returns the line without it, for vip to read the rest.
// A scope the model does not name (a number, an rt_scopes name) is refused.
func (p *parser) staticScope(n *node) (string, *node, error) {
	i := slices.Index(n.words, "scope")
	if i < 1 || i+1 >= len(n.words) {
		return "", n, nil // none, or no value: vip's error
	}
	scope := n.words[i+1]
	if !slices.Contains(model.AddressScopes, scope) {
		return "", n, p.errf(n, "static_ipaddress: scope %q is not one the model carries; allowed values are %s", scope, strings.Join(model.AddressScopes, ", "))
	}
	rest := *n
	rest.words = slices.Delete(slices.Clone(n.words), i, i+2)
	return scope, &rest, nil
}

// weightOf reads "NAME [weight N [reverse]]".
func (p *parser) weightOf(n *node) (int, bool, error) {
	args := n.args()
	if len(args) == 0 {
		return 0, false, nil
	}
	if args[0] != "weight" || len(args) < 2 {
		p.warn(n, "%s: %q is not carried by the model; left out", n.key(), strings.Join(args, " "))
		return 0, false, nil
	}
	w, err := strconv.Atoi(args[1])
	if err != nil {
		return 0, false, p.errf(n, "weight %q is not a number", args[1])
	}
	if len(args) > 2 {
		if args[2] == "reverse" {
			return 0, false, p.material(n, "invert how the tracked state moves the priority (reverse)")
		}
		p.warn(n, "%s: %q is not carried by the model; left out", n.key(), strings.Join(args[2:], " "))
	}
	return w, true, nil
}

func (p *parser) vsGroup(n *node) error {
	if len(n.args()) != 1 {
		return p.errf(n, "needs exactly one name")
	}
	g := model.VirtualServerGroup{Name: n.args()[0]}
	for _, c := range n.block {
		var m model.VSGroupMember
		if c.key() == "fwmark" {
			v, err := p.intArg(c)
			if err != nil {
				return err
			}
			m.Fwmark = uint32(v)
			g.Members = append(g.Members, m)
			continue
		}
		addr := c.key()
		var rangeEnd string
		if i := strings.LastIndex(addr, "-"); i > 0 {
			addr, rangeEnd = addr[:i], addr[i+1:]
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return p.errf(c, "is neither an address (range) nor fwmark")
		}
		m.Address = a
		if rangeEnd != "" {
			base := 10
			if a.Is6() {
				base = 16 // keepalived reads an IPv6 range end as hex
			}
			v, err := strconv.ParseInt(rangeEnd, base, 32)
			if err != nil {
				return p.errf(c, "range end %q is not a number", rangeEnd)
			}
			m.RangeEnd = int(v)
		}
		switch len(c.args()) {
		case 0:
		case 1:
			if m.Port, err = strconv.Atoi(c.args()[0]); err != nil {
				return p.errf(c, "port %q is not a number", c.args()[0])
			}
		default:
			return p.errf(c, "takes an address (range) and a port")
		}
		g.Members = append(g.Members, m)
	}
	p.cfg.Groups = append(p.cfg.Groups, g)
	return nil
}

func (p *parser) virtualServer(n *node) error {
	var vs model.VirtualServer
	args := n.args()
	switch {
	case len(args) == 2 && args[0] == "fwmark":
		v, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil || v == 0 {
			return p.errf(n, "fwmark %q is not a positive number", args[1])
		}
		vs.Fwmark = uint32(v)
	case len(args) == 2 && args[0] == "group":
		vs.Group = args[1]
	case len(args) == 1 || len(args) == 2:
		a, err := netip.ParseAddr(args[0])
		if err != nil {
			return p.errf(n, "%q is not an IP address", args[0])
		}
		vs.Address = a
		if len(args) == 2 {
			if vs.Port, err = strconv.Atoi(args[1]); err != nil {
				return p.errf(n, "port %q is not a number", args[1])
			}
		}
	default:
		return p.errf(n, "takes ADDRESS [PORT], fwmark N or group NAME")
	}
	var granularity string
	var granNode *node
	for _, c := range n.block {
		var err error
		switch c.key() {
		case "ip_family":
			var fam string
			if fam, err = p.one(c); err == nil {
				if vs.Fwmark != 0 || vs.Group != "" {
					vs.Family = fam
					if fam == "inet" {
						vs.Family = ""
					}
				} else if (fam == "inet6") != vs.Address.Is6() {
					err = p.errf(c, "%s does not match the address %s", fam, vs.Address)
				}
			}
		case "delay_loop":
			vs.DelayLoop, err = p.intArg(c)
		case "lvs_sched", "lb_algo":
			vs.Scheduler, err = p.one(c)
		case "lvs_method", "lb_kind":
			vs.ForwardingMethod, vs.TunnelType, vs.TunnelPort, err = p.method(c)
		case "protocol":
			var s string
			if s, err = p.one(c); err == nil {
				if vs.Fwmark == 0 {
					vs.Protocol = strings.ToLower(s)
				} else {
					p.warn(c, "protocol does not apply to a fwmark service (keepalived ignores it); left out")
				}
			}
		case "persistence_timeout":
			if len(c.args()) == 0 {
				vs.PersistenceTimeout = 360 // keepalived's default when no value is given
			} else {
				vs.PersistenceTimeout, err = p.intArg(c)
			}
		case "persistence_granularity":
			granularity, err = p.one(c)
			granNode = c
		case "sh-port", "mh-port", "flag-2":
			vs.SchedulerPort = true
		case "sh-fallback", "mh-fallback", "flag-1":
			vs.SchedulerFallback = true
		case "ops":
			vs.OnePacket = true
		case "connect_timeout":
			vs.ConnectTimeout, err = p.intArg(c)
		case "retry", "nb_get_retry":
			vs.Retry, err = p.intArg(c)
		case "delay_before_retry":
			vs.DelayBeforeRetry, err = p.intArg(c)
		case "virtualhost":
			vs.VirtualHost, err = p.one(c)
		case "alpha":
			vs.Alpha = true
		case "omega":
			vs.Omega = true
		case "quorum":
			vs.Quorum, err = p.intArg(c)
		case "hysteresis":
			vs.Hysteresis, err = p.intArg(c)
		case "quorum_up":
			vs.QuorumUp, err = p.rest(c)
		case "quorum_down":
			vs.QuorumDown, err = p.rest(c)
		case "inhibit_on_failure":
			vs.InhibitOnFailure, err = p.boolArg(c)
		case "sorry_server":
			s := &model.SorryServer{}
			if vs.SorryServer != nil {
				*s = *vs.SorryServer
			}
			s.Address, s.Port, err = p.hostPort(c)
			vs.SorryServer = s
		case "sorry_server_lvs_method":
			if vs.SorryServer == nil {
				vs.SorryServer = &model.SorryServer{}
			}
			var tt string
			var tp int
			vs.SorryServer.ForwardingMethod, tt, tp, err = p.method(c)
			if err == nil && (tt != "" || tp != 0) {
				p.warn(c, "sorry_server_lvs_method: the tunnel type of a sorry server is not carried by the model; left out")
			}
		case "sorry_server_inhibit":
			if vs.SorryServer == nil {
				vs.SorryServer = &model.SorryServer{}
			}
			vs.SorryServer.Inhibit, err = p.boolArg(c)
		case "real_server":
			var rs model.RealServer
			if rs, err = p.realServer(c); err == nil {
				vs.RealServers = append(vs.RealServers, rs)
			}
		case "hashed":
			p.warn(c, "hashed is not carried by the model; left out")
		default:
			p.ignored(c, "virtual_server "+strings.Join(args, " "))
		}
		if err != nil {
			return err
		}
	}
	if granularity != "" {
		g, err := parseGranularity(granularity, vs.IsIPv6())
		if err != nil {
			return p.errf(granNode, "%v", err)
		}
		vs.PersistenceGranularity = g
	}
	p.cfg.VirtualServers = append(p.cfg.VirtualServers, vs)
	return nil
}

// parseGranularity reads a netmask (IPv4) or prefix length.
func parseGranularity(s string, v6 bool) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || v6 {
		return 0, fmt.Errorf("%q is neither a netmask nor a prefix length", s)
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^m)
	if m<<ones != 0 {
		return 0, fmt.Errorf("%q is not a contiguous netmask", s)
	}
	return ones, nil
}

// method reads "NAT", "DR", "TUN [type ipip|gue|gre] [port N]".
func (p *parser) method(c *node) (method, tunType string, tunPort int, err error) {
	args := c.args()
	if len(args) == 0 {
		return "", "", 0, p.errf(c, "needs NAT, DR or TUN")
	}
	method = strings.ToLower(args[0])
	if method != "nat" && method != "dr" && method != "tun" {
		return "", "", 0, p.errf(c, "%q is not NAT, DR or TUN", args[0])
	}
	for i := 1; i < len(args); i++ {
		switch {
		case args[i] == "type" && i+1 < len(args):
			tunType = strings.ToLower(args[i+1])
			i++
		case args[i] == "port" && i+1 < len(args):
			if tunPort, err = strconv.Atoi(args[i+1]); err != nil {
				return "", "", 0, p.errf(c, "tunnel port %q is not a number", args[i+1])
			}
			i++
		case args[i] == "nocsum" || args[i] == "csum" || args[i] == "remcsum":
			p.warn(c, "%s: the tunnel checksum option %q is not carried by the model; left out", c.key(), args[i])
		default:
			return "", "", 0, p.errf(c, "unexpected %q", args[i])
		}
	}
	if tunType == "ipip" && tunPort == 0 {
		tunType = "" // keepalived's default, as the model's
	}
	return method, tunType, tunPort, nil
}

func (p *parser) realServer(n *node) (model.RealServer, error) {
	var rs model.RealServer
	a, port, err := p.hostPort(n)
	if err != nil {
		return rs, err
	}
	rs.Address, rs.Port = a, port
	checks := 0
	for _, c := range n.block {
		var err error
		switch c.key() {
		case "weight":
			var w int
			if w, err = p.intArg(c); err == nil {
				rs.Weight = &w
			}
		case "lvs_method", "lb_kind":
			rs.ForwardingMethod, rs.TunnelType, rs.TunnelPort, err = p.method(c)
		case "inhibit_on_failure":
			var b bool
			if b, err = p.boolArg(c); err == nil {
				rs.InhibitOnFailure = &b
			}
		case "uthreshold":
			rs.UpperThreshold, err = p.intArg(c)
		case "lthreshold":
			rs.LowerThreshold, err = p.intArg(c)
		case "notify_up":
			rs.NotifyUp, err = p.rest(c)
		case "notify_down":
			rs.NotifyDown, err = p.rest(c)
		case "TCP_CHECK":
			checks++
			tc := &model.TCPCheck{}
			err = p.checkBlock(c, &tc.CheckCommon, nil, nil)
			rs.TCPCheck = tc
		case "PING_CHECK":
			checks++
			pc := &model.PingCheck{}
			err = p.checkBlock(c, &pc.CheckCommon, nil, nil)
			rs.PingCheck = pc
		case "SMTP_CHECK":
			checks++
			rs.SMTPCheck, err = p.smtpCheck(c)
		case "UDP_CHECK":
			checks++
			rs.UDPCheck, err = p.udpCheck(c)
		case "DNS_CHECK":
			checks++
			rs.DNSCheck, err = p.dnsCheck(c)
		case "FILE_CHECK":
			checks++
			rs.FileCheck, err = p.fileCheck(c)
		case "HTTP_GET", "SSL_GET":
			checks++
			hc := &model.HTTPCheck{}
			err = p.checkBlock(c, &hc.CheckCommon, hc, nil)
			if c.key() == "HTTP_GET" {
				rs.HTTPGet = hc
			} else {
				rs.SSLGet = hc
			}
		case "MISC_CHECK":
			checks++
			mc := &model.MiscCheck{}
			err = p.checkBlock(c, nil, nil, mc)
			rs.MiscCheck = mc
		case "BFD_CHECK":
			err = p.material(c, "leave the real server without its health check")
		default:
			p.ignored(c, "real_server "+strings.Join(n.args(), " "))
		}
		if err != nil {
			return rs, err
		}
		if checks > 1 {
			return rs, p.material(c, "drop one of the real server's health checks (the model holds one checker per real server)")
		}
	}
	return rs, nil
}

// checkBlock reads a checker's block into the parts given (nil: not this
// kind); extra, when given, reads the checker's own keywords (false: not one).
func (p *parser) checkBlock(n *node, cc *model.CheckCommon, hc *model.HTTPCheck, mc *model.MiscCheck, extra ...func(*node) (bool, error)) error {
	for _, c := range n.block {
		var err error
		key := c.key()
		for _, x := range extra {
			var ok bool
			if ok, err = x(c); ok {
				goto next
			}
		}
		if cc != nil {
			switch key {
			case "connect_ip":
				cc.ConnectIP, err = p.addr(c)
				goto next
			case "connect_port":
				cc.ConnectPort, err = p.intArg(c)
				goto next
			case "bindto":
				cc.BindTo, err = p.addr(c)
				goto next
			case "connect_timeout":
				cc.ConnectTimeout, err = p.intArg(c)
				goto next
			case "retry":
				cc.Retry, err = p.intArg(c)
				goto next
			case "nb_get_retry", "nb_sock_retry":
				if key == "nb_get_retry" && hc != nil {
					// HTTP_GET and SSL_GET still honour it (keepalived 2.2:
					// "nb_get_retry is deprecated - please use 'retry'").
					cc.Retry, err = p.intArg(c)
				} else {
					p.warn(c, "%s is unknown to keepalived 2.2 in %s (it retries its default number of times); keepalived ignores it, and so does the import", key, n.key())
				}
				goto next
			case "delay_before_retry":
				cc.DelayBeforeRetry, err = p.intArg(c)
				goto next
			}
		}
		if hc != nil {
			switch key {
			case "url":
				var u model.CheckURL
				for _, k := range c.block {
					var uerr error
					switch k.key() {
					case "path":
						u.Path, uerr = p.one(k)
					case "status_code":
						u.StatusCode, uerr = p.rest(k)
					case "digest":
						u.Digest, uerr = p.one(k)
						u.Digest = strings.ToLower(u.Digest)
					default:
						p.ignored(k, "url")
					}
					if uerr != nil {
						return uerr
					}
				}
				hc.URLs = append(hc.URLs, u)
				continue
			case "virtualhost":
				hc.VirtualHost, err = p.one(c)
				goto next
			}
		}
		if mc != nil {
			switch key {
			case "misc_path":
				mc.Script, err = p.rest(c)
				goto next
			case "misc_timeout":
				mc.Timeout, err = p.intArg(c)
				goto next
			case "misc_dynamic":
				mc.Dynamic = true
				goto next
			case "user":
				if len(c.args()) == 0 {
					err = p.errf(c, "needs a user name")
				} else {
					mc.User = c.args()[0]
					if len(c.args()) > 1 {
						p.warn(c, "user: the group %q is not carried by the model; left out", c.args()[1])
					}
				}
				goto next
			}
		}
		p.ignored(c, n.key())
	next:
		if err != nil {
			return err
		}
	}
	return nil
}

// hostPort reads "ADDR [PORT]" from a node's arguments.
func (p *parser) hostPort(n *node) (netip.Addr, int, error) {
	args := n.args()
	if len(args) < 1 || len(args) > 2 {
		return netip.Addr{}, 0, p.errf(n, "takes an address and an optional port")
	}
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		return netip.Addr{}, 0, p.errf(n, "%q is not an IP address", args[0])
	}
	port := 0
	if len(args) == 2 {
		if port, err = strconv.Atoi(args[1]); err != nil {
			return netip.Addr{}, 0, p.errf(n, "port %q is not a number", args[1])
		}
	}
	return a, port, nil
}

func (p *parser) one(n *node) (string, error) {
	if len(n.args()) < 1 {
		return "", p.errf(n, "needs a value")
	}
	if len(n.args()) > 1 {
		p.warn(n, "%s: %q after the value is not carried by the model; left out", n.key(), strings.Join(n.args()[1:], " "))
	}
	return n.args()[0], nil
}

// rest is the rest of the line: a script with its arguments.
func (p *parser) rest(n *node) (string, error) {
	if len(n.args()) < 1 {
		return "", p.errf(n, "needs a value")
	}
	return strings.Join(n.args(), " "), nil
}

func (p *parser) intArg(n *node) (int, error) {
	s, err := p.one(n)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, p.errf(n, "%q is not a whole number", s)
	}
	return v, nil
}

// boolArg reads a flag that may take true/false (on/off, yes/no).
func (p *parser) boolArg(n *node) (bool, error) {
	if len(n.args()) == 0 {
		return true, nil
	}
	switch strings.ToLower(n.args()[0]) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, p.errf(n, "%q is not true or false", n.args()[0])
}

func (p *parser) addr(n *node) (netip.Addr, error) {
	s, err := p.one(n)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, p.errf(n, "%q is not an IP address", s)
	}
	return a, nil
}

// unusedScripts are the vrrp_script names no instance tracks, sorted.
func (p *parser) unusedScripts() []string {
	var out []string
	for name, d := range p.scripts {
		if !d.used {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (p *parser) smtpCheck(n *node) (*model.SMTPCheck, error) {
	c := &model.SMTPCheck{}
	err := p.checkBlock(n, &c.CheckCommon, nil, nil, func(k *node) (bool, error) {
		switch k.key() {
		case "helo_name":
			var err error
			c.HeloName, err = p.one(k)
			return true, err
		case "host":
			var h model.SMTPHost
			for _, hk := range k.block {
				var err error
				switch hk.key() {
				case "connect_ip":
					h.ConnectIP, err = p.addr(hk)
				case "connect_port":
					h.ConnectPort, err = p.intArg(hk)
				case "bindto":
					h.BindTo, err = p.addr(hk)
				default:
					err = p.material(hk, "change which address the SMTP check connects to or from")
				}
				if err != nil {
					return true, err
				}
			}
			c.Hosts = append(c.Hosts, h)
			return true, nil
		}
		return false, nil
	})
	return c, err
}

func (p *parser) udpCheck(n *node) (*model.UDPCheck, error) {
	c := &model.UDPCheck{}
	err := p.checkBlock(n, &c.CheckCommon, nil, nil, func(k *node) (bool, error) {
		var err error
		switch k.key() {
		case "payload":
			c.Payload, err = p.rest(k)
		case "require_reply":
			c.RequireReply = true
			c.ReplyPattern = strings.Join(k.args(), " ")
		case "min_reply_length":
			c.MinReplyLength, err = p.intArg(k)
		case "max_reply_length":
			c.MaxReplyLength, err = p.intArg(k)
		default:
			return false, nil
		}
		return true, err
	})
	return c, err
}

func (p *parser) dnsCheck(n *node) (*model.DNSCheck, error) {
	c := &model.DNSCheck{}
	err := p.checkBlock(n, &c.CheckCommon, nil, nil, func(k *node) (bool, error) {
		var err error
		switch k.key() {
		case "type":
			c.Type, err = p.one(k)
			c.Type = strings.ToUpper(c.Type)
		case "name":
			c.Name, err = p.one(k)
		default:
			return false, nil
		}
		return true, err
	})
	return c, err
}

// fileCheck reads a FILE_CHECK; its track_file is resolved once every
// track_file block is read.
func (p *parser) fileCheck(n *node) (*model.FileCheck, error) {
	c := &model.FileCheck{}
	named := false
	for _, k := range n.block {
		var err error
		switch k.key() {
		case "track_file", "file":
			var name string
			if name, err = p.one(k); err == nil {
				p.fileRefs = append(p.fileRefs, fileRef{check: c, name: name, line: k.line})
				named = true
			}
		case "weight":
			var w int
			if w, c.Reverse, err = p.weightReverse(k); err == nil {
				c.Weight = &w
			}
		default:
			p.ignored(k, n.key())
		}
		if err != nil {
			return nil, err
		}
	}
	if !named {
		return nil, p.errf(n, "needs track_file")
	}
	return c, nil
}

// weightReverse reads "weight N [reverse]".
func (p *parser) weightReverse(n *node) (int, bool, error) {
	args := n.args()
	if len(args) == 0 || len(args) > 2 || len(args) == 2 && args[1] != "reverse" {
		return 0, false, p.errf(n, "takes a number and an optional reverse")
	}
	w, err := strconv.Atoi(args[0])
	if err != nil {
		return 0, false, p.errf(n, "%q is not a whole number", args[0])
	}
	return w, len(args) == 2, nil
}

// dropDuplicateVIPs leaves out a virtual address that an earlier line of
// the instance already puts on the same device with the same prefix
// length (with another label, say): the kernel holds an address once, so
// keepalived's second add fails ("Address already assigned") and changes
// nothing.
func (p *parser) dropDuplicateVIPs(n *node, vips []model.VirtualIP, iface string) []model.VirtualIP {
	type key struct {
		prefix netip.Prefix
		dev    string
	}
	seen := map[key]bool{}
	out := vips[:0]
	for _, v := range vips {
		dev := v.Device
		if dev == "" {
			dev = iface
		}
		k := key{v.Prefix, dev}
		if seen[k] {
			p.warn(n, "virtual_ipaddress %s on %s is listed twice; the kernel holds it once and refuses the second add (label %q is never set), so keepalived ignores it, and so does the import", v.Prefix, dev, v.Label)
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	return out
}
