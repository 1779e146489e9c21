/* SPDX-License-Identifier: MIT */
/* Unit tests of the ClamAV scanner: databases that cannot be used, hits and their members, limits as gaps, threads. */
#include "scanner.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <pthread.h>
#include <sys/time.h>

static struct scan_engine *open_db(const char *db, const struct scan_limits *lim, unsigned max_age,
				   struct pib_err *err)
{
	struct scan_config cfg = {.db = db, .max_age_days = max_age};
	struct scan_engine *e = NULL;

	if (lim)
		cfg.limits = *lim;
	pib_err_clear(err);
	memset(err, 0, sizeof(*err));
	if (scanner_clamav.open(&cfg, &e, err) < 0)
		return NULL;
	return e;
}

static bool refused(const char *db, const char *code, const char *needle, const char *what)
{
	struct pib_err err = {0};
	struct scan_engine *e = open_db(db, NULL, 0, &err);
	bool good = !e && err.set && err.cls == PIB_ERR_ENV && !strcmp(err.code, code) &&
		    strstr(err.msg, needle) != NULL;

	if (!good)
		printf("# %s: got %s %s\n", what, err.code, err.msg);
	if (e)
		scanner_clamav.close(e);
	pib_err_clear(&err);
	return good;
}

struct worker_arg {
	struct scan_engine *e;
	int wrong;
};

static void *hammer(void *p)
{
	struct worker_arg *w = p;
	const char *clean = "an ordinary text file, nothing to see here\n";

	for (int i = 0; i < 200; i++) {
		struct scan_outcome o = {0};
		bool bad = i % 2 == 0;
		const char *data = bad ? eicar() : clean;
		if (scanner_clamav.scan_mem(w->e, data, strlen(data), "x", &o) < 0 ||
		    o.n_hits != (bad ? 1u : 0u) || (bad && strcmp(o.hits[0].signature, EICAR_SIG)))
			w->wrong++;
		scan_outcome_free(&o);
	}
	return NULL;
}

