//go:build linux

package provider

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// inlineBlock is a real_server block of address a with weight w (0: unset).
func inlineBlock(a string, w int) inlineRealServerModel {
	b := blankInline(model.RealServer{Address: netip.MustParseAddr(a)})
	if w != 0 {
		b.Weight = types.Int64Value(int64(w))
	}
	return b
}

// inlineVSState is a DR service on dir1 with the given blocks.
func inlineVSState(t *testing.T, blocks ...inlineRealServerModel) (virtualServerResourceModel, tfsdk.State) {
	t.Helper()
	m, _ := vsState(t, "dir1")
	m.RealServers = blocks
	st := tfsdk.State{Schema: virtualServerResourceSchema()}
	if d := st.Set(context.Background(), &m); d.HasError() {
		t.Fatal(d)
	}
	return m, st
}

// inlineStored is the service object as an apply of blocks stores it, and
// the kernel's table of it (each destination at its weight, or weights[i]
// when given, as a hand edit leaves it).
func inlineStored(blocks []inlineRealServerModel, kernelWeights ...int) ([]wire.Object, wire.IPVSService) {
	m := inlineVSModel(blocks)
	vs := m.toModel()
	objs := []wire.Object{{Key: wire.VirtualServerKey(vs.Key()), VirtualServer: &vs}}
	k := kernelDR(1)
	k.Service.RealServers, k.Destinations = nil, nil
	for i, rs := range vs.RealServers {
		w := rs.EffectiveWeight()
		if i < len(kernelWeights) {
			w = kernelWeights[i]
		}
		if w < 0 {
			continue // removed by hand
		}
		k.Service.RealServers = append(k.Service.RealServers, model.RealServer{Address: rs.Address, Port: 80, Weight: rsIntPtr(w)})
		k.Destinations = append(k.Destinations, wire.IPVSDestination{Key: rs.Address.String() + ":80", Weight: w})
	}
	return objs, k
}

// inlineVSModel is vsState's service with blocks, without a state.
func inlineVSModel(blocks []inlineRealServerModel) virtualServerResourceModel {
	m := vsModel()
	m.Scheduler = types.StringValue("wrr")
	m.ForwardingMethod = types.StringValue("dr")
	m.RealServers = blocks
	return m
}

// The blocks are the lvs_real_server shape: every attribute and block of
// lvs_real_server that describes the server (all but its identity among
// resources and its connection) is in the real_server block, so what is
// added to the shared shape (a new health checker) reaches both.
func TestInlineBlockIsTheRealServerShape(t *testing.T) {
	var rsResp fwresource.SchemaResponse
	NewRealServerResource().Schema(context.Background(), fwresource.SchemaRequest{}, &rsResp)
	block, ok := virtualServerResourceSchema().Blocks["real_server"].(schema.ListNestedBlock)
	if !ok {
		t.Fatal("lvs_virtual_server has no real_server list block")
	}
	var inline []string
	for n := range block.NestedObject.Attributes {
		inline = append(inline, n)
	}
	for n := range block.NestedObject.Blocks {
		inline = append(inline, n)
	}
	resourceOnly := []string{"id", "virtual_server_id", "managed", connectionBlockName, timeoutsBlockName}
	var want []string
	for _, n := range attributeNames(rsResp.Schema) {
		if !slices.Contains(resourceOnly, n) {
			want = append(want, n)
		}
	}
	slices.Sort(inline)
	slices.Sort(want)
	if !slices.Equal(inline, want) {
		t.Errorf("real_server block has %v,\nlvs_real_server describes %v", inline, want)
	}
	for name, b := range block.NestedObject.Blocks {
		if got, want := nestedNames(b), nestedNames(rsResp.Schema.Blocks[name]); !slices.Equal(got, want) {
			t.Errorf("real_server.%s has %v, lvs_real_server's %v", name, got, want)
		}
	}
}

// nestedNames lists a block's attribute and block names at every depth.
func nestedNames(b schema.Block) []string {
	var out []string
	var walk func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block)
	walk = func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block) {
		for n, a := range attrs {
			out = append(out, prefix+n+fmt.Sprintf("(%T)", a))
		}
		for n, b := range blocks {
			out = append(out, prefix+n)
			switch b := b.(type) {
			case schema.ListNestedBlock:
				walk(prefix+n+".", b.NestedObject.Attributes, b.NestedObject.Blocks)
			case schema.SingleNestedBlock:
				walk(prefix+n+".", b.Attributes, b.Blocks)
			}
		}
	}
	walk("", map[string]schema.Attribute{}, map[string]schema.Block{"": b})
	slices.Sort(out)
	return out
}

