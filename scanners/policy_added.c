/* SPDX-License-Identifier: MIT */
/* Image policy checks of what an install adds: accounts, groups, systemd units, cron jobs (policy_added.h). */
#include "policy_added.h"
#include "policy_accounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_GROUPS 65536
#define MEMBERS_SHOWN 32
#define MAX_LISTEN 64 /* Listen*= values kept of one socket unit */
#define MAX_TIMERS 16 /* On*= values kept of one timer unit */
#define EXEC_SHOWN 256
#define NAME_SHOWN 128 /* bytes of a user's or group's name, home or shell shown */

/* ------------------------------------------------------------------ helpers */

/* Adds a finding marked only_new (policy.h): reported only when the install brought it. */
static int add_new(struct policy_findings *f, const char *id, enum policy_severity sev, const char *title,
		   const char *path, unsigned line, const char *remediation, const char *evidence)
{
	int r = policy_add(f, id, sev, title, path, line, remediation, "%s", evidence);

	if (r == 0)
		f->v[f->n - 1].only_new = true;
	return r;
}

/* policy.unread for a file or folder of path (inside the root), reason from policy_unread_reason. */
static int add_unread(struct policy_findings *f, const char *path, const char *why)
{
	char *shown = pib_text_clean(path, false);
	int r = shown ? policy_add(f, "policy.unread", POLICY_SEV_INFO,
				   "A file the checks of added accounts, units and jobs should read was not read",
				   shown, 0, "Make the file a regular file of a sane size inside the image, or remove it.",
				   "%s", why)
		      : -ENOMEM;

	free(shown);
	return r;
}

static int add_unread_err(struct policy_findings *f, const char *path, int err)
{
	char *why = policy_unread_reason(path, err);
	int r = why ? add_unread(f, path, why) : -ENOMEM;

	free(why);
	return r;
}

static bool is_absent(int r)
{
	return r == -ENOENT || r == -ENOTDIR;
}

/* Reads path of the root; 1 read, 0 absent, or not read (a policy.unread finding); -ENOMEM. */
static int read_or_say(const char *root, const char *path, struct policy_findings *f, char **data, size_t *len)
{
	int r = policy_root_read(root, path, data, len);

	if (r == 0)
		return 1;
	if (r == -ENOMEM)
		return r;
	if (is_absent(r))
		return 0;
	return add_unread_err(f, path, r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in dir (inside root, resolved there; the folder itself opened O_NOFOLLOW), sorted, at
 * most POLICY_ADDED_MAX_DIR: beyond that a policy.unread finding says the rest was not looked at.
 * A folder that is absent or not a folder has none. *ret may be NULL. 0 or -ENOMEM.
 */
static int dir_names(const char *root, const char *dir, struct policy_findings *f, char ***ret)
{
	char *host = NULL, **v = NULL;
	size_t n = 0;
	int r, fd;
	DIR *d;

	*ret = NULL;
	r = pib_path_in_root(root, dir, true, &host);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return add_unread_err(f, dir, r);
	fd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(host);
	if (fd < 0)
		return is_absent(-errno) ? 0 : add_unread_err(f, dir, -errno);
	if (!(d = fdopendir(fd))) {
		r = -errno;
		close(fd);
		return r == -ENOMEM ? r : add_unread_err(f, dir, r);
	}
	r = 0;
	for (struct dirent *e; r == 0 && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n >= POLICY_ADDED_MAX_DIR) {
			char *shown = pib_text_clean(dir, false);
			char *why = shown ? pib_asprintf("%s: more than %d entries, the rest were not looked at",
							 shown, POLICY_ADDED_MAX_DIR)
					  : NULL;
			r = why ? add_unread(f, dir, why) : -ENOMEM;
			free(shown);
			free(why);
			break;
		}
		r = pib_strv_push(&v, e->d_name);
		n++;
	}
	closedir(d);
	if (r < 0) {
		pib_strv_free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return 0;
}

/* lstat of path inside the root without following its last component. */
static int lstat_in_root(const char *root, const char *path, struct stat *st)
{
	char *host = NULL;
	int r = pib_path_in_root(root, path, false, &host);

	if (r < 0)
		return r;
	r = lstat(host, st) < 0 ? -errno : 0;
	free(host);
	return r;
}

/* The words of a line split at blanks, up to max; the rest of the line (blanks skipped) in *rest. */
static size_t split_blank(char *line, char **w, size_t max, char **rest)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		w[n++] = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	p += strspn(p, " \t");
	*rest = p;
	return n;
}

/*
 * The first max bytes of s (cut back to a UTF-8 character's start), cleaned for display, with
 * "..." when cut. NULL when out of memory.
 */
static char *shown_prefix(const char *s, size_t max)
{
	size_t len = strlen(s);
	bool cut = len > max;

	if (cut) {
		len = max;
		while (len && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	char *raw = pib_strndup(s, len), *clean = raw ? pib_text_clean(raw, false) : NULL;
	free(raw);
	if (clean && cut) {
		char *c = pib_asprintf("%s...", clean);
		free(clean);
		clean = c;
	}
	return clean;
}

/* ------------------------------------------------------------------ accounts and groups */

struct group {
	char *name;
	unsigned gid, line;
	char **members;
};

static void groups_free(struct group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		free(g[i].name);
		pib_strv_free(g[i].members);
	}
	free(g);
}

/* /etc/group (name:password:gid:members); a root without one has none. 0 or -ENOMEM. */
static int read_groups(const char *root, struct policy_findings *f, struct group **ret, size_t *ret_n)
{
	char *data = NULL;
	size_t len = 0, n = 0;
	struct group *g = NULL;
	unsigned lineno = 0;
	int r = read_or_say(root, "/etc/group", f, &data, &len);

	*ret = NULL;
	*ret_n = 0;
	if (r <= 0)
		return r;
	r = 0;
	for (char *pos = data, *ln; r == 0 && n < MAX_GROUPS && (ln = policy_next_line(&pos, data + len));) {
		char *fl[4] = {0};
		size_t k = 0;
		lineno++;
		if (ln[0] == '#' || ln[0] == '+' || ln[0] == '-')
			continue;
		fl[k++] = ln;
		for (char *p = ln; *p && k < 4; p++)
			if (*p == ':') {
				*p = '\0';
				fl[k++] = p + 1;
			}
		if (k != 4 || !fl[0][0])
			continue;
		struct group *ng = realloc(g, (n + 1) * sizeof(*g));
		if (!ng) {
			r = -ENOMEM;
			break;
		}
		g = ng;
		g[n] = (struct group){.name = pib_strdup(fl[0]), .gid = (unsigned)strtoul(fl[2], NULL, 10), .line = lineno};
		n++;
		if (!g[n - 1].name)
			r = -ENOMEM;
		for (char *save = NULL, *m = strtok_r(fl[3], ",", &save); r == 0 && m; m = strtok_r(NULL, ",", &save))
			if (*m)
				r = pib_strv_push(&g[n - 1].members, m);
	}
	free(data);
	if (r < 0) {
		groups_free(g, n);
		return r;
	}
	*ret = g;
	*ret_n = n;
	return 0;
}

static bool privileged_group(const struct group *g)
{
	static const char *const names[] = {"root", "sudo", "wheel", "adm", "docker", "disk", "shadow"};

	if (g->gid == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(g->name, names[i]))
			return true;
	return false;
}

static const struct group *group_of(const struct group *g, size_t n, unsigned gid)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].gid == gid)
			return &g[i];
	return NULL;
}

