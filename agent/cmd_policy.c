/* SPDX-License-Identifier: MIT */
/*
 * pib-agent policy [--root DIR]: the image policy checks alone, for a security team auditing an
 * image or a root (a mounted snapshot, a chroot, this machine with --root / or no --root). It
 * only reads: every file is opened read-only, nothing is installed, run or written inside the
 * root. The root-wide checks (logins, sshd, sudoers, cloud-init, end of life) run once, then one
 * walk judges every entry's mode and reads every regular file for secrets. With no install there
 * is no bundle: every finding is the image's, and those at or above the policy's fail_on (--policy,
 * else the built-in default: high) are violations (status findings, exit 1), since the image is
 * what is being judged; the policy's severities, disabled checks and allow-list apply as in validate.
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
#include "policy_step.h"
#include "report.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		/* merged /usr: dpkg still lists /bin/su, found at /usr/bin/su (the content is compared anyway) */
		char usr[PATH_MAX];
		if (!hit && (!strncmp(path, "/bin/", 5) || !strncmp(path, "/sbin/", 6) || !strncmp(path, "/lib", 4)) &&
		    (size_t)snprintf(usr, sizeof(usr), "/usr%s", path) < sizeof(usr)) {
			key.path = usr;
			hit = bsearch(&key, v, n, sizeof(*v), shipped_cmp);
		}
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
 * A finding of the file's content or mode in a file one of the image's Debian packages ships,
 * unchanged since (its md5 is the one dpkg's md5sums recorded): a key every copy of that package
 * carries, such as GnuTLS's self-test keys inside libgnutls.so, is public, not this image's
 * secret; a setuid tool such as passwd is the distribution's design. Such a finding stays listed,
 * at low, with the package named. A mode is not in md5sums: a package's file made setuid later
 * keeps its severity only if its content changed too, so the mode is judged as the package's.
 * rpm roots are not looked up (every finding keeps its severity).
 */
static bool shipped_kind(const char *id)
{
	return !strncmp(id, "secret.", 7) || !strcmp(id, "file.setuid") || !strcmp(id, "file.setgid");
}

static int mark_shipped(const char *root, struct policy_findings *f, bool **ret_shipped)
{
	bool *marks = calloc(f->n + 1, sizeof(*marks));
	struct shipped *v = calloc(f->n + 1, sizeof(*v));
	size_t n = 0, seen = 0;
	char *dir = NULL;

	if (!v || !marks) {
		free(v);
		free(marks);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n; i++)
		if (shipped_kind(f->v[i].id) && f->v[i].path)
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
		if (!shipped_kind(p->id) || !p->path || !(hit = bsearch(&key, v, n, sizeof(*v), shipped_cmp)) ||
		    !hit->same)
			continue;
		char *ev = pib_asprintf("%s; the image's package %s ships this file unchanged (its md5sums match): %s",
					p->evidence, hit->pkg,
					p->id[0] == 's' ? "a key every copy of the package carries, not this image's own"
							: "the distribution's own tool");
		if (!ev) {
			r = -ENOMEM;
			break;
		}
		free(p->evidence);
		p->evidence = ev;
		marks[i] = true;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].pkg);
	free(v);
	if (r < 0)
		free(marks);
	else
		*ret_shipped = marks;
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
	cJSON_AddNumberToObject(j, "bytes_read", (double)s->secret_bytes);
	cJSON_AddNumberToObject(j, "files_read_in_part", (double)s->secret_cut);
	cJSON_AddNumberToObject(j, "files_too_large", (double)s->too_large);
	cJSON_AddNumberToObject(j, "not_entered", (double)s->not_entered);
	cJSON_AddNumberToObject(j, "errors", (double)s->errors);
	report_step_detail(r, "walk", j);
}

/*
 * The findings into policy[] as the policy file says (severities, disabled, allowed), violations
 * counted; the first n_bundle findings are the packages' (origin bundle), the rest the root's
 * (image). shipped (NULL: none) marks the root's findings of files its packages ship unchanged.
 */
