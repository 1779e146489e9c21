/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the root snapshot: new, grown, touched and moved files are found; links, fifos and
 * unchanged files are not; a root's own /dev, /proc, /sys are walked, mounts of pseudo and memory
 * filesystems are not (by type); files deep or under paths longer than PATH_MAX are found and
 * opened; what cannot be walked is a skip; mounts and processes an install leaves are listed.
 */
#include "rootdiff.h"
#include "scan_fixtures.h"
#include "sysstate.h"
#include "tap.h"

#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <sys/wait.h>

static void put(const char *root, const char *rel, const char *text)
{
	char *p = pib_asprintf("%s%s", root, rel);
	fx_write(p, text, strlen(text));
	free(p);
}

static void dir(const char *root, const char *rel)
{
	char *p = pib_asprintf("%s%s", root, rel);
	mkdir(p, 0755);
	free(p);
}

static char *joined(char **v)
{
	struct pib_buf b = {0};

	for (size_t i = 0; v && v[i]; i++)
		(void)pib_buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	return b.data ? b.data : strdup("");
}

/* What a diff sent: files (path and the first bytes read through the fd), skips, mounts not entered. */
struct seen {
	struct pib_buf files, skips, not_walked;
	size_t n_files, longest;
};

static int seen_file(void *ctx, int fd, const char *path, const struct stat *st)
{
	struct seen *s = ctx;
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	(void)st;
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
	s->n_files++;
	if (strlen(path) > s->longest)
		s->longest = strlen(path);
	/* long paths are written by their length and last name */
	if (strlen(path) > 200)
		return pib_buf_printf(&s->files, "[%zu bytes ...%s]=%s; ", strlen(path), strrchr(path, '/'), buf);
	return pib_buf_printf(&s->files, "%s=%s; ", path, buf);
}

static void seen_skip(void *ctx, const char *path, const char *code, const char *reason)
{
	struct seen *s = ctx;

	(void)pib_buf_printf(&s->skips, "%s|%s|%s; ", strlen(path) > 200 ? "[long]" : path, code, reason);
}

static void seen_not_walked(void *ctx, const char *path, const char *fstype)
{
	struct seen *s = ctx;

	(void)pib_buf_printf(&s->not_walked, "%s=%s; ", path, fstype);
}

static int diff(const struct rootdiff *d, char *const *beneath, struct seen *s)
{
	struct rootdiff_sink sink = {.ctx = s, .file = seen_file, .skip = seen_skip, .not_walked = seen_not_walked};
	struct pib_err err = {0};

	pib_buf_free(&s->files);
	pib_buf_free(&s->skips);
	pib_buf_free(&s->not_walked);
	s->n_files = s->longest = 0;
	int r = rootdiff_walk_changes(d, beneath, &sink, &err);
	pib_err_clear(&err);
	return r;
}

static const char *txt(const struct pib_buf *b)
{
	return b->data ? b->data : "";
}

