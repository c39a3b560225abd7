# A certificate from the hashicorp/tls provider (or any PEM source), its key
# write-only (Terraform 1.11+): the key never reaches the plan or the state.
# Bump private_key_pem_wo_version whenever the key changes.
resource "lvs_haproxy_certificate" "www" {
  ssh {
    host = "10.0.0.21"
  }
  name                       = "www"
  certificate_pem            = file("${path.module}/www.crt") # leaf, then intermediates
  private_key_pem_wo         = file("${path.module}/www.key")
  private_key_pem_wo_version = 1
}

# A frontend terminating TLS with it: bind :443 ssl crt <the agent's file>.
resource "lvs_haproxy_frontend" "https" {
  ssh {
    host = "10.0.0.21"
  }
  name = "https"
  mode = "http"
  bind {
    port        = 443
    certificate = lvs_haproxy_certificate.www.name
    options     = "alpn h2,http/1.1"
  }
  backend {
    server {
      name    = "app1"
      address = "10.0.1.11"
      port    = 8080
      check   = true
    }
  }
}
