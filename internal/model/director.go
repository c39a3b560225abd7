package model

import (
	"math"
	"net/netip"
)

// Director is one LVS director host: its VRRP instances (run by keepalived),
// the sysctls it needs, and which engine owns its IPVS table.
type Director struct {
	// Interface is the default interface of VRRP instances that name none.
	Interface string `json:"interface,omitzero"`
	// RouterID names this director in keepalived's global_defs and in
	// notification mails; defaults to the host name.
	RouterID string `json:"router_id,omitzero"`
	// ScriptUser runs vrrp_script and checker scripts (global_defs
	// script_user); "root" when scripts run and none is given, since
	// keepalived's own default user does not exist on Debian.
	// EnableScriptSecurity is implied whenever scripts run (keepalived
	// refuses them without it); with it keepalived refuses scripts
	// writable by non-root users.
	ScriptUser           string `json:"script_user,omitzero"`
	EnableScriptSecurity bool   `json:"enable_script_security,omitzero"`
	// Globals are the other global_defs settings (globaldefs.go).
	Globals GlobalDefs `json:"global_defs,omitzero"`
	// Engine owns the director's IPVS table: "keepalived" (default) or "netlink".
	Engine string `json:"engine,omitzero"`

	Instances  []VRRPInstance  `json:"instances,omitzero"`
	SyncGroups []VRRPSyncGroup `json:"sync_groups,omitzero"`
	// Sysctls are extra kernel settings, applied after the derived ones.
	Sysctls []Sysctl `json:"sysctls,omitzero"`
	// StaticAddresses are held whatever the VRRP state (static_address.go).
	StaticAddresses []StaticAddress `json:"static_addresses,omitzero"`
	// StaticRoutes and StaticRules are installed by keepalived while it
	// runs, whatever the VRRP state (routes.go).
	StaticRoutes []Route `json:"static_routes,omitzero"`
	StaticRules  []Rule  `json:"static_rules,omitzero"`
}

// MaxVRRP3AdvertInt is the longest VRRPv3 advertisement interval, in
// seconds: the protocol carries it as 12 bits of centiseconds.
const MaxVRRP3AdvertInt = 40.95

// Engines own a director's IPVS table: keepalived runs the health checks and
// programs IPVS from virtual_server blocks; netlink has the agent program
// IPVS directly, for hosts without keepalived.
var Engines = []string{"keepalived", "netlink"}

// DefaultEngine owns IPVS when Director.Engine is empty.
const DefaultEngine = "keepalived"

