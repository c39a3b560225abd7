package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// Plan-time checks of the SSH settings, wherever they are written: the
// provider block, its bastion block, the `ssh` block of every resource and
// data source, and the hosts other attributes name (`directors`, `hosts`).
// The rules themselves live in internal/transport; these validators only
// put their verdict on the attribute. A value not known at plan is checked
// when it is, by the same rules, before any host is reached (overlay,
// hostConfig). No validator quotes a secret.

// sshCheck is a plain-string rule on one SSH setting.
type sshCheck struct {
	what string
	rule func(string) error
}

func (c sshCheck) Description(context.Context) string             { return c.what }
func (c sshCheck) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (c sshCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := c.rule(req.ConfigValue.ValueString()); err != nil {
		addSSHError(&resp.Diagnostics, req.Path, err)
	}
}

// hostCheck: the `host` of an ssh or bastion block.
var hostCheck = sshCheck{what: "a host name, an IPv4 address or an IPv6 address", rule: transport.ValidateHost}

// userCheck: a login user.
var userCheck = sshCheck{what: "a login user name", rule: transport.ValidateUser}

// hostKeyCheck: pinned host keys in authorized_keys form.
var hostKeyCheck = sshCheck{what: "public keys in authorized_keys form, one per line", rule: func(s string) error {
	_, err := transport.ParseHostKeys(s)
	return err
}}

// localPathCheck: a file path on the machine running Terraform. An empty
// path is refused: `private_key_path = ""` would silently drop the
// provider's key.
var localPathCheck = sshCheck{what: "a path on the machine running Terraform", rule: checkLocalPath}

// socketCheck: the ssh-agent socket; empty means $SSH_AUTH_SOCK, as unset does.
var socketCheck = sshCheck{what: "the path of the ssh-agent socket", rule: func(s string) error {
	if s == "" {
		return nil
	}
	return checkLocalPath(s)
}}

func checkLocalPath(s string) error {
	switch {
	case s == "":
		return errors.New("is empty; write a path, or leave the attribute unset")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return errors.New("contains a control character (a newline?)")
	}
	return nil
}

// privateKeyCheck parses `private_key` with the passphrase beside it.
// An encrypted key without a passphrase is refused where the passphrase
// cannot come from anywhere else: in the provider block (and its bastion),
// unless $LVS_SSH_PRIVATE_KEY_PASSPHRASE is set. In a resource's ssh block
// the passphrase may be the provider's, so that case waits for the apply,
// where the merged settings are checked before any host is reached.
type privateKeyCheck struct{}

func (privateKeyCheck) Description(context.Context) string {
	return "a private key in PEM form that its passphrase, if any, decrypts"
}
func (v privateKeyCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (privateKeyCheck) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	passAt := req.Path.ParentPath().AtName("private_key_passphrase")
	pass, known := siblingString(ctx, req.Config, passAt)
	if !known {
		return
	}
	_, inProvider := req.Config.Schema.(pschema.Schema)
	if pass == "" && inProvider {
		pass = os.Getenv(envPassphrase)
		if pass == "" && !req.Path.ParentPath().Equal(path.Empty()) {
			// The bastion inherits the provider's passphrase.
			if pass, known = siblingString(ctx, req.Config, path.Root("private_key_passphrase")); !known {
				return
			}
		}
	}
	err := transport.CheckPrivateKey([]byte(req.ConfigValue.ValueString()), pass)
	switch {
	case errors.Is(err, transport.ErrKeyEncrypted) && !inProvider:
		return // the provider block may hold the passphrase: checked at apply
	case errors.Is(err, transport.ErrWrongPassphrase):
		addSSHError(&resp.Diagnostics, passAt, err)
	case err != nil:
		addSSHError(&resp.Diagnostics, req.Path, err)
	}
}

// siblingString reads another string attribute of the configuration; known
// is false when it is unknown (the check then waits) and an absent or null
// attribute reads as "".
func siblingString(ctx context.Context, config tfsdk.Config, at path.Path) (s string, known bool) {
	var v types.String
	if config.GetAttribute(ctx, at, &v).HasError() || v.IsNull() {
		return "", true
	}
	if v.IsUnknown() {
		return "", false
	}
	return v.ValueString(), true
}

// knownHostsFileCheck: every element of `known_hosts_files`.
var knownHostsFileCheck = sshCheck{what: "a known_hosts file path", rule: checkLocalPath}

// hostSpecCheck: a host written with its user and port, as `hosts` of
// lvs_vrrp_masters takes it: what parseHostImportID reads, with a host that
// passes ValidateHost and a user that passes ValidateUser.
var hostSpecCheck = sshCheck{what: "`host`, `user@host` or `user@host:port`", rule: checkHostSpec}

func checkHostSpec(s string) error {
	user, host, _, err := parseHostImportID(s)
	if err == nil && user != "" {
		err = transport.ValidateUser(user)
	}
	if err == nil {
		err = transport.ValidateHost(host)
	}
	if err != nil {
		return fmt.Errorf("%q is not `host`, `user@host` or `user@host:port` (IPv6: `[2001:db8::1]:22`): %w", s, err)
	}
	return nil
}

// hostValidators are the validators of a `host` attribute.
func hostValidators() []validator.String { return []validator.String{hostCheck} }

// hostValidatorsBesidesEmpty are hostValidators for a `host` whose
// resource reports an empty one itself (lvs_real_server's host block).
func hostValidatorsBesidesEmpty() []validator.String {
	return []validator.String{sshCheck{what: hostCheck.what, rule: func(s string) error {
		if s == "" {
			return nil
		}
		return transport.ValidateHost(s)
	}}}
}

// directorCheck: an entry of `directors` (splitDirector). It is a type of
// its own so that the error lands on the entry (directors[Value("...")]).
type directorCheck struct{}

func (directorCheck) Description(context.Context) string {
	return "HOST, HOST:PORT, USER@HOST or USER@HOST:PORT (an lvs_director's id)"
}
func (v directorCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (directorCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, _, _, err := splitDirector(req.ConfigValue.ValueString()); err != nil {
		addDirectorError(&resp.Diagnostics, req.ConfigValue.ValueString(), err)
	}
}

// hostSpecValidators are the validators of a list of hosts written as
// `host`, `user@host` or `user@host:port`.
func hostSpecValidators() []validator.List {
	return []validator.List{listvalidator.ValueStringsAre(hostSpecCheck)}
}

// hostSpecConnection is the connection to a host written as `host`,
// `user@host` or `user@host:port`, checked by the rules of hostSpecCheck.
func hostSpecConnection(s string) (connectionModel, error) {
	if err := checkHostSpec(s); err != nil {
		return connectionModel{}, err
	}
	return importConnection(s)
}
