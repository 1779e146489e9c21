/* SPDX-License-Identifier: MIT */
/* Reading a bundle archive safely: every member into a private directory, under our own names. */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#define MAX_NAME 1024

struct link_entry {
	char *name, *target; /* both normalised */
};

/*
 * The archive's bytes, read once through one descriptor: libarchive pulls them through
 * hashed_read (no seek and no skip callback, so every byte it sees passes here once, in
 * order), and whatever follows the archive's end is drained into the same digest. A zip,
 * whose index is at its end, is instead copied whole into the private directory as it is
 * hashed, and libarchive reads (and seeks in) that copy.
 */
struct hashed_file {
	int fd;
	EVP_MD_CTX *md;
	uint64_t size, max;
	int err;        /* a read failed (negative errno), or the file is over max (-EFBIG) */
	size_t pending; /* bytes at the start of buf read and hashed, not yet given to libarchive */
	unsigned char buf[1 << 16];
};

/* One bundle_open: the archive, what is read so far, the limits. */
struct opening {
	const char *file; /* for messages */
	struct bundle_limits lim;
	struct hashed_file *hf;
	struct archive *a;
	struct bundle *b;
	struct link_entry *links;
	size_t n_links;
	uint64_t entries, total;
	int copy_fd; /* a zip's private copy, or -1 */
	struct pib_err *err;
};

static ssize_t hashed_read_some(struct hashed_file *hf)
{
	ssize_t n;

	if (hf->err)
		return hf->err;
	do
		n = read(hf->fd, hf->buf, sizeof(hf->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hf->err = -errno;
	if ((uint64_t)n > hf->max - hf->size)
		return hf->err = -EFBIG;
	hf->size += (uint64_t)n;
	if (n > 0 && EVP_DigestUpdate(hf->md, hf->buf, (size_t)n) != 1)
		return hf->err = -ENOMEM;
	return n;
}

static la_ssize_t hashed_read(struct archive *a, void *opaque, const void **out)
{
	struct hashed_file *hf = opaque;
	ssize_t n = hf->pending ? (ssize_t)hf->pending : hashed_read_some(hf);

	hf->pending = 0;

	if (n < 0) {
		archive_set_error(a, -(int)n, "%s", n == -EFBIG ? "the file is too large" : strerror(-(int)n));
		return -1;
	}
	*out = hf->buf;
	return n;
}

/* Reads what is left of the file into the digest; its hex, or "" when it could not be read whole. */
static void hashed_finish(struct hashed_file *hf, struct bundle_digest *d)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	d->sha256[0] = '\0';
	d->size = 0;
	while (hashed_read_some(hf) > 0)
		;
	if (hf->err || EVP_DigestFinal_ex(hf->md, md, &mdlen) != 1 || mdlen != 32)
		return;
	pib_hex(md, 32, d->sha256);
	d->size = hf->size;
}

static int add_member(struct bundle *b, char *name, char *path, uint64_t size, const char *hex)
{
	struct bundle_member *m = realloc(b->members, (b->n_members + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	b->members = m;
	m += b->n_members;
	*m = (struct bundle_member){.name = name, .path = path, .size = size};
	snprintf(m->sha256, sizeof(m->sha256), "%s", hex);
	b->n_members++;
	return 0;
}

const struct bundle_member *bundle_find(const struct bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n_members; i++)
		if (!strcmp(b->members[i].name, name))
			return &b->members[i];
	return NULL;
}

static bool seen_name(const struct opening *o, const char *name)
{
	if (bundle_find(o->b, name))
		return true;
	for (size_t i = 0; i < o->n_links; i++)
		if (!strcmp(o->links[i].name, name))
			return true;
	return false;
}

/* Resolves a symlink target relative to the member's directory; NULL if it leaves the bundle. */
static char *link_target_in_bundle(const char *member, const char *target)
{
	if (target[0] == '/' || !*target)
		return NULL;
	const char *slash = strrchr(member, '/');
	char *joined = slash ? pib_asprintf("%.*s/%s", (int)(slash - member), member, target)
			     : pib_strdup(target);
	if (!joined)
		return NULL;
	/* apply ".." against the directories of the member itself */
	char **parts = NULL;
	char *save = NULL, *tok, *out = NULL;
	bool escaped = false;
	for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			size_t n = pib_strv_len(parts);
			if (n == 0) {
				escaped = true;
				break;
			}
			free(parts[n - 1]);
			parts[n - 1] = NULL;
			continue;
		}
		if (pib_strv_push(&parts, tok) < 0) {
			escaped = true;
			break;
		}
	}
	if (!escaped && pib_strv_len(parts) > 0) {
		struct pib_buf bb = {0};
		for (size_t i = 0; parts[i]; i++)
			if ((i && pib_buf_append(&bb, "/", 1) < 0) ||
			    pib_buf_append(&bb, parts[i], strlen(parts[i])) < 0)
				break;
		out = bb.data;
	}
	pib_strv_free(parts);
	free(joined);
	return out;
}

