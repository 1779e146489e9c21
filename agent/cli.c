/* SPDX-License-Identifier: MIT */
/* The command line: every command and option declared once, in one table (--help, man page, README). */
#include "cli.h"

#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pib-config.h"
#include "scanner.h"

const struct agent_command agent_commands[] = {
	{"validate", CMD_VALIDATE, "BUNDLE",
	 "check a bundle: open, verify, resolve and (with --root) install and report", 1, 1,
	 agent_cmd_validate},
	{"run", CMD_RUN, "--job FILE|imds",
	 "the build pipeline: the job, fetch, verify, prescan, resolve, pre-install report, install, scans, final report, cleanup", 0, 0,
	 agent_cmd_run},
	{"scan", CMD_SCAN, "PATH...",
	 "scan files, directories and .deb/.rpm/.msi packages (by their payloads) with ClamAV and report", 1, -1,
	 agent_cmd_scan},
	{"verify", CMD_VERIFY, "REPORT --pubkey FILE", "check a report's signature: exit 0 valid, 1 invalid or tampered, 4 unreadable key",
	 1, 1, agent_cmd_verify},
	{"show", CMD_SHOW, "REPORT", "a person's view of a report: in the terminal, or a self-contained HTML page", 1, 1,
	 agent_cmd_show},
	{"keygen", CMD_KEYGEN, "--out PREFIX", "make an Ed25519 key pair for signing reports: PREFIX.key and PREFIX.pub", 0, 0,
	 agent_cmd_keygen},
	{"deliver", CMD_DELIVER, "[--state-dir DIR]", "send the reports still in the spool (exit 5 when some remain)", 0, 0,
	 agent_cmd_deliver},
	{"policy", CMD_POLICY, "[--root DIR] [PACKAGE.msi...]",
	 "audit an image or root against the image policy (read-only): logins, keys, secrets, file modes, end of life; "
	 "or MSI packages by their tables: services, Run keys, custom actions as LocalSystem, files outside their folders", 0, -1,
	 agent_cmd_policy},
	{"vulns", CMD_VULNS, "--vulns FILE|DIR [--root DIR]",
	 "match a root's installed packages against OSV vulnerability records, offline (read-only)", 0, 0,
	 agent_cmd_vulns},
	{"vulns-index", CMD_VULNS_INDEX, "--vulns FILE|DIR --out FILE",
	 "check an OSV feed once and write its index, which --vulns reads in a fraction of the time (made off the instance, as scanners ship their databases)", 0, 0,
	 agent_cmd_vulns_index},
	{"sbom", CMD_SBOM, "[--root DIR] [--out FILE]",
	 "the SBOM (CycloneDX 1.5, signed) of an image's or root's installed packages, read-only", 0, 0,
	 agent_cmd_sbom},
	{NULL, 0, NULL, NULL, 0, 0, NULL},
};

