/* SPDX-License-Identifier: MIT */
/* pib-agent's entry point: parse the command line, run the command, exit with its code. */
#include "cli.h"

#include <locale.h>
#include <signal.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct agent_opts o;
	const struct agent_command *cmd = NULL;
	bool done = false;
	int r;

	setlocale(LC_ALL, "C");
	/*
	 * With TZ unset, glibc stats /etc/localtime again on every mktime() (libarchive calls it for
	 * each zip member's time): 200,000 stats and a contended lock for osv.dev's all.zip of 50,000
	 * records. The same zone named explicitly is read once. The agent itself only uses UTC.
	 */
	if (!getenv("TZ"))
		(void)setenv("TZ", ":/etc/localtime", 0);
	/* a closed stderr or stdout pipe must not kill the run before its report is written */
	signal(SIGPIPE, SIG_IGN);
	r = agent_cli_parse(argc, argv, &o, &cmd, &done);
	if (r != 0 || done)
		return r;
	return cmd->fn(&o);
}
