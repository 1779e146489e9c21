/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the file-mode rules and the walker of a root: setuid, setgid, world-writable
 * files and directories (sticky ones are fine) judged from a struct stat and from a real root;
 * links never followed (one pointing at the host's "/" is not walked), fifos not opened, the
 * depth limit, the size cap and the byte limit of the secret scan, and a mount point not
 * entered (in a private mount namespace, skipped without one); the threaded walk gives the same
 * findings, in the same order, and the same stats as one thread.
 */
#include "policy_files.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <openssl/pem.h>

static char *root;

static char *rp(const char *rel)
{
	return pib_asprintf("%s%s", root, rel);
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char *p = rp(rel);
	fx_write(p, text, strlen(text));
	chmod(p, mode);
	free(p);
}

static void mk(const char *rel, mode_t mode)
{
	char *p = rp(rel);
	mkdir(p, mode);
	chmod(p, mode); /* past the umask */
	free(p);
}

static const struct policy_finding *find(const struct policy_findings *f, const char *id, const char *path)
{
	for (size_t i = 0; i < f->n; i++)
		if ((!id || strcmp(f->v[i].id, id) == 0) && (!path || (f->v[i].path && strcmp(f->v[i].path, path) == 0)))
			return &f->v[i];
	return NULL;
}

static size_t count_path(const struct policy_findings *f, const char *path)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->v[i].path && strcmp(f->v[i].path, path) == 0;
	return n;
}

