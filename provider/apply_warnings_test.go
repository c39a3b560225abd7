package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestAddHostWarnings(t *testing.T) {
	var diags diag.Diagnostics
	addHostWarnings(context.Background(), &diags, "Director Applied With Warnings", "Director", "root@dir1:22", &wire.Response{})
	addHostWarnings(context.Background(), &diags, "Director Applied With Warnings", "Director", "root@dir1:22", nil)
	if len(diags) != 0 {
		t.Fatalf("an apply without warnings reported %v", diags)
	}
	resp := &wire.Response{Warnings: []string{
		"/etc/keepalived/keepalived.conf had been replaced ...: the file was kept as /etc/keepalived/keepalived.conf.lvs-foreign-20261201T210000Z (mode 0600)",
		"keepalived -t: Warning - quorum 1 ...",
	}}
	addHostWarnings(context.Background(), &diags, "Director Applied With Warnings", "Director", "root@dir1:22", resp)
	if len(diags) != 1 || diags.HasError() || diags[0].Severity() != diag.SeverityWarning {
		t.Fatalf("diagnostics %v, want one warning", diags)
	}
	d := diags[0]
	if d.Summary() != "Director Applied With Warnings" {
		t.Errorf("summary %q", d.Summary())
	}
	for _, want := range []string{"Host: root@dir1:22", "Object: director", "keepalived.conf.lvs-foreign-20261201T210000Z", "quorum 1"} {
		if !strings.Contains(d.Detail(), want) {
			t.Errorf("detail %q lacks %q", d.Detail(), want)
		}
	}
}
