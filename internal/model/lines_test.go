package model

import (
	"net/netip"
	"strings"
	"testing"
)

// smuggle is the case: a notify_master of about 2,000 characters
// that puts `garp_master_delay 77` after byte 1023 of its rendered line
// (`    notify_master "` is 19 bytes), where keepalived's fgets(MAXBUF)
// cuts the line and reads the rest as a directive of its own.
func smuggle() string {
	v := "/usr/bin/logger " + strings.Repeat("x", 1023-19-len("/usr/bin/logger ")) + " garp_master_delay 77 "
	return v + strings.Repeat("y", 2000-len(v))
}

// TestSmugglingNotifyRefused: the value is refused at plan, at
// its attribute path, with the limit and its length, and the message
// quotes only the start of the value.
func TestSmugglingNotifyRefused(t *testing.T) {
	v := smuggle()
	if len(v) != 2000 || strings.Index(v, "garp_master_delay 77")+19 <= 1023 {
		t.Fatalf("the case is not the issue's: %d bytes, directive at %d", len(v), strings.Index(v, "garp_master_delay"))
	}
	c := drConfig()
	c.Director.Instances[0].Notify.Master = v
	errs := AsErrors(c.Validate(nil))
	if len(errs) != 1 {
		t.Fatalf("want exactly the length error, got %d:\n%v", len(errs), errs)
	}
	e := errs[0]
	if got := e.Path.String(); got != "vrrp_instance[0].notify_master" {
		t.Errorf("path = %s, want vrrp_instance[0].notify_master", got)
	}
	for _, want := range []string{"2000 bytes long", "at most 960", `"/usr/bin/logger xxx`} {
		if !strings.Contains(e.Msg, want) {
			t.Errorf("message lacks %q: %s", want, e.Msg)
		}
	}
	if strings.Contains(e.Msg, "garp_master_delay") || len(e.Msg) > 300 {
		t.Errorf("message quotes more than a short prefix (%d bytes): %s", len(e.Msg), e.Msg)
	}
}

// TestTextBounds sets each group of free-text fields rendered into
// keepalived.conf or sysctl.d to MaxTextLen bytes (accepted) and to one
// byte more (refused at its path with the limit and the length).
func TestTextBounds(t *testing.T) {
	fields := []struct {
		path string
		set  func(c *KeepalivedConfig, v string)
	}{
		{"vrrp_instance[0].track_script[0].script", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].TrackScripts[0].Script = v }},
		{"vrrp_instance[0].notify_master", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Master = v }},
		{"vrrp_instance[0].notify_backup", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Backup = v }},
		{"vrrp_instance[0].notify_fault", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Fault = v }},
		{"vrrp_instance[0].notify_stop", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Stop = v }},
		{"vrrp_instance[0].notify", func(c *KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Any = v }},
		{"vrrp_sync_group[0].notify", func(c *KeepalivedConfig, v string) {
			in := c.Director.Instances[0]
			in.Name, in.VirtualRouterID, in.TrackScripts = "VI_2", 52, nil
			in.VirtualIPs = []VirtualIP{{Prefix: netip.MustParsePrefix("192.168.0.11/24")}}
			c.Director.Instances[0].TrackScripts[0].Weight = 0
			c.Director.Instances = append(c.Director.Instances, in)
			c.Director.SyncGroups = []VRRPSyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_2"}, Notify: Notify{Any: v}}}
		}},
		{"virtual_server[0].quorum_up", func(c *KeepalivedConfig, v string) { c.VirtualServers[0].QuorumUp = v }},
		{"virtual_server[0].quorum_down", func(c *KeepalivedConfig, v string) { c.VirtualServers[0].QuorumDown = v }},
		{"virtual_server[0].real_server[0].notify_up", func(c *KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].NotifyUp = v }},
		{"virtual_server[0].real_server[0].notify_down", func(c *KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].NotifyDown = v }},
		{"virtual_server[0].real_server[0].misc_check.script", func(c *KeepalivedConfig, v string) {
			c.VirtualServers[0].RealServers[0].TCPCheck = nil
			c.VirtualServers[0].RealServers[0].MiscCheck = &MiscCheck{Script: v}
		}},
		{"virtual_server[0].real_server[1].http_get.url[0].path", func(c *KeepalivedConfig, v string) {
			c.VirtualServers[0].RealServers[1].HTTPGet.URLs[0].Path = "/" + v[1:]
		}},
		{"sysctl[0].key", func(c *KeepalivedConfig, v string) {
			c.Director.Sysctls = []Sysctl{{Key: "net." + strings.Repeat("k", len(v)-4), Value: "1"}}
		}},
		{"sysctl[0].value", func(c *KeepalivedConfig, v string) {
			c.Director.Sysctls = []Sysctl{{Key: "net.core.somaxconn", Value: strings.ReplaceAll(v, "/", "x")}}
		}},
		{"sysctl[0].reason", func(c *KeepalivedConfig, v string) {
			c.Director.Sysctls = []Sysctl{{Key: "net.core.somaxconn", Value: "1", Reason: v}}
		}},
	}
	// A command with spaces (a single word for the URL path).
	text := func(n int) string { return "/bin/true " + strings.Repeat("a", n-len("/bin/true ")) }
	for _, f := range fields {
		t.Run(f.path, func(t *testing.T) {
			ok := drConfig()
			v := text(MaxTextLen)
			if strings.HasSuffix(f.path, ".path") {
				v = strings.ReplaceAll(v, " ", "_")
			}
			f.set(ok, v)
			if err := ok.Validate(nil); err != nil {
				t.Fatalf("%d bytes (the bound) refused:\n%v", MaxTextLen, err)
			}
			long := drConfig()
			f.set(long, v+"b")
			errs := AsErrors(long.Validate(nil))
			var hit *FieldError
			for _, e := range errs {
				if e.Path.String() == f.path {
					hit = e
				}
			}
			if hit == nil {
				t.Fatalf("%d bytes passed; want an error at %s, got:\n%v", MaxTextLen+1, f.path, errs)
			}
			if !strings.Contains(hit.Msg, "961 bytes long") || !strings.Contains(hit.Msg, "at most 960") {
				t.Errorf("message names neither the length nor the limit: %s", hit.Msg)
			}
		})
	}
}

