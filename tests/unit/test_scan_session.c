/* SPDX-License-Identifier: MIT */
/* Unit tests of a scan session: a tree on several threads, a package by its payload, identical bytes not scanned twice, the JSON. */
#include "session.h"
#include "scan_fixtures.h"
#include "tap.h"

static double num(const cJSON *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	return cur ? cJSON_GetNumberValue(cur) : -1;
}

int main(void)
{
	char *dir = NULL;
	struct pib_err err = {0};
	struct scan_engine *e = NULL;
	struct scan_session *s = NULL;

	if (pib_mkdtemp("pib-test-session", &dir) < 0)
		return 1;
	char *db = fx_path(dir, "db"), *tree = fx_path(dir, "tree");
	mkdir(db, 0700);
	mkdir(tree, 0700);
	fx_make_db(db);
	/* 60 files in 3 directories, 3 of them EICAR, one the blob; a symlink to EICAR */
	for (int k = 0; k < 3; k++) {
		char *sub = pib_asprintf("%s/d%d", tree, k);
		mkdir(sub, 0700);
		for (int i = 0; i < 20; i++) {
			char *p = pib_asprintf("%s/f%02d", sub, i);
			char text[64];
			snprintf(text, sizeof(text), "file %d of directory %d\n", i, k);
			if (i == 7)
				fx_write(p, eicar(), strlen(eicar()));
			else if (k == 1 && i == 3)
				fx_write(p, test_blob, sizeof(test_blob) - 1);
			else
				fx_write(p, text, strlen(text));
			free(p);
		}
		free(sub);
	}
	char *lnk = pib_asprintf("%s/link", tree), *target = pib_asprintf("%s/d0/f07", tree);
	(void)!symlink(target, lnk);
	free(lnk);
	free(target);

	struct scan_config cfg = {.db = db, .jobs = 3};
	ok(scanner_clamav.open(&cfg, &e, &err) == 0, "engine");
	ok(e && scan_session_new(&scanner_clamav, e, &cfg, &s, &err) == 0, "a session on 3 threads");
	if (!s)
		return tap_done();

	scan_session_phase(s, "scan");
	ok(scan_session_tree(s, tree, "/t", SCAN_F_PACKAGES) == 0, "the tree is queued");
	scan_session_wait(s);
	ok(scan_session_n_detections(s) == 4, "4 detections (3 EICAR, 1 blob; the symlink not followed): %zu",
	   scan_session_n_detections(s));
	const struct scan_detection *d0 = scan_session_detection(s, 0);
	const struct scan_detection *d3 = scan_session_detection(s, 3);
	ok(d0 && !strcmp(d0->path, "/t/d0/f07") && !strcmp(d0->signature, EICAR_SIG) && !d0->member &&
		   !strcmp(d0->phase, "scan"),
	   "sorted, named by the path given: %s", d0 ? d0->path : "-");
	ok(d3 && !strcmp(d3->path, "/t/d2/f07"), "the last one: %s", d3 ? d3->path : "-");
	cJSON *j = scan_session_json(s);
	ok(num(j, "files_scanned") == 60, "60 files scanned");
	ok(num(j, "phases.scan.files_scanned") == 60, "... in phase scan");
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(j, "detections")) == 4 &&
		   cJSON_GetArraySize(cJSON_GetObjectItem(j, "skipped")) == 0,
	   "the JSON lists 4 detections and nothing skipped");
	ok(num(j, "engine.jobs") == 3, "the JSON says 3 jobs");
	cJSON_Delete(j);

	/* files past the worker's buffer go through file views, several at once, big ones first */
	char *big = fx_path(dir, "big");
	mkdir(big, 0700);
	const size_t sizes[] = {300u << 10, 6u << 20, 6u << 20, 9u << 20};
	for (size_t k = 0; k < 4; k++) {
		char *bp = pib_asprintf("%s/b%zu", big, k);
		unsigned char *blob = calloc(1, sizes[k]);
		for (size_t i = 0; blob && i < sizes[k]; i++)
			blob[i] = (unsigned char)(i * 7 + k);
		if (blob && k != 2) /* the EICAR body at the very end, on the last page */
			memcpy(blob + sizes[k] - strlen(eicar()), eicar(), strlen(eicar()));
		if (blob)
			fx_write(bp, blob, sizes[k]);
		free(blob);
		free(bp);
	}
	ok(scan_session_tree(s, big, "/b", 0) == 0, "a tree of large files is queued");
	scan_session_wait(s);
	size_t in_big = 0;
	for (size_t i = 0; i < scan_session_n_detections(s); i++) {
		const struct scan_detection *d = scan_session_detection(s, i);
		in_big += d && !strncmp(d->path, "/b/", 3) && !strcmp(d->signature, EICAR_SIG) && strcmp(d->path, "/b/b2");
	}
	ok(in_big == 3, "EICAR at the end of 300 KiB, 6 MiB and 9 MiB files found, the clean one not: %zu", in_big);
	j = scan_session_json(s);
	ok(num(j, "files_scanned") == 64 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "skipped")) == 0,
	   "64 files scanned, nothing skipped");
	cJSON_Delete(j);
	pib_rm_rf(big);
	free(big);

	/* a package: members scanned by the workers, recorded clean; their bytes not scanned again */
	const char *control = "Package: sess-pkg\nVersion: 1\nArchitecture: all\nDescription: x\n";
	struct fx_entry ctl[] = {{"./control", control, strlen(control), NULL}};
	const char *doc = "documentation that is installed as it is\n";
	struct fx_entry data[] = {{"./usr/share/doc/sess/README", doc, strlen(doc), NULL},
				  {"./usr/share/sess/e.com", eicar(), strlen(eicar()), NULL}};
	char *deb = fx_path(dir, "p.deb"), *good = fx_path(dir, "good.deb");
	fx_deb(deb, ctl, 1, data, 2);
	fx_deb(good, ctl, 1, data, 1);
	scan_session_phase(s, "prescan");
	ok(scan_session_package(s, deb, "debs/p.deb", SCAN_F_PACKAGES | SCAN_F_RECORD, &err) == 0 &&
		   scan_session_package(s, good, "debs/good.deb", SCAN_F_PACKAGES | SCAN_F_RECORD, &err) == 0,
	   "two packages queued by payload");
	scan_session_wait(s);
	bool found = false;
	for (size_t i = 0; i < scan_session_n_detections(s); i++) {
		const struct scan_detection *d = scan_session_detection(s, i);
		if (d && !strcmp(d->phase, "prescan"))
			found = !strcmp(d->path, "debs/p.deb") && d->member &&
				!strcmp(d->member, "usr/share/sess/e.com") && d->package &&
				!strcmp(d->package, "sess-pkg");
	}
	ok(found, "prescan: the detection names member, inner path and package");

	char *inst = fx_path(dir, "README");
	fx_write(inst, doc, strlen(doc));
	char *other = fx_path(dir, "other");
	fx_write(other, "changed by a script\n", 20);
	scan_session_phase(s, "postscan");
	ok(scan_session_file(s, inst, "/usr/share/doc/sess/README", "sess-pkg", SCAN_F_DEDUP) == 0 &&
		   scan_session_file(s, other, "/etc/other", NULL, SCAN_F_DEDUP) == 0,
	   "postscan: two files queued");
	scan_session_wait(s);
	j = scan_session_json(s);
	ok(num(j, "phases.postscan.files_identical_to_prescanned") == 1 && num(j, "phases.postscan.files_scanned") == 1,
	   "the file identical to a clean prescanned member is not scanned again; the other one is");
	cJSON_Delete(j);

	/* a whole package file remembered clean only when nothing was found in it */
	ok(!scan_session_remember_clean(s, "debs/p.deb", 100, "00000000000000000000000000000000000000000000000000000000000000ff"),
	   "a package with a detection is not remembered clean");
	ok(scan_session_remember_clean(s, "debs/good.deb", 100, "00000000000000000000000000000000000000000000000000000000000000ff"),
	   "a clean package is");

	/* a package that cannot be read: an error for the caller */
	char *cut = fx_path(dir, "cut.deb");
	char *bytes = NULL;
	size_t len = 0;
	if (pib_read_file(deb, 1 << 24, &bytes, &len) == 0)
		fx_write(cut, bytes, len / 2);
	free(bytes);
	pib_err_clear(&err);
	memset(&err, 0, sizeof(err));
	ok(scan_session_package(s, cut, "debs/cut.deb", SCAN_F_PACKAGES, &err) < 0 &&
		   !strcmp(err.code, "scan.package_unreadable"),
	   "a cut-off package: scan.package_unreadable");
	printf("# %s: %s (%zu of %zu bytes)\n", err.code, err.msg, len / 2, len);
	scan_session_wait(s);

	/* what makes a scan incomplete: files not read whole, not limits */
	size_t unread = scan_session_n_unread(s);
	scan_session_skip(s, "/t/big.iso", NULL, "limit.max_filesize", "larger than the maximum file size");
	ok(scan_session_n_unread(s) == unread, "a limit is not a file left unread");
	scan_session_skip(s, "/t/gone", NULL, "error", "not scanned: Permission denied");
	scan_session_skip(s, "/t/cut", NULL, "changed", "it shrank while it was scanned");
	ok(scan_session_n_unread(s) == unread + 2, "an error and a changed file are: %zu", scan_session_n_unread(s) - unread);

	scan_session_free(s);
	scanner_clamav.close(e);
	pib_err_clear(&err);
	free(cut);
	free(inst);
	free(other);
	free(deb);
	free(good);
	free(db);
	free(tree);
	(void)pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