/* ", name" for each of names (cleaned, bounded), up to MEMBERS_SHOWN, then how many more. */
static int append_names(struct pib_buf *b, char *const *names, size_t n)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n && i < MEMBERS_SHOWN; i++) {
		char *c = shown_prefix(names[i], NAME_SHOWN);
		r = c ? pib_buf_printf(b, "%s%s", i ? ", " : "", c) : -ENOMEM;
		free(c);
	}
	if (r >= 0 && n > MEMBERS_SHOWN)
		r = pib_buf_printf(b, " and %zu more", n - MEMBERS_SHOWN);
	return r < 0 ? -ENOMEM : 0;
}

static int account_finding(struct policy_findings *f, const struct policy_user *u, const struct group *g, size_t ng)
{
	const struct group *pg = group_of(g, ng, u->gid);
	char *name = shown_prefix(u->name, NAME_SHOWN), *home = shown_prefix(u->home, NAME_SHOWN),
	     *shell = shown_prefix(u->shell, NAME_SHOWN), *gname = pg ? shown_prefix(pg->name, NAME_SHOWN) : NULL,
	     *ev = NULL;
	bool login = policy_login_shell(u->shell);
	/* uid 0 under another name is a second root (root's own entry is judged as any other) */
	bool second_root = u->uid == 0 && strcmp(u->name, "root");
	enum policy_severity sev = second_root ? POLICY_SEV_HIGH : login ? POLICY_SEV_MEDIUM : POLICY_SEV_INFO;
	int r = -ENOMEM;

	if (!name || !home || !shell || (pg && !gname))
		goto out;
	char pw[96];
	if (u->pw == POLICY_PW_USABLE)
		snprintf(pw, sizeof(pw), "usable (%s hash in %s, not shown)", u->scheme, u->pw_file);
	else
		snprintf(pw, sizeof(pw), "%s (%s)", policy_pw_state_name(u->pw), u->pw_file);
	ev = pib_asprintf("%s: uid %u, gid %u (%s), home %s, shell %s (%s), password %s", name, u->uid, u->gid,
			  gname ? gname : "no such group", home[0] ? home : "(empty)",
			  shell[0] ? shell : "/bin/sh (empty field)", login ? "login shell" : "no login",
			  pw);
	if (!ev)
		goto out;
	r = add_new(f, "account.added", sev,
		    second_root ? "An account with uid 0 (a second root)"
		    : login	? "An account with a login shell"
				: "An account",
		    "/etc/passwd", u->line,
		    second_root ? "Remove the account, or give it a uid of its own (usermod -u) and no login."
		    : login ? "Give a service account no login shell (usermod -s /usr/sbin/nologin NAME) and a locked password."
			    : "Nothing to do when the product needs this account; remove it (userdel NAME) otherwise.",
		    ev);
out:
	free(name);
	free(home);
	free(shell);
	free(gname);
	free(ev);
	return r;
}