static bool listed(const struct mf_manifest *m, const char *name)
{
	for (size_t t = 0; t < m->n_targets; t++) {
		const struct mf_target *tg = &m->targets[t];
		for (size_t i = 0; i < tg->n_packages; i++)
			if (!strcmp(tg->packages[i].file, name))
				return true;
		for (size_t i = 0; tg->keys && tg->keys[i]; i++)
			if (!strcmp(tg->keys[i], name))
				return true;
	}
	return false;
}

/* A libarchive failure: too_large when the file outgrew its limit, else unreadable. */
static int archive_fail(struct opening *o, const char *member)
{
	if (o->hf->err == -EFBIG)
		return pib_fail(o->err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				"%s: the bundle file is larger than %llu bytes", o->file,
				(unsigned long long)o->lim.max_file_bytes);
	if (member)
		return pib_fail(o->err, -EIO, PIB_ERR_FAILED, "bundle.unreadable",
				"%s: member \"%s\": %s", o->file, member, archive_error_string(o->a));
	return pib_fail(o->err, -EIO, PIB_ERR_FAILED, "bundle.unreadable", "%s: %s", o->file,
			archive_error_string(o->a));
}

/*
 * Counts n unpacked bytes of member against the size and ratio limits: the bytes written out,
 * the bytes of an entry libarchive decompresses only to skip it, and a link's target again.
 */
static int count_bytes(struct opening *o, uint64_t n, const char *member, const char *link_to)
{
	char via[MAX_NAME + 32] = "";

	if (link_to)
		snprintf(via, sizeof(via), " (a link to \"%s\", counted as a copy)", link_to);
	if (n > o->lim.max_total_bytes - o->total)
		return pib_fail(o->err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				"%s: member \"%s\"%s: the bundle unpacks to more than %llu bytes",
				o->file, member, via, (unsigned long long)o->lim.max_total_bytes);
	o->total += n;
	int64_t in = archive_filter_bytes(o->a, -1);
	if (in < 1)
		in = 1;
	if (o->total > o->lim.ratio_grace && o->total / (uint64_t)in > o->lim.max_ratio)
		return pib_fail(o->err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				"%s: member \"%s\"%s: expands more than %llu times its compressed size (a compression bomb?)",
				o->file, member, via, (unsigned long long)o->lim.max_ratio);
	return 0;
}

