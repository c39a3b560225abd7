package render

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// kaTextFields are the string settings of kitchenSink that reach
// keepalived.conf as free text (names, paths, scripts, hosts, labels,
// secrets, zones). FuzzKeepalived writes fuzz strings into them; each also
// has a placeholder that the model accepts, to render the same model with
// harmless text.
var kaTextFields = []struct {
	name        string
	placeholder string
	set         func(c *model.KeepalivedConfig, v string)
}{
	{"router_id", "rid", func(c *model.KeepalivedConfig, v string) { c.Director.RouterID = v }},
	{"script_user", "root", func(c *model.KeepalivedConfig, v string) { c.Director.ScriptUser = v }},
	{"director interface", "if0", func(c *model.KeepalivedConfig, v string) { c.Director.Interface = v }},
	{"instance interface", "if1", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Interface = v }},
	{"instance name", "VI_X", func(c *model.KeepalivedConfig, v string) {
		c.Director.Instances[1].Name = v
		c.Director.SyncGroups[0].Instances[0] = v
	}},
	{"vip dev", "if2", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].VirtualIPs[0].Device = v }},
	{"vip label", "if2:9", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].VirtualIPs[1].Label = v }},
	{"auth_pass", "pw", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Authentication.Password = v }},
	{"track script name", "chk_x", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].TrackScripts[0].Name = v }},
	{"track script", "/bin/x y", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].TrackScripts[0].Script = v }},
	{"track interface", "if3", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].TrackIfaces[1].Name = v }},
	{"notify_master", "/bin/m", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Master = v }},
	{"notify_backup", "/bin/b", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Backup = v }},
	{"notify_fault", "/bin/f", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Fault = v }},
	{"notify_stop", "/bin/s", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Stop = v }},
	{"notify", "/bin/n", func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Notify.Any = v }},
	{"sync group name", "VG_X", func(c *model.KeepalivedConfig, v string) { c.Director.SyncGroups[0].Name = v }},
	{"sync group notify", "/bin/g", func(c *model.KeepalivedConfig, v string) { c.Director.SyncGroups[0].Notify.Any = v }},
	{"group name", "VSG_X", func(c *model.KeepalivedConfig, v string) {
		c.Groups[0].Name = v
		c.VirtualServers[3].Group = v
	}},
	{"virtualhost", "vh.example", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].VirtualHost = v }},
	{"quorum_up", "/bin/qu", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].QuorumUp = v }},
	{"quorum_down", "/bin/qd", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].QuorumDown = v }},
	{"notify_up", "/bin/u", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].NotifyUp = v }},
	{"notify_down", "/bin/d", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].NotifyDown = v }},
	{"url path", "/p", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].HTTPGet.URLs[1].Path = v }},
	{"status_code", "204", func(c *model.KeepalivedConfig, v string) {
		c.VirtualServers[0].RealServers[0].HTTPGet.URLs[1].StatusCode = v
	}},
	{"digest", "0123456789abcdef0123456789abcdef", func(c *model.KeepalivedConfig, v string) {
		c.VirtualServers[0].RealServers[0].HTTPGet.URLs[1].Digest = v
	}},
	{"checker virtualhost", "ck.example", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[0].HTTPGet.VirtualHost = v }},
	{"misc_path", "/bin/mc", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[2].MiscCheck.Script = v }},
	{"misc user", "nobody", func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[2].MiscCheck.User = v }},
	{"unicast peer zone", "", func(c *model.KeepalivedConfig, v string) {
		c.Director.Instances[1].UnicastPeers = []netip.Addr{kaAddr("2001:db8:1::3").WithZone(v)}
	}},
	{"connect_ip zone", "", func(c *model.KeepalivedConfig, v string) {
		c.VirtualServers[4].RealServers[0].TCPCheck = &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectIP: kaAddr("2001:db8::99").WithZone(v)}}
	}},
	{"bindto zone", "", func(c *model.KeepalivedConfig, v string) {
		c.VirtualServers[5].RealServers[0].TCPCheck = &model.TCPCheck{CheckCommon: model.CheckCommon{BindTo: kaAddr("2001:db8::98").WithZone(v)}}
	}},
	{"sorry server zone", "", func(c *model.KeepalivedConfig, v string) {
		c.VirtualServers[5].SorryServer = &model.SorryServer{Address: kaAddr("2001:db8::250").WithZone(v)}
	}},
	{"group member zone", "", func(c *model.KeepalivedConfig, v string) {
		c.Groups[1].Members[0].Address = c.Groups[1].Members[0].Address.WithZone(v)
	}},
}