static int group_finding(struct policy_findings *f, const struct group *g, const struct policy_user *u, size_t nu)
{
	struct pib_buf b = {0};
	char *name = shown_prefix(g->name, NAME_SHOWN), **primary = NULL;
	bool priv = privileged_group(g);
	size_t nm = pib_strv_len(g->members), np = 0;
	int r = name ? 0 : -ENOMEM;

	/* for a privileged group, the users it is the primary group of belong to it as much */
	for (size_t i = 0; r == 0 && priv && i < nu; i++)
		if (u[i].gid == g->gid && (r = pib_strv_push(&primary, u[i].name)) == 0)
			np++;
	if (r == 0)
		r = pib_buf_printf(&b, "%s (gid %u%s): ", name, g->gid, priv ? ", privileged" : "") < 0 ? -ENOMEM : 0;
	if (r == 0 && nm)
		r = pib_buf_printf(&b, "members ") < 0 ? -ENOMEM : append_names(&b, g->members, nm);
	else if (r == 0)
		r = pib_buf_printf(&b, "no members") < 0 ? -ENOMEM : 0;
	if (r == 0 && np)
		r = pib_buf_printf(&b, "; primary group of ") < 0 ? -ENOMEM : append_names(&b, primary, np);
	if (r == 0) {
		bool members = nm || np;
		r = add_new(f, "group.added", priv && members ? POLICY_SEV_MEDIUM : POLICY_SEV_INFO,
			    priv && members ? "A privileged group with members" : "A group", "/etc/group", g->line,
			    priv && members ? "Take the product's accounts out of privileged groups (gpasswd -d USER GROUP)."
					    : "Nothing to do when the product needs this group.",
			    b.data);
	}
	pib_strv_free(primary);
	pib_buf_free(&b);
	free(name);
	return r;
}

int policy_check_accounts_added(const char *root, struct policy_findings *f)
{
	struct policy_findings scratch = {0};
	struct policy_user *u = NULL;
	struct group *g = NULL;
	size_t nu = 0, ng = 0;
	int r;

	/* passwd's and shadow's unread findings are policy_check_shadow's: not said twice */
	r = policy_users_read(root, &scratch, &u, &nu);
	policy_findings_free(&scratch);
	if (r < 0)
		return r;
	if ((r = read_groups(root, f, &g, &ng)) < 0)
		goto out;
	for (size_t i = 0; r == 0 && i < nu; i++)
		r = account_finding(f, &u[i], g, ng);
	for (size_t i = 0; r == 0 && i < ng; i++)
		r = group_finding(f, &g[i], u, nu);
out:
	policy_users_free(u, nu);
	groups_free(g, ng);
	return r;
}

/* ------------------------------------------------------------------ systemd units */

/* systemd's unit search path as an image has it (no /run), highest priority first. */
static const char *const unit_dirs[] = {"/etc/systemd/system", "/usr/local/lib/systemd/system",
					"/usr/lib/systemd/system", "/lib/systemd/system"};
#define N_UNIT_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

struct listen {
	char *key, *value, *file; /* raw; file inside the root */
	unsigned line;
};

struct unit {
	char *file;  /* inside the root: the fragment, or NULL when none was found */
	bool masked; /* linked to /dev/null or empty */
	char *unread; /* why a file of the unit was not read (shown), or NULL */
	char *exec;   /* the first ExecStart='s program, raw */
	char *user;   /* User=, raw */
	bool dynamic_user;
	struct listen *listen;
	size_t n_listen;
	char **timers; /* "OnCalendar=..." */
	char *timer_unit;
};

static void unit_free(struct unit *u)
{
	free(u->file);
	free(u->unread);
	free(u->exec);
	free(u->user);
	for (size_t i = 0; i < u->n_listen; i++) {
		free(u->listen[i].key);
		free(u->listen[i].value);
		free(u->listen[i].file);
	}
	free(u->listen);
	pib_strv_free(u->timers);
	free(u->timer_unit);
}

static void listen_reset(struct unit *u)
{
	for (size_t i = 0; i < u->n_listen; i++) {
		free(u->listen[i].key);
		free(u->listen[i].value);
		free(u->listen[i].file);
	}
	u->n_listen = 0;
}

static bool is_true(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1");
}

/* The program of an ExecStart= value: its prefixes (@-:+!) skipped, the first word, unquoted. */
static char *exec_program(const char *v)
{
	v += strspn(v, "@-:+!");
	if (*v == '"' || *v == '\'') {
		const char *e = strchr(v + 1, *v);
		size_t n = e ? (size_t)(e - v - 1) : strlen(v + 1);
		return pib_strndup(v + 1, n < EXEC_SHOWN ? n : EXEC_SHOWN);
	}
	size_t n = strcspn(v, " \t");
	return pib_strndup(v, n < EXEC_SHOWN ? n : EXEC_SHOWN);
}

static int replace(char **dst, const char *v)
{
	char *c = v[0] ? pib_strdup(v) : NULL;

	if (v[0] && !c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static const char *const listen_keys[] = {"ListenStream",	"ListenDatagram",     "ListenSequentialPacket",
					  "ListenFIFO",		"ListenSpecial",      "ListenNetlink",
					  "ListenMessageQueue", "ListenUSBFunction"};
static const char *const timer_keys[] = {"OnCalendar",	"OnBootSec",	    "OnStartupSec",	 "OnActiveSec",
					 "OnUnitActiveSec", "OnUnitInactiveSec", "OnClockChange", "OnTimezoneChange"};

static bool in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(k, list[i]))
			return true;
	return false;
}

