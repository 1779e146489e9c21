/* SPDX-License-Identifier: MIT */
/* Installing a resolved deb transaction into a root: apt or dpkg, contained, checked against the transaction. */
#pragma once

#include "installer.h"

/* Installs c->pkgs (resolve's transaction) into c->root; see deb_install.c for the paths taken. */
int deb_install(struct inst_ctx *c) PIB_MUST_CHECK;
/* Releases the root's locks and removes what the install put there for its own use. */
void deb_cleanup(struct inst_ctx *c);
