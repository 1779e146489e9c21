/* SPDX-License-Identifier: MIT */
/* Deb signatures: debsig-verify against policies and keyrings built from a target's `keys`. */
#pragma once

#include "installer.h"

/*
 * For a deb target with `keys`: checks the origin signature (debsigs' `_gpgorigin`) of every
 * package of c->target with debsig-verify, against a policy and a keyring made in a private
 * mkdtemp directory from the key members (ASCII-armored or binary OpenPGP public keys; one
 * policy per primary key). Each verdict goes to c->sigs. With allow_unsigned, a package
 * without an origin signature is accepted and recorded as such; a signature that is there
 * must still verify against one of the keys. A target without keys: nothing to do, 0.
 * Errors: package.signature_invalid (names the member and debsig-verify's reason, its output
 * as the detail), bundle.bad_key (a key member that is not an OpenPGP public key),
 * tool.missing (gpg or debsig-verify not on this machine), agent.tmpdir.
 */
int inst_deb_debsig_verify(struct inst_ctx *c) PIB_MUST_CHECK;
