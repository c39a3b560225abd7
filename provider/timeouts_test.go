package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Every resource has the timeouts block with create, read, update and
// delete, each described.
func TestEveryResourceHasTimeouts(t *testing.T) {
	p := &lvsProvider{}
	for _, newResource := range p.Resources(context.Background()) {
		r := newResource()
		var meta fwresource.MetadataResponse
		r.Metadata(context.Background(), fwresource.MetadataRequest{ProviderTypeName: "lvs"}, &meta)
		var resp fwresource.SchemaResponse
		r.Schema(context.Background(), fwresource.SchemaRequest{}, &resp)
		b, ok := resp.Schema.Blocks[timeoutsBlockName].(schema.SingleNestedBlock)
		if !ok {
			t.Errorf("%s has no timeouts block", meta.TypeName)
			continue
		}
		if b.MarkdownDescription == "" {
			t.Errorf("%s: the timeouts block has no description", meta.TypeName)
		}
		for _, op := range []string{"create", "read", "update", "delete"} {
			a, ok := b.Attributes[op]
			if !ok || !strings.Contains(a.GetMarkdownDescription(), "default `") {
				t.Errorf("%s: timeouts.%s missing or without its default in the description", meta.TypeName, op)
			}
		}
		if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
			t.Errorf("%s: %v", meta.TypeName, d)
		}
	}
}

func timeoutsOf(t *testing.T, vals map[string]string) timeoutsValue {
	t.Helper()
	attrs := map[string]attr.Value{}
	for _, op := range []string{"create", "read", "update", "delete"} {
		if v, ok := vals[op]; ok {
			attrs[op] = types.StringValue(v)
		} else {
			attrs[op] = types.StringNull()
		}
	}
	obj, d := types.ObjectValue(fullTimeoutsType.AttrTypes, attrs)
	if d.HasError() {
		t.Fatal(d)
	}
	return timeoutsValue{timeouts.Value{Object: obj}}
}

func TestWithTimeoutTakesTheBlockOrTheDefault(t *testing.T) {
	for name, c := range map[string]struct {
		v    timeoutsValue
		op   timeoutOp
		want time.Duration
	}{
		"null block (after import)": {timeoutsValue{}, timeoutCreate, 10 * time.Minute},
		"set":                       {timeoutsOf(t, map[string]string{"create": "90s"}), timeoutCreate, 90 * time.Second},
		"other op set":              {timeoutsOf(t, map[string]string{"create": "90s"}), timeoutDelete, 10 * time.Minute},
		"drain on top":              {timeoutsValue{}, timeoutDelete.plus(5 * time.Minute), 15 * time.Minute},
		"read":                      {timeoutsOf(t, map[string]string{"read": "2m"}), timeoutRead, 2 * time.Minute},
	} {
		var diags diag.Diagnostics
		ctx, cancel := withTimeout(context.Background(), c.v, c.op, &diags)
		dl, ok := ctx.Deadline()
		cancel()
		if diags.HasError() || !ok {
			t.Fatalf("%s: diags %v, deadline %v", name, diags, ok)
		}
		if got := time.Until(dl); got > c.want || got < c.want-time.Minute {
			t.Errorf("%s: deadline in %v, want %v", name, got, c.want)
		}
	}
}

// A timeout that ran out deep in the agent call reaches the user as an
// error naming the host, the object, the step and the timeout, with what
// it means for the host.
func TestTimeoutErrorNamesHostStepAndTimeout(t *testing.T) {
	ctx, cancel := withTimeout(context.Background(), timeoutsOf(t, map[string]string{"create": "2s"}), timeoutCreate, new(diag.Diagnostics))
	defer cancel()
	// What the transport returns once the deadline passes, wrapped as the
	// agent call does.
	<-ctx.Done()
	host := "root@10.136.0.11:22"
	err := &agentbin.CallError{Host: host, Verb: wire.VerbApply, Step: agentbin.StepRun,
		Err: &transport.Error{Host: host, Step: "agent apply", Op: "run /var/lib/lvs-agent/bin/lvs-agent", Err: context.Cause(ctx)}}
	if !transport.IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a timeout must stay a transient deadline error: %v", err)
	}
	for name, err := range map[string]error{
		"agent call":   err,
		"fleet queued": &fleet.Error{Host: host, Step: fleet.StepQueued, Err: context.Cause(ctx)},
	} {
		var diags diag.Diagnostics
		addHostError(&diags, "Create", "Virtual Server tcp/10.136.0.100:80", host, err)
		detail := diags[0].Detail()
		for _, want := range []string{"Host: " + host, "Object: virtual server tcp/10.136.0.100:80",
			"The create timeout (2s) ran out", "the create timeout of 2s ran out", "the next apply completes"} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: detail lacks %q:\n%s", name, want, detail)
			}
		}
		wantStep := map[string]string{"agent call": "Step: " + agentbin.StepRun, "fleet queued": "Step: " + fleet.StepQueued}[name]
		if !strings.Contains(detail, wantStep) {
			t.Errorf("%s: detail lacks %q:\n%s", name, wantStep, detail)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Second: "1m30s",
		2 * time.Second: "2s", 90 * time.Minute: "1h30m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
