package transport

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// credentials holds what a Config authenticates with, parsed once.
type credentials struct {
	signer      ssh.Signer // from PrivateKey or PrivateKeyPath; nil if neither
	agentSocket string
	password    string
}

// newCredentials parses the private key of a normalized config. Its errors
// never quote key material or the passphrase.
func newCredentials(c Config) (*credentials, error) {
	cr := &credentials{password: c.Password}
	if c.Agent {
		cr.agentSocket = c.AgentSocket
	}
	pem, field := []byte(c.PrivateKey), "PrivateKey"
	if c.PrivateKeyPath != "" {
		field = "PrivateKeyPath"
		b, err := os.ReadFile(c.PrivateKeyPath)
		if err != nil {
			return nil, &ConfigError{Host: c.ID(), Field: field, Msg: "cannot read the private key", Err: err}
		}
		pem = b
	}
	if len(pem) == 0 {
		return cr, nil
	}
	signer, err := parseKey(pem, c.Passphrase)
	if err != nil {
		return nil, &ConfigError{Host: c.ID(), Field: field, Msg: "unusable private key", Err: err}
	}
	cr.signer = signer
	return cr, nil
}

// methods returns the authentication methods to offer, in order: public keys
// (the configured key, then the agent's), password, keyboard-interactive.
// names lists them for error messages. The caller must call done when the
// handshake is over; it closes the agent connection.
func (cr *credentials) methods() (methods []ssh.AuthMethod, names []string, done func(), err error) {
	done = func() {}
	var signers []ssh.Signer
	if cr.signer != nil {
		signers = append(signers, cr.signer)
		names = append(names, "publickey ("+cr.signer.PublicKey().Type()+")")
	}
	if cr.agentSocket != "" {
		conn, err := net.Dial("unix", cr.agentSocket)
		if err != nil {
			return nil, nil, done, fmt.Errorf("ssh-agent at %s: %w", cr.agentSocket, err)
		}
		agentSigners, err := agent.NewClient(conn).Signers()
		if err != nil {
			conn.Close()
			return nil, nil, done, fmt.Errorf("ssh-agent at %s: list keys: %w", cr.agentSocket, err)
		}
		done = func() { conn.Close() }
		signers = append(signers, agentSigners...)
		names = append(names, fmt.Sprintf("publickey (ssh-agent, %d keys)", len(agentSigners)))
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if cr.password != "" {
		methods = append(methods, ssh.Password(cr.password), ssh.KeyboardInteractive(cr.answer))
		names = append(names, "password", "keyboard-interactive")
	}
	return methods, names, done, nil
}

// answer replies to keyboard-interactive prompts: the password for every
// hidden prompt, nothing for visible ones.
func (cr *credentials) answer(_, _ string, questions []string, echos []bool) ([]string, error) {
	answers := make([]string, len(questions))
	for i := range questions {
		if !echos[i] {
			answers[i] = cr.password
		}
	}
	return answers, nil
}
