package provider

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The tables of fields read back are complete by test: for every
// attribute of a resource's schema there is a field of the model with the
// same (json) name, and changing that field on the host changes what Read
// reports; or the attribute is listed here with the reason Read does not
// map it. A field forgotten in withObserved, or an attribute added without
// a decision, fails this test instead of showing no drift to a user.

// attributeNames are a schema's top-level attribute and block names.
func attributeNames(s schema.Schema) []string {
	var out []string
	for n := range s.Attributes {
		out = append(out, n)
	}
	for n := range s.Blocks {
		out = append(out, n)
	}
	return out
}

// perturb sets v (a settable model field) to a value unlike its zero and
// unlike any default: a pointer to a struct gets its first scalar set.
func perturb(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("perturbed")
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint16:
		if v.CanInt() {
			v.SetInt(7)
		} else {
			v.SetUint(7)
		}
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if p.Elem().Kind() == reflect.Struct {
			firstScalar(t, p.Elem())
		} else {
			perturb(t, p.Elem())
		}
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[netip.Addr]() {
			v.Set(reflect.ValueOf(netip.MustParseAddr("192.0.2.77")))
			return
		}
		firstScalar(t, v)
	case reflect.Slice:
		if v.Type() != reflect.TypeFor[[]model.FwmarkMatch]() {
			t.Fatalf("perturb: no rule for %s", v.Type())
		}
		v.Set(reflect.ValueOf([]model.FwmarkMatch{{Protocol: "udp", Destinations: []netip.Prefix{netip.MustParsePrefix("192.0.2.77/32")}}}))
	default:
		t.Fatalf("perturb: no rule for %s", v.Type())
	}
}

func firstScalar(t *testing.T, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String, reflect.Int, reflect.Bool:
			perturb(t, f)
			return
		case reflect.Struct:
			if f.Type() == reflect.TypeFor[netip.Addr]() {
				perturb(t, f)
				return
			}
			firstScalar(t, f)
			return
		}
	}
	t.Fatalf("perturb: %s has no scalar field", v.Type())
}

// attrAliases are the attributes named otherwise than their model
// field's json name (keepalived's own keyword).
var attrAliases = map[string]string{"virtual_host": "virtualhost"}

// modelFields maps attribute names to the fields of a model struct type.
func modelFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if alias, ok := attrAliases[name]; ok {
			name = alias
		}
		if name != "" {
			out[name] = i
		}
	}
	return out
}

// checkReadMaps walks the schema's attributes: each either is in
// notRead, or changing its model field in what the host reports changes
// what read returns.
func checkReadMaps[M any](t *testing.T, r fwresource.Resource, base any, notRead map[string]string, read func(obs reflect.Value) M, state M) {
	t.Helper()
	var resp fwresource.SchemaResponse
	r.Schema(context.Background(), fwresource.SchemaRequest{}, &resp)
	fields := modelFields(reflect.TypeOf(base))
	for name := range notRead {
		if _, ok := resp.Schema.Attributes[name]; !ok {
			if _, ok := resp.Schema.Blocks[name]; !ok {
				t.Errorf("notRead lists %q, which the schema does not have", name)
			}
		}
	}
	for _, name := range attributeNames(resp.Schema) {
		if _, skip := notRead[name]; skip {
			continue
		}
		i, ok := fields[name]
		if !ok {
			t.Errorf("attribute %q has no model field of that json name: map it in Read, or list it in notRead with why", name)
			continue
		}
		obs := reflect.New(reflect.TypeOf(base)).Elem()
		obs.Set(reflect.ValueOf(base))
		perturb(t, obs.Field(i))
		if got := read(obs); reflect.DeepEqual(got, state) {
			t.Errorf("attribute %q: the host reporting another %s is not read back (no drift would show)", name, reflect.TypeOf(base).Field(i).Name)
		}
	}
}

func TestReadMapsEveryVirtualServerAttribute(t *testing.T) {
	m := vsModel()
	base := m.toModel()
	checkReadMaps(t, NewVirtualServerResource(), base, map[string]string{
		"address": "identity: in the id, changing it replaces", "port": "identity", "protocol": "identity",
		"fwmark": "identity", "family": "identity", "group": "identity and members: read by GroupService, tested in virtual_server_group_test.go",
		"directors": "where it runs: read per director (present or not)", "ssh": "connection, not host state",
		"id": "computed from the identity", "managed": "computed from whether the directors store it",
		"real_server": "read per destination: TestReadMapsEveryInlineRealServerAttribute",
		"timeouts":    "operation bounds, not host state",
	}, func(obs reflect.Value) virtualServerResourceModel {
		vs := obs.Interface().(model.VirtualServer)
		return m.withObserved(&vs)
	}, m)
}

func TestReadMapsEveryRealServerAttribute(t *testing.T) {
	m := realServerResourceModel{realServerModel: realServerModel{
		Address: iptypes.NewIPAddressValue("192.168.1.10"), Port: types.Int64Null(), Weight: types.Int64Null(),
		ForwardingMethod: types.StringNull(), TunnelType: types.StringNull(), TunnelPort: types.Int64Null(),
		UpperThreshold: types.Int64Null(), LowerThreshold: types.Int64Null(), InhibitOnFailure: types.BoolNull(),
		NotifyUp: types.StringNull(), NotifyDown: types.StringNull(),
	}}
	base := m.toModel()
	checkReadMaps(t, NewRealServerResource(), base, map[string]string{
		"address": "identity: in the id, changing it replaces", "port": "identity",
		"virtual_server_id": "identity: the service it belongs to", "host": "the real-server side: host_in_sync reads it",
		"host_in_sync": "computed from the real-server side", "drain_on_destroy": "destroy behaviour, not host state",
		"drain_timeout": "destroy behaviour, not host state", "ssh": "connection, not host state",
		"id": "computed from the identity", "managed": "computed from whether the directors store it",
		"timeouts": "operation bounds, not host state",
	}, func(obs reflect.Value) realServerResourceModel {
		rs := obs.Interface().(model.RealServer)
		return m.withObserved(&rs, "dr")
	}, m)
}
