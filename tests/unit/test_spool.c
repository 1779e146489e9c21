/* SPDX-License-Identifier: MIT */
/* Unit tests of the delivery spool's file mechanics (no network: nothing here is ever sent). */
#include "spool.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define URL "https://127.0.0.1:9/reports/x?X-Amz-Signature=secret"
static const char report[] = "{\"payloadType\": \"application/vnd.in-toto+json\", \"payload\": \"e30=\", \"signatures\": []}";
static char base[256];

static char *path(const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", base, rel);
	return buf[k];
}

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(path(rel), &st) == 0;
}

static unsigned mode_of(const char *rel)
{
	struct stat st;
	return lstat(path(rel), &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void touch(const char *rel, const char *text)
{
	int fd = open(path(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (pib_write_all(fd, text, strlen(text)) < 0)
			printf("# write %s failed\n", rel);
		close(fd);
	}
}

static int put(const char *state, const char *build, const char *phase, struct pib_err *e)
{
	pib_err_clear(e);
	return spool_put(path(state), build, phase, URL, "PUT", NULL, report, strlen(report), e);
}

struct seen {
	char order[8][200];
	char errs[8][64];
	int n;
};

static void collect(const struct spool_item *it, const struct pib_err *e, void *userdata)
{
	struct seen *s = userdata;
	if (s->n >= 8)
		return;
	snprintf(s->order[s->n], sizeof(s->order[0]), "%s", it->build_id[0] ? it->build_id : it->file);
	snprintf(s->errs[s->n], sizeof(s->errs[0]), "%s", e ? e->code : "");
	s->n++;
}

static void test_put(void)
{
	struct pib_err e = {0};
	char *text = NULL;
	size_t len = 0;

	ok(put("s1", "b-2026.000123_x", "pre-install", &e) == 0, "spool_put of a good report: %s", e.msg);
	ok(mode_of("s1") == 0700 && mode_of("s1/spool") == 0700 && mode_of("s1/spool/sent") == 0700,
	   "the state folder, spool and spool/sent are created 0700");
	ok(mode_of("s1/spool/b-2026.000123_x.pre-install.json") == 0600, "the report is 0600");
	ok(mode_of("s1/spool/b-2026.000123_x.pre-install.meta.json") == 0600, "its meta is 0600");
	ok(pib_read_file(path("s1/spool/b-2026.000123_x.pre-install.json"), 1 << 20, &text, &len) == 0 &&
		   len == strlen(report) && !memcmp(text, report, len),
	   "the report's bytes are the ones given");
	free(text);
	text = NULL;
	ok(spool_pending(path("s1"), "b-2026.000123_x", "pre-install"), "spool_pending: yes");
	ok(!spool_sent(path("s1"), "b-2026.000123_x", "pre-install"), "spool_sent: not yet");
	ok(!spool_pending(path("s1"), "b-2026.000123_x", "final"), "spool_pending of another phase: no");
	ok(!spool_pending(path("s1"), "../s1", "pre-install"), "spool_pending of a bad build id: no");

	ok(pib_read_file(path("s1/spool/b-2026.000123_x.pre-install.meta.json"), 1 << 20, &text, &len) == 0,
	   "the meta can be read");
	cJSON *m = text ? cJSON_Parse(text) : NULL;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "idempotency_key");
	const cJSON *me = cJSON_GetObjectItemCaseSensitive(m, "method");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
	ok(cJSON_IsString(k) && !strcmp(k->valuestring, "b-2026.000123_x:pre-install"),
	   "the meta's Idempotency-Key is BUILD_ID:PHASE");
	ok(cJSON_IsString(me) && !strcmp(me->valuestring, "PUT"), "the meta keeps the method");
	ok(cJSON_IsNumber(seq) && seq->valuedouble == 1, "the first report has seq 1");
	cJSON_Delete(m);
	free(text);

	ok(put("s1", "b-2026.000123_x", "final", &e) == 0, "a second phase of the same build");
	ok(put("s1", "b-2026.000123_x", "pre-install", &e) == 0, "the first one spooled again (replaced)");
	text = NULL;
	ok(pib_read_file(path("s1/spool/b-2026.000123_x.pre-install.meta.json"), 1 << 20, &text, &len) == 0 &&
		   strstr(text, "\"seq\":\t3"),
	   "a report spooled again gets the next seq (3)");
	free(text);
	pib_err_clear(&e);
}

static void test_bad_names(void)
{
	struct pib_err e = {0};
	char long_id[200];
	const char *bad_ids[] = {"", ".", "..", "a/b", "../x", "a b", "x\n", "é", long_id};
	const char *bad_phases[] = {"", "Final", "final2", "pre_install", "../final", "sent"};

	memset(long_id, 'a', 129);
	long_id[129] = '\0';
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		int r = put("s2", bad_ids[i], "final", &e);
		ok(r == -EINVAL && !strcmp(e.code, "deliver.bad_name"), "build id #%zu refused (deliver.bad_name)", i);
	}
	long_id[128] = '\0';
	ok(put("s2", long_id, "final", &e) == 0, "a build id of 128 characters is fine");
	for (size_t i = 0; i < sizeof(bad_phases) / sizeof(bad_phases[0]); i++) {
		int r = put("s2", "b1", bad_phases[i], &e);
		ok(r == -EINVAL && !strcmp(e.code, "deliver.bad_name"), "phase '%s' refused", bad_phases[i]);
	}
	ok(put("s2", "b1", "failed", &e) == 0, "phase failed is fine");
	pib_err_clear(&e);
	ok(spool_put(path("s2"), "b1", "final", "http://127.0.0.1/x", "POST", NULL, report, strlen(report), &e) < 0 &&
		   !strcmp(e.code, "deliver.url"),
	   "a plain http URL is refused (deliver.url)");
	pib_err_clear(&e);
	ok(spool_put(path("s2"), "b1", "final", URL, "GET", NULL, report, strlen(report), &e) < 0 &&
		   !strcmp(e.code, "deliver.url"),
	   "method GET is refused");
	pib_err_clear(&e);
	ok(spool_put(path("s2"), "b1", "final", URL, "POST", "relative/ca.pem", report, strlen(report), &e) < 0,
	   "a relative CA bundle path is refused");
	pib_err_clear(&e);
	ok(!exists("s2/spool/b1.final.json"), "nothing was written for the refused ones");
}

static void test_leftovers(void)
{
	struct pib_err e = {0};

	ok(put("s3", "keep", "final", &e) == 0, "a report to keep");
	touch("s3/spool/.tmp-0011223344556677-x.final.json", "half");
	touch("s3/spool/sent/.tmp-8899aabbccddeeff-y.final.meta.json", "half");
	touch("s3/spool/orphan.final.json", "a report whose put never finished");
	touch("s3/spool/moved.final.json", "accepted, but its move was cut short");
	touch("s3/spool/sent/moved.final.meta.json", "{}");
	touch("s3/spool/README", "not the spool's: left alone");
	ok(put("s3", "other", "final", &e) == 0, "the next put");
	ok(!exists("s3/spool/.tmp-0011223344556677-x.final.json"), "a temporary file in spool/ is removed");
	ok(!exists("s3/spool/sent/.tmp-8899aabbccddeeff-y.final.meta.json"), "a temporary file in sent/ is removed");
	ok(!exists("s3/spool/orphan.final.json"), "a report without a meta is removed");
	ok(!exists("s3/spool/moved.final.json") && exists("s3/spool/sent/moved.final.json"),
	   "a report whose meta is in sent/ finishes its move");
	ok(exists("s3/spool/README"), "a file the spool does not name is left alone");
	ok(spool_pending(path("s3"), "keep", "final") && exists("s3/spool/keep.final.json"),
	   "the finished report is untouched");
	ok(spool_sent(path("s3"), "moved", "final"), "spool_sent sees the moved one");
	ok(spool_forget(path("s3"), "moved") == 0 && !exists("s3/spool/sent/moved.final.json") &&
		   !exists("s3/spool/sent/moved.final.meta.json") && !spool_sent(path("s3"), "moved", "final"),
	   "spool_forget removes a build's files from sent/");
	ok(spool_forget(path("s3"), "..") == -EINVAL, "spool_forget refuses a bad build id");
	pib_err_clear(&e);
}

static void test_unsafe(void)
{
	struct pib_err e = {0};

	ok(mkdir(path("s4"), 0700) == 0 && mkdir(path("elsewhere"), 0700) == 0 &&
		   symlink(path("elsewhere"), path("s4/spool")) == 0,
	   "a spool that is a symlink");
	int r = put("s4", "b1", "final", &e);
	ok(r < 0 && !strcmp(e.code, "deliver.spool_unsafe") && strstr(e.msg, "symlink"),
	   "spool_put refuses it (deliver.spool_unsafe): %s", e.msg);
	ok(!exists("elsewhere/b1.final.json") && !exists("elsewhere/sent"), "nothing was written through it");
	unsigned left = 9;
	pib_err_clear(&e);
	r = spool_deliver_all(path("s4"), 0, &left, &e);
	ok(r < 0 && r != -EAGAIN && !strcmp(e.code, "deliver.spool_unsafe"), "spool_deliver_all refuses it too");
	pib_err_clear(&e);

	ok(mkdir(path("s5"), 0700) == 0 && mkdir(path("s5/spool"), 0700) == 0 && chmod(path("s5/spool"), 0777) == 0,
	   "a spool writable by others");
	r = put("s5", "b1", "final", &e);
	ok(r < 0 && !strcmp(e.code, "deliver.spool_unsafe") && strstr(e.msg, "writable"), "refused: %s", e.msg);
	pib_err_clear(&e);

	ok(mkdir(path("s6"), 0700) == 0 && mkdir(path("s6/spool"), 0700) == 0 &&
		   symlink(path("elsewhere"), path("s6/spool/sent")) == 0,
	   "a spool/sent that is a symlink");
	r = put("s6", "b1", "final", &e);
	ok(r < 0 && !strcmp(e.code, "deliver.spool_unsafe"), "refused: %s", e.msg);
	pib_err_clear(&e);

	left = 9;
	ok(spool_deliver_all(path("missing"), 0, &left, &e) == 0 && left == 0 && !e.set,
	   "no state folder at all: nothing to deliver");
}

static void test_corrupt_and_order(void)
{
	struct pib_err e = {0};
	struct seen s = {0};
	unsigned left = 0;

	ok(put("s7", "c", "final", &e) == 0 && put("s7", "a", "final", &e) == 0 && put("s7", "b", "final", &e) == 0,
	   "three reports spooled in the order c, a, b");
	touch("s7/spool/bad.final.meta.json", "{\"schema\": \"pib-agent/spool-meta/v1\", \"url\": ");
	touch("s7/spool/bad.final.json", "{}");
	/* a deadline already passed: every good report is listed in order but none is sent */
	int r = spool_deliver_each(path("s7"), 1e-9, collect, &s, &left, &e);
	ok(r == -EAGAIN && left == 4, "all four are left (returns -EAGAIN, left 4): %d %u", r, left);
	ok(s.n == 4 && !strcmp(s.order[0], "c") && !strcmp(s.order[1], "a") && !strcmp(s.order[2], "b"),
	   "oldest first: c, a, b (%s %s %s)", s.order[0], s.order[1], s.order[2]);
	ok(!strcmp(s.errs[0], "deliver.deadline"), "not sent: deliver.deadline");
	ok(s.n == 4 && !strcmp(s.order[3], "bad") && !strcmp(s.errs[3], "deliver.spool_corrupt"),
	   "the corrupt meta comes last, as deliver.spool_corrupt");
	ok(exists("s7/spool/bad.final.meta.json"), "a corrupt meta is not removed");

	struct pib_err e2 = {0};
	ok(spool_send(path("s7"), "bad", "final", 0, &e2) < 0 && !strcmp(e2.code, "deliver.spool_corrupt") &&
		   strstr(e2.msg, "bad.final.meta.json"),
	   "spool_send of it names the file: %s", e2.msg);
	pib_err_clear(&e2);

	touch("s7/spool/a.final.json", "{\"changed\": true}");
	ok(spool_send(path("s7"), "a", "final", 0, &e2) < 0 && !strcmp(e2.code, "deliver.spool_corrupt") &&
		   strstr(e2.msg, "a.final.json"),
	   "a report changed after it was spooled is not sent: %s", e2.msg);
	pib_err_clear(&e2);
	ok(spool_send(path("s7"), "nope", "final", 0, &e2) < 0 && !strcmp(e2.code, "deliver.not_spooled"),
	   "spool_send of a report that is not there: deliver.not_spooled");
	pib_err_clear(&e2);

	touch("s7/spool/big.final.meta.json", "");
	ok(truncate(path("s7/spool/big.final.meta.json"), 1 << 20) == 0, "a meta of 1 MiB");
	ok(spool_send(path("s7"), "big", "final", 0, &e2) < 0 && !strcmp(e2.code, "deliver.spool_corrupt"),
	   "is refused without being read whole: %s", e2.msg);
	pib_err_clear(&e2);
	ok(symlink("/etc/passwd", path("s7/spool/link.final.meta.json")) == 0, "a meta that is a symlink");
	ok(spool_send(path("s7"), "link", "final", 0, &e2) < 0 && !strcmp(e2.code, "deliver.spool_corrupt"),
	   "is not followed: %s", e2.msg);
	pib_err_clear(&e2);
	pib_err_clear(&e);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/test-spool.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	umask(022);
	test_put();
	test_bad_names();
	test_leftovers();
	test_unsafe();
	test_corrupt_and_order();
	ok(pib_rm_rf(base) == 0, "the test folder is removed");
	return tap_done();
}