// kaEnumFields take a fuzz string too, identically in both renderings:
// what validation lets through is one of a fixed list.
var kaEnumFields = []func(c *model.KeepalivedConfig, v string){
	func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].State = v },
	func(c *model.KeepalivedConfig, v string) { c.Director.Instances[0].Authentication.Type = v },
	func(c *model.KeepalivedConfig, v string) { c.Director.Engine = v },
	func(c *model.KeepalivedConfig, v string) { c.VirtualServers[1].Scheduler = v },
	func(c *model.KeepalivedConfig, v string) { c.VirtualServers[1].Protocol = v },
	func(c *model.KeepalivedConfig, v string) { c.VirtualServers[1].ForwardingMethod = v },
	func(c *model.KeepalivedConfig, v string) { c.VirtualServers[0].RealServers[3].ForwardingMethod = v },
	func(c *model.KeepalivedConfig, v string) { c.VirtualServers[5].Family = v },
}

// kaIntFields take the fuzz integer, identically in both renderings.
var kaIntFields = []func(c *model.KeepalivedConfig, n int){
	func(c *model.KeepalivedConfig, n int) { c.Director.Instances[0].Priority = n },
	func(c *model.KeepalivedConfig, n int) { c.Director.Instances[1].AdvertInt = float64(n) / 100 },
	func(c *model.KeepalivedConfig, n int) { c.VirtualServers[0].RealServers[1].Weight = &n },
	func(c *model.KeepalivedConfig, n int) { c.VirtualServers[1].Port = n },
	func(c *model.KeepalivedConfig, n int) { c.VirtualServers[5].Fwmark = uint32(n) },
	func(c *model.KeepalivedConfig, n int) { c.VirtualServers[0].PersistenceGranularity = n },
	func(c *model.KeepalivedConfig, n int) { c.Groups[1].Members[0].RangeEnd = n },
	func(c *model.KeepalivedConfig, n int) { c.Director.Instances[0].TrackIfaces[0].Weight = n },
}

// kaFuzzConfig builds kitchenSink with fuzz values: text field i gets a when
// bit i of maskA is set, else b when bit i of maskB is set; enum field i
// likewise (bits 40 on); int field i gets n when bit i of maskN is set.
// With placeholders, the text fields that would get a non-empty a or b get
// their placeholder instead.
func kaFuzzConfig(a, b string, maskA, maskB uint64, maskN uint8, n int, placeholders bool) *model.KeepalivedConfig {
	c := kitchenSink()
	pick := func(bit int) (string, bool) {
		switch {
		case maskA&(1<<bit) != 0:
			return a, true
		case maskB&(1<<bit) != 0:
			return b, true
		}
		return "", false
	}
	for i, f := range kaTextFields {
		if v, ok := pick(i); ok {
			if placeholders && v != "" {
				v = f.placeholder // empty stays empty: it leaves the setting out
			}
			f.set(c, v)
		}
	}
	for i, set := range kaEnumFields {
		if v, ok := pick(40 + i); ok {
			set(c, v)
		}
	}
	for i, set := range kaIntFields {
		if maskN&(1<<i) != 0 {
			set(c, n)
		}
	}
	return c
}

