package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// configure runs the provider's Configure with the given provider block
// values (unset attributes are null) and returns the client it built.
func configure(t *testing.T, p *lvsProvider, set map[string]tftypes.Value) (*client, *provider.ConfigureResponse) {
	t.Helper()
	ctx := context.Background()
	var sresp provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &sresp)
	if sresp.Diagnostics.HasError() {
		t.Fatalf("schema: %v", sresp.Diagnostics)
	}
	typ := sresp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		if v, ok := set[name]; ok {
			vals[name] = v
		} else {
			vals[name] = tftypes.NewValue(at, nil)
		}
	}
	cfg := tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, vals)}
	resp := &provider.ConfigureResponse{}
	p.Configure(ctx, provider.ConfigureRequest{Config: cfg}, resp)
	c, _ := resp.ResourceData.(*client)
	return c, resp
}

func TestProviderDefaultsAndConnectionOverrides(t *testing.T) {
	t.Setenv(envUser, "envuser")
	t.Setenv(envKnownHosts, "/a/known_hosts:/b/known_hosts")
	t.Setenv(envPrivateKeyPath, "")
	p := New("test")().(*lvsProvider)
	c, resp := configure(t, p, map[string]tftypes.Value{
		"private_key_path": tftypes.NewValue(tftypes.String, "/keys/id"),
		"port":             tftypes.NewValue(tftypes.Number, 2222),
		"connect_timeout":  tftypes.NewValue(tftypes.String, "3s"),
		"max_sessions":     tftypes.NewValue(tftypes.Number, 2),
	})
	if resp.Diagnostics.HasError() || c == nil {
		t.Fatalf("configure: %v", resp.Diagnostics)
	}
	conn := connectionModel{Host: types.StringValue("dir1"), sshModel: nullSSH()}
	cfg, diags := c.hostConfig(conn)
	if diags.HasError() {
		t.Fatalf("hostConfig: %v", diags)
	}
	want := transport.Config{Host: "dir1", Port: 2222, User: "envuser", PrivateKeyPath: "/keys/id",
		KnownHostsFiles: []string{"/a/known_hosts", "/b/known_hosts"}, ConnectTimeout: 3 * time.Second, MaxSessions: 2}
	if cfg.ID() != want.ID() || cfg.PrivateKeyPath != want.PrivateKeyPath || cfg.ConnectTimeout != want.ConnectTimeout ||
		cfg.MaxSessions != 2 || strings.Join(cfg.KnownHostsFiles, ",") != "/a/known_hosts,/b/known_hosts" {
		t.Errorf("defaults: got %+v, want %+v", cfg, want)
	}

	// A resource's connection overrides the defaults it sets, and a key
	// given inline replaces the default key file.
	plainKey, _, _ := testKeys(t)
	conn.User = types.StringValue("ops")
	conn.PrivateKey = types.StringValue(plainKey)
	conn.KnownHostsFiles = types.ListValueMust(types.StringType, []attr.Value{types.StringValue("/c")})
	cfg, diags = c.hostConfig(conn)
	if diags.HasError() {
		t.Fatalf("hostConfig: %v", diags)
	}
	if cfg.User != "ops" || cfg.PrivateKey != plainKey || cfg.PrivateKeyPath != "" || len(cfg.KnownHostsFiles) != 1 {
		t.Errorf("overrides: got %+v", cfg)
	}
	if c.defaults.User != "envuser" || len(c.defaults.KnownHostsFiles) != 2 {
		t.Errorf("an override changed the provider defaults: %+v", c.defaults)
	}

	// Unknown connection values cannot reach a host.
	conn.Port = types.Int64Unknown()
	if _, diags := c.hostConfig(conn); !diags.HasError() || !strings.Contains(diags[0].Detail(), "not known yet") {
		t.Errorf("unknown port: got %v", diags)
	}

	// A second Configure with the same defaults reuses the pool and the
	// agent deployer, with a fresh fleet.
	c2, _ := configure(t, p, map[string]tftypes.Value{
		"private_key_path": tftypes.NewValue(tftypes.String, "/keys/id"),
		"port":             tftypes.NewValue(tftypes.Number, 2222),
		"connect_timeout":  tftypes.NewValue(tftypes.String, "3s"),
		"max_sessions":     tftypes.NewValue(tftypes.Number, 2),
	})
	if c2.pool != c.pool || c2.agent != c.agent || c2.fleet == c.fleet {
		t.Errorf("second Configure: pool shared %v, agent shared %v, fleet new %v",
			c2.pool == c.pool, c2.agent == c.agent, c2.fleet != c.fleet)
	}
}