/* A chain of n directories named name under root/rel, with a file "f" holding text at its bottom. */
static int chain(const char *root, const char *rel, const char *name, int n, const char *text)
{
	char *p = pib_asprintf("%s%s", root, rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	free(p);
	for (int i = 0; i < n && fd >= 0; i++) {
		if (mkdirat(fd, name, 0755) < 0)
			return -errno;
		int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	if (fd < 0)
		return -errno;
	int f = openat(fd, "f", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	close(fd);
	if (f < 0 || pib_write_all(f, text, strlen(text)) < 0)
		return -EIO;
	close(f);
	return 0;
}

/* Removes a chain that pib_rm_rf (256 levels) cannot: each level moved up, then removed. */
static void unchain(const char *root, const char *rel, const char *name)
{
	char *p = pib_asprintf("%s%s", root, rel), *inner = pib_asprintf("%s/%s", name, name);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	while (fd >= 0 && renameat(fd, inner, fd, ".pib-up") == 0) {
		char *top = pib_asprintf("%s/%s", p, name);
		(void)pib_rm_rf(top);
		free(top);
		if (renameat(fd, ".pib-up", fd, name) < 0)
			break;
	}
	char *top = pib_asprintf("%s/%s", p, name);
	(void)pib_rm_rf(top);
	free(top);
	if (fd >= 0)
		close(fd);
	free(inner);
	free(p);
}

static void basic(const char *root)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	char **changed = NULL;

	dir(root, "/etc");
	dir(root, "/usr");
	dir(root, "/usr/bin");
	dir(root, "/proc");
	dir(root, "/dev");
	dir(root, "/sys");
	dir(root, "/tmp");
	put(root, "/etc/keep", "unchanged\n");
	put(root, "/etc/grow", "one line\n");
	put(root, "/etc/touch", "same bytes\n");
	put(root, "/usr/bin/moved", "a program\n");
	put(root, "/proc/plain", "a plain directory of the root's disk\n");

	ok(rootdiff_snapshot(root, &d, &err) == 0, "a snapshot of the root");
	ok(d && rootdiff_files(d) == 5, "5 regular files recorded (a root's own /proc is a directory like any other): %zu",
	   d ? rootdiff_files(d) : 0);
	ok(rootdiff_changed(d, &changed, &err) == 0 && changed && !changed[0], "nothing changed yet");
	pib_strv_free(changed);
	changed = NULL;

	put(root, "/etc/grow", "one line\ntwo lines\n");
	char *p = pib_asprintf("%s/etc/touch", root);
	struct timeval tv[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
	utimes(p, tv);
	free(p);
	char *a = pib_asprintf("%s/usr/bin/moved", root), *b = pib_asprintf("%s/usr/bin/renamed", root);
	rename(a, b);
	free(a);
	free(b);
	dir(root, "/var");
	dir(root, "/var/lib");
	dir(root, "/var/lib/new");
	put(root, "/var/lib/new/dropped", "from a maintainer script\n");
	put(root, "/tmp/also", "dropped in tmp\n");
	dir(root, "/dev/.cache");
	put(root, "/dev/.cache/x", "dropped in the root's /dev\n");
	put(root, "/proc/more", "dropped in the root's /proc\n");
	dir(root, "/sys/kernel");
	put(root, "/sys/kernel/y", "dropped in the root's /sys\n");
	p = pib_asprintf("%s/etc/link", root);
	(void)!symlink("/etc/keep", p);
	free(p);
	p = pib_asprintf("%s/etc/fifo", root);
	mkfifo(p, 0600);
	free(p);

	ok(rootdiff_changed(d, &changed, &err) == 0, "the diff after the changes");
	char *j = joined(changed);
	ok(!strcmp(j, "/dev/.cache/x /etc/grow /etc/touch /proc/more /sys/kernel/y /tmp/also /usr/bin/renamed "
		      "/var/lib/new/dropped"),
	   "new, grown, touched and renamed files, also in the root's own /dev, /proc, /sys; no link, fifo or unchanged file: %s",
	   j);
	free(j);
	pib_strv_free(changed);
	rootdiff_free(d);

	char *missing = pib_asprintf("%s/none", root);
	d = NULL;
	ok(rootdiff_snapshot(missing, &d, &err) < 0 && err.set && !strcmp(err.code, "scan.root_unreadable") && !d,
	   "a root that does not exist: scan.root_unreadable");
	free(missing);
	pib_err_clear(&err);
}

/* A snapshot saved to a file and read back diffs the same; a damaged file is refused. */
static void saved(const char *top)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL, *back = NULL;
	char **changed = NULL;
	char *root = pib_asprintf("%s/saved", top), *file = pib_asprintf("%s/snap", top);

	dir(top, "/saved");
	dir(root, "/etc");
	put(root, "/etc/a", "first\n");
	put(root, "/etc/b", "second\n");
	ok(rootdiff_snapshot(root, &d, &err) == 0 && rootdiff_save(d, file) == 0, "saved: a snapshot written to a file");
	ok(rootdiff_load(root, file, &back) == 0 && back && rootdiff_files(back) == 2, "saved: read back, 2 files");
	ok(rootdiff_changed(back, &changed, &err) == 0 && changed && !changed[0], "saved: nothing changed since");
	pib_strv_free(changed);
	changed = NULL;
	put(root, "/etc/b", "second, changed\n");
	put(root, "/etc/c", "dropped after the snapshot\n");
	ok(rootdiff_changed(back, &changed, &err) == 0, "saved: the diff from the file");
	char *j = joined(changed);
	ok(!strcmp(j, "/etc/b /etc/c"), "saved: the changed and the new file, as from the snapshot itself: %s", j);
	free(j);
	pib_strv_free(changed);
	rootdiff_free(back);
	back = NULL;

	char *text = NULL;
	size_t len = 0;
	if (pib_read_file(file, 1 << 20, &text, &len) == 0 && len > 30) {
		ok(pib_write_file(file, text, len - 3, 0600) == 0 && rootdiff_load(root, file, &back) == -EBADMSG && !back,
		   "saved: a truncated file is refused (-EBADMSG)");
		text[0] = 'X';
		ok(pib_write_file(file, text, len, 0600) == 0 && rootdiff_load(root, file, &back) == -EBADMSG && !back,
		   "saved: a file that is not a snapshot is refused");
	}
	free(text);
	rootdiff_free(d);
	pib_err_clear(&err);
	free(root);
	free(file);
}

/* 260 levels deep, and under a path longer than PATH_MAX: found, and opened through the fd given. */
static void deep_and_long(const char *root)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	struct seen s = {0};
	char name[251];

	memset(name, 'n', 250);
	name[250] = '\0';
	dir(root, "/deep");
	dir(root, "/long");
	dir(root, "/toodeep");
	ok(rootdiff_snapshot(root, &d, &err) == 0, "a snapshot before the deep and long trees");
	ok(chain(root, "/deep", "d", 260, "deep file\n") == 0, "a file 260 directories deep");
	ok(chain(root, "/long", name, 20, "long file\n") == 0, "a file under 20 directories of 250 bytes (5 KB)");
	ok(diff(d, NULL, &s) == 0, "the diff walks them");
	ok(s.n_files == 2 && strstr(txt(&s.files), "[527 bytes .../f]=deep file; ") &&
		   strstr(txt(&s.files), "[5027 bytes .../f]=long file; "),
	   "both found and read through their descriptors: %s", txt(&s.files));
	ok(s.longest > PATH_MAX, "the long one's path is %zu bytes, more than PATH_MAX", s.longest);
	ok(!s.skips.data, "nothing skipped: %s", txt(&s.skips));

	ok(chain(root, "/toodeep", "d", ROOTDIFF_MAX_DEPTH + 2, "too deep\n") == 0, "a file %d directories deep",
	   ROOTDIFF_MAX_DEPTH + 3);
	ok(diff(d, NULL, &s) == 0 && s.n_files == 2, "the diff still finds the other two: %zu", s.n_files);
	ok(s.skips.data && strstr(s.skips.data, "|limit.max_depth|not walked: directories nested deeper than 4096 levels; ") &&
		   !strchr(strchr(s.skips.data, ';') + 1, ';'),
	   "the one too deep is one skip, limit.max_depth: %.200s", txt(&s.skips));
	pib_buf_free(&s.files);
	pib_buf_free(&s.skips);
	pib_buf_free(&s.not_walked);
	rootdiff_free(d);
	unchain(root, "/deep", "d");
	unchain(root, "/long", name);
	unchain(root, "/toodeep", "d");
}

/* A directory that cannot be opened (as nobody: root reads everything) is a skip with the reason. */
static void unreadable(const char *root)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	struct seen s = {0};

	dir(root, "/locked");
	put(root, "/locked/secret", "before\n");
	chmod(root, 0755);
	ok(rootdiff_snapshot(root, &d, &err) == 0, "a snapshot with /locked");
	put(root, "/locked/secret", "after, changed\n");
	char *p = pib_asprintf("%s/locked", root);
	chmod(p, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		int r = diff(d, NULL, &s);
		printf("# as nobody: skips: %s\n", txt(&s.skips));
		fflush(stdout);
		_exit(r == 0 && !strcmp(txt(&s.skips), "/locked|error|not walked: cannot open the directory: Permission denied; ")
			      ? 0
			      : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a directory that cannot be opened: one skip, code error, with the reason (status %d)", st);
	chmod(p, 0755);
	free(p);
	rootdiff_free(d);
}

/* In a private mount namespace: pseudo and memory filesystems by type, and what a mount hides. */
static void mounts(const char *root)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	struct seen s = {0};
	struct sys_mounts *before = NULL, *after = NULL;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("ok %d # SKIP no private mount namespace: %s\n", ++tap_n, strerror(errno));
		return;
	}
	dir(root, "/m");
	dir(root, "/m/proc");
	dir(root, "/m/run");
	dir(root, "/m/hide");
	dir(root, "/m/real");
	put(root, "/m/hide/old", "there before\n");
	put(root, "/m/file", "a clean file\n");
	char *mproc = pib_asprintf("%s/m/proc", root), *mrun = pib_asprintf("%s/m/run", root),
	     *mhide = pib_asprintf("%s/m/hide", root), *mreal = pib_asprintf("%s/m/real", root),
	     *mfile = pib_asprintf("%s/m/file", root), *etc = pib_asprintf("%s/etc", root);
	ok(mount("proc", mproc, "proc", 0, NULL) == 0 && mount("tmpfs", mrun, "tmpfs", 0, NULL) == 0,
	   "proc and a tmpfs mounted in the root");
	ok(rootdiff_snapshot(root, &d, &err) == 0, "a snapshot");
	ok(sysstate_mounts(&before) == 0, "the mount table before");
	put(root, "/m/run/in-tmpfs", "memory only\n");
	put(root, "/m/hide/dropped", "hidden by a mount\n");
	put(root, "/m/file", "dropped, then covered\n");
	ok(mount("tmpfs", mhide, "tmpfs", 0, NULL) == 0, "a tmpfs mounted over /m/hide after the snapshot");
	ok(mount(etc, mreal, NULL, MS_BIND, NULL) == 0, "the root's /etc bound over /m/real");
	put(root, "/m/run/x", "\n");
	char *clean = pib_asprintf("%s/etc/keep", root);
	ok(mount(clean, mfile, NULL, MS_BIND, NULL) == 0, "a clean file bound over /m/file");
	ok(sysstate_mounts(&after) == 0, "the mount table after");
	cJSON *json = NULL;
	char **paths = NULL;
	ok(sysstate_mounts_added(before, after, root, &json, &paths) == 0, "the mounts added");
	char *pj = joined(paths), *js = json ? cJSON_PrintUnformatted(json) : NULL;
	ok(!strcmp(pj, "/m/hide /m/real /m/file"), "three mount points, inside the root: %s", pj);
	ok(js && strstr(js, "{\"mount_point\":\"/m/hide\",\"fstype\":\"tmpfs\",\"source\":\"tmpfs\"}"),
	   "listed with fstype and source: %s", js ? js : "");

	ok(diff(d, NULL, &s) == 0, "the diff without looking beneath");
	ok(!strstr(txt(&s.files), "dropped"), "misses what the mounts hide: %s", txt(&s.files));
	ok(strstr(txt(&s.not_walked), "/m/proc=proc; ") && strstr(txt(&s.not_walked), "/m/run=tmpfs; ") &&
		   strstr(txt(&s.not_walked), "/m/hide=tmpfs; ") && strlen(txt(&s.not_walked)) == 43,
	   "proc and tmpfs mount points not entered, by type, each named with its filesystem: %s", txt(&s.not_walked));
	ok(diff(d, paths, &s) == 0, "the diff looking beneath the new mounts");
	ok(strstr(txt(&s.files), "/m/hide/dropped=hidden by a mount; ") &&
		   strstr(txt(&s.files), "/m/file=dropped, then covered; "),
	   "finds the file under the tmpfs and the one under the bound file, through a clone of the filesystem: %s",
	   txt(&s.files));
	ok(!strstr(txt(&s.files), "/m/hide/old") && !strstr(txt(&s.files), "in-tmpfs"),
	   "not what was there before, nor what is in the tmpfs");
	ok(!s.skips.data, "nothing skipped: %s", txt(&s.skips));
	umount2(mfile, MNT_DETACH);
	umount2(mreal, MNT_DETACH);
	umount2(mhide, MNT_DETACH);
	umount2(mrun, MNT_DETACH);
	umount2(mproc, MNT_DETACH);
	free(js);
	free(pj);
	cJSON_Delete(json);
	pib_strv_free(paths);
	sysstate_mounts_free(before);
	sysstate_mounts_free(after);
	pib_buf_free(&s.files);
	pib_buf_free(&s.skips);
	pib_buf_free(&s.not_walked);
	rootdiff_free(d);
	free(mproc);
	free(mrun);
	free(mhide);
	free(mreal);
	free(mfile);
	free(etc);
	free(clean);
	pib_err_clear(&err);
}

