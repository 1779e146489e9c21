/* SPDX-License-Identifier: MIT */
/* The job inside EC2 user-data: plain JSON, or one part of a cloud-init MIME multipart message, maybe gzip-compressed. */
#include "job.h"
#include "jsonread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <openssl/crypto.h>

#define UNPACKED_MAX (1u << 20) /* gzip-compressed user-data unpacks to at most this */
#define MIME_SNIFF 4096         /* cloud-init: MIME when "mime-version:" is in the first 4096 bytes */
#define MAX_DEPTH 8             /* nested multiparts */
#define MAX_PARTS 100           /* entities in the whole message */
#define MAX_HEADERS 100         /* header fields of one entity */
#define MAX_HEADER 4096         /* bytes of one header field, unfolded */
#define MAX_BOUNDARY 70         /* RFC 2046 */
#define MAX_TYPES_SHOWN 8
/* make-mime writes text/<what -a said>; accept that spelling of our type too */
#define JOB_MIME_TYPE_TEXT "text/vnd.pib-agent.job+json"

struct walk {
	struct jr jr; /* its messages: "user-data: ...", job.invalid */
	unsigned entities, leaves;
	char types[MAX_TYPES_SHOWN][72];
	char found_at[64]; /* the path of the job part, "" while none */
	char *job;         /* decoded */
	size_t job_len;
};

static void wipe_free(char *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/* A header value for a message: printable ASCII, at most 64 bytes. */
static void for_msg(const char *s, size_t n, char out[72])
{
	size_t k = 0;
	for (; k < n && k < 64; k++)
		out[k] = (s[k] > 0x20 && s[k] < 0x7f && s[k] != '"') ? s[k] : '?';
	if (k < n)
		out[k++] = '~';
	out[k] = '\0';
}

struct headers {
	char type[72];       /* lowercased type/subtype; "" when no Content-Type */
	char boundary[MAX_BOUNDARY + 1];
	char cte[72];        /* lowercased Content-Transfer-Encoding; "" when none */
	bool has_boundary;
};

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Content-Type: type/subtype *(; name=value) with value a token or a quoted string. */
static int content_type(struct walk *w, const char *where, const char *v, size_t n, struct headers *h)
{
	size_t t = 0;
	while (t < n && v[t] != ';')
		t++;
	const char *ty = v;
	size_t tn = t;
	trim(&ty, &tn);
	if (tn == 0 || tn > 64 || !memchr(ty, '/', tn))
		return jr_bad(&w->jr, where, "Content-Type is not type/subtype");
	for (size_t k = 0; k < tn; k++) {
		char c = ty[k];
		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"[]?=", c))
			return jr_bad(&w->jr, where, "Content-Type is not type/subtype");
		h->type[k] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
	}
	h->type[tn] = '\0';
	while (t < n) { /* at a ';' */
		t++;
		size_t ns = t;
		while (t < n && v[t] != '=' && v[t] != ';')
			t++;
		const char *name = v + ns;
		size_t nn = t - ns;
		trim(&name, &nn);
		if (t >= n || v[t] == ';') {
			if (nn == 0)
				continue; /* a stray ';' */
			return jr_bad(&w->jr, where, "a Content-Type parameter without a value");
		}
		t++; /* '=' */
		while (t < n && (v[t] == ' ' || v[t] == '\t'))
			t++;
		char val[MAX_HEADER];
		size_t vn = 0;
		if (t < n && v[t] == '"') {
			t++;
			while (t < n && v[t] != '"') {
				if (v[t] == '\\' && t + 1 < n)
					t++;
				val[vn++] = v[t++];
			}
			if (t >= n)
				return jr_bad(&w->jr, where, "an unterminated quoted string in Content-Type");
			t++;
			while (t < n && v[t] != ';') {
				if (v[t] != ' ' && v[t] != '\t')
					return jr_bad(&w->jr, where, "text after a quoted Content-Type parameter");
				t++;
			}
		} else {
			while (t < n && v[t] != ';')
				val[vn++] = v[t++];
			while (vn && (val[vn - 1] == ' ' || val[vn - 1] == '\t'))
				vn--;
		}
		if (nn == 8 && !strncasecmp(name, "boundary", 8)) {
			if (h->has_boundary)
				return jr_bad(&w->jr, where, "two boundary parameters");
			if (vn == 0 || vn > MAX_BOUNDARY)
				return jr_bad(&w->jr, where, "a boundary is 1 to %d characters", MAX_BOUNDARY);
			for (size_t k = 0; k < vn; k++)
				if (val[k] < 0x20 || val[k] >= 0x7f)
					return jr_bad(&w->jr, where, "a control character in the boundary");
			memcpy(h->boundary, val, vn);
			h->boundary[vn] = '\0';
			h->has_boundary = true;
		}
	}
	return 0;
}

