/* SPDX-License-Identifier: MIT */
/* Image policy checks of logins: sshd, shadow, authorized_keys, host keys, sudoers (policy_accounts.h). */
#include "policy_accounts.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what a hostile root can make us do: matches of one Include glob, users, keys listed. */
#define MAX_GLOB_MATCHES 4096
#define MAX_USERS 65536
#define MAX_KEYS_SHOWN 32
#define MAX_BLOB (64u << 10)
#define MAX_SUDO_DEPTH 16
#define RULE_SHOWN 300
/* files one sshd or sudo configuration may read in all (includes fan out: each of a.d/x including b.d/y) */
#define MAX_CONFIG_FILES 1024
#define STR_(x) #x
#define STR(x) STR_(x)

/* ------------------------------------------------------------------ files inside the root */

/*
 * Reads path (as seen inside root) after resolving it inside the root, so that no link leads out
 * of it; the resolved file is opened O_NOFOLLOW (a link left there is one pib_path_in_root gave up
 * on) and O_NONBLOCK (a fifo must not hang us), must be regular and at most the cap. The host path
 * goes to *ret_host when asked (for telling files apart). -ENOENT/-ENOTDIR: absent; -EFBIG: too
 * big; -EINVAL: not a regular file; other negative errnos as they come.
 */
