/* SPDX-License-Identifier: MIT */
/* The delivery spool: reports written durably, sent oldest first, moved to sent/ once a 2xx came. */
#include "spool.h"
#include "job.h"
#include "proc.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_META_SCHEMA "pib-agent/spool-meta/v1"
#define SPOOL_CONTENT_TYPE "application/vnd.in-toto+json"
#define SPOOL_META_MAX (64 * 1024)            /* bytes of one meta file */
#define SPOOL_REPORT_MAX (256u * 1024 * 1024) /* bytes of one report */
#define SPOOL_MAX_ENTRIES 10000               /* reports looked at in one deliver */
#define SPOOL_LOCK_TRIES 3000                 /* 10 ms apart: 30 s for another agent's put or move */
#define SPOOL_TMP_PREFIX ".tmp-"
#define SPOOL_LOCK_NAME ".lock"
#define REPORT_SUFFIX ".json"
#define META_SUFFIX ".meta.json"

static const char *const phases[] = {"pre-install", "final", "failed", "sbom"};

/* ------------------------------------------------------------------ names */

static bool phase_valid(const char *s)
{
	for (size_t i = 0; s && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(s, phases[i]))
			return true;
	return false;
}

static int check_names(const char *build_id, const char *phase, struct pib_err *err)
{
	if (!job_build_id_valid(build_id))
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.bad_name",
				"the build id must match [A-Za-z0-9._-]{1,128} (not . or ..): it names files");
	if (!phase_valid(phase))
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.bad_name",
				"the report's phase must be pre-install, final, failed or sbom");
	return 0;
}

/* BUILD_ID.PHASE + suffix into out (always fits: 128 + 1 + 11 + 10 < 192). */
static void entry_name(char *out, size_t size, const char *build_id, const char *phase, const char *suffix)
{
	snprintf(out, size, "%s.%s%s", build_id, phase, suffix);
}

/* Splits NAME.meta.json into a valid build id and phase; false for any other name. */
static bool parse_meta_name(const char *name, char build_id[129], char phase[16])
{
	size_t n = strlen(name), sl = strlen(META_SUFFIX);

	if (name[0] == '.' || n <= sl || !pib_str_has_suffix(name, META_SUFFIX) || n - sl > 128 + 1 + 15)
		return false;
	char base[160];
	memcpy(base, name, n - sl);
	base[n - sl] = '\0';
	char *dot = strrchr(base, '.');
	if (!dot || strlen(dot + 1) >= 16)
		return false;
	*dot = '\0';
	if (!job_build_id_valid(base) || !phase_valid(dot + 1))
		return false;
	memcpy(build_id, base, strlen(base) + 1); /* valid: at most 128 bytes */
	memcpy(phase, dot + 1, strlen(dot + 1) + 1);
	return true;
}

/* ------------------------------------------------------------------ folders */

struct spool_dirs {
	int state, spool, sent, lock;
	char *state_dir; /* for messages */
};

static void dirs_close(struct spool_dirs *d)
{
	int *fds[] = {&d->state, &d->spool, &d->sent, &d->lock};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(d->state_dir);
	d->state_dir = NULL;
}