// FuzzKeepalived proves that no input injects a directive: whatever text
// the model accepts in any field, the rendering parses into exactly the
// blocks the model asked for, every line's keyword is one its block allows,
// and the file has the same shape (lines, keywords, token counts) as the
// same model rendered with harmless placeholder text.
func FuzzKeepalived(f *testing.F) {
	nasty := []string{
		"", "x", "a b", "/bin/true\n}\ninclude /etc/passwd", "}", "{", "#", "!", "# comment", "! comment",
		`"`, `'`, "`id`", `\`, "\\\n", "x\"\ninclude /etc/passwd\n\"", "include /etc/passwd",
		"/bin/true }", "/bin/true { weight 100", "x\ry", "x\x00y", "x\ty", " x", "x ", "é", "eth0:1",
		"eth0\n    weight 100", "fe80::1", "%", "200-299", "640205b7b0fc66c1ea91c463fac6334d", "/ok path",
		"MASTER", "BACKUP", "PASS", "AH", "netlink", "keepalived", "rr", "sh", "udp", "sctp", "dr", "tun", "inet6",
	}
	// Each nasty value in each text field alone (the others keep valid
	// text), in all of them at once, and in each enumerated field.
	for _, v := range nasty {
		for i := range kaTextFields {
			f.Add(v, "", uint64(1)<<i, uint64(0), uint8(0), 0)
		}
		f.Add(v, "", ^uint64(0), uint64(0), uint8(0), 0)
		for i := range kaEnumFields {
			f.Add(v, "", uint64(1)<<(40+i), uint64(0), uint8(0), 0)
		}
	}
	for i := range kaIntFields {
		for _, n := range []int{-1, 0, 1, 2, 3, 32, 100, 255, 256, 65535, 65536, 1 << 31} {
			f.Add("", "", uint64(0), uint64(0), uint8(1)<<i, n)
		}
	}
	f.Fuzz(func(t *testing.T, a, b string, maskA, maskB uint64, maskN uint8, n int) {
		cfg := kaFuzzConfig(a, b, maskA, maskB, maskN, n, false)
		if cfg.Validate(nil) != nil {
			return
		}
		out, err := Keepalived(cfg)
		if err != nil {
			t.Fatalf("the model accepts the configuration but rendering fails: %v", err)
		}
		if err := kaLinesWithin(out); err != nil {
			t.Fatalf("%v\n%s", err, kaNumbered(out))
		}
		root, err := parseKeepalivedConf(out)
		if err != nil {
			t.Fatalf("rendering does not parse: %v\n%s", err, kaNumbered(out))
		}
		if err := checkKeepalivedTree(root, cfg); err != nil {
			t.Fatalf("%v\n%s", err, kaNumbered(out))
		}
		plain := kaFuzzConfig(a, b, maskA, maskB, maskN, n, true)
		want, err := Keepalived(plain)
		if err != nil {
			t.Fatalf("the same model with placeholder text is refused: %v", err)
		}
		wantRoot, err := parseKeepalivedConf(want)
		if err != nil {
			t.Fatalf("rendering with placeholder text does not parse: %v\n%s", err, kaNumbered(want))
		}
		if err := kaSameShape(root, wantRoot); err != nil {
			t.Fatalf("fuzz text changed the file's shape: %v\n%s\n--- with placeholders ---\n%s", err, kaNumbered(out), want)
		}
	})
}

// kaLinesWithin checks, independently of the renderer's own checkLines,
// that keepalived reads every line of text whole: at most
// model.KeepalivedMaxLine bytes before the newline.
func kaLinesWithin(text string) error {
	for i, l := range strings.Split(text, "\n") {
		if len(l) > model.KeepalivedMaxLine {
			return fmt.Errorf("line %d is %d bytes, more than keepalived reads as one line (%d)", i+1, len(l), model.KeepalivedMaxLine)
		}
	}
	return nil
}

// kaLong repeats s to at most limit bytes: rep times, or fewer when s is long.
func kaLong(s string, rep uint16, limit int) string {
	if s == "" {
		return ""
	}
	n := int(rep)
	if n*len(s) > limit {
		n = limit/len(s) + 1
	}
	v := strings.Repeat(s, n)
	if len(v) > limit {
		v = v[:limit]
	}
	return v
}

// FuzzKeepalivedLines proves the line bound: long text (a fuzz string
// repeated up to 4 KB) in any set of keepalived.conf's text fields is
// either refused by the model or rendered, and rendered, keepalived reads
// every line of it whole. The case (a ~2,000-byte notify_master
// with a directive after byte 1023) is among the seeds.
func FuzzKeepalivedLines(f *testing.F) {
	for _, s := range []string{"x", "/bin/true ", "a b", " garp_master_delay 77 ", "é", "/p/"} {
		for _, rep := range []uint16{1, 100, 900, 960, 961, 1023, 2000, 4096} {
			f.Add(s, rep, ^uint64(0))
			for i := range kaTextFields {
				f.Add(s, rep, uint64(1)<<i)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string, rep uint16, mask uint64) {
		v := kaLong(s, rep, 4096)
		cfg := kaFuzzConfig(v, "", mask, 0, 0, 0, false)
		if cfg.Validate(nil) != nil {
			return
		}
		out, err := Keepalived(cfg)
		if err != nil {
			t.Fatalf("the model accepts %d bytes of text but rendering fails: %v", len(v), err)
		}
		if err := kaLinesWithin(out); err != nil {
			t.Fatalf("%v\n%s", err, kaNumbered(out))
		}
	})
}

// kaBlock is one parsed block of keepalived.conf: its header line and body.
type kaBlock struct {
	keyword  string
	args     []string
	lines    [][]string // directives: keyword and arguments
	children []*kaBlock
	line     int
}

// parseKeepalivedConf parses the subset of keepalived.conf syntax the
// renderer writes, strictly: tokens split on spaces, a double-quoted string
// is one token, a line ending in `{` opens a block, a line `}` closes one.
// Anything else that keepalived would read specially (a brace, quote or
// comment character elsewhere, a control character) is an error, except
// the managed marker on the first line.
func parseKeepalivedConf(text string) (*kaBlock, error) {
	root := &kaBlock{keyword: "(top)"}
	stack := []*kaBlock{root}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if i == 0 {
			if line != ManagedMarker {
				return nil, fmt.Errorf("line 1 is %q, not the managed marker", line)
			}
			continue
		}
		toks, err := kaTokens(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		top := stack[len(stack)-1]
		switch {
		case len(toks) == 0:
		case len(toks) == 1 && toks[0] == "}":
			if len(stack) == 1 {
				return nil, fmt.Errorf("line %d: } closes no block", i+1)
			}
			stack = stack[:len(stack)-1]
		case toks[len(toks)-1] == "{":
			b := &kaBlock{keyword: toks[0], args: toks[1 : len(toks)-1], line: i + 1}
			top.children = append(top.children, b)
			stack = append(stack, b)
		default:
			top.lines = append(top.lines, toks)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("block %s of line %d is not closed", stack[len(stack)-1].keyword, stack[len(stack)-1].line)
	}
	return root, nil
}

// kaTokens splits one line; see parseKeepalivedConf.
func kaTokens(line string) ([]string, error) {
	var toks []string
	for _, r := range line {
		if r > unicode.MaxASCII || (!unicode.IsPrint(r) && r != ' ') {
			return nil, fmt.Errorf("control or non-ASCII character %q", r)
		}
	}
	rest := line
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return toks, nil
		}
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", line)
			}
			toks = append(toks, rest[:end+2])
			rest = rest[end+2:]
			if rest != "" && rest[0] != ' ' {
				return nil, fmt.Errorf("text right after a quoted string in %q", line)
			}
			continue
		}
		tok, after, _ := strings.Cut(rest, " ")
		if strings.ContainsAny(tok, "#!\"'\\") || (strings.ContainsAny(tok, "{}") && len(tok) > 1) {
			return nil, fmt.Errorf("token %q holds a comment, quote or brace character", tok)
		}
		toks = append(toks, tok)
		rest = after
	}
}

// kaGrammar lists, for each block keyword, the directives it may hold with
// their argument counts (-1: a quoted string), and the blocks it may nest.
// A block listed in kaListBlocks holds bare values instead.
var kaGrammar = map[string]struct {
	directives map[string][]int
	blocks     []string
}{
	"(top)": {blocks: []string{"global_defs", "vrrp_script", "vrrp_sync_group", "vrrp_instance", "virtual_server_group", "virtual_server"}},
	"global_defs": {directives: map[string][]int{
		"router_id": {1}, "script_user": {1}, "enable_script_security": {0}}},
	"vrrp_script": {directives: map[string][]int{
		"script": {-1}, "interval": {1}, "timeout": {1}, "fall": {1}, "rise": {1}}},
	"vrrp_sync_group": {directives: kaNotifyDirectives(), blocks: []string{"group"}},
	"vrrp_instance": {directives: kaMerge(kaNotifyDirectives(), map[string][]int{
		"state": {1}, "interface": {1}, "virtual_router_id": {1}, "priority": {1}, "advert_int": {1}, "version": {1},
		"nopreempt": {0}, "preempt_delay": {1}, "garp_master_delay": {1}, "garp_master_repeat": {1}, "garp_master_refresh": {1},
		"unicast_src_ip": {1}}),
		blocks: []string{"authentication", "unicast_peer", "virtual_ipaddress", "track_interface", "track_script"}},
	"authentication": {directives: map[string][]int{"auth_type": {1}, "auth_pass": {1}}},
	"virtual_server": {directives: map[string][]int{
		"ip_family": {1}, "delay_loop": {1}, "lvs_sched": {1}, "sh-port": {0}, "sh-fallback": {0}, "mh-port": {0}, "mh-fallback": {0},
		"ops": {0}, "lvs_method": {1}, "protocol": {1}, "persistence_timeout": {1}, "persistence_granularity": {1},
		"connect_timeout": {1}, "retry": {1}, "delay_before_retry": {1}, "virtualhost": {1}, "alpha": {0}, "omega": {0},
		"quorum": {1}, "hysteresis": {1}, "quorum_up": {-1}, "quorum_down": {-1}, "inhibit_on_failure": {0},
		"sorry_server": {1, 2}, "sorry_server_lvs_method": {1}, "sorry_server_inhibit": {0}},
		blocks: []string{"real_server"}},
	"real_server": {directives: map[string][]int{
		"weight": {1}, "lvs_method": {1}, "inhibit_on_failure": {1}, "uthreshold": {1}, "lthreshold": {1},
		"notify_up": {-1}, "notify_down": {-1}},
		blocks: kaCheckers},
	"TCP_CHECK": {directives: kaCheckDirectives()},
	"HTTP_GET":  {directives: kaMerge(kaCheckDirectives(), map[string][]int{"virtualhost": {1}}), blocks: []string{"url"}},
	"SSL_GET":   {directives: kaMerge(kaCheckDirectives(), map[string][]int{"virtualhost": {1}}), blocks: []string{"url"}},
	"MISC_CHECK": {directives: map[string][]int{
		"misc_path": {-1}, "misc_timeout": {1}, "misc_dynamic": {0}, "user": {1}}},
	"url": {directives: map[string][]int{"path": {1}, "status_code": {1}, "digest": {1}}},
}

// kaListBlocks hold one value per line, in one of the given patterns:
// "" stands for any single unquoted value, anything else for itself.
var kaListBlocks = map[string][][]string{
	"group":                {{""}},
	"unicast_peer":         {{""}},
	"virtual_ipaddress":    {{"", "dev", ""}, {"", "dev", "", "label", ""}},
	"track_interface":      {{""}, {"", "weight", ""}},
	"track_script":         {{""}, {"", "weight", ""}},
	"virtual_server_group": {{""}, {"", ""}},
}

// kaMatches reports whether a list line fits one of the patterns.
func kaMatches(line []string, patterns [][]string) bool {
	for _, p := range patterns {
		if len(p) == len(line) && !slices.ContainsFunc(line, func(tok string) bool { return strings.HasPrefix(tok, `"`) }) {
			ok := true
			for i := range p {
				ok = ok && (p[i] == "" || p[i] == line[i])
			}
			if ok {
				return true
			}
		}
	}
	return false
}