static void test_check(void)
{
	struct policy_findings f = {0};
	struct stat st = {.st_uid = 0, .st_gid = 50};
	const struct policy_finding *x;

	st.st_mode = S_IFREG | 04755;
	ok(policy_file_check("/usr/bin/su", &st, &f) == 1 && (x = find(&f, "file.setuid", "/usr/bin/su")) &&
		   x->severity == POLICY_SEV_HIGH && strcmp(x->evidence, "mode 4755, owner 0:50, /usr/bin/su") == 0,
	   "setuid: high, mode, owner and path: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	st.st_mode = S_IFREG | 02755;
	ok(policy_file_check("/usr/bin/wall", &st, &f) == 1 && (x = find(&f, "file.setgid", NULL)) &&
		   x->severity == POLICY_SEV_MEDIUM,
	   "setgid: medium");
	policy_findings_free(&f);
	st.st_mode = S_IFREG | 06777;
	ok(policy_file_check("/opt/x", &st, &f) == 3 && find(&f, "file.setuid", NULL) && find(&f, "file.setgid", NULL) &&
		   find(&f, "file.world_writable", NULL),
	   "setuid, setgid and world-writable at once: three findings");
	policy_findings_free(&f);
	st.st_mode = S_IFREG | 0666;
	ok(policy_file_check("/etc/app.conf", &st, &f) == 1 && (x = find(&f, "file.world_writable", NULL)) &&
		   x->severity == POLICY_SEV_HIGH,
	   "a world-writable file: high");
	policy_findings_free(&f);
	st.st_mode = S_IFDIR | 0777;
	ok(policy_file_check("/var/drop", &st, &f) == 1 && (x = find(&f, "file.world_writable_dir", NULL)) &&
		   x->severity == POLICY_SEV_HIGH && strstr(x->evidence, "mode 0777"),
	   "a world-writable directory without the sticky bit: high");
	policy_findings_free(&f);

	st.st_mode = S_IFDIR | 01777;
	ok(policy_file_check("/tmp", &st, &f) == 0, "a sticky world-writable directory (/tmp): nothing");
	st.st_mode = S_IFLNK | 0777;
	ok(policy_file_check("/usr/bin/link", &st, &f) == 0, "a symbolic link: nothing");
	st.st_mode = S_IFDIR | 04755;
	ok(policy_file_check("/srv", &st, &f) == 0, "a setuid bit on a directory: nothing");
	st.st_mode = S_IFDIR | 02775;
	ok(policy_file_check("/srv/shared", &st, &f) == 0, "a setgid directory (shared group folder): nothing");
	st.st_mode = S_IFREG | 0755;
	ok(policy_file_check("/usr/bin/ls", &st, &f) == 0, "a plain program: nothing");
	st.st_mode = S_IFREG | 0664;
	ok(policy_file_check("/var/log/x", &st, &f) == 0, "group-writable: nothing");
	ok(f.n == 0, "no finding from the passing modes");
	policy_findings_free(&f);
}

static void test_walk(void)
{
	struct policy_findings f = {0};
	struct policy_walk_stats s;
	struct pib_err err = {0};
	struct policy_walk_opts o = {.secrets = true};
	char *p;

	mk("/usr", 0755);
	mk("/usr/bin", 0755);
	mk("/etc", 0755);
	mk("/tmp", 01777);
	mk("/var", 0755);
	mk("/var/drop", 0777);
	mk("/opt", 0755);
	mk("/opt/app", 0755);
	put("/usr/bin/tool", "#!/bin/sh\n", 04755);
	put("/usr/bin/wall", "#!/bin/sh\n", 02755);
	put("/usr/bin/ls", "#!/bin/sh\n", 0755);
	put("/etc/app.conf", "x=1\n", 0666);
	put("/tmp/ok", "scratch\n", 0666);
	put("/opt/app/creds", "[default]\naws_access_key_id = AKIAJ2Q7ZX4LMN5PQR3T\n", 0600);
	p = rp("/usr/bin/link");
	ok(symlink("tool", p) == 0, "a link to the setuid tool");
	free(p);
	p = rp("/escape");
	ok(symlink("/", p) == 0, "a link to the host's /");
	free(p);
	p = rp("/etc/fifo");
	ok(mkfifo(p, 0666) == 0 && chmod(p, 0666) == 0, "a world-writable fifo");
	free(p);
	p = rp("/dev");
	ok(mkdir(p, 0755) == 0, "/dev");
	free(p);
	p = rp("/dev/null");
	ok(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0 && chmod(p, 0666) == 0, "a 0666 /dev/null");
	free(p);
	p = rp("/dev/mydev");
	ok(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0 && chmod(p, 0666) == 0, "another 0666 character device");
	free(p);

	ok(policy_walk_root(root, &o, &f, &s, &err) == 0, "the walk of the root");
	for (size_t i = 0; i < f.n; i++)
		printf("# %s %s %s: %s\n", f.v[i].id, policy_severity_name(f.v[i].severity), f.v[i].path, f.v[i].evidence);
	ok(find(&f, "file.setuid", "/usr/bin/tool") && find(&f, "file.setgid", "/usr/bin/wall"),
	   "setuid and setgid files found by their path inside the root");
	ok(find(&f, "file.world_writable", "/etc/app.conf") && !find(&f, NULL, "/etc/fifo"),
	   "the world-writable file found; the fifo not judged (its folder guards it) and not opened (no hang)");
	ok(!find(&f, NULL, "/dev/null") && find(&f, "file.world_writable", "/dev/mydev"),
	   "a 0666 /dev/null is not a finding, another 0666 character device is");
	ok(find(&f, "file.world_writable_dir", "/var/drop") && !find(&f, NULL, "/tmp") && count_path(&f, "/tmp") == 0,
	   "/var/drop found, the sticky /tmp not");
	ok(find(&f, "file.world_writable", "/tmp/ok"), "a world-writable file in /tmp is still one");
	ok(find(&f, "secret.aws_access_key", "/opt/app/creds") && find(&f, "secret.aws_access_key", NULL)->line == 2,
	   "the secret rules ran on the files: the AWS id in /opt/app/creds, line 2");
	ok(count_path(&f, "/usr/bin/link") == 0 && count_path(&f, "/usr/bin/ls") == 0, "links and plain files: nothing");
	bool outside = false;
	for (size_t i = 0; i < f.n; i++)
		outside |= pib_str_has_prefix(f.v[i].path, "/escape");
	ok(!outside && f.n == 7, "nothing through the link to / (%zu findings)", f.n);
	ok(s.files == 6 && s.secret_files == 6 && s.dirs == 9 && s.other == 3 && s.errors == 0,
	   "stats: %llu files read, %llu dirs, %llu other, %llu errors", (unsigned long long)s.secret_files,
	   (unsigned long long)s.dirs, (unsigned long long)s.other, (unsigned long long)s.errors);
	policy_findings_free(&f);

	o.secrets = false;
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && !find(&f, "secret.aws_access_key", NULL) &&
		   s.secret_files == 0 && find(&f, "file.setuid", NULL),
	   "without secrets: the modes only, no file read");
	policy_findings_free(&f);

	/* size cap and byte limit */
	size_t big = 300000;
	char *text = malloc(big + 1);
	memset(text, '#', big);
	text[big] = '\0';
	memcpy(text, "id=AKIAJ2Q7ZX4LMN5PQR3T\n", 24);
	put("/opt/app/big", text, 0644);
	free(text);
	o = (struct policy_walk_opts){.secrets = true, .secret_size_cap = 100000};
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && s.too_large == 1 && !find(&f, NULL, "/opt/app/big"),
	   "a file over the size cap is not read (too_large %llu)", (unsigned long long)s.too_large);
	policy_findings_free(&f);
	o = (struct policy_walk_opts){.secrets = true, .secret_max_bytes = 4096};
	const struct policy_finding *x;
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && s.secret_cut == 1 &&
		   (x = find(&f, "secret.aws_access_key", "/opt/app/big")) && strstr(x->evidence, "only the first 4096"),
	   "a file past the byte limit: scanned in part, said in evidence and stats");
	policy_findings_free(&f);

	/* depth: a setuid file 6 directories down */
	mk("/d", 0755);
	mk("/d/1", 0755);
	mk("/d/1/2", 0755);
	mk("/d/1/2/3", 0755);
	mk("/d/1/2/3/4", 0755);
	mk("/d/1/2/3/4/5", 0755);
	put("/d/1/2/3/4/5/deep", "x\n", 04755);
	o = (struct policy_walk_opts){.max_depth = 3};
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && !find(&f, NULL, "/d/1/2/3/4/5/deep") && s.not_entered >= 1,
	   "max_depth 3: the deep file is not reached, %llu not entered", (unsigned long long)s.not_entered);
	policy_findings_free(&f);
	o = (struct policy_walk_opts){0};
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && find(&f, "file.setuid", "/d/1/2/3/4/5/deep"),
	   "the default depth reaches it");
	policy_findings_free(&f);

	/* the root itself */
	chmod(root, 0777);
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && find(&f, "file.world_writable_dir", "/"),
	   "a world-writable root is itself a finding");
	chmod(root, 0700);
	policy_findings_free(&f);

	char *none = rp("/no/such");
	ok(policy_walk_root(none, &o, &f, &s, &err) == -ENOENT && err.set && strcmp(err.code, "scan.root_unreadable") == 0,
	   "a missing root: -ENOENT, scan.root_unreadable: %s", err.msg);
	pib_err_clear(&err);
	free(none);
}

