terraform {
  required_providers {
    lvs = {
      source = "lvsops/lvs"
    }
  }
}

# The render-only data sources (lvs_keepalived_config, lvs_haproxy_config)
# need no provider configuration.
provider "lvs" {}