/* The folder fd is the agent's own: a directory owned by us, not writable by group or others. */
static int check_dir(int fd, const char *what, const char *state_dir, struct pib_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "%s/%s: %s", state_dir, what,
				strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return pib_fail(err, -ENOTDIR, PIB_ERR_ENV, "deliver.spool_unsafe", "%s/%s is not a folder",
				state_dir, what);
	if (st.st_uid != geteuid())
		return pib_fail(err, -EPERM, PIB_ERR_ENV, "deliver.spool_unsafe",
				"%s/%s belongs to uid %u, not to the agent (uid %u): refused", state_dir, what,
				(unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return pib_fail(err, -EPERM, PIB_ERR_ENV, "deliver.spool_unsafe",
				"%s/%s is writable by others (mode %04o): refused", state_dir, what,
				(unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * Opens (creating it 0700 when create) the folder name inside parent, never through a
 * symlink. -ENOENT without an error set when it is missing and !create.
 */
static int open_subdir(int parent, const char *name, const char *what, const char *state_dir, bool create,
		       int *ret, struct pib_err *err)
{
	struct stat st;
	int fd;

	if (create) {
		if (mkdirat(parent, name, 0700) == 0) {
			if (fsync(parent) < 0)
				return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "fsync of %s: %s",
						state_dir, strerror(errno));
		} else if (errno != EEXIST) {
			return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "cannot create %s/%s: %s",
					state_dir, what, strerror(errno));
		}
	}
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "%s/%s: %s", state_dir, what,
				strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return pib_fail(err, -ELOOP, PIB_ERR_ENV, "deliver.spool_unsafe",
				"%s/%s is a symlink: refused (the spool must be the agent's own folder)", state_dir,
				what);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, errno == ELOOP || errno == ENOTDIR ? "deliver.spool_unsafe"
											       : "deliver.spool_io",
				"%s/%s: %s", state_dir, what, strerror(errno));
	int r = check_dir(fd, what, state_dir, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

/*
 * Opens STATE_DIR, STATE_DIR/spool and STATE_DIR/spool/sent (created when create). Returns 0,
 * -ENOENT without an error when the state folder or the spool is missing and !create, else a
 * negative errno with err set.
 */
static int dirs_open(const char *state_dir, bool create, struct spool_dirs *d, struct pib_err *err)
{
	int r;

	*d = (struct spool_dirs){.state = -1, .spool = -1, .sent = -1, .lock = -1};
	if (!state_dir || !state_dir[0])
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.spool_io", "no state folder given");
	d->state_dir = pib_strdup(state_dir);
	if (!d->state_dir)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (create && mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "cannot create the state folder %s: %s",
			     state_dir, strerror(errno));
		goto fail;
	}
	d->state = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->state < 0) {
		r = -errno;
		if (r == -ENOENT && !create)
			goto fail;
		pib_fail(err, r, PIB_ERR_ENV, "deliver.spool_io", "cannot open the state folder %s: %s", state_dir,
			 strerror(-r));
		goto fail;
	}
	struct stat st;
	if (fstat(d->state, &st) < 0) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "%s: %s", state_dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		r = pib_fail(err, -EPERM, PIB_ERR_ENV, "deliver.spool_unsafe",
			     "the state folder %s belongs to uid %u with mode %04o: it must be the agent's "
			     "(uid %u) and not writable by others",
			     state_dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		goto fail;
	}
	r = open_subdir(d->state, "spool", "spool", state_dir, create, &d->spool, err);
	if (r < 0)
		goto fail;
	r = open_subdir(d->spool, "sent", "spool/sent", state_dir, create, &d->sent, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	dirs_close(d);
	return r;
}

static int sync_dir(const struct spool_dirs *d, int fd, const char *what, struct pib_err *err)
{
	if (fsync(fd) < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "fsync of %s/%s: %s", d->state_dir,
				what, strerror(errno));
	return 0;
}

/* Takes the spool's lock (held only for short file operations, never during a send). */
static int spool_lock(struct spool_dirs *d, struct pib_err *err)
{
	d->lock = openat(d->spool, SPOOL_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (d->lock < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "%s/spool/%s: %s", d->state_dir,
				SPOOL_LOCK_NAME, strerror(errno));
	for (unsigned i = 0; i < SPOOL_LOCK_TRIES; i++) {
		if (flock(d->lock, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	int r = -errno;
	close(d->lock);
	d->lock = -1;
	return pib_fail(err, r == -EWOULDBLOCK ? -EBUSY : r, PIB_ERR_ENV, "deliver.spool_busy",
			"%s/spool is locked by another agent for more than %d s", d->state_dir,
			SPOOL_LOCK_TRIES / 100);
}

static void spool_unlock(struct spool_dirs *d)
{
	if (d->lock >= 0)
		close(d->lock); /* releases the flock */
	d->lock = -1;
}

/* A new directory stream on the folder fd (its own offset: a dup would share fd's). */
static DIR *dir_stream(int fd)
{
	int nfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = nfd >= 0 ? fdopendir(nfd) : NULL;

	if (!dir && nfd >= 0)
		close(nfd);
	return dir;
}

static bool exists_regular(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/*
 * Removes what a crash left (under the lock, so no put of another agent is half-way): temporary
 * files in spool/ and sent/; a report in spool/ whose meta is already in sent/ finishes its move;
 * a report without any meta (a put that never completed) goes.
 */
static void remove_leftovers(struct spool_dirs *d)
{
	int fds[2] = {d->spool, d->sent};

	for (int k = 0; k < 2; k++) {
		DIR *dir = dir_stream(fds[k]);
		if (!dir)
			continue;
		bool changed = false;
		struct dirent *de;
		for (unsigned n = 0; n < 4 * SPOOL_MAX_ENTRIES && (de = readdir(dir)); n++) {
			const char *name = de->d_name;
			if (pib_str_has_prefix(name, SPOOL_TMP_PREFIX)) {
				changed |= unlinkat(fds[k], name, 0) == 0;
				continue;
			}
			if (k != 0 || name[0] == '.' || !pib_str_has_suffix(name, REPORT_SUFFIX) ||
			    pib_str_has_suffix(name, META_SUFFIX) || strlen(name) > 150)
				continue;
			char meta[192];
			snprintf(meta, sizeof(meta), "%.*s%s", (int)(strlen(name) - strlen(REPORT_SUFFIX)), name,
				 META_SUFFIX);
			if (exists_regular(d->spool, meta) || !exists_regular(d->spool, name))
				continue;
			if (exists_regular(d->sent, meta))
				changed |= renameat(d->spool, name, d->sent, name) == 0;
			else
				changed |= unlinkat(d->spool, name, 0) == 0;
		}
		closedir(dir);
		if (changed) {
			(void)fsync(d->sent);
			(void)fsync(d->spool);
		}
	}
}

/* ------------------------------------------------------------------ durable files */

/*
 * Writes data to dirfd/name: a new temporary file (O_EXCL|O_NOFOLLOW, 0600) in the same folder,
 * fsynced, renamed over name. The folder's fsync is the caller's (once for several files).
 * *ret_ino gets the file's inode when not NULL.
 */
static int write_durable(const struct spool_dirs *d, int dirfd, const char *name, const void *data, size_t len,
			 ino_t *ret_ino, struct pib_err *err)
{
	unsigned char rnd[8];
	char hex[17], tmp[256];
	struct stat st;
	int fd, r = 0;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return pib_fail(err, -EIO, PIB_ERR_ENV, "deliver.spool_io", "getrandom failed: %s", strerror(errno));
	pib_hex(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), SPOOL_TMP_PREFIX "%s-%s", hex, name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "cannot create a file in %s/spool: %s",
				d->state_dir, strerror(errno));
	r = pib_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && ret_ino && fstat(fd, &st) == 0)
		*ret_ino = st.st_ino;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return pib_fail(err, r, PIB_ERR_ENV, "deliver.spool_io", "cannot write %s/spool/%s: %s", d->state_dir,
				name, strerror(-r));
	}
	return 0;
}

/* Reads dirfd/name (a regular file, never through a symlink) of at most max bytes. */
static int read_small(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len, ino_t *ret_ino)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* shrank while read */
			free(buf);
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	if (ret_ino)
		*ret_ino = st.st_ino;
out:
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ the meta */

struct meta {
	char *url, *ca_bundle; /* ca_bundle NULL: the system's store */
	char method[8];
	char key[160];
	char sha256[65];
	double seq;
	uint64_t size;
	unsigned tries;
	char spooled[40];
	ino_t ino;
};

static void meta_free(struct meta *m)
{
	free(m->url);
	free(m->ca_bundle);
	memset(m, 0, sizeof(*m));
}

static bool url_https(const char *url)
{
	return url && strncasecmp(url, "https://", 8) == 0 && url[8] && !strpbrk(url, " \t\r\n");
}

static char *meta_text(const char *build_id, const char *phase, const struct meta *m)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (!o)
		return NULL;
	if (cJSON_AddStringToObject(o, "schema", SPOOL_META_SCHEMA) &&
	    cJSON_AddStringToObject(o, "build_id", build_id) && cJSON_AddStringToObject(o, "phase", phase) &&
	    cJSON_AddStringToObject(o, "url", m->url) && cJSON_AddStringToObject(o, "method", m->method) &&
	    (m->ca_bundle ? cJSON_AddStringToObject(o, "ca_bundle", m->ca_bundle) != NULL
			  : cJSON_AddNullToObject(o, "ca_bundle") != NULL) &&
	    cJSON_AddStringToObject(o, "idempotency_key", m->key) &&
	    cJSON_AddNumberToObject(o, "seq", m->seq) && cJSON_AddStringToObject(o, "spooled", m->spooled) &&
	    cJSON_AddStringToObject(o, "sha256", m->sha256) &&
	    cJSON_AddNumberToObject(o, "size", (double)m->size) && cJSON_AddNumberToObject(o, "tries", m->tries))
		text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *key, double max, double *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > max)
		return false;
	*ret = v->valuedouble;
	return true;
}

/* Reads and checks spool/BUILD_ID.PHASE.meta.json: deliver.spool_corrupt naming the file. */
static int meta_read(const struct spool_dirs *d, const char *build_id, const char *phase, struct meta *m,
		     struct pib_err *err)
{
	char name[192], want_key[160], *text = NULL;
	const char *why = NULL;
	size_t len = 0;
	cJSON *o = NULL;
	double v = 0, size = 0;

	memset(m, 0, sizeof(*m));
	entry_name(name, sizeof(name), build_id, phase, META_SUFFIX);
	int r = read_small(d->spool, name, SPOOL_META_MAX, &text, &len, &m->ino);
	if (r == -ENOENT)
		return pib_fail(err, r, PIB_ERR_FAILED, "deliver.not_spooled",
				"no report of build %s phase %s is in %s/spool", build_id, phase, d->state_dir);
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_FAILED, "deliver.spool_corrupt", "%s/spool/%s: %s", d->state_dir,
				name, r == -EFBIG ? "larger than 64 KiB" : r == -EINVAL ? "not a regular file" : strerror(-r));
	snprintf(want_key, sizeof(want_key), "%s:%s", build_id, phase);
	const char *s;
	o = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(o))
		why = "not a JSON object";
	else if (!(s = jstr(o, "schema")) || strcmp(s, SPOOL_META_SCHEMA))
		why = "schema is not " SPOOL_META_SCHEMA;
	else if (!(s = jstr(o, "build_id")) || strcmp(s, build_id) || !(s = jstr(o, "phase")) || strcmp(s, phase))
		why = "its build_id or phase differs from its name";
	else if (!url_https(jstr(o, "url")))
		why = "url is not an https URL";
	else if (!(s = jstr(o, "method")) || (strcmp(s, "POST") && strcmp(s, "PUT")))
		why = "method is not POST or PUT";
	else if (!(s = jstr(o, "idempotency_key")) || strcmp(s, want_key))
		why = "idempotency_key is not BUILD_ID:PHASE";
	else if (!pib_is_hex64(jstr(o, "sha256")))
		why = "sha256 is not 64 hex digits";
	else if (!jnum(o, "seq", 1e18, &m->seq))
		why = "seq is not a number";
	else if (!jnum(o, "size", SPOOL_REPORT_MAX, &size))
		why = "size is not a number up to 256 MiB";
	else if (!jnum(o, "tries", 1e9, &v))
		why = "tries is not a number";
	else if (cJSON_GetObjectItemCaseSensitive(o, "ca_bundle") &&
		 !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "ca_bundle")) &&
		 !(jstr(o, "ca_bundle") && jstr(o, "ca_bundle")[0] == '/'))
		why = "ca_bundle is neither null nor an absolute path";
	if (why) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "deliver.spool_corrupt",
			     "%s/spool/%s cannot be used: %s (the report stays spooled; remove the file "
			     "when it is not wanted)",
			     d->state_dir, name, why);
		goto out;
	}
	m->tries = (unsigned)v;
	m->size = (uint64_t)size;
	snprintf(m->method, sizeof(m->method), "%s", jstr(o, "method"));
	snprintf(m->key, sizeof(m->key), "%s", want_key);
	snprintf(m->sha256, sizeof(m->sha256), "%s", jstr(o, "sha256"));
	snprintf(m->spooled, sizeof(m->spooled), "%s", jstr(o, "spooled") ? jstr(o, "spooled") : "");
	m->url = pib_strdup(jstr(o, "url"));
	m->ca_bundle = jstr(o, "ca_bundle") ? pib_strdup(jstr(o, "ca_bundle")) : NULL;
	if (!m->url || (jstr(o, "ca_bundle") && !m->ca_bundle)) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		meta_free(m);
	}
