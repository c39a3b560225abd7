package provider

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func TestModelPath(t *testing.T) {
	tests := []struct {
		in   model.Path
		want path.Path
		ok   bool
	}{
		{nil, path.Empty(), true},
		{model.Path{"interface"}, path.Root("interface"), true},
		{
			model.Path{"virtual_server", 2, "real_server", 0, "http_get", "url", 1, "path"},
			path.Root("virtual_server").AtListIndex(2).AtName("real_server").AtListIndex(0).
				AtName("http_get").AtName("url").AtListIndex(1).AtName("path"),
			true,
		},
		{model.Path{"vrrp_instance", 0, "unicast_peers", 3}, path.Root("vrrp_instance").AtListIndex(0).AtName("unicast_peers").AtListIndex(3), true},
		{model.Path{"global", "options", 0}, path.Root("global").AtName("options").AtListIndex(0), true},
		{model.Path{"frontend", uint(1)}, path.Empty(), false},
	}
	for _, tt := range tests {
		got, ok := modelPath(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("modelPath(%v) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in.String() {
			t.Errorf("modelPath(%v) prints as %q, the model prints %q", tt.in, got, tt.in)
		}
	}
}

// configOf builds the Terraform configuration value a data source would be
// given for data, so ValidateConfig can be called without Terraform.
func configOf(t *testing.T, ds datasource.DataSource, data any) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	var resp datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &resp)
	st := tfsdk.State{Schema: resp.Schema, Raw: tftypes.NewValue(resp.Schema.Type().TerraformType(ctx), nil)}
	if d := st.Set(ctx, data); d.HasError() {
		t.Fatalf("building the configuration: %v", d)
	}
	return tfsdk.Config{Schema: resp.Schema, Raw: st.Raw}
}

func validateConfig(t *testing.T, ds datasource.DataSource, data any) diag.Diagnostics {
	t.Helper()
	v, ok := ds.(datasource.DataSourceWithValidateConfig)
	if !ok {
		t.Fatalf("%T does not validate its configuration", ds)
	}
	var resp datasource.ValidateConfigResponse
	v.ValidateConfig(context.Background(), datasource.ValidateConfigRequest{Config: configOf(t, ds, data)}, &resp)
	return resp.Diagnostics
}

// pathOf returns the attribute path of an attribute diagnostic.
func pathOf(t *testing.T, d diag.Diagnostic) path.Path {
	t.Helper()
	dp, ok := d.(diag.DiagnosticWithPath)
	if !ok {
		t.Fatalf("diagnostic %v has no attribute path", d)
	}
	return dp.Path()
}

func vrrpInstance(name string, vrid int64) vrrpInstanceModel {
	return vrrpInstanceModel{
		Name:             types.StringValue(name),
		VirtualRouterID:  types.Int64Value(vrid),
		Priority:         types.Int64Value(100),
		VirtualIPAddress: []virtualIPModel{{Address: types.StringValue("10.0.0.10/24")}},
	}
}

func TestAddConfigErrorsLandOnAttributes(t *testing.T) {
	data := keepalivedConfigModel{directorModel: directorModel{
		Interface: types.StringValue("eth0"),
		VRRPInstances: []vrrpInstanceModel{
			vrrpInstance("VI_1", 51),
			vrrpInstance("VI_2", 51),
		},
	}}
	diags := validateConfig(t, NewKeepalivedConfigDataSource(), data)

	want := path.Root("vrrp_instance").AtListIndex(1).AtName("virtual_router_id")
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics, want 1: %v", len(diags), diags)
	}
	d, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !d.Path().Equal(want) {
		t.Fatalf("diagnostic %v is not at %s", diags[0], want)
	}
	if d.Summary() != "Invalid Load Balancer Configuration" || d.Severity() != diag.SeverityError {
		t.Errorf("summary %q, severity %v", d.Summary(), d.Severity())
	}
	const detail = `vrrp_instance[1].virtual_router_id: 51 is already used by vrrp_instance[0] on interface "eth0"; each virtual router on an interface needs its own id`
	if d.Detail() != detail {
		t.Errorf("detail:\n got %q\nwant %q", d.Detail(), detail)
	}
}

// A value the schema's validators reject is theirs to report: the model's
// own complaint about it is dropped, its other findings are kept.
func TestAddConfigErrorsLeaveSchemaRejectsToTheSchema(t *testing.T) {
	bad := vrrpInstance("VI_1", 300)
	bad.State = types.StringValue("LEADER")
	data := keepalivedConfigModel{directorModel: directorModel{
		Interface:     types.StringValue("eth0"),
		VRRPInstances: []vrrpInstanceModel{bad},
	}}
	data.VRRPInstances[0].NoPreempt = types.BoolValue(true)
	data.VRRPInstances[0].PreemptDelay = types.Int64Value(5)

	diags := validateConfig(t, NewKeepalivedConfigDataSource(), data)
	var paths []string
	for _, d := range diags {
		paths = append(paths, pathOf(t, d).String())
	}
	want := []string{"vrrp_instance[0].preempt_delay"}
	if len(paths) != len(want) || paths[0] != want[0] {
		t.Errorf("diagnostics at %v, want only %v (state and virtual_router_id are the schema's): %v", paths, want, diags)
	}
}

func TestAddConfigErrorsWithoutPath(t *testing.T) {
	var diags diag.Diagnostics
	cfg := configOf(t, NewKeepalivedConfigDataSource(), keepalivedConfigModel{})
	addConfigErrors(context.Background(), &diags, cfg, model.Errors{{Msg: "the whole thing is wrong"}})
	addConfigErrors(context.Background(), &diags, cfg, errors.New("not a rule"))
	addConfigErrors(context.Background(), &diags, cfg, nil)
	if len(diags) != 2 {
		t.Fatalf("got %d diagnostics, want 2: %v", len(diags), diags)
	}
	for i, want := range []string{"the whole thing is wrong", "not a rule"} {
		if _, hasPath := diags[i].(diag.DiagnosticWithPath); hasPath || diags[i].Detail() != want {
			t.Errorf("diagnostic %d = %v, want a plain error %q", i, diags[i], want)
		}
	}
}

func TestAddRenderError(t *testing.T) {
	var diags diag.Diagnostics
	cfg := configOf(t, NewKeepalivedConfigDataSource(), keepalivedConfigModel{})
	addRenderError(context.Background(), &diags, cfg, "keepalived.conf", errors.New("template exploded"))
	if len(diags) != 1 || diags[0].Summary() != "Unable to Render keepalived.conf" {
		t.Fatalf("got %v", diags)
	}
	if want := "Error: template exploded"; !slices.Contains(strings.Split(diags[0].Detail(), "\n"), want) {
		t.Errorf("detail %q lacks %q", diags[0].Detail(), want)
	}

	diags = nil
	rule := model.Errors{{Path: model.Path{"router_id"}, Msg: "bad"}}
	addRenderError(context.Background(), &diags, cfg, "keepalived.conf", rule)
	if len(diags) != 1 || !pathOf(t, diags[0]).Equal(path.Root("router_id")) {
		t.Errorf("a rule found while rendering should land on its attribute, got %v", diags)
	}
}
