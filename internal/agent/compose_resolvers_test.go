package agent

import (
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// A backend's server names a resolvers section of the host's settings
// object: composed with them it renders; without them (no lvs_haproxy, or
// one without that section) the apply is refused, naming the backend's
// object and the server's attribute.
func TestComposeResolversFromTheSettings(t *testing.T) {
	be := &model.HAProxyBackend{Name: "web", Servers: []model.HAProxyServer{{
		Name: "app1", Hostname: "app1.example.com", Port: 80, Resolvers: "dc1", InitAddr: []string{"none"},
	}}}
	backend := wire.Object{Key: wire.HAProxyBackendKey("web"), HAProxyBackend: be}
	settings := wire.Object{Key: wire.HAProxySettingsKey, HAProxySettings: &wire.HAProxySettings{
		Resolvers: []model.HAProxyResolvers{{Name: "dc1", ParseResolvConf: true}},
	}}
	hc, werr := compose(objMap(settings, backend))
	if werr != nil {
		t.Fatal(werr)
	}
	if hc.haproxy == nil || len(hc.haproxy.Resolvers) != 1 || hc.haproxy.Resolvers[0].Name != "dc1" {
		t.Fatalf("composed resolvers %+v, want dc1", hc.haproxy)
	}
	settings.HAProxySettings.Resolvers[0].Name = "dc2"
	for _, objs := range [][]wire.Object{{settings, backend}, {backend}} {
		_, werr = compose(objMap(objs...))
		if werr == nil || werr.Object != backend.Key.String() || !strings.Contains(werr.Message, "server[0].resolvers") ||
			!strings.Contains(werr.Message, `"dc1" is not the name of a resolvers section`) {
			t.Errorf("compose %d objects: %v, want a bad request of %s naming server[0].resolvers", len(objs), werr, backend.Key)
		}
	}
}

// A hand-built haproxy.cfg with a resolvers section and servers by host
// name, over TLS and agent-checked, imports into the host's settings (the
// resolvers section) and its backend, and renders back the same lines.
func TestImportServersByNameTLSAndAgent(t *testing.T) {
	src := `global
    log /dev/log local0
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
resolvers dc1
    nameserver a 10.0.0.53:53
    hold valid 10s
frontend www
    bind :80
    default_backend app
backend app
    server api1 api1.example.com:443 check ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni str(api1.example.com) resolvers dc1 init-addr last,none
    server api2 api2.example.com check port 8443 check-ssl verify none agent-check agent-port 9999 agent-inter 2s init-addr none
`
	out, warnings, err := importCorpusFile(t, src)
	if err != nil {
		t.Fatalf("import: %v (warnings %q)", err, warnings)
	}
	for _, want := range []string{
		"\nresolvers dc1\n    nameserver ns1 10.0.0.53:53\n    hold valid 10000\n",
		"    server api1 api1.example.com:443 check ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni str(api1.example.com) resolvers dc1 init-addr last,none\n",
		"    server api2 api2.example.com check port 8443 check-ssl verify none agent-check agent-port 9999 agent-inter 2000ms init-addr none\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the import renders without %q:\n%s", want, out)
		}
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q, want none", warnings)
	}
}