/* One assignment of section sec. */
static int unit_set(struct unit *u, const char *sec, const char *k, const char *v, const char *file, unsigned line)
{
	if (!strcmp(sec, "Service")) {
		if (!strcmp(k, "ExecStart")) {
			if (!v[0]) {
				free(u->exec); /* an empty assignment resets the list */
				u->exec = NULL;
			} else if (!u->exec && !(u->exec = exec_program(v))) {
				return -ENOMEM;
			}
		} else if (!strcmp(k, "User")) {
			return replace(&u->user, v);
		} else if (!strcmp(k, "DynamicUser")) {
			u->dynamic_user = is_true(v);
		}
	} else if (!strcmp(sec, "Socket") && in_list(k, listen_keys, sizeof(listen_keys) / sizeof(listen_keys[0]))) {
		if (!v[0]) {
			listen_reset(u);
		} else if (u->n_listen < MAX_LISTEN) {
			struct listen *nl = realloc(u->listen, (u->n_listen + 1) * sizeof(*nl));
			if (!nl)
				return -ENOMEM;
			u->listen = nl;
			nl[u->n_listen] = (struct listen){pib_strdup(k), pib_strdup(v), pib_strdup(file), line};
			u->n_listen++;
			if (!nl[u->n_listen - 1].key || !nl[u->n_listen - 1].value || !nl[u->n_listen - 1].file)
				return -ENOMEM;
		}
	} else if (!strcmp(sec, "Timer")) {
		if (!strcmp(k, "Unit"))
			return replace(&u->timer_unit, v);
		if (in_list(k, timer_keys, sizeof(timer_keys) / sizeof(timer_keys[0]))) {
			if (!v[0]) {
				pib_strv_free(u->timers); /* an empty assignment resets every timer */
				u->timers = NULL;
			} else if (pib_strv_len(u->timers) < MAX_TIMERS) {
				char *t = pib_asprintf("%s=%s", k, v);
				int r = t ? pib_strv_push(&u->timers, t) : -ENOMEM;
				free(t);
				return r;
			}
		}
	}
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	s += strspn(s, " \t\r");
	n = strlen(s);
	while (n && strchr(" \t\r", s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* The assignments of one unit file's text (NUL-terminated at data[len]): sections, comments, continuations. */
static int unit_parse(struct unit *u, char *data, size_t len, const char *file)
{
	char sec[64] = "";
	struct pib_buf b = {0};
	unsigned lineno = 0;
	int r = 0;

	for (char *pos = data, *ln; r == 0 && (ln = policy_next_line(&pos, data + len));) {
		unsigned first = ++lineno;
		char *s = trim(ln);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			size_t n = e ? (size_t)(e - s - 1) : 0;
			snprintf(sec, sizeof(sec), "%.*s", (int)(n < sizeof(sec) ? n : 0), s + 1);
			continue;
		}
		/* a line ending in a backslash goes on with the next (comment lines inside are skipped) */
		b.len = 0;
		if (pib_buf_append(&b, s, strlen(s)) < 0) {
			r = -ENOMEM;
			break;
		}
		while (r == 0 && b.len && b.data[b.len - 1] == '\\') {
			b.data[--b.len] = ' ';
			char *next = policy_next_line(&pos, data + len);
			if (!next)
				break;
			lineno++;
			char *t = trim(next);
			if (*t == '#' || *t == ';')
				continue;
			if (pib_buf_append(&b, t, strlen(t)) < 0)
				r = -ENOMEM;
		}
		if (r < 0 || !b.data)
			break;
		char *eq = strchr(b.data, '=');
		if (!eq)
			continue;
		*eq = '\0';
		r = unit_set(u, sec, trim(b.data), trim(eq + 1), file, first);
	}
	pib_buf_free(&b);
	return r;
}

/* Reads and parses one file of a unit; what cannot be read is said in u->unread. 1 read, 0 absent, -ENOMEM. */
static int unit_read(const char *root, const char *path, struct unit *u, bool *empty)
{
	char *data = NULL;
	size_t len = 0;
	int r = policy_root_read(root, path, &data, &len);

	if (r == -ENOMEM)
		return r;
	if (is_absent(r))
		return 0;
	if (r < 0) {
		if (!u->unread && !(u->unread = policy_unread_reason(path, r)))
			return -ENOMEM;
		return 1;
	}
	if (empty)
		*empty = len == 0; /* systemd: a file of size 0 is masked */
	r = unit_parse(u, data, len, path);
	free(data);
	return r < 0 ? r : 1;
}

/* 1 when path (a link inside the root) ends at /dev/null, resolved inside the root; 0, or -ENOMEM. */
static int links_to_dev_null(const char *root, const char *path)
{
	char *host = NULL, *null = NULL;
	int r = pib_path_in_root(root, path, true, &host);

	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = pib_path_in_root(root, "/dev/null", false, &null);
	if (r == 0)
		r = !strcmp(host, null);
	free(host);
	free(null);
	return r == -ENOMEM ? r : r > 0;
}

/* The unit's file by name in the search path (a link to /dev/null or a file of size 0: masked). */
static int unit_fragment(const char *root, const char *name, struct unit *u)
{
	for (size_t i = 0; i < N_UNIT_DIRS; i++) {
		char *p = pib_asprintf("%s/%s", unit_dirs[i], name), *host = NULL;
		struct stat st;
		int r;
		if (!p)
			return -ENOMEM;
		if ((r = pib_path_in_root(root, p, false, &host)) < 0 || lstat(host, &st) < 0) {
			free(host);
			free(p);
			if (r == -ENOMEM)
				return r;
			continue;
		}
		free(host);
		if (S_ISLNK(st.st_mode) && (r = links_to_dev_null(root, p)) != 0) {
			if (r < 0) {
				free(p);
				return r;
			}
			u->file = p;
			u->masked = true;
			return 1;
		}
		bool empty = false;
		r = unit_read(root, p, u, &empty);
		if (r <= 0) {
			free(p);
			if (r < 0)
				return r;
			continue; /* a dangling link: systemd goes on too */
		}
		u->file = p;
		u->masked = empty && !u->unread;
		return 1;
	}
	return 0;
}

struct dropin {
	char *name, *path;
};

static int cmp_dropin(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name, ((const struct dropin *)b)->name);
}

/* NAME.d/ *.conf of the unit (and of its template) in each folder of the path: the first of a name wins. */
static int unit_dropins(const char *root, const char *const names[2], struct unit *u, struct policy_findings *f)
{
	struct dropin *v = NULL;
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < N_UNIT_DIRS; i++)
		for (size_t k = 0; r == 0 && k < 2 && names[k]; k++) {
			char *dir = pib_asprintf("%s/%s.d", unit_dirs[i], names[k]), **ents = NULL;
			r = dir ? dir_names(root, dir, f, &ents) : -ENOMEM;
			if (r < 0) {
				free(dir);
				break;
			}
			for (size_t j = 0; r == 0 && ents && ents[j]; j++) {
				bool dup = false;
				if (!pib_str_has_suffix(ents[j], ".conf") || ents[j][0] == '.')
					continue;
				for (size_t m = 0; m < n && !dup; m++)
					dup = !strcmp(v[m].name, ents[j]);
				if (dup || n >= POLICY_ADDED_MAX_DIR)
					continue;
				struct dropin *nv = realloc(v, (n + 1) * sizeof(*v));
				if (!nv) {
					r = -ENOMEM;
					break;
				}
				v = nv;
				v[n] = (struct dropin){pib_strdup(ents[j]), pib_asprintf("%s/%s", dir, ents[j])};
				n++;
				if (!v[n - 1].name || !v[n - 1].path)
					r = -ENOMEM;
			}
			pib_strv_free(ents);
			free(dir);
		}
	if (r == 0 && n)
		qsort(v, n, sizeof(*v), cmp_dropin);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = unit_read(root, v[i].path, u, NULL) < 0 ? -ENOMEM : 0;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
	return r;
}