/* Every field of two findings lists, in order: "" when equal, else what differs first. */
static const char *findings_diff(const struct policy_findings *a, const struct policy_findings *b, size_t *at)
{
	if (a->n != b->n)
		return "count";
	for (size_t i = 0; i < a->n; i++) {
		const struct policy_finding *x = &a->v[i], *y = &b->v[i];
		*at = i;
		if (strcmp(x->id, y->id) || strcmp(x->path, y->path) || x->line != y->line || x->severity != y->severity ||
		    strcmp(x->evidence, y->evidence) || strcmp(x->title, y->title))
			return "finding";
	}
	return "";
}

/*
 * Many files in many directories (3000 in 60), a few of them with something to find, read by
 * 1, 2, 4 and 16 threads (and the CPU count): the same findings in the same order, the same
 * stats, every time.
 */
static void test_threads(void)
{
	struct policy_findings one = {0}, f = {0};
	struct policy_walk_stats s1, s;
	struct pib_err err = {0};
	struct policy_walk_opts o = {.secrets = true, .threads = 1};
	char *pem = NULL;
	long pem_len = 0;

	/* a real EC key, made here */
	EVP_PKEY *k = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	if (k && bio && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (pem_len = BIO_get_mem_data(bio, &data)) > 0)
		pem = pib_asprintf("# kept by mistake\n%.*s", (int)pem_len, data);
	BIO_free(bio);
	EVP_PKEY_free(k);
	ok(pem != NULL, "an EC key in PEM");

	mk("/many", 0755);
	for (int d = 0; d < 60; d++) {
		char *dir = pib_asprintf("/many/d%02d", d);
		mk(dir, 0755);
		for (int i = 0; i < 50; i++) {
			char *rel = pib_asprintf("%s/f%02d", dir, i), *text = pib_asprintf("file %d of %d\n%*s\n", i, d, i * 97, "");
			mode_t mode = 0644;
			if (i == 7 && d % 10 == 0)
				mode = 04755;
			else if (i == 8 && d % 15 == 0)
				mode = 0666;
			put(rel, text, mode);
			free(rel);
			free(text);
		}
		free(dir);
	}
	put("/many/d03/key.pem", pem ? pem : "", 0600);
	put("/many/d17/aws.ini", "[default]\naws_access_key_id = AKIAJ2Q7ZX4LMN5PQR3T\n"
				"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", 0600);
	put("/many/d42/id-only", "x\n\nAKIAJ2Q7ZX4LMN5PQR3T\n", 0644);
	put("/many/d59/both", "AKIAJ2Q7ZX4LMN5PQR3T\n", 04777);
	free(pem);

	ok(policy_walk_root(root, &o, &one, &s1, &err) == 0, "one thread");
	const struct policy_finding *x = find(&one, "secret.private_key_pem", "/many/d03/key.pem");
	ok(x && x->severity == POLICY_SEV_CRITICAL && x->line == 2 && strstr(x->evidence, "EC"),
	   "the PEM key found on line 2: %s", x ? x->evidence : "none");
	x = find(&one, "secret.aws_access_key", "/many/d17/aws.ini");
	ok(x && x->severity == POLICY_SEV_CRITICAL, "the AWS key pair found");
	ok(find(&one, "secret.aws_access_key", "/many/d42/id-only") && find(&one, "file.setuid", "/many/d50/f07") &&
		   find(&one, "file.world_writable", "/many/d45/f08") && count_path(&one, "/many/d59/both") == 3,
	   "the id alone, setuid and world-writable files, and a file with all three");
	bool sorted = true;
	for (size_t i = 1; i < one.n; i++)
		sorted &= strcmp(one.v[i - 1].path, one.v[i].path) < 0 ||
			  (strcmp(one.v[i - 1].path, one.v[i].path) == 0 && strcmp(one.v[i - 1].id, one.v[i].id) <= 0);
	ok(sorted && s1.secret_files >= 3004 && s1.errors == 0, "%zu findings sorted by path then id, %llu files read",
	   one.n, (unsigned long long)s1.secret_files);

	static const unsigned counts[] = {2, 4, 16, 0, 3, 4, 2};
	for (size_t t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		size_t at = 0;
		o.threads = counts[t];
		int r = policy_walk_root(root, &o, &f, &s, &err);
		const char *d = findings_diff(&one, &f, &at);
		ok(r == 0 && !*d, "%u threads: the same %zu findings in the same order (%s %zu)", counts[t], f.n, d, at);
		ok(memcmp(&s, &s1, sizeof(s)) == 0, "%u threads: the same stats (files %llu, read %llu, errors %llu)",
		   counts[t], (unsigned long long)s.files, (unsigned long long)s.secret_files,
		   (unsigned long long)s.errors);
		policy_findings_free(&f);
	}

	/* the walk's findings go after the caller's, which are kept */
	o.threads = 4;
	ok(policy_add(&f, "ssh.password_auth", POLICY_SEV_HIGH, "first", "/zzz", 1, NULL, "from before") == 0 &&
		   policy_walk_root(root, &o, &f, &s, &err) == 0 && f.n == one.n + 1 &&
		   strcmp(f.v[0].id, "ssh.password_auth") == 0,
	   "findings already in the list stay first");
	policy_findings_free(&f);
	policy_findings_free(&one);
	pib_err_clear(&err);
}

