package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

var (
	_ resource.ResourceWithConfigure      = (*haproxyCertificateResource)(nil)
	_ resource.ResourceWithImportState    = (*haproxyCertificateResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*haproxyCertificateResource)(nil)
	_ resource.ResourceWithValidateConfig = (*haproxyCertificateResource)(nil)
)

// NewHAProxyCertificateResource returns the lvs_haproxy_certificate resource.
func NewHAProxyCertificateResource() resource.Resource {
	return &haproxyCertificateResource{}
}

// haproxyCertificateResource is one TLS certificate and key of an haproxy
// host, stored there as a wire.KindHAProxyCertificate object; the agent
// writes it as a 0600 file that binds naming it read (bind ... ssl crt).
type haproxyCertificateResource struct {
	client *client
}

// haproxyCertificateModel is the lvs_haproxy_certificate resource's value.
// The key is given either as private_key_pem (sensitive, kept in the
// state) or as the write-only private_key_pem_wo with a version the user
// changes to rotate it (as HashiCorp's providers do for write-only
// secrets: aws_db_instance's password_wo and password_wo_version).
type haproxyCertificateModel struct {
	ID                     types.String     `tfsdk:"id"`
	Connection             *connectionModel `tfsdk:"ssh"`
	Name                   types.String     `tfsdk:"name"`
	CertificatePEM         types.String     `tfsdk:"certificate_pem"`
	PrivateKeyPEM          types.String     `tfsdk:"private_key_pem"`
	PrivateKeyPEMWO        types.String     `tfsdk:"private_key_pem_wo"`
	PrivateKeyPEMWOVersion types.Int64      `tfsdk:"private_key_pem_wo_version"`
	FileInSync             types.Bool       `tfsdk:"file_in_sync"`
	// Timeouts bound each operation (timeouts.go); null after an import.
	Timeouts timeoutsValue `tfsdk:"timeouts"`
}

// key is the private key the configuration gives, from whichever attribute.
func (m *haproxyCertificateModel) key() string {
	if !m.PrivateKeyPEMWO.IsNull() {
		return m.PrivateKeyPEMWO.ValueString()
	}
	return m.PrivateKeyPEM.ValueString()
}

func (m *haproxyCertificateModel) toModel(key string) model.HAProxyCertificate {
	return model.HAProxyCertificate{Name: m.Name.ValueString(), CertificatePEM: m.CertificatePEM.ValueString(), PrivateKeyPEM: key}
}

// validate checks the certificate and key; the key's errors go to the
// attribute that gave it.
func (m *haproxyCertificateModel) validate() error {
	c := m.toModel(m.key())
	var out model.Errors
	for _, e := range model.AsErrors(c.Validate(nil)) {
		p := e.Path
		if len(p) == 1 && p[0] == "private_key_pem" && !m.PrivateKeyPEMWO.IsNull() {
			p = model.Path{"private_key_pem_wo"}
		}
		out = append(out, &model.FieldError{Path: p, Msg: e.Msg})
	}
	if out == nil {
		return nil
	}
	return out
}

