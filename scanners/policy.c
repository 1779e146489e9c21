/* SPDX-License-Identifier: MIT */
/* Image policy findings: the list every check adds to (policy.h). */
#include "policy.h"
#include "policy_accounts.h"
#include "policy_added.h"
#include "oseol.h"
#include "osinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *policy_severity_name(enum policy_severity s)
{
	return (unsigned)s < sizeof(sev_names) / sizeof(sev_names[0]) ? sev_names[s] : "unknown";
}

int policy_severity_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(sev_names) / sizeof(sev_names[0]); i++)
		if (strcmp(name, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

static void finding_free(struct policy_finding *p)
{
	free(p->id);
	free(p->title);
	free(p->path);
	free(p->evidence);
	free(p->remediation);
}

int policy_add(struct policy_findings *f, const char *id, enum policy_severity sev, const char *title,
	       const char *path, unsigned line, const char *remediation, const char *evidence_fmt, ...)
{
	struct policy_finding p = {.severity = sev, .line = line};
	va_list ap;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct policy_finding *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	va_start(ap, evidence_fmt);
	p.evidence = pib_vasprintf(evidence_fmt, ap);
	va_end(ap);
	p.id = pib_strdup(id);
	p.title = pib_strdup(title);
	p.path = path ? pib_strdup(path) : NULL;
	p.remediation = remediation ? pib_strdup(remediation) : NULL;
	if (!p.evidence || !p.id || !p.title || (path && !p.path) || (remediation && !p.remediation)) {
		finding_free(&p);
		return -ENOMEM;
	}
	f->v[f->n++] = p;
	return 0;
}

void policy_findings_free(struct policy_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_free(&f->v[i]);
	free(f->v);
	*f = (struct policy_findings){0};
}

char *policy_finding_key(const struct policy_finding *p)
{
	return pib_asprintf("%s\x1f%s\x1f%s", p->id, p->path ? p->path : "", p->evidence ? p->evidence : "");
}

#define CLOUD_MAX_INSTANCES 1000

/* The user-data files one instance folder holds (fd open on it; closed here). */
static int cloud_instance(int fd, const char *id, struct policy_findings *f, struct pib_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		close(fd);
		return 0;
	}
	while (r == 0 && (e = readdir(d))) {
		struct stat st;
		if (strncmp(e->d_name, "user-data", 9) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		char *name = pib_text_clean(e->d_name, false);
		char *path = name ? pib_asprintf("/var/lib/cloud/instances/%s/%s", id, name) : NULL;
		if (!path ||
		    policy_add(f, "cloud.user_data_left", POLICY_SEV_HIGH,
			       "cloud-init left an instance's user-data in the image", path, 0,
			       "Run `cloud-init clean --logs` (or remove /var/lib/cloud/instances) before the image is made.",
			       "%s: %lld bytes of user-data of instance %s (it may hold the build's secrets)", path,
			       (long long)st.st_size, id) < 0)
			r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		free(name);
		free(path);
	}
	closedir(d);
	return r;
}

int policy_check_cloud(const char *root, struct policy_findings *f, struct pib_err *err)
{
	char *host = NULL;
	DIR *d;
	struct dirent *e;
	unsigned n = 0;
	int r;

	if ((r = pib_path_in_root(root, "/var/lib/cloud/instances", true, &host)) < 0)
		return r == -ENOMEM ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory") : 0;
	int fd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(host);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0; /* no cloud-init folder: nothing left */
	}
	r = 0;
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++n > CLOUD_MAX_INSTANCES) {
			if (policy_add(f, "cloud.user_data_left", POLICY_SEV_HIGH,
				       "cloud-init left an instance's user-data in the image",
				       "/var/lib/cloud/instances", 0,
				       "Run `cloud-init clean --logs` before the image is made.",
				       "more than %d instance folders: the rest were not looked at",
				       CLOUD_MAX_INSTANCES) < 0)
				r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			break;
		}
		/* an instance folder, never through a link */
		int ifd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ifd < 0)
			continue;
		char *id = pib_text_clean(e->d_name, false);
		r = id ? cloud_instance(ifd, id, f, err)
		       : (close(ifd), pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory"));
		free(id);
	}
	closedir(d);
	return r;
}

/* policy_accounts.c's checks return a negative errno only when memory ran out */
static int check_accounts(const char *root, struct policy_findings *f, struct pib_err *err)
{
	int r = policy_check_accounts(root, f);
	return r < 0 ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "the login checks failed: %s", strerror(-r)) : 0;
}

/* policy_added.c's checks likewise: what the install added (only_new findings) */
static int check_added(const char *root, struct policy_findings *f, struct pib_err *err)
{
	int r = policy_check_added(root, f);
	return r < 0 ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "the checks of added accounts, units and jobs failed: %s",
				strerror(-r))
		     : 0;
}

extern const char pib_os_eol_json[];
extern const size_t pib_os_eol_json_len;

int policy_check_os_eol(const char *root, struct policy_findings *f, struct pib_err *err)
{
	struct oseol_table t = {0};
	struct osinfo os = {0};
	struct pib_err e = {0};
	char today[11];
	const char *date = getenv("PIB_POLICY_DATE");
	int r;

	if (!date || strlen(date) != 10) {
		time_t now = time(NULL);
		struct tm tm;
		strftime(today, sizeof(today), "%Y-%m-%d", gmtime_r(&now, &tm));
		date = today;
	}
	if ((r = oseol_parse(pib_os_eol_json, pib_os_eol_json_len, "os-eol.json", &t, err)) < 0)
		return r;
	/* a root whose os-release cannot be read: the OS is unknown, said as such */
	if (os_detect(root, NULL, &os, &e) < 0) {
		r = policy_add(f, "os.eol_unknown", POLICY_SEV_INFO, "the OS of the image is not known", "/etc/os-release",
			       0, "Give the image an /etc/os-release.", "%s", e.msg);
		pib_err_clear(&e);
	} else {
		r = oseol_check(&t, &os, date, f);
	}
	os_free(&os);
	oseol_free(&t);
	return r < 0 ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory") : 0;
}

int policy_check_root(const char *root, struct policy_findings *f, struct pib_err *err)
{
	static int (*const checks[])(const char *, struct policy_findings *, struct pib_err *) = {
		check_accounts,
		check_added,
		policy_check_cloud,
		policy_check_os_eol,
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int r = checks[i](root, f, err);
		if (r < 0)
			return r;
	}
	return 0;
}