// Every attribute of the block either is read back from the directors or
// is listed with why not (as TestReadMapsEveryRealServerAttribute).
func TestReadMapsEveryInlineRealServerAttribute(t *testing.T) {
	b := inlineBlock("192.168.1.10", 0)
	base := b.toModel()
	block := virtualServerResourceSchema().Blocks["real_server"].(schema.ListNestedBlock)
	notRead := map[string]string{
		"address": "identity of the destination", "port": "identity of the destination",
		"host": "the real-server side: host_in_sync reads it", "host_in_sync": "computed from the real-server side",
		"drain_on_destroy": "destroy behaviour, not host state", "drain_timeout": "destroy behaviour, not host state",
	}
	fields := modelFields(reflect.TypeOf(base))
	var names []string
	for n := range block.NestedObject.Attributes {
		names = append(names, n)
	}
	for n := range block.NestedObject.Blocks {
		names = append(names, n)
	}
	for _, name := range names {
		if _, skip := notRead[name]; skip {
			continue
		}
		i, ok := fields[name]
		if !ok {
			t.Errorf("attribute %q has no model field of that json name", name)
			continue
		}
		obs := base
		perturb(t, reflect.ValueOf(&obs).Elem().Field(i))
		if got := b.realServerModel.withObserved(&obs, "dr"); reflect.DeepEqual(got, b.realServerModel) {
			t.Errorf("attribute %q: the director reporting another value is not read back", name)
		}
	}
}

// A service with three blocks is one apply per director, carrying one
// object: the service with its servers inline.
func TestVirtualServerInlineIsOneWritePerDirector(t *testing.T) {
	f := newHostsFake()
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	plan, _ := vsState(t, "dir1", "dir2")
	plan.RealServers = []inlineRealServerModel{inlineBlock("192.168.1.10", 2), inlineBlock("192.168.1.11", 0), inlineBlock("192.168.1.12", 5)}
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, nil, &plan, &diags, "Create")
	if diags.HasError() {
		t.Fatal(diags)
	}
	for _, h := range []string{"dir1", "dir2"} {
		a := f.applies(h)
		if len(a) != 1 || len(a[0].Put) != 1 || a[0].Put[0].VirtualServer == nil {
			t.Fatalf("%s: applies %+v, want one put of the service", h, a)
		}
		got := a[0].Put[0].VirtualServer.RealServers
		if len(got) != 3 || got[0].EffectiveWeight() != 2 || got[1].Weight != nil || got[2].EffectiveWeight() != 5 {
			t.Errorf("%s: inline real servers %+v", h, got)
		}
	}
}

// Read reports each inline destination as the director runs it: a weight
// changed by hand, a destination removed by hand (netlink), and servers
// stored inline that the state lacks (an import).
func TestVirtualServerReadInline(t *testing.T) {
	blocks := []inlineRealServerModel{inlineBlock("192.168.1.10", 2), inlineBlock("192.168.1.11", 0), inlineBlock("192.168.1.12", 0)}
	read := func(t *testing.T, engine string, prior []inlineRealServerModel, kernelWeights ...int) []inlineRealServerModel {
		t.Helper()
		f := newHostsFake()
		objs, k := inlineStored(blocks, kernelWeights...)
		f.obs["dir1"] = directorObservation(engine, objs, k)
		r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{})}}
		_, st := inlineVSState(t, prior...)
		resp := &fwresource.ReadResponse{State: st}
		r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		var got virtualServerResourceModel
		resp.Diagnostics.Append(resp.State.Get(context.Background(), &got)...)
		return got.RealServers
	}
	weights := func(bs []inlineRealServerModel) string {
		var out []string
		for _, b := range bs {
			out = append(out, fmt.Sprintf("%s=%s", b.Address.ValueString(), b.Weight))
		}
		return strings.Join(out, " ")
	}
	if got := read(t, "netlink", blocks); !reflect.DeepEqual(got, blocks) {
		t.Errorf("in sync: read %s, want %s", weights(got), weights(blocks))
	}
	if got := weights(read(t, "netlink", blocks, 2, 7, 1)); got != "192.168.1.10=2 192.168.1.11=7 192.168.1.12=<null>" {
		t.Errorf("weight set by hand: read %s", got)
	}
	if got := weights(read(t, "netlink", blocks, 2, -1, 1)); got != "192.168.1.10=2 192.168.1.12=<null>" {
		t.Errorf("destination removed by hand from a netlink director: read %s, want it dropped", got)
	}
	// On keepalived a destination missing from the table is down by its
	// health check: status, not drift.
	if got := read(t, "keepalived", blocks, 2, -1, 1); !reflect.DeepEqual(got, blocks) {
		t.Errorf("keepalived, destination absent: read %s, want %s", weights(got), weights(blocks))
	}
	// An import: the state has no blocks; the stored ones are filled in,
	// in stored order.
	if got := read(t, "netlink", nil); !reflect.DeepEqual(got, blocks) {
		t.Errorf("import: read %s, want %s", weights(got), weights(blocks))
	}
	// A service without blocks reads none, whatever lvs_real_server
	// resources store under it.
	f := newHostsFake()
	f.obs["dir1"] = directorObservation("netlink", storedDR(model.RealServer{Address: testRIP1}, false), kernelDR(1))
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{})}}
	_, st := vsState(t, "dir1")
	resp := &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	var got virtualServerResourceModel
	resp.State.Get(context.Background(), &got)
	if resp.Diagnostics.HasError() || len(got.RealServers) != 0 {
		t.Errorf("service of lvs_real_server resources: diags %v, blocks %+v; want none", resp.Diagnostics, got.RealServers)
	}
}