out:
	cJSON_Delete(o);
	free(text);
	return r;
}

/* Reads the report a meta describes, checked against its size and SHA-256. */
static int report_read(const struct spool_dirs *d, const char *build_id, const char *phase, const struct meta *m,
		       char **ret, size_t *ret_len, struct pib_err *err)
{
	char name[192], hex[65];
	int r;

	entry_name(name, sizeof(name), build_id, phase, REPORT_SUFFIX);
	r = read_small(d->spool, name, SPOOL_REPORT_MAX, ret, ret_len, NULL);
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_FAILED, "deliver.spool_corrupt", "%s/spool/%s: %s", d->state_dir, name,
				r == -ENOENT ? "missing (its meta is there)" : r == -EINVAL ? "not a regular file"
									: strerror(-r));
	pib_sha256_hex(*ret, *ret_len, hex);
	if (*ret_len != m->size || strcmp(hex, m->sha256)) {
		free(*ret);
		*ret = NULL;
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "deliver.spool_corrupt",
				"%s/spool/%s differs from what was spooled (size or SHA-256 in its meta): not sent",
				d->state_dir, name);
	}
	return 0;
}

/* The highest seq among the metas of spool/ and sent/ (unreadable ones ignored). */
static double max_seq(const struct spool_dirs *d)
{
	int fds[2] = {d->spool, d->sent};
	double best = 0;

	for (int k = 0; k < 2; k++) {
		DIR *dir = dir_stream(fds[k]);
		if (!dir)
			continue;
		struct dirent *de;
		for (unsigned n = 0; n < 4 * SPOOL_MAX_ENTRIES && (de = readdir(dir)); n++) {
			char b[129], p[16], *text = NULL;
			size_t len;
			if (!parse_meta_name(de->d_name, b, p) ||
			    read_small(fds[k], de->d_name, SPOOL_META_MAX, &text, &len, NULL) < 0)
				continue;
			cJSON *o = cJSON_ParseWithLength(text, len);
			double v;
			if (cJSON_IsObject(o) && jnum(o, "seq", 1e18, &v) && v > best)
				best = v;
			cJSON_Delete(o);
			free(text);
		}
		closedir(dir);
	}
	return best;
}