// VRRPInstance is one keepalived vrrp_instance: a virtual router on one
// interface that holds VirtualIPs while it is MASTER.
type VRRPInstance struct {
	Name string `json:"name,omitzero"`
	// Interface defaults to the director's.
	Interface string `json:"interface,omitzero"`
	// State is the initial state, MASTER or BACKUP; the priority decides the
	// election.
	State           string `json:"state,omitzero"`
	VirtualRouterID int    `json:"virtual_router_id,omitzero"`
	Priority        int    `json:"priority,omitzero"`
	// AdvertInt is the advertisement interval in seconds; fractions need
	// VRRP version 3. Zero means 1.
	AdvertInt float64 `json:"advert_int,omitzero"`
	// Version is the VRRP protocol version, 2 or 3; zero means 2.
	Version int `json:"version,omitzero"`
	// Authentication is VRRPv2 only.
	Authentication *VRRPAuth `json:"authentication,omitzero"`
	// UnicastSrcIP and UnicastPeers switch the instance from multicast to
	// unicast adverts.
	UnicastSrcIP netip.Addr       `json:"unicast_src_ip,omitzero"`
	UnicastPeers []netip.Addr     `json:"unicast_peers,omitzero"`
	VirtualIPs   []VirtualIP      `json:"virtual_ips,omitzero"`
	TrackScripts []TrackScript    `json:"track_scripts,omitzero"`
	TrackIfaces  []TrackInterface `json:"track_ifaces,omitzero"`
	// NoPreempt keeps a lower-priority MASTER in place when a higher one
	// returns; it needs initial state BACKUP.
	NoPreempt bool `json:"no_preempt,omitzero"`
	// PreemptDelay delays preemption after startup, in seconds.
	PreemptDelay int `json:"preempt_delay,omitzero"`
	// Gratuitous ARP after becoming MASTER: delay before the second burst,
	// adverts per burst, and refresh interval (seconds; zero leaves
	// keepalived's defaults).
	GarpMasterDelay   int    `json:"garp_master_delay,omitzero"`
	GarpMasterRepeat  int    `json:"garp_master_repeat,omitzero"`
	GarpMasterRefresh int    `json:"garp_master_refresh,omitzero"`
	Notify            Notify `json:"notify,omitzero"`
	// SMTPAlert mails the director's NotificationEmail on state changes.
	SMTPAlert bool `json:"smtp_alert,omitzero"`
	// VirtualRoutes and VirtualRules are installed while the instance is
	// MASTER and removed when it leaves MASTER (routes.go).
	VirtualRoutes []Route `json:"virtual_routes,omitzero"`
	VirtualRules  []Rule  `json:"virtual_rules,omitzero"`
	// UseVMAC has the instance hold its addresses on a macvlan interface
	// with the VRRP virtual MAC (00:00:5e:00:01:<vrid>, 00:00:5e:00:02:<vrid>
	// for IPv6) that keepalived creates on the instance's interface, so
	// that a failover needs no ARP cache update; VMACInterface names it
	// (keepalived's default is vrrp.<vrid>). VMACXmitBase sends and
	// receives the adverts on the base interface instead of the macvlan.
	UseVMAC       bool   `json:"use_vmac,omitzero"`
	VMACInterface string `json:"vmac_interface,omitzero"`
	VMACXmitBase  bool   `json:"vmac_xmit_base,omitzero"`
}

// VRRPAuth is VRRPv2 authentication. Password is a secret: at most 8
// characters are carried by the protocol.
type VRRPAuth struct {
	Type     string `json:"type,omitzero"`
	Password string `json:"password,omitzero"`
}

// VirtualIP is one address a VRRP instance holds while MASTER.
type VirtualIP struct {
	// Prefix is the address with its prefix length (10.0.0.10/24). A bare
	// address is taken as /32 or /128.
	Prefix netip.Prefix `json:"prefix,omitzero"`
	// Device defaults to the instance's interface.
	Device string `json:"device,omitzero"`
	// Label is an interface label (eth0:1) for tools that still read them.
	Label string `json:"label,omitzero"`
}

// TrackScript is a health script that adjusts (or, with zero weight,
// faults) the instances that track it. Scripts of the same name on
// several instances must be the same script.
type TrackScript struct {
	Name   string `json:"name,omitzero"`
	Script string `json:"script,omitzero"`
	// Interval between runs in seconds; zero means keepalived's 1.
	Interval int `json:"interval,omitzero"`
	// Timeout of one run in seconds; zero means the interval.
	Timeout int `json:"timeout,omitzero"`
	// Weight is added to the priority while the script succeeds (positive)
	// or subtracted while it fails (negative); zero faults the instance.
	Weight int `json:"weight,omitzero"`
	// Fall and Rise are how many results in a row change the state.
	Fall int `json:"fall,omitzero"`
	Rise int `json:"rise,omitzero"`
}

// TrackInterface faults (weight 0) or re-weights the instance while the
// interface is down.
type TrackInterface struct {
	Name   string `json:"name,omitzero"`
	Weight int    `json:"weight,omitzero"`
}

// Notify holds the scripts keepalived runs on state transitions.
type Notify struct {
	Master string `json:"master,omitzero"`
	Backup string `json:"backup,omitzero"`
	Fault  string `json:"fault,omitzero"`
	Stop   string `json:"stop,omitzero"`
	// Any runs on every transition with the instance, state and priority
	// appended as arguments.
	Any string `json:"any,omitzero"`
}