func TestProviderBastionInheritsDefaults(t *testing.T) {
	t.Setenv(envUser, "")
	t.Setenv(envKnownHosts, "")
	p := New("test")().(*lvsProvider)
	var sresp provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sresp)
	bt := sresp.Schema.Type().TerraformType(context.Background()).(tftypes.Object).AttributeTypes["bastion"].(tftypes.Object)
	bvals := map[string]tftypes.Value{}
	for name, at := range bt.AttributeTypes {
		bvals[name] = tftypes.NewValue(at, nil)
	}
	bvals["host"] = tftypes.NewValue(tftypes.String, "jump")
	bvals["user"] = tftypes.NewValue(tftypes.String, "jumper")
	c, resp := configure(t, p, map[string]tftypes.Value{
		"private_key_path": tftypes.NewValue(tftypes.String, "/keys/id"),
		"host_key":         tftypes.NewValue(tftypes.String, testHostKey(t)),
		"bastion":          tftypes.NewValue(bt, bvals),
	})
	if resp.Diagnostics.HasError() {
		t.Fatalf("configure: %v", resp.Diagnostics)
	}
	cfg, diags := c.hostConfig(connectionModel{Host: types.StringValue("dir1"), sshModel: nullSSH()})
	if diags.HasError() {
		t.Fatal(diags)
	}
	b := cfg.Bastion
	if b == nil || b.Host != "jump" || b.User != "jumper" || b.PrivateKeyPath != "/keys/id" || cfg.User != "" {
		t.Errorf("bastion: got %+v (host config %+v)", b, cfg)
	}
}

func TestProviderBastionWithoutHost(t *testing.T) {
	p := New("test")().(*lvsProvider)
	var sresp provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sresp)
	bt := sresp.Schema.Type().TerraformType(context.Background()).(tftypes.Object).AttributeTypes["bastion"].(tftypes.Object)
	bvals := map[string]tftypes.Value{}
	for name, at := range bt.AttributeTypes {
		bvals[name] = tftypes.NewValue(at, nil)
	}
	c, resp := configure(t, p, map[string]tftypes.Value{"bastion": tftypes.NewValue(bt, bvals)})
	if resp.Diagnostics.HasError() {
		t.Fatalf("configure must succeed (render-only data sources need no host): %v", resp.Diagnostics)
	}
	_, diags := c.hostConfig(connectionModel{Host: types.StringValue("dir1"), sshModel: nullSSH()})
	if !diags.HasError() {
		t.Fatal("a bastion without host must be reported when a host is needed")
	}
	if ad, ok := diags[0].(interface{ Path() path.Path }); !ok || !ad.Path().Equal(path.Root("bastion").AtName("host")) {
		t.Errorf("diagnostic %v: want it on bastion.host", diags[0])
	}
}

