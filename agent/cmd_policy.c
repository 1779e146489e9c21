/* SPDX-License-Identifier: MIT */
/*
 * pib-agent policy [--root DIR]: the image policy checks alone, for a security team auditing an
 * image or a root (a mounted snapshot, a chroot, this machine with --root / or no --root). It
 * only reads: every file is opened read-only, nothing is installed, run or written inside the
 * root. The root-wide checks (logins, sshd, sudoers, cloud-init, end of life) run once, then one
 * walk judges every entry's mode and reads every regular file for secrets. With no install there
 * is no bundle: every finding is the image's, and those at or above the threshold are violations
 * (status findings, exit 1), since the image is what is being judged.
 *
 * pib-agent policy [--root DIR] PACKAGE.msi...: each MSI is judged by its tables (services,
 * Run keys, custom actions as LocalSystem, files outside its folders; policy_msi.c), as the
 * Windows checks must be until the agent runs on Windows. A package is what a seller brings:
 * its findings are of origin bundle. The root is walked only when --root is given too.
 */
#include "cli.h"
#include "log.h"
#include "pipeline.h"
#include "policy.h"
#include "policy_files.h"
#include "policy_msi.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_FAIL_ON POLICY_SEV_HIGH
#define MD5SUMS_MAX (16u << 20)     /* one package's md5sums file read at most */
#define MD5SUMS_FILES_MAX 100000u  /* entries of dpkg's info folder looked at */

/* A file a secret was found in, and the image's package that ships it (dpkg's md5sums). */
struct shipped {
	const char *path;
	char *pkg;
	char md5[33];
	bool same; /* the file is as the package shipped it */
};

static int shipped_cmp(const void *a, const void *b)
{
	return strcmp(((const struct shipped *)a)->path, ((const struct shipped *)b)->path);
}

/* The lines "MD5  path" of one md5sums file (fd, closed here) that name a file of v. */
static void md5sums_read(int fd, const char *name, struct shipped *v, size_t n)
{
	struct stat st;
	char *text = NULL;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > MD5SUMS_MAX ||
	    !(text = malloc((size_t)st.st_size + 1)) || pib_read_full(fd, text, (size_t)st.st_size, 0) < 0) {
		free(text);
		close(fd);
		return;
	}
	close(fd);
	text[st.st_size] = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* 32 hex digits, two spaces, the path without its leading slash */
		if (strlen(line) < 36 || line[32] != ' ' || line[33] != ' ')
			continue;
		line[32] = 0;
		char *path = line + 33;
		path[0] = '/';
		struct shipped key = {.path = path}, *hit = bsearch(&key, v, n, sizeof(*v), shipped_cmp);
		if (hit && !hit->pkg && pib_str_all_in(line, "0123456789abcdef")) {
			size_t l = strlen(name) - strlen(".md5sums");
			char *pkg = strndup(name, l);
			hit->pkg = pkg ? pib_text_clean(pkg, false) : NULL;
			free(pkg);
			memcpy(hit->md5, line, 33);
		}
	}
	free(text);
}

