package keepalivedconf

import (
	"encoding/json"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// deepCopy copies a configuration through JSON (every field of the model
// is exported and round-trips).
func deepCopy(cfg *model.KeepalivedConfig) *model.KeepalivedConfig {
	data, err := json.Marshal(cfg)
	if err != nil {
		panic("keepalivedconf: copying a configuration: " + err.Error())
	}
	var out model.KeepalivedConfig
	if err := json.Unmarshal(data, &out); err != nil {
		panic("keepalivedconf: copying a configuration: " + err.Error())
	}
	return &out
}
