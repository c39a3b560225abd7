package provider

import (
	"context"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// A group service of lvs_virtual_server: the `group` block holds the
// keepalived virtual_server_group the service serves, which travels with
// the service's wire object (wire.Object.VirtualServerGroup). The kernel
// runs one IPVS service per member address (ranges expanded) and fwmark;
// Read compares against those.

// groupBlockSchema is lvs_virtual_server's `group` block.
func groupBlockSchema() schema.Block {
	b := virtualServerGroupBlock()
	b.single = true
	b.description = "A keepalived `virtual_server_group` this service serves: several addresses, address ranges " +
		"and firewall marks, each a kernel IPVS service with the same settings and real servers. Exactly one of " +
		"`address` (with `port`), `fwmark` and this block identifies the service. Changing `name` replaces the " +
		"service; the members change in place. Groups are a keepalived feature: a director with " +
		"`engine = \"netlink\"` refuses them."
	return b.resourceBlock()
}

// groupModel maps the `group` block into the model; nil without one.
func (m *virtualServerResourceModel) groupModel() *model.VirtualServerGroup {
	if m.Group == nil {
		return nil
	}
	g := m.Group.toModel()
	return &g
}

// groupName is the name of the `group` block, "" without one.
func (m *virtualServerResourceModel) groupName() string {
	if m.Group == nil {
		return ""
	}
	return m.Group.Name.ValueString()
}

// groupServiceErrors checks a group service with its group as a director
// of engine ("" for keepalived) would, with the paths of lvs_virtual_server:
// the service's at the root, the group's under `group`.
func groupServiceErrors(vs *model.VirtualServer, g *model.VirtualServerGroup, engine string) error {
	cfg := model.KeepalivedConfig{Director: model.Director{Engine: engine}, VirtualServers: []model.VirtualServer{*vs}}
	if g != nil {
		cfg.Groups = []model.VirtualServerGroup{*g}
	}
	var out model.Errors
	for _, fe := range model.AsErrors(cfg.Validate(nil)) {
		if len(fe.Path) < 2 {
			continue
		}
		var p model.Path
		switch fe.Path[0] {
		case "virtual_server":
			p = fe.Path[2:]
		case "virtual_server_group":
			p = append(model.Path{"group"}, fe.Path[2:]...)
		default:
			continue // the stand-in director's
		}
		out = append(out, &model.FieldError{Path: p, Msg: fe.Msg})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// keepGroup maps an observed group back to the `group` block: the prior
// block when both hold the same members, else the observed members.
func keepGroup(prior *virtualServerGroupModel, obs *model.VirtualServerGroup) *virtualServerGroupModel {
	if obs == nil {
		return prior
	}
	if prior != nil {
		p := prior.toModel()
		if reflect.DeepEqual(p.Members, obs.Members) {
			return prior
		}
	}
	out := &virtualServerGroupModel{Name: types.StringValue(obs.Name)}
	if prior != nil {
		out.Name = prior.Name
	}
	for i, m := range obs.Members {
		var pm *vsGroupMember
		if prior != nil && i < len(prior.Members) {
			pm = &prior.Members[i]
		} else {
			pm = &vsGroupMember{Address: iptypes.NewIPAddressNull(), RangeEnd: types.Int64Null(), Port: types.Int64Null(), Fwmark: types.Int64Null()}
		}
		out.Members = append(out.Members, vsGroupMember{
			Address:  keepAddr(pm.Address, m.Address),
			RangeEnd: keepInt(pm.RangeEnd, m.RangeEnd),
			Port:     keepInt(pm.Port, m.Port),
			Fwmark:   keepInt(pm.Fwmark, int(m.Fwmark)),
		})
	}
	return out
}

// groupEngineAllows refuses a group service on a director whose engine
// cannot run it (netlink), with the model's reason at `group`, before
// anything is sent; the engine comes from the directors' observations.
func (r *virtualServerResource) groupEngineAllows(ctx context.Context, conf tfsdk.Config, vs *model.VirtualServer, g *model.VirtualServerGroup, cfgs []transport.Config, diags *diag.Diagnostics) bool {
	for _, cfg := range cfgs {
		view, err := r.client.view(ctx, cfg)
		if err != nil {
			continue // the apply reports the host
		}
		if engine := view.Engine(); engine != "" && engine != model.DefaultEngine {
			if err := groupServiceErrors(vs, g, engine); err != nil {
				tflog.Info(ctx, "group service refused by the director's engine", map[string]any{"host": cfg.ID(), "engine": engine})
				addConfigErrors(ctx, diags, conf, err)
				return false
			}
		}
	}
	return true
}
