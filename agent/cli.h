/* SPDX-License-Identifier: MIT */
/* The command line: every command and option declared once, in one table (--help, man page, README). */
#pragma once

#include "util.h"

/* Parsed options of one invocation. */
struct agent_opts {
	const char *command;
	const char *root;      /* NULL when --root was not given */
	const char *db;
	const char *key;
	const char *report;
	const char *os;
	const char *job;
	const char *policy;    /* --policy FILE, or NULL */
	const char *pubkey;
	const char *html;
	const char *out;
	const char *state_dir;
	const char *log_format;
	const char *vulns, *vulns_fail_on, *vulns_max_age; /* checked by agent_vulns_options */
	const char *sbom;      /* --sbom FILE: where validate writes the SBOM's envelope */
	bool dry_run, no_scan, json;
	int jobs;
	uint64_t max_filesize, max_scansize; /* 0: the scanner's default */
	unsigned max_recursion, max_files;
	bool heuristics;
	char **args; /* positional arguments */
	int n_args;
};

enum agent_cmd_flag {
	CMD_VALIDATE = 1 << 0,
	CMD_RUN = 1 << 1,
	CMD_SCAN = 1 << 2,
	CMD_VERIFY = 1 << 3,
	CMD_SHOW = 1 << 4,
	CMD_KEYGEN = 1 << 5,
	CMD_DELIVER = 1 << 6,
	CMD_POLICY = 1 << 7,
	CMD_VULNS = 1 << 8,
	CMD_SBOM = 1 << 9,
	CMD_VULNS_INDEX = 1 << 10,
};

struct agent_command {
	const char *name;
	unsigned flag;
	const char *usage;   /* after the command name */
	const char *summary; /* one line */
	int min_args, max_args;
	int (*fn)(const struct agent_opts *o);
};

/* How an option's value is stored in struct agent_opts. */
enum agent_opt_kind {
	OPT_STR,   /* const char * */
	OPT_FLAG,  /* bool, no value */
	OPT_JOBS,  /* int, 1 to 256 */
	OPT_SIZE,  /* uint64_t, a size such as 200M or 2G, not 0 */
	OPT_COUNT, /* unsigned, 1 to 1000000 */
	OPT_LOG,   /* const char *, text or json: sets the log's format at once */
};

struct agent_option {
	const char *name;    /* long name without "--" */
	const char *metavar; /* NULL: a flag */
	unsigned commands;   /* CMD_* it applies to */
	const char *help;
	enum agent_opt_kind kind;
	size_t offset;       /* of its field in struct agent_opts */
};

extern const struct agent_command agent_commands[];
extern const struct agent_option agent_options[];

/* Parses argv; on a usage error prints it on stderr and returns 3; --help/--version print and return 0 with *ret_done. */
int agent_cli_parse(int argc, char **argv, struct agent_opts *o, const struct agent_command **ret_cmd,
		    bool *ret_done);
void agent_print_help(FILE *f, const struct agent_command *only);

/* Command entry points. */
int agent_cmd_validate(const struct agent_opts *o);
int agent_cmd_run(const struct agent_opts *o); /* cmd_run.c */
int agent_cmd_scan(const struct agent_opts *o); /* cmd_scan.c */
int agent_cmd_keygen(const struct agent_opts *o); /* cmd_report.c */
int agent_cmd_verify(const struct agent_opts *o);
int agent_cmd_show(const struct agent_opts *o);
int agent_cmd_deliver(const struct agent_opts *o); /* cmd_deliver.c */
int agent_cmd_policy(const struct agent_opts *o);  /* cmd_policy.c */
int agent_cmd_vulns(const struct agent_opts *o);   /* vulns_step.c */
int agent_cmd_vulns_index(const struct agent_opts *o); /* vulns_step.c */
int agent_cmd_sbom(const struct agent_opts *o);    /* cmd_sbom.c */
/* show's terminal view (with colours) and HTML page of a report's text, appended to term and html
 * (either may be NULL); verified when pub is given. Returns 0 or show's exit code. For the fuzzer. */
struct sign_key;
int agent_show_render(const char *text, size_t len, const struct sign_key *pub, struct pib_buf *term,
		      struct pib_buf *html);
