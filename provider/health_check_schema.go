package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The health checkers of a real server beyond tcp_check, http_get, ssl_get
// and misc_check (real_server_schema.go): smtp_check, ping_check,
// udp_check, dns_check and file_check. Every real server shape (the
// lvs_real_server resource, real_server blocks of the data source and of
// lvs_virtual_server) takes them through these functions: the blocks, the
// Terraform values (healthChecksModel, embedded in the shape's model), and
// the mapping both ways.

// healthCheckBlocks are the blocks of the checkers named above.
func healthCheckBlocks() map[string]blockSpec {
	noPort := checkCommonAttributes()
	delete(noPort, "connect_port")
	return map[string]blockSpec{
		"smtp_check": {
			single: true,
			description: "Health check by SMTP (keepalived `SMTP_CHECK`): the server must greet, and answer `HELO` " +
				"and `QUIT` with SMTP's success codes.",
			attrs: merge(checkCommonAttributes(), map[string]attrSpec{
				"helo_name": stringAttr("Name sent with `HELO`. Defaults to the director's host name."),
			}),
			blocks: map[string]blockSpec{
				"host": {
					description: "A further address checked the same way (keepalived's `host` block); with " +
						"hosts, only they are checked, so list the real server's own address too if it counts. " +
						"The server is up while every host is.",
					attrs: map[string]attrSpec{
						"connect_ip":   ipAttr("Address to check. Defaults to the real server's."),
						"connect_port": portAttr("Port to check. Defaults to the real server's.", 0),
						"bindto":       ipAttr("Source address of the check."),
					},
				},
			},
		},
		"ping_check": {
			single:      true,
			description: "Health check by ICMP echo (keepalived `PING_CHECK`): the server must answer a ping.",
			attrs:       noPort,
		},
		"udp_check": {
			single: true,
			description: "Health check by UDP (keepalived `UDP_CHECK`): a datagram is sent, and an ICMP error " +
				"(port or host unreachable) takes the server down; with `require_reply`, so does no reply.",
			attrs: merge(checkCommonAttributes(), map[string]attrSpec{
				"payload": stringAttr("Data to send, in hex digits (groups separated by single spaces). " +
					"Defaults to random data."),
				"require_reply": boolAttr("A reply must come back."),
				"reply_pattern": stringAttr("Hex digits the reply must start with; `x` matches any digit. " +
					"Needs `require_reply`."),
				"min_reply_length": rangeAttr("Shortest reply, in bytes. Needs `require_reply`.", 0, 65535),
				"max_reply_length": rangeAttr("Longest reply, in bytes (keepalived's default: 255). "+
					"Needs `require_reply`.", 0, 65535),
			}),
		},
		"dns_check": {
			single:      true,
			description: "Health check by DNS over UDP (keepalived `DNS_CHECK`): a query must be answered.",
			attrs: merge(checkCommonAttributes(), map[string]attrSpec{
				"type": enumAttr("Query type.", model.DNSCheckTypes, "SOA"),
				"name": stringAttr("Name queried. Defaults to `.`."),
			}),
		},
		"file_check": {
			single: true,
			description: "Health check by a file's content (keepalived `FILE_CHECK` with its `track_file`): " +
				"keepalived reads a number from the file whenever it changes. With `weight = 0`, a non-zero " +
				"number takes the server down; otherwise the number times `weight` is added to the server's " +
				"IPVS weight (so that weight is status, never drift).",
			attrs: map[string]attrSpec{
				"file": stringAttr("Absolute path of the file.").mandatory(),
				"weight": rangeAttr("Multiplier of the number read. Defaults to `1`.",
					-65535, 65535),
				"reverse": boolAttr("Negate the product."),
			},
		},
	}
}

// healthChecksModel holds the checkers of healthCheckBlocks.
type healthChecksModel struct {
	SMTPCheck *smtpCheckModel `tfsdk:"smtp_check"`
	PingCheck *pingCheckModel `tfsdk:"ping_check"`
	UDPCheck  *udpCheckModel  `tfsdk:"udp_check"`
	DNSCheck  *dnsCheckModel  `tfsdk:"dns_check"`
	FileCheck *fileCheckModel `tfsdk:"file_check"`
}

type smtpCheckModel struct {
	checkCommonModel
	HeloName types.String    `tfsdk:"helo_name"`
	Hosts    []smtpHostModel `tfsdk:"host"`
}

type smtpHostModel struct {
	ConnectIP   iptypes.IPAddress `tfsdk:"connect_ip"`
	ConnectPort types.Int64       `tfsdk:"connect_port"`
	BindTo      iptypes.IPAddress `tfsdk:"bindto"`
}

type pingCheckModel struct {
	ConnectIP        iptypes.IPAddress `tfsdk:"connect_ip"`
	BindTo           iptypes.IPAddress `tfsdk:"bindto"`
	ConnectTimeout   types.Int64       `tfsdk:"connect_timeout"`
	Retry            types.Int64       `tfsdk:"retry"`
	DelayBeforeRetry types.Int64       `tfsdk:"delay_before_retry"`
}

type udpCheckModel struct {
	checkCommonModel
	Payload        types.String `tfsdk:"payload"`
	RequireReply   types.Bool   `tfsdk:"require_reply"`
	ReplyPattern   types.String `tfsdk:"reply_pattern"`
	MinReplyLength types.Int64  `tfsdk:"min_reply_length"`
	MaxReplyLength types.Int64  `tfsdk:"max_reply_length"`
}

type dnsCheckModel struct {
	checkCommonModel
	Type types.String `tfsdk:"type"`
	Name types.String `tfsdk:"name"`
}

