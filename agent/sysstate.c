/* SPDX-License-Identifier: MIT */
/* Mounts and processes of the running system before and after an install: what the install left behind. */
#include "sysstate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MOUNTINFO (64u << 20)
#define MAX_CMDLINE 4096
#define PF_KTHREAD 0x00200000u

/* ---------------------------------------------------------------- mounts */

struct sys_mount {
	unsigned long id;
	char *mount_point, *fstype, *source;
};

struct sys_mounts {
	struct sys_mount *v;
	size_t n;
};

/* mountinfo writes space, tab, newline and backslash as \ooo: undone in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* One line: "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS". */
static int parse_line(char *line, struct sys_mount *m)
{
	char *save = NULL, *f[6];
	size_t n = 0;

	char *t = strtok_r(line, " ", &save);
	while (t && n < 6) {
		f[n++] = t;
		t = strtok_r(NULL, " ", &save);
	}
	if (n < 6)
		return -EINVAL;
	while (t && strcmp(t, "-")) /* the optional fields, up to "-" */
		t = strtok_r(NULL, " ", &save);
	char *fstype = t ? strtok_r(NULL, " ", &save) : NULL, *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
	if (!fstype)
		return -EINVAL;
	unescape(f[4]);
	unescape(fstype);
	if (source)
		unescape(source);
	m->id = strtoul(f[0], NULL, 10);
	m->mount_point = strdup(f[4]);
	m->fstype = strdup(fstype);
	m->source = strdup(source ? source : "");
	if (!m->mount_point || !m->fstype || !m->source)
		return -ENOMEM;
	return 0;
}

int sysstate_mounts(struct sys_mounts **ret)
{
	struct sys_mounts *m = calloc(1, sizeof(*m));
	char *data = NULL, *save = NULL;
	size_t len = 0;
	int r;

	if (!m)
		return -ENOMEM;
	if ((r = pib_read_file("/proc/self/mountinfo", MAX_MOUNTINFO, &data, &len)) < 0) {
		free(m);
		return r;
	}
	for (char *l = strtok_r(data, "\n", &save); l && r == 0; l = strtok_r(NULL, "\n", &save)) {
		struct sys_mount *v = realloc(m->v, (m->n + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			break;
		}
		m->v = v;
		memset(&v[m->n], 0, sizeof(*v));
		int pr = parse_line(l, &v[m->n]);
		m->n++;
		if (pr == -ENOMEM)
			r = pr;
	}
	free(data);
	if (r < 0) {
		sysstate_mounts_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void sysstate_mounts_free(struct sys_mounts *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].mount_point);
		free(m->v[i].fstype);
		free(m->v[i].source);
	}
	free(m->v);
	free(m);
}

/* The path inside root of the host path p, or NULL when p is not root or under it. */
static const char *inside(const char *rootreal, const char *p)
{
	size_t n = strlen(rootreal);

	if (!strcmp(rootreal, "/"))
		return p;
	if (strncmp(p, rootreal, n) || (p[n] && p[n] != '/'))
		return NULL;
	return p[n] ? p + n : "/";
}

int sysstate_mounts_added(const struct sys_mounts *before, const struct sys_mounts *after, const char *root,
			  cJSON **ret_json, char ***ret_paths)
{
	char *rootreal = realpath(root, NULL);
	cJSON *arr = cJSON_CreateArray();
	char **paths = calloc(1, sizeof(*paths));
	int r = 0;

	if (!rootreal)
		rootreal = strdup(root);
	if (!rootreal || !arr || !paths) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < after->n && r == 0; i++) {
		const struct sys_mount *a = &after->v[i];
		bool old = false;
		for (size_t k = 0; k < before->n && !old; k++)
			old = before->v[k].id == a->id;
		const char *in = a->mount_point ? inside(rootreal, a->mount_point) : NULL;
		if (old || !in)
			continue;
		cJSON *o = cJSON_CreateObject();
		char *mp = pib_text_clean(in, false), *src = pib_text_clean(a->source, false),
		     *fs = pib_text_clean(a->fstype, false);
		if (!o || !mp || !src || !fs || !cJSON_AddStringToObject(o, "mount_point", mp) ||
		    !cJSON_AddStringToObject(o, "fstype", fs) || !cJSON_AddStringToObject(o, "source", src))
			r = -ENOMEM;
		free(mp);
		free(src);
		free(fs);
		if (o)
			cJSON_AddItemToArray(arr, o);
		bool dup = false;
		for (size_t k = 0; paths[k] && !dup; k++)
			dup = !strcmp(paths[k], in);
		if (r == 0 && !dup)
			r = pib_strv_push(&paths, in);
	}
out:
	free(rootreal);
	if (r < 0) {
		cJSON_Delete(arr);
		pib_strv_free(paths);
		return r;
	}
	*ret_json = arr;
	*ret_paths = paths;
	return 0;
}

/* ---------------------------------------------------------------- processes */

struct sys_proc {
	int pid;
	unsigned long long start;
};

struct sys_procs {
	struct sys_proc *v;
	size_t n;
};

