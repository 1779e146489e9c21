/* SPDX-License-Identifier: MIT */
/* Shared helpers of the core library: the error context, hashing, files, time, strings. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

#define PIB_MUST_CHECK __attribute__((warn_unused_result))
#define PIB_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Exit codes of design.md. */
enum {
	PIB_EXIT_OK = 0,       /* succeeded or incomplete */
	PIB_EXIT_FINDINGS = 1, /* malware, policy violation, failed check */
	PIB_EXIT_FAILED = 2,   /* bundle, verification, resolution or install failed */
	PIB_EXIT_USAGE = 3,    /* usage or job error */
	PIB_EXIT_ENV = 4,      /* environment error: no signature database, tool missing */
	PIB_EXIT_SPOOLED = 5,  /* the report is still in the spool */
};

/* Classes of error: they decide the run's status and exit code. */
enum pib_class {
	PIB_ERR_NONE = 0,
	PIB_ERR_FAILED,   /* the input or the install failed: status failed, exit 2 */
	PIB_ERR_FINDINGS, /* malware, policy, check: status findings, exit 1 */
	PIB_ERR_USAGE,    /* usage or job error: exit 3 */
	PIB_ERR_ENV,      /* environment: exit 4 */
};

/*
 * The error context of one operation. Library code writes one error into it and returns a
 * negative errno; the first error wins (later ones are ignored); only agent/ prints it.
 * `code` is the stable dotted code documented in the README (e.g. "manifest.invalid").
 */
struct pib_err {
	bool set;
	enum pib_class cls;
	char code[64];
	char msg[2048];
	char *detail; /* optional long text (a tool's output); owned, freed by pib_err_clear */
};

/* Records the error (unless one is already set) and returns rc (a negative errno). */
int pib_fail(struct pib_err *e, int rc, enum pib_class cls, const char *code, const char *fmt, ...)
	PIB_PRINTF(5, 6);
/* Attaches a long text (copied, bounded) to the current error, if it has none. */
void pib_err_detail(struct pib_err *e, const char *text, size_t len);
void pib_err_clear(struct pib_err *e);

/* Memory: abort-free wrappers are not provided; callers check NULL. */
char *pib_strdup(const char *s);
char *pib_strndup(const char *s, size_t n);
char *pib_asprintf(const char *fmt, ...) PIB_PRINTF(1, 2);
char *pib_vasprintf(const char *fmt, va_list ap) PIB_PRINTF(1, 0);
/*
 * A copy of s fit for JSON and for a terminal: paths and names in archives are any bytes, JSON
 * strings are UTF-8. Invalid UTF-8 (overlong forms and surrogates included) and control
 * characters (C0, DEL, C1) become the four characters \xNN, one per byte (newlines and tabs are
 * kept when keep_lines); bidi and invisible formatting characters (pib_is_format_char) become
 * \u{XXXX} (their code point, 4 to 5 uppercase hex digits). NULL for NULL or when out of memory.
 */
char *pib_text_clean(const char *s, bool keep_lines);
/*
 * Bidi and invisible formatting characters, which reorder or hide text on display: U+00AD,
 * U+061C, U+180E, U+200B-U+200F, U+2028-U+202E, U+2060-U+2064, U+2066-U+206F, U+FEFF,
 * U+FFF9-U+FFFB, U+1D173-U+1D17A, U+E0001, U+E0020-U+E007F.
 */
bool pib_is_format_char(uint32_t cp);
/* The length of the UTF-8 formatting character at s (its code point in *ret_cp), or 0. */
size_t pib_utf8_format_char(const char *s, uint32_t *ret_cp);
void pib_strv_free(char **v);
size_t pib_strv_len(char *const *v);
/* Appends a copy of s to the NULL-terminated vector *v; returns 0 or -ENOMEM. */
int pib_strv_push(char ***v, const char *s) PIB_MUST_CHECK;