// VRRPSyncGroup makes several instances change state together.
type VRRPSyncGroup struct {
	Name      string   `json:"name,omitzero"`
	Instances []string `json:"instances,omitzero"`
	Notify    Notify   `json:"notify,omitzero"`
}

// Validate checks the director's own rules; p is where it sits.
func (d *Director) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	if d.Interface != "" {
		checkInterface(&errs, p.At("interface"), d.Interface)
		checkVRRPInterface(&errs, p.At("interface"), d.Interface)
	}
	checkHostname(&errs, p.At("router_id"), d.RouterID)
	if d.ScriptUser != "" {
		checkName(&errs, p.At("script_user"), d.ScriptUser)
	}
	checkEnum(&errs, p.At("engine"), d.Engine, Engines)
	d.Globals.validate(&errs, p.At("global_defs"))

	names := map[string]int{}
	type vrid struct {
		iface string
		id    int
		v6    bool
	}
	vrids := map[vrid]int{}
	scripts := map[string]TrackScript{}
	for i, in := range d.Instances {
		ip := p.At("vrrp_instance", i)
		in.validate(&errs, ip, d.Interface)
		if j, dup := names[in.Name]; dup && in.Name != "" {
			errs.add(ip.At("name"), "%s is already the name of vrrp_instance[%d]; instance names must be unique", quote(in.Name), j)
		} else {
			names[in.Name] = i
		}
		key := vrid{iface: in.iface(d.Interface), id: in.VirtualRouterID, v6: in.isIPv6()}
		if j, dup := vrids[key]; dup {
			errs.add(ip.At("virtual_router_id"), "%d is already used by vrrp_instance[%d] on interface %s; each virtual router on an interface needs its own id", in.VirtualRouterID, j, quote(key.iface))
		} else {
			vrids[key] = i
		}
		for k, ts := range in.TrackScripts {
			if prev, seen := scripts[ts.Name]; seen && prev != ts {
				errs.add(ip.At("track_script", k, "name"), "track script %s is defined differently by another instance; scripts of one name must be identical", quote(ts.Name))
			}
			scripts[ts.Name] = ts
		}
	}

	inGroup := map[string]int{}
	groupNames := map[string]bool{}
	for i, g := range d.SyncGroups {
		gp := p.At("vrrp_sync_group", i)
		checkName(&errs, gp.At("name"), g.Name)
		if groupNames[g.Name] {
			errs.add(gp.At("name"), "%s is already the name of another sync group", quote(g.Name))
		}
		groupNames[g.Name] = true
		g.Notify.validate(&errs, gp)
		if len(g.Instances) < 2 {
			errs.add(gp.At("group"), "a sync group needs at least 2 instances, it has %d", len(g.Instances))
		}
		for k, name := range g.Instances {
			ipath := gp.At("group", k)
			idx, ok := names[name]
			switch {
			case !ok:
				errs.add(ipath, "%s is not the name of a vrrp_instance of this director", quote(name))
				continue
			case inGroup[name] > 0:
				errs.add(ipath, "instance %s is already in another sync group; an instance can be in one group only", quote(name))
				continue
			}
			inGroup[name] = i + 1
			in := d.Instances[idx]
			for t, ts := range in.TrackScripts {
				if ts.Weight != 0 {
					errs.add(p.At("vrrp_instance", idx, "track_script", t, "weight"), "instance %s is in sync group %s, where keepalived ignores tracking weights; use weight 0", quote(name), quote(g.Name))
				}
			}
			for t, ti := range in.TrackIfaces {
				if ti.Weight != 0 {
					errs.add(p.At("vrrp_instance", idx, "track_interface", t, "weight"), "instance %s is in sync group %s, where keepalived ignores tracking weights; use weight 0", quote(name), quote(g.Name))
				}
			}
		}
	}
	for i, s := range d.Sysctls {
		s.validate(&errs, p.At("sysctl", i))
	}
	d.validateStatic(&errs, p)
	validateRoutes(&errs, p, "static_route", d.StaticRoutes, false)
	validateRules(&errs, p, "static_rule", d.StaticRules, false)
	return errs.err()
}