/* Reads /proc/PID/stat: the state, the flags and the start time (clock ticks after boot). */
static int proc_stat(int pid, char *state, unsigned *flags, unsigned long long *start)
{
	char path[64], *data = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((r = pib_read_file(path, 4096, &data, &len)) < 0)
		return r;
	char *p = strrchr(data, ')'); /* the command name, in parentheses, may hold anything */
	/* after ")": state(3) ppid pgrp session tty_nr tpgid flags(9) ... starttime(22) */
	unsigned long long v[20] = {0};
	char st = 0;
	r = -EINVAL;
	if (p && sscanf(p + 1, " %c", &st) == 1) {
		char *s = p + 3;
		size_t k = 0;
		while (k < 19 && *s) {
			char *end;
			v[k++] = strtoull(s, &end, 10);
			if (end == s)
				break;
			s = end;
		}
		if (k == 19) {
			*state = st;
			*flags = (unsigned)v[5];
			*start = v[18];
			r = 0;
		}
	}
	free(data);
	return r;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct sys_proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* The pids under /proc, each with its start time; processes that end meanwhile are left out. */
static int list_procs(struct sys_procs *p)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		char state;
		unsigned flags;
		unsigned long long start;
		if (*end || pid <= 0 || pid > INT_MAX || proc_stat((int)pid, &state, &flags, &start) < 0)
			continue;
		struct sys_proc *v = realloc(p->v, (p->n + 1) * sizeof(*v));
		if (!v) {
			closedir(d);
			return -ENOMEM;
		}
		p->v = v;
		v[p->n++] = (struct sys_proc){.pid = (int)pid, .start = start};
	}
	closedir(d);
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), cmp_proc);
	return 0;
}

int sysstate_procs(struct sys_procs **ret)
{
	struct sys_procs *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	if ((r = list_procs(p)) < 0) {
		sysstate_procs_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void sysstate_procs_free(struct sys_procs *p)
{
	if (!p)
		return;
	free(p->v);
	free(p);
}

/* The command line with its NULs as spaces, escaped. */
static char *cmdline(int pid)
{
	char path[64], buf[MAX_CMDLINE + 1];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return strdup("");
	n = read(fd, buf, MAX_CMDLINE);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return pib_text_clean(buf, false);
}

/* Fills "package" for each object whose "exe" a dpkg file list of the root names (also as /X for /usr/X). */
static void find_packages(cJSON *arr, const char *root)
{
	char *info = NULL;
	DIR *d;
	struct dirent *de;

	if (pib_path_in_root(root, "/var/lib/dpkg/info", true, &info) < 0 || !(d = opendir(info))) {
		free(info);
		return;
	}
	while ((de = readdir(d))) {
		if (!pib_str_has_suffix(de->d_name, ".list"))
			continue;
		char *p = pib_asprintf("%s/%s", info, de->d_name), *data = NULL, *save = NULL;
		size_t len = 0;
		if (!p || pib_read_file(p, 64u << 20, &data, &len) < 0) {
			free(p);
			continue;
		}
		free(p);
		for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			cJSON *o;
			cJSON_ArrayForEach(o, arr)
			{
				const char *exe = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "exe"));
				if (!exe || !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "package")))
					continue;
				if (strcmp(l, exe) && !(pib_str_has_prefix(exe, "/usr/") && !strcmp(l, exe + 4)))
					continue;
				char *name = pib_strndup(de->d_name, strlen(de->d_name) - 5);
				if (name)
					cJSON_ReplaceItemInObjectCaseSensitive(o, "package", cJSON_CreateString(name));
				free(name);
			}
		}
		free(data);
	}
	closedir(d);
	free(info);
}

cJSON *sysstate_procs_left(const struct sys_procs *before, const char *root)
{
	struct sys_procs now = {0};
	cJSON *arr = cJSON_CreateArray();
	char *rootreal = realpath(root, NULL);
	struct stat rst;
	bool any_exe = false;
	bool all = !rootreal || !strcmp(rootreal, "/");

	if (!arr || list_procs(&now) < 0 || (!all && stat(rootreal, &rst) < 0)) {
		cJSON_Delete(arr);
		free(now.v);
		free(rootreal);
		return NULL;
	}
	for (size_t i = 0; i < now.n; i++) {
		struct sys_proc key = now.v[i];
		const struct sys_proc *old = bsearch(&key, before->v, before->n, sizeof(key), cmp_proc);
		char state, path[64], exe[PATH_MAX];
		unsigned flags;
		unsigned long long start;
		struct stat st;
		if ((old && old->start == key.start) || key.pid == getpid())
			continue;
		if (proc_stat(key.pid, &state, &flags, &start) < 0 || start != key.start || (flags & PF_KTHREAD) ||
		    state == 'Z' || state == 'X')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root", key.pid);
		if (!all && (stat(path, &st) < 0 || st.st_dev != rst.st_dev || st.st_ino != rst.st_ino))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", key.pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		const char *in = NULL;
		if (n > 0) {
			exe[n] = '\0';
			in = all ? exe : inside(rootreal, exe);
			if (!in)
				in = exe;
		}
		cJSON *o = cJSON_CreateObject();
		char *ex = in ? pib_text_clean(in, false) : NULL, *cl = cmdline(key.pid);
		cJSON_AddNumberToObject(o, "pid", key.pid);
		cJSON_AddItemToObject(o, "exe", ex ? cJSON_CreateString(ex) : cJSON_CreateNull());
		cJSON_AddNullToObject(o, "package");
		cJSON_AddStringToObject(o, "cmdline", cl ? cl : "");
		cJSON_AddItemToArray(arr, o);
		any_exe |= ex != NULL;
		free(ex);
		free(cl);
	}
	free(now.v);
	if (any_exe)
		find_packages(arr, all ? "/" : rootreal);
	free(rootreal);
	return arr;
}