/* A regular member's data: into a file named by us (never by the input), hashed as written. */
static int read_data(struct opening *o, char *name)
{
	static __thread char buf[1 << 16];
	char *dest = pib_asprintf("%s/m%06llu", o->b->dir, (unsigned long long)o->entries);
	int out_fd = dest ? open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	int r = 0;

	if (out_fd < 0) {
		r = pib_fail(o->err, dest ? -errno : -ENOMEM, PIB_ERR_ENV, "agent.tmpdir", "%s: %s",
			     dest ? dest : "", strerror(errno));
		free(dest);
		return r;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		r = -ENOMEM;
	uint64_t size = 0;
	while (r == 0) {
		la_ssize_t n = archive_read_data(o->a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			r = archive_fail(o, name);
			break;
		}
		size += (uint64_t)n;
		if ((r = count_bytes(o, (uint64_t)n, name, NULL)) < 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		if ((r = pib_write_all(out_fd, buf, (size_t)n)) < 0)
			r = pib_fail(o->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", dest, strerror(-r));
	}
	unsigned char d[32];
	unsigned int dl = 0;
	char hex[65];
	if (r == 0 && EVP_DigestFinal_ex(md, d, &dl) != 1)
		r = -ENOMEM;
	EVP_MD_CTX_free(md);
	close(out_fd);
	if (r == 0) {
		pib_hex(d, 32, hex);
		r = add_member(o->b, name, dest, size, hex);
	}
	if (r < 0) {
		free(name);
		free(dest);
	}
	return r;
}

/* A link member: remembered by name, resolved once every member is known. */
static int add_link(struct opening *o, char *name, const char *hl, const char *sym)
{
	char *t = NULL;
	if (hl) {
		bool abs2 = false, dd2 = false;
		t = mf_normalise_member(hl, &abs2, &dd2);
	} else if (sym) {
		t = link_target_in_bundle(name, sym);
	}
	if (!t) {
		int r = pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				 "%s: member \"%s\": %s to \"%s\" leaves the bundle", o->file, name,
				 hl ? "hard link" : "symbolic link", hl ? hl : sym ? sym : "");
		free(name);
		return r;
	}
	struct link_entry *nl = realloc(o->links, (o->n_links + 1) * sizeof(*nl));
	if (!nl) {
		free(name);
		free(t);
		return -ENOMEM;
	}
	o->links = nl;
	o->links[o->n_links].name = name;
	o->links[o->n_links].target = t;
	o->n_links++;
	return 0;
}

/* One header: its name checked, then a directory (skipped), a link, or a regular file. */
static int read_entry(struct opening *o, struct archive_entry *ent)
{
	if (++o->entries > o->lim.max_entries)
		return pib_fail(o->err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				"%s: more than %llu members", o->file,
				(unsigned long long)o->lim.max_entries);
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		raw = archive_entry_pathname_utf8(ent);
	if (!raw || !*raw || strlen(raw) > MAX_NAME)
		return pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				"%s: member %llu: missing or overlong name", o->file,
				(unsigned long long)o->entries);
	bool absolute = false, dotdot = false;
	char *name = mf_normalise_member(raw, &absolute, &dotdot);
	mode_t type = archive_entry_filetype(ent);
	const char *hl = archive_entry_hardlink(ent);
	int r;

	/* what is not read as data is still decompressed to be skipped: it counts too */
	if (type != AE_IFREG || hl) {
		uint64_t skipped = archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0
					   ? (uint64_t)archive_entry_size(ent)
					   : 0;
		if ((r = count_bytes(o, skipped, name ? name : raw, NULL)) < 0) {
			free(name);
			return r;
		}
	}
	if (!name) {
		if (type == AE_IFDIR && !absolute && !dotdot)
			return 0; /* "./" itself */
		return pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				"%s: member \"%s\": %s", o->file, raw,
				absolute ? "absolute path" : dotdot ? "path contains \"..\"" : "empty name");
	}
	if (type == AE_IFDIR && !hl) {
		free(name);
		return 0;
	}
	if (seen_name(o, name)) {
		r = pib_fail(o->err, -EEXIST, PIB_ERR_FAILED, "bundle.duplicate_member",
			     "%s: member \"%s\" appears twice", o->file, name);
		free(name);
		return r;
	}
	if (hl || type == AE_IFLNK)
		return add_link(o, name, hl, hl ? NULL : archive_entry_symlink(ent));
	if (type != AE_IFREG) {
		r = pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
			     "%s: member \"%s\": not a regular file, directory or link", o->file, name);
		free(name);
		return r;
	}
	return read_data(o, name);
}

/*
 * Links inside the bundle become aliases of the regular member they name (through at most
 * 16 links), and count against the limits as copies of it: whatever reads a member by its
 * name reads the target's bytes again, so the limits must see them again.
 */