/* "a@b.service" -> "a@.service"; NULL when name is no instance (or out of memory: *oom set). */
static char *template_of(const char *name, bool *nomem)
{
	const char *at = strchr(name, '@'), *dot = strrchr(name, '.');

	*nomem = false;
	if (!at || !dot || dot < at || dot == at + 1)
		return NULL;
	char *t = pib_asprintf("%.*s%s", (int)(at - name + 1), name, dot);
	*nomem = !t;
	return t;
}

static int unit_load(const char *root, const char *name, struct unit *u, struct policy_findings *f)
{
	bool nomem;
	char *tmpl = template_of(name, &nomem);
	int r;

	if (nomem)
		return -ENOMEM;
	r = unit_fragment(root, name, u);
	if (r == 0 && tmpl)
		r = unit_fragment(root, tmpl, u);
	if (r > 0 && !u->masked) {
		const char *names[2] = {name, tmpl};
		r = unit_dropins(root, names, u, f);
	}
	free(tmpl);
	return r < 0 ? r : 0;
}

static const char *const unit_types[] = {".service", ".socket",	   ".timer", ".target", ".path",  ".mount",
					 ".automount", ".swap", ".slice", ".scope", ".device"};

static bool is_unit_name(const char *name)
{
	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(unit_types) / sizeof(unit_types[0]); i++)
		if (pib_str_has_suffix(name, unit_types[i]) && strlen(name) > strlen(unit_types[i]))
			return true;
	return false;
}

/* How an address of a Listen*= line is judged: its severity and a few words for people. */
static enum policy_severity listen_judge(const char *key, const char *v, char *what, size_t size)
{
	bool stream = !strcmp(key, "ListenStream"), dgram = !strcmp(key, "ListenDatagram"),
	     seq = !strcmp(key, "ListenSequentialPacket");

	if (!stream && !dgram && !seq) {
		snprintf(what, size, "not a network port");
		return POLICY_SEV_INFO;
	}
	if (v[0] == '/' || v[0] == '@') {
		snprintf(what, size, "%sunix socket", v[0] == '@' ? "abstract " : "");
		return POLICY_SEV_INFO;
	}
	if (!strncmp(v, "vsock:", 6)) {
		snprintf(what, size, "vsock, to the host only");
		return POLICY_SEV_INFO;
	}
	const char *proto = dgram ? "udp" : seq ? "sctp" : "tcp";
	char addr[80] = "";
	const char *port = v;
	if (pib_str_all_in(v, "0123456789")) {
		snprintf(what, size, "%s port %s on all addresses", proto, v);
		return POLICY_SEV_MEDIUM;
	}
	if (v[0] == '[') {
		const char *e = strchr(v, ']');
		if (e && e[1] == ':') {
			snprintf(addr, sizeof(addr), "%.*s", (int)(e - v - 1), v + 1);
			port = e + 2;
		}
	} else {
		const char *c = strrchr(v, ':');
		if (c && c == strchr(v, ':')) {
			snprintf(addr, sizeof(addr), "%.*s", (int)(c - v), v);
			port = c + 1;
		}
	}
	addr[strcspn(addr, "%")] = '\0'; /* an interface suffix */
	if (!addr[0] || !pib_str_all_in(port, "0123456789") || !port[0]) {
		snprintf(what, size, "%s, an address systemd reads", proto);
		return POLICY_SEV_MEDIUM;
	}
	bool loop = !strncmp(addr, "127.", 4) || !strcmp(addr, "::1") || !strcasecmp(addr, "localhost");
	bool any = !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::") || !strcmp(addr, "*");
	snprintf(what, size, "%s port %.8s on %s", proto, port,
		 loop ? "loopback only" : any ? "all addresses" : "one address");
	return loop ? POLICY_SEV_LOW : POLICY_SEV_MEDIUM;
}