// TestLongValuesQuotedShort: a 70,000-character value in every kind of
// field is shown by at most a short prefix and its length; before, each
// message echoed it whole (140 KB of error text).
func TestLongValuesQuotedShort(t *testing.T) {
	huge := strings.Repeat("\x01", 35000) + strings.Repeat("z", 35000)
	c := drConfig()
	in := &c.Director.Instances[0]
	in.Name = huge
	in.Interface = huge
	in.State = huge
	in.Notify.Master = huge
	in.TrackScripts[0].Name = huge
	in.TrackIfaces = []TrackInterface{{Name: huge}}
	in.VirtualIPs[0].Label = huge
	in.Authentication = nil
	in.UnicastSrcIP = netip.MustParseAddr("192.168.0.2")
	in.UnicastPeers = []netip.Addr{netip.MustParseAddr("fe80::1").WithZone(huge)}
	c.Director.RouterID = huge
	c.Director.Engine = huge
	vs := &c.VirtualServers[0]
	vs.Scheduler = huge
	vs.ForwardingMethod = huge
	vs.QuorumUp = huge
	vs.RealServers[0].Address = netip.MustParseAddr("fe80::2").WithZone(huge)
	vs.RealServers[1].HTTPGet.URLs[0].Path = huge
	vs.RealServers[1].HTTPGet.URLs[0].StatusCode = huge
	c.Director.Sysctls = []Sysctl{{Key: huge, Value: huge, Reason: huge}}
	errs := AsErrors(c.Validate(nil))
	if len(errs) < 15 {
		t.Fatalf("only %d errors for 20 broken values:\n%v", len(errs), errs)
	}
	// 64 bytes quoted, at most 4 characters each (\x01), and the text.
	for _, e := range errs {
		if len(e.Msg) > 512 {
			t.Errorf("%s: message of %d bytes: %.300s", e.Path, len(e.Msg), e.Msg)
		}
	}
	if n := len(errs.Error()); n > 512*len(errs) {
		t.Errorf("%d errors make %d bytes of text", len(errs), n)
	}

	// A group of that name, served twice: the second claim names the first.
	g := drConfig()
	g.Groups = []VirtualServerGroup{{Name: huge, Members: []VSGroupMember{{Address: netip.MustParseAddr("192.168.0.10"), Port: 443}}}}
	for range 2 {
		g.VirtualServers = append(g.VirtualServers, VirtualServer{Group: huge, RealServers: []RealServer{{Address: netip.MustParseAddr("192.168.0.21")}}})
	}
	gerrs := AsErrors(g.Validate(nil))
	claimed := false
	for _, e := range gerrs {
		claimed = claimed || strings.Contains(e.Msg, "is already served by virtual_server[1] through group")
		if len(e.Msg) > 512 {
			t.Errorf("%s: message of %d bytes: %.300s", e.Path, len(e.Msg), e.Msg)
		}
	}
	if !claimed {
		t.Errorf("no duplicate claim reported:\n%.2000v", gerrs)
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"eth0", `"eth0"`},
		{"a\nb", `"a\nb"`},
		{strings.Repeat("n", 64), `"` + strings.Repeat("n", 64) + `"`},
		{strings.Repeat("n", 65), `"` + strings.Repeat("n", 64) + `"... (65 bytes)`},
		// A cut never splits a UTF-8 sequence: é is 2 bytes at 63..64.
		{strings.Repeat("n", 63) + "é" + "x", `"` + strings.Repeat("n", 63) + `"... (66 bytes)`},
	} {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%.20q...) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestHAProxyTextBounds: haproxy text is bounded by its rendered length,