/* How pib_b64_decode reads its text. */
#define PIB_B64_SPACE 1u  /* space, tab, CR and LF between characters are skipped (PEM bodies, key files) */
#define PIB_B64_URL 2u    /* '-' and '_' are read as '+' and '/' too (base64url) */
#define PIB_B64_STRICT 4u /* canonical only: padding makes a multiple of 4, the unused bits are zero */
/*
 * Decodes base64 into a new buffer, NUL-terminated after its *ret_len bytes. At most two '='
 * end the text (only white space may follow them with PIB_B64_SPACE). 0, -EINVAL when the text
 * is not base64 as flags say (*ret untouched), or -ENOMEM.
 */
int pib_b64_decode(const char *s, size_t len, unsigned flags, unsigned char **ret, size_t *ret_len)
	PIB_MUST_CHECK;

/* A growable byte buffer, NUL-terminated at all times. */
struct pib_buf {
	char *data;
	size_t len, cap;
};
int pib_buf_append(struct pib_buf *b, const void *p, size_t n);
int pib_buf_printf(struct pib_buf *b, const char *fmt, ...) PIB_PRINTF(2, 3);
void pib_buf_free(struct pib_buf *b);

/* n bytes as 2n lowercase hex digits and a NUL. */
void pib_hex(const unsigned char *d, size_t n, char *hex);
/* SHA-256 helpers; hex is 64 lowercase digits + NUL. */
void pib_sha256_hex(const void *data, size_t len, char hex[65]);
/* FNV-1a (64 bits) of n bytes, or of a string: for hash tables in memory, never for integrity. */
uint64_t pib_fnv1a(const void *data, size_t n);
uint64_t pib_fnv1a_str(const char *s);
int pib_sha256_fd(int fd, char hex[65], uint64_t *ret_size) PIB_MUST_CHECK;
int pib_sha256_file(const char *path, char hex[65], uint64_t *ret_size) PIB_MUST_CHECK;
bool pib_is_hex64(const char *s);

/*
 * Reads a whole regular file of at most max bytes (anything else is -EINVAL, never waited on). It
 * follows a link: a path inside an image is resolved with pib_path_in_root first.
 */
int pib_read_file(const char *path, size_t max, char **ret, size_t *ret_len) PIB_MUST_CHECK;
/* Reads exactly n bytes from fd (at off with pread when off >= 0, else from its position): 0,
 * -ENODATA when the file ends first, or -errno. */
int pib_read_full(int fd, void *buf, size_t n, off_t off) PIB_MUST_CHECK;
/* Writes all of data to fd (retrying short writes and EINTR); 0 or a negative errno. */
int pib_write_all(int fd, const void *data, size_t len) PIB_MUST_CHECK;
/* Writes data to path atomically and durably (temp file, fsync, rename, fsync of the folder), mode given. */
int pib_write_file(const char *path, const void *data, size_t len, int mode) PIB_MUST_CHECK;

/* Creates a private temporary directory (mode 0700) under $TMPDIR or /tmp. */
int pib_mkdtemp(const char *prefix, char **ret) PIB_MUST_CHECK;
/* Removes a tree without following symlinks. Returns 0 or a negative errno. */
int pib_rm_rf(const char *path);

/*
 * Resolves path (absolute, as seen inside root) to a host path, following symlinks as if
 * root were "/": an absolute link target restarts at root, ".." never leaves root. The
 * last component is followed too when follow_last. Returns a newly allocated host path.
 */
int pib_path_in_root(const char *root, const char *path, bool follow_last, char **ret) PIB_MUST_CHECK;

/* RFC 3339 UTC time of now, e.g. 2026-11-26T09:46:16.123Z. */
void pib_now_rfc3339(char out[40]);
double pib_now_mono(void);

/* True when s is "", or all of its bytes are in set. */
bool pib_str_all_in(const char *s, const char *set);
bool pib_str_has_prefix(const char *s, const char *prefix);
bool pib_str_has_suffix(const char *s, const char *suffix);