type fileCheckModel struct {
	File    types.String `tfsdk:"file"`
	Weight  types.Int64  `tfsdk:"weight"`
	Reverse types.Bool   `tfsdk:"reverse"`
}

// apply puts the checkers into rs.
func (m *healthChecksModel) apply(rs *model.RealServer) {
	if c := m.SMTPCheck; c != nil {
		sc := &model.SMTPCheck{CheckCommon: c.checkCommonModel.toModel(), HeloName: c.HeloName.ValueString()}
		for _, h := range c.Hosts {
			sc.Hosts = append(sc.Hosts, model.SMTPHost{ConnectIP: addrOf(h.ConnectIP), ConnectPort: intOf(h.ConnectPort), BindTo: addrOf(h.BindTo)})
		}
		rs.SMTPCheck = sc
	}
	if c := m.PingCheck; c != nil {
		rs.PingCheck = &model.PingCheck{CheckCommon: model.CheckCommon{
			ConnectIP: addrOf(c.ConnectIP), BindTo: addrOf(c.BindTo), ConnectTimeout: intOf(c.ConnectTimeout),
			Retry: intOf(c.Retry), DelayBeforeRetry: intOf(c.DelayBeforeRetry),
		}}
	}
	if c := m.UDPCheck; c != nil {
		rs.UDPCheck = &model.UDPCheck{
			CheckCommon: c.checkCommonModel.toModel(), Payload: c.Payload.ValueString(),
			RequireReply: c.RequireReply.ValueBool(), ReplyPattern: c.ReplyPattern.ValueString(),
			MinReplyLength: intOf(c.MinReplyLength), MaxReplyLength: intOf(c.MaxReplyLength),
		}
	}
	if c := m.DNSCheck; c != nil {
		rs.DNSCheck = &model.DNSCheck{CheckCommon: c.checkCommonModel.toModel(), Type: c.Type.ValueString(), Name: c.Name.ValueString()}
	}
	if c := m.FileCheck; c != nil {
		rs.FileCheck = &model.FileCheck{File: c.File.ValueString(), Weight: optInt(c.Weight), Reverse: c.Reverse.ValueBool()}
	}
}

// healthChecksDiffer reports whether a and b differ in the checkers of
// healthChecksModel.
func healthChecksDiffer(a, b *model.RealServer) bool {
	return !reflect.DeepEqual(a.SMTPCheck, b.SMTPCheck) || !reflect.DeepEqual(a.PingCheck, b.PingCheck) ||
		!reflect.DeepEqual(a.UDPCheck, b.UDPCheck) || !reflect.DeepEqual(a.DNSCheck, b.DNSCheck) ||
		!reflect.DeepEqual(a.FileCheck, b.FileCheck)
}

// healthChecksFromModel maps rs's checkers back to Terraform values (null
// for unset settings).
func healthChecksFromModel(rs *model.RealServer) healthChecksModel {
	var out healthChecksModel
	nullAddr := iptypes.NewIPAddressNull
	common := func(c model.CheckCommon) checkCommonModel {
		return checkCommonModel{
			ConnectIP: keepAddr(nullAddr(), c.ConnectIP), ConnectPort: keepInt(types.Int64Null(), c.ConnectPort),
			BindTo: keepAddr(nullAddr(), c.BindTo), ConnectTimeout: keepInt(types.Int64Null(), c.ConnectTimeout),
			Retry: keepInt(types.Int64Null(), c.Retry), DelayBeforeRetry: keepInt(types.Int64Null(), c.DelayBeforeRetry),
		}
	}
	str := func(v string) types.String { return keepString(types.StringNull(), v, "") }
	if c := rs.SMTPCheck; c != nil {
		sc := &smtpCheckModel{checkCommonModel: common(c.CheckCommon), HeloName: str(c.HeloName)}
		for _, h := range c.Hosts {
			sc.Hosts = append(sc.Hosts, smtpHostModel{ConnectIP: keepAddr(nullAddr(), h.ConnectIP),
				ConnectPort: keepInt(types.Int64Null(), h.ConnectPort), BindTo: keepAddr(nullAddr(), h.BindTo)})
		}
		out.SMTPCheck = sc
	}
	if c := rs.PingCheck; c != nil {
		cc := common(c.CheckCommon)
		out.PingCheck = &pingCheckModel{ConnectIP: cc.ConnectIP, BindTo: cc.BindTo, ConnectTimeout: cc.ConnectTimeout,
			Retry: cc.Retry, DelayBeforeRetry: cc.DelayBeforeRetry}
	}
	if c := rs.UDPCheck; c != nil {
		out.UDPCheck = &udpCheckModel{checkCommonModel: common(c.CheckCommon), Payload: str(c.Payload),
			RequireReply: keepBool(types.BoolNull(), c.RequireReply), ReplyPattern: str(c.ReplyPattern),
			MinReplyLength: keepInt(types.Int64Null(), c.MinReplyLength), MaxReplyLength: keepInt(types.Int64Null(), c.MaxReplyLength)}
	}
	if c := rs.DNSCheck; c != nil {
		out.DNSCheck = &dnsCheckModel{checkCommonModel: common(c.CheckCommon), Type: str(c.Type), Name: str(c.Name)}
	}
	if c := rs.FileCheck; c != nil {
		fc := &fileCheckModel{File: types.StringValue(c.File), Weight: types.Int64Null(), Reverse: keepBool(types.BoolNull(), c.Reverse)}
		if c.Weight != nil {
			fc.Weight = types.Int64Value(int64(*c.Weight))
		}
		out.FileCheck = fc
	}
	return out
}