/* A mount point in the root is judged, not entered (find -xdev). */
static void test_xdev(void)
{
	struct policy_findings f = {0};
	struct policy_walk_stats s;
	struct pib_err err = {0};
	struct policy_walk_opts o = {.secrets = true};

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("ok %d # SKIP no private mount namespace: %s\n", ++tap_n, strerror(errno));
		return;
	}
	mk("/mnt", 0755);
	mk("/mnt/other", 0755);
	char *m = rp("/mnt/other");
	ok(mount("tmpfs", m, "tmpfs", 0, "mode=0755") == 0, "a tmpfs mounted in the root");
	put("/mnt/other/suid", "x\n", 04755);
	ok(policy_walk_root(root, &o, &f, &s, &err) == 0 && !find(&f, NULL, "/mnt/other/suid") && s.not_entered == 1,
	   "the setuid file on the other file system is not seen, the mount not entered");
	policy_findings_free(&f);
	umount2(m, MNT_DETACH);
	free(m);
}

int main(void)
{
	if (pib_mkdtemp("pib-files", &root) < 0) {
		printf("Bail out! no temp dir\n");
		return 1;
	}
	umask(022);
	test_check();
	test_walk();
	test_threads();
	test_xdev();
	pib_rm_rf(root);
	free(root);
	return tap_done();
}
