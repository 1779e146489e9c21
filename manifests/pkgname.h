/* SPDX-License-Identifier: MIT */
/* Package names, versions and architectures checked as strings against Debian policy and rpm's rules. */
#pragma once

#include <stdbool.h>

/* The longest name, version, release or architecture accepted (bytes). */
#define MF_PKGNAME_MAX 200

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ (two characters at least). */
bool mf_deb_name_valid(const char *s);
/*
 * Debian policy 5.6.12: [epoch:]upstream[-revision]. epoch: digits; upstream: starts with a
 * digit, alphanumerics and . + ~ (- only when there is a revision, : only after an epoch);
 * revision: alphanumerics and . + ~, not empty. Never '/', whitespace or a control character.
 */
bool mf_deb_version_valid(const char *s);
/* Lowercase letters, digits and '-', starting with a letter or digit (amd64, all, musl-linux-arm64). */
bool mf_deb_arch_valid(const char *s);

/* rpm's rules (rpmbuild's checks): a letter, digit or '_' first, then alphanumerics and . _ + - % { }; no "..". */
bool mf_rpm_name_valid(const char *s);
/* Version and release: alphanumerics and . _ + ~ ^ % { }, a letter, digit or '_' first; no '-', no "..". */
bool mf_rpm_version_valid(const char *s);
bool mf_rpm_release_valid(const char *s);
/* Letters, digits and '_' (x86_64, noarch, i686, aarch64). */
bool mf_rpm_arch_valid(const char *s);
/* libsolv's rpm evr: [epoch:]version[-release], each part as above. */
bool mf_rpm_evr_valid(const char *s);

/* mf_deb_name_valid for installer "deb", mf_rpm_name_valid for "rpm"; false for any other. */
bool mf_package_name_valid(const char *installer, const char *name);