/* Processes started after the snapshot and still running are listed; in a root, only those living in it. */
static void processes(const char *root)
{
	struct sys_procs *before = NULL;

	ok(sysstate_procs(&before) == 0, "the processes before");
	fflush(stdout);
	pid_t a = fork();
	if (a == 0) {
		setpgid(0, 0); /* its sleep dies with it */
		execl("/bin/sh", "sh", "-c", "sleep 30; : \"$0\"", "pib\x1b[31mtest", (char *)NULL);
		_exit(127);
	}
	pid_t b = fork();
	if (b == 0) {
		if (chroot(root) < 0)
			_exit(2);
		pause();
		_exit(0);
	}
	usleep(200000);
	cJSON *all = sysstate_procs_left(before, "/"), *in = sysstate_procs_left(before, root);
	cJSON *pa = NULL, *pb = NULL, *o;
	cJSON_ArrayForEach(o, all)
	{
		double pid = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "pid"));
		pa = pid == a ? o : pa;
		pb = pid == b ? o : pb;
	}
	char *sa = pa ? cJSON_PrintUnformatted(pa) : NULL, *si = in ? cJSON_PrintUnformatted(in) : NULL;
	char *want = pib_asprintf("{\"pid\":%d,\"exe\":\"/usr/bin/dash\",\"package\":\"dash\","
				  "\"cmdline\":\"sh -c sleep 30; : \\\"$0\\\" pib\\\\x1b[31mtest\"}", a);
	ok(sa && want && !strcmp(sa, want),
	   "on /: the new shell, its exe, its package and its escaped command line: %s", sa ? sa : "");
	free(want);
	ok(pb != NULL, "on /: the chrooted one too");
	ok(cJSON_GetArraySize(in) == 1 &&
		   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(in, 0), "pid")) == b,
	   "in a root: only the process living in it: %s", si ? si : "");
	kill(-a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	cJSON *gone = sysstate_procs_left(before, root);
	ok(gone && cJSON_GetArraySize(gone) == 0, "ended processes are not listed");
	cJSON_Delete(gone);
	free(sa);
	free(si);
	cJSON_Delete(all);
	cJSON_Delete(in);
	sysstate_procs_free(before);
}

