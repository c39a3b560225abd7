package provider

import (
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The haproxy shapes: the global and defaults sections of a host, and the
// frontend, backend and listen sections (model.HAProxyConfig). A frontend
// with its backend is also what the lvs_haproxy_frontend resource manages.
// Attribute names are the ones model.HAProxyConfig uses in its paths.

// timeoutNames are the haproxy timeouts every section carries, as
// timeout_<name> attributes, with the haproxy keyword each sets.
var timeoutNames = []struct{ attr, keyword string }{
	{"connect", "connect"}, {"client", "client"}, {"server", "server"}, {"queue", "queue"},
	{"http_request", "http-request"}, {"http_keep_alive", "http-keep-alive"}, {"check", "check"},
	{"tunnel", "tunnel"}, {"client_fin", "client-fin"}, {"server_fin", "server-fin"},
}

func timeoutAttributes() map[string]attrSpec {
	out := make(map[string]attrSpec, len(timeoutNames))
	for _, t := range timeoutNames {
		out["timeout_"+t.attr] = intAttr("`timeout " + t.keyword + "` in milliseconds. " +
			"Unset leaves haproxy's default (or the `defaults` section's).").positive()
	}
	return out
}

// balanceArgRule says which algorithms take an argument.
var balanceArgRule = "the header name of `hdr`, the parameter of `url_param` and the sample expression of `hash` " +
	"(required); the number of draws of `random` (unset: 2) and the cookie name of `rdp-cookie` (optional). Others take none."

// haproxyOptionsRule is what the free options lines may not hold, for
// their descriptions (the rules are model.checkHAProxyLine's).
var haproxyOptionsRule = "Directives that create files or that an attribute sets are refused (`stats socket`, " +
	"`pidfile`, `chroot`, `unix-bind`, `user`, `uid`, `group`, `gid`, and a `bind` on anything but an IP address); " +
	haproxyPathRule

// haproxyPathRule is the rule for paths in free haproxy text.
var haproxyPathRule = "paths may not contain a `..` segment, and certificates, keys, CA and CRL files (`crt`, `crt-list`, " +
	"`ca-file`, `crl-file`, `crt-base`, ...) given as absolute paths are read only from below " +
	model.DirList(model.HAProxyCertDirs) + " (relative ones resolve against `crt-base` or `ca-base`, which are confined alike). " +
	haproxyQuotingRule

// haproxyQuotingRule is the rule for quoting in free haproxy text.
var haproxyQuotingRule = "haproxy's quoting may be used (`\"max-age=31536000\"`, `'a b'`, `HAProxy\\ Statistics`) and is " +
	"rendered as written, on one line; the rules above apply to the words haproxy reads after its quotes and escapes. " +
	"Refused: a `#` outside quotes (a comment), an unterminated quote, a trailing backslash, `$` inside double quotes " +
	"(an environment variable; write `\\$` or use single quotes), tabs and line breaks."

func optionsAttr(description string) map[string]attrSpec {
	return map[string]attrSpec{"options": stringListAttr(description)}
}

func modeAttr(def string) attrSpec {
	return enumAttr("Proxy mode.", model.HAProxyModes, def)
}

func maxconnAttr(what string) attrSpec {
	return intAttr("Maximum concurrent connections of " + what + "; `0` leaves haproxy's default.")
}

func haproxyGlobalBlock() blockSpec {
	return blockSpec{
		single:      true,
		description: "The `global` section: process-wide settings of the haproxy host.",
		attrs: merge(map[string]attrSpec{
			"maxconn":  maxconnAttr("the process"),
			"nbthread": intAttr("Number of threads; unset lets haproxy use every CPU it may.").positive(),
			"user":     stringAttr("User haproxy runs as after startup."),
			"group":    stringAttr("Group haproxy runs as after startup."),
			"uid":      intAttr("Numeric user id haproxy runs as after startup (`uid`); conflicts with `user`."),
			"gid":      intAttr("Numeric group id haproxy runs as after startup (`gid`); conflicts with `group`."),
			"chroot": stringAttr("Directory haproxy chroots into after startup: an absolute, clean path (no `..`, " +
				"`.`, `//` or trailing `/`), " + model.HAProxyChrootRule() + "."),
			"stats_socket": stringAttr("Path of the admin socket, which the provider's agent reads server " +
				"states from: an absolute, clean path (no `..`, `.`, `//` or trailing `/`) below " +
				model.DirList(model.HAProxyStatsSocketDirs) + ". haproxy replaces whatever is at that path with its socket, " +
				"so the agent refuses to apply when a file that is not a socket is there. Defaults to `" + model.DefaultStatsSocket + "`."),
		}, optionsAttr("Extra global directives, one per entry, each a keyword with its arguments, "+
			"such as `tune.ssl.default-dh-param 2048`. "+haproxyOptionsRule)),
		blocks: map[string]blockSpec{
			"log": {
				description: "A syslog target of the process.",
				attrs: map[string]attrSpec{
					"address":  stringAttr("Syslog target, such as `/dev/log`, `127.0.0.1:514` or `stdout`.").mandatory(),
					"facility": enumAttr("Syslog facility.", model.HAProxyLogFacilities, "").mandatory(),
					"level":    enumAttr("Maximum level logged.", model.HAProxyLogLevels, ""),
				},
			},
		},
	}
}

func haproxyDefaultsBlock() blockSpec {
	return blockSpec{
		single:      true,
		description: "The `defaults` section: settings every frontend, backend and listen section inherits.",
		attrs: merge(map[string]attrSpec{
			"mode":        modeAttr(model.DefaultHAProxyMode),
			"maxconn":     maxconnAttr("each proxy"),
			"retries":     intAttr("Connection retries to a server before giving up. Defaults to haproxy's `3`.").positive(),
			"redispatch":  boolAttr("Let a request whose server is down go to another server (`option redispatch`)."),
			"balance":     enumAttr("Load-balancing algorithm of every backend that sets none.", model.HAProxyBalances, model.DefaultHAProxyBalance),
			"balance_arg": stringAttr("Argument of the defaults' `balance`: " + balanceArgRule),
			"log_global":  boolAttr("Make proxies log to the global log targets (`log global`)."),
		}, timeoutAttributes(), optionsAttr("Extra `option` names, such as `httplog`, `dontlognull` or `forwardfor`. "+
			"Their paths may not contain a `..` segment.")),
	}
}

// haproxyResolversBlock is a resolvers section.
func haproxyResolversBlock() blockSpec {
	return blockSpec{
		description: "A `resolvers` section: DNS servers haproxy asks, at run time, for the addresses of servers given " +
			"by host name that name it (`server.resolvers`).",
		attrs: map[string]attrSpec{
			"name": stringAttr("Name of the section, which servers name in `resolvers`. " + model.NamePattern + ".").mandatory(),
			"nameservers": stringListAttr("DNS servers as `IP:PORT`, such as `10.0.0.53:53` or `[2001:db8::53]:53` " +
				"(rendered as `nameserver ns1 ...`, `ns2`, ... in order). At least one, unless `parse_resolv_conf` is set."),
			"parse_resolv_conf": boolAttr("Also ask the nameservers of the host's `/etc/resolv.conf` (`parse-resolv-conf`)."),
			"resolve_retries":   intAttr("Queries sent before giving up on a resolution (`resolve_retries`). Defaults to haproxy's `3`.").positive(),
			"timeout_resolve":   intAttr("Milliseconds between two resolutions of a name (`timeout resolve`). Defaults to haproxy's `1000`.").positive(),
			"timeout_retry":     intAttr("Milliseconds between two queries while no answer came (`timeout retry`). Defaults to haproxy's `1000`.").positive(),
			"hold_valid": intAttr("Milliseconds the last valid answer is kept while no new one comes (`hold valid`). " +
				"Defaults to haproxy's `10000`.").positive(),
			"accepted_payload_size": rangeAttr("Largest DNS answer accepted, in bytes (EDNS0, `accepted_payload_size`). "+
				"Unset leaves haproxy's `512`.", 512, 65535),
		},
	}
}

func haproxyBindBlock() blockSpec {
	return blockSpec{
		description: "A listening address (`bind`); at least one.",
		attrs: map[string]attrSpec{
			"address": ipAttr("Address to listen on. Unset listens on every address."),
			"port":    portAttr("Port to listen on.", 1).mandatory(),
			"certificate": stringAttr("Name of an `lvs_haproxy_certificate` of the host: the bind terminates TLS with it " +
				"(`ssl crt FILE` after the address, FILE being the agent's file of the certificate in `" + model.HAProxyCertDir + "/`). " +
				"An apply refuses a name the host stores no certificate of. In `data.lvs_haproxy_config`, which renders " +
				"without a host, FILE is `" + model.HAProxyCertPath("NAME") + "`: whoever installs the rendered file puts " +
				"the certificate chain followed by its key there as one PEM file, mode `0600`."),
			"options": stringAttr("Options after the address on the `bind` line, such as `ssl crt /etc/haproxy/site.pem`. " +
				"Their " + haproxyPathRule),
		},
	}
}

// haproxyFrontendAttributes are a frontend's own attributes.
func haproxyFrontendAttributes() map[string]attrSpec {
	return merge(map[string]attrSpec{
		"name":            stringAttr("Name of the frontend. " + model.NamePattern + ".").mandatory(),
		"mode":            modeAttr(""),
		"maxconn":         maxconnAttr("the frontend"),
		"default_backend": stringAttr("Backend (or listen section) that gets requests no `use_backend` rule matches."),
	}, timeoutAttributes(), optionsAttr("Extra directives of the section, one per entry, each a keyword "+
		"with its arguments, such as `option forwardfor`. "+haproxyOptionsRule))
}

// haproxyFrontendBlocks are a frontend's nested blocks.
func haproxyFrontendBlocks() map[string]blockSpec {
	return map[string]blockSpec{
		"bind": haproxyBindBlock(),
		"acl": {
			description: "A named condition (`acl`), such as `is_api` for `path_beg /api`.",
			attrs: map[string]attrSpec{
				"name":      stringAttr("Name of the ACL.").mandatory(),
				"criterion": stringAttr("Criterion and values, such as `path_beg /api`.").mandatory(),
			},
		},
		"use_backend": {
			description: "A routing rule (`use_backend`): requests that match the condition go to the backend.",
			attrs: map[string]attrSpec{
				"backend":   stringAttr("Backend (or listen section) the requests go to.").mandatory(),
				"cond":      enumAttr("Keyword joining the rule to its condition.", model.HAProxyRuleConditions, "if"),
				"condition": stringAttr("Condition over ACL names, such as `is_api` or `!is_static`.").mandatory(),
			},
		},
	}
}

func haproxyFrontendBlock() blockSpec {
	return blockSpec{
		description: "A `frontend` section: where clients connect and how requests are routed to backends.",
		attrs:       haproxyFrontendAttributes(),
		blocks:      haproxyFrontendBlocks(),
	}
}

// haproxyBackendAttributes are a backend's own attributes (shared by listen sections).
func haproxyBackendAttributes() map[string]attrSpec {
	return merge(map[string]attrSpec{
		"name":        stringAttr("Name of the section. " + model.NamePattern + ".").mandatory(),
		"mode":        modeAttr(""),
		"balance":     enumAttr("Load-balancing algorithm.", model.HAProxyBalances, model.DefaultHAProxyBalance),
		"balance_arg": stringAttr("Argument of `balance`: " + balanceArgRule),
	}, timeoutAttributes(), optionsAttr("Extra directives of the section, one per entry, each a keyword "+
		"with its arguments, such as `option forwardfor`. "+haproxyOptionsRule))
}

// haproxyBackendBlocks are a backend's nested blocks (shared by listen sections).
func haproxyBackendBlocks() map[string]blockSpec {
	return map[string]blockSpec{
		"server": {
			description: "A `server` line: one destination of the backend.",
			attrs: map[string]attrSpec{
				"name": stringAttr("Name of the server, unique in the backend. " + model.NamePattern + ".").mandatory(),
				"address": stringAttr("Address of the server: " + model.HostnameRule + ". haproxy resolves a host name " +
					"at startup as `init_addr` says (unset: the address of the last run, then the system's resolver, " +
					"`/etc/hosts` included; a name that does not resolve then fails the apply), and again at run time " +
					"through the `resolvers` section the server names, if any.").mandatory(),
				"resolvers": stringAttr("Name of a `resolvers` section of the host (of `lvs_haproxy`, or of this data source) " +
					"that resolves the server's host name at run time (`resolvers`). Needs a host name in `address`. " +
					"Checked at plan in `data.lvs_haproxy_config`, and at apply on a host."),
				"resolve_prefer": enumAttr("Address family preferred among the addresses of the host name (`resolve-prefer`). "+
					"Needs a host name in `address`.", model.HAProxyResolvePrefers, ""),
				"init_addr": stringListAttr("How haproxy finds the host name's address at startup, tried in order " +
					"(`init-addr`): `last` (the address of the last run, from the server state file), `libc` (the system's " +
					"resolver), `none` (start the server in maintenance until `resolvers` finds it), or an IP address. " +
					"Needs a host name in `address`."),
				"port": portAttr("Port of the server. Unset (or `0`) is a port-less server: haproxy connects to the port "+
					"the client connected to, the usual choice behind an LVS DR VIP. A port-less server with `check` needs `check_port`.", 0),
				"check_port": portAttr("Port the health check connects to (`port` on the server line), when it is not the server's.", 0),
				"check_addr": ipAttr("Address the health check connects to (`addr` on the server line), when it is not the server's. Needs `check`."),
				"send_proxy": boolAttr("Send a PROXY protocol version 1 header on each connection to the server (`send-proxy`). " +
					"Conflicts with `send_proxy_v2`."),
				"send_proxy_v2": boolAttr("Send a PROXY protocol version 2 header on each connection to the server (`send-proxy-v2`). " +
					"Conflicts with `send_proxy`."),
				"slowstart": intAttr("Milliseconds over which a server that comes back up ramps its weight up (`slowstart`); unset starts it at full weight."),
				"maxqueue":  intAttr("Maximum requests queued for the server (`maxqueue`); `0` leaves it unbounded."),
				"weight":    rangeAttr("Weight of the server. Defaults to haproxy's `1`.", 0, 256),
				"check":     boolAttr("Health-check the server."),
				"inter":     intAttr("Milliseconds between health checks. Needs `check`.").positive(),
				"fall":      intAttr("Failed checks in a row that mark the server down. Needs `check`.").positive(),
				"rise":      intAttr("Passed checks in a row that mark the server up. Needs `check`.").positive(),
				"backup":    boolAttr("Send traffic to the server only while every non-backup server is down."),
				"maxconn":   maxconnAttr("the server"),
				"ssl": boolAttr("Speak TLS to the server (`ssl`). haproxy then verifies the server's certificate " +
					"unless `verify = \"none\"`: give `ca_file`."),
				"check_ssl": boolAttr("Run the health check over TLS (`check-ssl`), such as on a `check_port` of its own while " +
					"traffic stays plain. Needs `check`; verifies the certificate as `ssl` does."),
				"verify": enumAttr("Whether the server's certificate is verified against `ca_file` (`verify`). "+
					"Unset is haproxy's `required`. Needs `ssl` or `check_ssl`.", model.HAProxyServerVerify, ""),
				"ca_file": stringAttr("CA certificates the server's certificate is verified against (`ca-file`): an absolute, " +
					"clean path (no `..`, `.`, `//` or trailing `/`) below " + model.DirList(model.HAProxyCertDirs) +
					", such as `/etc/ssl/certs/ca-certificates.crt`. Required with `ssl` or `check_ssl` unless `verify = \"none\"`."),
				"sni": stringAttr("Sample expression whose value is sent as the TLS server name (`sni`), such as " +
					"`str(app.example.com)` or `req.hdr(host)`. Needs `ssl` or `check_ssl`."),
				"verifyhost": stringAttr("Host name the server's certificate must be for (`verifyhost`), when it is not the " +
					"`sni` sent. Needs verification (`verify` not `none`)."),
				"agent_check": boolAttr("Also ask an agent on the server for its state and weight (`agent-check`): a line " +
					"such as `up`, `drain`, `maint` or `75%`. Needs `agent_port`."),
				"agent_port":  portAttr("Port of the agent (`agent-port`). Needs `agent_check`.", 0),
				"agent_inter": intAttr("Milliseconds between two agent checks (`agent-inter`); unset uses `inter`. Needs `agent_check`.").positive(),
				"options": stringAttr("Options after the address on the `server` line, such as `alpn h2` or `proto h2`; a " +
					"keyword an attribute of the server sets (`check`, `ssl`, `weight`, ...) is refused here when that attribute " +
					"is set. Their " + haproxyPathRule),
			},
		},
		"http_check": {
			single:      true,
			description: "HTTP health checks of the servers (`option httpchk` and `http-check` lines).",
			attrs: map[string]attrSpec{
				"method": enumAttr("Request method. Unset sends haproxy's default, `OPTIONS`, which some servers "+
					"answer with an error status (and so fail every check): set `GET` for those.", model.HTTPMethods, ""),
				"path":          stringAttr("Path requested, starting with `/`.").mandatory(),
				"host":          stringAttr("`Host` header sent with the request."),
				"expect_status": stringAttr("Status code or range the check accepts, such as `200` or `200-399`."),
			},
		},
	}
}

func haproxyBackendBlock() blockSpec {
	return blockSpec{
		description: "A `backend` section: servers, balancing and health checks.",
		attrs:       haproxyBackendAttributes(),
		blocks:      haproxyBackendBlocks(),
	}
}

func haproxyListenBlock() blockSpec {
	return blockSpec{
		description: "A `listen` section: a frontend and its backend in one.",
		attrs:       merge(haproxyBackendAttributes(), map[string]attrSpec{"maxconn": maxconnAttr("the section")}),
		blocks:      merge(haproxyBackendBlocks(), map[string]blockSpec{"bind": haproxyBindBlock()}),
	}
}

// haproxyTimeoutsModel holds the timeout_* attributes of a section.
type haproxyTimeoutsModel struct {
	TimeoutConnect       types.Int64 `tfsdk:"timeout_connect"`
	TimeoutClient        types.Int64 `tfsdk:"timeout_client"`
	TimeoutServer        types.Int64 `tfsdk:"timeout_server"`
	TimeoutQueue         types.Int64 `tfsdk:"timeout_queue"`
	TimeoutHTTPRequest   types.Int64 `tfsdk:"timeout_http_request"`
	TimeoutHTTPKeepAlive types.Int64 `tfsdk:"timeout_http_keep_alive"`
	TimeoutCheck         types.Int64 `tfsdk:"timeout_check"`
	TimeoutTunnel        types.Int64 `tfsdk:"timeout_tunnel"`
	TimeoutClientFin     types.Int64 `tfsdk:"timeout_client_fin"`
	TimeoutServerFin     types.Int64 `tfsdk:"timeout_server_fin"`
}

type haproxyGlobalModel struct {
	Maxconn     types.Int64       `tfsdk:"maxconn"`
	Nbthread    types.Int64       `tfsdk:"nbthread"`
	User        types.String      `tfsdk:"user"`
	Group       types.String      `tfsdk:"group"`
	UID         types.Int64       `tfsdk:"uid"`
	GID         types.Int64       `tfsdk:"gid"`
	Chroot      types.String      `tfsdk:"chroot"`
	StatsSocket types.String      `tfsdk:"stats_socket"`
	Logs        []haproxyLogModel `tfsdk:"log"`
	Options     []types.String    `tfsdk:"options"`
}

type haproxyLogModel struct {
	Address  types.String `tfsdk:"address"`
	Facility types.String `tfsdk:"facility"`
	Level    types.String `tfsdk:"level"`
}

type haproxyDefaultsModel struct {
	Mode       types.String   `tfsdk:"mode"`
	Maxconn    types.Int64    `tfsdk:"maxconn"`
	Retries    types.Int64    `tfsdk:"retries"`
	Redispatch types.Bool     `tfsdk:"redispatch"`
	Balance    types.String   `tfsdk:"balance"`
	BalanceArg types.String   `tfsdk:"balance_arg"`
	LogGlobal  types.Bool     `tfsdk:"log_global"`
	Options    []types.String `tfsdk:"options"`
	haproxyTimeoutsModel
}

type haproxyResolversModel struct {
	Name                types.String   `tfsdk:"name"`
	Nameservers         []types.String `tfsdk:"nameservers"`
	ParseResolvConf     types.Bool     `tfsdk:"parse_resolv_conf"`
	ResolveRetries      types.Int64    `tfsdk:"resolve_retries"`
	TimeoutResolve      types.Int64    `tfsdk:"timeout_resolve"`
	TimeoutRetry        types.Int64    `tfsdk:"timeout_retry"`
	HoldValid           types.Int64    `tfsdk:"hold_valid"`
	AcceptedPayloadSize types.Int64    `tfsdk:"accepted_payload_size"`
}

// resolversOf maps resolvers blocks into the model; a nameserver that is
// not IP:PORT becomes the zero value, which the model refuses at its path.
func resolversOf(rs []haproxyResolversModel) []model.HAProxyResolvers {
	var out []model.HAProxyResolvers
	for _, r := range rs {
		m := model.HAProxyResolvers{
			Name:                r.Name.ValueString(),
			ParseResolvConf:     r.ParseResolvConf.ValueBool(),
			ResolveRetries:      intOf(r.ResolveRetries),
			TimeoutResolve:      intOf(r.TimeoutResolve),
			TimeoutRetry:        intOf(r.TimeoutRetry),
			HoldValid:           intOf(r.HoldValid),
			AcceptedPayloadSize: intOf(r.AcceptedPayloadSize),
		}
		for _, ns := range r.Nameservers {
			ap, _ := netip.ParseAddrPort(ns.ValueString())
			m.Nameservers = append(m.Nameservers, ap)
		}
		out = append(out, m)
	}
	return out
}

// serverAddressOf splits a server's address attribute into the model's IP
// address or host name: what parses as an IP address is one, anything
// else is a host name (which the model checks as such).
func serverAddressOf(v types.String) (netip.Addr, string) {
	s := v.ValueString()
	if a, err := netip.ParseAddr(s); err == nil {
		return a, ""
	}
	return netip.Addr{}, s
}

type haproxyBindModel struct {
	Address     iptypes.IPAddress `tfsdk:"address"`
	Port        types.Int64       `tfsdk:"port"`
	Certificate types.String      `tfsdk:"certificate"`
	Options     types.String      `tfsdk:"options"`
}

// haproxyFrontendModel is the Terraform value of the frontend shape.
type haproxyFrontendModel struct {
	Name           types.String             `tfsdk:"name"`
	Mode           types.String             `tfsdk:"mode"`
	Maxconn        types.Int64              `tfsdk:"maxconn"`
	DefaultBackend types.String             `tfsdk:"default_backend"`
	Options        []types.String           `tfsdk:"options"`
	Binds          []haproxyBindModel       `tfsdk:"bind"`
	ACLs           []haproxyACLModel        `tfsdk:"acl"`
	UseBackends    []haproxyUseBackendModel `tfsdk:"use_backend"`
	haproxyTimeoutsModel
}

type haproxyACLModel struct {
	Name      types.String `tfsdk:"name"`
	Criterion types.String `tfsdk:"criterion"`
}

type haproxyUseBackendModel struct {
	Backend   types.String `tfsdk:"backend"`
	Cond      types.String `tfsdk:"cond"`
	Condition types.String `tfsdk:"condition"`
}

// haproxyBackendModel is the Terraform value of the backend shape.
type haproxyBackendModel struct {
	Name       types.String           `tfsdk:"name"`
	Mode       types.String           `tfsdk:"mode"`
	Balance    types.String           `tfsdk:"balance"`
	BalanceArg types.String           `tfsdk:"balance_arg"`
	Options    []types.String         `tfsdk:"options"`
	Servers    []haproxyServerModel   `tfsdk:"server"`
	HTTPCheck  *haproxyHTTPCheckModel `tfsdk:"http_check"`
	haproxyTimeoutsModel
}

type haproxyServerModel struct {
	Name types.String `tfsdk:"name"`
	// Address is an IP address or a host name (serverAddressOf).
	Address       types.String   `tfsdk:"address"`
	Resolvers     types.String   `tfsdk:"resolvers"`
	ResolvePrefer types.String   `tfsdk:"resolve_prefer"`
	InitAddr      []types.String `tfsdk:"init_addr"`
	Port          types.Int64    `tfsdk:"port"`
	Weight        types.Int64    `tfsdk:"weight"`
	Check         types.Bool     `tfsdk:"check"`
	// CheckPort ... Maxqueue are the server keywords of their names.
	CheckPort   types.Int64       `tfsdk:"check_port"`
	CheckAddr   iptypes.IPAddress `tfsdk:"check_addr"`
	SendProxy   types.Bool        `tfsdk:"send_proxy"`
	SendProxyV2 types.Bool        `tfsdk:"send_proxy_v2"`
	Slowstart   types.Int64       `tfsdk:"slowstart"`
	Maxqueue    types.Int64       `tfsdk:"maxqueue"`
	Inter       types.Int64       `tfsdk:"inter"`
	Fall        types.Int64       `tfsdk:"fall"`
	Rise        types.Int64       `tfsdk:"rise"`
	Backup      types.Bool        `tfsdk:"backup"`
	Maxconn     types.Int64       `tfsdk:"maxconn"`
	SSL         types.Bool        `tfsdk:"ssl"`
	CheckSSL    types.Bool        `tfsdk:"check_ssl"`
	Verify      types.String      `tfsdk:"verify"`
	CAFile      types.String      `tfsdk:"ca_file"`
	SNI         types.String      `tfsdk:"sni"`
	VerifyHost  types.String      `tfsdk:"verifyhost"`
	AgentCheck  types.Bool        `tfsdk:"agent_check"`
	AgentPort   types.Int64       `tfsdk:"agent_port"`
	AgentInter  types.Int64       `tfsdk:"agent_inter"`
	Options     types.String      `tfsdk:"options"`
}

type haproxyHTTPCheckModel struct {
	Method       types.String `tfsdk:"method"`
	Path         types.String `tfsdk:"path"`
	Host         types.String `tfsdk:"host"`
	ExpectStatus types.String `tfsdk:"expect_status"`
}

// haproxyListenModel is the Terraform value of a listen section.
type haproxyListenModel struct {
	haproxyBackendModel
	Binds   []haproxyBindModel `tfsdk:"bind"`
	Maxconn types.Int64        `tfsdk:"maxconn"`
}

func (m *haproxyTimeoutsModel) toModel() model.HAProxyTimeouts {
	return model.HAProxyTimeouts{
		Connect:       intOf(m.TimeoutConnect),
		Client:        intOf(m.TimeoutClient),
		Server:        intOf(m.TimeoutServer),
		Queue:         intOf(m.TimeoutQueue),
		HTTPRequest:   intOf(m.TimeoutHTTPRequest),
		HTTPKeepAlive: intOf(m.TimeoutHTTPKeepAlive),
		Check:         intOf(m.TimeoutCheck),
		Tunnel:        intOf(m.TimeoutTunnel),
		ClientFin:     intOf(m.TimeoutClientFin),
		ServerFin:     intOf(m.TimeoutServerFin),
	}
}

// toModel maps the global section; an absent block is the zero section.
func (m *haproxyGlobalModel) toModel() model.HAProxyGlobal {
	if m == nil {
		return model.HAProxyGlobal{}
	}
	g := model.HAProxyGlobal{
		Maxconn:     intOf(m.Maxconn),
		Nbthread:    intOf(m.Nbthread),
		User:        m.User.ValueString(),
		Group:       m.Group.ValueString(),
		UID:         intOf(m.UID),
		GID:         intOf(m.GID),
		Chroot:      m.Chroot.ValueString(),
		StatsSocket: m.StatsSocket.ValueString(),
		Options:     stringsOf(m.Options),
	}
	for _, l := range m.Logs {
		g.Logs = append(g.Logs, model.HAProxyLog{
			Address: l.Address.ValueString(), Facility: l.Facility.ValueString(), Level: l.Level.ValueString(),
		})
	}
	return g
}

// toModel maps the defaults section; an absent block is the zero section.
func (m *haproxyDefaultsModel) toModel() model.HAProxyDefaults {
	if m == nil {
		return model.HAProxyDefaults{}
	}
	return model.HAProxyDefaults{
		Mode:       m.Mode.ValueString(),
		Maxconn:    intOf(m.Maxconn),
		Retries:    intOf(m.Retries),
		Timeouts:   m.haproxyTimeoutsModel.toModel(),
		Redispatch: m.Redispatch.ValueBool(),
		Balance:    m.Balance.ValueString(),
		BalanceArg: m.BalanceArg.ValueString(),
		LogGlobal:  m.LogGlobal.ValueBool(),
		Options:    stringsOf(m.Options),
	}
}

func bindsOf(bs []haproxyBindModel) []model.HAProxyBind {
	var out []model.HAProxyBind
	for _, b := range bs {
		out = append(out, model.HAProxyBind{Address: addrOf(b.Address), Port: intOf(b.Port),
			Certificate: b.Certificate.ValueString(), Options: b.Options.ValueString()})
	}
	return out
}

// toModel maps the frontend shape into the model.
func (m *haproxyFrontendModel) toModel() model.HAProxyFrontend {
	f := model.HAProxyFrontend{
		Name:           m.Name.ValueString(),
		Binds:          bindsOf(m.Binds),
		Mode:           m.Mode.ValueString(),
		Maxconn:        intOf(m.Maxconn),
		DefaultBackend: m.DefaultBackend.ValueString(),
		Timeouts:       m.haproxyTimeoutsModel.toModel(),
		Options:        stringsOf(m.Options),
	}
	for _, a := range m.ACLs {
		f.ACLs = append(f.ACLs, model.HAProxyACL{Name: a.Name.ValueString(), Criterion: a.Criterion.ValueString()})
	}
	for _, u := range m.UseBackends {
		f.UseBackends = append(f.UseBackends, model.HAProxyUseBackend{
			Backend: u.Backend.ValueString(), Cond: u.Cond.ValueString(), Condition: u.Condition.ValueString(),
		})
	}
	return f
}

// toModel maps the backend shape into the model.
func (m *haproxyBackendModel) toModel() model.HAProxyBackend {
	b := model.HAProxyBackend{
		Name:       m.Name.ValueString(),
		Mode:       m.Mode.ValueString(),
		Balance:    m.Balance.ValueString(),
		BalanceArg: m.BalanceArg.ValueString(),
		Timeouts:   m.haproxyTimeoutsModel.toModel(),
		Options:    stringsOf(m.Options),
	}
	for _, s := range m.Servers {
		addr, host := serverAddressOf(s.Address)
		b.Servers = append(b.Servers, model.HAProxyServer{
			Name:          s.Name.ValueString(),
			Address:       addr,
			Hostname:      host,
			Resolvers:     s.Resolvers.ValueString(),
			ResolvePrefer: s.ResolvePrefer.ValueString(),
			InitAddr:      stringsOf(s.InitAddr),
			Port:          intOf(s.Port),
			Weight:        optInt(s.Weight),
			Check:         s.Check.ValueBool(),
			CheckPort:     intOf(s.CheckPort),
			CheckAddr:     addrOf(s.CheckAddr),
			SendProxy:     s.SendProxy.ValueBool(),
			SendProxyV2:   s.SendProxyV2.ValueBool(),
			Slowstart:     intOf(s.Slowstart),
			Maxqueue:      intOf(s.Maxqueue),
			Inter:         intOf(s.Inter),
			Fall:          intOf(s.Fall),
			Rise:          intOf(s.Rise),
			Backup:        s.Backup.ValueBool(),
			Maxconn:       intOf(s.Maxconn),
			SSL:           s.SSL.ValueBool(),
			CheckSSL:      s.CheckSSL.ValueBool(),
			Verify:        s.Verify.ValueString(),
			CAFile:        s.CAFile.ValueString(),
			SNI:           s.SNI.ValueString(),
			VerifyHost:    s.VerifyHost.ValueString(),
			AgentCheck:    s.AgentCheck.ValueBool(),
			AgentPort:     intOf(s.AgentPort),
			AgentInter:    intOf(s.AgentInter),
			Options:       s.Options.ValueString(),
		})
	}
	if h := m.HTTPCheck; h != nil {
		b.HTTPCheck = &model.HAProxyHTTPCheck{
			Method:       h.Method.ValueString(),
			Path:         h.Path.ValueString(),
			Host:         h.Host.ValueString(),
			ExpectStatus: h.ExpectStatus.ValueString(),
		}
	}
	return b
}

// toModel maps a listen section into the model.
func (m *haproxyListenModel) toModel() model.HAProxyListen {
	return model.HAProxyListen{
		HAProxyBackend: m.haproxyBackendModel.toModel(),
		Binds:          bindsOf(m.Binds),
		Maxconn:        intOf(m.Maxconn),
	}
}
