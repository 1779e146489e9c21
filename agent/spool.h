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
 * phase is "pre-install" or "final" (or "failed" for a job that could not run), or "sbom": the
 * SBOM's own envelope, spooled with the final report and sent after it.
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

/* ---- Added for pib-agent deliver and the tests: one report's outcome, for the caller's log. ---- */

/* What happened to one spooled report. */
struct spool_item {
	char build_id[129];
	char phase[16];
	char file[192];      /* the meta's name under spool/, for messages */
	char method[8];      /* "POST" or "PUT"; "" when the meta could not be read */
	char *url_redacted;  /* owned (spool_item_clear); NULL when the meta could not be read */
	double seq;          /* the order it was spooled in */
	long status;         /* the last HTTP status (0: none) */
	unsigned tries;      /* sends of this report by deliver or run, this one included */
	bool tried;          /* false: not sent this time (deadline passed, interrupted, unreadable) */
	bool sent;           /* accepted (a 2xx) and recorded in spool/sent/ */
};
void spool_item_clear(struct spool_item *it);

/* spool_send that also fills *ret (always, when ret is not NULL; clear it with spool_item_clear). */
int spool_send_item(const char *state_dir, const char *build_id, const char *phase, double deadline,
		    struct spool_item *ret, struct pib_err *err);

/* Called once per spooled report by spool_deliver_each: its outcome and, unless sent, its error. */
typedef void (*spool_report_fn)(const struct spool_item *it, const struct pib_err *err, void *userdata);
/*
 * spool_deliver_all that calls fn (when not NULL) after each report, in order, with what
 * happened to it; a report whose meta is unreadable is one call too (its error names the file).
 * Returns 0 when none is left; -EAGAIN with err set to the first report's error when some are
 * left; another negative errno with err set when the spool itself cannot be read or is unsafe
 * (deliver.spool_unsafe, deliver.spool_io): nothing was sent then.
 */
int spool_deliver_each(const char *state_dir, double deadline, spool_report_fn fn, void *userdata,
		       unsigned *ret_left, struct pib_err *err);
