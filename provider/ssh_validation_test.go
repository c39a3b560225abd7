package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/crypto/ssh"
)

// The table below sends configurations through the provider's protocol
// server, as terraform validate and plan do (ValidateResourceConfig,
// ValidateDataResourceConfig, ValidateProviderConfig), with no host and
// no terraform binary. Each bad SSH input must be refused with an error on
// its exact attribute; each good one must pass. TestSSHValidation_terraform
// runs a few of them through the real terraform.

// tfPath builds a protocol attribute path: string steps are attribute
// names, int steps list indexes, tftypes.Value steps set elements.
func tfPath(steps ...any) *tftypes.AttributePath {
	p := tftypes.NewAttributePath()
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			p = p.WithAttributeName(s)
		case int:
			p = p.WithElementKeyInt(s)
		case tftypes.Value:
			p = p.WithElementKeyValue(s)
		}
	}
	return p
}

// object is a value of typ with the given attributes and every other one
// null; a value given as map[string]any is an object of the attribute's
// type built the same way, []map[string]any a list of such objects, and
// []string a list or set of strings.
func object(t *testing.T, typ tftypes.Object, set map[string]any) tftypes.Value {
	t.Helper()
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		v, ok := set[name]
		if !ok {
			vals[name] = tftypes.NewValue(at, nil)
			continue
		}
		switch v := v.(type) {
		case tftypes.Value:
			vals[name] = v
		case map[string]any:
			vals[name] = object(t, at.(tftypes.Object), v)
		case []map[string]any:
			et := at.(tftypes.List).ElementType.(tftypes.Object)
			var elems []tftypes.Value
			for _, o := range v {
				elems = append(elems, object(t, et, o))
			}
			vals[name] = tftypes.NewValue(at, elems)
		case []string:
			var elems []tftypes.Value
			for _, s := range v {
				elems = append(elems, tftypes.NewValue(tftypes.String, s))
			}
			vals[name] = tftypes.NewValue(at, elems)
		case string:
			vals[name] = tftypes.NewValue(tftypes.String, v)
		case float64:
			vals[name] = tftypes.NewValue(tftypes.Number, v)
		case int:
			vals[name] = tftypes.NewValue(tftypes.Number, v)
		default:
			t.Fatalf("attribute %s: cannot build %T", name, v)
		}
	}
	for name := range set {
		if _, ok := typ.AttributeTypes[name]; !ok {
			t.Fatalf("no attribute %s in %s", name, typ)
		}
	}
	return tftypes.NewValue(typ, vals)
}

// validationTarget is what a case validates: the provider block, a
// resource or a data source.
type validationTarget struct {
	provider   bool
	resource   string // type name, e.g. lvs_director
	dataSource string
}

// validate runs the protocol validation of config on target and returns
// its diagnostics.
func validate(t *testing.T, target validationTarget, config map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	p := New("test")()
	server, err := providerserver.NewProtocol6WithError(p)()
	if err != nil {
		t.Fatal(err)
	}
	var typ tftypes.Type
	switch {
	case target.provider:
		var r provider.SchemaResponse
		p.Schema(ctx, provider.SchemaRequest{}, &r)
		typ = r.Schema.Type().TerraformType(ctx)
	case target.resource != "":
		for _, f := range p.Resources(ctx) {
			res := f()
			var m resource.MetadataResponse
			res.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "lvs"}, &m)
			if m.TypeName == target.resource {
				var r resource.SchemaResponse
				res.Schema(ctx, resource.SchemaRequest{}, &r)
				typ = r.Schema.Type().TerraformType(ctx)
			}
		}
	default:
		for _, f := range p.DataSources(ctx) {
			ds := f()
			var m datasource.MetadataResponse
			ds.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "lvs"}, &m)
			if m.TypeName == target.dataSource {
				var r datasource.SchemaResponse
				ds.Schema(ctx, datasource.SchemaRequest{}, &r)
				typ = r.Schema.Type().TerraformType(ctx)
			}
		}
	}
	if typ == nil {
		t.Fatalf("no schema for %+v", target)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, object(t, typ.(tftypes.Object), config))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case target.provider:
		resp, err := server.ValidateProviderConfig(ctx, &tfprotov6.ValidateProviderConfigRequest{Config: &dv})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Diagnostics
	case target.resource != "":
		resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: target.resource, Config: &dv})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Diagnostics
	}
	resp, err := server.ValidateDataResourceConfig(ctx, &tfprotov6.ValidateDataResourceConfigRequest{TypeName: target.dataSource, Config: &dv})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

// testKeys returns a plain and an encrypted Ed25519 private key in PEM
// form, and the passphrase of the second.
func testKeys(t *testing.T) (plain, encrypted, passphrase string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	passphrase = "correct horse battery"
	e, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(b)), string(pem.EncodeToMemory(e)), passphrase
}