static int listen_findings(struct policy_findings *f, const char *uname, const struct unit *u)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < u->n_listen; i++) {
		const struct listen *l = &u->listen[i];
		char what[160];
		enum policy_severity sev = listen_judge(l->key, l->value, what, sizeof(what));
		char *val = shown_prefix(l->value, 200), *file = pib_text_clean(l->file, false), *ev = NULL;
		if (val && file)
			ev = pib_asprintf("%s: %s=%s (%s)", uname, l->key, val, what);
		r = ev ? add_new(f, "systemd.listen", sev,
				 sev >= POLICY_SEV_MEDIUM ? "An enabled socket unit listens on a network port"
				 : sev == POLICY_SEV_LOW  ? "An enabled socket unit listens on loopback"
							  : "An enabled socket unit listens on a local socket",
				 file, l->line,
				 "Listen only where the product needs to (an address of its own, or loopback), and say so to the customer.",
				 ev)
		       : -ENOMEM;
		free(val);
		free(file);
		free(ev);
	}
	return r;
}

/* The evidence of one enabled unit. */
static int unit_evidence(struct pib_buf *b, const char *uname, const char *target, bool requires,
			 const struct unit *u)
{
	char *file = u->file ? pib_text_clean(u->file, false) : NULL, *tgt = pib_text_clean(target, false);
	int r = tgt && (!u->file || file) ? 0 : -ENOMEM;

	if (r == 0)
		r = pib_buf_printf(b, "%s %s by %s", uname, requires ? "required" : "wanted", tgt);
	if (r >= 0 && u->masked)
		r = pib_buf_printf(b, "; masked (%s): never started", file);
	else if (r >= 0 && !u->file)
		r = pib_buf_printf(b, "; no unit file in /etc/systemd/system, /usr/local/lib/systemd/system, "
				      "/usr/lib/systemd/system or /lib/systemd/system");
	else if (r >= 0)
		r = pib_buf_printf(b, "; file %s", file);
	if (r >= 0 && u->unread)
		r = pib_buf_printf(b, "; %s", u->unread);
	if (r >= 0 && u->file && !u->masked && pib_str_has_suffix(uname, ".service")) {
		char *exec = u->exec ? pib_text_clean(u->exec, false) : NULL,
		     *user = u->user ? pib_text_clean(u->user, false) : NULL;
		if ((u->exec && !exec) || (u->user && !user))
			r = -ENOMEM;
		else if (u->dynamic_user)
			r = pib_buf_printf(b, "; ExecStart=%s; DynamicUser=yes", exec ? exec : "(none)");
		else if (user)
			r = pib_buf_printf(b, "; ExecStart=%s; User=%s", exec ? exec : "(none)", user);
		else
			r = pib_buf_printf(b, "; ExecStart=%s; no User= (runs as root)", exec ? exec : "(none)");
		free(exec);
		free(user);
	}
	if (r >= 0 && u->file && !u->masked && pib_str_has_suffix(uname, ".timer")) {
		r = pib_buf_printf(b, "; ");
		for (size_t i = 0; r >= 0 && u->timers && u->timers[i]; i++) {
			char *t = shown_prefix(u->timers[i], 120);
			r = t ? pib_buf_printf(b, "%s%s", i ? ", " : "", t) : -ENOMEM;
			free(t);
		}
		if (r >= 0 && !u->timers)
			r = pib_buf_printf(b, "no schedule");
		if (r >= 0) {
			char *run = u->timer_unit ? pib_text_clean(u->timer_unit, false) : NULL;
			size_t base = strlen(uname) - strlen(".timer");
			if (u->timer_unit && !run)
				r = -ENOMEM;
			else if (run)
				r = pib_buf_printf(b, "; runs %s", run);
			else
				r = pib_buf_printf(b, "; runs %.*s.service", (int)base, uname);
			free(run);
		}
	}
	if (r >= 0 && u->file && !u->masked && pib_str_has_suffix(uname, ".socket")) {
		r = pib_buf_printf(b, "; listens on ");
		for (size_t i = 0; r >= 0 && i < u->n_listen && i < 8; i++) {
			char *v = shown_prefix(u->listen[i].value, 120);
			r = v ? pib_buf_printf(b, "%s%s", i ? ", " : "", v) : -ENOMEM;
			free(v);
		}
		if (r >= 0 && u->n_listen > 8)
			r = pib_buf_printf(b, " and %zu more", u->n_listen - 8);
		else if (r >= 0 && !u->n_listen)
			r = pib_buf_printf(b, "nothing");
	}
	free(file);
	free(tgt);
	return r < 0 ? -ENOMEM : 0;
}

static bool runs_as_root(const struct unit *u)
{
	return !u->dynamic_user && (!u->user || !strcmp(u->user, "root") || !strcmp(u->user, "0"));
}

