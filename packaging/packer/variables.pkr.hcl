# SPDX-License-Identifier: MIT
# The variables of pib-agent.pkr.hcl: where the build instance runs, and the agent and job
# it is given. Set them with -var or a *.pkrvars.hcl file.

variable "region" {
  type        = string
  description = "AWS region of the build"
}

variable "source_ami" {
  type        = string
  description = "the customer's gold image (ami-...)"
}

variable "instance_type" {
  type        = string
  default     = "t3.large"
  description = "the build instance (an m7g/t4g type for an aarch64 gold image, with the aarch64 tarball)"
}

variable "ssh_username" {
  type        = string
  default     = "ec2-user"
  description = "the gold image's login user (ec2-user, ubuntu, admin, ...): it must be able to sudo"
}

variable "ami_name_prefix" {
  type    = string
  default = "pib"
}

variable "agent_tarball" {
  type        = string
  description = "path on this machine of the portable tree, pib-agent-VERSION-ARCH.tar.gz (packaging/portable.sh OUTDIR ARCH)"
}

variable "agent_sha256" {
  type        = string
  description = "the tarball's SHA-256, checked on the instance before anything is unpacked"
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.agent_sha256))
    error_message = "The agent_sha256 value must be 64 lowercase hex digits."
  }
}

variable "job_file" {
  type        = string
  description = "path on this machine of the job (manifests/job.schema.json)"
}

variable "build_id" {
  type        = string
  description = "the job's build_id: the AMI's name and tag, and the build whose record is checked"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.build_id))
    error_message = "The build_id value must be 1 to 128 of A-Z a-z 0-9 . _ -."
  }
}
