/* SPDX-License-Identifier: MIT */
/* Running a child process: absolute path, fixed argv, scrubbed environment, captured output, timeout. */
#pragma once

#include "util.h"

#include <signal.h>
#include <sys/types.h>

struct pib_spawn_opts {
	char *const *env;      /* full environment (NULL: a minimal PATH/LANG one) */
	const char *cwd;       /* working directory, or NULL */
	double timeout;        /* seconds; <= 0 means 3600 */
	size_t max_output;     /* bytes of stdout+stderr kept; 0 means 4 MiB (the end is kept) */
	int stdin_fd;          /* -1: /dev/null */
	bool merge_output;     /* always: stdout and stderr go into one buffer */
};

struct pib_spawn_result {
	int status;            /* exit code, or 128+signal, or -1 when it timed out */
	bool timed_out;
	bool interrupted;      /* SIGTERM, SIGINT or SIGHUP reached the agent: the child was killed */
	struct pib_buf output; /* stdout and stderr interleaved, as a person would see them */
	size_t output_dropped; /* bytes not kept because of max_output */
};

/*
 * Runs argv[0] (an absolute path) with argv. Returns 0 when the child ran (whatever its exit
 * status: see res->status), or a negative errno when it could not be started. res is owned
 * by the caller: free with pib_spawn_result_free.
 */
int pib_spawn(char *const argv[], const struct pib_spawn_opts *opts, struct pib_spawn_result *res)
	PIB_MUST_CHECK;
void pib_spawn_result_free(struct pib_spawn_result *res);

/*
 * Collects the output of a started child (pid, the read end of its output pipe, closed here)
 * until it ends, its timeout passes or the agent is interrupted (the child's process group is
 * then killed), and reaps it. For starters other than pib_spawn (base/contain.c).
 */
void pib_spawn_collect(pid_t pid, int outfd, const struct pib_spawn_opts *opts,
		       struct pib_spawn_result *res);

/*
 * Called with each child's pid once it started (started true) and once it was reaped (false),
 * by pib_spawn and contain_spawn: run records the children's process groups, so that a rerun
 * after the agent was killed ends those still alive. NULL (the default): nothing.
 */
extern void (*pib_child_hook)(pid_t pid, bool started);

/* Set to the signal number once SIGTERM, SIGINT or SIGHUP reached the agent (pib_catch_interrupts). */
extern volatile sig_atomic_t pib_interrupted;
/* From now on those signals set pib_interrupted instead of killing the agent. */
void pib_catch_interrupts(void);

/* Finds an executable by name in a fixed list of system directories (no $PATH). */
char *pib_find_tool(const char *name);
/* The same, inside root (e.g. root/usr/bin/apt-get); returns the path as seen inside root. */
char *pib_find_tool_in_root(const char *root, const char *name);
