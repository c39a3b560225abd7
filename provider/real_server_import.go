package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
)

// ImportState reads VIRTUAL_SERVER_KEY/ADDRESS:PORT@DIRECTORS, and after
// `;host=` the real server's own host as lvs_director's import takes it
// (`host`, `user@host`, `user@host:port`), which adopts the real-server
// side too; Read then fills in the rest from the directors and the host.
func (r *realServerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	rsPart, hostPart, withHost := strings.Cut(req.ID, realServerImportHostSep)
	id, err := cluster.ParseRealServerID(rsPart)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("The import ID %q is not a real server id: %s.", req.ID, err))
		return
	}
	if withHost {
		conn, err := importConnection(hostPart)
		if err != nil {
			addImportIDError(&resp.Diagnostics, req.ID, "VIRTUAL_SERVER_KEY/ADDRESS:PORT@DIRECTORS;host=HOST "+
				"(HOST as `host`, `user@host` or `user@host:port`)", "'tcp/10.0.0.10:80/192.168.1.10:80@10.0.0.2;host=192.168.1.10'", err)
			return
		}
		host := realServerHostModel{Host: conn.Host, sshModel: sshModel{User: conn.User, Port: conn.Port,
			KnownHostsFiles: types.ListNull(types.StringType)}}
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("host"), host)...)
	}
	set := func(name string, v any) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v)...)
	}
	set("virtual_server_id", types.StringValue(id.VS.String()))
	set("address", iptypes.NewIPAddressValue(id.Address.String()))
	if id.Port != id.VS.Port {
		set("port", types.Int64Value(int64(id.Port)))
	}
	set("id", types.StringValue(id.String()))
}

// realServerImportHostSep separates a real server's import ID from the
// host whose real-server side the import adopts.
const realServerImportHostSep = ";host="
