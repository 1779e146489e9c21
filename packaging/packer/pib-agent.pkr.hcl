# SPDX-License-Identifier: MIT
# Packer (HCL2) example: one pib-agent build on an EC2 instance started from the customer's
# gold image, then the AMI. The portable agent tarball and the job are uploaded (file
# provisioners); as root, the tarball is copied into a private folder and its SHA-256 checked
# before anything is unpacked; `pib-agent run --job FILE` installs the bundle, scans, checks
# and delivers the signed reports; the agent's folder is removed and the build's record
# (written only once the orchestrator accepted the final report) is checked.
# Variables: variables.pkr.hcl. Run: packer init . && packer build -var-file=my.pkrvars.hcl .

packer {
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

source "amazon-ebs" "gold" {
  region                  = var.region
  source_ami              = var.source_ami
  instance_type           = var.instance_type
  ssh_username            = var.ssh_username
  temporary_key_pair_type = "ed25519"
  ami_name                = "${var.ami_name_prefix}-${var.build_id}"
  imds_support            = "v2.0"
  # IMDSv2 only on the build instance too (the agent reads the instance identity with it)
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  tags = {
    "pib-agent:build_id" = var.build_id
  }
}

build {
  sources = ["source.amazon-ebs.gold"]

  # the ssh user's own upload folder
  provisioner "shell" {
    inline_shebang = "/bin/sh -eu"
    inline = [
      "rm -rf /tmp/pib-agent-upload",
      "mkdir -m 0700 /tmp/pib-agent-upload",
    ]
  }

  provisioner "file" {
    source      = var.agent_tarball
    destination = "/tmp/pib-agent-upload/pib-agent.tar.gz"
  }

  provisioner "file" {
    source      = var.job_file
    destination = "/tmp/pib-agent-upload/job.json"
  }

  # as root: copies into root's private folder (the ssh user can no longer change them), checks
  # the SHA-256 before unpacking, unpacks
  provisioner "shell" {
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = ["AGENT_SHA256=${var.agent_sha256}"]
    inline_shebang   = "/bin/sh -eu"
    inline = [
      "umask 077",
      "d=/var/tmp/pib-agent-inject",
      "rm -rf \"$d\"",
      "mkdir -m 0700 \"$d\"",
      "cp /tmp/pib-agent-upload/pib-agent.tar.gz \"$d/agent.tar.gz\"",
      "cp /tmp/pib-agent-upload/job.json \"$d/job.json\"",
      "rm -rf /tmp/pib-agent-upload",
      "got=$(sha256sum <\"$d/agent.tar.gz\")",
      "got=$${got%% *}",
      "if [ \"$got\" != \"$AGENT_SHA256\" ]; then echo \"the agent's tarball has SHA-256 $got, not $AGENT_SHA256: refused\" >&2; rm -rf \"$d\"; exit 1; fi",
      "mkdir \"$d/tree\"",
      "gzip -dc \"$d/agent.tar.gz\" | (cd \"$d/tree\" && tar -xf -)",
      "rm -f \"$d/agent.tar.gz\"",
      "set -- \"$d\"/tree/pib-agent-*/bin/pib-agent",
      "[ $# -eq 1 ] && [ -x \"$1\" ] || { echo 'not one pib-agent tree in the tarball' >&2; exit 1; }",
      "agent=$1",
      "\"$agent\" --version",
    ]
  }

  # as root: the build itself; the agent's folder is removed whatever the outcome
  provisioner "shell" {
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = ["BUILD_ID=${var.build_id}"]
    inline_shebang   = "/bin/sh -u"
    inline = [
      "d=/var/tmp/pib-agent-inject",
      "set -- \"$d\"/tree/pib-agent-*/bin/pib-agent",
      "agent=$1",
      "rc=0",
      "\"$agent\" run --job \"$d/job.json\" || rc=$?",
      "rm -rf \"$d\"",
      "echo \"pib-agent run: exit $rc\"",
      "[ \"$rc\" -eq 0 ] || exit \"$rc\"",
      "f=/var/lib/pib-agent/done/$BUILD_ID",
      "grep -q \"\\\"build_id\\\": \\\"$BUILD_ID\\\"\" \"$f\" || { echo \"no record of build $BUILD_ID in $f: the final report was not accepted\" >&2; exit 1; }",
      "grep -Eq '\"final_report_sha256\": \"[0-9a-f]{64}\"' \"$f\" || { echo \"$f names no final report\" >&2; exit 1; }",
      "echo \"build $BUILD_ID: the final report was accepted\"",
    ]
  }
}
