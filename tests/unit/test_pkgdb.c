/* SPDX-License-Identifier: MIT */
/* Unit tests of the package database reader: the gold root against dpkg-query, Source: versions, states, OSV ecosystems. */
#include "pkgdb.h"
#include "proc.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dpkg-query's view of root's installed packages, one "name version arch source srcversion" a line. */
static char **dpkg_query(const char *root, size_t *n)
{
	char admindir[4096];
	snprintf(admindir, sizeof(admindir), "--admindir=%s/var/lib/dpkg", root);
	char *argv[] = {(char *)"/usr/bin/dpkg-query", admindir, (char *)"-W", (char *)"-f",
			(char *)"${db:Status-Abbrev}|${Package} ${Version} ${Architecture} ${source:Package} "
				"${source:Version}\n",
			NULL};
	struct pib_spawn_opts so = {.stdin_fd = -1, .merge_output = true, .max_output = 64u << 20};
	struct pib_spawn_result res = {0};
	char **v = NULL;

	*n = 0;
	if (pib_spawn(argv, &so, &res) < 0 || res.status != 0 || !res.output.data) {
		pib_spawn_result_free(&res);
		return NULL;
	}
	char *cur = res.output.data, *end = cur + res.output.len;
	while (cur < end) {
		char *nl = memchr(cur, '\n', (size_t)(end - cur));
		char *line = strndup(cur, nl ? (size_t)(nl - cur) : (size_t)(end - cur));
		cur = nl ? nl + 1 : end;
		char *bar = line ? strchr(line, '|') : NULL;
		if (bar && !strncmp(line, "ii", 2)) {
			v = realloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = strdup(bar + 1);
		}
		free(line);
	}
	pib_spawn_result_free(&res);
	qsort(v, *n, sizeof(*v), line_cmp);
	return v;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void check_gold(void)
{
	const char *gold = getenv("PIB_GOLD_ROOT") ? getenv("PIB_GOLD_ROOT") : "/var/tmp/pib-gold-root";
	struct stat st;
	char p[4096];
	snprintf(p, sizeof(p), "%s/var/lib/dpkg/status", gold);
	if (stat(p, &st) < 0 || access("/usr/bin/dpkg-query", X_OK) < 0) {
		printf("ok %d - # SKIP no gold root or dpkg-query\n", ++tap_n);
		return;
	}
	struct pkgdb db;
	struct pib_err e = {0};
	ok(pkgdb_read(gold, PKGDB_DEB, &db, &e) == 0, "the gold root's packages are read (%s)", e.msg);
	size_t n = 0;
	char **want = dpkg_query(gold, &n);
	char **got = calloc(db.n + 1, sizeof(*got));
	for (size_t i = 0; i < db.n; i++)
		got[i] = pib_asprintf("%s %s %s %s %s", db.p[i].name, db.p[i].version, db.p[i].arch,
				      db.p[i].source, db.p[i].source_version);
	qsort(got, db.n, sizeof(*got), line_cmp);
	size_t same = 0;
	for (size_t i = 0; i < db.n && i < n; i++) {
		if (!strcmp(got[i], want[i]))
			same++;
		else if (same + 3 > i)
			printf("# differs: ours \"%s\", dpkg-query \"%s\"\n", got[i], want[i]);
	}
	ok(n > 50 && db.n == n && same == n, "%zu packages, as dpkg-query -W lists them (%zu, %zu the same)", db.n,
	   n, same);
	size_t with_src = 0, with_srcver = 0;
	for (size_t i = 0; i < db.n; i++) {
		with_src += strcmp(db.p[i].source, db.p[i].name) != 0;
		with_srcver += strcmp(db.p[i].source_version, db.p[i].version) != 0;
		free(got[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(want[i]);
	free(got);
	free(want);
	ok(with_src > 10 && with_srcver > 0, "source names (%zu) and source versions (%zu) other than the binary's",
	   with_src, with_srcver);
	pkgdb_free(&db);
}

static void check_made_up(void)
{
	char *root = NULL;
	if (pib_mkdtemp("pib-test-pkgdb", &root) < 0)
		return;
	char p[4096];
	const char *dirs[] = {"/var", "/var/lib", "/var/lib/dpkg"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "%s/var/lib/dpkg/status", root);
	write_file(p, "Package: libonig5\nStatus: install ok installed\nArchitecture: amd64\n"
		      "Source: libonig (6.9.8-1)\nVersion: 6.9.8-1+b1\n\n"
		      "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\n"
		      "Package: openssh-client\nStatus: install ok installed\nArchitecture: amd64\n"
		      "Source: openssh\nVersion: 1:9.2p1-2+deb12u3\n\n"
		      "Package: bash\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n");
	struct pkgdb db;
	struct pib_err e = {0};
	ok(pkgdb_read(root, PKGDB_DEB, &db, &e) == 0 && db.n == 3, "a made-up status: 3 installed of 4 (%s)",
	   e.msg);
	if (db.n == 3) {
		ok(!strcmp(db.p[0].name, "bash") && !strcmp(db.p[0].source, "bash") &&
			   !strcmp(db.p[0].source_version, "5.2.15-2+b7"),
		   "no Source: the package's own name and version");
		ok(!strcmp(db.p[1].source, "libonig") && !strcmp(db.p[1].source_version, "6.9.8-1") &&
			   !strcmp(db.p[1].version, "6.9.8-1+b1"),
		   "Source: with its own version (binNMU)");
		ok(!strcmp(db.p[2].source, "openssh") && !strcmp(db.p[2].source_version, "1:9.2p1-2+deb12u3"),
		   "Source: without a version: the package's, epoch kept");
		ok(db.p[1].family == PKGDB_DEB && !db.p[1].license, "family deb, no license known");
	}
	pkgdb_free(&db);
	pib_err_clear(&e);
	unlink(p);
	ok(pkgdb_read(root, PKGDB_DEB, &db, &e) < 0 && !strcmp(e.code, "pkgdb.unreadable") &&
		   strstr(e.msg, "/var/lib/dpkg/status"),
	   "no status file: pkgdb.unreadable naming it (%s)", e.msg);
	pib_err_clear(&e);
	ok(pkgdb_read(root, PKGDB_RPM, &db, &e) < 0 && !strcmp(e.code, "pkgdb.unreadable"),
	   "no rpm database: pkgdb.unreadable (%s)", e.msg);
	pib_err_clear(&e);
	(void)pib_rm_rf(root);
	free(root);
}

/* Runs argv (an absolute path first); true when it exits 0. */
static bool run(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* An rpm root made by this machine's rpm (--justdb): hello 2.0-1 from the fixtures. */
static void check_rpm(void)
{
	const char *fx = getenv("PIB_FIXTURES") ? getenv("PIB_FIXTURES") : "/work/shared/fixtures";
	char pkg[4096];
	snprintf(pkg, sizeof(pkg), "%s/rpm/hello-2.0-1.x86_64.rpm", fx);
	char *root = NULL;
	if (access("/usr/bin/rpm", X_OK) < 0 || access(pkg, R_OK) < 0 || pib_mkdtemp("pib-test-pkgdb-rpm", &root) < 0) {
		printf("ok %d - # SKIP no rpm or no fixture %s\n", ++tap_n, pkg);
		return;
	}
	/* the image's database where an rpm OS keeps it (Debian's rpm alone would use a dummy one) */
	const char *init[] = {"/usr/bin/rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite",
			      "--initdb", NULL};
	const char *inst[] = {"/usr/bin/rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite", "-i", "--justdb", "--nodeps", "--noscripts", "--nosignature",
			"--ignorearch", "--ignoreos", pkg, NULL};
	ok(run(init) && run(inst), "rpm --justdb installs hello into an rpm root");
	struct pkgdb db;
	struct pib_err e = {0};
	ok(pkgdb_read(root, PKGDB_RPM, &db, &e) == 0 && db.n == 1, "the rpm database read by libsolv (%s)", e.msg);
	if (db.n == 1)
		ok(!strcmp(db.p[0].name, "hello") && !strcmp(db.p[0].version, "2.0-1") && !strcmp(db.p[0].arch, "x86_64") &&
			   !strcmp(db.p[0].source, "hello") && !strcmp(db.p[0].source_version, "2.0-1") && db.p[0].license &&
			   db.p[0].family == PKGDB_RPM,
		   "hello 2.0-1 x86_64, source hello 2.0-1, license %s", db.p[0].license ? db.p[0].license : "none");
	pkgdb_free(&db);
	pib_err_clear(&e);
	(void)pib_rm_rf(root);
	free(root);
}

static void check_ecosystem(const char *id, const char *version, const char *want)
{
	struct osinfo os = {.id = (char *)id, .version_id = (char *)version};
	char *got = pkgdb_osv_ecosystem(&os);
	ok(want ? got && !strcmp(got, want) : !got, "%s %s: %s", id, version, got ? got : "no OSV ecosystem");
	free(got);
}

int main(void)
{
	check_gold();
	check_made_up();
	check_rpm();
	check_ecosystem("debian", "12", "Debian:12");
	check_ecosystem("ubuntu", "22.04", "Ubuntu:22.04");
	check_ecosystem("almalinux", "9.3", "AlmaLinux:9");
	check_ecosystem("rocky", "8.9", "Rocky Linux:8");
	check_ecosystem("rhel", "9.4", "Red Hat:enterprise_linux:9");
	check_ecosystem("opensuse-leap", "15.5", "openSUSE:Leap 15.5");
	check_ecosystem("sles", "15.5", "SUSE:Linux Enterprise Server 15 SP5");
	check_ecosystem("amzn", "2023", NULL);
	ok(pkgdb_osv_ecosystem_matches("Ubuntu:22.04", "Ubuntu:22.04:LTS"), "Ubuntu:22.04:LTS is Ubuntu 22.04's");
	ok(!pkgdb_osv_ecosystem_matches("Ubuntu:22.04", "Ubuntu:22.040"), "Ubuntu:22.040 is not");
	ok(pkgdb_osv_ecosystem_matches("Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:9::appstream"),
	   "Red Hat's streams");
	ok(!pkgdb_osv_ecosystem_matches("Debian:12", "Debian:11") && pkgdb_osv_ecosystem_matches("Debian:12", "Debian:12"),
	   "Debian:12 only");
	enum pkgdb_family f;
	ok(pkgdb_family_of("debian", &f) == 0 && f == PKGDB_DEB && pkgdb_family_of("suse", &f) == 0 &&
		   f == PKGDB_RPM && pkgdb_family_of("windows", &f) < 0,
	   "families");
	return tap_done();
}
