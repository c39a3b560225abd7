package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// How the provider reaches hosts: the SSH settings are written once
// (sshFields) and emitted into the provider block (defaults for every
// host), its bastion block, and the `ssh` block of every
// resource (per-host overrides). A resource's connection is the provider's
// defaults overlaid with what the connection sets.

// sshField is one SSH setting, in every place it appears.
type sshField struct {
	kind        attrKind // kindString, kindInt, kindBool or kindStrings
	description string
	sensitive   bool
	// env is the environment variable the provider-level default falls back to.
	env string
	// duration marks a string holding a Go duration ("30s", "2m").
	duration bool
	// limits for integers
	lo, hi int64
	// checks are the plan-time rules of a string (ssh_validation.go).
	checks []validator.String
	// listChecks are the plan-time rules of a list of strings.
	listChecks []validator.List
}

// Environment variables of the provider-level defaults.
const (
	envUser           = "LVS_SSH_USER"
	envPort           = "LVS_SSH_PORT"
	envPrivateKey     = "LVS_SSH_PRIVATE_KEY"
	envPrivateKeyPath = "LVS_SSH_PRIVATE_KEY_PATH"
	envPassphrase     = "LVS_SSH_PRIVATE_KEY_PASSPHRASE"
	envAgent          = "LVS_SSH_AGENT"
	envPassword       = "LVS_SSH_PASSWORD"
	envKnownHosts     = "LVS_SSH_KNOWN_HOSTS"
)

// sshFields are the SSH settings by attribute name.
var sshFields = map[string]sshField{
	"user": {kind: kindString, env: envUser, checks: []validator.String{userCheck}, description: "Login user. Defaults to `root`. A non-root user needs " +
		"passwordless `sudo` (probed once per host: `sudo -n` is used automatically when the user is not root)."},
	"port": {kind: kindInt, env: envPort, lo: 1, hi: 65535, description: "SSH port. Defaults to `22`."},
	"private_key": {kind: kindString, sensitive: true, env: envPrivateKey, checks: []validator.String{privateKeyCheck{}},
		description: "Private key in PEM form (OpenSSH, PKCS#1 or PKCS#8), such as `file(\"~/.ssh/id_ed25519\")`. " +
			"It is parsed at plan time; an encrypted key needs `private_key_passphrase` (in the same block, the " +
			"provider block or `$" + envPassphrase + "`): a key that only ssh-agent can decrypt is used through " +
			"`agent`, not here. Sensitive: it is kept in the state of resources that set it, so prefer " +
			"`private_key_path` or `agent`."},
	"private_key_path": {kind: kindString, env: envPrivateKeyPath, checks: []validator.String{localPathCheck}, description: "Path of a private key file on the " +
		"machine running Terraform; `~` is expanded."},
	"private_key_passphrase": {kind: kindString, sensitive: true, env: envPassphrase, description: "Passphrase " +
		"of an encrypted private key."},
	"agent":        {kind: kindBool, env: envAgent, description: "Authenticate with the keys of a running `ssh-agent`."},
	"agent_socket": {kind: kindString, checks: []validator.String{socketCheck}, description: "Socket of the ssh-agent. Defaults to `$SSH_AUTH_SOCK`."},
	"password": {kind: kindString, sensitive: true, env: envPassword, description: "Password for password and " +
		"keyboard-interactive authentication. Prefer keys."},
	"known_hosts_files": {kind: kindStrings, env: envKnownHosts,
		listChecks: []validator.List{listvalidator.ValueStringsAre(knownHostsFileCheck)}, description: "OpenSSH `known_hosts` files to " +
			"verify host keys with; `~` is expanded. Defaults to `~/.ssh/known_hosts`."},
	"host_key": {kind: kindString, checks: []validator.String{hostKeyCheck}, description: "Pinned public host key(s) in `authorized_keys` form " +
		"(`ssh-ed25519 AAAA...`), one per line; used instead of `known_hosts_files` when set."},
	"insecure_ignore_host_key": {kind: kindBool, description: "**Dangerous.** Accept any host key, which lets " +
		"anyone between Terraform and the host impersonate it and read the secrets sent to it. Host keys are " +
		"verified unless this is set to `true` explicitly; use it only for throw-away test machines."},
	"connect_timeout": {kind: kindString, duration: true, description: "Bound on TCP connect, SSH handshake and " +
		"authentication, as a duration such as `10s`. Defaults to `10s`."},
	"command_timeout": {kind: kindString, duration: true, description: "Bound on each remote command (one agent " +
		"run), as a duration such as `5m`. Defaults to none (Terraform's own timeouts apply)."},
	"max_sessions": {kind: kindInt, lo: 1, hi: 64, description: "Commands run at once on one host's connection. " +
		"Defaults to `4`."},
}