/* ------------------------------------------------------------------ put */

int spool_put(const char *state_dir, const char *build_id, const char *phase, const char *url,
	      const char *method, const char *ca_bundle, const char *report, size_t len, struct pib_err *err)
{
	struct spool_dirs d;
	struct meta m = {0};
	char rname[192], mname[192], *text = NULL;
	int r;

	r = check_names(build_id, phase, err);
	if (r < 0)
		return r;
	if (!url_https(url))
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.url",
				"the report's URL must be an https URL (build %s phase %s)", build_id, phase);
	if (!method || (strcmp(method, "POST") && strcmp(method, "PUT")))
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.url",
				"the report's method must be POST or PUT (build %s phase %s)", build_id, phase);
	if (ca_bundle && ca_bundle[0] != '/')
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.url",
				"the CA bundle must be an absolute path, not %s", ca_bundle);
	if (!report || len > SPOOL_REPORT_MAX)
		return pib_fail(err, -EFBIG, PIB_ERR_FAILED, "deliver.spool_io",
				"the report of build %s phase %s is larger than 256 MiB", build_id, phase);
	r = dirs_open(state_dir, true, &d, err);
	if (r < 0)
		return r;
	r = spool_lock(&d, err);
	if (r < 0)
		goto out;
	remove_leftovers(&d);

	m.url = (char *)url;
	m.ca_bundle = (char *)ca_bundle;
	snprintf(m.method, sizeof(m.method), "%s", method);
	snprintf(m.key, sizeof(m.key), "%s:%s", build_id, phase);
	pib_sha256_hex(report, len, m.sha256);
	m.size = len;
	m.seq = max_seq(&d) + 1;
	pib_now_rfc3339(m.spooled);
	text = meta_text(build_id, phase, &m);
	if (!text) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	entry_name(rname, sizeof(rname), build_id, phase, REPORT_SUFFIX);
	entry_name(mname, sizeof(mname), build_id, phase, META_SUFFIX);
	/* a report already waiting under this name is replaced: its meta goes first, so that a
	 * crash in between leaves a report without meta (removed as a leftover), never a new report
	 * with an old meta */
	if (unlinkat(d.spool, mname, 0) == 0) {
		r = sync_dir(&d, d.spool, "spool", err);
		if (r < 0)
			goto out;
	}
	r = write_durable(&d, d.spool, rname, report, len, NULL, err);
	if (r < 0)
		goto out;
	r = write_durable(&d, d.spool, mname, text, strlen(text), NULL, err);
	if (r < 0) {
		(void)unlinkat(d.spool, rname, 0);
		goto out;
	}
	r = sync_dir(&d, d.spool, "spool", err);