int main(void)
{
	char *dir = NULL;
	struct pib_err err = {0};

	if (pib_mkdtemp("pib-test-clamav", &dir) < 0)
		return 1;
	char *good = fx_path(dir, "good"), *empty = fx_path(dir, "empty"), *corrupt = fx_path(dir, "corrupt"),
	     *nosigs = fx_path(dir, "nosigs"), *missing = fx_path(dir, "missing");
	mkdir(good, 0700);
	mkdir(empty, 0700);
	mkdir(corrupt, 0700);
	mkdir(nosigs, 0700);
	ok(fx_make_db(good) == 0, "a test database is made");
	char *p = fx_path(corrupt, "bad.hdb");
	fx_write(p, "not a signature line\n", 21);
	free(p);
	p = fx_path(nosigs, "none.ndb");
	fx_write(p, "# only a comment\n", 17);
	free(p);

	/* ---------------------------------------------------------------- unusable databases */
	ok(refused(missing, "scan.db_unusable", "No such file or directory", "missing"),
	   "a missing directory: scan.db_unusable, environment error, says why");
	ok(refused(empty, "scan.db_unusable", "holds no database files", "empty"),
	   "an empty directory: scan.db_unusable");
	ok(refused(corrupt, "scan.db_unusable", "libclamav", "corrupt"), "a corrupt .hdb: scan.db_unusable");
	ok(refused(nosigs, "scan.db_unusable", "no signatures", "nosigs"), "no signatures: scan.db_unusable");

	/* ---------------------------------------------------------------- a good database */
	struct scan_engine *e = open_db(good, NULL, 0, &err);
	ok(e != NULL, "the test database loads");
	if (!e) {
		printf("# %s: %s\n", err.code, err.msg);
		return tap_done();
	}
	cJSON *db = scanner_clamav.database_json(e);
	ok(cJSON_GetNumberValue(cJSON_GetObjectItem(db, "signatures")) == 2, "2 signatures loaded");
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(db, "time_source")), "mtime"),
	   "plain files: time from their mtime");
	ok(cJSON_IsNull(cJSON_GetObjectItem(db, "version")), "plain files: no version");
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(db, "files")) == 2, "both files listed");
	cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(db, "files"), 0);
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "name")), "blob.hdb") &&
		   cJSON_GetNumberValue(cJSON_GetObjectItem(f0, "signatures")) == 1 &&
		   pib_is_hex64(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "sha256"))),
	   "a file: name, signatures, sha256");
	cJSON_Delete(db);
	cJSON *eng = scanner_clamav.engine_json(e);
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(eng, "name")), "clamav") &&
		   cJSON_GetStringValue(cJSON_GetObjectItem(eng, "version")),
	   "engine: name and version");
	ok(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(eng, "limits"), "max_filesize")) ==
		   100.0 * 1024 * 1024,
	   "engine: the default max file size read back");
	cJSON_Delete(eng);

	struct scan_outcome o = {0};
	ok(scanner_clamav.scan_mem(e, eicar(), strlen(eicar()), "e.com", &o) == 0 && o.n_hits == 1 &&
		   !strcmp(o.hits[0].signature, EICAR_SIG) && !o.hits[0].member &&
		   o.hits[0].kind == SCAN_KIND_SIGNATURE && !o.error && o.n_gaps == 0,
	   "EICAR in memory: one signature hit, no member");
	scan_outcome_free(&o);
	ok(scanner_clamav.scan_mem(e, test_blob, sizeof(test_blob) - 1, "b", &o) == 0 && o.n_hits == 1 &&
		   !strcmp(o.hits[0].signature, BLOB_SIG),
	   "the blob in memory: found by its MD5");
	scan_outcome_free(&o);
	ok(scanner_clamav.scan_mem(e, "hello world, a clean file", 25, "c", &o) == 0 && o.n_hits == 0 &&
		   o.n_gaps == 0 && !o.error,
	   "a clean buffer: nothing");
	scan_outcome_free(&o);
	ok(scanner_clamav.scan_mem(e, "", 0, "empty", &o) == 0 && o.n_hits == 0, "an empty buffer: nothing");
	scan_outcome_free(&o);

	/* a file, and a tar holding it under a directory: the member is the inner path, once */
	p = fx_path(dir, "e.com");
	fx_write(p, eicar(), strlen(eicar()));
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ok(scanner_clamav.scan_fd(e, fd, p, &o) == 0 && o.n_hits == 1 && !o.hits[0].member,
	   "EICAR in a file: one hit");
	close(fd);
	free(p);
	scan_outcome_free(&o);
	struct fx_entry ents[] = {{"dir", NULL, 0, NULL},
				  {"dir/readme.txt", "hello", 5, NULL},
				  {"dir/e.com", eicar(), strlen(eicar()), NULL}};
	size_t tlen = 0;
	void *tar = fx_tar(ents, 3, ARCHIVE_FILTER_NONE, &tlen);
	ok(scanner_clamav.scan_mem(e, tar, tlen, "t.tar", &o) == 0 && o.n_hits == 1 && o.hits[0].member &&
		   !strcmp(o.hits[0].member, "dir/e.com"),
	   "EICAR in an uncompressed tar: one hit, member dir/e.com (not again on the tar)");
	if (o.n_hits)
		printf("# member: %s\n", o.hits[0].member ? o.hits[0].member : "(null)");
	scan_outcome_free(&o);
	free(tar);
	tar = fx_tar(ents, 3, ARCHIVE_FILTER_GZIP, &tlen);
	ok(scanner_clamav.scan_mem(e, tar, tlen, "t.tar.gz", &o) == 0 && o.n_hits == 1 && o.hits[0].member &&
		   !strcmp(o.hits[0].member, "dir/e.com"),
	   "EICAR in a tar.gz: member dir/e.com (the gzip layer has no name)");
	scan_outcome_free(&o);
	free(tar);

	/* ---------------------------------------------------------------- threads share the engine */
	pthread_t th[4];
	struct worker_arg wa[4];
	for (int i = 0; i < 4; i++) {
		wa[i] = (struct worker_arg){.e = e};
		pthread_create(&th[i], NULL, hammer, &wa[i]);
	}
	int wrong = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wrong += wa[i].wrong;
	}
	ok(wrong == 0, "4 threads x 200 scans on one engine: every verdict right (%d wrong)", wrong);
	scanner_clamav.close(e);

	/* ---------------------------------------------------------------- limits are gaps */
	struct scan_limits lim = {.max_filesize = 1000};
	e = open_db(good, &lim, 0, &err);
	ok(e != NULL, "an engine with max_filesize 1000");
	char big[5000];
	memset(big, 'a', sizeof(big));
	memcpy(big + 100, eicar(), strlen(eicar()));
	p = fx_path(dir, "big");
	fx_write(p, big, sizeof(big));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	ok(e && scanner_clamav.scan_fd(e, fd, "big", &o) == 0 && o.n_hits == 0 && o.n_gaps == 1 &&
		   !strcmp(o.gaps[0].code, "limit.max_filesize") && !o.gaps[0].member &&
		   strstr(o.gaps[0].reason, "5000 bytes"),
	   "a file over the limit: a gap limit.max_filesize with its size, not a hit");
	close(fd);
	scan_outcome_free(&o);
	struct fx_entry bigents[] = {{"inner/big.bin", big, sizeof(big), NULL}, {"small.txt", "tiny text", 9, NULL}};
	/* a zip (deflated: under the limit itself) whose member is over it: libclamav scans only the
	 * member's first bytes and raises no alert; the archive's metadata names it */
	tar = fx_archive(bigents, 2, ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, &tlen);
	ok(e && tlen < 1000 && scanner_clamav.scan_mem(e, tar, tlen, "t.zip", &o) == 0 && o.n_gaps >= 1 &&
		   !strcmp(o.gaps[0].code, "limit.max_filesize") && o.gaps[0].member &&
		   !strcmp(o.gaps[0].member, "inner/big.bin") && strstr(o.gaps[0].reason, "5000 bytes"),
	   "a zip member over the limit: a gap naming the member and its size");
	for (size_t i = 0; i < o.n_gaps; i++)
		printf("# gap %s %s\n", o.gaps[i].member ? o.gaps[i].member : "-", o.gaps[i].code);
	scan_outcome_free(&o);
	free(tar);
	if (e)
		scanner_clamav.close(e);

	/* ---------------------------------------------------------------- a database too old */
	struct timeval tv[2] = {{.tv_sec = time(NULL) - 10 * 86400}, {.tv_sec = time(NULL) - 10 * 86400}};
	p = fx_path(good, "eicar.ndb");
	utimes(p, tv);
	free(p);
	p = fx_path(good, "blob.hdb");
	utimes(p, tv);
	free(p);
	e = open_db(good, NULL, 7, &err);
	ok(!e && err.set && !strcmp(err.code, "scan.db_outdated") && err.cls == PIB_ERR_ENV &&
		   strstr(err.msg, "7 days"),
	   "a database 10 days old with a limit of 7: scan.db_outdated");
	if (e)
		scanner_clamav.close(e);
	e = open_db(good, NULL, 30, &err);
	ok(e != NULL, "... and accepted with a limit of 30");
	if (e)
		scanner_clamav.close(e);

	/* ---------------------------------------------------------------- sizes on the command line */
	uint64_t v = 0;
	ok(scan_parse_size("100M", &v) == 0 && v == 100ull << 20, "100M");
	ok(scan_parse_size("2G", &v) == 0 && v == 2ull << 30, "2G");
	ok(scan_parse_size("512K", &v) == 0 && v == 512ull << 10, "512K");
	ok(scan_parse_size("1234", &v) == 0 && v == 1234, "1234");
	ok(scan_parse_size("10MiB", &v) == 0 && v == 10ull << 20, "10MiB");
	ok(scan_parse_size("abc", &v) < 0 && scan_parse_size("-1", &v) < 0 && scan_parse_size("1T", &v) < 0 &&
		   scan_parse_size("", &v) < 0 && scan_parse_size("99999999999999999999G", &v) < 0,
	   "bad sizes are refused");
	ok(scan_default_jobs() >= 1, "default jobs: %u", scan_default_jobs());

	pib_err_clear(&err);
	(void)pib_rm_rf(dir);
	free(dir);
	free(good);
	free(empty);
	free(corrupt);
	free(nosigs);
	free(missing);
	return tap_done();
}