static int header_field(struct walk *w, const char *where, const char *f, size_t n, struct headers *h,
			bool *seen_type, bool *seen_cte)
{
	const char *colon = memchr(f, ':', n);
	if (!colon || colon == f)
		return jr_bad(&w->jr, where, "a header line without a name and a colon");
	size_t nn = (size_t)(colon - f);
	for (size_t k = 0; k < nn; k++)
		if (f[k] <= 0x20 || f[k] >= 0x7f)
			return jr_bad(&w->jr, where, "a header name with a space or a control character");
	const char *v = colon + 1;
	size_t vn = n - nn - 1;
	trim(&v, &vn);
	if (nn == 12 && !strncasecmp(f, "content-type", nn)) {
		if (*seen_type)
			return jr_bad(&w->jr, where, "two Content-Type headers");
		*seen_type = true;
		return content_type(w, where, v, vn, h);
	}
	if (nn == 25 && !strncasecmp(f, "content-transfer-encoding", nn)) {
		if (*seen_cte)
			return jr_bad(&w->jr, where, "two Content-Transfer-Encoding headers");
		*seen_cte = true;
		if (vn > 64)
			return jr_bad(&w->jr, where, "Content-Transfer-Encoding longer than 64 bytes");
		for (size_t k = 0; k < vn; k++)
			h->cte[k] = (char)(v[k] >= 'A' && v[k] <= 'Z' ? v[k] | 0x20 : v[k]);
		h->cte[vn] = '\0';
	}
	return 0;
}

/* The headers of an entity (folded lines joined); *body_off: where its body starts. */
static int parse_headers(struct walk *w, const char *where, const char *s, size_t len, struct headers *h,
			 size_t *body_off)
{
	char field[MAX_HEADER];
	size_t fn = 0, pos = 0;
	unsigned count = 0;
	bool have = false, seen_type = false, seen_cte = false;
	int r;

	memset(h, 0, sizeof(*h));
	for (;;) {
		size_t e = pos;
		while (e < len && s[e] != '\n')
			e++;
		size_t ln = e - pos;
		if (ln && s[pos + ln - 1] == '\r')
			ln--;
		bool last = e >= len, blank = ln == 0;
		if (!blank && (s[pos] == ' ' || s[pos] == '\t')) {
			if (!have)
				return jr_bad(&w->jr, where, "a continuation line before any header");
			if (fn + ln > sizeof(field))
				return jr_bad(&w->jr, where, "a header longer than %d bytes", MAX_HEADER);
			memcpy(field + fn, s + pos, ln);
			fn += ln;
		} else {
			if (have && (r = header_field(w, where, field, fn, h, &seen_type, &seen_cte)) < 0)
				return r;
			have = false;
			if (blank) {
				*body_off = last ? len : e + 1;
				return 0;
			}
			if (++count > MAX_HEADERS)
				return jr_bad(&w->jr, where, "more than %d headers", MAX_HEADERS);
			if (ln > sizeof(field))
				return jr_bad(&w->jr, where, "a header longer than %d bytes", MAX_HEADER);
			memcpy(field, s + pos, ln);
			fn = ln;
			have = true;
		}
		if (last) { /* headers only, no body */
			if (have && (r = header_field(w, where, field, fn, h, &seen_type, &seen_cte)) < 0)
				return r;
			*body_off = len;
			return 0;
		}
		pos = e + 1;
	}
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The body decoded per Content-Transfer-Encoding into a new buffer (never larger than the body). */
static int decode(struct walk *w, const char *where, const char *cte, const char *s, size_t n, char **ret,
		  size_t *ret_len)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (!out)
		return -ENOMEM;
	if (!*cte || !strcmp(cte, "7bit") || !strcmp(cte, "8bit") || !strcmp(cte, "binary")) {
		memcpy(out, s, n);
		o = n;
	} else if (!strcmp(cte, "base64")) {
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned acc = 0, bits = 0;
		bool pad = false;
		for (size_t k = 0; k < n; k++) {
			char c = s[k];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			if (c == '=') {
				pad = true;
				continue;
			}
			const char *q = c ? strchr(b64, c) : NULL;
			if (!q || pad) {
				wipe_free(out, n + 1);
				return jr_bad(&w->jr, where, "not valid base64 (byte %zu)", k + 1);
			}
			acc = (acc << 6) | (unsigned)(q - b64);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)((acc >> bits) & 0xff);
			}
		}
	} else if (!strcmp(cte, "quoted-printable")) {
		for (size_t k = 0; k < n; k++) {
			if (s[k] != '=') {
				out[o++] = s[k];
				continue;
			}
			size_t q = k + 1;
			while (q < n && (s[q] == ' ' || s[q] == '\t'))
				q++;
			if (q >= n) { /* a soft break at the very end */
				k = n;
				break;
			}
			if (s[q] == '\n' || (s[q] == '\r' && q + 1 < n && s[q + 1] == '\n')) {
				k = s[q] == '\r' ? q + 1 : q;
				continue;
			}
			if (k + 2 < n && unhex(s[k + 1]) >= 0 && unhex(s[k + 2]) >= 0) {
				out[o++] = (char)(unhex(s[k + 1]) << 4 | unhex(s[k + 2]));
				k += 2;
				continue;
			}
			wipe_free(out, n + 1);
			return jr_bad(&w->jr, where, "not valid quoted-printable (byte %zu)", k + 1);
		}
	} else {
		char c[72];
		wipe_free(out, n + 1);
		for_msg(cte, strlen(cte), c);
		return jr_bad(&w->jr, where, "unknown Content-Transfer-Encoding \"%s\"", c);
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
}