// testHostKey is a public host key in authorized_keys form.
func testHostKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestSSHValidation(t *testing.T) {
	t.Setenv(envPassphrase, "")
	plainKey, encKey, passphrase := testKeys(t)
	hostKey := testHostKey(t)
	garbageKey := "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END OPENSSH PRIVATE KEY-----\n"
	director := validationTarget{resource: "lvs_director"}
	ssh := func(attrs map[string]any) map[string]any {
		if _, ok := attrs["host"]; !ok {
			attrs["host"] = "dir1"
		}
		return map[string]any{"interface": "eth0", "ssh": attrs}
	}
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

	cases := []struct {
		name   string
		target validationTarget
		config map[string]any
		at     *tftypes.AttributePath // nil: the config must pass
		want   string                 // in the error's detail
		secret string                 // must not be in any diagnostic
	}{
		// ssh.host of a resource
		{"empty host", director, ssh(map[string]any{"host": ""}), tfPath("ssh", "host"), "host is empty", ""},
		{"host with newline", director, ssh(map[string]any{"host": "dir1\nevil"}), tfPath("ssh", "host"), "control character", ""},
		{"host with space", director, ssh(map[string]any{"host": "dir 1"}), tfPath("ssh", "host"), "blank", ""},
		{"user@host", director, ssh(map[string]any{"host": "root@dir1"}), tfPath("ssh", "host"), "set the login user in `user`", ""},
		{"leading dash", director, ssh(map[string]any{"host": "-oProxyCommand=sh"}), tfPath("ssh", "host"), "starts with `-`", ""},
		{"host:port", director, ssh(map[string]any{"host": "dir1:22"}), tfPath("ssh", "host"), "set the port in `port`", ""},
		{"IPv6 in brackets", director, ssh(map[string]any{"host": "[fe80::1]"}), nil, "", ""},
		{"bare IPv6", director, ssh(map[string]any{"host": "2001:db8::1"}), nil, "", ""},
		{"IPv6 with zone", director, ssh(map[string]any{"host": "fe80::1%eth0"}), nil, "", ""},
		{"host name", director, ssh(map[string]any{"host": "dir1.example.com"}), nil, "", ""},
		// the other settings of a resource's ssh block
		{"bad user", director, ssh(map[string]any{"user": "ops\n"}), tfPath("ssh", "user"), "control character", ""},
		{"garbage host_key", director, ssh(map[string]any{"host_key": "ssh-ed25519 notakey"}), tfPath("ssh", "host_key"), "line 1 is not a public key", ""},
		{"host_key with a bad second line", director, ssh(map[string]any{"host_key": hostKey + "\ngarbage"}), tfPath("ssh", "host_key"), "line 2", ""},
		{"good host_key", director, ssh(map[string]any{"host_key": "# dir1\n" + hostKey}), nil, "", ""},
		{"garbage private_key", director, ssh(map[string]any{"private_key": garbageKey}), tfPath("ssh", "private_key"), "not a private key in PEM form", "c2VjcmV0LWJ5dGVz"},
		{"good private_key", director, ssh(map[string]any{"private_key": plainKey}), nil, "", ""},
		{"encrypted key, passphrase beside it", director, ssh(map[string]any{"private_key": encKey, "private_key_passphrase": passphrase}), nil, "", ""},
		{"encrypted key, wrong passphrase", director, ssh(map[string]any{"private_key": encKey, "private_key_passphrase": "nope-nope"}),
			tfPath("ssh", "private_key_passphrase"), "does not decrypt", "nope-nope"},
		// In a resource the passphrase may be the provider's: checked at apply.
		{"encrypted key in a resource, no passphrase", director, ssh(map[string]any{"private_key": encKey}), nil, "", ""},
		{"empty known_hosts file", director, ssh(map[string]any{"known_hosts_files": []string{"/ok", ""}}), tfPath("ssh", "known_hosts_files", 1), "is empty", ""},
		{"empty private_key_path", director, ssh(map[string]any{"private_key_path": ""}), tfPath("ssh", "private_key_path"), "is empty", ""},
		{"bad connect_timeout", director, ssh(map[string]any{"connect_timeout": "soon"}), tfPath("ssh", "connect_timeout"), `Attribute ssh.connect_timeout: "soon" is not a positive duration`, ""},
		{"negative command_timeout", director, ssh(map[string]any{"command_timeout": "-1s"}), tfPath("ssh", "command_timeout"), "not a positive duration", ""},
		{"fractional port", director, ssh(map[string]any{"port": 22.5}), tfPath("ssh", "port"), "must be a whole number", ""},
		// a fraction in any integer attribute is an error at the attribute
		{"fractional virtual_router_id", director, map[string]any{"interface": "eth0", "ssh": map[string]any{"host": "dir1"},
			"vrrp_instance": []map[string]any{{"name": "VI_1", "virtual_router_id": 51.5, "priority": 100}}},
			tfPath("vrrp_instance", 0, "virtual_router_id"), "must be a whole number, such as 1 or 30; got 51.5", ""},
		{"fractional weight", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "weight": 2.25},
			tfPath("weight"), "got 2.25", ""},
		{"weight beyond int64", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "weight": 1e20},
			tfPath("weight"), "must be a whole number from -9223372036854775808 to 9223372036854775807; got 1e+20", ""},
		{"fractional settle_seconds", validationTarget{dataSource: "lvs_vrrp_masters"},
			map[string]any{"hosts": []string{"dir1"}, "settle_seconds": 0.5}, tfPath("settle_seconds"), "must be a whole number", ""},
		// other values that are parsed name their attribute in the detail too
		{"bad drain_timeout", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "drain_timeout": "soon"},
			tfPath("drain_timeout"), `Attribute drain_timeout: "soon" is not a positive duration`, ""},
		{"bad virtual_server_id", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "garbage", "address": "192.0.2.10"},
			tfPath("virtual_server_id"), "Attribute virtual_server_id: not the id of an lvs_virtual_server", ""},
		{"bad director names the entry", validationTarget{resource: "lvs_virtual_server"},
			map[string]any{"address": "10.0.0.10", "port": 80, "directors": []string{"a b"}},
			tfPath("directors", str("a b")), `Attribute directors[Value("a b")]: director "a b" is not a host name or address`, ""},
		// every resource and data source carries the same rules
		{"lvs_haproxy", validationTarget{resource: "lvs_haproxy"}, map[string]any{"ssh": map[string]any{"host": "-x"}},
			tfPath("ssh", "host"), "starts with `-`", ""},
		{"lvs_haproxy_frontend", validationTarget{resource: "lvs_haproxy_frontend"},
			map[string]any{"name": "web", "bind": []map[string]any{{"port": 80}}, "ssh": map[string]any{"host": "lb1", "host_key": "garbage"}}, tfPath("ssh", "host_key"), "not a public key", ""},
		{"lvs_virtual_server ssh overrides", validationTarget{resource: "lvs_virtual_server"},
			map[string]any{"address": "10.0.0.10", "port": 80, "directors": []string{"dir1"}, "ssh": map[string]any{"known_hosts_files": []string{""}}},
			tfPath("ssh", "known_hosts_files", 0), "is empty", ""},
		{"lvs_virtual_server bad director", validationTarget{resource: "lvs_virtual_server"},
			map[string]any{"address": "10.0.0.10", "port": 80, "directors": []string{"dir1", "root@-evil"}}, tfPath("directors", str("root@-evil")), "starts with `-`", ""},
		{"lvs_virtual_server director with newline", validationTarget{resource: "lvs_virtual_server"},
			map[string]any{"address": "10.0.0.10", "port": 80, "directors": []string{"dir1\n:22"}}, tfPath("directors", str("dir1\n:22")), "control character", ""},
		{"lvs_virtual_server IPv6 directors", validationTarget{resource: "lvs_virtual_server"},
			map[string]any{"address": "10.0.0.10", "port": 80, "directors": []string{"root@[2001:db8::1]:2222", "2001:db8::2", "ops@dir1:22"}}, nil, "", ""},
		{"lvs_real_server host", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "host": map[string]any{"host": "web 1"}}, tfPath("host", "host"), "blank", ""},
		{"lvs_real_server empty host, reported once", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "host": map[string]any{"host": ""}},
			tfPath("host", "host"), "required when the host block is present", ""},
		{"empty agent_socket is $SSH_AUTH_SOCK", director, ssh(map[string]any{"agent_socket": ""}), nil, "", ""},
		{"lvs_real_server host's key", validationTarget{resource: "lvs_real_server"},
			map[string]any{"virtual_server_id": "tcp/10.0.0.10:80@dir1", "address": "192.0.2.10", "host": map[string]any{"host": "web1", "private_key": garbageKey}}, tfPath("host", "private_key"), "not a private key", "c2VjcmV0LWJ5dGVz"},
		{"lvs_director_status", validationTarget{dataSource: "lvs_director_status"},
			map[string]any{"ssh": map[string]any{"host": "dir1@x"}}, tfPath("ssh", "host"), "contains `@`", ""},
		{"lvs_vrrp_masters", validationTarget{dataSource: "lvs_vrrp_masters"},
			map[string]any{"hosts": []string{"ops@dir1:22", "ops@-dir2"}}, tfPath("hosts", 1), "starts with `-`", ""},
		{"lvs_vrrp_masters IPv6", validationTarget{dataSource: "lvs_vrrp_masters"},
			map[string]any{"hosts": []string{"ops@[2001:db8::1]:22", "2001:db8::2"}}, nil, "", ""},
		// the provider block and its bastion
		{"provider host_key", validationTarget{provider: true}, map[string]any{"host_key": "garbage"}, tfPath("host_key"), "not a public key", ""},
		{"provider known_hosts_files", validationTarget{provider: true}, map[string]any{"known_hosts_files": []string{""}}, tfPath("known_hosts_files", 0), "is empty", ""},
		{"provider private_key", validationTarget{provider: true}, map[string]any{"private_key": garbageKey}, tfPath("private_key"), "not a private key", "c2VjcmV0LWJ5dGVz"},
		{"provider encrypted key without passphrase", validationTarget{provider: true}, map[string]any{"private_key": encKey},
			tfPath("private_key"), "encrypted and no passphrase", ""},
		{"provider encrypted key with passphrase", validationTarget{provider: true}, map[string]any{"private_key": encKey, "private_key_passphrase": passphrase}, nil, "", ""},
		{"provider max_sessions fraction", validationTarget{provider: true}, map[string]any{"max_sessions": 1.5}, tfPath("max_sessions"), "must be a whole number", ""},
		{"bastion host", validationTarget{provider: true}, map[string]any{"bastion": map[string]any{"host": "jump host"}}, tfPath("bastion", "host"), "blank", ""},
		{"bastion key", validationTarget{provider: true}, map[string]any{"bastion": map[string]any{"host": "jump", "private_key": "hunter2"}},
			tfPath("bastion", "private_key"), "not a private key", "hunter2"},
		{"bastion key, provider's passphrase", validationTarget{provider: true},
			map[string]any{"private_key_passphrase": passphrase, "bastion": map[string]any{"host": "jump", "private_key": encKey}}, nil, "", ""},
		{"bastion IPv6", validationTarget{provider: true}, map[string]any{"bastion": map[string]any{"host": "[2001:db8::1]"}}, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diags := validate(t, c.target, c.config)
			var errs []*tfprotov6.Diagnostic
			for _, d := range diags {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					errs = append(errs, d)
				}
				for _, s := range []string{c.secret, passphrase, plainKey, encKey} {
					if s != "" && (strings.Contains(d.Detail, s) || strings.Contains(d.Summary, s)) {
						t.Errorf("a diagnostic quotes a secret: %s: %s", d.Summary, d.Detail)
					}
				}
			}
			if c.at == nil {
				if len(errs) > 0 {
					t.Fatalf("refused: %s", describe(errs))
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one error at %s, got %d: %s", c.at, len(errs), describe(errs))
			}
			d := errs[0]
			if d.Attribute == nil || !d.Attribute.Equal(c.at) {
				t.Errorf("error at %v, want %s: %s", d.Attribute, c.at, describe(errs))
			}
			if !strings.Contains(d.Detail, c.want) {
				t.Errorf("detail lacks %q: %s", c.want, d.Detail)
			}
			if strings.Contains(d.Detail, "always an error in the provider") || strings.Contains(d.Detail, "%!") {
				t.Errorf("a configuration mistake reads as a provider bug: %s", d.Detail)
			}
		})
	}
}