// certificateResourceSchema is the schema of lvs_haproxy_certificate.
func certificateResourceSchema() schema.Schema {
	keyConflicts := []validator.String{
		stringvalidator.ExactlyOneOf(path.MatchRoot("private_key_pem"), path.MatchRoot("private_key_pem_wo")),
	}
	return withTimeouts(schema.Schema{
		MarkdownDescription: "A TLS certificate and its private key on an haproxy host, which binds of the host's " +
			"`lvs_haproxy_frontend`s name by `bind.certificate` to terminate TLS (`bind ... ssl crt FILE`).\n\n" +
			"The agent writes the certificate chain and the key as one PEM file of mode `0600` into `" + model.HAProxyCertDir +
			"/` (a directory of mode `0700` that only it writes; no path is ever given, so none can lead elsewhere). " +
			"The file's name carries a digest of its content: a rotation writes a new file beside the one haproxy runs " +
			"with, `haproxy -c` checks the new certificate with the configuration, and a hitless reload switches to it; " +
			"the old file is removed once the reload succeeded.\n\n" +
			"Give the key either as `private_key_pem` (sensitive, kept in the state) or, with Terraform 1.11 or later, " +
			"as the write-only `private_key_pem_wo`, which never reaches the plan or the state: then set " +
			"`private_key_pem_wo_version` and change it whenever the key changes (Terraform cannot see a write-only " +
			"value change). The key is stored on the host only, in the agent's object store (mode `0600`) and the " +
			"certificate file. A file changed or removed on the host by hand shows as `file_in_sync = false`, which " +
			"apply repairs.\n\n" +
			"Import with `NAME@HOST`, such as `www@10.0.0.20`; the key is not imported into the state, so the first " +
			"apply after an import rewrites it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`NAME@USER@HOST:PORT`: the certificate's name and its host.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the certificate, which `bind.certificate` of the host's frontends names. " +
					model.NamePattern + ". Changing it replaces the certificate.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"certificate_pem": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The certificate in PEM, leaf first, then the intermediate certificates haproxy " +
					"sends with it. The key must belong to the leaf (checked at plan time).",
			},
			"private_key_pem": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "The leaf's private key in PEM (PKCS#1, PKCS#8 or SEC 1). Sensitive, kept in the state. Exactly one of `private_key_pem` and `private_key_pem_wo`.",
				Validators:          keyConflicts,
			},
			"private_key_pem_wo": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
				MarkdownDescription: "The leaf's private key in PEM, write-only (Terraform 1.11 or later): never stored " +
					"in the plan or the state. Requires `private_key_pem_wo_version`.",
				Validators: keyConflicts,
			},
			"private_key_pem_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "A number to change whenever `private_key_pem_wo` changes: the change of version " +
					"is what makes Terraform plan the rotation. Required with `private_key_pem_wo`, not allowed without.",
				Validators: []validator.Int64{
					int64validator.AlsoRequires(path.MatchRoot("private_key_pem_wo")),
				},
			},
			"file_in_sync": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether the certificate's file is on the host as the agent wrote it. `false` after " +
					"the file was changed or removed by hand; every plan wants `true`, so such drift shows as a change " +
					"that apply repairs.",
			},
		},
		Blocks: map[string]schema.Block{connectionBlockName: connectionBlock()},
	})
}

// Metadata names the resource.
func (r *haproxyCertificateResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_haproxy_certificate"
}

// Schema is certificateResourceSchema.
func (r *haproxyCertificateResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = certificateResourceSchema()
}

// Configure takes the provider's client.
func (r *haproxyCertificateResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks at plan time that the certificate and key are PEM
// and go together, and that a write-only key has its version.
func (r *haproxyCertificateResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data haproxyCertificateModel
	if !knownConfig(ctx, req.Config, "lvs_haproxy_certificate", &data, &resp.Diagnostics) {
		return
	}
	if !data.PrivateKeyPEMWO.IsNull() && data.PrivateKeyPEMWOVersion.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("private_key_pem_wo_version"), summaryInvalidConfig,
			"private_key_pem_wo_version: must be set with private_key_pem_wo, and changed whenever the key changes: "+
				"Terraform keeps no trace of a write-only value, so the version is what plans a rotation")
	}
	addConfigErrors(ctx, &resp.Diagnostics, req.Config, data.validate())
}

// ModifyPlan plans file_in_sync true: a drifted file shows as a change.
func (r *haproxyCertificateResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("file_in_sync"), true)...)
}

// Create stores the certificate on the host; the agent writes its file.
func (r *haproxyCertificateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, req.Config, &resp.State, &resp.Diagnostics, "Create")
}

// Update stores the new certificate; the agent writes a new file and
// reloads haproxy onto it without dropping connections.
func (r *haproxyCertificateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.write(ctx, req.Plan, req.Config, &resp.State, &resp.Diagnostics, "Update")
}