static int entity(struct walk *w, const char *path, const char *s, size_t len, unsigned depth);

/* The parts of a multipart body between its delimiter lines "--boundary" and "--boundary--". */
static int multipart(struct walk *w, const char *path, const char *boundary, const char *s, size_t len,
		     unsigned depth)
{
	size_t bl = strlen(boundary), pos = 0, part_start = 0;
	bool in_part = false;
	unsigned i = 0;
	int r;

	if (depth >= MAX_DEPTH)
		return jr_bad(&w->jr, path, "multiparts nested deeper than %d", MAX_DEPTH);
	while (pos < len) {
		size_t e = pos;
		while (e < len && s[e] != '\n')
			e++;
		const char *l = s + pos;
		size_t ln = e - pos;
		if (ln >= 2 + bl && l[0] == '-' && l[1] == '-' && !memcmp(l + 2, boundary, bl)) {
			size_t k = 2 + bl;
			bool close = ln >= k + 2 && l[k] == '-' && l[k + 1] == '-';
			if (close)
				k += 2;
			while (k < ln && (l[k] == ' ' || l[k] == '\t' || l[k] == '\r'))
				k++;
			if (k == ln) { /* a delimiter line */
				if (in_part) {
					size_t end = pos;
					if (end > part_start && s[end - 1] == '\n')
						end--;
					if (end > part_start && s[end - 1] == '\r')
						end--;
					char sub[64];
					i++;
					snprintf(sub, sizeof(sub), "%s%s%u", *path ? path : "part ", *path ? "." : "", i);
					if ((r = entity(w, sub, s + part_start, end - part_start, depth + 1)) < 0)
						return r;
				}
				if (close) {
					if (i == 0)
						return jr_bad(&w->jr, path, "a multipart message without parts");
					return 0;
				}
				in_part = true;
				part_start = e < len ? e + 1 : len;
			}
		}
		pos = e + 1;
	}
	return jr_bad(&w->jr, path, "%s", in_part ? "no closing boundary (truncated?)" : "no boundary line");
}

static bool is_job_type(const char *t)
{
	return !strcmp(t, JOB_MIME_TYPE) || !strcmp(t, JOB_MIME_TYPE_TEXT);
}

static int entity(struct walk *w, const char *path, const char *s, size_t len, unsigned depth)
{
	struct headers h;
	size_t body;
	int r;

	if (++w->entities > MAX_PARTS)
		return jr_bad(&w->jr, path, "more than %d parts", MAX_PARTS);
	if ((r = parse_headers(w, path, s, len, &h, &body)) < 0)
		return r;
	if (pib_str_has_prefix(h.type, "multipart/")) {
		if (!h.has_boundary)
			return jr_bad(&w->jr, path, "%s without a boundary", h.type);
		return multipart(w, path, h.boundary, s + body, len - body, depth);
	}
	if (!*h.type)
		strcpy(h.type, "text/plain");
	if (w->leaves < MAX_TYPES_SHOWN)
		for_msg(h.type, strlen(h.type), w->types[w->leaves]);
	w->leaves++;
	if (!is_job_type(h.type))
		return 0;
	if (*w->found_at)
		return pib_fail(w->jr.err, -ENOENT, PIB_ERR_USAGE, "job.not_found",
				"user-data: two parts of type %s (%s and %s): which one is the job?", JOB_MIME_TYPE,
				w->found_at, *path ? path : "the message");
	snprintf(w->found_at, sizeof(w->found_at), "%s", *path ? path : "the message");
	if ((r = decode(w, path, h.cte, s + body, len - body, &w->job, &w->job_len)) < 0)
		return r;
	if (w->job_len > JOB_MAX)
		return jr_bad(&w->jr, path, "the job is larger than %u bytes", JOB_MAX);
	return 0;
}