/* The MD5 of the file at path inside root (never through a link), in hex; false when it cannot be read. */
static bool file_md5(const char *root, const char *path, char hex[33])
{
	unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *host = NULL;
	struct stat st;
	bool ok = false;

	if (pib_path_in_root(root, path, false, &host) < 0)
		return false;
	int fd = open(host, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	free(host);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (fd >= 0 && c && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && EVP_DigestInit_ex(c, EVP_md5(), NULL)) {
		ssize_t k;
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(c, buf, (size_t)k);
		ok = k == 0 && EVP_DigestFinal_ex(c, md, &mdlen) && mdlen == 16;
		if (ok)
			pib_hex(md, 16, hex);
	}
	EVP_MD_CTX_free(c);
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * A secret in a file one of the image's Debian packages ships, unchanged since (its md5 is the one
 * dpkg's md5sums recorded): a key every copy of that package carries, such as GnuTLS's self-test
 * keys inside libgnutls.so, is public, not this image's secret. It stays listed, at low, with the
 * package named. rpm roots are not looked up (every secret keeps its severity).
 */
static int mark_shipped(const char *root, struct policy_findings *f)
{
	struct shipped *v = calloc(f->n + 1, sizeof(*v));
	size_t n = 0, seen = 0;
	char *dir = NULL;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		if (!strncmp(f->v[i].id, "secret.", 7) && f->v[i].path)
			v[n++].path = f->v[i].path;
	qsort(v, n, sizeof(*v), shipped_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(v[u - 1].path, v[i].path))
			v[u++] = v[i];
	n = u;
	int dfd = n && pib_path_in_root(root, "/var/lib/dpkg/info", false, &dir) == 0
			  ? open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			  : -1;
	free(dir);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) && seen++ < MD5SUMS_FILES_MAX) {
		size_t l = strlen(e->d_name);
		if (l <= 8 || strcmp(e->d_name + l - 8, ".md5sums"))
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0)
			md5sums_read(fd, e->d_name, v, n);
	}
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	for (size_t i = 0; i < n; i++) {
		char md5[33];
		v[i].same = v[i].pkg && file_md5(root, v[i].path, md5) && !strcmp(md5, v[i].md5);
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i < f->n; i++) {
		struct policy_finding *p = &f->v[i];
		struct shipped key = {.path = p->path}, *hit;
		if (strncmp(p->id, "secret.", 7) || !p->path || !(hit = bsearch(&key, v, n, sizeof(*v), shipped_cmp)) ||
		    !hit->same)
			continue;
		char *ev = pib_asprintf("%s; the image's package %s ships this file unchanged (its md5sums match): "
					"a key every copy of the package carries, not this image's own",
					p->evidence, hit->pkg);
		if (!ev) {
			r = -ENOMEM;
			break;
		}
		free(p->evidence);
		p->evidence = ev;
		p->severity = POLICY_SEV_LOW;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].pkg);
	free(v);
	return r;
}

static void walk_details(struct report *r, const struct policy_walk_stats *s)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return;
	cJSON_AddNumberToObject(j, "files", (double)s->files);
	cJSON_AddNumberToObject(j, "directories", (double)s->dirs);
	cJSON_AddNumberToObject(j, "other", (double)s->other);
	cJSON_AddNumberToObject(j, "files_read", (double)s->secret_files);
	cJSON_AddNumberToObject(j, "files_read_in_part", (double)s->secret_cut);
	cJSON_AddNumberToObject(j, "files_too_large", (double)s->too_large);
	cJSON_AddNumberToObject(j, "not_entered", (double)s->not_entered);
	cJSON_AddNumberToObject(j, "errors", (double)s->errors);
	report_step_detail(r, "walk", j);
}

/*
 * The findings into policy[], violations counted; the first one named in the run's error. The
 * first n_bundle findings are the packages' (origin bundle), the rest the root's (image).
 */
static void judge(struct agent_run *run, const struct policy_findings *f, size_t n_bundle)
{
	const struct policy_finding *first = NULL;
	size_t n_violations = 0;
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < f->n; i++) {
		const struct policy_finding *v = &f->v[i];
		bool violation = v->severity >= AUDIT_FAIL_ON;
		cJSON *j = agent_policy_finding_json(v, i < n_bundle ? "bundle" : "image", violation ? "violation" : "reported");
		if (!j) {
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		cJSON_AddItemToArray(arr, j);
		if (violation && n_violations++ == 0)
			first = v;
		agent_log("policy: %s %s [%s]%s", v->id, v->path ? v->path : "", policy_severity_name(v->severity),
			  violation ? " VIOLATION" : "");
	}
	if (!arr) {
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return;
	}
	report_set(run->report, "policy", arr);
	report_step_detail(run->report, "fail_on", cJSON_CreateString(policy_severity_name(AUDIT_FAIL_ON)));
	report_step_detail(run->report, "findings", cJSON_CreateNumber((double)f->n));
	if (first)
		pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, "policy.violation",
			 "%s: %s (%s%s%s; %zu finding%s at or above %s, see policy[])", first->id, first->title,
			 policy_severity_name(first->severity), first->path ? ", " : "", first->path ? first->path : "",
			 n_violations, n_violations == 1 ? "" : "s", policy_severity_name(AUDIT_FAIL_ON));
}