static int resolve_links(struct opening *o)
{
	int r;

	for (size_t i = 0; i < o->n_links; i++) {
		const struct bundle_member *t = NULL;
		const char *tn = o->links[i].target;
		for (int hop = 0; hop < 16 && !t; hop++) {
			t = bundle_find(o->b, tn);
			if (t)
				break;
			const char *next = NULL;
			for (size_t k = 0; k < o->n_links; k++)
				if (!strcmp(o->links[k].name, tn))
					next = o->links[k].target;
			if (!next)
				break;
			tn = next;
		}
		if (!t)
			return pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
					"%s: member \"%s\": link to \"%s\", which is not a file of the bundle",
					o->file, o->links[i].name, o->links[i].target);
		if ((r = count_bytes(o, t->size, o->links[i].name, t->name)) < 0)
			return r;
		char *pcopy = strdup(t->path), *acopy = strdup(t->name), hex[65];
		uint64_t sz = t->size;
		snprintf(hex, sizeof(hex), "%s", t->sha256);
		if (!pcopy || !acopy || add_member(o->b, o->links[i].name, pcopy, sz, hex) < 0) {
			free(pcopy);
			free(acopy);
			return -ENOMEM;
		}
		o->b->members[o->b->n_members - 1].alias_of = acopy;
		o->links[i].name = NULL;
	}
	return 0;
}

static int read_manifest(struct opening *o)
{
	const struct bundle_member *mm = bundle_find(o->b, MF_MANIFEST_NAME);
	char *json = NULL;
	size_t jlen = 0;
	int r;

	if (!mm)
		return pib_fail(o->err, -ENOENT, PIB_ERR_FAILED, "manifest.missing",
				"%s: no manifest.json at the root of the bundle", o->file);
	if (mm->size > MF_MANIFEST_MAX)
		return pib_fail(o->err, -EFBIG, PIB_ERR_FAILED, "manifest.invalid",
				"manifest.json: larger than %u bytes", MF_MANIFEST_MAX);
	if ((r = pib_read_file(mm->path, MF_MANIFEST_MAX, &json, &jlen)) < 0)
		return pib_fail(o->err, r, PIB_ERR_FAILED, "manifest.invalid", "manifest.json: %s",
				strerror(-r));
	r = mf_manifest_parse(MF_MANIFEST_NAME, json, jlen, &o->b->manifest, o->err);
	free(json);
	return r;
}

/* Every member listed, every listed package and key present. */
static int check_listing(struct opening *o)
{
	const struct bundle *b = o->b;

	for (size_t i = 0; i < b->n_members; i++)
		if (strcmp(b->members[i].name, MF_MANIFEST_NAME) && !listed(b->manifest, b->members[i].name))
			return pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unlisted_member",
					"%s: member \"%s\" is not listed in manifest.json (as a package or a key)",
					o->file, b->members[i].name);
	for (size_t t = 0; t < b->manifest->n_targets; t++) {
		const struct mf_target *tg = &b->manifest->targets[t];
		for (size_t i = 0; i < tg->n_packages; i++)
			if (!bundle_find(b, tg->packages[i].file))
				return pib_fail(o->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
						"manifest.json: targets[%zu].packages[%zu].file: \"%s\" is not in the bundle",
						t, i, tg->packages[i].file);
		for (size_t i = 0; tg->keys && tg->keys[i]; i++)
			if (!bundle_find(b, tg->keys[i]))
				return pib_fail(o->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
						"manifest.json: targets[%zu].keys[%zu]: \"%s\" is not in the bundle",
						t, i, tg->keys[i]);
	}
	return 0;
}

struct pkg_ref {
	const struct bundle_member *m;
	size_t index;
};

static int cmp_pkg_ref(const void *x, const void *y)
{
	const struct pkg_ref *a = x, *b = y;
	int c = strcmp(a->m->sha256, b->m->sha256);
	return c ? c : (a->index > b->index) - (a->index < b->index);
}

static char *describe_member(const struct bundle_member *m)
{
	return m->alias_of ? pib_asprintf("\"%s\" (a link to \"%s\")", m->name, m->alias_of)
			   : pib_asprintf("\"%s\"", m->name);
}

/*
 * Each package of a target is distinct bytes: a link to another of its packages, or a copy
 * of one, is refused, so that verify, prescan and install read each package once.
 */
