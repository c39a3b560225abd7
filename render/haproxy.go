package render

import (
	"errors"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// HAProxy renders a host's haproxy.cfg.
func HAProxy(cfg *model.HAProxyConfig) (string, error) {
	return "", errors.New("render: haproxy.cfg renderer not written yet")
}
