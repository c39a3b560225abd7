package render

import (
	"errors"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// IPVSRules renders the IPVS table a director's configuration programs, in
// the format of `ipvsadm-save -n` (accepted by `ipvsadm-restore`).
func IPVSRules(cfg *model.KeepalivedConfig) (string, error) {
	return "", errors.New("render: ipvsadm rules renderer not written yet")
}