// firstScript returns the path of the first script the director's VRRP
// runs (track scripts, notify scripts), or nil.
func (d *Director) firstScript(p loc) Path {
	for i, in := range d.Instances {
		ip := p.At("vrrp_instance", i)
		if len(in.TrackScripts) > 0 {
			return ip.At("track_script", 0, "script").path()
		}
		if np := in.Notify.first(ip); np != nil {
			return np
		}
	}
	for i, g := range d.SyncGroups {
		if np := g.Notify.first(p.At("vrrp_sync_group", i)); np != nil {
			return np
		}
	}
	return nil
}

// first returns the path of the first notify script that is set, or nil.
func (n *Notify) first(p loc) Path {
	for _, s := range []struct {
		attr, v string
	}{{"notify_master", n.Master}, {"notify_backup", n.Backup}, {"notify_fault", n.Fault}, {"notify_stop", n.Stop}, {"notify", n.Any}} {
		if s.v != "" {
			return p.At(s.attr).path()
		}
	}
	return nil
}

// checkVRRPInterface refuses the loopback interface: keepalived -t exits 5
// on it ("cannot use a loopback interface (lo) for vrrp - ignoring").
// Addresses may still live on lo (a virtual_ipaddress dev).
func checkVRRPInterface(errs *Errors, p loc, name string) {
	if name == "lo" {
		errs.add(p, "is the loopback interface, which VRRP cannot advertise on; name the interface facing the peers")
	}
}

func (in *VRRPInstance) iface(def string) string {
	if in.Interface != "" {
		return in.Interface
	}
	return def
}

// isIPv6 reports whether the instance carries IPv6 addresses (keepalived
// runs IPv4 and IPv6 virtual routers of the same id independently).
func (in *VRRPInstance) isIPv6() bool {
	return len(in.VirtualIPs) > 0 && in.VirtualIPs[0].Prefix.Addr().Is6()
}

// EffectiveVersion is the VRRP version the instance speaks.
func (in *VRRPInstance) EffectiveVersion() int {
	if in.Version == 0 {
		return DefaultVRRPVersion
	}
	return in.Version
}

