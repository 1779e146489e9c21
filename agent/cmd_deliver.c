/* SPDX-License-Identifier: MIT */
/* pib-agent deliver: sends the reports still in the spool and says what was sent and what is left. */
#include "cli.h"
#include "log.h"
#include "proc.h"
#include "spool.h"

#include <errno.h>
#include <stdlib.h>

#define DELIVER_STATE_DIR "/var/lib/pib-agent"
#define DELIVER_SECONDS 600.0 /* the whole delivery, every report's retries included */
#define DELIVER_SECONDS_MAX 86400.0

struct tally {
	unsigned sent, left;
};

static void on_report(const struct spool_item *it, const struct pib_err *e, void *userdata)
{
	struct tally *t = userdata;
	char status[32] = "no HTTP answer";

	if (it->status)
		snprintf(status, sizeof(status), "HTTP %ld", it->status);
	if (!e) {
		t->sent++;
		agent_log("sent: build %s phase %s: %s %s: %s (try %u)", it->build_id, it->phase, it->method,
			  it->url_redacted ? it->url_redacted : "(url)", status, it->tries);
		return;
	}
	t->left++;
	if (!it->build_id[0]) {
		agent_error("still spooled: %s: %s [%s]", it->file, e->msg, e->code);
		return;
	}
	if (!it->tried) {
		agent_error("still spooled: build %s phase %s (%s): %s [%s]", it->build_id, it->phase, it->file,
			    e->msg, e->code);
		return;
	}
	agent_error("still spooled: build %s phase %s (%s, try %u): %s [%s]", it->build_id, it->phase, status,
		    it->tries, e->msg, e->code);
}

/* The time deliver may take: PIB_DELIVER_SECONDS (1 to 86400), else 600 s; -1 for a bad value. */
static double deliver_seconds(void)
{
	const char *v = getenv("PIB_DELIVER_SECONDS");
	char *end = NULL;

	if (!v || !v[0])
		return DELIVER_SECONDS;
	errno = 0;
	double s = strtod(v, &end);
	if (errno || *end || !(s >= 1 && s <= DELIVER_SECONDS_MAX))
		return -1;
	return s;
}

int agent_cmd_deliver(const struct agent_opts *o)
{
	const char *dir = o->state_dir && o->state_dir[0] ? o->state_dir : DELIVER_STATE_DIR;
	struct tally t = {0};
	struct pib_err e = {0};
	unsigned left = 0;
	double secs = deliver_seconds();

	if (secs < 0) {
		agent_error("deliver: PIB_DELIVER_SECONDS must be a number of seconds from 1 to %.0f",
			    DELIVER_SECONDS_MAX);
		return PIB_EXIT_USAGE;
	}
	pib_catch_interrupts();
	int r = spool_deliver_each(dir, pib_now_mono() + secs, on_report, &t, &left, &e);
	if (r < 0 && r != -EAGAIN) {
		agent_error("deliver: %s [%s]", e.msg, e.code);
		pib_err_clear(&e);
		return PIB_EXIT_ENV;
	}
	pib_err_clear(&e);
	if (left) {
		agent_error("deliver: %u sent, %u still in the spool %s/spool (pib-agent deliver sends them again)",
			    t.sent, left, dir);
		return PIB_EXIT_SPOOLED;
	}
	if (t.sent)
		agent_log("deliver: %u sent, none left in %s/spool", t.sent, dir);
	else
		agent_log("deliver: nothing to send in %s/spool", dir);
	return PIB_EXIT_OK;
}