out:
	free(text);
	dirs_close(&d);
	return r;
}

/* ------------------------------------------------------------------ queries */

static bool entry_in(const char *state_dir, const char *build_id, const char *phase, bool sent)
{
	struct spool_dirs d;
	char name[192];
	bool found;

	if (!job_build_id_valid(build_id) || !phase_valid(phase) || dirs_open(state_dir, false, &d, NULL) < 0)
		return false;
	entry_name(name, sizeof(name), build_id, phase, META_SUFFIX);
	found = exists_regular(sent ? d.sent : d.spool, name);
	dirs_close(&d);
	return found;
}

bool spool_sent(const char *state_dir, const char *build_id, const char *phase)
{
	return entry_in(state_dir, build_id, phase, true);
}

bool spool_pending(const char *state_dir, const char *build_id, const char *phase)
{
	return entry_in(state_dir, build_id, phase, false);
}

/* ------------------------------------------------------------------ send */

void spool_item_clear(struct spool_item *it)
{
	free(it->url_redacted);
	memset(it, 0, sizeof(*it));
}

/*
 * The 2xx is recorded: meta then report moved to sent/, folders fsynced. The meta read before
 * the send must still be the one in spool/ (same inode): a report spooled again meanwhile under
 * the same name stays pending.
 */
static int record_sent(struct spool_dirs *d, const char *build_id, const char *phase, ino_t ino,
		       struct pib_err *err)
{
	char rname[192], mname[192];
	struct stat st;
	int r;

