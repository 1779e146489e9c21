/* SPDX-License-Identifier: MIT */
/* Unit tests of the IMDSv2 client against tests/tools/imds.py on 127.0.0.1: tokens always, a 401 refreshed once, no IMDSv1 fallback, retries, identity. */
#include "imds.h"
#include "job.h"
#include "tap.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *src_root;
static char *dir;
static pid_t server = -1;
static char endpoint[128];

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

static char *path_in(const char *name)
{
	return pib_asprintf("%s/%s", dir, name);
}

/* Starts imds.py with the arguments given (NULL-terminated), a fresh log; 0 once it listens. */
static int start_server(const char *first, ...)
{
	char *argv[32], *pf = path_in("port"), *log = path_in("log.jsonl"), *script;
	int n = 0;
	va_list ap;

	stop_server();
	unlink(pf);
	unlink(log);
	script = pib_asprintf("%s/tests/tools/imds.py", src_root);
	argv[n++] = (char *)"/usr/bin/python3";
	argv[n++] = script;
	argv[n++] = (char *)"--port-file";
	argv[n++] = pf;
	argv[n++] = (char *)"--log";
	argv[n++] = log;
	va_start(ap, first);
	for (const char *a = first; a && n < 30; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	int r = posix_spawn(&server, argv[0], NULL, NULL, argv, environ);
	free(script);
	if (r != 0) {
		server = -1;
		free(pf);
		free(log);
		return -r;
	}
	char *port = NULL;
	size_t len = 0;
	for (int i = 0; i < 200; i++) { /* 10 s */
		if (pib_read_file(pf, 64, &port, &len) == 0)
			break;
		struct timespec ts = {0, 50000000L};
		nanosleep(&ts, NULL);
	}
	free(pf);
	free(log);
	if (!port)
		return -ETIMEDOUT;
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", atoi(port));
	free(port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
	return 0;
}

/* The server's log: one JSON line per request. */
static char *server_log(void)
{
	char *p = path_in("log.jsonl"), *text = NULL;
	size_t len;
	if (pib_read_file(p, 1 << 20, &text, &len) < 0)
		text = strdup("");
	free(p);
	return text;
}

/* The server's log as TAP comments, for a failed check. */
static void diag_log(const char *log)
{
	for (const char *l = log; *l;) {
		size_t n = strcspn(l, "\n");
		printf("#   %.*s\n", (int)n, l);
		l += n + (l[n] ? 1 : 0);
	}
}

static void ok_log(bool cond, const char *name, const char *log)
{
	ok(cond, "%s", name);
	if (!cond)
		diag_log(log);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The log has no GET without a token and no PUT with X-Forwarded-For. */
static bool never_tokenless(const char *log)
{
	return !strstr(log, "\"method\": \"GET\", \"path\": \"/latest/user-data\", \"status\": 200, \"token\": \"none\"") &&
	       count(log, "\"token\": \"none\"") == count(log, "\"method\": \"PUT\"") && !strstr(log, "\"xff\": true");
}

static int user_data(char **ret, size_t *len, struct pib_err *e)
{
	struct imds *m = imds_new();
	int r = imds_user_data(m, ret, len, e);
	imds_free(m);
	return r;
}

static char *write_tmp(const char *name, const char *text)
{
	char *p = path_in(name);
	if (pib_write_file(p, text, strlen(text), 0600) < 0)
		ok(0, "write %s", p);
	return p;
}

int main(int argc, char **argv)
{
	struct pib_err e = {0};
	char *ud = NULL, *log;
	size_t len = 0;
	int r;

	if (argc < 2 || access("/usr/bin/python3", X_OK) < 0) {
		printf("1..0 # SKIP needs python3 and the source root\n");
		return 0;
	}
	src_root = argv[1];
	alarm(150); /* a hung server or client fails the test instead of stalling the suite */
	if (pib_mkdtemp("test-imds", &dir) < 0) {
		ok(0, "a temporary directory");
		return tap_done();
	}
	unsetenv("AWS_EC2_METADATA_DISABLED");
	char *udf = write_tmp("user-data", "{\"schema\":\"pib-agent/job/v1\"}\n");
	char *doc = write_tmp("document", "{\n  \"instanceId\" : \"i-0abc\",\n  \"region\" : \"eu-west-1\"\n}");
	char *sig = write_tmp("signature", "c2lnbmF0dXJl\n");

	/* the plain case: PUT a token, GET with it */
	ok(start_server("--user-data", udf, NULL) == 0, "imds.py listens at %s", endpoint);
	r = user_data(&ud, &len, &e);
	ok(r == 0 && len == 30 && !strcmp(ud, "{\"schema\":\"pib-agent/job/v1\"}\n"), "user-data read: %s", e.msg);
	free(ud);
	log = server_log();
	ok_log(count(log, "\"method\": \"PUT\", \"path\": \"/latest/api/token\", \"status\": 200, \"token\": \"none\", "
		      "\"ttl\": \"21600\", \"xff\": false") == 1 &&
		   count(log, "\"method\": \"GET\", \"path\": \"/latest/user-data\", \"status\": 200, \"token\": \"valid\"") == 1 &&
		   count(log, "\n") == 2,
	   "one PUT (TTL 21600, no X-Forwarded-For), one GET with a valid token", log);
	free(log);

	/* a trailing slash in the endpoint */
	char *slash = pib_asprintf("%s/", endpoint);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", slash, 1);
	free(slash);
	r = user_data(&ud, &len, &e);
	ok(r == 0 && len == 30, "an endpoint with a trailing slash: %s", e.msg);
	free(ud);
	log = server_log();
	ok(!strstr(log, "//latest"), "... is not doubled in the path");
	free(log);

	/* identity: document and signature served, rsa2048 not */
	ok(start_server("--user-data", udf, "--document", doc, "--signature", sig, NULL) == 0, "imds.py with a document");
	struct imds *m = imds_new();
	cJSON *id = imds_identity(m);
	cJSON *d = cJSON_GetObjectItemCaseSensitive(id, "document");
	ok(id && cJSON_IsObject(d) &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "instanceId")), "i-0abc"),
	   "the identity document is parsed");
	ok(id && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(id, "document_text")),
			 "{\n  \"instanceId\" : \"i-0abc\",\n  \"region\" : \"eu-west-1\"\n}"),
	   "document_text is the exact bytes");
	ok(id && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(id, "signature")), "c2lnbmF0dXJl"),
	   "the signature (trailing newline cut)");
	ok(id && !cJSON_GetObjectItemCaseSensitive(id, "rsa2048"), "rsa2048 not served: absent");
	cJSON_Delete(id);
	ok(imds_user_data(m, &ud, &len, &e) == 0, "the same client reads user-data too");
	free(ud);
	imds_free(m);
	log = server_log();
	ok_log(count(log, "\"method\": \"PUT\"") == 1 && never_tokenless(log),
	   "one token for the client's four GETs, every GET with it", log);
	free(log);

	/* a token good for one use: the 401 gets a fresh token and one retry */
	ok(start_server("--user-data", udf, "--document", doc, "--token-uses", "1", NULL) == 0, "imds.py, one-use tokens");
	m = imds_new();
	r = imds_user_data(m, &ud, &len, &e);
	free(ud);
	id = imds_identity(m);
	ok(r == 0 && id, "user-data then the document: %s", e.msg);
	cJSON_Delete(id);
	imds_free(m);
	log = server_log();
	ok_log(count(log, "\"method\": \"PUT\"") >= 2 && count(log, "\"status\": 401, \"token\": \"used-up\"") >= 1 &&
		   never_tokenless(log),
	   "a used-up token: 401, a fresh token, the retry succeeds", log);
	free(log);

	/* tokens that expire */
	ok(start_server("--user-data", udf, "--token-ttl", "0.5", NULL) == 0, "imds.py, tokens of 0.5 s");
	m = imds_new();
	r = imds_user_data(m, &ud, &len, &e);
	free(ud);
	struct timespec ts = {0, 700000000L};
	nanosleep(&ts, NULL);
	int r2 = imds_user_data(m, &ud, &len, &e);
	free(ud);
	imds_free(m);
	log = server_log();
	ok(r == 0 && r2 == 0 && count(log, "\"token\": \"expired\"") == 1 && count(log, "\"method\": \"PUT\"") == 2,
	   "an expired token is replaced once: %s", e.msg);
	free(log);

	/* 401 even with a fresh token: refused, not an endless loop */
	ok(start_server("--user-data", udf, "--token-uses", "0", NULL) == 0, "imds.py, tokens never good");
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	log = server_log();
	ok(r < 0 && !strcmp(e.code, "imds.refused") && count(log, "\"method\": \"GET\"") == 2 &&
		   count(log, "\"method\": \"PUT\"") == 2,
	   "401 twice: imds.refused after one fresh token: %s", e.msg);
	free(log);

	/* no user-data */
	ok(start_server(NULL) == 0, "imds.py without user-data");
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r == -ENOENT && !strcmp(e.code, "imds.no_user_data") && e.cls == PIB_ERR_USAGE, "404: imds.no_user_data: %s",
	   e.msg);

	/* no token to be had: never a GET without one (no IMDSv1 fallback) */
	static const char *const statuses[] = {"403", "404", "405", NULL};
	for (int i = 0; statuses[i]; i++) {
		ok(start_server("--user-data", udf, "--token-status", statuses[i], NULL) == 0, "imds.py, token PUT %s",
		   statuses[i]);
		pib_err_clear(&e);
		r = user_data(&ud, &len, &e);
		log = server_log();
		ok(r < 0 && !strcmp(e.code, "imds.refused") && !strstr(log, "\"GET\""),
		   "token PUT answered %s: imds.refused, and no GET was tried: %s", statuses[i], e.msg);
		free(log);
	}

	/* a server error on user-data */
	ok(start_server("--user-data", udf, "--user-data-status", "500", NULL) == 0, "imds.py, user-data 500");
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r < 0 && !strcmp(e.code, "imds.refused") && strstr(e.msg, "HTTP 500"), "500: imds.refused: %s", e.msg);

	/* no answer twice, then an answer: retried */
	ok(start_server("--user-data", udf, "--drop-first", "2", NULL) == 0, "imds.py dropping the first 2 requests");
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r == 0, "two requests without an answer are retried: %s", e.msg);
	free(ud);

	/* user-data over 16 KiB */
	char *big = malloc(JOB_USER_DATA_MAX + 2);
	memset(big, 'x', JOB_USER_DATA_MAX + 1);
	big[JOB_USER_DATA_MAX + 1] = '\0';
	char *bigf = write_tmp("big", big);
	free(big);
	ok(start_server("--user-data", bigf, NULL) == 0, "imds.py with 16 KiB + 1 of user-data");
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r < 0 && !strcmp(e.code, "job.invalid") && strstr(e.msg, "larger than 16384"), "too large: %s", e.msg);
	free(bigf);

	/* disabled */
	ok(start_server("--user-data", udf, NULL) == 0, "imds.py again");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	log = server_log();
	ok(r < 0 && !strcmp(e.code, "imds.unavailable") && !*log, "AWS_EC2_METADATA_DISABLED=true: %s", e.msg);
	free(log);
	m = imds_new();
	ok(imds_identity(m) == NULL, "... and no identity");
	imds_free(m);
	unsetenv("AWS_EC2_METADATA_DISABLED");

	/* nobody listening */
	stop_server();
	double t0 = pib_now_mono();
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r < 0 && !strcmp(e.code, "imds.unavailable") && e.cls == PIB_ERR_ENV && pib_now_mono() - t0 < 10,
	   "nothing at the endpoint: imds.unavailable in %.1f s: %s", pib_now_mono() - t0, e.msg);
	m = imds_new();
	t0 = pib_now_mono();
	ok(imds_identity(m) == NULL && pib_now_mono() - t0 < 10, "... identity NULL");
	imds_free(m);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://x", 1);
	pib_err_clear(&e);
	r = user_data(&ud, &len, &e);
	ok(r < 0 && !strcmp(e.code, "imds.unavailable"), "an endpoint that is not http://: %s", e.msg);

	pib_err_clear(&e);
	free(udf);
	free(doc);
	free(sig);
	(void)pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