/* ROOTDIFF_CONTENTS: digests, /etc text copies, modes; kept by the v2 file; a v1 file still loads, without them. */
static void contents(const char *top)
{
	struct pib_err err = {0};
	struct rootdiff *d = NULL, *back = NULL;
	struct rootdiff_file f;
	char *root = pib_asprintf("%s/contents", top), *file = pib_asprintf("%s/snap2", top);
	char hex[65], got[65];

	dir(top, "/contents");
	dir(root, "/etc");
	dir(root, "/usr");
	put(root, "/etc/text", "a = 1\nb = 2\n");
	put(root, "/etc/latin1", "caf\xe9\n");
	put(root, "/usr/data", "not under etc\n");
	char *p = pib_asprintf("%s/etc/text", root);
	ok(p && chmod(p, 0640) == 0, "contents: /etc/text 0640");
	free(p);
	ok(rootdiff_snapshot_ex(root, ROOTDIFF_CONTENTS, &d, &err) == 0 && rootdiff_digests(d) == 3,
	   "contents: a snapshot with 3 digests");
	pib_sha256_hex("a = 1\nb = 2\n", 12, hex);
	ok(d && rootdiff_get(d, "/etc/text", &f) && f.has_sha256 && (pib_hex(f.sha256, 32, got), !strcmp(got, hex)),
	   "contents: /etc/text's SHA-256");
	ok(d && rootdiff_get(d, "/etc/text", &f) && f.text && !strcmp(f.text, "a = 1\nb = 2\n") && f.text_len == 12 &&
		   (f.mode & 07777) == 0640,
	   "contents: /etc/text copied, its mode kept");
	ok(d && rootdiff_get(d, "/etc/latin1", &f) && f.has_sha256 && !f.text, "contents: not UTF-8: a digest, no copy");
	ok(d && rootdiff_get(d, "/usr/data", &f) && f.has_sha256 && !f.text, "contents: outside /etc: a digest, no copy");
	ok(d && rootdiff_save(d, file) == 0 && rootdiff_load(root, file, &back) == 0 && back &&
		   rootdiff_flags(back) == ROOTDIFF_CONTENTS && rootdiff_digests(back) == 3,
	   "contents: saved (v2) and read back with its digests");
	ok(back && rootdiff_get(back, "/etc/text", &f) && f.text && !strcmp(f.text, "a = 1\nb = 2\n") &&
		   (pib_hex(f.sha256, 32, got), !strcmp(got, hex)) && (f.mode & 07777) == 0640,
	   "contents: the copy, digest and mode read back");
	rootdiff_free(back);
	back = NULL;
	rootdiff_free(d);
	d = NULL;
	ok(rootdiff_snapshot(root, &d, &err) == 0 && rootdiff_flags(d) == 0 && rootdiff_digests(d) == 0 &&
		   rootdiff_get(d, "/etc/text", &f) && !f.has_sha256 && !f.text,
	   "contents: without the flag, no digests (postscan's cost as before)");
	/* a v1 file, as an older agent wrote it: one entry */
	struct pib_buf b = {0};
	uint32_t len = 6;
	uint64_t rec[7] = {1, 2, 3, 4, 5, 6, 7};
	ok(pib_buf_append(&b, "pib-agent rootdiff v1\n", 22) == 0 && pib_buf_append(&b, &len, 4) == 0 &&
		   pib_buf_append(&b, rec, sizeof(rec)) == 0 && pib_buf_append(&b, "/etc/x", 6) == 0 &&
		   pib_write_file(file, b.data, b.len, 0600) == 0 && rootdiff_load(root, file, &back) == 0 && back &&
		   rootdiff_files(back) == 1 && rootdiff_flags(back) == 0 && rootdiff_get(back, "/etc/x", &f) &&
		   f.size == 3 && !f.has_sha256,
	   "contents: a v1 file still loads, without digests");
	pib_buf_free(&b);
	rootdiff_free(back);
	rootdiff_free(d);
	pib_err_clear(&err);
	free(root);
	free(file);
}

int main(void)
{
	char *root = NULL;

	if (pib_mkdtemp("pib-test-rootdiff", &root) < 0)
		return 1;
	basic(root);
	saved(root);
	contents(root);
	deep_and_long(root);
	unreadable(root);
	processes(root);
	mounts(root);
	(void)pib_rm_rf(root);
	free(root);
	return tap_done();
}