/* One link of a wants/requires folder: the unit it enables. sockets: names of sockets already judged. */
static int enabled_unit(const char *root, const char *link, const char *name, const char *target, bool requires,
			char ***sockets, struct policy_findings *f)
{
	struct unit u = {0};
	struct pib_buf b = {0};
	char *uname = pib_text_clean(name, false), *shown_link = pib_text_clean(link, false);
	int r = uname && shown_link ? unit_load(root, name, &u, f) : -ENOMEM;

	if (r == 0)
		r = unit_evidence(&b, uname, target, requires, &u);
	if (r == 0) {
		bool service = pib_str_has_suffix(name, ".service");
		bool root_service = service && u.file && !u.masked && u.exec && runs_as_root(&u);
		enum policy_severity sev = u.masked ? POLICY_SEV_INFO : root_service ? POLICY_SEV_MEDIUM : POLICY_SEV_LOW;
		r = add_new(f, "systemd.unit_enabled", sev,
			    root_service ? "An enabled service runs as root" : "An enabled systemd unit", shown_link, 0,
			    root_service ? "Run the service as a user of its own (User=, or DynamicUser=yes) unless it needs root."
					 : "Nothing to do when the product needs the unit started; disable it (systemctl disable) otherwise.",
			    b.data);
	}
	/* a socket enabled by several links is judged once */
	if (r == 0 && pib_str_has_suffix(name, ".socket") && !u.masked) {
		bool seen = false;
		for (size_t i = 0; *sockets && (*sockets)[i] && !seen; i++)
			seen = !strcmp((*sockets)[i], name);
		if (!seen && (r = pib_strv_push(sockets, name)) == 0)
			r = listen_findings(f, uname, &u);
	}
	pib_buf_free(&b);
	unit_free(&u);
	free(uname);
	free(shown_link);
	return r;
}

/* One *.wants or *.requires folder: each unit name in it. */
static int wants_dir(const char *root, const char *dir, const char *target, bool requires, char ***sockets,
		     struct policy_findings *f)
{
	char **names = NULL;
	int r = dir_names(root, dir, f, &names);

	for (size_t i = 0; r == 0 && names && names[i]; i++) {
		if (!is_unit_name(names[i]))
			continue;
		char *link = pib_asprintf("%s/%s", dir, names[i]);
		r = link ? enabled_unit(root, link, names[i], target, requires, sockets, f) : -ENOMEM;
		free(link);
	}
	pib_strv_free(names);
	return r;
}

int policy_check_systemd_added(const char *root, struct policy_findings *f)
{
	char **seen_dirs = NULL, **sockets = NULL;
	int r = 0;

	for (size_t i = 0; r == 0 && i < N_UNIT_DIRS; i++) {
		char *host = NULL, **names = NULL;
		/* /lib is /usr/lib in a merged-/usr root: each folder once */
		if ((r = pib_path_in_root(root, unit_dirs[i], true, &host)) < 0) {
			r = r == -ENOMEM ? r : add_unread_err(f, unit_dirs[i], r);
			continue;
		}
		bool seen = false;
		for (size_t k = 0; seen_dirs && seen_dirs[k] && !seen; k++)
			seen = !strcmp(seen_dirs[k], host);
		r = seen ? 0 : pib_strv_push(&seen_dirs, host);
		free(host);
		if (r < 0 || seen || (r = dir_names(root, unit_dirs[i], f, &names)) < 0)
			continue;
		for (size_t k = 0; r == 0 && names && names[k]; k++) {
			bool req = pib_str_has_suffix(names[k], ".requires");
			if (!req && !pib_str_has_suffix(names[k], ".wants"))
				continue;
			char *dir = pib_asprintf("%s/%s", unit_dirs[i], names[k]);
			char *target = pib_strndup(names[k], strlen(names[k]) - (req ? 9 : 6));
			struct stat st;
			if (!dir || !target)
				r = -ENOMEM;
			else if (lstat_in_root(root, dir, &st) == 0 && S_ISDIR(st.st_mode) && target[0])
				r = wants_dir(root, dir, target, req, &sockets, f);
			free(dir);
			free(target);
		}
		pib_strv_free(names);
	}
	pib_strv_free(seen_dirs);
	pib_strv_free(sockets);
	return r < 0 ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------ cron */

/* A name cron and run-parts would skip: hidden, a backup, a package manager's leftover. */
static bool cron_skips(const char *name)
{
	static const char *const leftovers[] = {"~", ".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-tmp",
						".ucf-old", ".ucf-dist", ".ucf-new", ".rpmsave", ".rpmnew",
						".rpmorig", ".swp"};

	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		if (pib_str_has_suffix(name, leftovers[i]))
			return true;
	return false;
}

/* "NAME=value" or "NAME = value": an environment line of a crontab. */
static bool cron_env_line(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_\"'");
	if (!n)
		return false;
	s += n;
	s += strspn(s, " \t");
	return *s == '=';
}

static int cron_job(struct policy_findings *f, const char *path, unsigned line, const char *sched,
		    const char *user, const char *cmd)
{
	char *p = pib_text_clean(path, false), *s = shown_prefix(sched, 120), *u = shown_prefix(user, 64),
	     *c = shown_prefix(cmd, POLICY_ADDED_CMD_SHOWN), *ev = NULL;
	bool root = !strcmp(user, "root");
	int r = -ENOMEM;

	if (p && s && u && c && (ev = pib_asprintf("%s as %s: %s", s, u, c)))
		r = add_new(f, "cron.job_added", root ? POLICY_SEV_MEDIUM : POLICY_SEV_LOW,
			    root ? "A cron job runs as root" : "A cron job", p, line,
			    root ? "Run the job as a user of its own, or as a systemd timer with User=, unless it needs root."
				 : "Nothing to do when the product needs the job; remove it otherwise.",
			    ev);
	free(p);
	free(s);
	free(u);
	free(c);
	free(ev);
	return r;
}