// sshModel holds the SSH settings as Terraform values; null means unset.
type sshModel struct {
	User                  types.String `tfsdk:"user"`
	Port                  types.Int64  `tfsdk:"port"`
	PrivateKey            types.String `tfsdk:"private_key"`
	PrivateKeyPath        types.String `tfsdk:"private_key_path"`
	PrivateKeyPassphrase  types.String `tfsdk:"private_key_passphrase"`
	Agent                 types.Bool   `tfsdk:"agent"`
	AgentSocket           types.String `tfsdk:"agent_socket"`
	Password              types.String `tfsdk:"password"`
	KnownHostsFiles       types.List   `tfsdk:"known_hosts_files"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
	ConnectTimeout        types.String `tfsdk:"connect_timeout"`
	CommandTimeout        types.String `tfsdk:"command_timeout"`
	MaxSessions           types.Int64  `tfsdk:"max_sessions"`
}

// connectionModel is a resource's `ssh` block: the host and its
// overrides of the provider's SSH defaults.
type connectionModel struct {
	Host types.String `tfsdk:"host"`
	sshModel
}

// newConnection is a connection to host with nothing overridden, with
// typed nulls (a zero types.List has no element type and cannot be set
// into a state), as an import builds it.
func newConnection(host string) connectionModel {
	return connectionModel{Host: types.StringValue(host), sshModel: sshModel{KnownHostsFiles: types.ListNull(types.StringType)}}
}

// bastionModel is the provider's `bastion` block.
type bastionModel struct {
	Host types.String `tfsdk:"host"`
	sshModel
}

// fieldDescription is a field's description with its environment fallback.
func (f sshField) fieldDescription(withEnv bool) string {
	if withEnv && f.env == envKnownHosts {
		return f.description + " Falls back to `$" + f.env + "`, a colon-separated list."
	}
	if withEnv && f.env != "" {
		return f.description + " Falls back to `$" + f.env + "`."
	}
	return f.description
}

func (f sshField) intValidators() []validator.Int64 {
	if f.kind != kindInt {
		return nil
	}
	return []validator.Int64{int64validator.Between(f.lo, f.hi)}
}

func (f sshField) stringValidators() []validator.String {
	if f.duration {
		return []validator.String{durationValidator{}}
	}
	return f.checks
}

func (f sshField) listValidators() []validator.List { return f.listChecks }

// providerSSHAttributes emits the SSH settings into the provider schema.
func providerSSHAttributes(withEnv bool) map[string]pschema.Attribute {
	out := make(map[string]pschema.Attribute, len(sshFields))
	for name, f := range sshFields {
		d := f.fieldDescription(withEnv)
		switch f.kind {
		case kindString:
			out[name] = pschema.StringAttribute{MarkdownDescription: d, Optional: true, Sensitive: f.sensitive,
				Validators: f.stringValidators()}
		case kindInt:
			out[name] = pschema.Int64Attribute{MarkdownDescription: d, Optional: true, Validators: f.intValidators(),
				CustomType: wholeNumberType{}}
		case kindBool:
			out[name] = pschema.BoolAttribute{MarkdownDescription: d, Optional: true}
		case kindStrings:
			out[name] = pschema.ListAttribute{MarkdownDescription: d, Optional: true, ElementType: types.StringType,
				Validators: f.listValidators()}
		}
	}
	return out
}

// connectionBlockName is the name of the connection block in resources:
// `connection` is a root name Terraform reserves for provisioners (the
// framework refuses a resource schema that uses it), so resources say
// `ssh { host = ... }`. Data sources may keep `connection`.
const connectionBlockName = "ssh"

// connectionBlock is the `ssh` block every host-bound resource
// carries. Its `host` is required, which makes the block required too.
// Changing the host replaces the resource; the other settings only say how
// to reach it and change nothing on the host, so they update in place.
// Secrets here are sensitive, not write-only: Read and Delete need them
// after the apply that set them (prefer private_key_path or agent).
func connectionBlock() rschema.SingleNestedBlock {
	attrs := map[string]rschema.Attribute{
		"host": rschema.StringAttribute{
			Required: true,
			MarkdownDescription: "Name or address of the host to manage. Changing it replaces the resource " +
				"(the old host is cleaned up, the new one set up).",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{hostCheck},
		},
	}
	for name, f := range sshFields {
		d := f.description + " Overrides the provider's setting for this host."
		switch f.kind {
		case kindString:
			attrs[name] = rschema.StringAttribute{MarkdownDescription: d, Optional: true, Sensitive: f.sensitive,
				Validators: f.stringValidators()}
		case kindInt:
			attrs[name] = rschema.Int64Attribute{MarkdownDescription: d, Optional: true, Validators: f.intValidators(),
				CustomType: wholeNumberType{}}
		case kindBool:
			attrs[name] = rschema.BoolAttribute{MarkdownDescription: d, Optional: true}
		case kindStrings:
			attrs[name] = rschema.ListAttribute{MarkdownDescription: d, Optional: true, ElementType: types.StringType,
				Validators: f.listValidators()}
		}
	}
	return rschema.SingleNestedBlock{
		MarkdownDescription: "How to reach the host over SSH (required): `host`, plus any of the provider's SSH " +
			"settings to override for this host. Every resource of one `user@host:port` must use the same " +
			"settings, since they share one connection.",
		Attributes: attrs,
	}
}

// envDefaults reads the environment fallbacks of the provider-level SSH
// settings into cfg.
func envDefaults(cfg *transport.Config) diag.Diagnostics {
	var diags diag.Diagnostics
	if v := os.Getenv(envUser); v != "" {
		cfg.User = v
	}
	if v := os.Getenv(envPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			diags.AddError(summaryProviderConfig, fmt.Sprintf("$%s is %q: want a port number from 1 to 65535.", envPort, v))
		}
		cfg.Port = p
	}
	if v := os.Getenv(envPrivateKey); v != "" {
		cfg.PrivateKey = v
	}
	if v := os.Getenv(envPrivateKeyPath); v != "" {
		cfg.PrivateKeyPath = expandHome(v)
	}
	if v := os.Getenv(envPassphrase); v != "" {
		cfg.Passphrase = v
	}
	if v := os.Getenv(envAgent); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			diags.AddError(summaryProviderConfig, fmt.Sprintf("$%s is %q: want true or false.", envAgent, v))
		}
		cfg.Agent = b
	}
	if v := os.Getenv(envPassword); v != "" {
		cfg.Password = v
	}
	if v := os.Getenv(envKnownHosts); v != "" {
		cfg.KnownHostsFiles = nil
		for _, f := range filepath.SplitList(v) {
			if f != "" {
				cfg.KnownHostsFiles = append(cfg.KnownHostsFiles, expandHome(f))
			}
		}
	}
	return diags
}

// overlay writes the settings m sets onto cfg; at is the path of m, for
// errors. Unknown values are reported: they cannot reach a host.
func (m *sshModel) overlay(ctx context.Context, cfg *transport.Config, at path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	str := func(v types.String, name string, dst *string, expand bool) {
		switch {
		case v.IsUnknown():
			diags.AddAttributeError(at.AtName(name), summaryProviderConfig, unknownDetail)
		case !v.IsNull():
			*dst = v.ValueString()
			if expand {
				*dst = expandHome(*dst)
			}
		}
	}
	boolean := func(v types.Bool, name string, dst *bool) {
		switch {
		case v.IsUnknown():
			diags.AddAttributeError(at.AtName(name), summaryProviderConfig, unknownDetail)
		case !v.IsNull():
			*dst = v.ValueBool()
		}
	}
	integer := func(v types.Int64, name string, dst *int) {
		switch {
		case v.IsUnknown():
			diags.AddAttributeError(at.AtName(name), summaryProviderConfig, unknownDetail)
		case !v.IsNull():
			*dst = int(v.ValueInt64())
		}
	}
	duration := func(v types.String, name string, dst *time.Duration) {
		var s string
		str(v, name, &s, false)
		if s == "" {
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			addAttributeError(&diags, at.AtName(name), "Invalid Duration",
				fmt.Sprintf("%q is not a positive duration; write it like `30s` or `2m`", s))
			return
		}
		*dst = d
	}
	str(m.User, "user", &cfg.User, false)
	integer(m.Port, "port", &cfg.Port)
	str(m.PrivateKey, "private_key", &cfg.PrivateKey, false)
	str(m.PrivateKeyPath, "private_key_path", &cfg.PrivateKeyPath, true)
	if !m.PrivateKey.IsNull() && m.PrivateKeyPath.IsNull() {
		cfg.PrivateKeyPath = "" // a key given here replaces a key file of the defaults
	}
	if !m.PrivateKeyPath.IsNull() && m.PrivateKey.IsNull() {
		cfg.PrivateKey = ""
	}
	str(m.PrivateKeyPassphrase, "private_key_passphrase", &cfg.Passphrase, false)
	boolean(m.Agent, "agent", &cfg.Agent)
	str(m.AgentSocket, "agent_socket", &cfg.AgentSocket, true)
	str(m.Password, "password", &cfg.Password, false)
	switch {
	case m.KnownHostsFiles.IsUnknown():
		diags.AddAttributeError(at.AtName("known_hosts_files"), summaryProviderConfig, unknownDetail)
	case !m.KnownHostsFiles.IsNull():
		var files []string
		diags.Append(m.KnownHostsFiles.ElementsAs(ctx, &files, false)...)
		cfg.KnownHostsFiles = nil
		for _, f := range files {
			cfg.KnownHostsFiles = append(cfg.KnownHostsFiles, expandHome(f))
		}
	}
	str(m.HostKey, "host_key", &cfg.HostKey, false)
	boolean(m.InsecureIgnoreHostKey, "insecure_ignore_host_key", &cfg.InsecureIgnoreHostKey)
	duration(m.ConnectTimeout, "connect_timeout", &cfg.ConnectTimeout)
	duration(m.CommandTimeout, "command_timeout", &cfg.CommandTimeout)
	integer(m.MaxSessions, "max_sessions", &cfg.MaxSessions)
	m.check(cfg, at, &diags)
	return diags
}

// check applies the plan-time rules of ssh_validation.go to the values m
// sets, for values that were not known at plan: they are checked here,
// before any host is reached. cfg holds the merged settings, so a key is
// checked with the passphrase that will decrypt it wherever that was set.
func (m *sshModel) check(cfg *transport.Config, at path.Path, diags *diag.Diagnostics) {
	set := func(v types.String) bool { return !v.IsNull() && !v.IsUnknown() }
	rule := func(v types.String, name string, f func(string) error) {
		if set(v) {
			if err := f(v.ValueString()); err != nil {
				addSSHError(diags, at.AtName(name), err)
			}
		}
	}
	rule(m.User, "user", transport.ValidateUser)
	rule(m.HostKey, "host_key", hostKeyCheck.rule)
	rule(m.PrivateKeyPath, "private_key_path", checkLocalPath)
	rule(m.AgentSocket, "agent_socket", socketCheck.rule)
	if !m.KnownHostsFiles.IsNull() && !m.KnownHostsFiles.IsUnknown() {
		for i, e := range m.KnownHostsFiles.Elements() {
			if s, ok := e.(types.String); ok && set(s) {
				if err := checkLocalPath(s.ValueString()); err != nil {
					addSSHError(diags, at.AtName("known_hosts_files").AtListIndex(i), err)
				}
			}
		}
	}
	if cfg.PrivateKey != "" && (set(m.PrivateKey) || set(m.PrivateKeyPassphrase)) {
		switch err := transport.CheckPrivateKey([]byte(cfg.PrivateKey), cfg.Passphrase); {
		case errors.Is(err, transport.ErrWrongPassphrase):
			addSSHError(diags, at.AtName("private_key_passphrase"), err)
		case err != nil:
			addSSHError(diags, at.AtName("private_key"), err)
		}
	}
}

const unknownDetail = "The value is not known yet; the host cannot be reached before it is. " +
	"Use values known at plan time for connection settings."

// expandHome expands a leading ~/ to the user's home directory.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// hostConfig merges the provider's defaults with a resource's connection
// block into the transport settings of that host.
// The connection comes from the plan, state or import: a resource passes
// *data.Connection (a missing block is reported here too, as the schema
// makes `host` required and the block therefore present).
func (c *client) hostConfig(conn connectionModel) (transport.Config, diag.Diagnostics) {
	ctx := context.Background()
	var diags diag.Diagnostics
	cfg := c.defaults
	cfg.KnownHostsFiles = append([]string(nil), c.defaults.KnownHostsFiles...)
	if c.defaultsErr != nil {
		diags.Append(c.defaultsErr...)
		return cfg, diags
	}
	at := path.Root(connectionBlockName)
	if conn.Host.IsUnknown() || conn.Host.IsNull() || conn.Host.ValueString() == "" {
		diags.AddAttributeError(at.AtName("host"), summaryProviderConfig, "The host to connect to must be known.")
		return cfg, diags
	}
	cfg.Host = conn.Host.ValueString()
	if err := transport.ValidateHost(cfg.Host); err != nil {
		addSSHError(&diags, at.AtName("host"), err)
	}
	diags.Append(conn.overlay(ctx, &cfg, at)...)
	return cfg, diags
}

// durationValidator checks a Go duration string at plan time.
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "a duration such as `30s` or `2m`"
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if d, err := time.ParseDuration(s); err != nil || d <= 0 {
		addAttributeError(&resp.Diagnostics, req.Path, "Invalid Duration",
			fmt.Sprintf("%q is not a positive duration; write it like `30s` or `2m`", s))
	}
}