	entry_name(rname, sizeof(rname), build_id, phase, REPORT_SUFFIX);
	entry_name(mname, sizeof(mname), build_id, phase, META_SUFFIX);
	r = spool_lock(d, err);
	if (r < 0)
		return r;
	if (fstatat(d->spool, mname, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != ino) {
		/* another agent recorded it, or it was spooled anew: nothing of ours to move */
		spool_unlock(d);
		return 0;
	}
	if (renameat(d->spool, mname, d->sent, mname) < 0) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io",
			     "build %s phase %s was accepted, but moving %s to %s/spool/sent failed: %s "
			     "(it will be sent again with the same Idempotency-Key)",
			     build_id, phase, mname, d->state_dir, strerror(errno));
		goto out;
	}
	r = sync_dir(d, d->sent, "spool/sent", err);
	if (r < 0)
		goto out;
	if (renameat(d->spool, rname, d->sent, rname) < 0 && errno != ENOENT) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "moving %s to %s/spool/sent: %s", rname,
			     d->state_dir, strerror(errno));
		goto out;
	}
	r = sync_dir(d, d->sent, "spool/sent", err);
	if (r == 0)
		r = sync_dir(d, d->spool, "spool", err);
out:
	spool_unlock(d);
	return r;
}

/* One report of open dirs d: read, counted, sent, recorded. */
static int send_one(struct spool_dirs *d, const char *build_id, const char *phase, double deadline,
		    struct spool_item *it, struct pib_err *err)
{
	struct meta m = {0};
	char *body = NULL, *text = NULL, mname[192];
	size_t len = 0;
	long status = 0;
	int r;

	r = spool_lock(d, err);
	if (r < 0)
		return r;
	remove_leftovers(d);
	r = meta_read(d, build_id, phase, &m, err);
	if (r < 0)
		goto unlock;
	snprintf(it->method, sizeof(it->method), "%s", m.method);
	it->url_redacted = http_url_redacted(m.url);
	it->seq = m.seq;
	r = report_read(d, build_id, phase, &m, &body, &len, err);
	if (r < 0)
		goto unlock;
	/* the try is counted durably before the send, so a killed agent's tries count too */
	m.tries++;
	text = meta_text(build_id, phase, &m);
	entry_name(mname, sizeof(mname), build_id, phase, META_SUFFIX);
	if (!text)
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	else
		r = write_durable(d, d->spool, mname, text, strlen(text), &m.ino, err);
	if (r == 0)
		r = sync_dir(d, d->spool, "spool", err);
	if (r < 0)
		goto unlock;
	it->tries = m.tries;
	spool_unlock(d);