func describe(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n  [%v] %s: %s", d.Attribute, d.Summary, d.Detail)
	}
	return b.String()
}

// TestSSHValidation_terraform runs terraform plan: a bad SSH setting and a
// fractional number are refused at plan, on their attribute, with no
// "error in the provider" wording, before any host is reached (192.0.2.0/24
// is TEST-NET: nothing answers there).
func TestSSHValidation_terraform(t *testing.T) {
	head := `
resource "lvs_director" "d" {
  interface = "eth0"
  ssh {
    %s
  }
}`
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config:      fmt.Sprintf(head, `host = "192.0.2.1\n"`),
			PlanOnly:    true,
			ExpectError: phrase("Attribute ssh.host: host \"192.0.2.1\\n\" contains a blank or a control character"),
		}, {
			Config:      fmt.Sprintf(head, `host = "192.0.2.1"`+"\n    port = 22.5"),
			PlanOnly:    true,
			ExpectError: phrase("Attribute ssh.port must be a whole number, such as 1 or 30; got 22.5."),
		}, {
			Config:      fmt.Sprintf(head, `host = "192.0.2.1"`+"\n    known_hosts_files = [\"\"]"),
			PlanOnly:    true,
			ExpectError: phrase("Attribute ssh.known_hosts_files[0]: is empty"),
		}},
	})
}