// A weight change of one block puts the service once per director with
// only that server changed: the agent edits that destination alone.
func TestVirtualServerInlineWeightChange(t *testing.T) {
	f := newHostsFake()
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	old, _ := inlineVSState(t, inlineBlock("192.168.1.10", 2), inlineBlock("192.168.1.11", 0))
	plan, _ := inlineVSState(t, inlineBlock("192.168.1.10", 2), inlineBlock("192.168.1.11", 4))
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, &old, &plan, &diags, "Update")
	if diags.HasError() {
		t.Fatal(diags)
	}
	a := f.applies("dir1")
	if len(a) != 1 || len(a[0].Put) != 1 || len(a[0].Delete) != 0 {
		t.Fatalf("applies %+v, want one put", a)
	}
	before, after := old.toModel(), *a[0].Put[0].VirtualServer
	after.RealServers[1].Weight = nil
	before.RealServers[1].Weight = nil
	if !reflect.DeepEqual(before, after) {
		t.Errorf("put %+v\nwant %+v with only 192.168.1.11's weight changed", after, before)
	}
}

// Removing a block with drain_on_destroy first sets its weight to 0 in
// the service, then puts the service without it.
func TestVirtualServerInlineDrainsRemovedServers(t *testing.T) {
	f := newHostsFake()
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	gone := inlineBlock("192.168.1.11", 3)
	gone.DrainOnDestroy, gone.DrainTimeout = types.BoolValue(true), types.StringValue("10ms")
	old, _ := inlineVSState(t, inlineBlock("192.168.1.10", 0), gone)
	plan, _ := inlineVSState(t, inlineBlock("192.168.1.10", 0))
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, &old, &plan, &diags, "Update")
	if diags.HasError() {
		t.Fatal(diags)
	}
	a := f.applies("dir1")
	if len(a) != 2 {
		t.Fatalf("applies %+v, want the drain then the service", a)
	}
	drain := a[0].Put[0].VirtualServer.RealServers
	if len(drain) != 2 || drain[1].Address.String() != "192.168.1.11" || drain[1].EffectiveWeight() != 0 {
		t.Errorf("drain put %+v, want 192.168.1.11 at weight 0", drain)
	}
	if final := a[1].Put[0].VirtualServer.RealServers; len(final) != 1 || final[0].Address.String() != "192.168.1.10" {
		t.Errorf("final put %+v, want 192.168.1.10 alone", final)
	}
}

// A service with blocks is refused, before anything is sent, on a
// director that stores lvs_real_server objects under it.
func TestVirtualServerInlineRefusesRealServerResources(t *testing.T) {
	f := newHostsFake()
	f.obs["dir1"] = directorObservation("netlink", storedDR(model.RealServer{Address: testRIP1}, false), kernelDR(1))
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	old, _ := vsState(t, "dir1")
	plan, _ := inlineVSState(t, inlineBlock("192.168.1.11", 0))
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, &old, &plan, &diags, "Update")
	msg := fmt.Sprint(diags)
	if !diags.HasError() || !strings.Contains(msg, "192.168.1.10:80") || !strings.Contains(msg, "lvs_real_server") {
		t.Errorf("diagnostics %s, want a refusal naming the lvs_real_server's destination", msg)
	}
	if a := f.applies("dir1"); len(a) != 0 {
		t.Errorf("applies %+v, want none", a)
	}
}

// An lvs_real_server naming a service with inline real servers is refused
// with a message that says what to use, at plan and before any write.
func TestRealServerRefusedUnderInlineService(t *testing.T) {
	f := newHostsFake()
	objs, k := inlineStored([]inlineRealServerModel{inlineBlock("192.168.1.11", 0)})
	f.obs["dir1"] = directorObservation("netlink", objs, k)
	r := &realServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	data := realServerResourceModel{VirtualServerID: types.StringValue("tcp/10.0.0.10:80@dir1"), realServerModel: realServerModel{
		Address: iptypes.NewIPAddressValue("192.168.1.10")}}
	id, _ := cluster.ParseVirtualServerID("tcp/10.0.0.10:80@dir1")
	var diags diag.Diagnostics
	r.refuseInlineService(context.Background(), id, &data, &diags)
	msg := fmt.Sprint(diags)
	if !diags.HasError() || !strings.Contains(msg, "real_server block") || !strings.Contains(msg, "192.168.1.10") {
		t.Errorf("plan check: %s, want a refusal saying to use a real_server block", msg)
	}
	diags = nil
	r.apply(context.Background(), tfsdk.Config{}, nil, &data, &diags, "Create")
	if !diags.HasError() || !strings.Contains(fmt.Sprint(diags), "Virtual Server Owns Its Real Servers") {
		t.Errorf("apply: %v, want the refusal", diags)
	}
	if a := f.applies("dir1"); len(a) != 0 {
		t.Errorf("applies %+v, want none", a)
	}
}