	struct http_cfg cfg = {.ca_bundle = m.ca_bundle, .deadline = deadline};
	struct pib_err herr = {0};
	it->tried = true;
	r = http_send(&cfg, m.method, m.url, SPOOL_CONTENT_TYPE, m.key, body, len, &status, &herr);
	it->status = status;
	if (r == 0) {
		r = record_sent(d, build_id, phase, m.ino, err);
		it->sent = r == 0;
	} else {
		http_scrub(herr.msg, sizeof(herr.msg), m.url); /* a second guard: a pre-signed URL's secret */
		pib_fail(err, r, herr.cls ? herr.cls : PIB_ERR_FAILED, herr.code[0] ? herr.code : "deliver.unreachable",
			 "%s", herr.msg);
	}
	pib_err_clear(&herr);
	goto out;
unlock:
	spool_unlock(d);
out:
	free(text);
	free(body);
	meta_free(&m);
	return r;
}

int spool_send_item(const char *state_dir, const char *build_id, const char *phase, double deadline,
		    struct spool_item *ret, struct pib_err *err)
{
	struct spool_item local = {0}, *it = ret ? ret : &local;
	struct spool_dirs d;
	int r;

	memset(it, 0, sizeof(*it));
	r = check_names(build_id, phase, err);
	if (r < 0)
		return r;
	snprintf(it->build_id, sizeof(it->build_id), "%s", build_id);
	snprintf(it->phase, sizeof(it->phase), "%s", phase);
	entry_name(it->file, sizeof(it->file), build_id, phase, META_SUFFIX);
	r = dirs_open(state_dir, false, &d, err);
	if (r == -ENOENT)
		return pib_fail(err, r, PIB_ERR_FAILED, "deliver.not_spooled", "there is no spool in %s", state_dir);
	if (r < 0)
		return r;
	r = send_one(&d, build_id, phase, deadline, it, err);
	dirs_close(&d);
	if (!ret)
		spool_item_clear(&local);
	return r;
}

int spool_send(const char *state_dir, const char *build_id, const char *phase, double deadline,
	       struct pib_err *err)
{
	return spool_send_item(state_dir, build_id, phase, deadline, NULL, err);
}

/* ------------------------------------------------------------------ deliver all */

struct entry {
	char build_id[129], phase[16], file[192];
	double seq;
	bool unreadable;
	struct pib_err err;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->file, y->file);
}

/*
 * The metas of spool/, read for their seq (an unreadable one keeps its error), under the lock;
 * past SPOOL_MAX_ENTRIES they are only counted in *ret_more.
 */
