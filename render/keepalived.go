package render

import (
	"errors"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Keepalived renders a director's keepalived.conf.
func Keepalived(cfg *model.KeepalivedConfig) (string, error) {
	return "", errors.New("render: keepalived.conf renderer not written yet")
}