var kaCheckers = []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK"}

func kaNotifyDirectives() map[string][]int {
	return map[string][]int{"notify_master": {-1}, "notify_backup": {-1}, "notify_fault": {-1}, "notify_stop": {-1}, "notify": {-1}}
}

func kaCheckDirectives() map[string][]int {
	return map[string][]int{"connect_ip": {1}, "connect_port": {1}, "bindto": {1}, "connect_timeout": {1}, "retry": {1}, "delay_before_retry": {1}}
}

func kaMerge(a, b map[string][]int) map[string][]int {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// checkKeepalivedTree checks a parsed rendering against the grammar and
// against the model: one block per instance, script, sync group, group,
// virtual server, real server and checker the model asked for.
func checkKeepalivedTree(root *kaBlock, cfg *model.KeepalivedConfig) error {
	if err := kaCheckBlock(root); err != nil {
		return err
	}
	count := map[string]int{}
	var walk func(b *kaBlock)
	walk = func(b *kaBlock) {
		for _, c := range b.children {
			count[c.keyword]++
			walk(c)
		}
	}
	walk(root)
	want := map[string]int{
		"global_defs":     1,
		"vrrp_instance":   len(cfg.Director.Instances),
		"vrrp_sync_group": len(cfg.Director.SyncGroups),
	}
	scripts := map[string]bool{}
	for _, in := range cfg.Director.Instances {
		for _, ts := range in.TrackScripts {
			scripts[ts.Name] = true
		}
	}
	want["vrrp_script"] = len(scripts)
	if cfg.OwnsIPVS() {
		want["virtual_server_group"] = len(cfg.Groups)
		for _, vs := range cfg.VirtualServers {
			if len(vs.RealServers) > 0 {
				want["virtual_server"]++
			}
			want["real_server"] += len(vs.RealServers)
			for _, rs := range vs.RealServers {
				switch {
				case rs.TCPCheck != nil:
					want["TCP_CHECK"]++
				case rs.HTTPGet != nil:
					want["HTTP_GET"]++
					want["url"] += len(rs.HTTPGet.URLs)
				case rs.SSLGet != nil:
					want["SSL_GET"]++
					want["url"] += len(rs.SSLGet.URLs)
				case rs.MiscCheck != nil:
					want["MISC_CHECK"]++
				}
			}
		}
	}
	for _, k := range []string{"global_defs", "vrrp_script", "vrrp_sync_group", "vrrp_instance", "virtual_server_group",
		"virtual_server", "real_server", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "url"} {
		if count[k] != want[k] {
			return fmt.Errorf("%d %s blocks, the model asks for %d", count[k], k, want[k])
		}
	}
	return nil
}

// kaCheckBlock checks one block and its children against kaGrammar: known
// keywords with their argument counts, each directive once.
func kaCheckBlock(b *kaBlock) error {
	if patterns, ok := kaListBlocks[b.keyword]; ok {
		if len(b.children) > 0 {
			return fmt.Errorf("line %d: %s holds a block", b.line, b.keyword)
		}
		for _, l := range b.lines {
			if !kaMatches(l, patterns) {
				return fmt.Errorf("in %s of line %d: %q is not a value of that block", b.keyword, b.line, l)
			}
		}
		return nil
	}
	g, ok := kaGrammar[b.keyword]
	if !ok {
		return fmt.Errorf("line %d: unknown block %s", b.line, b.keyword)
	}
	seen := map[string]bool{}
	for _, l := range b.lines {
		counts, ok := g.directives[l[0]]
		if !ok {
			return fmt.Errorf("in %s of line %d: %q is not a directive of that block", b.keyword, b.line, l)
		}
		if seen[l[0]] {
			return fmt.Errorf("in %s of line %d: %s is set twice", b.keyword, b.line, l[0])
		}
		seen[l[0]] = true
		n := len(l) - 1
		if slices.Contains(counts, -1) {
			if n != 1 || !strings.HasPrefix(l[1], `"`) {
				return fmt.Errorf("in %s of line %d: %q takes one quoted string", b.keyword, b.line, l)
			}
		} else if !slices.Contains(counts, n) {
			return fmt.Errorf("in %s of line %d: %q has %d arguments", b.keyword, b.line, l, n)
		}
	}
	for _, c := range b.children {
		if !slices.Contains(g.blocks, c.keyword) {
			return fmt.Errorf("line %d: block %s inside %s", c.line, c.keyword, b.keyword)
		}
		if err := kaCheckBlock(c); err != nil {
			return err
		}
	}
	return nil
}

// kaSameShape compares two parsed renderings of one model whose text
// values differ: the same blocks with the same number of header values,
// and the same directives with the same number and kind (quoted or not)
// of arguments; only the values may differ.
func kaSameShape(a, b *kaBlock) error {
	if a.keyword != b.keyword || len(a.args) != len(b.args) || len(a.lines) != len(b.lines) || len(a.children) != len(b.children) {
		return fmt.Errorf("block %s %q of line %d (%d lines, %d blocks) is %s %q (%d lines, %d blocks) with placeholder text",
			a.keyword, a.args, a.line, len(a.lines), len(a.children), b.keyword, b.args, len(b.lines), len(b.children))
	}
	_, list := kaListBlocks[a.keyword]
	for i := range a.lines {
		la, lb := a.lines[i], b.lines[i]
		same := len(la) == len(lb) && (list || la[0] == lb[0])
		for k := 0; same && k < len(la); k++ {
			same = strings.HasPrefix(la[k], `"`) == strings.HasPrefix(lb[k], `"`)
		}
		if !same {
			return fmt.Errorf("in %s of line %d: %q is %q with placeholder text", a.keyword, a.line, la, lb)
		}
	}
	for i := range a.children {
		if err := kaSameShape(a.children[i], b.children[i]); err != nil {
			return err
		}
	}
	return nil
}
