package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestRealServerApplyChecksItsStoredService: a rule the plan skipped
// because virtual_server_id was unknown (lvs_virtual_server.vs.id, the
// usual wiring) runs at apply against the service as the directors store
// it, before the first change on any host: a DR real server with a mapped
// port (DR cannot change the destination port) is refused, naming the
// attribute, and no host receives a write — not the director, not the
// real server's own host.
func TestRealServerApplyChecksItsStoredService(t *testing.T) {
	f := newHostsFake()
	vs := model.VirtualServer{Address: testVIP, Port: 80, Scheduler: "wrr", ForwardingMethod: "dr"}
	objs := []wire.Object{{Key: wire.VirtualServerKey("tcp/10.0.0.10:80"), VirtualServer: &vs}}
	f.obs["dir1"] = directorObservation("netlink", objs)
	r := &realServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	plan := realServerResourceModel{VirtualServerID: types.StringValue("tcp/10.0.0.10:80@dir1"), realServerModel: realServerModel{
		Address: iptypes.NewIPAddressValue("192.168.1.10"), Port: types.Int64Value(8080), Weight: types.Int64Value(1)}}
	conf := resourceConfigOf(t, realServerResourceSchema(), &plan)
	plan.Host = &realServerHostModel{Host: types.StringValue("rs1"), Gateway: iptypes.NewIPAddressNull()}
	var diags diag.Diagnostics
	r.apply(context.Background(), conf, nil, &plan, &diags, "Create")
	if !diags.HasError() || !strings.Contains(fmt.Sprint(diags), "port") {
		t.Fatalf("diagnostics %v; want the mapped port of a dr server refused", diags)
	}
	for _, host := range []string{"dir1", "rs1"} {
		if a := f.applies(host); len(a) != 0 {
			t.Errorf("%s received %d applies before the refusal: %+v", host, len(a), a)
		}
	}

	// The service created in the same run (its lvs_virtual_server applied
	// just before, as Terraform orders them): the check reads this run's
	// own write of it.
	f = newHostsFake()
	f.obs["dir1"] = directorObservation("netlink", nil)
	r.client.fleet = fleet.New(f, f, fleet.Options{Window: time.Millisecond})
	if _, err := r.client.fleet.Apply(context.Background(), transport.Config{Host: "dir1", User: "root", Port: 22}, objs, nil); err != nil {
		t.Fatal(err)
	}
	diags = nil
	r.apply(context.Background(), conf, nil, &plan, &diags, "Create")
	if !diags.HasError() || !strings.Contains(fmt.Sprint(diags), "port") {
		t.Fatalf("service written in this run: diagnostics %v; want the mapped port of a dr server refused", diags)
	}
	if a := f.applies("dir1"); len(a) != 1 {
		t.Errorf("dir1 received %d applies, want only the service's", len(a))
	}
	if a := f.applies("rs1"); len(a) != 0 {
		t.Errorf("rs1 received %d applies before the refusal", len(a))
	}
}

// resourceConfigOf is the configuration a model was planned from, for the
// functions that locate errors in it.
func resourceConfigOf(t *testing.T, s schema.Schema, m any) tfsdk.Config {
	t.Helper()
	st := tfsdk.State{Schema: s}
	if d := st.Set(context.Background(), m); d.HasError() {
		t.Fatal(d)
	}
	return tfsdk.Config{Schema: s, Raw: st.Raw}
}

// TestConflictDiagnosticNamesBothResources: a write the agent refused as a
// conflict is reported with the conflict step, the host, the resource
// holding the object and that the host was not changed; one whose holder
// has no owner (imported, or an older provider's) says so.
func TestConflictDiagnosticNamesBothResources(t *testing.T) {
	with := wire.VirtualServerKey("tcp/10.0.0.10:80")
	for _, tc := range []struct {
		owner string
		want  []string
	}{
		{"lvs_virtual_server tcp/10.0.0.10:80@dir1", []string{"lvs_virtual_server tcp/10.0.0.10:80@dir1 (virtual_server tcp/10.0.0.10:80)"}},
		{"", []string{"without a Terraform resource"}},
	} {
		err := &fleet.RefusedError{Host: "root@dir1:22", Refusal: wire.Refusal{
			Error: wire.Error{Code: wire.ExitConflict, Step: "check conflicts", Object: with.String(),
				Message: "virtual_server tcp/10.0.0.10:80 is already stored on this host by ..."},
			With: &with, WithOwner: tc.owner,
		}}
		var diags diag.Diagnostics
		addHostError(&diags, "Create", "Virtual Server tcp/10.0.0.10:80", "root@dir1:22", err)
		if len(diags) != 1 {
			t.Fatalf("diagnostics %v", diags)
		}
		got := diags[0].Summary() + "\n" + diags[0].Detail()
		for _, w := range append(tc.want, "Unable to Create Virtual Server", "Host: root@dir1:22", "Step: check conflicts",
			"already holds this on host root@dir1:22", "Nothing on the host was changed", "is already stored on this host by") {
			if !strings.Contains(got, w) {
				t.Errorf("diagnostic lacks %q:\n%s", w, got)
			}
		}
	}
}
