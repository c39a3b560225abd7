package render

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// ManagedMarker is the first line of every file this provider renders
// (keepalived.conf and the others): the agent recognises the files it
// wrote by it, and does not silently overwrite a file without it.
const ManagedMarker = "# Managed by terraform-provider-lvs; do not edit: changes are overwritten."

// Keepalived renders a director's keepalived.conf: global_defs, vrrp_script,
// vrrp_sync_group and vrrp_instance blocks, then, when keepalived owns the
// director's IPVS table, virtual_server_group and virtual_server blocks.
//
// The configuration is validated first; its error (model.Errors) is
// returned as is. Defaults are rendered where keepalived needs the value
// or it says where traffic goes (interface, dev, advert_int, lvs_sched,
// lvs_method, protocol, weight); settings whose default is keepalived's
// own are left out when unset, and so is version 2, keepalived's default
// VRRP version. Instances, services, groups and real servers keep the
// model's order; vrrp_script blocks are sorted by name.
//
// Every list is written one item per line, in the block form keepalived
// 2.2 reads (group, unicast_peer, virtual_ipaddress, track_interface,
// track_script, virtual_server_group members), so no list's length adds
// up on a line; with the model's bounds on each value, every line stays
// within model.KeepalivedMaxLine (checked again by checkLines).
//
// A virtual server without real servers is left out until its first one
// exists: keepalived ignores such a service (and keepalived -t exits 5 on
// it, "has no real servers - ignoring"), sorry server or not.
func Keepalived(cfg *model.KeepalivedConfig) (string, error) {
	if cfg == nil {
		return "", errors.New("render: keepalived.conf: no configuration given")
	}
	if err := cfg.Validate(nil); err != nil {
		return "", err
	}
	return execute("keepalived.conf", pongo2.Context{"marker": ManagedMarker, "c": keepalivedView(cfg)})
}

// kaConf is keepalived.conf with every value formatted for the template.
type kaConf struct {
	RouterID       string
	ScriptUser     string
	ScriptSecurity bool
	// Globals are the other global_defs lines, in keepalived's manual's order.
	Globals    []string
	Scripts    []kaScript
	SyncGroups []kaSyncGroup
	Instances  []kaInstance
	Groups     []kaGroup
	Servers    []kaServer
	TrackFiles []kaTrackFile
	// StaticIPs are the static_ipaddress lines.
	StaticIPs []string
	// StaticRoutes and StaticRules are the static_routes and static_rules lines.
	StaticRoutes []string
	StaticRules  []string
}

// HasGlobal reports whether global_defs has anything to say.
func (c kaConf) HasGlobal() bool {
	return c.RouterID != "" || c.ScriptUser != "" || c.ScriptSecurity || len(c.Globals) > 0
}

type kaScript struct {
	Name, Script                  string
	Interval, Timeout, Fall, Rise int
}

// kaKV is one directive with a quoted argument (notify scripts).
type kaKV struct{ Key, Value string }

type kaSyncGroup struct {
	Name      string
	Instances []string
	Notify    []kaKV
}

type kaInstance struct {
	Name, State, Interface string
	VirtualRouterID        int
	Priority               int
	AdvertInt              string
	Version                int
	Auth                   *model.VRRPAuth
	UnicastSrcIP           string
	UnicastPeers           []string
	VirtualIPs             []string
	TrackScripts           []string
	TrackIfaces            []string
	NoPreempt              bool
	PreemptDelay           int
	GarpMasterDelay        int
	GarpMasterRepeat       int
	GarpMasterRefresh      int
	Notify                 []kaKV
	SMTPAlert              bool
	UseVMAC                bool
	VMACInterface          string
	VMACXmitBase           bool
	VirtualRoutes          []string
	VirtualRules           []string
}

type kaGroup struct {
	Name    string
	Members []string
}

type kaServer struct {
	// Head is what follows virtual_server: "ADDR PORT", "fwmark N" or "group NAME".
	Head                   string
	IPFamily               string
	DelayLoop              int
	Scheduler              string
	Flags                  []string
	Method                 string
	Protocol               string
	PersistenceTimeout     int
	PersistenceGranularity string
	Retry                  int
	DelayBeforeRetry       int
	ConnectTimeout         int
	VirtualHost            string
	Quorum                 int
	Hysteresis             int
	QuorumUp               string
	QuorumDown             string
	Alpha                  bool
	Omega                  bool
	InhibitOnFailure       bool
	Sorry                  *kaSorry
	RealServers            []kaReal
}

type kaSorry struct {
	Head    string
	Method  string
	Inhibit bool
}