/* One crontab: system ones (/etc/crontab, /etc/cron.d) have a user field, a user's (user given) none. */
static int cron_file(const char *root, const char *path, const char *user, struct policy_findings *f)
{
	char *data = NULL;
	size_t len = 0;
	unsigned lineno = 0;
	int r = read_or_say(root, path, f, &data, &len);

	if (r <= 0)
		return r;
	r = 0;
	for (char *pos = data, *ln; r == 0 && (ln = policy_next_line(&pos, data + len));) {
		char *w[6], *rest, sched[256];
		size_t nf, ns;
		lineno++;
		ln += strspn(ln, " \t");
		if (!*ln || *ln == '#' || cron_env_line(ln))
			continue;
		ns = ln[0] == '@' ? 1 : 5;
		nf = split_blank(ln, w, ns + (user ? 0 : 1), &rest);
		if (nf != ns + (user ? 0 : 1) || !*rest)
			continue; /* not a job cron would run */
		if (ns == 1)
			snprintf(sched, sizeof(sched), "%s", w[0]);
		else
			snprintf(sched, sizeof(sched), "%s %s %s %s %s", w[0], w[1], w[2], w[3], w[4]);
		r = cron_job(f, path, lineno, sched, user ? user : w[ns], rest);
	}
	free(data);
	return r;
}

/* Each crontab in dir; user_is_name: a user's crontab named after the user (spool folders). */
static int cron_dir(const char *root, const char *dir, bool user_is_name, struct policy_findings *f)
{
	char **names = NULL;
	int r = dir_names(root, dir, f, &names);

	for (size_t i = 0; r == 0 && names && names[i]; i++) {
		char *p = pib_asprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (!p)
			r = -ENOMEM;
		/* a link is read where it leads inside the root (cron_file: a regular file only) */
		else if (!cron_skips(names[i]) && lstat_in_root(root, p, &st) == 0 &&
			 (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			r = cron_file(root, p, user_is_name ? names[i] : NULL, f);
		free(p);
	}
	pib_strv_free(names);
	return r;
}

/* The executables run-parts runs from /etc/cron.PERIOD/, as root. */
static int cron_periodic(const char *root, const char *period, struct policy_findings *f)
{
	char *dir = pib_asprintf("/etc/cron.%s", period), **names = NULL;
	int r = dir ? dir_names(root, dir, f, &names) : -ENOMEM;

	for (size_t i = 0; r == 0 && names && names[i]; i++) {
		char *p = pib_asprintf("%s/%s", dir, names[i]), *host = NULL, *data = NULL, *shown = NULL, *ev = NULL;
		struct stat st;
		size_t len = 0;
		char hex[65] = "";
		if (!p) {
			r = -ENOMEM;
			break;
		}
		if (cron_skips(names[i]) || pib_path_in_root(root, p, true, &host) < 0 || lstat(host, &st) < 0 ||
		    !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			goto next; /* run-parts runs executable files only */
		int k = policy_root_read(root, p, &data, &len);
		if (k == -ENOMEM) {
			r = k;
			goto next;
		}
		if (k == 0)
			pib_sha256_hex(data, len, hex);
		if (!(shown = pib_text_clean(p, false)) ||
		    !(ev = pib_asprintf("%s: run %s as root by run-parts (mode %04o, %s%s)", shown, period,
					(unsigned)(st.st_mode & 07777), hex[0] ? "sha256 " : "not read: too large or not readable",
					hex))) {
			r = -ENOMEM;
			goto next;
		}
		r = add_new(f, "cron.job_added", POLICY_SEV_MEDIUM, "A cron job runs as root", shown, 0,
			    "Run the job as a user of its own, or as a systemd timer with User=, unless it needs root.",
			    ev);
	next:
		free(p);
		free(host);
		free(data);
		free(shown);
		free(ev);
	}
	pib_strv_free(names);
	free(dir);
	return r;
}

int policy_check_cron_added(const char *root, struct policy_findings *f)
{
	static const char *const periods[] = {"hourly", "daily", "weekly", "monthly"};
	struct stat st;
	int r = cron_file(root, "/etc/crontab", NULL, f);

	if (r == 0)
		r = cron_dir(root, "/etc/cron.d", false, f);
	for (size_t i = 0; r == 0 && i < sizeof(periods) / sizeof(periods[0]); i++)
		r = cron_periodic(root, periods[i], f);
	/* Debian's spool, and the rpm family's (files straight in /var/spool/cron) */
	if (r == 0)
		r = cron_dir(root, "/var/spool/cron/crontabs", true, f);
	if (r == 0 && lstat_in_root(root, "/var/spool/cron", &st) == 0 && S_ISDIR(st.st_mode))
		r = cron_dir(root, "/var/spool/cron", true, f);
	return r < 0 ? -ENOMEM : 0;
}

int policy_check_added(const char *root, struct policy_findings *f)
{
	int r;

	if ((r = policy_check_accounts_added(root, f)) < 0 || (r = policy_check_systemd_added(root, f)) < 0 ||
	    (r = policy_check_cron_added(root, f)) < 0)
		return r;
	return 0;
}
