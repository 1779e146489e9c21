/* SPDX-License-Identifier: MIT */
/* Test driver of agent/http.c and agent/fetch.c: one fetch or one send, the outcome as one JSON line. */
#include "fetch.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fputs("usage: net-tool fetch URL SHA256 MAXBYTES DEST [OPTIONS]\n"
	      "       net-tool send METHOD URL FILE KEY|- [OPTIONS]\n"
	      "options: --ca FILE  --allow-file  --allow-http  --backoff SECONDS (default 0.1)\n"
	      "         --attempts N  --stall SECONDS  --connect SECONDS  --deadline SECONDS  --progress\n",
	      stderr);
	return 2;
}

/* Prints the outcome and returns the exit code: 0 when r is 0, else 1. */
static int emit(int r, cJSON *o, const struct pib_err *err)
{
	cJSON_AddBoolToObject(o, "ok", r == 0);
	if (err->set) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", err->code);
		cJSON_AddStringToObject(e, "message", err->msg);
	} else {
		cJSON_AddNullToObject(o, "error");
	}
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(o);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct http_cfg cfg = {.backoff_base = 0.1};
	struct pib_err err = {0};
	char *pos[8];
	int npos = 0;
	bool progress = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--ca") == 0 && v)
			cfg.ca_bundle = argv[++i];
		else if (strcmp(a, "--allow-file") == 0)
			cfg.allow_file = true;
		else if (strcmp(a, "--allow-http") == 0)
			cfg.allow_http = true;
		else if (strcmp(a, "--progress") == 0)
			progress = true;
		else if (strcmp(a, "--backoff") == 0 && v)
			cfg.backoff_base = strtod(argv[++i], NULL);
		else if (strcmp(a, "--attempts") == 0 && v)
			cfg.max_attempts = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--stall") == 0 && v)
			cfg.stall_timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--connect") == 0 && v)
			cfg.connect_timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--deadline") == 0 && v)
			cfg.deadline = pib_now_mono() + strtod(argv[++i], NULL);
		else if (a[0] == '-' && a[1] == '-')
			return usage();
		else if (npos < 8)
			pos[npos++] = argv[i];
		else
			return usage();
	}
	if (npos == 5 && strcmp(pos[0], "fetch") == 0) {
		struct fetch_result res;
		char *end;
		errno = 0;
		unsigned long long max = strtoull(pos[3], &end, 10);
		if (errno || *end)
			return usage();
		int r = fetch_file(&cfg, pos[1], pos[2], max, pos[4], progress, &res, &err);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "sha256", res.sha256);
		cJSON_AddNumberToObject(o, "size", (double)res.size);
		cJSON_AddNumberToObject(o, "attempts", res.attempts);
		cJSON_AddNumberToObject(o, "resumes", res.resumes);
		return emit(r, o, &err);
	}
	if (npos == 5 && strcmp(pos[0], "send") == 0) {
		char *body = NULL;
		size_t len = 0;
		long status = 0;
		int r = pib_read_file(pos[3], 64u << 20, &body, &len);
		if (r < 0) {
			fprintf(stderr, "net-tool: cannot read %s: %s\n", pos[3], strerror(-r));
			return 2;
		}
		r = http_send(&cfg, pos[1], pos[2], "application/json", strcmp(pos[4], "-") ? pos[4] : NULL, body,
			      len, &status, &err);
		free(body);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "status", (double)status);
		return emit(r, o, &err);
	}
	return usage();
}