static int read_in_root(const char *root, const char *path, char **ret, size_t *ret_len, char **ret_host)
{
	char *host = NULL, *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, r;

	r = pib_path_in_root(root, path, true, &host);
	if (r < 0)
		return r;
	/* a device node of the image is one of the host's devices: never opened, not even to fstat it */
	if (lstat(host, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > POLICY_ACCOUNTS_MAX_FILE) {
		r = -EFBIG;
		goto out;
	}
	data = malloc(POLICY_ACCOUNTS_MAX_FILE + 2);
	if (!data) {
		r = -ENOMEM;
		goto out;
	}
	/* the size may have grown since fstat: read one byte past the cap to know */
	while (len <= POLICY_ACCOUNTS_MAX_FILE) {
		ssize_t n = read(fd, data + len, POLICY_ACCOUNTS_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > POLICY_ACCOUNTS_MAX_FILE) {
		r = -EFBIG;
		goto out;
	}
	data[len] = '\0';
	*ret = data;
	data = NULL;
	if (ret_len)
		*ret_len = len;
	if (ret_host) {
		*ret_host = host;
		host = NULL;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(host);
	return r;
}

/*
 * The next line of [*cur, end), its '\n' made a NUL; NULL at the end. A NUL inside a line ends the
 * line's text there, as the C string functions of sshd and sudo would see it, but not the file:
 * a NUL must not hide the lines after it from us while the program reading the file sees them.
 */
static char *next_line(char **cur, char *end)
{
	char *ln = *cur, *nl;

	if (ln >= end)
		return NULL;
	nl = memchr(ln, '\n', (size_t)(end - ln));
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = end; /* read_in_root put a NUL at end */
	}
	return ln;
}

static bool is_absent(int r)
{
	return r == -ENOENT || r == -ENOTDIR;
}

static char *unread_reason(const char *path, int r)
{
	char *p = pib_text_clean(path, false), *s;

	if (!p)
		return NULL;
	if (r == -EFBIG)
		s = pib_asprintf("%s: larger than %u bytes, not read", p, POLICY_ACCOUNTS_MAX_FILE);
	else if (r == -EINVAL)
		s = pib_asprintf("%s: not a regular file, not read", p);
	else if (r == -EISDIR)
		s = pib_asprintf("%s: a directory, not read", p);
	else if (r == -ELOOP)
		s = pib_asprintf("%s: too many symbolic links, not read", p);
	else
		s = pib_asprintf("%s: not read: %s", p, strerror(-r));
	free(p);
	return s;
}

/*
 * File names come from the root's folders: any bytes but '/' and NUL. Every path put into a finding
 * (its path and its evidence) goes through pib_text_clean first, so that a name with a newline, an
 * escape sequence or invalid UTF-8 shows as \xNN and cannot forge report or terminal lines.
 */
static int add_unread(struct policy_findings *f, const char *path, const char *why)
{
	char *shown = pib_text_clean(path, false);
	int r;

	if (!shown)
		return -ENOMEM;
	r = policy_add(f, "policy.unread", POLICY_SEV_INFO,
		       "A file the login checks should read was not read", shown, 0,
		       "Make the file a regular file of a sane size inside the image, or remove it.", "%s",
		       why);
	free(shown);
	return r;
}

int policy_root_read(const char *root, const char *path, char **ret, size_t *ret_len)
{
	return read_in_root(root, path, ret, ret_len, NULL);
}

char *policy_next_line(char **cur, char *end)
{
	return next_line(cur, end);
}

char *policy_unread_reason(const char *path, int r)
{
	return unread_reason(path, r);
}

/* A regular file (or anything, when any_type) in the root, after resolving links inside it. */
static bool is_file_in_root(const char *root, const char *path, bool any_type)
{
	char *host = NULL;
	struct stat st;
	bool yes;

	if (pib_path_in_root(root, path, true, &host) < 0)
		return false;
	yes = lstat(host, &st) == 0 && (any_type || S_ISREG(st.st_mode));
	free(host);
	return yes;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in dir (inside root) accepted by want, sorted bytewise (glob(3)'s order in the C
 * locale sshd runs in). At most MAX_GLOB_MATCHES.
 */
static int list_dir(const char *root, const char *dir, bool (*want)(const char *name, const void *arg),
		    const void *arg, char ***ret)
{
	char *host = NULL, **v = NULL;
	size_t n = 0;
	DIR *d;
	int r;

	*ret = NULL;
	r = pib_path_in_root(root, dir, true, &host);
	if (r < 0)
		return r;
	d = opendir(host);
	free(host);
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !want(e->d_name, arg))
			continue;
		if (n >= MAX_GLOB_MATCHES) {
			r = -E2BIG;
			break;
		}
		if ((r = pib_strv_push(&v, e->d_name)) < 0)
			break;
		n++;
	}
	closedir(d);
	if (r < 0 && r != -E2BIG) {
		pib_strv_free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return r;
}

static bool want_fnmatch(const char *name, const void *arg)
{
	return fnmatch(arg, name, FNM_PERIOD) == 0;
}

static bool has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * Expands a glob (absolute, inside root) as glob(3) with no flags would: each component with
 * wildcards is matched against its folder's names ('*' and '?' do not match a leading '.'), the
 * results sorted; a path without wildcards is kept when it exists. Every folder is resolved inside
 * the root.
 */
static int glob_in_root(const char *root, const char *pattern, char ***ret)
{
	char **cur = NULL, *pat = pib_strdup(pattern), *save = NULL;
	int r = 0, truncated = 0;

	*ret = NULL;
	if (!pat || (r = pib_strv_push(&cur, "")) < 0)
		goto out;
	for (char *comp = strtok_r(pat, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		char **next = NULL;
		size_t nn = 0;
		for (size_t i = 0; cur && cur[i] && r >= 0; i++) {
			if (!has_magic(comp)) {
				char *p = pib_asprintf("%s/%s", cur[i], comp);
				r = p ? pib_strv_push(&next, p) : -ENOMEM;
				free(p);
				nn++;
				continue;
			}
			char **names = NULL;
			int k = list_dir(root, cur[i][0] ? cur[i] : "/", want_fnmatch, comp, &names);
			if (k == -E2BIG)
				truncated = 1;
			else if (k == -ENOMEM)
				r = k;
			for (size_t j = 0; names && names[j] && r >= 0 && nn < MAX_GLOB_MATCHES; j++, nn++) {
				char *p = pib_asprintf("%s/%s", cur[i], names[j]);
				r = p ? pib_strv_push(&next, p) : -ENOMEM;
				free(p);
			}
			pib_strv_free(names);
		}
		pib_strv_free(cur);
		cur = next;
		if (r < 0 || !cur)
			goto out;
	}
	/* glob(3) returns a literal path only when it exists */
	{
		char **v = NULL;
		for (size_t i = 0; cur && cur[i] && r >= 0; i++) {
			char *host = NULL;
			struct stat st;
			if (pib_path_in_root(root, cur[i][0] ? cur[i] : "/", true, &host) < 0)
				continue;
			if (lstat(host, &st) == 0)
				r = pib_strv_push(&v, cur[i]);
			free(host);
		}
		if (v)
			qsort(v, pib_strv_len(v), sizeof(*v), cmp_str);
		*ret = v;
	}
out:
	pib_strv_free(cur);
	free(pat);
	return r < 0 ? r : truncated ? -E2BIG : 0;
}

/* ------------------------------------------------------------------ base64 and fingerprints */

/* Decodes base64 (white space skipped when skip_space; '=' only at the end); NULL when not base64. */
static unsigned char *b64_decode(const char *s, size_t len, bool skip_space, size_t *ret_len)
{
	unsigned char *out = NULL;

	return pib_b64_decode(s, len, skip_space ? PIB_B64_SPACE : 0, &out, ret_len) == 0 ? out : NULL;
}

void policy_ssh_fingerprint(const unsigned char *blob, size_t len, char out[44])
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char md[33] = {0};
	char hex[65];
	size_t o = 0;

	/* the project's SHA-256 gives hex: back to bytes for the base64 ssh-keygen prints */
	pib_sha256_hex(blob, len, hex);
	for (int i = 0; i < 32; i++) {
		unsigned hi = (unsigned)(isdigit((unsigned char)hex[2 * i]) ? hex[2 * i] - '0'
									    : hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(isdigit((unsigned char)hex[2 * i + 1]) ? hex[2 * i + 1] - '0'
										: hex[2 * i + 1] - 'a' + 10);
		md[i] = (unsigned char)(hi << 4 | lo);
	}
	/* 32 bytes: ten whole groups of three, then two bytes giving three characters (no '=') */
	for (int i = 0; i < 30; i += 3) {
		unsigned v = (unsigned)md[i] << 16 | (unsigned)md[i + 1] << 8 | md[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	unsigned v = (unsigned)md[30] << 16 | (unsigned)md[31] << 8;
	out[o++] = tab[v >> 18 & 63];
	out[o++] = tab[v >> 12 & 63];
	out[o++] = tab[v >> 6 & 63];
	out[o] = '\0';
}

/* An SSH wire string at *p of blob: 0 and its bounds, or -1. */
static int ssh_string(const unsigned char *b, size_t len, size_t *p, const unsigned char **s, size_t *slen)
{
	if (len - *p < 4 || *p > len)
		return -1;
	uint32_t n = (uint32_t)b[*p] << 24 | (uint32_t)b[*p + 1] << 16 | (uint32_t)b[*p + 2] << 8 | b[*p + 3];
	if (n > len - *p - 4)
		return -1;
	*s = b + *p + 4;
	*slen = n;
	*p += 4 + (size_t)n;
	return 0;
}

/* ------------------------------------------------------------------ sshd_config */

static const struct {
	const char *name;
	enum policy_sshd_kw kw;
} sshd_kws[] = {
	{"passwordauthentication", POLICY_SSHD_PASSWORD_AUTH},
	{"kbdinteractiveauthentication", POLICY_SSHD_KBD_INTERACTIVE},
	/* the old name of the same option: the first of either wins */
	{"challengeresponseauthentication", POLICY_SSHD_KBD_INTERACTIVE},
	{"permitrootlogin", POLICY_SSHD_PERMIT_ROOT_LOGIN},
	{"permitemptypasswords", POLICY_SSHD_PERMIT_EMPTY},
	{"authorizedkeysfile", POLICY_SSHD_AUTHORIZED_KEYS},
};

static const char *const kw_names[POLICY_SSHD_N_KW] = {
	"PasswordAuthentication", "KbdInteractiveAuthentication", "PermitRootLogin",
	"PermitEmptyPasswords",   "AuthorizedKeysFile",
};
/* OpenSSH 9's defaults (servconf.c fill_default_server_options) */
static const char *const kw_defaults[POLICY_SSHD_N_KW] = {
	"yes", "yes", "prohibit-password", "no", ".ssh/authorized_keys .ssh/authorized_keys2",
};

const char *policy_sshd_kw_name(enum policy_sshd_kw kw)
{
	return (unsigned)kw < POLICY_SSHD_N_KW ? kw_names[kw] : "?";
}

/* The Match block a line belongs to; NULL for the global part of the configuration. */
struct sshd_block {
	char *criteria;
	const char *path;
	unsigned line;
	unsigned id;
	unsigned set; /* the keywords (1 << kw) this block already set: the first value in a block wins */
};

struct sshd_ctx {
	const char *root;
	struct policy_sshd *s;
	char **stack; /* host paths of the files being read: an Include of one of them is a cycle */
	unsigned next_block;
	unsigned files; /* read or tried, against MAX_CONFIG_FILES */
};

/*
 * Splits a configuration line into words as sshd's argv_split does: blanks separate words, an
 * '=' may separate the keyword, double or single quotes group, a backslash escapes a quote,
 * blank or backslash, and a word starting with '#' ends the line (a trailing comment).
 */
static int split_words(const char *line, char ***ret)
{
	char **v = NULL;
	struct pib_buf w = {0};
	const char *p = line;
	int r = 0;

	for (size_t nword = 0;; nword++) {
		while (*p == ' ' || *p == '\t')
			p++;
		/* after the keyword, one '=' (with blanks around it) may stand for the separator */
		if (nword == 1 && *p == '=') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
		}
		if (!*p || *p == '#')
			break;
		char q = 0;
		w.len = 0;
		if ((r = pib_buf_append(&w, "", 0)) < 0)
			goto fail;
		for (; *p; p++) {
			if (q) {
				if (*p == q) {
					q = 0;
					continue;
				}
			} else if (*p == '"' || *p == '\'') {
				q = *p;
				continue;
			} else if (*p == ' ' || *p == '\t' || (nword == 0 && *p == '=')) {
				break;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\'' || p[1] == '\\' || p[1] == ' '))
				p++;
			if ((r = pib_buf_append(&w, p, 1)) < 0)
				goto fail;
		}
		if ((r = pib_strv_push(&v, w.data)) < 0)
			goto fail;
	}
	pib_buf_free(&w);
	*ret = v;
	return 0;
fail:
	pib_buf_free(&w);
	pib_strv_free(v);
	return r;
}

static char *join_words(char **v, size_t from)
{
	struct pib_buf b = {0};

	if (pib_buf_append(&b, "", 0) < 0)
		return NULL;
	for (size_t i = from; v && v[i]; i++)
		if (pib_buf_printf(&b, "%s%s", i > from ? " " : "", v[i]) < 0) {
			pib_buf_free(&b);
			return NULL;
		}
	return b.data;
}

static char *lower_dup(const char *s)
{
	char *d = pib_strdup(s);

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int note_unread(struct sshd_ctx *c, const char *path, int r, const char *why)
{
	char *shown = pib_text_clean(path, false);
	char *s = !shown ? NULL : why ? pib_asprintf("%s: %s", shown, why) : unread_reason(path, r);
	int k;

	free(shown);
	if (!s)
		return -ENOMEM;
	k = pib_strv_push(&c->s->unread, s);
	free(s);
	return k;
}

static int sshd_set(struct sshd_ctx *c, struct sshd_block *blk, enum policy_sshd_kw kw, char **words,
		    const char *path, unsigned line)
{
	struct policy_sshd *s = c->s;
	/* sshd -T prints without-password as prohibit-password: the same option */
	char *value = kw == POLICY_SSHD_AUTHORIZED_KEYS ? join_words(words, 1)
		      : kw == POLICY_SSHD_PERMIT_ROOT_LOGIN && !strcasecmp(words[1], "without-password")
			      ? pib_strdup("prohibit-password")
			      : lower_dup(words[1]);
	char *vpath = pib_text_clean(path, false);

	if (!value || !vpath)
		goto nomem;
	if (!blk) {
		if (s->kw[kw].value)
			goto done; /* the first obtained value wins */
		s->kw[kw] = (struct policy_sshd_value){value, vpath, line};
		return 0;
	}
	if (blk->set & 1u << kw)
		goto done; /* first value within this block */
	blk->set |= 1u << kw;
	struct policy_sshd_match_set *m = realloc(s->matches, (s->n_matches + 1) * sizeof(*m));
	if (!m)
		goto nomem;
	s->matches = m;
	m = &s->matches[s->n_matches];
	*m = (struct policy_sshd_match_set){
		.kw = kw,
		.v = {value, vpath, line},
		.match_line = blk->line,
		.block = blk->id,
		.match = pib_strdup(blk->criteria),
		.match_path = pib_text_clean(blk->path, false),
	};
	s->n_matches++;
	if (!m->match || !m->match_path)
		return -ENOMEM;
	return 0;
done:
	free(value);
	free(vpath);
	return 0;
nomem:
	free(value);
	free(vpath);
	return -ENOMEM;
}

static int sshd_file(struct sshd_ctx *c, const char *path, struct sshd_block *outer, unsigned depth);

static int sshd_include(struct sshd_ctx *c, char **words, struct sshd_block *blk, const char *path,
			unsigned line, unsigned depth)
{
	int r = 0;

	for (size_t i = 1; words[i] && r >= 0; i++) {
		/* relative Include paths are under /etc/ssh (SSHDIR) */
		char *pat = words[i][0] == '/' ? pib_strdup(words[i]) : pib_asprintf("/etc/ssh/%s", words[i]);
		char **files = NULL;
		if (!pat)
			return -ENOMEM;
		int k = glob_in_root(c->root, pat, &files);
		if (k == -ENOMEM)
			r = k;
		else if (k == -E2BIG) {
			char *why =
				pib_asprintf("Include at %s:%u matches more than %d files, the rest not read",
					     path, line, MAX_GLOB_MATCHES);
			r = why ? note_unread(c, pat, 0, why) : -ENOMEM;
			free(why);
		}
		for (size_t j = 0; files && files[j] && r >= 0; j++)
			r = sshd_file(c, files[j], blk, depth + 1);
		pib_strv_free(files);
		free(pat);
	}
	return r;
}

/*
 * Reads one configuration file. Its lines start in the block it was included from (outer; NULL:
 * global); a Match line starts a new block, which ends with the file. "Match all" goes back to
 * the outer block: for a connection no other Match satisfies, that is the global part, or the
 * including block, whose unsatisfied criteria still hold (sshd's SSHCFG_NEVERMATCH).
 */
static int sshd_file(struct sshd_ctx *c, const char *path, struct sshd_block *outer, unsigned depth)
{
	char *data = NULL, *host = NULL;
	struct sshd_block blk = {0};
	struct sshd_block *cur = outer;
	size_t len = 0;
	unsigned lineno = 0;
	int r;

	if (depth > POLICY_SSHD_MAX_DEPTH)
		return note_unread(c, path, 0,
				   "Include nested too deep (sshd refuses more than 16 levels), not read");
	if (++c->files > MAX_CONFIG_FILES)
		return note_unread(
			c, path, 0,
			"more files included than the checks read (" STR(MAX_CONFIG_FILES) "), not read");
	r = read_in_root(c->root, path, &data, &len, &host);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return depth == 0 && is_absent(r) ? 0 : note_unread(c, path, r, NULL);
	for (size_t i = 0; c->stack && c->stack[i]; i++)
		if (!strcmp(c->stack[i], host)) {
			r = note_unread(c, path, 0,
					"Include cycle: the file is already being read, not read again");
			goto out;
		}
	if ((r = pib_strv_push(&c->stack, host)) < 0)
		goto out;
	/* lines end at '\n' (a NUL inside a line ends it, as fgets would make sshd see) */
	for (char *pos = data, *ln; r >= 0 && (ln = next_line(&pos, data + len)); lineno++) {
		ln[strcspn(ln, "\r")] = '\0';
		char **w = NULL;
		if ((r = split_words(ln, &w)) < 0)
			break;
		if (!w || !w[0]) {
			pib_strv_free(w);
			continue;
		}
		if (!strcasecmp(w[0], "match")) {
			char *crit = join_words(w, 1);
			char *shown = crit ? pib_text_clean(crit, false) : NULL;
			free(crit);
			if (!shown) {
				r = -ENOMEM;
			} else if (!strcasecmp(shown, "all")) {
				free(shown);
				cur = outer;
			} else {
				free(blk.criteria);
				blk.criteria =
					outer ? pib_asprintf("%s, then %s", outer->criteria, shown) : shown;
				if (outer)
					free(shown);
				blk.path = path;
				blk.line = lineno + 1;
				blk.id = ++c->next_block;
				blk.set = 0;
				cur = &blk;
				if (!blk.criteria)
					r = -ENOMEM;
			}
		} else if (!strcasecmp(w[0], "include")) {
			r = sshd_include(c, w, cur, path, lineno + 1, depth);
		} else if (w[1]) {
			for (size_t k = 0; k < sizeof(sshd_kws) / sizeof(sshd_kws[0]); k++)
				if (!strcasecmp(w[0], sshd_kws[k].name)) {
					r = sshd_set(c, cur, sshd_kws[k].kw, w, path, lineno + 1);
					break;
				}
		}
		pib_strv_free(w);
	}
	/* this file is done: it may be included again elsewhere, just not from inside itself */
	free(c->stack[pib_strv_len(c->stack) - 1]);
	c->stack[pib_strv_len(c->stack) - 1] = NULL;
out:
	free(blk.criteria);
	free(data);
	free(host);
	return r;
}

int policy_sshd_read(const char *root, struct policy_sshd *ret)
{
	struct policy_sshd s = {0};
	struct sshd_ctx c = {.root = root, .s = &s};
	int r;

	s.has_binary = is_file_in_root(root, "/usr/sbin/sshd", false);
	/* a config that is there but cannot be read still makes the checks run (and say so) */
	s.has_config = is_file_in_root(root, "/etc/ssh/sshd_config", true);
	r = sshd_file(&c, "/etc/ssh/sshd_config", NULL, 0);
	pib_strv_free(c.stack);
	for (int k = 0; k < POLICY_SSHD_N_KW && r >= 0; k++)
		if (!s.kw[k].value && !(s.kw[k].value = pib_strdup(kw_defaults[k])))
			r = -ENOMEM;
	if (r < 0) {
		policy_sshd_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

void policy_sshd_free(struct policy_sshd *s)
{
	for (int k = 0; k < POLICY_SSHD_N_KW; k++) {
		free(s->kw[k].value);
		free(s->kw[k].path);
	}
	for (size_t i = 0; i < s->n_matches; i++) {
		free(s->matches[i].v.value);
		free(s->matches[i].v.path);
		free(s->matches[i].match);
		free(s->matches[i].match_path);
	}
	free(s->matches);
	pib_strv_free(s->unread);
	*s = (struct policy_sshd){0};
}

/* The rule a keyword's value breaks, if any. */
struct sshd_rule {
	const char *id;
	enum policy_severity sev;
	const char *what; /* "password logins" */
	const char *fix;
};

static const struct sshd_rule *sshd_rule_of(enum policy_sshd_kw kw, const char *value)
{
	static const struct sshd_rule rules[] = {
		[POLICY_SSHD_PASSWORD_AUTH] =
			{"ssh.password_auth", POLICY_SEV_HIGH, "password logins",
			 "Set PasswordAuthentication no in /etc/ssh/sshd_config (before any "
			 "Include that could set it first) and log in with keys."},
		[POLICY_SSHD_KBD_INTERACTIVE] =
			{"ssh.kbd_interactive", POLICY_SEV_MEDIUM,
			 "keyboard-interactive logins (passwords through PAM)",
			 "Set KbdInteractiveAuthentication no in /etc/ssh/sshd_config."},
		[POLICY_SSHD_PERMIT_ROOT_LOGIN] = {"ssh.root_login", POLICY_SEV_CRITICAL,
						   "root logins with a password",
						   "Set PermitRootLogin no (or prohibit-password) in "
						   "/etc/ssh/sshd_config."},
		[POLICY_SSHD_PERMIT_EMPTY] = {"ssh.empty_passwords", POLICY_SEV_CRITICAL,
					      "logins to accounts with an empty password",
					      "Set PermitEmptyPasswords no in /etc/ssh/sshd_config."},
	};

	if (kw >= POLICY_SSHD_AUTHORIZED_KEYS)
		return NULL;
	/* PermitRootLogin: prohibit-password, without-password, forced-commands-only and no are fine */
	return !strcmp(value, "yes") ? &rules[kw] : NULL;
}

int policy_check_sshd(const char *root, struct policy_findings *f)
{
	struct policy_sshd s;
	int r = policy_sshd_read(root, &s);

	if (r < 0)
		return r;
	if (!s.has_binary && !s.has_config)
		goto out;
	for (int k = 0; k < POLICY_SSHD_N_KW && r >= 0; k++) {
		const struct sshd_rule *rule = sshd_rule_of(k, s.kw[k].value);
		if (!rule)
			continue;
		char *title = pib_asprintf("sshd allows %s", rule->what);
		if (!title) {
			r = -ENOMEM;
			break;
		}
		if (s.kw[k].path)
			r = policy_add(f, rule->id, rule->sev, title, s.kw[k].path, s.kw[k].line, rule->fix,
				       "%s %s (%s:%u; the first value sshd reads wins)", kw_names[k],
				       s.kw[k].value, s.kw[k].path, s.kw[k].line);
		else
			r = policy_add(
				f, rule->id, rule->sev, title, s.has_config ? "/etc/ssh/sshd_config" : NULL,
				0, rule->fix, "%s %s (default: set nowhere in %s)", kw_names[k],
				s.kw[k].value,
				s.has_config
					? "/etc/ssh/sshd_config and its Includes"
					: "the root, which has sshd (/usr/sbin/sshd) but no sshd_config");
		free(title);
	}
	for (size_t i = 0; i < s.n_matches && r >= 0; i++) {
		const struct policy_sshd_match_set *m = &s.matches[i];
		const struct sshd_rule *rule = sshd_rule_of(m->kw, m->v.value);
		if (!rule)
			continue;
		char *title =
			pib_asprintf("sshd allows %s for connections matching a Match block", rule->what);
		if (!title) {
			r = -ENOMEM;
			break;
		}
		r = policy_add(f, rule->id, rule->sev, title, m->v.path, m->v.line, rule->fix,
			       "Match %s (%s:%u): %s %s (%s:%u)", m->match, m->match_path, m->match_line,
			       kw_names[m->kw], m->v.value, m->v.path, m->v.line);
		free(title);
	}
	for (size_t i = 0; s.unread && s.unread[i] && r >= 0; i++) {
		char *p = pib_strndup(s.unread[i], strcspn(s.unread[i], ":"));
		r = p ? add_unread(f, p, s.unread[i]) : -ENOMEM;
		free(p);
	}
out:
	policy_sshd_free(&s);
	return r;
}

/* ------------------------------------------------------------------ passwd and shadow */

struct user {
	char *name, *passwd_field, *home, *shell;
	unsigned uid, gid, line;
};

static void users_free(struct user *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].passwd_field);
		free(u[i].home);
		free(u[i].shell);
	}
	free(u);
}

/* The fields of a colon-separated line (at most max, the rest left in the last). */
static size_t split_colon(char *line, char **fields, size_t max)
{
	size_t n = 0;

	fields[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == ':') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	return n;
}

/* /etc/passwd's users; a root without one has none. -EFBIG etc. become a policy.unread finding. */
static int read_users(const char *root, struct policy_findings *f, struct user **ret, size_t *ret_n)
{
	char *data = NULL;
	struct user *u = NULL;
	size_t n = 0, len = 0;
	unsigned lineno = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = read_in_root(root, "/etc/passwd", &data, &len, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (is_absent(r))
			return 0;
		char *why = unread_reason("/etc/passwd", r);
		r = why ? add_unread(f, "/etc/passwd", why) : -ENOMEM;
		free(why);
		return r;
	}
	for (char *pos = data, *ln; r >= 0 && n < MAX_USERS && (ln = next_line(&pos, data + len));) {
		lineno++;
		char *fl[7];
		if (ln[0] == '#' || ln[0] == '+' || ln[0] == '-' || split_colon(ln, fl, 7) != 7 || !fl[0][0])
			continue;
		struct user *nu = realloc(u, (n + 1) * sizeof(*u));
		if (!nu) {
			r = -ENOMEM;
			break;
		}
		u = nu;
		u[n] = (struct user){
			.name = pib_strdup(fl[0]),
			.passwd_field = pib_strdup(fl[1]),
			.home = pib_strdup(fl[5]),
			.shell = pib_strdup(fl[6]),
			.uid = (unsigned)strtoul(fl[2], NULL, 10),
			.gid = (unsigned)strtoul(fl[3], NULL, 10),
			.line = lineno,
		};
		n++;
		if (!u[n - 1].name || !u[n - 1].passwd_field || !u[n - 1].home || !u[n - 1].shell)
			r = -ENOMEM;
	}
	free(data);
	if (r < 0) {
		users_free(u, n);
		return r;
	}
	*ret = u;
	*ret_n = n;
	return 0;
}

/* An empty shell field is /bin/sh; nologin and false refuse logins. */
bool policy_login_shell(const char *shell)
{
	const char *base = strrchr(shell, '/');

	base = base ? base + 1 : shell;
	return strcmp(base, "nologin") && strcmp(base, "false");
}

/*
 * The scheme of a password hash, named without showing any of it; NULL when the hash is locked or
 * unusable (crypt(3) would never match it: '!' or '*' first, or no scheme crypt knows).
 */
static const char *hash_scheme(const char *h, char *buf, size_t size)
{
	static const struct {
		const char *prefix, *name;
	} schemes[] = {
		{"$y$", "yescrypt"},    {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt"},
		{"$6$", "sha512crypt"}, {"$5$", "sha256crypt"},    {"$2b$", "bcrypt"},
		{"$2a$", "bcrypt"},     {"$2y$", "bcrypt"},        {"$2x$", "bcrypt"},
		{"$1$", "md5crypt"},    {"$sha1$", "sha1crypt"},   {"$md5", "sunmd5"},
		{"$3$", "NT-hash"},
	};
	static const char des[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	if (h[0] == '!' || h[0] == '*')
		return NULL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (pib_str_has_prefix(h, schemes[i].prefix))
			return schemes[i].name;
	if (strlen(h) == 13 && strspn(h, des) == 13)
		return "descrypt";
	if (h[0] == '_' && strlen(h) == 20 && strspn(h + 1, des) == 19)
		return "bsdicrypt";
	if (h[0] == '$') {
		/* an id crypt may know: show the id only, bounded and of safe characters */
		size_t n = strspn(h + 1, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (n && n < 16 && h[1 + n] == '$') {
			snprintf(buf, size, "unknown scheme $%.*s$", (int)n, h + 1);
			return buf;
		}
	}
	return NULL;
}

struct shadow_entry {
	const char *name, *hash;
	unsigned line;
};

static int cmp_shadow(const void *a, const void *b)
{
	const struct shadow_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* the first line of a name first: it is the one getspnam finds */
	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

/* shadow's entries sorted by name (pointing into data, cut in place), so each user is a lookup. */
static int index_shadow(char *data, size_t len, struct shadow_entry **ret, size_t *ret_n)
{
	struct shadow_entry *v = NULL;
	size_t n = 0, cap = 0;
	unsigned lineno = 0;

	for (char *pos = data, *ln; data && (ln = next_line(&pos, data + len));) {
		char *fl[3];
		lineno++;
		if (split_colon(ln, fl, 3) < 2)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct shadow_entry *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (struct shadow_entry){fl[0], fl[1], lineno};
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_shadow);
	*ret = v;
	*ret_n = n;
	return 0;
}

const char *policy_pw_state_name(enum policy_pw_state s)
{
	static const char *const names[] = {"no shadow entry", "locked", "empty", "usable"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void policy_users_free(struct policy_user *u, size_t n)
{
	for (size_t i = 0; u && i < n; i++) {
		free(u[i].name);
		free(u[i].home);
		free(u[i].shell);
	}
	free(u);
}

/* The first shadow entry of name (bsearch may land on any of several, so a lower bound), or NULL. */
static const struct shadow_entry *shadow_find(const struct shadow_entry *sh, size_t nsh, const char *name)
{
	size_t lo = 0, hi = nsh;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(sh[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nsh && !strcmp(sh[lo].name, name) ? &sh[lo] : NULL;
}

int policy_users_read(const char *root, struct policy_findings *f, struct policy_user **ret, size_t *ret_n)
{
	struct user *u = NULL;
	struct policy_user *pu = NULL;
	struct shadow_entry *sh = NULL;
	size_t n = 0, nsh = 0, len = 0;
	char *data = NULL;
	int r = read_users(root, f, &u, &n);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	r = read_in_root(root, "/etc/shadow", &data, &len, NULL);
	if (r == -ENOMEM)
		goto out;
	if (r < 0 && !is_absent(r)) {
		char *why = unread_reason("/etc/shadow", r);
		r = why ? add_unread(f, "/etc/shadow", why) : -ENOMEM;
		free(why);
		if (r < 0)
			goto out;
	}
	if ((r = index_shadow(data, len, &sh, &nsh)) < 0)
		goto out;
	if (n && !(pu = calloc(n, sizeof(*pu)))) {
		r = -ENOMEM;
		goto out;
	}
	/* a user's hash: shadow's when /etc/passwd says "x", else passwd's own field (pam_unix's rule) */
	for (size_t i = 0; i < n; i++) {
		struct policy_user *p = &pu[i];
		const char *hash = u[i].passwd_field;
		p->pw_file = "/etc/passwd";
		p->pw_line = u[i].line;
		if (!strcmp(hash, "x")) {
			const struct shadow_entry *e = shadow_find(sh, nsh, u[i].name);
			hash = e ? e->hash : NULL;
			p->pw_file = "/etc/shadow";
			p->pw_line = e ? e->line : 0;
		}
		/* taken over from u: freed with pu from here */
		p->name = u[i].name;
		p->home = u[i].home;
		p->shell = u[i].shell;
		u[i].name = u[i].home = u[i].shell = NULL;
		p->uid = u[i].uid;
		p->gid = u[i].gid;
		p->line = u[i].line;
		if (!hash) {
			p->pw = POLICY_PW_NO_ENTRY; /* no shadow entry: nobody can log in with a password */
		} else if (!hash[0]) {
			p->pw = POLICY_PW_EMPTY;
		} else {
			const char *scheme = hash_scheme(hash, p->scheme, sizeof(p->scheme));
			p->pw = scheme ? POLICY_PW_USABLE : POLICY_PW_LOCKED;
			if (scheme && scheme != p->scheme)
				snprintf(p->scheme, sizeof(p->scheme), "%s", scheme);
		}
	}
	*ret = pu;
	*ret_n = n;
	pu = NULL;
	r = 0;
out:
	policy_users_free(pu, n);
	free(sh);
	free(data);
	users_free(u, n);
	return r;
}

int policy_check_shadow(const char *root, struct policy_findings *f)
{
	struct policy_user *u = NULL;
	size_t n = 0;
	int r = policy_users_read(root, f, &u, &n);

	for (size_t i = 0; i < n && r >= 0; i++) {
		if (u[i].pw == POLICY_PW_NO_ENTRY || u[i].pw == POLICY_PW_LOCKED)
			continue;
		const char *file = u[i].pw_file, *scheme = u[i].pw == POLICY_PW_USABLE ? u[i].scheme : NULL;
		unsigned line = u[i].pw_line;
		bool is_root = u[i].uid == 0;
		char *name = pib_text_clean(u[i].name, false), *shell = pib_text_clean(u[i].shell, false);
		if (!name || !shell)
			r = -ENOMEM;
		else if (u[i].pw == POLICY_PW_EMPTY)
			r = policy_add(
				f, "account.empty_password", is_root ? POLICY_SEV_CRITICAL : POLICY_SEV_HIGH,
				is_root ? "root has an empty password" : "An account has an empty password",
				file, line, "Lock the account (passwd -l NAME) or give it a password hash.",
				"%s (uid %u, shell %s): empty password hash in %s:%u", name, u[i].uid,
				shell[0] ? shell : "/bin/sh (empty field)", file, line);
		else if (scheme && is_root)
			r = policy_add(f, "account.root_password", POLICY_SEV_HIGH,
				       "root has a usable password", file, line,
				       "Lock root's password (passwd -l root; usermod -p '!' root).",
				       "%s (uid %u): unlocked %s hash in %s:%u (the hash is not shown)", name,
				       u[i].uid, scheme, file, line);
		else if (scheme && policy_login_shell(u[i].shell))
			r = policy_add(
				f, "account.password_set", POLICY_SEV_LOW,
				"An account with a login shell has a usable password", file, line,
				"Lock the account's password (passwd -l NAME) unless the image needs it.",
				"%s (uid %u, shell %s): unlocked %s hash in %s:%u (the hash is not shown)",
				name, u[i].uid, shell[0] ? shell : "/bin/sh (empty field)", scheme, file,
				line);
		free(name);
		free(shell);
	}
	policy_users_free(u, n);
	return r;
}

/* ------------------------------------------------------------------ authorized_keys */

/* The word at *p (blanks before it skipped), its end in *end; NULL at the end of the line. */
static const char *next_word(const char *p, const char **end)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	*end = p + strcspn(p, " \t");
	return p;
}

/*
 * A key line: "TYPE BASE64 [COMMENT]", or options first (with quoted strings that may hold
 * blanks), as sshd reads it. The key's type is the blob's own, which must equal TYPE. 1 and the
 * type, fingerprint and comment length; 0 when the line holds no key.
 */
static int parse_key_line(const char *line, char **ret_type, char fp[44], size_t *ret_comment)
{
	const char *p = line;

	for (int attempt = 0; attempt < 2; attempt++) {
		const char *t, *te, *b, *be;
		if ((t = next_word(p, &te)) && (b = next_word(te, &be))) {
			size_t blen = 0;
			unsigned char *blob = (size_t)(be - b) <= MAX_BLOB * 4 / 3 + 4
						      ? b64_decode(b, (size_t)(be - b), false, &blen)
						      : NULL;
			const unsigned char *s;
			size_t slen, off = 0;
			if (blob && ssh_string(blob, blen, &off, &s, &slen) == 0 &&
			    slen == (size_t)(te - t) && !memcmp(s, t, slen)) {
				const char *c = be;
				while (*c == ' ' || *c == '\t')
					c++;
				size_t cl = strlen(c);
				while (cl && (c[cl - 1] == ' ' || c[cl - 1] == '\t'))
					cl--;
				policy_ssh_fingerprint(blob, blen, fp);
				free(blob);
				char *type = pib_strndup(t, (size_t)(te - t));
				*ret_type = type ? pib_text_clean(type, false) : NULL;
				free(type);
				*ret_comment = cl;
				return *ret_type ? 1 : -ENOMEM;
			}
			free(blob);
		}
		/* skip the options: up to the first blank outside double quotes */
		bool q = false;
		while (*p == ' ' || *p == '\t')
			p++;
		for (; *p && (q || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '\\' && p[1] == '"')
				p++;
			else if (*p == '"')
				q = !q;
		}
	}
	return 0;
}

/* One AuthorizedKeysFile word for a user: %h %u %U %% expanded, relative to the home. NULL: unusable. */
static char *expand_akf(const char *word, const struct user *u)
{
	struct pib_buf b = {0};
	int r = 0;

	if (word[0] != '%' && word[0] != '/')
		r = pib_buf_printf(&b, "%s/", strcmp(u->home, "/") ? u->home : "");
	for (const char *p = word; *p && r >= 0; p++) {
		if (*p != '%') {
			r = pib_buf_append(&b, p, 1);
			continue;
		}
		p++;
		if (*p == '%')
			r = pib_buf_append(&b, "%", 1);
		else if (*p == 'h')
			r = pib_buf_printf(&b, "%s", u->home);
		else if (*p == 'u')
			r = pib_buf_printf(&b, "%s", u->name);
		else if (*p == 'U')
			r = pib_buf_printf(&b, "%u", u->uid);
		else
			r = -EINVAL; /* sshd refuses an unknown token */
	}
	if (r < 0 || !b.data || b.data[0] != '/') {
		pib_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int check_keys_file(const char *root, struct policy_findings *f, const struct user *u,
			   const char *path, char ***seen)
{
	char *data = NULL, *host = NULL;
	struct pib_buf ev = {0};
	size_t nkeys = 0;
	unsigned lineno = 0, first = 0;
	size_t len = 0;
	int r = read_in_root(root, path, &data, &len, &host);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (is_absent(r))
			return 0;
		char *why = unread_reason(path, r);
		r = why ? add_unread(f, path, why) : -ENOMEM;
		free(why);
		return r;
	}
	/* users sharing a home (or a link to one file) share the finding */
	for (size_t i = 0; *seen && (*seen)[i]; i++)
		if (!strcmp((*seen)[i], host))
			goto out;
	if ((r = pib_strv_push(seen, host)) < 0)
		goto out;
	for (char *pos = data, *ln; r >= 0 && (ln = next_line(&pos, data + len));) {
		lineno++;
		ln[strcspn(ln, "\r")] = '\0';
		char *t = ln + strspn(ln, " \t"), *type = NULL, fp[44];
		size_t clen = 0;
		if (!*t || *t == '#')
			continue;
		r = parse_key_line(t, &type, fp, &clen);
		if (r <= 0)
			continue;
		if (!nkeys++)
			first = lineno;
		if (nkeys <= MAX_KEYS_SHOWN)
			r = pib_buf_printf(&ev, "%sline %u: %s SHA256:%s, comment of %zu characters",
					   nkeys > 1 ? "; " : "", lineno, type, fp, clen);
		else
			r = 0;
		free(type);
	}
	if (r >= 0 && nkeys) {
		char *name = pib_text_clean(u->name, false), *shown = pib_text_clean(path, false);
		if (nkeys > MAX_KEYS_SHOWN)
			r = pib_buf_printf(&ev, "; and %zu more", nkeys - MAX_KEYS_SHOWN);
		if (r >= 0 && name && shown)
			r = policy_add(f, "ssh.authorized_keys",
				       u->uid == 0 ? POLICY_SEV_HIGH : POLICY_SEV_MEDIUM,
				       u->uid == 0 ? "root has authorized SSH keys"
						   : "A user has authorized SSH keys",
				       shown, first,
				       "Remove the file from the image; keys are injected at first boot "
				       "(cloud-init, the instance's key pair).",
				       "%s (uid %u): %zu key%s in %s: %s", name, u->uid, nkeys,
				       nkeys > 1 ? "s" : "", shown, ev.data);
		else if (r >= 0)
			r = -ENOMEM;
		free(name);
		free(shown);
	}
out:
	pib_buf_free(&ev);
	free(data);
	free(host);
	return r < 0 ? r : 0;
}

/*
 * Whether a Match block may apply to a user: only "User LIST" alone is judged here (LIST of
 * patterns, comma separated); any other criteria could match anyone, so they may.
 */
static bool match_may_apply(const char *criteria, const char *user)
{
	char *list, *save = NULL;
	bool yes = false;

	if (strncasecmp(criteria, "User ", 5) || strpbrk(criteria + 5, " \t"))
		return true;
	if (!(list = pib_strdup(criteria + 5)))
		return true;
	for (char *p = strtok_r(list, ",", &save); p && !yes; p = strtok_r(NULL, ",", &save))
		yes = p[0] != '!' && fnmatch(p, user, 0) == 0;
	free(list);
	return yes;
}

int policy_check_authorized_keys(const char *root, struct policy_findings *f)
{
	struct policy_sshd s;
	struct user *u = NULL;
	char **words = NULL, **seen = NULL;
	size_t n = 0;
	int r = policy_sshd_read(root, &s);

	if (r < 0)
		return r;
	if ((r = read_users(root, f, &u, &n)) < 0)
		goto out;
	/* the plain connection's files, then those a Match block names (sshd reads them for its users) */
	for (size_t m = 0; m <= s.n_matches && r >= 0; m++) {
		const char *value =
			m == 0 ? s.kw[POLICY_SSHD_AUTHORIZED_KEYS].value : s.matches[m - 1].v.value;
		if (m > 0 && s.matches[m - 1].kw != POLICY_SSHD_AUTHORIZED_KEYS)
			continue;
		pib_strv_free(words);
		words = NULL;
		if ((r = split_words(value, &words)) < 0)
			break;
		/* "none" alone: sshd reads no file */
		if (words && words[0] && !words[1] && !strcasecmp(words[0], "none"))
			continue;
		for (size_t i = 0; i < n && r >= 0; i++) {
			if (u[i].home[0] != '/')
				continue; /* a home outside any absolute path is not one sshd uses */
			if (m > 0 && !match_may_apply(s.matches[m - 1].match, u[i].name))
				continue;
			for (size_t k = 0; words && words[k] && r >= 0; k++) {
				char *p = expand_akf(words[k], &u[i]);
				if (p)
					r = check_keys_file(root, f, &u[i], p, &seen);
				free(p);
			}
		}
	}
out:
	pib_strv_free(words);
	pib_strv_free(seen);
	users_free(u, n);
	policy_sshd_free(&s);
	return r;
}

/* ------------------------------------------------------------------ host keys */

/* A private key file's type (and public fingerprint when the file holds it), never its secret. */
static char *host_key_type(const char *data)
{
	static const struct {
		const char *begin, *type;
	} pem[] = {
		{"-----BEGIN RSA PRIVATE KEY-----", "ssh-rsa (PEM)"},
		{"-----BEGIN EC PRIVATE KEY-----", "ecdsa (PEM)"},
		{"-----BEGIN DSA PRIVATE KEY-----", "ssh-dss (PEM)"},
		{"-----BEGIN PRIVATE KEY-----", "PKCS#8"},
		{"-----BEGIN ENCRYPTED PRIVATE KEY-----", "PKCS#8, encrypted"},
	};
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----",
			  end[] = "-----END OPENSSH PRIVATE KEY-----";
	static const char magic[] = "openssh-key-v1";
	const char *b = strstr(data, begin), *e;

	for (size_t i = 0; !b && i < sizeof(pem) / sizeof(pem[0]); i++)
		if (strstr(data, pem[i].begin))
			return pib_strdup(pem[i].type);
	if (!b || !(e = strstr(b, end)))
		return pib_strdup("unknown format");
	b += sizeof(begin) - 1;
	size_t len = 0, off = sizeof(magic), slen;
	unsigned char *blob = b64_decode(b, (size_t)(e - b), true, &len);
	const unsigned char *s, *pub;
	size_t publen;
	char *out = NULL;
	/* openssh-key-v1\0, cipher, kdf, kdf options, number of keys, first public key */
	if (blob && len > off && !memcmp(blob, magic, sizeof(magic)) &&
	    ssh_string(blob, len, &off, &s, &slen) == 0 && ssh_string(blob, len, &off, &s, &slen) == 0 &&
	    ssh_string(blob, len, &off, &s, &slen) == 0 && len - off >= 4 &&
	    (off += 4, ssh_string(blob, len, &off, &pub, &publen) == 0)) {
		size_t po = 0;
		if (ssh_string(pub, publen, &po, &s, &slen) == 0) {
			char fp[44], *t = pib_strndup((const char *)s, slen),
				     *tc = t ? pib_text_clean(t, false) : NULL;
			policy_ssh_fingerprint(pub, publen, fp);
			out = tc ? pib_asprintf("%s SHA256:%s", tc, fp) : NULL;
			free(t);
			free(tc);
		}
	} else if (blob) {
		out = pib_strdup("OpenSSH format, unreadable");
	}
	free(blob);
	return out;
}

static bool want_host_key(const char *name, const void *arg)
{
	(void)arg;
	return fnmatch("ssh_host_*_key", name, FNM_PERIOD) == 0;
}

int policy_check_host_keys(const char *root, struct policy_findings *f)
{
	char **names = NULL;
	struct pib_buf ev = {0};
	size_t found = 0;
	int r = list_dir(root, "/etc/ssh", want_host_key, NULL, &names);

	if (r == -ENOMEM)
		return r;
	r = 0;
	for (size_t i = 0; names && names[i] && r >= 0; i++) {
		char *path = pib_asprintf("/etc/ssh/%s", names[i]), *data = NULL, *type = NULL, *shown = NULL;
		if (!path)
			r = -ENOMEM;
		int k = path ? read_in_root(root, path, &data, NULL, NULL) : 0;
		if (r < 0 || k == -ENOMEM) {
			r = -ENOMEM;
		} else if (k < 0 && is_absent(k)) {
			/* a dangling link: no key */
		} else if (!(shown = pib_text_clean(path, false))) {
			r = -ENOMEM;
		} else if (k < 0) {
			/* present but not read (too big, not a regular file): still shipped */
			r = pib_buf_printf(&ev, "%s%s (not read: %s)", found++ ? "; " : "", shown,
					   k == -EFBIG ? "larger than the size cap" : strerror(-k));
		} else if ((type = host_key_type(data))) {
			r = pib_buf_printf(&ev, "%s%s (%s)", found++ ? "; " : "", shown, type);
		} else {
			r = -ENOMEM;
		}
		free(path);
		free(data);
		free(type);
		free(shown);
	}
	if (r >= 0 && found)
		r = policy_add(
			f, "ssh.host_keys", POLICY_SEV_HIGH, "The image ships SSH host keys", "/etc/ssh", 0,
			"Remove /etc/ssh/ssh_host_*_key* from the image: every instance must make its own at "
			"first boot (sshd-keygen, cloud-init, dpkg-reconfigure openssh-server).",
			"%zu host key%s: %s", found, found > 1 ? "s" : "", ev.data);
	pib_buf_free(&ev);
	pib_strv_free(names);
	return r;
}

/* ------------------------------------------------------------------ sudoers */

struct sudo_ctx {
	const char *root;
	struct policy_findings *f;
	char **stack;
	unsigned files; /* read or tried, against MAX_CONFIG_FILES */
};

static bool is_tag(const char *s, size_t n)
{
	static const char *const tags[] = {
		"PASSWD",    "NOPASSWD",    "SETENV",     "NOSETENV",     "EXEC", "NOEXEC",
		"LOG_INPUT", "NOLOG_INPUT", "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL",
		"FOLLOW",    "NOFOLLOW",    "INTERCEPT",  "NOINTERCEPT",
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strlen(tags[i]) == n && !strncmp(s, tags[i], n))
			return true;
	return false;
}

/*
 * Judges one rule (continuations joined, comment cut): 0 no NOPASSWD, 1 NOPASSWD on some
 * commands, 2 NOPASSWD on ALL. A tag holds for the commands after it until the next
 * PASSWD/NOPASSWD tag or the next host's "=".
 */
static int sudo_rule(const char *rule)
{
	int verdict = 0;
	bool nopasswd = false;
	const char *p = strchr(rule, '=');

	if (!p)
		return 0;
	for (p++; *p;) {
		p += strspn(p, " \t,");
		if (!*p)
			break;
		if (*p == '(') { /* a Runas list */
			const char *e = strchr(p, ')');
			p = e ? e + 1 : p + strlen(p);
			continue;
		}
		size_t n = strcspn(p, " \t,:=");
		if (p[n] == ':' && is_tag(p, n)) {
			if (n == 8 && !strncmp(p, "NOPASSWD", 8))
				nopasswd = true;
			else if (n == 6 && !strncmp(p, "PASSWD", 6))
				nopasswd = false;
			p += n + 1;
			continue;
		}
		if (p[n] == '=' || p[n] == ':') { /* "cmd : host2 = ...": the tags start over */
			nopasswd = false;
			p += n + 1;
			continue;
		}
		if (nopasswd) {
			if (verdict < 1)
				verdict = 1;
			if (n == 3 && !strncmp(p, "ALL", 3))
				verdict = 2;
		}
		/* a command runs to the next ',' or ':' (its arguments included; "\," "\:" are escaped) */
		while (*p && *p != ',' && *p != ':')
			p += p[0] == '\\' && p[1] ? 2 : 1;
		if (*p == ':') {
			nopasswd = false;
			p++;
		}
	}
	return verdict;
}

static int sudo_file(struct sudo_ctx *c, const char *path, unsigned depth);

static bool want_sudo_name(const char *name, const void *arg)
{
	(void)arg;
	/* sudo skips names holding a '.' or ending in '~' (editor backups, package leftovers) */
	return !strchr(name, '.') && !pib_str_has_suffix(name, "~");
}

static int sudo_include(struct sudo_ctx *c, const char *from, const char *arg, bool dir, unsigned depth)
{
	char *path = NULL, *folder = pib_strdup(from);
	int r = 0;

	if (!folder)
		return -ENOMEM;
	*strrchr(folder, '/') = '\0';
	/* a relative include is taken from the including file's folder (sudo 1.9) */
	path = arg[0] == '/' ? pib_strdup(arg) : pib_asprintf("%s/%s", folder, arg);
	free(folder);
	if (!path)
		return -ENOMEM;
	if (!dir) {
		r = sudo_file(c, path, depth + 1);
	} else {
		char **names = NULL;
		int k = list_dir(c->root, path, want_sudo_name, NULL, &names);
		if (k == -ENOMEM)
			r = k;
		for (size_t i = 0; names && names[i] && r >= 0; i++) {
			char *p = pib_asprintf("%s/%s", path, names[i]);
			r = p ? sudo_file(c, p, depth + 1) : -ENOMEM;
			free(p);
		}
		pib_strv_free(names);
	}
	free(path);
	return r;
}

/* The argument of an include line: a word, or a double-quoted string. */
static char *include_arg(const char *p)
{
	p += strspn(p, " \t");
	if (*p == '"') {
		const char *e = strchr(p + 1, '"');
		return e ? pib_strndup(p + 1, (size_t)(e - p - 1)) : NULL;
	}
	return pib_strndup(p, strcspn(p, " \t"));
}

static int sudo_file(struct sudo_ctx *c, const char *path, unsigned depth)
{
	char *data = NULL, *host = NULL;
	struct pib_buf rule = {0};
	size_t len = 0;
	unsigned lineno = 0, start = 0;
	int r;

	if (depth > MAX_SUDO_DEPTH) {
		char *shown = pib_text_clean(path, false),
		     *why = shown ? pib_asprintf("%s: includes nested more "
						 "than %d deep, not read",
						 shown, MAX_SUDO_DEPTH)
				  : NULL;
		r = why ? add_unread(c->f, path, why) : -ENOMEM;
		free(shown);
		free(why);
		return r;
	}
	if (++c->files > MAX_CONFIG_FILES) {
		char *shown = pib_text_clean(path, false),
		     *why = shown ? pib_asprintf("%s: more files included "
						 "than the checks read (%d), not read",
						 shown, MAX_CONFIG_FILES)
				  : NULL;
		r = why ? add_unread(c->f, path, why) : -ENOMEM;
		free(shown);
		free(why);
		return r;
	}
	r = read_in_root(c->root, path, &data, &len, &host);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (is_absent(r))
			return 0;
		char *why = unread_reason(path, r);
		r = why ? add_unread(c->f, path, why) : -ENOMEM;
		free(why);
		return r;
	}
	for (size_t i = 0; c->stack && c->stack[i]; i++)
		if (!strcmp(c->stack[i], host)) {
			char *shown = pib_text_clean(path, false),
			     *why = shown ? pib_asprintf("%s: include cycle, not read again", shown) : NULL;
			r = why ? add_unread(c->f, path, why) : -ENOMEM;
			free(shown);
			free(why);
			goto out;
		}
	if ((r = pib_strv_push(&c->stack, host)) < 0)
		goto out;
	for (char *pos = data, *ln; r >= 0 && (ln = next_line(&pos, data + len));) {
		lineno++;
		ln[strcspn(ln, "\r")] = '\0';
		const char *t = ln + strspn(ln, " \t");
		if (!rule.len) {
			start = lineno;
			bool at = t[0] == '@';
			if ((at || t[0] == '#') && pib_str_has_prefix(t + 1, "includedir") &&
			    (t[11] == ' ' || t[11] == '\t')) {
				char *arg = include_arg(t + 11);
				r = arg && arg[0] ? sudo_include(c, path, arg, true, depth)
				    : arg         ? 0
						  : -ENOMEM;
				free(arg);
				continue;
			}
			if ((at || t[0] == '#') && pib_str_has_prefix(t + 1, "include") &&
			    (t[8] == ' ' || t[8] == '\t')) {
				char *arg = include_arg(t + 8);
				r = arg && arg[0] ? sudo_include(c, path, arg, false, depth)
				    : arg         ? 0
						  : -ENOMEM;
				free(arg);
				continue;
			}
		}
		/* cut a comment: '#' at a word's start, unless "#123" (a uid) */
		size_t ll = strlen(ln);
		for (size_t i = 0; i < ll; i++)
			if (ln[i] == '#' &&
			    (i == 0 || ln[i - 1] == ' ' || ln[i - 1] == '\t' || ln[i - 1] == ',') &&
			    !isdigit((unsigned char)ln[i + 1])) {
				ll = i;
				break;
			}
		bool cont = ll && ln[ll - 1] == '\\';
		if ((r = pib_buf_append(&rule, ln, cont ? ll - 1 : ll)) < 0)
			break;
		if (cont) {
			if ((r = pib_buf_append(&rule, " ", 1)) < 0)
				break;
			continue;
		}
		const char *s = rule.data + strspn(rule.data, " \t");
		size_t w = strcspn(s, " \t");
		bool skip = !*s || pib_str_has_prefix(s, "Defaults") ||
			    (w > 6 && !strncmp(s + w - 6, "_Alias", 6));
		int v = skip ? 0 : sudo_rule(s);
		if (v) {
			/* cut before cleaning: a cut UTF-8 character then shows as \xNN, never as bad UTF-8
			 */
			bool cut = strlen(s) > RULE_SHOWN;
			char *raw = pib_strndup(s, RULE_SHOWN),
			     *shown = raw ? pib_text_clean(raw, false) : NULL;
			char *spath = pib_text_clean(path, false);
			free(raw);
			if (!shown || !spath) {
				free(shown);
				free(spath);
				r = -ENOMEM;
				break;
			}
			r = policy_add(c->f, v == 2 ? "sudo.nopasswd_all" : "sudo.nopasswd",
				       v == 2 ? POLICY_SEV_HIGH : POLICY_SEV_MEDIUM,
				       v == 2 ? "A sudo rule runs any command as root without a password"
					      : "A sudo rule runs commands without a password",
				       spath, start,
				       "Drop NOPASSWD from the rule, or limit it to the few commands the "
				       "product needs.",
				       "%s:%u: %s%s", spath, start, shown, cut ? "..." : "");
			free(shown);
			free(spath);
		}
		rule.len = 0;
		rule.data[0] = '\0';
	}
	free(c->stack[pib_strv_len(c->stack) - 1]);
	c->stack[pib_strv_len(c->stack) - 1] = NULL;
out:
	pib_buf_free(&rule);
	free(data);
	free(host);
	return r;
}

int policy_check_sudoers(const char *root, struct policy_findings *f)
{
	struct sudo_ctx c = {.root = root, .f = f};
	int r = sudo_file(&c, "/etc/sudoers", 0);

	pib_strv_free(c.stack);
	return r;
}

int policy_check_accounts(const char *root, struct policy_findings *f)
{
	int r;

	if ((r = policy_check_sshd(root, f)) < 0 || (r = policy_check_shadow(root, f)) < 0 ||
	    (r = policy_check_authorized_keys(root, f)) < 0 || (r = policy_check_host_keys(root, f)) < 0 ||
	    (r = policy_check_sudoers(root, f)) < 0)
		return r;
	return 0;
}