// kaReal is one real_server block with its checker flattened into it, so
// that the template reaches the common values in one step. The guards
// (Options, HTTP, Misc, Connect) each stand for a run of optional lines
// whose values are in More (nil when none is set), so a plain real server
// costs the template a few lookups, not one per line, and its view stays
// small: at 100k real servers pongo2's lookups are most of the rendering's
// cost. The fields the template reads most come first (pongo2 finds a
// field by name, one field after the other).
type kaReal struct {
	Head    string
	Weight  int
	Options bool // any of More.Method to More.NotifyDown is set
	// Check is the checker's keyword (TCP_CHECK, HTTP_GET, SSL_GET,
	// MISC_CHECK), empty for none.
	Check            string
	HTTP             bool // any of More.URLs, More.VirtualHost
	Misc             bool // any of More.MiscPath to More.User
	Connect          bool // any of More.ConnectIP, More.ConnectPort, More.BindTo
	Extra            bool // any of More.HeloName to More.FileWeight, More.Hosts
	ConnectTimeout   int
	Retry            int
	DelayBeforeRetry int
	More             *kaRealMore
}

// kaRealMore holds the rarely set values of a real server and its checker.
type kaRealMore struct {
	Method           string
	InhibitOnFailure string
	UpperThreshold   int
	LowerThreshold   int
	NotifyUp         string
	NotifyDown       string

	URLs        []model.CheckURL
	VirtualHost string
	MiscPath    string
	MiscTimeout int
	MiscDynamic bool
	User        string
	ConnectIP   string
	ConnectPort int
	BindTo      string

	// The values of SMTP_CHECK, UDP_CHECK, DNS_CHECK and FILE_CHECK.
	HeloName string
	Hosts    []kaCheckHost
	Payload  string
	// RequireReply is the require_reply line with its pattern, if any.
	RequireReply   string
	MinReplyLength int
	MaxReplyLength int
	DNSType        string
	DNSName        string
	TrackFile      string
	// FileWeight is FILE_CHECK's "weight W [reverse]" argument.
	FileWeight string
}

// kaCheckHost is one host block of an SMTP_CHECK.
type kaCheckHost struct {
	ConnectIP   string
	ConnectPort int
	BindTo      string
}

// kaTrackFile is one top-level track_file block.
type kaTrackFile struct{ Name, File string }

func keepalivedView(cfg *model.KeepalivedConfig) kaConf {
	d := &cfg.Director
	c := kaConf{RouterID: d.RouterID, ScriptUser: d.ScriptUser, ScriptSecurity: d.EnableScriptSecurity, Globals: globalLines(&d.Globals)}
	if cfg.RunsScripts() {
		// keepalived refuses scripts without script security, and its
		// default script user (keepalived_script) does not exist on Debian.
		c.ScriptSecurity = true
		if c.ScriptUser == "" {
			c.ScriptUser = "root"
		}
	}
	for i, a := range d.StaticHostAddresses() {
		line := a.Prefix.String() + " dev " + a.Device
		if sc := d.StaticAddresses[i].Scope; sc != "" {
			line += " scope " + sc
		}
		c.StaticIPs = append(c.StaticIPs, line)
	}
	c.StaticRoutes = routeLines(d.StaticRoutes)
	c.StaticRules = ruleLines(d.StaticRules)
	scripts := map[string]model.TrackScript{}
	for i := range d.Instances {
		in := &d.Instances[i]
		c.Instances = append(c.Instances, instanceView(in, d.Interface))
		for _, ts := range in.TrackScripts {
			scripts[ts.Name] = ts
		}
	}
	c.Scripts = scriptViews(scripts)
	for _, g := range d.SyncGroups {
		c.SyncGroups = append(c.SyncGroups, kaSyncGroup{Name: g.Name, Instances: g.Instances, Notify: notifyView(g.Notify)})
	}
	if !cfg.OwnsIPVS() {
		return c
	}
	groups := map[string]*model.VirtualServerGroup{}
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		groups[g.Name] = g
		c.Groups = append(c.Groups, groupView(g))
	}
	files := trackFileNames(cfg)
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if len(vs.RealServers) == 0 {
			continue // keepalived ignores it; keepalived -t exits 5 on it
		}
		c.Servers = append(c.Servers, serverView(vs, groups[vs.Group], files))
	}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		c.TrackFiles = append(c.TrackFiles, kaTrackFile{Name: files[f], File: f})
	}
	return c
}