static void judge(struct agent_run *run, const struct policy_file *pf, struct policy_findings *f, const bool *shipped,
		  size_t n_bundle)
{
	const struct policy_finding *first = NULL;
	size_t n_violations = 0, n_disabled = 0, n_allowed = 0;
	cJSON *arr = cJSON_CreateArray();
	char today[11];

	policy_today(today);
	for (size_t i = 0; arr && i < f->n; i++) {
		struct policy_finding *v = &f->v[i];
		struct policy_verdict pv;
		policy_apply(pf, v, today, &pv);
		if (!pv.enabled) {
			n_disabled++;
			continue;
		}
		enum policy_severity check_sev = v->severity;
		v->severity = pv.severity;
		/* distribution content as shipped (mark_shipped): low, whatever the policy's severity */
		if (shipped && shipped[i] && v->severity > POLICY_SEV_LOW)
			v->severity = POLICY_SEV_LOW;
		bool violation = !pv.allowed && v->severity >= pf->fail_on;
		cJSON *j = agent_policy_finding_json(v, i < n_bundle ? "bundle" : "image", pv.allowed ? "allowed" : violation ? "violation" : "reported");
		if (!j) {
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		agent_policy_verdict_json(j, &pv, check_sev);
		cJSON_AddItemToArray(arr, j);
		n_allowed += pv.allowed != NULL;
		if (violation && n_violations++ == 0)
			first = v;
		agent_log("policy: %s %s [%s]%s%s", v->id, v->path ? v->path : "", policy_severity_name(v->severity),
			  violation ? " VIOLATION" : "", pv.allowed ? " allowed" : "");
	}
	if (!arr) {
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return;
	}
	report_set(run->report, "policy", arr);
	report_step_detail(run->report, "policy", policyfile_json(pf, today));
	report_step_detail(run->report, "fail_on", cJSON_CreateString(policy_severity_name(pf->fail_on)));
	report_step_detail(run->report, "findings", cJSON_CreateNumber((double)(f->n - n_disabled)));
	report_step_detail(run->report, "disabled", cJSON_CreateNumber((double)n_disabled));
	report_step_detail(run->report, "allowed", cJSON_CreateNumber((double)n_allowed));
	if (first)
		pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, "policy.violation",
			 "%s: %s (%s%s%s; %zu finding%s at or above %s, see policy[])", first->id, first->title,
			 policy_severity_name(first->severity), first->path ? ", " : "", first->path ? first->path : "",
			 n_violations, n_violations == 1 ? "" : "s", policy_severity_name(pf->fail_on));
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
	bool *shipped = NULL;

	if (o->root && (o->root[0] != '/' || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory given as an absolute path", o->root);
		return PIB_EXIT_USAGE;
	}
	bool walk = o->root || o->n_args == 0; /* with packages, the root only when --root says so */
	run.root = o->root ? o->root : "/";
	/* a policy that cannot be used stops the audit before anything is read, like a bad --root */
	if (agent_load_policy(&run, NULL, &run.err) == false) {
		agent_error("%s: %s", run.err.code, run.err.msg);
		int code = run.err.cls == PIB_ERR_ENV ? PIB_EXIT_ENV : PIB_EXIT_USAGE;
		pib_err_clear(&run.err);
		return code;
	}
	run.report = report_new("policy");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	report_step_begin(run.report, "policy");
	report_step_detail(run.report, "root", walk ? cJSON_CreateString(run.root) : cJSON_CreateNull());
	double t0 = pib_now_mono();
	struct policy_walk_opts wo = {.secrets = true, .threads = o->jobs > 0 ? (unsigned)o->jobs : 0};
	size_t n_bundle = 0;
	if (o->n_args > 0 && check_packages(&run, o, &f) == 0)
		n_bundle = f.n;
	if (!run.err.set && !walk) {
		judge(&run, run.policy_file, &f, NULL, n_bundle);
	} else if (!run.err.set && policy_check_root(run.root, &f, &run.err) == 0 &&
		   policy_walk_root(run.root, &wo, &f, &stats, &run.err) == 0) {
		walk_details(run.report, &stats);
		if (mark_shipped(run.root, &f, &shipped) < 0)
			pib_fail(&run.err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		if (stats.errors)
			run.report->any_skipped = true; /* an entry that could not be read: the audit is incomplete */
		agent_log("policy: %llu files, %llu read for secrets in %.1f s; %zu finding%s, %llu entr%s unreadable",
			  (unsigned long long)stats.files, (unsigned long long)stats.secret_files, pib_now_mono() - t0,
			  f.n, f.n == 1 ? "" : "s", (unsigned long long)stats.errors, stats.errors == 1 ? "y" : "ies");
		if (!run.err.set)
			judge(&run, run.policy_file, &f, shipped, n_bundle);
	}
	if (run.err.set && run.err.cls != PIB_ERR_FINDINGS)
		agent_error("policy failed: %s: %s", run.err.code, run.err.msg);
	report_step_end(run.report, &run.err);
	pib_err_clear(&run.err);
	int code = agent_finish_run(&run);
	policy_findings_free(&f);
	report_free(run.report);
	policyfile_free(run.policy_file);
	free(shipped);
	return code;
}
