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
