/* SPDX-License-Identifier: MIT */
/* Shared helpers of the core library: the error context, hashing, files, time, strings. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

int pib_fail(struct pib_err *e, int rc, enum pib_class cls, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->set)
		return rc;
	e->set = true;
	e->cls = cls;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return rc;
}

void pib_err_detail(struct pib_err *e, const char *text, size_t len)
{
	const size_t max = 64 * 1024;

	if (!e || e->detail || !text)
		return;
	if (len > max) { /* keep the end: that is where tools print their errors */
		char *d = malloc(max + 64);
		if (!d)
			return;
		int n = snprintf(d, 64, "[first %zu bytes cut]\n", len - max);
		memcpy(d + n, text + len - max, max);
		d[n + max] = '\0';
		e->detail = d;
		return;
	}
	e->detail = pib_strndup(text, len);
}

void pib_err_clear(struct pib_err *e)
{
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

char *pib_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *pib_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

char *pib_vasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return s;
}

char *pib_asprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = pib_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* The code point of the well-formed UTF-8 sequence at p and its length (1 to 4), or 0 when it is not one (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_decode(const unsigned char *p, uint32_t *ret_cp)
{
	size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t cp;

	if (n == 0)
		return 0;
	cp = n == 1 ? *p : (uint32_t)(*p & (0x7f >> n));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

bool pib_is_format_char(uint32_t cp)
{
	return cp == 0x00ad || cp == 0x061c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
	       (cp >= 0x1d173 && cp <= 0x1d17a) || cp == 0xe0001 || (cp >= 0xe0020 && cp <= 0xe007f);
}

size_t pib_utf8_format_char(const char *s, uint32_t *ret_cp)
{
	uint32_t cp;
	size_t n = s ? utf8_decode((const unsigned char *)s, &cp) : 0;

	if (n < 2 || !pib_is_format_char(cp))
		return 0;
	*ret_cp = cp;
	return n;
}

char *pib_text_clean(const char *s, bool keep_lines)
{
	const unsigned char *p = (const unsigned char *)s;
	struct pib_buf b = {0};

	if (!s)
		return NULL;
	while (*p) {
		uint32_t cp = 0;
		size_t n = utf8_decode(p, &cp);
		bool line = keep_lines && (*p == '\n' || *p == '\t');
		/* C1 controls (U+0080 to U+009F) act on terminals as ESC sequences do */
		if (n == 0 || ((cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) && !line)) {
			if (pib_buf_printf(&b, "\\x%02x", *p) < 0)
				goto oom;
			p++;
			continue;
		}
		/* bidi and invisible formatting controls would reorder or hide what is shown */
		if (pib_is_format_char(cp)) {
			if (pib_buf_printf(&b, "\\u{%04X}", (unsigned)cp) < 0)
				goto oom;
		} else if (pib_buf_append(&b, p, n) < 0) {
			goto oom;
		}
		p += n;
	}
	return b.data ? b.data : strdup("");
oom:
	pib_buf_free(&b);
	return NULL;
}

void pib_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t pib_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int pib_strv_push(char ***v, const char *s)
{
	size_t n = pib_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -ENOMEM;
}

int pib_buf_append(struct pib_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int pib_buf_printf(struct pib_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = pib_buf_append(b, s, (size_t)n);
	free(s);
	return r;
}

void pib_buf_free(struct pib_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void pib_hex(const unsigned char *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

uint64_t pib_fnv1a(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

uint64_t pib_fnv1a_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void pib_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	pib_hex(md, 32, hex);
}

int pib_sha256_fd(int fd, char hex[65], uint64_t *ret_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;
	static __thread unsigned char buf[1 << 16];
	uint64_t total = 0;
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (r == 0) {
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		pib_hex(md, 32, hex);
		if (ret_size)
			*ret_size = total;
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

int pib_sha256_file(const char *path, char hex[65], uint64_t *ret_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return -errno;
	r = pib_sha256_fd(fd, hex, ret_size);
	close(fd);
	return r;
}

bool pib_is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	return pib_str_all_in(s, "0123456789abcdefABCDEF");
}

int pib_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); /* a fifo must not hang it */
	struct stat st;
	char *data = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	for (;;) {
		if (len + 4097 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *d = realloc(data, cap);
			if (!d) {
				r = -ENOMEM;
				goto out;
			}
			data = d;
		}
		ssize_t n = read(fd, data + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	if (!data && !(data = malloc(1))) {
		r = -ENOMEM;
		goto out;
	}
	data[len] = '\0';
	*ret = data;
	data = NULL;
	if (ret_len)
		*ret_len = len;
out:
	free(data);
	close(fd);
	return r;
}

int pib_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pib_write_file(const char *path, const void *data, size_t len, int mode)
{
	char *tmp = pib_asprintf("%s.tmpXXXXXX", path);
	int fd, r = 0;

	if (!tmp)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = pib_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	if (r == 0) {
		/* the rename itself reaches the disk with its folder */
		const char *slash = strrchr(path, '/');
		char *dir = slash ? pib_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : pib_strdup(".");
		int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	return r;
}

int pib_read_full(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = off >= 0 ? pread(fd, (char *)buf + got, n - got, off + (off_t)got)
				     : read(fd, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA;
		got += (size_t)k;
	}
	return 0;
}

int pib_mkdtemp(const char *prefix, char **ret)
{
	const char *base = getenv("TMPDIR");
	char *t;

	if (!base || base[0] != '/')
		base = "/tmp";
	t = pib_asprintf("%s/%s.XXXXXX", base, prefix);
	if (!t)
		return -ENOMEM;
	if (!mkdtemp(t)) {
		int r = -errno;
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static int rm_rf_at(int dfd, const char *name, int depth)
{
	struct stat st;
	int r = 0;

	if (depth > 256)
		return -ELOOP;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			int q = rm_rf_at(dirfd(d), de->d_name, depth + 1);
			if (q < 0 && r == 0)
				r = q;
		}
		closedir(d);
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && r == 0)
			r = -errno;
	} else if (unlinkat(dfd, name, 0) < 0) {
		r = -errno;
	}
	return r;
}

int pib_rm_rf(const char *path)
{
	if (!path || !*path || !strcmp(path, "/"))
		return -EINVAL;
	return rm_rf_at(AT_FDCWD, path, 0);
}

int pib_path_in_root(const char *root, const char *path, bool follow_last, char **ret)
{
	/* `done` is the resolved prefix inside the root (always starts with '/'); `todo` the rest. */
	char done[PATH_MAX] = "";
	char todo[PATH_MAX];
	int links = 0;

	if (!root || !*root)
		root = "/";
	if (strlen(path) >= sizeof(todo))
		return -ENAMETOOLONG;
	snprintf(todo, sizeof(todo), "%s", path);
	for (;;) {
		char *p = todo;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (clen > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		char rest[PATH_MAX];
		snprintf(rest, sizeof(rest), "%s", slash ? slash : "");
		bool last = rest[strspn(rest, "/")] == '\0';

		if (!strcmp(comp, ".")) {
			snprintf(todo, sizeof(todo), "%s", rest);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *s = strrchr(done, '/');
			if (s)
				*s = '\0';
			snprintf(todo, sizeof(todo), "%s", rest);
			continue;
		}
		char cand[PATH_MAX];
		if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", done, comp) >= sizeof(cand))
			return -ENAMETOOLONG;
		char host[PATH_MAX];
		if ((size_t)snprintf(host, sizeof(host), "%s%s", strcmp(root, "/") ? root : "",
				     cand) >= sizeof(host))
			return -ENAMETOOLONG;
		struct stat st;
		if ((!last || follow_last) && lstat(host, &st) == 0 && S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(host, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (++links > 40)
				return -ELOOP;
			char nt[PATH_MAX];
			if ((size_t)snprintf(nt, sizeof(nt), "%s%s", target, rest) >= sizeof(nt))
				return -ENAMETOOLONG;
			if (target[0] == '/')
				done[0] = '\0';
			snprintf(todo, sizeof(todo), "%s", nt);
			continue;
		}
		snprintf(done, sizeof(done), "%s", cand);
		snprintf(todo, sizeof(todo), "%s", rest);
	}
	char *out = pib_asprintf("%s%s", strcmp(root, "/") ? root : "", done[0] ? done : "/");
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

void pib_now_rfc3339(char out[40])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
#pragma GCC diagnostic pop
}

double pib_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool pib_str_all_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

bool pib_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool pib_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int b64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (url && c == '-'))
		return 62;
	if (c == '/' || (url && c == '_'))
		return 63;
	return -1;
}

int pib_b64_decode(const char *s, size_t len, unsigned flags, unsigned char **ret, size_t *ret_len)
{
	size_t olen = 0, digits = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0;
	unsigned char *out = malloc(len / 4 * 3 + 3);

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((flags & PIB_B64_SPACE) && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64_value(c, flags & PIB_B64_URL);
		if (v < 0 || pad) /* not base64, or text after the padding */
			goto bad;
		digits++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[olen++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || digits % 4 == 1)
		goto bad;
	if ((flags & PIB_B64_STRICT) && ((pad && (digits + pad) % 4) || acc != 0))
		goto bad;
	out[olen] = '\0';
	*ret = out;
	*ret_len = olen;
	return 0;
bad:
	free(out);
	return -EINVAL;
}