static int list_entries(struct spool_dirs *d, struct entry **ret, size_t *ret_n, unsigned *ret_more,
			struct pib_err *err)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	unsigned more = 0;
	int r = spool_lock(d, err);

	if (r < 0)
		return r;
	remove_leftovers(d);
	DIR *dir = dir_stream(d->spool);
	if (!dir) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "deliver.spool_io", "cannot read %s/spool: %s", d->state_dir,
			     strerror(errno));
		goto out;
	}
	struct dirent *de;
	for (unsigned k = 0; k < 4 * SPOOL_MAX_ENTRIES && (de = readdir(dir)); k++) {
		struct entry e = {0};
		if (!pib_str_has_suffix(de->d_name, META_SUFFIX) || de->d_name[0] == '.')
			continue;
		if (n >= SPOOL_MAX_ENTRIES) {
			more++;
			continue;
		}
		snprintf(e.file, sizeof(e.file), "%.191s", de->d_name);
		if (!parse_meta_name(de->d_name, e.build_id, e.phase)) {
			e.unreadable = true;
			e.seq = 1e300;
			pib_fail(&e.err, -EINVAL, PIB_ERR_FAILED, "deliver.spool_corrupt",
				 "%s/spool/%s: not a name the spool makes (BUILD_ID.PHASE.meta.json): ignored",
				 d->state_dir, e.file);
		} else {
			struct meta m;
			if (meta_read(d, e.build_id, e.phase, &m, &e.err) < 0) {
				e.unreadable = true;
				e.seq = 1e300;
			} else {
				e.seq = m.seq;
				meta_free(&m);
			}
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct entry *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				pib_err_clear(&e.err);
				r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = e;
	}
	closedir(dir);
	if (r == 0 && n)
		qsort(v, n, sizeof(*v), entry_cmp);
out:
	spool_unlock(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			pib_err_clear(&v[i].err);
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	*ret_more = more;
	return 0;
}

int spool_deliver_each(const char *state_dir, double deadline, spool_report_fn fn, void *userdata,
		       unsigned *ret_left, struct pib_err *err)
{
	struct spool_dirs d;
	struct entry *v = NULL;
	size_t n = 0;
	unsigned left = 0, more = 0;
	int r;

	if (ret_left)
		*ret_left = 0;
	r = dirs_open(state_dir, false, &d, err);
	if (r == -ENOENT)
		return 0; /* nothing was ever spooled here, or it was all cleaned up */
	if (r < 0)
		return r;
	r = list_entries(&d, &v, &n, &more, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct spool_item it = {0};
		struct pib_err e = {0};
		snprintf(it.build_id, sizeof(it.build_id), "%s", v[i].build_id);
		snprintf(it.phase, sizeof(it.phase), "%s", v[i].phase);
		snprintf(it.file, sizeof(it.file), "%s", v[i].file);
		if (v[i].unreadable) {
			pib_fail(&e, -EBADMSG, v[i].err.cls, v[i].err.code, "%s", v[i].err.msg);
		} else if (pib_interrupted) {
			pib_fail(&e, -EINTR, PIB_ERR_FAILED, "agent.interrupted",
				 "not sent: the agent received signal %d", (int)pib_interrupted);
		} else if (deadline > 0 && pib_now_mono() >= deadline) {
			pib_fail(&e, -ETIMEDOUT, PIB_ERR_FAILED, "deliver.deadline",
				 "not sent: the deadline of this delivery passed before its turn");
		} else {
			it.seq = v[i].seq;
			(void)send_one(&d, v[i].build_id, v[i].phase, deadline, &it, &e);
		}
		if (!it.sent) {
			left++;
			if (!e.set) /* cannot happen: a report not sent has its reason */
				pib_fail(&e, -EIO, PIB_ERR_FAILED, "deliver.unreachable", "not sent");
			pib_fail(err, -EAGAIN, e.cls, e.code, "%s", e.msg);
		}
		if (fn)
			fn(&it, it.sent ? NULL : &e, userdata);
		pib_err_clear(&e);
		spool_item_clear(&it);
	}
	if (more) {
		left += more;
		pib_fail(err, -EAGAIN, PIB_ERR_FAILED, "deliver.deadline",
			 "%u more reports wait in %s/spool beyond the %d one delivery looks at: the next one "
			 "sends them", more, state_dir, SPOOL_MAX_ENTRIES);
	}
	r = left ? -EAGAIN : 0;
out:
	for (size_t i = 0; i < n; i++)
		pib_err_clear(&v[i].err);
	free(v);
	dirs_close(&d);
	if (ret_left)
		*ret_left = left;
	return r;
}

int spool_deliver_all(const char *state_dir, double deadline, unsigned *ret_left, struct pib_err *err)
{
	return spool_deliver_each(state_dir, deadline, NULL, NULL, ret_left, err);
}

/* ------------------------------------------------------------------ forget */

int spool_forget(const char *state_dir, const char *build_id)
{
	struct spool_dirs d;
	char name[192];
	bool changed = false;
	int r;

	if (!job_build_id_valid(build_id))
		return -EINVAL;
	r = dirs_open(state_dir, false, &d, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = spool_lock(&d, NULL);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		const char *suffixes[] = {META_SUFFIX, REPORT_SUFFIX};
		for (int k = 0; k < 2; k++) {
			entry_name(name, sizeof(name), build_id, phases[i], suffixes[k]);
			if (unlinkat(d.sent, name, 0) == 0)
				changed = true;
			else if (errno != ENOENT && r == 0)
				r = -errno;
		}
	}
	if (changed && fsync(d.sent) < 0 && r == 0)
		r = -errno;
	spool_unlock(&d);
out:
	dirs_close(&d);
	return r;
}