// trackFileNames names a track_file block for each file a FILE_CHECK of a
// rendered service reads: "file_" and the path's letters and digits, with
// a number added when two paths come out alike.
func trackFileNames(cfg *model.KeepalivedConfig) map[string]string {
	var paths []string
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for k := range vs.RealServers {
			if fc := vs.RealServers[k].FileCheck; fc != nil && len(vs.RealServers) > 0 {
				paths = append(paths, fc.File)
			}
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	names := map[string]string{}
	taken := map[string]bool{}
	for _, f := range paths {
		base := "file" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, f)
		name := base
		for n := 2; taken[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		taken[name] = true
		names[f] = name
	}
	return names
}

// scriptViews lists the vrrp_script blocks sorted by name (the model
// guarantees that scripts of one name are identical).
func scriptViews(scripts map[string]model.TrackScript) []kaScript {
	out := make([]kaScript, 0, len(scripts))
	for _, ts := range scripts {
		out = append(out, kaScript{Name: ts.Name, Script: ts.Script, Interval: ts.Interval, Timeout: ts.Timeout, Fall: ts.Fall, Rise: ts.Rise})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func instanceView(in *model.VRRPInstance, defIface string) kaInstance {
	iface := in.Interface
	if iface == "" {
		iface = defIface
	}
	v := kaInstance{
		Name: in.Name, State: in.State, Interface: iface,
		VirtualRouterID: in.VirtualRouterID, Priority: in.Priority,
		AdvertInt:    formatSeconds(in.AdvertInt, model.DefaultAdvertInt),
		Auth:         in.Authentication,
		NoPreempt:    in.NoPreempt,
		PreemptDelay: in.PreemptDelay, GarpMasterDelay: in.GarpMasterDelay,
		GarpMasterRepeat: in.GarpMasterRepeat, GarpMasterRefresh: in.GarpMasterRefresh,
		Notify: notifyView(in.Notify), SMTPAlert: in.SMTPAlert,
	}
	if in.EffectiveVersion() != model.DefaultVRRPVersion {
		v.Version = in.EffectiveVersion()
	}
	if in.UnicastSrcIP.IsValid() {
		v.UnicastSrcIP = in.UnicastSrcIP.String()
	}
	for _, a := range in.UnicastPeers {
		v.UnicastPeers = append(v.UnicastPeers, a.String())
	}
	for _, vip := range in.VirtualIPs {
		dev := vip.Device
		if dev == "" {
			dev = iface
		}
		line := vip.Prefix.String() + " dev " + dev
		if vip.Label != "" {
			line += " label " + vip.Label
		}
		v.VirtualIPs = append(v.VirtualIPs, line)
	}
	for _, ts := range in.TrackScripts {
		v.TrackScripts = append(v.TrackScripts, trackLine(ts.Name, ts.Weight))
	}
	for _, ti := range in.TrackIfaces {
		v.TrackIfaces = append(v.TrackIfaces, trackLine(ti.Name, ti.Weight))
	}
	if in.UseVMAC {
		v.UseVMAC, v.VMACInterface, v.VMACXmitBase = true, in.VMACInterface, in.VMACXmitBase
	}
	v.VirtualRoutes = routeLines(in.VirtualRoutes)
	v.VirtualRules = ruleLines(in.VirtualRules)
	return v
}

// trackLine is one line of a track_script or track_interface block; weight
// 0 (fault the instance) is keepalived's default and left out.
func trackLine(name string, weight int) string {
	if weight == 0 {
		return name
	}
	return name + " weight " + strconv.Itoa(weight)
}

// formatSeconds renders a duration in seconds the way keepalived's manual
// writes it: 1, not 1.0; 0.25 for fractions (at most two decimals, the
// model's limit). Zero takes def.
func formatSeconds(v, def float64) string {
	if v == 0 {
		v = def
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// notifyView lists the notify scripts that are set, in keepalived's order.
func notifyView(n model.Notify) []kaKV {
	var out []kaKV
	for _, kv := range []kaKV{
		{"notify_master", n.Master}, {"notify_backup", n.Backup}, {"notify_fault", n.Fault},
		{"notify_stop", n.Stop}, {"notify", n.Any},
	} {
		if kv.Value != "" {
			out = append(out, kv)
		}
	}
	return out
}

func groupView(g *model.VirtualServerGroup) kaGroup {
	v := kaGroup{Name: g.Name}
	for _, m := range g.Members {
		var line string
		switch {
		case m.Fwmark != 0:
			line = fmt.Sprintf("fwmark %d", m.Fwmark)
		case m.RangeEnd != 0 && m.Address.Is6():
			// keepalived reads an IPv6 range end as hex (the last group).
			line = fmt.Sprintf("%s-%x", m.Address, m.RangeEnd)
		case m.RangeEnd != 0:
			line = fmt.Sprintf("%s-%d", m.Address, m.RangeEnd)
		default:
			line = m.Address.String()
		}
		if m.Port != 0 {
			line += " " + strconv.Itoa(m.Port)
		}
		v.Members = append(v.Members, line)
	}
	return v
}

// hasAddress reports whether a group has an address member; a group of
// fwmarks only takes no protocol (keepalived -t warns and exits 5).
func hasAddress(g *model.VirtualServerGroup) bool {
	for _, m := range g.Members {
		if m.Fwmark == 0 {
			return true
		}
	}
	return false
}

func serverView(vs *model.VirtualServer, group *model.VirtualServerGroup, files map[string]string) kaServer {
	method := vs.EffectiveMethod()
	v := kaServer{
		DelayLoop: vs.DelayLoop, Scheduler: vs.EffectiveScheduler(), Method: lvsMethod(method),
		PersistenceTimeout: vs.PersistenceTimeout,
		Retry:              vs.Retry, DelayBeforeRetry: vs.DelayBeforeRetry, ConnectTimeout: vs.ConnectTimeout,
		VirtualHost: vs.VirtualHost,
		Quorum:      vs.Quorum, Hysteresis: vs.Hysteresis, QuorumUp: vs.QuorumUp, QuorumDown: vs.QuorumDown,
		Alpha: vs.Alpha, Omega: vs.Omega, InhibitOnFailure: vs.InhibitOnFailure,
	}
	proto := strings.ToUpper(vs.EffectiveProtocol())
	switch {
	case vs.Fwmark != 0:
		v.Head = fmt.Sprintf("fwmark %d", vs.Fwmark)
	case vs.Group != "":
		v.Head = "group " + vs.Group
		if group == nil || !hasAddress(group) {
			proto = ""
		}
	default:
		v.Head = hostPort(vs.Address, vs.Port)
	}
	if vs.Fwmark == 0 {
		v.Protocol = proto
	}
	if (vs.Fwmark != 0 || vs.Group != "") && vs.IsIPv6() {
		v.IPFamily = "inet6"
	}
	if vs.SchedulerPort {
		v.Flags = append(v.Flags, v.Scheduler+"-port")
	}
	if vs.SchedulerFallback {
		v.Flags = append(v.Flags, v.Scheduler+"-fallback")
	}
	if vs.OnePacket {
		v.Flags = append(v.Flags, "ops")
	}
	if g := vs.PersistenceGranularity; g != 0 {
		if vs.IsIPv6() {
			v.PersistenceGranularity = strconv.Itoa(g)
		} else {
			v.PersistenceGranularity = net.IP(net.CIDRMask(g, 32)).String()
		}
	}
	if s := vs.SorryServer; s != nil {
		sv := &kaSorry{Head: hostPort(s.Address, s.Port), Inhibit: s.Inhibit}
		if s.ForwardingMethod != "" && s.ForwardingMethod != method {
			sv.Method = lvsMethod(s.ForwardingMethod)
		}
		v.Sorry = sv
	}
	v.RealServers = make([]kaReal, len(vs.RealServers))
	for i := range vs.RealServers {
		v.RealServers[i] = realView(vs, &vs.RealServers[i], files)
	}
	return v
}

// lvsMethod is keepalived's name of a forwarding method. Tunnels are
// always ipip here: the model refuses gue and gre with this engine.
func lvsMethod(m string) string { return strings.ToUpper(m) }

// hostPort renders "ADDR PORT", or "ADDR" alone when port is 0 (all
// ports, or the virtual server's for fwmark and group services).
func hostPort(a netip.Addr, port int) string {
	if port == 0 {
		return a.String()
	}
	return a.String() + " " + strconv.Itoa(port)
}

func realView(vs *model.VirtualServer, rs *model.RealServer, files map[string]string) kaReal {
	v := kaReal{Head: hostPort(rs.Address, rs.EffectivePort(vs)), Weight: rs.EffectiveWeight()}
	var m kaRealMore
	m.UpperThreshold, m.LowerThreshold, m.NotifyUp, m.NotifyDown = rs.UpperThreshold, rs.LowerThreshold, rs.NotifyUp, rs.NotifyDown
	if fm := vs.MethodOf(rs); fm != vs.EffectiveMethod() {
		m.Method = lvsMethod(fm)
	}
	if in := rs.InhibitOnFailure; in != nil && *in != vs.InhibitOnFailure {
		m.InhibitOnFailure = strconv.FormatBool(*in)
	}
	v.Options = m.Method != "" || m.InhibitOnFailure != "" || m.UpperThreshold != 0 || m.LowerThreshold != 0 ||
		m.NotifyUp != "" || m.NotifyDown != ""
	switch {
	case rs.TCPCheck != nil:
		v.commonCheck(&m, "TCP_CHECK", &rs.TCPCheck.CheckCommon)
	case rs.HTTPGet != nil:
		v.httpCheck(&m, "HTTP_GET", rs.HTTPGet)
	case rs.SSLGet != nil:
		v.httpCheck(&m, "SSL_GET", rs.SSLGet)
	case rs.MiscCheck != nil:
		c := rs.MiscCheck
		v.Check, m.MiscPath, m.MiscTimeout, m.MiscDynamic, m.User = "MISC_CHECK", c.Script, c.Timeout, c.Dynamic, c.User
		v.Misc = true
	default:
		v.otherCheck(&m, rs, files)
	}
	if v.Options || v.HTTP || v.Misc || v.Connect || v.Extra {
		more := m // on the heap only when kept
		v.More = &more
	}
	return v
}

func (v *kaReal) commonCheck(m *kaRealMore, kind string, c *model.CheckCommon) {
	v.Check, v.ConnectTimeout, v.Retry, v.DelayBeforeRetry = kind, c.ConnectTimeout, c.Retry, c.DelayBeforeRetry
	m.ConnectPort = c.ConnectPort
	if c.ConnectIP.IsValid() {
		m.ConnectIP = c.ConnectIP.String()
	}
	if c.BindTo.IsValid() {
		m.BindTo = c.BindTo.String()
	}
	v.Connect = m.ConnectIP != "" || m.ConnectPort != 0 || m.BindTo != ""
}

func (v *kaReal) httpCheck(m *kaRealMore, kind string, c *model.HTTPCheck) {
	v.commonCheck(m, kind, &c.CheckCommon)
	m.URLs, m.VirtualHost = c.URLs, c.VirtualHost
	v.HTTP = len(m.URLs) > 0 || m.VirtualHost != ""
}

// otherCheck sets the checker of SMTP_CHECK, PING_CHECK, UDP_CHECK,
// DNS_CHECK or FILE_CHECK into v and m; nothing when the server has none.
func (v *kaReal) otherCheck(m *kaRealMore, rs *model.RealServer, files map[string]string) {
	switch {
	case rs.SMTPCheck != nil:
		c := rs.SMTPCheck
		v.commonCheck(m, "SMTP_CHECK", &c.CheckCommon)
		m.HeloName = c.HeloName
		for _, h := range c.Hosts {
			kh := kaCheckHost{ConnectPort: h.ConnectPort}
			if h.ConnectIP.IsValid() {
				kh.ConnectIP = h.ConnectIP.String()
			}
			if h.BindTo.IsValid() {
				kh.BindTo = h.BindTo.String()
			}
			m.Hosts = append(m.Hosts, kh)
		}
	case rs.PingCheck != nil:
		v.commonCheck(m, "PING_CHECK", &rs.PingCheck.CheckCommon)
	case rs.UDPCheck != nil:
		c := rs.UDPCheck
		v.commonCheck(m, "UDP_CHECK", &c.CheckCommon)
		m.Payload = c.Payload
		if c.RequireReply {
			m.RequireReply = strings.TrimSpace("require_reply " + c.ReplyPattern)
			m.MinReplyLength, m.MaxReplyLength = c.MinReplyLength, c.MaxReplyLength
		}
	case rs.DNSCheck != nil:
		c := rs.DNSCheck
		v.commonCheck(m, "DNS_CHECK", &c.CheckCommon)
		m.DNSType, m.DNSName = c.Type, c.Name
	case rs.FileCheck != nil:
		c := rs.FileCheck
		v.Check, m.TrackFile = "FILE_CHECK", files[c.File]
		if c.Weight != nil || c.Reverse {
			w := 1
			if c.Weight != nil {
				w = *c.Weight
			}
			m.FileWeight = strconv.Itoa(w)
			if c.Reverse {
				m.FileWeight += " reverse"
			}
		}
	default:
		return
	}
	v.Extra = m.HeloName != "" || len(m.Hosts) > 0 || m.Payload != "" || m.RequireReply != "" ||
		m.MinReplyLength != 0 || m.MaxReplyLength != 0 || m.DNSType != "" || m.DNSName != "" ||
		m.TrackFile != "" || m.FileWeight != ""
}
