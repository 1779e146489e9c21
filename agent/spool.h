/* SPDX-License-Identifier: MIT */
/* The delivery spool: every report written durably first, sent with retries, forgotten only after a 2xx. */
#pragma once

#include "http.h"

/*
 * Layout under STATE_DIR/spool: BUILD_ID.PHASE.json (the signed envelope, mode 0600) and
 * BUILD_ID.PHASE.meta.json (url, method, ca_bundle, idempotency key); written under a
 * temporary name, fsynced, renamed, then the folder fsynced. After a 2xx the pair is moved to
 * STATE_DIR/spool/sent/ (and the folders fsynced) before anything else happens, so a report
 * is never sent again after its 2xx; a crash between the 2xx and that record resends it with
 * the same Idempotency-Key: BUILD_ID:PHASE, which the orchestrator deduplicates.
 * phase is "pre-install" or "final" (or "failed" for a job that could not run).
 */
int spool_put(const char *state_dir, const char *build_id, const char *phase, const char *url,
	      const char *method, const char *ca_bundle, const char *report, size_t len, struct pib_err *err);

/* True when that report was accepted (is in spool/sent/). */
bool spool_sent(const char *state_dir, const char *build_id, const char *phase);
/* True when that report waits in the spool. */
bool spool_pending(const char *state_dir, const char *build_id, const char *phase);

/*
 * Sends one spooled report (retries until deadline, see http_send); 0 once accepted and
 * recorded; else the error (deliver.*) and the report stays spooled.
 */
int spool_send(const char *state_dir, const char *build_id, const char *phase, double deadline,
	       struct pib_err *err);

/*
 * Sends every spooled report, oldest first, each until deadline; *ret_left gets how many are
 * still spooled. Returns 0 when none is left.
 */
int spool_deliver_all(const char *state_dir, double deadline, unsigned *ret_left, struct pib_err *err);

/* Removes spool/sent/BUILD_ID.* (cleanup of a delivered build). */
int spool_forget(const char *state_dir, const char *build_id);