// write puts the certificate with the key of the configuration (a
// write-only value is only there, never in the plan) and sets the state.
func (r *haproxyCertificateResource) write(ctx context.Context, plan tfsdk.Plan, config tfsdk.Config, state *tfsdk.State, diags *diag.Diagnostics, action string) {
	var data haproxyCertificateModel
	diags.Append(plan.Get(ctx, &data)...)
	op := timeoutCreate
	if action == "Update" {
		op = timeoutUpdate
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, op, diags)
	defer cancel()
	var wo types.String
	diags.Append(config.GetAttribute(ctx, path.Root("private_key_pem_wo"), &wo)...)
	if diags.HasError() {
		return
	}
	key := data.PrivateKeyPEM.ValueString()
	if !wo.IsNull() {
		key = wo.ValueString()
	}
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	c := data.toModel(key)
	obj := wire.Object{Key: wire.HAProxyCertificateKey(c.Name), HAProxyCertificate: &c}
	if _, err := r.client.fleet.Apply(ctx, cfg, []wire.Object{obj}, nil); err != nil {
		addHostError(diags, action, "HAProxy Certificate", cfg.ID(), err)
		return
	}
	r.client.logStats(ctx, cfg, "lvs_haproxy_certificate")
	data.PrivateKeyPEMWO = types.StringNull() // never in the state
	data.ID = types.StringValue(c.Name + "@" + cfg.ID())
	data.FileInSync = types.BoolValue(true)
	diags.Append(state.Set(ctx, &data)...)
}

// Read reports the certificate the host stores and whether its file is
// as written. A private_key_pem in the state is refreshed from the host;
// a write-only key never enters the state.
func (r *haproxyCertificateResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var data haproxyCertificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutRead, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := data.Name.ValueString()
	view, err := r.client.view(ctx, cfg)
	r.client.logStats(ctx, cfg, "lvs_haproxy_certificate")
	if err != nil {
		addHostError(&resp.Diagnostics, "Read", "HAProxy Certificate", cfg.ID(), err)
		return
	}
	stored := view.HAProxyCertificate(name)
	if stored == nil {
		tflog.Info(ctx, "haproxy certificate is gone from the host; planning to create it again",
			map[string]any{"host": cfg.ID(), "object": wire.HAProxyCertificateKey(name).String()})
		resp.State.RemoveResource(ctx)
		return
	}
	if data.CertificatePEM.ValueString() != stored.CertificatePEM {
		data.CertificatePEM = types.StringValue(stored.CertificatePEM)
	}
	if !data.PrivateKeyPEM.IsNull() && data.PrivateKeyPEM.ValueString() != stored.PrivateKeyPEM {
		data.PrivateKeyPEM = types.StringValue(stored.PrivateKeyPEM)
	}
	data.PrivateKeyPEMWO = types.StringNull()
	data.ID = types.StringValue(name + "@" + cfg.ID())
	data.FileInSync = types.BoolValue(view.HAProxyCertificateInSync(name))
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// Delete removes the certificate from the host; the agent refuses it while
// a bind of the host still names it.
func (r *haproxyCertificateResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var data haproxyCertificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, data.Timeouts, timeoutDelete, &resp.Diagnostics)
	defer cancel()
	cfg, d := r.client.hostConfig(connOf(data.Connection))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.client.fleet.Apply(ctx, cfg, nil, []wire.Key{wire.HAProxyCertificateKey(data.Name.ValueString())})
	r.client.logStats(ctx, cfg, "lvs_haproxy_certificate")
	if err != nil {
		addHostError(&resp.Diagnostics, "Delete", "HAProxy Certificate", cfg.ID(), err)
	}
}

// ImportState reads NAME@HOST as lvs_haproxy_backend's import does.
func (r *haproxyCertificateResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, hostID, _ := strings.Cut(req.ID, "@")
	conn, err := importConnection(hostID)
	if name == "" || err != nil {
		addImportIDError(&resp.Diagnostics, req.ID, "NAME@HOST (HOST as `host`, `user@host` or `user@host:port`)", "www@10.0.0.20", err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(connectionBlockName), conn)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
