/* SPDX-License-Identifier: MIT */
/* pib-agent deliver: sends the reports still in the spool and says what was sent and what is left. */
#include "cli.h"
#include "log.h"

int agent_cmd_deliver(const struct agent_opts *o)
{
	(void)o;
	agent_error("deliver: the delivery spool is not built yet");
	return PIB_EXIT_ENV;
}
