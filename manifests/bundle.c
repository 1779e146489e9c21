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

static int add_member(struct bundle *b, char *name, char *path, uint64_t size, const char *hex)
{
	struct bundle_member *m = realloc(b->members, (b->n_members + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	b->members = m;
	m[b->n_members].name = name;
	m[b->n_members].path = path;
	m[b->n_members].size = size;
	snprintf(m[b->n_members].sha256, 65, "%s", hex);
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

static bool seen_name(const struct bundle *b, struct link_entry *links, size_t n_links,
		      const char *name)
{
	if (bundle_find(b, name))
		return true;
	for (size_t i = 0; i < n_links; i++)
		if (!strcmp(links[i].name, name))
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

int bundle_open(const char *path, const struct bundle_limits *limp, struct bundle **ret,
		struct pib_err *err)
{
	struct bundle_limits lim = limp ? *limp : BUNDLE_LIMITS_DEFAULT;
	struct archive *a = NULL;
	struct archive_entry *ent;
	struct bundle *b = NULL;
	struct link_entry *links = NULL;
	size_t n_links = 0;
	uint64_t entries = 0, total = 0;
	static __thread char buf[1 << 16];
	int r = 0, fd = -1;
	struct stat st;

	b = calloc(1, sizeof(*b));
	if (!b)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	b->file = strdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = pib_fail(err, -errno, PIB_ERR_FAILED, "bundle.unreadable", "%s: %s", path,
			     strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unreadable",
			     "%s: not a regular file", path);
		goto out;
	}
	if ((r = pib_mkdtemp("pib-bundle", &b->dir)) < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "agent.tmpdir",
			     "cannot create a temporary directory: %s", strerror(-r));
		goto out;
	}

	a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unreadable",
			     "%s: not a bundle (tar.gz, tar.zst or zip): %s", path,
			     archive_error_string(a));
		goto out;
	}
	for (;;) {
		int ar = archive_read_next_header(a, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unreadable", "%s: %s", path,
				     archive_error_string(a));
			goto out;
		}
		if (++entries > lim.max_entries) {
			r = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
				     "%s: more than %llu members", path,
				     (unsigned long long)lim.max_entries);
			goto out;
		}
		const char *raw = archive_entry_pathname(ent);
		if (!raw)
			raw = archive_entry_pathname_utf8(ent);
		if (!raw || !*raw || strlen(raw) > MAX_NAME) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				     "%s: member %llu: missing or overlong name", path,
				     (unsigned long long)entries);
			goto out;
		}
		bool absolute = false, dotdot = false;
		char *name = mf_normalise_member(raw, &absolute, &dotdot);
		mode_t type = archive_entry_filetype(ent);
		if (!name) {
			if (type == AE_IFDIR && !absolute && !dotdot)
				continue; /* "./" itself */
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				     "%s: member \"%s\": %s", path, raw,
				     absolute ? "absolute path" : dotdot ? "path contains \"..\""
									 : "empty name");
			goto out;
		}
		const char *hl = archive_entry_hardlink(ent);
		if (type == AE_IFDIR && !hl) {
			free(name);
			continue;
		}
		if (seen_name(b, links, n_links, name)) {
			r = pib_fail(err, -EEXIST, PIB_ERR_FAILED, "bundle.duplicate_member",
				     "%s: member \"%s\" appears twice", path, name);
			free(name);
			goto out;
		}
		if (hl || type == AE_IFLNK) {
			const char *tgt = hl ? hl : archive_entry_symlink(ent);
			char *t = NULL;
			if (tgt && hl) {
				bool abs2 = false, dd2 = false;
				t = mf_normalise_member(tgt, &abs2, &dd2);
			} else if (tgt) {
				t = link_target_in_bundle(name, tgt);
			}
			if (!t) {
				r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
					     "%s: member \"%s\": %s to \"%s\" leaves the bundle", path,
					     name, hl ? "hard link" : "symbolic link", tgt ? tgt : "");
				free(name);
				goto out;
			}
			struct link_entry *nl = realloc(links, (n_links + 1) * sizeof(*nl));
			if (!nl) {
				free(name);
				free(t);
				r = -ENOMEM;
				goto out;
			}
			links = nl;
			links[n_links].name = name;
			links[n_links].target = t;
			n_links++;
			continue;
		}
		if (type != AE_IFREG) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				     "%s: member \"%s\": not a regular file, directory or link", path,
				     name);
			free(name);
			goto out;
		}
		/* the bytes go to a file named by us, never by the input */
		char *dest = pib_asprintf("%s/m%06llu", b->dir, (unsigned long long)entries);
		int out_fd = dest ? open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					 0600)
				  : -1;
		if (out_fd < 0) {
			r = pib_fail(err, -errno, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", dest ? dest : "",
				     strerror(errno));
			free(name);
			free(dest);
			goto out;
		}
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		uint64_t size = 0;
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
			if (n == 0)
				break;
			if (n < 0) {
				r = pib_fail(err, -EIO, PIB_ERR_FAILED, "bundle.unreadable",
					     "%s: member \"%s\": %s", path, name,
					     archive_error_string(a));
				break;
			}
			size += (uint64_t)n;
			total += (uint64_t)n;
			if (total > lim.max_total_bytes) {
				r = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
					     "%s: member \"%s\": the bundle unpacks to more than %llu bytes",
					     path, name, (unsigned long long)lim.max_total_bytes);
				break;
			}
			int64_t in = archive_filter_bytes(a, -1);
			if (in < 1)
				in = 1;
			if (total > lim.ratio_grace && total / (uint64_t)in > lim.max_ratio) {
				r = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "bundle.too_large",
					     "%s: member \"%s\": expands more than %llu times its compressed size (a compression bomb?)",
					     path, name, (unsigned long long)lim.max_ratio);
				break;
			}
			EVP_DigestUpdate(md, buf, (size_t)n);
			for (la_ssize_t off = 0; off < n && r == 0;) {
				ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
				if (w < 0 && errno != EINTR)
					r = pib_fail(err, -errno, PIB_ERR_ENV, "agent.tmpdir", "%s: %s",
						     dest, strerror(errno));
				else if (w > 0)
					off += w;
			}
			if (r < 0)
				break;
		}
		unsigned char d[32];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(md, d, &dl);
		EVP_MD_CTX_free(md);
		close(out_fd);
		if (r < 0) {
			free(name);
			free(dest);
			goto out;
		}
		char hex[65];
		static const char digits[] = "0123456789abcdef";
		for (int k = 0; k < 32; k++) {
			hex[2 * k] = digits[d[k] >> 4];
			hex[2 * k + 1] = digits[d[k] & 15];
		}
		hex[64] = '\0';
		if ((r = add_member(b, name, dest, size, hex)) < 0) {
			free(name);
			free(dest);
			goto out;
		}
	}

	/* links inside the bundle become aliases of the member they name */
	for (size_t i = 0; i < n_links; i++) {
		const struct bundle_member *t = NULL;
		const char *tn = links[i].target;
		for (int hop = 0; hop < 16 && !t; hop++) {
			t = bundle_find(b, tn);
			if (t)
				break;
			const char *next = NULL;
			for (size_t k = 0; k < n_links; k++)
				if (!strcmp(links[k].name, tn))
					next = links[k].target;
			if (!next)
				break;
			tn = next;
		}
		if (!t) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unsafe_path",
				     "%s: member \"%s\": link to \"%s\", which is not a file of the bundle",
				     path, links[i].name, links[i].target);
			goto out;
		}
		char *pcopy = strdup(t->path), hex[65];
		uint64_t sz = t->size;
		snprintf(hex, sizeof(hex), "%s", t->sha256);
		if (!pcopy || (r = add_member(b, links[i].name, pcopy, sz, hex)) < 0) {
			free(pcopy);
			r = -ENOMEM;
			goto out;
		}
		links[i].name = NULL;
	}

	const struct bundle_member *mm = bundle_find(b, MF_MANIFEST_NAME);
	if (!mm) {
		r = pib_fail(err, -ENOENT, PIB_ERR_FAILED, "manifest.missing",
			     "%s: no manifest.json at the root of the bundle", path);
		goto out;
	}
	char *json = NULL;
	size_t jlen = 0;
	if (mm->size > MF_MANIFEST_MAX) {
		r = pib_fail(err, -EFBIG, PIB_ERR_FAILED, "manifest.invalid",
			     "manifest.json: larger than %u bytes", MF_MANIFEST_MAX);
		goto out;
	}
	if ((r = pib_read_file(mm->path, MF_MANIFEST_MAX, &json, &jlen)) < 0) {
		r = pib_fail(err, r, PIB_ERR_FAILED, "manifest.invalid", "manifest.json: %s",
			     strerror(-r));
		goto out;
	}
	r = mf_manifest_parse(MF_MANIFEST_NAME, json, jlen, &b->manifest, err);
	free(json);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < b->n_members; i++) {
		if (!strcmp(b->members[i].name, MF_MANIFEST_NAME) || listed(b->manifest, b->members[i].name))
			continue;
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "bundle.unlisted_member",
			     "%s: member \"%s\" is not listed in manifest.json (as a package or a key)",
			     path, b->members[i].name);
		goto out;
	}
	for (size_t t = 0; t < b->manifest->n_targets; t++) {
		const struct mf_target *tg = &b->manifest->targets[t];
		for (size_t i = 0; i < tg->n_packages; i++)
			if (!bundle_find(b, tg->packages[i].file)) {
				r = pib_fail(err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					     "manifest.json: targets[%zu].packages[%zu].file: \"%s\" is not in the bundle",
					     t, i, tg->packages[i].file);
				goto out;
			}
		for (size_t i = 0; tg->keys && tg->keys[i]; i++)
			if (!bundle_find(b, tg->keys[i])) {
				r = pib_fail(err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					     "manifest.json: targets[%zu].keys[%zu]: \"%s\" is not in the bundle",
					     t, i, tg->keys[i]);
				goto out;
			}
	}
	*ret = b;
	b = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n_links; i++) {
		free(links[i].name);
		free(links[i].target);
	}
	free(links);
	bundle_free(b);
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
	}
	free(b->members);
	mf_manifest_free(b->manifest);
	free(b->dir);
	free(b->file);
	free(b);
}