#define ALL_PIPE (CMD_VALIDATE | CMD_RUN)
const struct agent_option agent_options[] = {
	{"root", "DIR", ALL_PIPE | CMD_SCAN | CMD_POLICY | CMD_VULNS | CMD_SBOM,
	 "the image to work on; validate installs only into a --root given explicitly (--root / for this system)", OPT_STR, offsetof(struct agent_opts, root)},
	{"os", "ID:VERSION", ALL_PIPE | CMD_VULNS, "override the detected OS, e.g. debian:12 or windows:2022", OPT_STR, offsetof(struct agent_opts, os)},
	{"report", "FILE", ALL_PIPE | CMD_SCAN | CMD_POLICY | CMD_VULNS, "write the report to FILE (default: standard output)", OPT_STR, offsetof(struct agent_opts, report)},
	{"job", "FILE|imds", CMD_RUN,
	 "the job: a JSON file, or imds for EC2 user-data read over IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT honoured)", OPT_STR, offsetof(struct agent_opts, job)},
	{"policy", "FILE", ALL_PIPE | CMD_POLICY,
	 "the image policy (manifests/policy.schema.json): checks, severities, fail_on, allow-list; replaces the built-in default and a job's policy", OPT_STR, offsetof(struct agent_opts, policy)},
	{"dry-run", NULL, ALL_PIPE, "stop after resolve: nothing is installed", OPT_FLAG, offsetof(struct agent_opts, dry_run)},
	{"no-scan", NULL, ALL_PIPE, "skip both scans (recorded as skipped by request)", OPT_FLAG, offsetof(struct agent_opts, no_scan)},
	{"db", "DIR", ALL_PIPE | CMD_SCAN,
	 "the ClamAV signature database, a directory or one file (default /var/lib/clamav)", OPT_STR, offsetof(struct agent_opts, db)},
	{"jobs", "N", ALL_PIPE | CMD_SCAN | CMD_POLICY, "scanning threads (default: the number of CPUs)", OPT_JOBS, offsetof(struct agent_opts, jobs)},
	{"max-filesize", "SIZE", ALL_PIPE | CMD_SCAN,
	 "files (also inside archives and packages) larger than SIZE are not scanned but listed in scan.skipped (default 100M)", OPT_SIZE, offsetof(struct agent_opts, max_filesize)},
	{"max-scansize", "SIZE", ALL_PIPE | CMD_SCAN,
	 "scan at most SIZE bytes inside one file or package member; the rest is listed in scan.skipped (default 400M)", OPT_SIZE, offsetof(struct agent_opts, max_scansize)},
	{"max-recursion", "N", ALL_PIPE | CMD_SCAN, "scan archives nested at most N deep (default 17)", OPT_COUNT, offsetof(struct agent_opts, max_recursion)},
	{"max-files", "N", ALL_PIPE | CMD_SCAN, "scan at most N files inside one archive (default 10000)", OPT_COUNT, offsetof(struct agent_opts, max_files)},
	{"heuristics", NULL, ALL_PIPE | CMD_SCAN,
	 "also detect by heuristics (broken executables, encrypted archives, ...) and potentially unwanted software", OPT_FLAG, offsetof(struct agent_opts, heuristics)},
	{"key", "FILE", ALL_PIPE | CMD_SCAN | CMD_POLICY | CMD_VULNS | CMD_SBOM,
	 "sign the report with this Ed25519 private key (PKCS#8 PEM); without it the report is unsigned", OPT_STR, offsetof(struct agent_opts, key)},
	{"pubkey", "FILE", CMD_VERIFY | CMD_SHOW, "the Ed25519 public key (PEM) to check the report's signature with", OPT_STR, offsetof(struct agent_opts, pubkey)},
	{"json", NULL, CMD_VERIFY, "print the verified in-toto Statement (the signed bytes) instead of a summary", OPT_FLAG, offsetof(struct agent_opts, json)},
	{"html", "OUT", CMD_SHOW, "write a self-contained HTML page to OUT instead of the terminal view", OPT_STR, offsetof(struct agent_opts, html)},
	{"out", "PATH", CMD_KEYGEN | CMD_SBOM | CMD_VULNS_INDEX,
	 "keygen: write the key pair to PATH.key (mode 0600) and PATH.pub, never overwriting; sbom: write the SBOM to PATH (default: standard output); vulns-index: write the index to PATH (replaced atomically)", OPT_STR, offsetof(struct agent_opts, out)},
	{"sbom", "FILE", CMD_VALIDATE,
	 "also write the SBOM (CycloneDX 1.5 in its own signed envelope) of the transaction and the image's packages to FILE", OPT_STR, offsetof(struct agent_opts, sbom)},
	{"state-dir", "DIR", CMD_RUN | CMD_DELIVER,
	 "where run keeps its state and its spool of reports (default /var/lib/pib-agent)", OPT_STR, offsetof(struct agent_opts, state_dir)},
	{"log-format", "text|json", ALL_PIPE | CMD_SCAN | CMD_VERIFY | CMD_SHOW | CMD_KEYGEN | CMD_DELIVER | CMD_POLICY | CMD_VULNS | CMD_SBOM | CMD_VULNS_INDEX,
	 "the log on stderr: lines for people (text, the default) or one JSON object a line (json)", OPT_LOG, offsetof(struct agent_opts, log_format)},
	{"vulns", "FILE|DIR", ALL_PIPE | CMD_VULNS | CMD_VULNS_INDEX,
	 "OSV vulnerability records (one record or an array of them in FILE, osv.dev's all.zip, every *.json in DIR, or an index made by vulns-index) to match the image's and the transaction's packages against", OPT_STR, offsetof(struct agent_opts, vulns)},
	{"vulns-fail-on", "SEVERITY", ALL_PIPE | CMD_VULNS,
	 "a vulnerability the bundle brings at or above SEVERITY (info, low, medium, high, critical; default high) makes the run findings", OPT_STR, offsetof(struct agent_opts, vulns_fail_on)},
	{"vulns-max-age", "DAYS", ALL_PIPE | CMD_VULNS,
	 "a feed whose newest record is older than DAYS (default 7; 0: no limit) makes the run incomplete", OPT_STR, offsetof(struct agent_opts, vulns_max_age)},
	{NULL, NULL, 0, NULL, OPT_STR, 0},
};

void agent_print_help(FILE *f, const struct agent_command *only)
{
	if (only) {
		fprintf(f, "Usage: pib-agent %s %s [OPTIONS]\n%s\n\nOptions:\n", only->name, only->usage,
			only->summary);
	} else {
		fprintf(f, "Usage: pib-agent COMMAND [ARGS] [OPTIONS]\n"
			   "The agent of a private image build: installs a seller's bundle into an image,\n"
			   "scans it, checks it and reports.\n\nCommands:\n");
		for (int i = 0; agent_commands[i].name; i++)
			fprintf(f, "  %-9s %-28s %s\n", agent_commands[i].name, agent_commands[i].usage,
				agent_commands[i].summary);
		fprintf(f, "\nOptions:\n");
	}
	for (int i = 0; agent_options[i].name; i++) {
		if (only && !(agent_options[i].commands & only->flag))
			continue;
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", agent_options[i].name,
			 agent_options[i].metavar ? " " : "",
			 agent_options[i].metavar ? agent_options[i].metavar : "");
		fprintf(f, "  %-24s %s\n", left, agent_options[i].help);
	}
	fprintf(f, "  %-24s %s\n  %-24s %s\n", "--help", "show this help and exit", "--version",
		"show the version and exit");
	if (!only)
		fprintf(f, "\nExit codes: 0 succeeded or incomplete, 1 findings, 2 failed, 3 usage or job error,\n"
			   "4 environment error, 5 report still in the spool. See pib-agent(1).\n");
}