// `!` included (before, "!!!...!x" of any length passed, since only the
// text without `!` was checked), and by its words.
func TestHAProxyTextBounds(t *testing.T) {
	p := Path{"acl", 0, "criterion"}
	for _, tc := range []struct {
		name, v, msg string
	}{
		{"bangs count", strings.Repeat("!", MaxTextLen) + "x", "961 bytes long"},
		{"too long", "path_beg /" + strings.Repeat("a", MaxTextLen), "970 bytes long"},
		{"too many words", strings.TrimSpace(strings.Repeat("w ", MaxHAProxyTextWords+1)), "41 words; at most 40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs Errors
			checkHAProxyText(&errs, rootLoc(p), tc.v)
			if len(errs) != 1 || errs[0].Path.String() != "acl[0].criterion" || !strings.Contains(errs[0].Msg, tc.msg) {
				t.Fatalf("want one error at acl[0].criterion with %q, got:\n%v", tc.msg, errs)
			}
		})
	}
	var errs Errors
	checkHAProxyText(&errs, rootLoc(p), strings.TrimSpace(strings.Repeat("!w ", MaxHAProxyTextWords)))
	checkHAProxyText(&errs, rootLoc(p), "path_beg /"+strings.Repeat("a", MaxTextLen-len("path_beg /")))
	if len(errs) != 0 {
		t.Fatalf("text at the bounds refused:\n%v", errs)
	}
}

// TestHAProxyTextFieldBounds sets each group of haproxy free-text fields
// to MaxTextLen bytes (accepted) and one byte more, and to
// MaxHAProxyTextWords words and one more where words are free (refused
// at its path). The default bound of checkText, checkWord and
// checkHAProxyText is what reaches them.
func TestHAProxyTextFieldBounds(t *testing.T) {
	fields := []struct {
		path  string
		words bool // the field takes several words
		set   func(c *HAProxyConfig, v string)
		// under is a directory the value must sit below (path confinement).
		under string
	}{
		{"frontend[0].acl[0].criterion", true, func(c *HAProxyConfig, v string) { c.Frontends[0].ACLs[0].Criterion = v }, ""},
		{"frontend[0].use_backend[0].condition", true, func(c *HAProxyConfig, v string) {
			c.Frontends[0].UseBackends[0].Condition = v
			// Its words are ACL names, declared so that only the bounds are tested.
			for _, w := range strings.Fields(v) {
				c.Frontends[0].ACLs = append(c.Frontends[0].ACLs, HAProxyACL{Name: w, Criterion: "src 10.0.0.1"})
			}
		}, ""},
		{"frontend[0].bind[0].options", true, func(c *HAProxyConfig, v string) { c.Frontends[0].Binds[0].Options = v }, ""},
		{"backend[0].server[0].options", true, func(c *HAProxyConfig, v string) { c.Backends[0].Servers[0].Options = v }, ""},
		{"defaults.options[0]", true, func(c *HAProxyConfig, v string) { c.Defaults.Options = []string{v} }, ""},
		{"global.log[0].address", false, func(c *HAProxyConfig, v string) { c.Global.Logs[0].Address = v }, ""},
		{"global.chroot", false, func(c *HAProxyConfig, v string) { c.Global.Chroot = v }, "/var/lib"},
	}
	words := func(n int) string { return "send-proxy" + strings.Repeat(" x", n-1) }
	for _, f := range fields {
		word := func(n int) string { return f.under + "/" + strings.Repeat("w", n-1-len(f.under)) }
		t.Run(f.path, func(t *testing.T) {
			refusedWith := func(v, msg string) {
				t.Helper()
				c := webHAProxy()
				f.set(c, v)
				for _, e := range AsErrors(c.Validate(nil)) {
					if e.Path.String() == f.path && strings.Contains(e.Msg, msg) {
						return
					}
				}
				t.Errorf("%d bytes, %d words: want an error at %s with %q", len(v), len(strings.Fields(v)), f.path, msg)
			}
			accepted := func(v string) {
				t.Helper()
				c := webHAProxy()
				f.set(c, v)
				for _, e := range AsErrors(c.Validate(nil)) {
					if e.Path.String() == f.path {
						t.Errorf("%d bytes, %d words refused: %v", len(v), len(strings.Fields(v)), e)
					}
				}
			}
			accepted(word(MaxTextLen))
			refusedWith(word(MaxTextLen+1), "961 bytes long; at most 960")
			if f.words {
				accepted(words(MaxHAProxyTextWords))
				refusedWith(words(MaxHAProxyTextWords+1), "41 words; at most 40")
			}
		})
	}
}