static int check_distinct(struct opening *o)
{
	const struct mf_manifest *mf = o->b->manifest;
	int r = 0;

	for (size_t t = 0; t < mf->n_targets && r == 0; t++) {
		const struct mf_target *tg = &mf->targets[t];
		if (tg->n_packages < 2)
			continue;
		struct pkg_ref *refs = calloc(tg->n_packages, sizeof(*refs));
		if (!refs)
			return -ENOMEM;
		for (size_t i = 0; i < tg->n_packages; i++)
			refs[i] = (struct pkg_ref){bundle_find(o->b, tg->packages[i].file), i};
		qsort(refs, tg->n_packages, sizeof(*refs), cmp_pkg_ref);
		for (size_t i = 1; i < tg->n_packages && r == 0; i++) {
			if (strcmp(refs[i - 1].m->sha256, refs[i].m->sha256))
				continue;
			char *d1 = describe_member(refs[i - 1].m), *d2 = describe_member(refs[i].m);
			r = pib_fail(o->err, -EEXIST, PIB_ERR_FAILED, "bundle.duplicate_package",
				     "manifest.json: targets[%zu].packages[%zu] and [%zu]: %s and %s are the same bytes (SHA-256 %s): a target lists each package once",
				     t, refs[i - 1].index, refs[i].index, d1 ? d1 : "?", d2 ? d2 : "?",
				     refs[i].m->sha256);
			free(d1);
			free(d2);
		}
		free(refs);
	}
	return r;
}

static struct archive *archive_new_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	return a;
}

/*
 * A zip's index is at its end, and its links are only known from there: the whole file is
 * copied (hashed as it is read, once) into the private directory, unlinked at once, and
 * libarchive reads the copy (o->copy_fd), seeking as it needs. 0 or a negative errno.
 */