func (in *VRRPInstance) validate(errs *Errors, p loc, defIface string) {
	checkName(errs, p.At("name"), in.Name)
	if in.Interface != "" {
		checkInterface(errs, p.At("interface"), in.Interface)
		checkVRRPInterface(errs, p.At("interface"), in.Interface)
	} else if defIface == "" {
		errs.add(p.At("interface"), "must be set, here or as the director's interface")
	}
	checkEnum(errs, p.At("state"), in.State, VRRPStates)
	checkRange(errs, p.At("virtual_router_id"), in.VirtualRouterID, 1, 255)
	checkRange(errs, p.At("priority"), in.Priority, 1, 254)
	if in.Version != 0 && !oneOf(in.Version, VRRPVersions) {
		errs.add(p.At("version"), "%d is not allowed; allowed values are 2 or 3", in.Version)
	}
	v3 := in.EffectiveVersion() == 3
	if in.AdvertInt != 0 {
		switch {
		case in.AdvertInt < 0.01 || in.AdvertInt > 255:
			errs.add(p.At("advert_int"), "%v is out of range; allowed values are 0.01 to 255 seconds", in.AdvertInt)
		case !v3 && in.AdvertInt != math.Trunc(in.AdvertInt):
			errs.add(p.At("advert_int"), "%v has a fraction, which needs VRRP version 3; use whole seconds or set version = 3", in.AdvertInt)
		case v3 && math.Abs(in.AdvertInt*100-math.Round(in.AdvertInt*100)) > 1e-9:
			errs.add(p.At("advert_int"), "%v is finer than VRRPv3's centiseconds; use at most two decimals", in.AdvertInt)
		case v3 && in.AdvertInt > MaxVRRP3AdvertInt:
			// keepalived -t exits 5: "Must be less than 40.96s".
			errs.add(p.At("advert_int"), "%v is more than VRRPv3 carries (%v seconds: 4095 centiseconds)", in.AdvertInt, MaxVRRP3AdvertInt)
		}
	}
	if a := in.Authentication; a != nil {
		ap := p.At("authentication")
		switch {
		case v3:
			errs.add(ap, "VRRP version 3 has no authentication; remove the authentication block or set version = 2")
		case in.isIPv6():
			// keepalived runs IPv6 instances as VRRPv3 whatever the version,
			// and keepalived -t exits 5 on their authentication.
			errs.add(ap, "IPv6 instances speak VRRP version 3, which has no authentication; remove the authentication block")
		case a.Type == "AH" && in.State == "MASTER":
			// keepalived -t exits 5: "Initial state master is incompatible
			// with AH authentication - clearing".
			errs.add(ap.At("type"), "\"AH\" needs initial state BACKUP; keepalived drops AH on an initial MASTER")
		}
		if a.Type == "" {
			errs.add(ap.At("type"), "must be set; allowed values are %s", quoteList(VRRPAuthTypes))
		}
		checkEnum(errs, ap.At("type"), a.Type, VRRPAuthTypes)
		switch {
		case a.Password == "":
			errs.add(ap.At("password"), "must be set")
		case len(a.Password) > 8:
			errs.add(ap.At("password"), "is %d characters long; VRRP carries at most 8", len(a.Password))
		default:
			n := len(*errs)
			checkWord(errs, ap.At("password"), a.Password)
			if len(*errs) > n {
				// Never echo a secret: replace the message.
				(*errs)[n] = &FieldError{Path: ap.At("password").path(), Msg: "must be printable ASCII without spaces, quotes, braces, `#` or `!`"}
				*errs = (*errs)[:n+1]
			}
		}
	}
	if in.NoPreempt && in.State == "MASTER" {
		errs.add(p.At("nopreempt"), "needs state BACKUP; keepalived ignores nopreempt on an initial MASTER")
	}
	// keepalived -t exits 5 on preempt_delay with initial state MASTER
	// ("preempt delay will not work with initial state MASTER - clearing").
	if in.PreemptDelay != 0 && in.State == "MASTER" {
		errs.add(p.At("preempt_delay"), "needs state BACKUP; keepalived ignores preempt_delay on an initial MASTER")
	}
	if in.NoPreempt && in.PreemptDelay != 0 {
		errs.add(p.At("preempt_delay"), "cannot be combined with nopreempt")
	}
	checkRange(errs, p.At("preempt_delay"), in.PreemptDelay, 0, 1000)
	checkRange(errs, p.At("garp_master_delay"), in.GarpMasterDelay, 0, 255)
	checkRange(errs, p.At("garp_master_repeat"), in.GarpMasterRepeat, 0, 255)
	checkRange(errs, p.At("garp_master_refresh"), in.GarpMasterRefresh, 0, 86400)

	if len(in.VirtualIPs) == 0 {
		errs.add(p.At("virtual_ipaddress"), "needs at least one address")
	}
	var fam6 bool
	seen := map[netip.Addr]int{}
	for i, v := range in.VirtualIPs {
		vp := p.At("virtual_ipaddress", i)
		if !v.Prefix.IsValid() {
			errs.add(vp.At("address"), "must be an IP address with an optional prefix length, such as 10.0.0.10/24, and no zone (the device is dev)")
			continue
		}
		if i == 0 {
			fam6 = v.Prefix.Addr().Is6()
		} else if v.Prefix.Addr().Is6() != fam6 {
			errs.add(vp.At("address"), "%s is of another address family than virtual_ipaddress[0]; an instance holds IPv4 or IPv6 addresses, not both", v.Prefix)
		}
		if j, dup := seen[v.Prefix.Addr()]; dup {
			errs.add(vp.At("address"), "%s is already virtual_ipaddress[%d]", v.Prefix.Addr(), j)
		}
		seen[v.Prefix.Addr()] = i
		if v.Device != "" {
			checkInterface(errs, vp.At("dev"), v.Device)
		}
		if v.Label != "" {
			checkLabel(errs, vp.At("label"), v.Label)
		}
	}
	checkNoZone(errs, p.At("unicast_src_ip"), in.UnicastSrcIP)
	// keepalived -t exits 5 on a unicast source without peers ("unicast
	// keyword has been specified without any unicast peers").
	if in.UnicastSrcIP.IsValid() && len(in.UnicastPeers) == 0 {
		errs.add(p.At("unicast_src_ip"), "needs unicast_peers: without peers the instance sends multicast adverts")
	}
	if in.UnicastSrcIP.IsValid() && len(in.VirtualIPs) > 0 && in.UnicastSrcIP.Is6() != fam6 {
		errs.add(p.At("unicast_src_ip"), "%s is of another address family than the virtual addresses", quoteAddr(in.UnicastSrcIP))
	}
	peers := map[netip.Addr]bool{}
	for i, a := range in.UnicastPeers {
		pp := p.At("unicast_peers", i)
		if !a.IsValid() {
			errs.add(pp, "must be an IP address")
			continue
		}
		checkNoZone(errs, pp, a)
		if len(in.VirtualIPs) > 0 && a.Is6() != fam6 {
			errs.add(pp, "%s is of another address family than the virtual addresses", quoteAddr(a))
		}
		if a == in.UnicastSrcIP {
			errs.add(pp, "%s is the unicast_src_ip itself", quoteAddr(a))
		}
		if peers[a] {
			errs.add(pp, "%s is listed twice", quoteAddr(a))
		}
		peers[a] = true
	}
	for i, ts := range in.TrackScripts {
		tp := p.At("track_script", i)
		checkName(errs, tp.At("name"), ts.Name)
		if ts.Script == "" {
			errs.add(tp.At("script"), "must be set")
		}
		checkText(errs, tp.At("script"), ts.Script)
		checkRange(errs, tp.At("interval"), ts.Interval, 0, 3600)
		checkRange(errs, tp.At("timeout"), ts.Timeout, 0, 3600)
		checkRange(errs, tp.At("weight"), ts.Weight, -253, 253)
		checkRange(errs, tp.At("fall"), ts.Fall, 0, 255)
		checkRange(errs, tp.At("rise"), ts.Rise, 0, 255)
	}
	ifaces := map[string]bool{}
	for i, ti := range in.TrackIfaces {
		tp := p.At("track_interface", i)
		checkInterface(errs, tp.At("name"), ti.Name)
		if ifaces[ti.Name] {
			errs.add(tp.At("name"), "%s is tracked twice", quote(ti.Name))
		}
		ifaces[ti.Name] = true
		checkRange(errs, tp.At("weight"), ti.Weight, -253, 253)
	}
	in.Notify.validate(errs, p)
	validateRoutes(errs, p, "virtual_route", in.VirtualRoutes, true)
	validateRules(errs, p, "virtual_rule", in.VirtualRules, true)
	if in.VMACInterface != "" {
		checkInterface(errs, p.At("vmac_interface"), in.VMACInterface)
		if !in.UseVMAC {
			errs.add(p.At("vmac_interface"), "needs use_vmac = true")
		}
	}
	if in.VMACXmitBase && !in.UseVMAC {
		errs.add(p.At("vmac_xmit_base"), "needs use_vmac = true")
	}
	// keepalived.conf(5): "If using use_vmac with unicast peers,
	// vmac_xmit_base must be set."
	if in.UseVMAC && len(in.UnicastPeers) > 0 && !in.VMACXmitBase {
		errs.add(p.At("vmac_xmit_base"), "must be true when use_vmac is combined with unicast_peers: unicast adverts cannot be sent from the macvlan")
	}
}

func (n *Notify) validate(errs *Errors, p loc) {
	checkText(errs, p.At("notify_master"), n.Master)
	checkText(errs, p.At("notify_backup"), n.Backup)
	checkText(errs, p.At("notify_fault"), n.Fault)
	checkText(errs, p.At("notify_stop"), n.Stop)
	checkText(errs, p.At("notify"), n.Any)
}
