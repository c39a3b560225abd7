package transport

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsAndID(t *testing.T) {
	cfg, err := Config{Host: "fe80::1", Password: "hunter2", InsecureIgnoreHostKey: true,
		Bastion: &Config{Host: "jump.example", Port: 2222, User: "ops", PrivateKey: "PEM", Passphrase: "pp", HostKey: "k"}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 22 || cfg.User != "root" || cfg.ConnectTimeout != DefaultConnectTimeout ||
		cfg.KeepaliveInterval != DefaultKeepaliveInterval || cfg.KeepaliveCountMax != 3 || cfg.MaxSessions != 4 || cfg.CommandTimeout != 0 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	want := "root@[fe80::1]:22 via ops@jump.example:2222"
	if cfg.ID() != want {
		t.Errorf("ID %q, want %q", cfg.ID(), want)
	}
	for _, secret := range []string{"hunter2", "PEM", "pp"} {
		if strings.Contains(cfg.ID(), secret) {
			t.Errorf("ID %q holds a secret", cfg.ID())
		}
	}
}

func TestConfigDefaultKnownHosts(t *testing.T) {
	t.Setenv("HOME", "/home/someone")
	cfg, err := Config{Host: "h", Password: "x"}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.KnownHostsFiles) != 1 || !strings.HasSuffix(cfg.KnownHostsFiles[0], "known_hosts") {
		t.Errorf("host keys must be verified by default, got %v", cfg.KnownHostsFiles)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Host: "h", Password: "x", InsecureIgnoreHostKey: true}
	for field, mutate := range map[string]func(*Config){
		"Host":                  func(c *Config) { c.Host = "" },
		"Port":                  func(c *Config) { c.Port = 70000 },
		"PrivateKeyPath":        func(c *Config) { c.PrivateKey, c.PrivateKeyPath = "a", "b" },
		"":                      func(c *Config) { c.Password = "" },
		"InsecureIgnoreHostKey": func(c *Config) { c.KnownHostsFiles = []string{"kh"} },
		"HostKey":               func(c *Config) { c.InsecureIgnoreHostKey, c.HostKey, c.KnownHostsFiles = false, "k", []string{"kh"} },
		"CommandTimeout":        func(c *Config) { c.CommandTimeout = -time.Second },
		"MaxSessions":           func(c *Config) { c.MaxSessions = -1 },
	} {
		cfg := ok
		mutate(&cfg)
		_, err := cfg.normalize()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("field %q: got %v", field, err)
		}
	}
	bad := ok
	bad.Bastion = &Config{Host: "jump"}
	_, err := bad.normalize()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Host != "root@jump:22" {
		t.Errorf("bastion errors must name the bastion: %v", err)
	}
}