static int copy_zip(struct opening *o)
{
	struct hashed_file *hf = o->hf;
	char *path = pib_asprintf("%s/bundle.zip", o->b->dir);
	int fd = path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	int r = 0;

	if (fd < 0) {
		r = pib_fail(o->err, path ? -errno : -ENOMEM, PIB_ERR_ENV, "agent.tmpdir", "%s: %s",
			     path ? path : "", strerror(errno));
		free(path);
		return r;
	}
	(void)unlink(path);
	for (ssize_t n = (ssize_t)hf->pending; n > 0 && r == 0; n = hashed_read_some(hf))
		if ((r = pib_write_all(fd, hf->buf, (size_t)n)) < 0)
			r = pib_fail(o->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", path, strerror(-r));
	hf->pending = 0;
	free(path);
	if (r == 0 && hf->err)
		r = archive_fail(o, NULL);
	if (r == 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = pib_fail(o->err, -errno, PIB_ERR_ENV, "agent.tmpdir", "bundle.zip: %s", strerror(errno));
	if (r < 0) {
		close(fd);
		return r;
	}
	o->copy_fd = fd;
	return 0;
}

/* Every member, the links, the manifest and what it lists. */
static int read_bundle(struct opening *o)
{
	struct archive_entry *ent;
	int r;

	if ((r = pib_mkdtemp("pib-bundle", &o->b->dir)) < 0)
		return pib_fail(o->err, r, PIB_ERR_ENV, "agent.tmpdir",
				"cannot create a temporary directory: %s", strerror(-r));
	if (!(o->a = archive_new_reader()))
		return -ENOMEM;
	ssize_t n = hashed_read_some(o->hf);
	if (n < 0)
		return archive_fail(o, NULL);
	o->hf->pending = (size_t)n;
	int ar;
	if (n >= 4 && (!memcmp(o->hf->buf, "PK\3\4", 4) || !memcmp(o->hf->buf, "PK\5\6", 4))) {
		if ((r = copy_zip(o)) < 0)
			return r;
		ar = archive_read_open_fd(o->a, o->copy_fd, 1 << 16);
	} else { /* our own reader over the one descriptor: no seek or skip callback, so nothing is read twice */
		ar = archive_read_open(o->a, o->hf, NULL, hashed_read, NULL);
	}
	if (ar != ARCHIVE_OK) {
		if (o->hf->err)
			return archive_fail(o, NULL);
		return pib_fail(o->err, -EINVAL, PIB_ERR_FAILED, "bundle.unreadable",
				"%s: not a bundle (tar.gz, tar.zst or zip): %s", o->file,
				archive_error_string(o->a));
	}
	for (;;) {
		ar = archive_read_next_header(o->a, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN)
			return archive_fail(o, NULL);
		if ((r = read_entry(o, ent)) < 0)
			return r;
	}
	if ((r = resolve_links(o)) < 0 || (r = read_manifest(o)) < 0 || (r = check_listing(o)) < 0 ||
	    (r = check_distinct(o)) < 0)
		return r;
	return 0;
}

int bundle_open_fd(int fd, const char *name, const struct bundle_limits *limp, struct bundle **ret,
		   struct bundle_digest *ret_digest, struct pib_err *err)
{
	struct opening o = {.file = name, .lim = limp ? *limp : BUNDLE_LIMITS_DEFAULT, .copy_fd = -1, .err = err};
	struct bundle_digest dg = {0};
	struct stat st;
	int r = 0;

	if (ret_digest)
		*ret_digest = dg;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unreadable",
				"%s: not a regular file", name);
	if ((uint64_t)st.st_size > o.lim.max_file_bytes)
		return pib_fail(err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				"%s: the bundle file is larger than %llu bytes", name,
				(unsigned long long)o.lim.max_file_bytes);
	o.hf = calloc(1, sizeof(*o.hf));
	o.b = calloc(1, sizeof(*o.b));
	if (!o.hf || !o.b || !(o.b->file = strdup(name)) || !(o.hf->md = EVP_MD_CTX_new()) ||
	    EVP_DigestInit_ex(o.hf->md, EVP_sha256(), NULL) != 1) {
		r = -ENOMEM;
		goto out;
	}
	o.hf->fd = fd;
	o.hf->max = o.lim.max_file_bytes;

	r = read_bundle(&o);
	/* the rest of the file, after the archive's end or after a refusal, into the same digest */
	hashed_finish(o.hf, &dg);
	if (ret_digest)
		*ret_digest = dg;
	if (r == 0 && !dg.sha256[0])
		r = o.hf->err == -EFBIG ? pib_fail(err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
						   "%s: the bundle file is larger than %llu bytes",
						   name, (unsigned long long)o.lim.max_file_bytes)
					: pib_fail(err, o.hf->err ? o.hf->err : -EIO, PIB_ERR_FAILED,
						   "bundle.unreadable", "%s: %s", name,
						   strerror(o.hf->err ? -o.hf->err : EIO));
	if (r == 0) {
		memcpy(o.b->sha256, dg.sha256, sizeof(dg.sha256));
		o.b->size = dg.size;
		*ret = o.b;
		o.b = NULL;
	}
out:
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (o.a)
		archive_read_free(o.a);
	if (o.copy_fd >= 0)
		close(o.copy_fd);
	for (size_t i = 0; i < o.n_links; i++) {
		free(o.links[i].name);
		free(o.links[i].target);
	}
	free(o.links);
	if (o.hf)
		EVP_MD_CTX_free(o.hf->md);
	free(o.hf);
	bundle_free(o.b);
	return r;
}

int bundle_open(const char *path, const struct bundle_limits *lim, struct bundle **ret,
		struct bundle_digest *ret_digest, struct pib_err *err)
{
	/*
	 * One open, one read: the digest and the members come from this descriptor only, so a
	 * file renamed over the path meanwhile changes neither. Symlinks are followed: the path
	 * is the caller's, not the bundle's. O_NONBLOCK: a FIFO is refused, not waited on.
	 */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int r;

	if (ret_digest)
		*ret_digest = (struct bundle_digest){{0}, 0};
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "bundle.unreadable", "%s: %s", path,
				strerror(errno));
	r = bundle_open_fd(fd, path, lim, ret, ret_digest, err);
	close(fd);
	return r;
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	if (b->dir)
		(void)pib_rm_rf(b->dir);
	for (size_t i = 0; i < b->n_members; i++) {
		free(b->members[i].name);
		free(b->members[i].path);
		free(b->members[i].alias_of);
	}
	free(b->members);
	mf_manifest_free(b->manifest);
	free(b->dir);
	free(b->file);
	free(b);
}