/* gzip-compressed user-data, unpacked (at most UNPACKED_MAX bytes). */
static int gunzip(struct walk *w, const char *data, size_t len, char **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *out = NULL;
	size_t n = 0;
	int r = 0;

	if (!a)
		return -ENOMEM;
	(void)archive_read_support_filter_gzip(a);
	(void)archive_read_support_format_raw(a);
	out = malloc(UNPACKED_MAX + 1);
	if (!out) {
		archive_read_free(a);
		return -ENOMEM;
	}
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
		r = jr_bad(&w->jr, "", "gzip-compressed but not readable: %s",
			   archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
		r = jr_bad(&w->jr, "", "gzip-compressed but not readable: not a gzip stream");
		goto out;
	}
	for (;;) {
		la_ssize_t got = archive_read_data(a, out + n, UNPACKED_MAX + 1 - n);
		if (got < 0) {
			r = jr_bad(&w->jr, "", "gzip-compressed but not readable: %s",
				   archive_error_string(a) ? archive_error_string(a) : "?");
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > UNPACKED_MAX) {
			r = jr_bad(&w->jr, "", "gzip-compressed data unpacks to more than %u bytes", UNPACKED_MAX);
			goto out;
		}
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	out = NULL;
out:
	archive_read_free(a);
	wipe_free(out, UNPACKED_MAX + 1);
	return r;
}

static bool sniff_mime(const char *s, size_t len)
{
	static const char key[] = "mime-version:";
	size_t n = len < MIME_SNIFF ? len : MIME_SNIFF, kl = strlen(key);
	for (size_t i = 0; i + kl <= n; i++)
		if (!strncasecmp(s + i, key, kl))
			return true;
	return false;
}

int job_from_user_data(const char *data, size_t len, char **ret, size_t *ret_len, struct pib_err *err)
{
	struct walk w = {.jr = {PIB_ERR_USAGE, "job.invalid", "user-data", err, false}};
	char *unpacked = NULL;
	size_t ulen = 0;
	int r = 0;

	*ret = NULL;
	*ret_len = 0;
	if (len > JOB_USER_DATA_MAX)
		return jr_bad(&w.jr, "", "larger than %u bytes", JOB_USER_DATA_MAX);
	if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
		if ((r = gunzip(&w, data, len, &unpacked, &ulen)) < 0)
			goto out;
		data = unpacked;
		len = ulen;
	}
	size_t skip = 0;
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		skip = 3;
	while (skip < len && data[skip] && strchr(" \t\r\n", data[skip]))
		skip++;
	if (skip == len) {
		r = pib_fail(err, -ENOENT, PIB_ERR_USAGE, "job.not_found", "user-data: empty");
		goto out;
	}
	if (data[skip] == '{') {
		if (len - skip > JOB_MAX) {
			r = jr_bad(&w.jr, "", "the job is larger than %u bytes", JOB_MAX);
			goto out;
		}
		w.job = malloc(len - skip + 1);
		if (!w.job) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(w.job, data + skip, len - skip);
		w.job[len - skip] = '\0';
		w.job_len = len - skip;
	} else if (sniff_mime(data, len)) {
		if ((r = entity(&w, "", data, len, 0)) < 0)
			goto out;
		if (!*w.found_at) {
			struct pib_buf b = {0};
			for (unsigned i = 0; i < w.leaves && i < MAX_TYPES_SHOWN; i++)
				(void)pib_buf_printf(&b, "%s%s", i ? ", " : "", w.types[i]);
			if (w.leaves > MAX_TYPES_SHOWN)
				(void)pib_buf_printf(&b, ", ...");
			r = pib_fail(err, -ENOENT, PIB_ERR_USAGE, "job.not_found",
				     "user-data: no part of type %s among %u part%s (%s)", JOB_MIME_TYPE, w.leaves,
				     w.leaves == 1 ? "" : "s", b.data ? b.data : "");
			pib_buf_free(&b);
			goto out;
		}
	} else {
		char first[72];
		size_t fl = 0;
		while (skip + fl < len && data[skip + fl] != '\r' && data[skip + fl] != '\n')
			fl++;
		for_msg(data + skip, fl, first);
		r = pib_fail(err, -ENOENT, PIB_ERR_USAGE, "job.not_found",
			     "user-data: neither a job (a JSON object) nor a MIME multipart message (no MIME-Version "
			     "header); it begins with \"%.24s\"",
			     data[skip] == '#' ? first : "...");
		goto out;
	}
	*ret = w.job;
	*ret_len = w.job_len;
	w.job = NULL;
out:
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "user-data: out of memory");
	wipe_free(w.job, w.job_len);
	wipe_free(unpacked, ulen);
	return r;
}