/* An MSI's product and table counts, for the step's msi[]. */
static cJSON *msi_summary(const char *name, const struct msi_tables *t, size_t n_findings)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	struct {
		const char *key, *value;
	} s[] = {
		{"path", name},
		{"product_name", t->product_name},
		{"product_code", t->product_code},
		{"product_version", t->product_version},
		{"manufacturer", t->manufacturer},
		{"upgrade_code", t->upgrade_code},
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		char *c = s[i].value ? pib_text_clean(s[i].value, false) : NULL;
		if (c)
			cJSON_AddStringToObject(j, s[i].key, c);
		else
			cJSON_AddNullToObject(j, s[i].key);
		free(c);
	}
	cJSON_AddNumberToObject(j, "directories", (double)t->n_dirs);
	cJSON_AddNumberToObject(j, "components", (double)t->n_comps);
	cJSON_AddNumberToObject(j, "files", (double)t->n_files);
	cJSON_AddNumberToObject(j, "services", (double)t->n_services);
	cJSON_AddNumberToObject(j, "registry_values", (double)t->n_regs);
	cJSON_AddNumberToObject(j, "custom_actions", (double)t->n_actions);
	cJSON_AddNumberToObject(j, "findings", (double)n_findings);
	return j;
}

/* Each MSI of the command line judged by its tables; its findings added to f, its summary to msi[]. */
static int check_packages(struct agent_run *run, const struct agent_opts *o, struct policy_findings *f)
{
	cJSON *arr = cJSON_CreateArray();
	int r = 0;

	for (int i = 0; arr && r == 0 && i < o->n_args; i++) {
		struct msi_tables t;
		char *name = pib_text_clean(o->args[i], false);
		size_t before = f->n;
		if (!name) {
			r = pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			break;
		}
		r = msi_tables_read(o->args[i], name, &t, &run->err);
		if (r == 0) {
			r = policy_check_msi_tables(&t, name, f, &run->err);
			cJSON *j = msi_summary(name, &t, f->n - before);
			if (j)
				cJSON_AddItemToArray(arr, j);
			agent_log("policy: %s: %s %s, %zu files, %zu services, %zu custom actions: %zu finding%s", name,
				  t.product_code, t.product_version ? t.product_version : "(no version)", t.n_files,
				  t.n_services, t.n_actions, f->n - before, f->n - before == 1 ? "" : "s");
			msi_tables_free(&t);
		}
		free(name);
	}
	if (arr)
		report_step_detail(run->report, "msi", arr);
	return r;
}

int agent_cmd_policy(const struct agent_opts *o)
{
	struct agent_run run = {.opts = o};
	struct policy_findings f = {0};
	struct policy_walk_stats stats = {0};
	struct stat st;

	if (o->root && (o->root[0] != '/' || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory given as an absolute path", o->root);
		return PIB_EXIT_USAGE;
	}
	bool walk = o->root || o->n_args == 0; /* with packages, the root only when --root says so */
	run.root = o->root ? o->root : "/";
	run.report = report_new("policy");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	report_step_begin(run.report, "policy");
	report_step_detail(run.report, "root", walk ? cJSON_CreateString(run.root) : cJSON_CreateNull());
	double t0 = pib_now_mono();
	struct policy_walk_opts wo = {.secrets = true};
	size_t n_bundle = 0;
	if (o->n_args > 0 && check_packages(&run, o, &f) == 0)
		n_bundle = f.n;
	if (!run.err.set && !walk) {
		judge(&run, &f, n_bundle);
	} else if (!run.err.set && policy_check_root(run.root, &f, &run.err) == 0 &&
		   policy_walk_root(run.root, &wo, &f, &stats, &run.err) == 0) {
		walk_details(run.report, &stats);
		if (mark_shipped(run.root, &f) < 0)
			pib_fail(&run.err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		if (stats.errors)
			run.report->any_skipped = true; /* an entry that could not be read: the audit is incomplete */
		agent_log("policy: %llu files, %llu read for secrets in %.1f s; %zu finding%s, %llu entr%s unreadable",
			  (unsigned long long)stats.files, (unsigned long long)stats.secret_files, pib_now_mono() - t0,
			  f.n, f.n == 1 ? "" : "s", (unsigned long long)stats.errors, stats.errors == 1 ? "y" : "ies");
		if (!run.err.set)
			judge(&run, &f, n_bundle);
	}
	if (run.err.set && run.err.cls != PIB_ERR_FINDINGS)
		agent_error("policy failed: %s: %s", run.err.code, run.err.msg);
	report_step_end(run.report, &run.err);
	pib_err_clear(&run.err);
	int code = agent_finish_run(&run);
	policy_findings_free(&f);
	report_free(run.report);
	return code;
}