/* Stores an option's value in its field of o (from the table); -1 on a bad value, said on stderr. */
static int set_option(struct agent_opts *o, const struct agent_option *ao, const char *v)
{
	char *field = (char *)o + ao->offset;
	uint64_t n = 0;
	char *end = NULL;

	switch (ao->kind) {
	case OPT_STR:
		*(const char **)field = v;
		return 0;
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_JOBS: {
		long j = strtol(v, &end, 10);
		if (!*v || *end || j < 1 || j > 256) {
			agent_error("--jobs: expected a number from 1 to 256, got \"%s\"", v);
			return -1;
		}
		*(int *)field = (int)j;
		return 0;
	}
	case OPT_SIZE:
		if (scan_parse_size(v, &n) < 0 || n == 0) {
			agent_error("--%s: expected a size such as 200M or 2G, got \"%s\"", ao->name, v);
			return -1;
		}
		*(uint64_t *)field = n;
		return 0;
	case OPT_LOG:
		if (agent_log_set_format(v) < 0) {
			agent_error("--log-format: expected text or json, got \"%s\"", v);
			return -1;
		}
		*(const char **)field = v;
		return 0;
	case OPT_COUNT:
		if (scan_parse_size(v, &n) < 0 || strpbrk(v, "kKmMgG") || n == 0 || n > 1000000) {
			agent_error("--%s: expected a number from 1 to 1000000, got \"%s\"", ao->name, v);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	return -1;
}

int agent_cli_parse(int argc, char **argv, struct agent_opts *o, const struct agent_command **ret_cmd,
		    bool *ret_done)
{
	struct option lopts[64];
	int n = 0;
	const struct agent_command *cmd = NULL;

	memset(o, 0, sizeof(*o));
	*ret_done = false;
	for (int i = 0; agent_options[i].name && n < 60; i++, n++)
		lopts[n] = (struct option){agent_options[i].name,
					   agent_options[i].metavar ? required_argument : no_argument,
					   NULL, 1000 + i};
	lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	lopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	lopts[n] = (struct option){NULL, 0, NULL, 0};

	/* the log format first, so that the messages about the rest of the line are in it */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v = !strncmp(argv[i], "--log-format=", 13) ? argv[i] + 13
				: !strcmp(argv[i], "--log-format") && i + 1 < argc ? argv[i + 1] : NULL;
		if (v)
			(void)agent_log_set_format(v); /* a bad value is said by set_option */
	}
	if (argc >= 2 && argv[1][0] != '-') {
		for (int i = 0; agent_commands[i].name; i++)
			if (!strcmp(argv[1], agent_commands[i].name))
				cmd = &agent_commands[i];
		if (!cmd) {
			agent_error("unknown command \"%s\" (see pib-agent --help)", argv[1]);
			return PIB_EXIT_USAGE;
		}
		agent_log_set_command(cmd->name);
		argc--;
		argv++;
	}
	opterr = 0;
	optind = 1;
	for (;;) {
		int c = getopt_long(argc, argv, "hV", lopts, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			agent_print_help(stdout, cmd);
			*ret_done = true;
			return 0;
		}
		if (c == 'V') {
			printf("pib-agent %s\n", PIB_VERSION);
			*ret_done = true;
			return 0;
		}
		if (c == '?' || c == ':') {
			agent_error("%s: %s (see pib-agent %s%s--help)", argv[optind - 1] ? argv[optind - 1] : "?",
				    c == ':' ? "missing its argument" : "unknown option or missing argument",
				    cmd ? cmd->name : "", cmd ? " " : "");
			if (cmd)
				agent_error("usage: pib-agent %s %s [OPTIONS]", cmd->name, cmd->usage);
			return PIB_EXIT_USAGE;
		}
		const struct agent_option *ao = &agent_options[c - 1000];
		if (!cmd) {
			agent_error("--%s: give a command first (see pib-agent --help)", ao->name);
			return PIB_EXIT_USAGE;
		}
		if (!(ao->commands & cmd->flag)) {
			agent_error("--%s does not apply to \"%s\"", ao->name, cmd->name);
			return PIB_EXIT_USAGE;
		}
		if (set_option(o, ao, optarg) < 0)
			return PIB_EXIT_USAGE;
	}
	if (!cmd) {
		agent_print_help(stderr, NULL);
		return PIB_EXIT_USAGE;
	}
	o->command = cmd->name;
	o->args = argv + optind;
	o->n_args = argc - optind;
	if (o->n_args < cmd->min_args || (cmd->max_args >= 0 && o->n_args > cmd->max_args)) {
		agent_error("usage: pib-agent %s %s [OPTIONS]", cmd->name, cmd->usage);
		return PIB_EXIT_USAGE;
	}
	*ret_cmd = cmd;
	return 0;
}