func TestAgentVersionIsAFileName(t *testing.T) {
	for in, want := range map[string]string{"0.1.0": "0.1.0", "dev": "dev", "": "v", "1.0/x y": "1.0_x_y", "-rc": "v_rc"} {
		if got := agentVersion(in); got != want {
			t.Errorf("agentVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// nullSSH is an sshModel with nothing set.
func nullSSH() sshModel {
	return sshModel{
		User: types.StringNull(), Port: types.Int64Null(), PrivateKey: types.StringNull(),
		PrivateKeyPath: types.StringNull(), PrivateKeyPassphrase: types.StringNull(), Agent: types.BoolNull(),
		AgentSocket: types.StringNull(), Password: types.StringNull(), KnownHostsFiles: types.ListNull(types.StringType),
		HostKey: types.StringNull(), InsecureIgnoreHostKey: types.BoolNull(), ConnectTimeout: types.StringNull(),
		CommandTimeout: types.StringNull(), MaxSessions: types.Int64Null(),
	}
}

// Host errors name the host, the object and the step, say what to do, and
// keep the agent's detail (tool output).
func TestAddHostError(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"agent missing", &agentbin.CallError{Host: "root@h:22", Verb: wire.VerbApply, Step: agentbin.StepDeploy,
			Err: fmt.Errorf("root@h:22: agent: install: %w for linux/amd64", agentbin.ErrNotBuilt)},
			[]string{"Step: install agent", "make agent", agentbin.ErrNotBuilt.Error()}},
		{"keepalived -t", &agentbin.CallError{Host: "root@h:22", Verb: wire.VerbApply, Step: "test keepalived.conf", ExitCode: 1,
			Agent: &wire.Error{Code: wire.ExitFailed, Step: "test keepalived.conf", Object: "keepalived /etc/keepalived/keepalived.conf",
				Message: "keepalived refused the rendered config", Detail: "line 3: unknown keyword"}},
			[]string{"Step: test keepalived.conf", "left the host as it was", "line 3: unknown keyword"}},
		{"foreign", &agentbin.CallError{Host: "root@h:22", Verb: wire.VerbApply, Step: "test keepalived.conf", ExitCode: 5,
			Agent: &wire.Error{Code: wire.ExitForeign, Step: "test keepalived.conf", Message: "not written by lvs-agent"}},
			[]string{"terraform import"}},
		{"unreachable", &transport.Error{Host: "root@h:22", Op: "connect", Err: syscall.ECONNREFUSED},
			[]string{"Step: connect", "could not be reached"}},
		{"auth", &transport.AuthError{User: "root", Methods: []string{"publickey"}, Err: errors.New("denied")},
			[]string{"refused every authentication method"}},
	}
	for _, c := range cases {
		var diags diag.Diagnostics
		addHostError(&diags, "Apply", "Director", "root@h:22", c.err)
		if len(diags) != 1 || diags[0].Summary() != "Unable to Apply Director" {
			t.Fatalf("%s: got %v", c.name, diags)
		}
		d := diags[0].Detail()
		for _, w := range append([]string{"Host: root@h:22", "Object: director"}, c.want...) {
			if !strings.Contains(d, w) {
				t.Errorf("%s: detail lacks %q:\n%s", c.name, w, d)
			}
		}
		if strings.Count(d, "line 3: unknown keyword") > 1 {
			t.Errorf("%s: the agent detail is repeated:\n%s", c.name, d)
		}
	}
}

// Values unknown at plan reach hostConfig and directorsOf at apply: the
// same rules refuse them there, on their attribute, before any host is
// reached. An encrypted key in a resource is decrypted with the provider's
// passphrase when the resource sets none.
func TestHostConfigChecksWhatPlanCouldNot(t *testing.T) {
	t.Setenv(envPassphrase, "")
	_, encKey, passphrase := testKeys(t)
	p := New("test")().(*lvsProvider)
	c, resp := configure(t, p, map[string]tftypes.Value{
		"private_key_passphrase":   tftypes.NewValue(tftypes.String, passphrase),
		"insecure_ignore_host_key": tftypes.NewValue(tftypes.Bool, true),
	})
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	at := path.Root("ssh")
	cases := []struct {
		name   string
		mutate func(*connectionModel)
		want   path.Path // empty: no error
	}{
		{"bad host", func(m *connectionModel) { m.Host = types.StringValue("-oProxyCommand=sh") }, at.AtName("host")},
		{"host with newline", func(m *connectionModel) { m.Host = types.StringValue("dir1\n") }, at.AtName("host")},
		{"IPv6 in brackets", func(m *connectionModel) { m.Host = types.StringValue("[2001:db8::1]") }, path.Empty()},
		{"bad user", func(m *connectionModel) { m.User = types.StringValue("a b") }, at.AtName("user")},
		{"garbage host_key", func(m *connectionModel) {
			m.InsecureIgnoreHostKey = types.BoolValue(false)
			m.HostKey = types.StringValue("garbage")
		}, at.AtName("host_key")},
		{"empty known_hosts file", func(m *connectionModel) {
			m.KnownHostsFiles = types.ListValueMust(types.StringType, []attr.Value{types.StringValue("")})
		}, at.AtName("known_hosts_files").AtListIndex(0)},
		{"encrypted key, the provider's passphrase", func(m *connectionModel) { m.PrivateKey = types.StringValue(encKey) }, path.Empty()},
		{"encrypted key, wrong passphrase here", func(m *connectionModel) {
			m.PrivateKey = types.StringValue(encKey)
			m.PrivateKeyPassphrase = types.StringValue("wrong-one")
		}, at.AtName("private_key_passphrase")},
		{"garbage key", func(m *connectionModel) { m.PrivateKey = types.StringValue("hunter2") }, at.AtName("private_key")},
	}
	for _, tc := range cases {
		conn := connectionModel{Host: types.StringValue("dir1"), sshModel: nullSSH()}
		tc.mutate(&conn)
		_, diags := c.hostConfig(conn)
		if tc.want.Equal(path.Empty()) {
			if diags.HasError() {
				t.Errorf("%s: refused: %v", tc.name, diags)
			}
			continue
		}
		if len(diags) != 1 {
			t.Errorf("%s: want one error at %s, got %v", tc.name, tc.want, diags)
			continue
		}
		if ad, ok := diags[0].(interface{ Path() path.Path }); !ok || !ad.Path().Equal(tc.want) {
			t.Errorf("%s: error %v, want it at %s", tc.name, diags[0], tc.want)
		}
		for _, secret := range []string{"hunter2", "wrong-one", passphrase, encKey} {
			if strings.Contains(diags[0].Detail(), secret) {
				t.Errorf("%s: the error quotes a secret: %s", tc.name, diags[0].Detail())
			}
		}
	}

	// Without the provider's passphrase the encrypted key is refused.
	t2, resp := configure(t, New("test")().(*lvsProvider), map[string]tftypes.Value{
		"insecure_ignore_host_key": tftypes.NewValue(tftypes.Bool, true),
	})
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	conn := connectionModel{Host: types.StringValue("dir1"), sshModel: nullSSH()}
	conn.PrivateKey = types.StringValue(encKey)
	if _, diags := t2.hostConfig(conn); !diags.HasError() || !strings.Contains(diags[0].Detail(), "encrypted and no passphrase") {
		t.Errorf("encrypted key without any passphrase: got %v", diags)
	}

	// A director known only at apply is checked on its entry.
	var diags diag.Diagnostics
	set := types.SetValueMust(types.StringType, []attr.Value{types.StringValue("dir1"), types.StringValue("ops@-x")})
	c.directorsOf(context.Background(), set, nil, &diags)
	want := path.Root("directors").AtSetValue(types.StringValue("ops@-x"))
	if len(diags) != 1 {
		t.Fatalf("directors: want one error, got %v", diags)
	}
	if ad, ok := diags[0].(interface{ Path() path.Path }); !ok || !ad.Path().Equal(want) {
		t.Errorf("directors: error %v, want it at %s", diags[0], want)
	}
}

// An unreachable host is step "connect" (not "install agent", the first
// step that needed the connection), and what the advice says of the state
// is true of the action: a failed create records nothing.
func TestAddHostErrorUnreachable(t *testing.T) {
	refused := &agentbin.CallError{Host: "root@h:22", Verb: wire.VerbApply, Step: agentbin.StepConnect,
		Err: &transport.Error{Host: "root@h:22", Step: agentbin.StepDetectArch, Op: "run uname -m",
			Err: &transport.ConnectError{Err: syscall.ECONNREFUSED}}}
	reach := "The host could not be reached. Check that it is up, that its address and port are right and that " +
		"sshd runs, then retry."
	for action, state := range map[string]string{
		"Create": " Nothing was recorded in the state: the next apply creates the resource again.",
		"Update": " The resource stays in the state as it was before this apply.",
		"Delete": " The resource stays in the state as it was before this apply.",
		"Read":   " The state was not changed.",
		"Import": " Nothing was imported.",
		"Apply":  "",
	} {
		var diags diag.Diagnostics
		addHostError(&diags, action, "HAProxy Frontend", "root@h:22", refused)
		want := "Host: root@h:22\nObject: haproxy frontend\nStep: connect\n\n" + reach + state + "\n\nError: " + refused.Error()
		if len(diags) != 1 || diags[0].Summary() != "Unable to "+action+" HAProxy Frontend" || diags[0].Detail() != want {
			t.Errorf("%s: got\n%v\nwant detail\n%s", action, diags, want)
		}
		if strings.Contains(diags[0].Detail(), "install agent") || strings.Contains(diags[0].Detail(), "kept in the state") {
			t.Errorf("%s: wrong step or state claim:\n%s", action, diags[0].Detail())
		}
	}
}
