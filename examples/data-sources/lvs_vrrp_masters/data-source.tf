# Catch split brain: every plan and apply checks that each VRRP instance of
# the two directors has exactly one MASTER. A failed check (or a director
# that cannot be read) is reported as a warning; it does not stop the run.
check "one_vrrp_master" {
  data "lvs_vrrp_masters" "web" {
    hosts = ["10.0.0.11", "10.0.0.12"]
    # Directors just created are still electing: wait up to 15 s (the
    # default) for one MASTER per instance before reporting.
    settle_seconds = 15
  }

  assert {
    condition     = data.lvs_vrrp_masters.web.all_have_one_master
    error_message = "VRRP instances without exactly one MASTER: ${jsonencode([for i in data.lvs_vrrp_masters.web.instances : i.states if i.masters != 1])}"
  }
}

# Or stop a run on split brain, with a postcondition.
data "lvs_vrrp_masters" "guard" {
  hosts          = ["10.0.0.11", "10.0.0.12"]
  instance_names = ["VI_WEB"]

  lifecycle {
    postcondition {
      condition     = !self.split_brain
      error_message = "Split brain: ${join(", ", self.instances[0].master_hosts)} are all MASTER of VI_WEB."
    }
  }
}
