terraform {
  required_version = ">= 1.7"
  required_providers {
    lvs = {
      source = "lvsops/lvs"
    }
  }
}
