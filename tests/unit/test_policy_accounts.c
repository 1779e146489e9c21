/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the login policy checks, each rule on a root that fails it and one that passes:
 * sshd's effective configuration (a drop-in after the top Include wins over a later line, Match
 * blocks, Include inside Match, cycles, depth, links out of the root, the size cap, defaults), the
 * password hashes of shadow, authorized_keys fingerprints (checked against ssh-keygen -lf when it
 * exists, and always against a digest computed here), host keys, sudoers NOPASSWD rules and their
 * drop-ins. With /usr/sbin/sshd (or PIB_TEST_SSHD, a program taking sshd's arguments) and
 * ssh-keygen on the machine, the parser is also compared with `sshd -T` on the same files
 * (tests/tools/sshd-from-deb.sh runs an unpacked openssh-server .deb for PIB_TEST_SSHD).
 */
#include "policy_accounts.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

static const char key1[] = "AAAAC3NzaC1lZDI1NTE5AAAAIOtiDJnNBh4uv+EjscJgatb1wz701jBHvhxVCh6xvAHS";
static const char key2[] =
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBG3pShjIN4n7+hYP04HWY6E0hCVxmofCV9voU2Gv"
	"iBKFba1epo6T4gIpv+Akdh69OiKC9nujXXS1UirXWB9ksx0=";
/* what ssh-keygen -lf printed for them when they were made */
static const char fp1[] = "BBuH4iK1/ANrTkWCutHPUzsokjpeqIRmeqHI394cfh4";
static const char fp2[] = "rI5Mv5+vYepsat/2YCSvEu9sfymkhVmZhjfbK4VZ+do";

static char *tmp;

static void mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static void put(const char *root, const char *rel, const char *text)
{
	char *p = pib_asprintf("%s%s", root, rel), *d = pib_strdup(p);
	int fd;

	*strrchr(d, '/') = '\0';
	mkdir_p(d);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pib_write_all(fd, text, strlen(text)) < 0)
		printf("# cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
	free(p);
	free(d);
}

static void link_to(const char *root, const char *rel, const char *target)
{
	char *p = pib_asprintf("%s%s", root, rel), *d = pib_strdup(p);

	*strrchr(d, '/') = '\0';
	mkdir_p(d);
	unlink(p);
	if (symlink(target, p) < 0)
		printf("# cannot link %s\n", p);
	free(p);
	free(d);
}

static char *new_root(const char *name)
{
	char *r = pib_asprintf("%s/%s", tmp, name);

	mkdir_p(r);
	return r;
}

/* The n-th finding with id (0-based), or NULL. */
static const struct policy_finding *find(const struct policy_findings *f, const char *id, size_t nth)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].id, id) && nth-- == 0)
			return &f->v[i];
	return NULL;
}

static size_t count(const struct policy_findings *f, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += !strcmp(f->v[i].id, id);
	return n;
}

static bool has(const struct policy_finding *p, const char *needle)
{
	return p && p->evidence && strstr(p->evidence, needle);
}

static bool at(const struct policy_finding *p, const char *path, unsigned line)
{
	return p && p->path && !strcmp(p->path, path) && p->line == line;
}

static void dump(const struct policy_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		printf("#   %s [%s] %s:%u: %s\n", f->v[i].id, policy_severity_name(f->v[i].severity),
		       f->v[i].path ? f->v[i].path : "-", f->v[i].line, f->v[i].evidence);
}

/* ------------------------------------------------------------------ sshd */

static const char debian_top[] = "# Debian's sshd_config starts so\n"
				 "Include /etc/ssh/sshd_config.d/*.conf\n"
				 "\n"
				 "KbdInteractiveAuthentication no\n"
				 "UsePAM yes\n"
				 "PasswordAuthentication no\n";

static void test_sshd_dropin(void)
{
	struct policy_findings f = {0};
	char *r = new_root("sshd-dropin");
	const struct policy_finding *p;

	/* the drop-in sets yes, a later drop-in and the main file say no: the first value read wins */
	put(r, "/etc/ssh/sshd_config", debian_top);
	put(r, "/etc/ssh/sshd_config.d/10-empty.conf", "# nothing\n");
	put(r, "/etc/ssh/sshd_config.d/50-x.conf", "# cloud image\n  passwordAUTHENTICATION = Yes\n");
	put(r, "/etc/ssh/sshd_config.d/60-no.conf", "PasswordAuthentication no\n");
	/* not *.conf, nor a leading dot: glob leaves them out */
	put(r, "/etc/ssh/sshd_config.d/70-y.conf.bak", "PermitRootLogin yes\n");
	put(r, "/etc/ssh/sshd_config.d/.hidden.conf", "PermitEmptyPasswords yes\n");
	ok(policy_check_sshd(r, &f) == 0, "sshd: a drop-in: checked");
	p = find(&f, "ssh.password_auth", 0);
	ok(count(&f, "ssh.password_auth") == 1 && p && p->severity == POLICY_SEV_HIGH,
	   "sshd: PasswordAuthentication yes only in sshd_config.d/50-x.conf is found (high)");
	ok(at(p, "/etc/ssh/sshd_config.d/50-x.conf", 2) && has(p, "PasswordAuthentication yes"),
	   "sshd: ... with the drop-in's file and line, not sshd_config's later 'no'");
	ok(!find(&f, "ssh.kbd_interactive", 0), "sshd: KbdInteractiveAuthentication no: no finding");
	ok(!find(&f, "ssh.root_login", 0) && !find(&f, "ssh.empty_passwords", 0),
	   "sshd: *.conf.bak and .hidden.conf are not included (glob's rules)");
	ok(f.n == 1, "sshd: nothing else (%zu findings)", f.n);
	dump(&f);
	policy_findings_free(&f);

	/* passes: the drop-in says no */
	put(r, "/etc/ssh/sshd_config.d/50-x.conf", "PasswordAuthentication no\n");
	ok(policy_check_sshd(r, &f) == 0 && f.n == 0, "sshd: the drop-in says no: no finding (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);

	/* the order of glob: 05-yes sorts before 10-empty and 50-x */
	put(r, "/etc/ssh/sshd_config.d/05-yes.conf", "PasswordAuthentication\tyes\n");
	ok(policy_check_sshd(r, &f) == 0 &&
		   at(find(&f, "ssh.password_auth", 0), "/etc/ssh/sshd_config.d/05-yes.conf", 1),
	   "sshd: files of one Include are read in sorted order");
	policy_findings_free(&f);
	free(r);
}

static void test_sshd_values(void)
{
	struct policy_findings f = {0};
	struct policy_sshd s;
	char *r = new_root("sshd-values");
	const struct policy_finding *p;

	/* no sshd, no config: nothing, not even for the defaults */
	ok(policy_check_sshd(r, &f) == 0 && f.n == 0, "sshd: a root without sshd: no finding");
	policy_findings_free(&f);

	/* sshd installed, no config: OpenSSH's defaults */
	put(r, "/usr/sbin/sshd", "\177ELF");
	ok(policy_check_sshd(r, &f) == 0, "sshd: binary only: checked");
	p = find(&f, "ssh.password_auth", 0);
	ok(p && !p->path && has(p, "default"), "sshd: binary only: PasswordAuthentication yes by default");
	p = find(&f, "ssh.kbd_interactive", 0);
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "default"),
	   "sshd: KbdInteractiveAuthentication yes by default (medium)");
	ok(!find(&f, "ssh.root_login", 0) && !find(&f, "ssh.empty_passwords", 0),
	   "sshd: defaults: PermitRootLogin prohibit-password and PermitEmptyPasswords no pass");
	policy_findings_free(&f);
	ok(policy_sshd_read(r, &s) == 0 && s.has_binary && !s.has_config &&
		   !strcmp(s.kw[POLICY_SSHD_PERMIT_ROOT_LOGIN].value, "prohibit-password") &&
		   !strcmp(s.kw[POLICY_SSHD_AUTHORIZED_KEYS].value,
			   ".ssh/authorized_keys .ssh/authorized_keys2") &&
		   !s.kw[POLICY_SSHD_PASSWORD_AUTH].path,
	   "sshd: the defaults are OpenSSH 9's");
	policy_sshd_free(&s);
	char *bin = pib_asprintf("%s/usr/sbin/sshd", r);
	unlink(bin);
	free(bin);

	/* the failing values */
	put(r, "/etc/ssh/sshd_config",
	    "PermitRootLogin yes\n"
	    "PermitRootLogin no\n"
	    "PERMITEMPTYPASSWORDS yes # trailing comment\n"
	    "ChallengeResponseAuthentication yes\n"
	    "KbdInteractiveAuthentication no\n"
	    "PasswordAuthentication no\n");
	ok(policy_check_sshd(r, &f) == 0, "sshd: values: checked");
	p = find(&f, "ssh.root_login", 0);
	ok(at(p, "/etc/ssh/sshd_config", 1) && p->severity == POLICY_SEV_CRITICAL,
	   "sshd: PermitRootLogin yes: critical, line 1");
	p = find(&f, "ssh.empty_passwords", 0);
	ok(at(p, "/etc/ssh/sshd_config", 3) && p->severity == POLICY_SEV_CRITICAL,
	   "sshd: PermitEmptyPasswords yes: critical");
	p = find(&f, "ssh.kbd_interactive", 0);
	ok(at(p, "/etc/ssh/sshd_config", 4),
	   "sshd: ChallengeResponseAuthentication is KbdInteractiveAuthentication's old name");
	ok(!find(&f, "ssh.password_auth", 0), "sshd: PasswordAuthentication no: no finding");
	dump(&f);
	policy_findings_free(&f);

	/* the passing values */
	put(r, "/etc/ssh/sshd_config",
	    "PermitRootLogin without-password\n"
	    "PermitEmptyPasswords no\n"
	    "KbdInteractiveAuthentication no\n"
	    "ChallengeResponseAuthentication yes\n"
	    "PasswordAuthentication=no\n");
	ok(policy_check_sshd(r, &f) == 0 && f.n == 0, "sshd: without-password, no, no, no: no finding (%zu)",
	   f.n);
	dump(&f);
	policy_findings_free(&f);
	put(r, "/etc/ssh/sshd_config",
	    "PermitRootLogin forced-commands-only\nPasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n");
	ok(policy_check_sshd(r, &f) == 0 && f.n == 0, "sshd: forced-commands-only: no finding");
	policy_findings_free(&f);
	free(r);
}

static void test_sshd_match(void)
{
	struct policy_findings f = {0};
	struct policy_sshd s;
	char *r = new_root("sshd-match");
	const struct policy_finding *p;

	put(r, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/sshd_config.d/*.conf\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n"
	    "Match User alice,bob Address 10.0.0.0/8\n"
	    "    PasswordAuthentication yes\n"
	    "    PasswordAuthentication no\n"
	    "Match Group admins\n"
	    "    PasswordAuthentication no\n"
	    "Match all\n"
	    "PermitRootLogin yes\n"
	    "Match User carol\n"
	    "    Include match.d/*.conf\n");
	/* a Match in a drop-in ends with the drop-in */
	put(r, "/etc/ssh/sshd_config.d/20-m.conf", "Match Host build\n  PermitEmptyPasswords yes\n");
	put(r, "/etc/ssh/sshd_config.d/30-g.conf", "KbdInteractiveAuthentication yes\n");
	/* relative: under /etc/ssh; its lines belong to Match User carol, "Match all" in it too */
	put(r, "/etc/ssh/match.d/c.conf", "PermitRootLogin yes\nMatch all\nPermitEmptyPasswords yes\n");
	ok(policy_sshd_read(r, &s) == 0, "match: read");
	ok(!strcmp(s.kw[POLICY_SSHD_PASSWORD_AUTH].value, "no") && s.kw[POLICY_SSHD_PASSWORD_AUTH].line == 2,
	   "match: the plain connection's PasswordAuthentication is no (line 2)");
	ok(!strcmp(s.kw[POLICY_SSHD_PERMIT_ROOT_LOGIN].value, "yes") &&
		   s.kw[POLICY_SSHD_PERMIT_ROOT_LOGIN].line == 10,
	   "match: after Match all, lines are global again");
	ok(!strcmp(s.kw[POLICY_SSHD_KBD_INTERACTIVE].value, "yes") &&
		   !strcmp(s.kw[POLICY_SSHD_KBD_INTERACTIVE].path, "/etc/ssh/sshd_config.d/30-g.conf"),
	   "match: a Match in a drop-in ends with that file");
	ok(!strcmp(s.kw[POLICY_SSHD_PERMIT_EMPTY].value, "no") && !s.kw[POLICY_SSHD_PERMIT_EMPTY].path,
	   "match: PermitEmptyPasswords set only inside Match blocks: the default for the plain connection");
	ok(s.n_matches == 5, "match: five settings in Match blocks (%zu)", s.n_matches);
	for (size_t i = 0; i < s.n_matches; i++)
		printf("#   Match %s (%s:%u): %s %s (%s:%u)\n", s.matches[i].match, s.matches[i].match_path,
		       s.matches[i].match_line, policy_sshd_kw_name(s.matches[i].kw), s.matches[i].v.value,
		       s.matches[i].v.path, s.matches[i].v.line);
	policy_sshd_free(&s);

	ok(policy_check_sshd(r, &f) == 0, "match: checked");
	dump(&f);
	ok(count(&f, "ssh.password_auth") == 1, "match: one ssh.password_auth: the Match block's");
	p = find(&f, "ssh.password_auth", 0);
	ok(at(p, "/etc/ssh/sshd_config", 5) &&
		   has(p, "Match User alice,bob Address 10.0.0.0/8 (/etc/ssh/sshd_config:4)"),
	   "match: Match User alice,bob allowing passwords: its own finding, the Match line in the evidence");
	ok(p && p->title && strstr(p->title, "Match"), "match: ... said in the title");
	ok(count(&f, "ssh.empty_passwords") == 2 &&
		   has(find(&f, "ssh.empty_passwords", 0), "Match Host build") &&
		   at(find(&f, "ssh.empty_passwords", 0), "/etc/ssh/sshd_config.d/20-m.conf", 2),
	   "match: a Match block in a drop-in: found with the drop-in's lines");
	ok(count(&f, "ssh.root_login") == 2 && has(find(&f, "ssh.root_login", 1), "Match User carol") &&
		   at(find(&f, "ssh.root_login", 1), "/etc/ssh/match.d/c.conf", 1),
	   "match: Include inside Match: the included lines belong to the Match block");
	ok(has(find(&f, "ssh.empty_passwords", 1), "Match User carol (/etc/ssh/sshd_config:11)") &&
		   at(find(&f, "ssh.empty_passwords", 1), "/etc/ssh/match.d/c.conf", 3),
	   "match: 'Match all' in a file included inside Match User carol stays in carol's block (as sshd -T "
	   "-C says)");
	ok(count(&f, "ssh.kbd_interactive") == 1,
	   "match: the global KbdInteractiveAuthentication yes of the drop-in");
	policy_findings_free(&f);

	/* passes: the Match blocks only restrict */
	put(r, "/etc/ssh/sshd_config",
	    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
	    "Match User alice\n  PasswordAuthentication no\n  PermitRootLogin no\n");
	put(r, "/etc/ssh/sshd_config.d/20-m.conf", "\n");
	put(r, "/etc/ssh/sshd_config.d/30-g.conf", "\n");
	ok(policy_check_sshd(r, &f) == 0 && f.n == 0,
	   "match: Match blocks that only say no: no finding (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);
	free(r);
}

static void test_sshd_hostile(void)
{
	struct policy_findings f = {0};
	char *r = new_root("sshd-hostile");
	char *outside = pib_asprintf("%s/outside.conf", tmp);
	const struct policy_finding *p;

	/* a cycle: sshd_config -> a.conf -> b.conf -> a.conf and sshd_config */
	put(r, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/a.conf\nPasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\nInclude /etc/ssh/sshd_config.d/*\n");
	put(r, "/etc/ssh/a.conf", "Include b.conf\n");
	put(r, "/etc/ssh/b.conf", "Include /etc/ssh/a.conf /etc/ssh/sshd_config\n");
	/* links out of the root: absolute to a host file, and with enough ".." to climb out */
	put(tmp, "/outside.conf", "PermitRootLogin yes\nPermitEmptyPasswords yes\n");
	link_to(r, "/etc/ssh/sshd_config.d/70-abs", outside);
	char *rel = pib_strdup("../../../../../../../../../../../../../../../../../../../../outside.conf");
	link_to(r, "/etc/ssh/sshd_config.d/71-rel", rel);
	/* a link inside the root is followed (resolved in it) */
	put(r, "/usr/share/ssh/in.conf", "PermitEmptyPasswords yes\n");
	link_to(r, "/etc/ssh/sshd_config.d/72-in", "/usr/share/ssh/in.conf");
	ok(policy_check_sshd(r, &f) == 0, "hostile: checked, the cycle ended");
	dump(&f);
	ok(count(&f, "policy.unread") >= 2 && has(find(&f, "policy.unread", 0), "cycle"),
	   "hostile: the Include cycle is refused and said (policy.unread)");
	ok(!find(&f, "ssh.root_login", 0),
	   "hostile: links out of the root are not followed (the host's file not read)");
	p = find(&f, "ssh.empty_passwords", 0);
	ok(at(p, "/etc/ssh/sshd_config.d/72-in", 1),
	   "hostile: a link inside the root is followed, cited by its name");
	ok(!find(&f, "ssh.password_auth", 0), "hostile: the main file's own lines still count");
	policy_findings_free(&f);

	/* depth: a chain of 20 Includes stops at 16 */
	put(r, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/d0\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n");
	for (int i = 0; i < 20; i++) {
		char name[64], text[64];
		snprintf(name, sizeof(name), "/etc/ssh/d%d", i);
		snprintf(text, sizeof(text), i == 19 ? "PermitRootLogin yes\n" : "Include /etc/ssh/d%d\n",
			 i + 1);
		put(r, name, text);
	}
	ok(policy_check_sshd(r, &f) == 0 && count(&f, "policy.unread") == 1 &&
		   has(find(&f, "policy.unread", 0), "too deep") && !find(&f, "ssh.root_login", 0),
	   "hostile: Includes nested deeper than 16: refused and said");
	dump(&f);
	policy_findings_free(&f);

	/* the size cap */
	size_t big = POLICY_ACCOUNTS_MAX_FILE + 10;
	char *text = malloc(big + 1);
	memset(text, '#', big);
	text[big] = '\0';
	text[0] = 'P';
	memcpy(text, "PermitRootLogin yes\n", 20);
	put(r, "/etc/ssh/d0", text);
	free(text);
	ok(policy_check_sshd(r, &f) == 0 && count(&f, "policy.unread") == 1 &&
		   has(find(&f, "policy.unread", 0), "larger than") && !find(&f, "ssh.root_login", 0),
	   "hostile: a file over the size cap: not read, said in evidence");
	dump(&f);
	policy_findings_free(&f);

	/* a fifo where a drop-in should be: not opened for reading (would hang), said */
	put(r, "/etc/ssh/d0", "\n");
	char *fifo = pib_asprintf("%s/etc/ssh/d0", r);
	unlink(fifo);
	ok(mkfifo(fifo, 0644) == 0 && policy_check_sshd(r, &f) == 0 &&
		   has(find(&f, "policy.unread", 0), "not a regular"),
	   "hostile: a fifo is not read");
	policy_findings_free(&f);
	unlink(fifo);

	/* a NUL in a line ends that line, not the file: the lines after it are read as sshd reads them */
	static const char nul_text[] =
		"PasswordAuthentication no\0 hidden\nKbdInteractiveAuthentication no\nPermitRootLogin yes\n";
	char *cfg = pib_asprintf("%s/etc/ssh/sshd_config", r);
	int fd = open(cfg, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ok(fd >= 0 && pib_write_all(fd, nul_text, sizeof(nul_text) - 1) == 0,
	   "hostile: a config with a NUL written");
	if (fd >= 0)
		close(fd);
	ok(policy_check_sshd(r, &f) == 0 && at(find(&f, "ssh.root_login", 0), "/etc/ssh/sshd_config", 3) &&
		   !find(&f, "ssh.password_auth", 0),
	   "hostile: a NUL does not hide the lines after it");
	dump(&f);
	policy_findings_free(&f);
	free(cfg);

	/* fan-out: 40 files each including the same 40: more files than the budget, said, and it ends */
	put(r, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/a.d/*\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n");
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof(name), "/etc/ssh/a.d/%02d", i);
		put(r, name, "Include /etc/ssh/b.d/*\n");
		snprintf(name, sizeof(name), "/etc/ssh/b.d/%02d", i);
		put(r, name, "# nothing\n");
	}
	ok(policy_check_sshd(r, &f) == 0 && count(&f, "policy.unread") > 0 &&
		   has(find(&f, "policy.unread", 0), "more files included than the checks read (1024)") &&
		   !find(&f, "ssh.password_auth", 0),
	   "hostile: an Include fan-out stops at 1024 files and says so");
	policy_findings_free(&f);

	/* a device node is never opened (it is a device of the host) */
	char *dev = pib_asprintf("%s/etc/ssh/sshd_config", r);
	unlink(dev);
	if (mknod(dev, S_IFCHR | 0644, makedev(1, 3)) == 0) {
		ok(policy_check_sshd(r, &f) == 0 && has(find(&f, "policy.unread", 0), "not a regular file"),
		   "hostile: a device node as sshd_config: not opened, said");
		policy_findings_free(&f);
	} else {
		printf("ok %d - # SKIP mknod not permitted here\n", ++tap_n);
	}
	free(dev);

	/* a drop-in whose name holds an escape sequence and a newline: shown as \xNN, in path and evidence */
	put(r, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n");
	put(r, "/etc/ssh/sshd_config.d/\033[2Kok\n.conf", "PasswordAuthentication yes\n");
	ok(policy_check_sshd(r, &f) == 0, "hostile: a drop-in named with control characters: checked");
	p = find(&f, "ssh.password_auth", 0);
	ok(p && p->path && strstr(p->path, "\\x1b[2Kok\\x0a.conf") && !strpbrk(p->path, "\033\n") &&
		   !strpbrk(p->evidence, "\033\n"),
	   "hostile: ... its name cleaned in the finding's path and evidence (%s)", p ? p->path : "none");
	policy_findings_free(&f);
	free(fifo);
	free(rel);
	free(outside);
	free(r);
}

/* ------------------------------------------------------------------ sshd -T */

/* Runs argv, its stdout into out (bounded); the exit status, or -1. */
static int run(const char *const argv[], char *out, size_t size)
{
	int pfd[2], status = 0;
	size_t len = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(null, 2);
		close(pfd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t n; (n = read(pfd[0], out + len, size - 1 - len)) > 0 && len < size - 1;)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *sshd_T_value(const char *out, const char *kw, char *buf, size_t size)
{
	char *k = pib_asprintf("\n%s ", kw);
	const char *p = strstr(out, k);

	buf[0] = '\0';
	if (p) {
		p += strlen(k);
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
	}
	free(k);
	/* sshd -T prints prohibit-password by its old name */
	if (!strcmp(buf, "without-password"))
		snprintf(buf, size, "prohibit-password");
	return buf;
}

/*
 * A configuration given as text where @R@ stands for the root: sshd reads the host's files, so
 * its copy has the root's path there; ours reads the root, so "" there.
 */
static void put_both(const char *r, const char *rel, const char *tmpl)
{
	struct pib_buf ours = {0}, theirs = {0};

	for (const char *p = tmpl; *p;) {
		if (!strncmp(p, "@R@", 3)) {
			(void)pib_buf_printf(&theirs, "%s", r);
			p += 3;
			continue;
		}
		(void)pib_buf_append(&ours, p, 1);
		(void)pib_buf_append(&theirs, p, 1);
		p++;
	}
	put(r, rel, ours.data);
	char *t = pib_asprintf("%s.sshd", rel);
	put(r, t, theirs.data);
	free(t);
	pib_buf_free(&ours);
	pib_buf_free(&theirs);
}

static void test_sshd_T(void)
{
	const char *sshd = getenv("PIB_TEST_SSHD");
	static const char *const cases[][4] = {
		/* sshd_config, a drop-in, another, -C spec of a Match to compare ("" none) */
		{"Include @R@/etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication "
		 "no\nKbdInteractiveAuthentication no\n",
		 "PasswordAuthentication yes\n", "PasswordAuthentication no\nPermitRootLogin yes\n", ""},
		{"PasswordAuthentication no\nMatch User alice\n PasswordAuthentication yes\n "
		 "PermitEmptyPasswords yes\n",
		 "", "", "user=alice,host=h,addr=192.0.2.1"},
		{"Include @R@/etc/ssh/sshd_config.d/*.conf\nMatch User bob\n Include @R@/etc/ssh/m.conf\n",
		 "Match User carol\nPermitRootLogin yes\n",
		 "ChallengeResponseAuthentication no\nPermitRootLogin no\n",
		 "user=bob,host=h,addr=192.0.2.1"},
		{"AuthorizedKeysFile /etc/ssh/keys/%u .ssh/k\nPermitRootLogin=without-password\n", "", "",
		 ""},
		/* "Match all" in a file included inside a Match block does not end that block */
		{"Include @R@/etc/ssh/sshd_config.d/*.conf\nMatch User bob\n  Include @R@/etc/ssh/m.conf\n",
		 "PermitEmptyPasswords yes\n",
		 "KbdInteractiveAuthentication no\nMatch all\nPasswordAuthentication no\n",
		 "user=bob,host=h,addr=192.0.2.1"},
	};

	if (!sshd)
		sshd = "/usr/sbin/sshd";
	if (access(sshd, X_OK) < 0 || access("/usr/bin/ssh-keygen", X_OK) < 0) {
		printf("ok %d - # SKIP sshd -T comparison: no %s or ssh-keygen on this machine\n", ++tap_n,
		       sshd);
		return;
	}
	char *r = new_root("sshd-T"), *hk = pib_asprintf("%s/hostkey", r), *out = malloc(1 << 16);
	const char *kg[] = {"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk, NULL};
	if (run(kg, out, 1 << 16) != 0) {
		printf("ok %d - # SKIP sshd -T comparison: ssh-keygen failed\n", ++tap_n);
		goto out;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct policy_sshd s;
		char *dir = pib_asprintf("%s/etc/ssh/sshd_config.d", r),
		     *cfg = pib_asprintf("%s/etc/ssh/sshd_config.sshd", r);
		pib_rm_rf(dir);
		put_both(r, "/etc/ssh/sshd_config", cases[c][0]);
		if (cases[c][1][0])
			put_both(r, "/etc/ssh/sshd_config.d/10-a.conf", cases[c][1]);
		if (cases[c][2][0])
			put_both(r,
				 strstr(cases[c][0], "m.conf") ? "/etc/ssh/m.conf"
							       : "/etc/ssh/sshd_config.d/20-b.conf",
				 cases[c][2]);
		/* the .sshd copies must not be seen by a glob of ours or of sshd's: they end in .sshd */
		const char *argv[] = {sshd, "-T", "-h", hk, "-f", cfg, NULL, NULL, NULL};
		int rc = run(argv, out, 1 << 16);
		ok(rc == 0 && policy_sshd_read(r, &s) == 0, "sshd -T: case %zu: both read it (sshd exit %d)",
		   c, rc);
		bool same = true;
		static const char *const T[] = {"passwordauthentication", "kbdinteractiveauthentication",
						"permitrootlogin", "permitemptypasswords",
						"authorizedkeysfile"};
		for (int k = 0; rc == 0 && k < POLICY_SSHD_N_KW; k++) {
			char buf[512];
			sshd_T_value(out, T[k], buf, sizeof(buf));
			if (strcmp(buf, s.kw[k].value)) {
				printf("# case %zu: %s: sshd -T says '%s', we say '%s'\n", c, T[k], buf,
				       s.kw[k].value);
				same = false;
			}
		}
		ok(same, "sshd -T: case %zu: the plain connection's values are sshd's", c);
		if (cases[c][3][0] && rc == 0) {
			/* the Match block's settings applied over the plain values are what sshd -T -C says
			 */
			argv[6] = "-C";
			argv[7] = cases[c][3];
			rc = run(argv, out, 1 << 16);
			same = rc == 0;
			for (int k = 0; same && k < POLICY_SSHD_N_KW; k++) {
				char buf[512];
				const char *want = s.kw[k].value;
				/* the blocks of this user ("User NAME"): the spec is user=NAME,... */
				char user[64];
				snprintf(user, sizeof(user), "User %.*s", (int)strcspn(cases[c][3] + 5, ","),
					 cases[c][3] + 5);
				for (size_t i = 0; i < s.n_matches; i++)
					if (s.matches[i].kw == (enum policy_sshd_kw)k &&
					    strstr(s.matches[i].match, user)) {
						want = s.matches[i].v.value;
						break;
					}
				sshd_T_value(out, T[k], buf, sizeof(buf));
				if (strcmp(buf, want)) {
					printf("# case %zu -C: %s: sshd -T says '%s', we say '%s'\n", c, T[k],
					       buf, want);
					same = false;
				}
			}
			ok(same, "sshd -T: case %zu: with -C %s, the Match block's values are sshd's", c,
			   cases[c][3]);
		}
		policy_sshd_free(&s);
		free(dir);
		free(cfg);
	}
out:
	free(out);
	free(hk);
	free(r);
}

/* ------------------------------------------------------------------ shadow */

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
			     "svc:x:998:998::/var/lib/svc:/bin/false\n"
			     "carol::1002:1002::/home/carol:\n";

static void test_shadow(void)
{
	struct policy_findings f = {0};
	char *r = new_root("shadow");
	const struct policy_finding *p;
	static const char hash6[] = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/"
				    "jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";

	put(r, "/etc/passwd", passwd);
	char *shadow =
		pib_asprintf("root::19000:0:99999:7:::\n"
			     "daemon:%s:19000:0:99999:7:::\n"
			     "alice:$y$j9T$abcdefgh$ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef:19000::::::\n"
			     "svc:%s:19000::::::\n",
			     hash6, hash6);
	put(r, "/etc/shadow", shadow);
	ok(policy_check_shadow(r, &f) == 0, "shadow: checked");
	dump(&f);
	p = find(&f, "account.empty_password", 0);
	ok(at(p, "/etc/shadow", 1) && p->severity == POLICY_SEV_CRITICAL && has(p, "root"),
	   "shadow: an empty root password: critical, /etc/shadow:1");
	p = find(&f, "account.empty_password", 1);
	ok(at(p, "/etc/passwd", 5) && p->severity == POLICY_SEV_HIGH && has(p, "carol"),
	   "shadow: an empty password field in /etc/passwd (not x): high");
	p = find(&f, "account.password_set", 0);
	ok(count(&f, "account.password_set") == 1 && at(p, "/etc/shadow", 3) && has(p, "alice") &&
		   has(p, "yescrypt") && p->severity == POLICY_SEV_LOW,
	   "shadow: alice with a login shell and a yescrypt hash: account.password_set (low)");
	ok(!has(p, "$y$") && !has(p, "abcdefgh"), "shadow: the hash is not shown, not even its salt");
	ok(!find(&f, "account.root_password", 0),
	   "shadow: an empty root password is not also 'unlocked hash'");
	ok(f.n == 3, "shadow: daemon (nologin) and svc (false) with hashes: no finding (%zu in all)", f.n);
	policy_findings_free(&f);
	free(shadow);

	/* root with a usable hash */
	shadow = pib_asprintf("root:%s:19000:0:99999:7:::\n", hash6);
	put(r, "/etc/shadow", shadow);
	put(r, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	ok(policy_check_shadow(r, &f) == 0 && count(&f, "account.root_password") == 1,
	   "shadow: root's sha512crypt hash found");
	p = find(&f, "account.root_password", 0);
	ok(p && p->severity == POLICY_SEV_HIGH && has(p, "sha512crypt") && !has(p, "saltsalt") &&
		   !has(p, "$6$"),
	   "shadow: ... high, by its scheme, the hash not shown");
	policy_findings_free(&f);
	free(shadow);

	/* passes: locked */
	put(r, "/etc/passwd", passwd);
	shadow = pib_asprintf("root:!%s:19000:0:99999:7:::\n"
			      "alice:*:19000::::::\n"
			      "daemon:!:19000::::::\n"
			      "svc:!!:19000::::::\n",
			      hash6);
	put(r, "/etc/shadow", shadow);
	put(r, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
	    "daemon:x:1:1::/:/usr/sbin/nologin\nsvc:x:2:2::/:/bin/sh\nnoshadow:x:3:3::/:/bin/sh\n");
	ok(policy_check_shadow(r, &f) == 0 && f.n == 0,
	   "shadow: locked root (!$6$...), '*', '!', '!!': no finding (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);
	free(shadow);

	/* two lines for root: the first one counts (getspnam's), a NUL hides nothing */
	static const char dup[] = "alice:!:1::::::\nroot:!:1::::::\0\nroot::1::::::\nalice::1::::::\n";
	char *sp = pib_asprintf("%s/etc/shadow", r);
	int fd = open(sp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0) {
		if (pib_write_all(fd, dup, sizeof(dup) - 1) < 0)
			printf("# write failed\n");
		close(fd);
	}
	ok(policy_check_shadow(r, &f) == 0 && f.n == 0,
	   "shadow: duplicate names: the first entry decides (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);
	static const char dup2[] = "alice:!:1::::::\nroot::1::::::\nroot:!:1::::::\n";
	fd = open(sp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0) {
		if (pib_write_all(fd, dup2, sizeof(dup2) - 1) < 0)
			printf("# write failed\n");
		close(fd);
	}
	ok(policy_check_shadow(r, &f) == 0 && at(find(&f, "account.empty_password", 0), "/etc/shadow", 2),
	   "shadow: duplicate names: the first (empty) entry decides");
	policy_findings_free(&f);
	free(sp);
	free(r);
}

/* ------------------------------------------------------------------ authorized_keys */

/* The fingerprint of a base64 key, computed here without the module's code. */
static void fingerprint_here(const char *b64, char out[64])
{
	unsigned char blob[1024], md[32], enc[64];
	unsigned int mdlen = 0;
	int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)strlen(b64));
	size_t pad = strlen(b64) - strcspn(b64, "=");

	EVP_Digest(blob, (size_t)n - pad, md, &mdlen, EVP_sha256(), NULL);
	EVP_EncodeBlock(enc, md, 32);
	snprintf(out, 64, "%.*s", (int)strcspn((char *)enc, "="), enc);
}

/* The SHA256 fingerprints ssh-keygen -lf prints for a file, space separated; false without ssh-keygen. */
static bool fingerprints_by_ssh_keygen(const char *file, char *out, size_t size)
{
	char buf[8192];
	const char *argv[] = {"/usr/bin/ssh-keygen", "-lf", file, NULL};

	out[0] = '\0';
	if (access(argv[0], X_OK) < 0 || run(argv, buf, sizeof(buf)) != 0)
		return false;
	for (char *p = buf; (p = strstr(p, "SHA256:")); p += 7) {
		size_t n = strcspn(p + 7, " \n");
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s%.*s", len ? " " : "", (int)n, p + 7);
	}
	return true;
}

static void test_authorized_keys(void)
{
	struct policy_findings f = {0};
	char *r = new_root("akeys");
	const struct policy_finding *p;
	char here1[64], here2[64], keygen[512];

	fingerprint_here(key1, here1);
	fingerprint_here(key2, here2);
	ok(!strcmp(here1, fp1) && !strcmp(here2, fp2),
	   "keys: the fingerprints computed here are ssh-keygen's of when the keys were made");
	char fp[44];
	size_t blen = 0;
	unsigned char blob[256];
	blen = (size_t)EVP_DecodeBlock(blob, (const unsigned char *)key1, (int)strlen(key1));
	policy_ssh_fingerprint(blob, blen, fp);
	ok(!strcmp(fp, fp1), "keys: policy_ssh_fingerprint of a blob");

	put(r, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "alice:x:1000:1000::/home/alice:/bin/bash\n"
	    "eve:x:1001:1001::/home/eve:/bin/bash\n"
	    "ghost:x:1002:1002::/nonexistent:/bin/bash\n"
	    "toor:x:0:0::/root:/bin/sh\n");
	char *text = pib_asprintf(
		"# root's keys\n\n"
		"ssh-ed25519 %s alice@laptop\n"
		"from=\"10.0.0.1\",command=\"echo hi there\" ecdsa-sha2-nistp256 %s ops key with spaces\n"
		"ssh-rsa NOTBASE64!! junk\n",
		key1, key2);
	put(r, "/root/.ssh/authorized_keys", text);
	char *text2 = pib_asprintf("ssh-ed25519 %s\n", key1);
	put(r, "/home/alice/.ssh/authorized_keys2", text2);
	/* a link out of the root: not followed */
	char *outside = pib_asprintf("%s/outside_keys", tmp);
	put(tmp, "/outside_keys", text);
	link_to(r, "/home/eve/.ssh/authorized_keys", outside);
	ok(policy_check_authorized_keys(r, &f) == 0, "keys: checked");
	dump(&f);
	p = find(&f, "ssh.authorized_keys", 0);
	ok(count(&f, "ssh.authorized_keys") == 2,
	   "keys: root's and alice's files (toor shares root's: one finding; eve's link out not followed)");
	ok(at(p, "/root/.ssh/authorized_keys", 3) && p->severity == POLICY_SEV_HIGH,
	   "keys: root's: high, the first key's line");
	ok(has(p, "2 keys") && has(p, "line 3: ssh-ed25519 SHA256:") && has(p, here1) &&
		   has(p, "line 4: ecdsa-sha2-nistp256") && has(p, here2),
	   "keys: both keys with type and fingerprint (the one after options too)");
	ok(has(p, "comment of 12 characters") && has(p, "comment of 19 characters"), "keys: comment lengths");
	ok(!has(p, key1) && !has(p, "AAAAC3") && !has(p, "alice@laptop") && !has(p, "10.0.0.1"),
	   "keys: neither the key, nor the comment, nor the options shown");
	char *file = pib_asprintf("%s/root/.ssh/authorized_keys", r);
	if (fingerprints_by_ssh_keygen(file, keygen, sizeof(keygen))) {
		char want[256];
		snprintf(want, sizeof(want), "%s %s", here1, here2);
		ok(!strcmp(keygen, want), "keys: ssh-keygen -lf on the file gives the same fingerprints (%s)",
		   keygen);
	} else {
		printf("ok %d - # SKIP no ssh-keygen: checked against the digest computed here only\n",
		       ++tap_n);
	}
	free(file);
	p = find(&f, "ssh.authorized_keys", 1);
	ok(at(p, "/home/alice/.ssh/authorized_keys2", 1) && p->severity == POLICY_SEV_MEDIUM &&
		   has(p, "alice") && has(p, "comment of 0 characters"),
	   "keys: alice's authorized_keys2: medium");
	policy_findings_free(&f);

	/* AuthorizedKeysFile from sshd_config, %u and %%: only those files are read */
	put(r, "/etc/ssh/sshd_config", "AuthorizedKeysFile /etc/ssh/keys/%u %h/.ssh/100%%\n");
	put(r, "/etc/ssh/keys/eve", text2);
	put(r, "/home/alice/.ssh/100%", text2);
	ok(policy_check_authorized_keys(r, &f) == 0 && count(&f, "ssh.authorized_keys") == 2 &&
		   at(find(&f, "ssh.authorized_keys", 0), "/home/alice/.ssh/100%", 1) &&
		   at(find(&f, "ssh.authorized_keys", 1), "/etc/ssh/keys/eve", 1),
	   "keys: AuthorizedKeysFile /etc/ssh/keys/%%u %%h/.ssh/100%%%%: its files, not the default ones");
	dump(&f);
	policy_findings_free(&f);

	/* AuthorizedKeysFile set in a Match block: its files are read too */
	put(r, "/etc/ssh/sshd_config",
	    "AuthorizedKeysFile none\nMatch User alice\n  AuthorizedKeysFile /etc/ssh/alice_keys\n");
	put(r, "/etc/ssh/alice_keys", text2);
	ok(policy_check_authorized_keys(r, &f) == 0 && count(&f, "ssh.authorized_keys") == 1 &&
		   at(find(&f, "ssh.authorized_keys", 0), "/etc/ssh/alice_keys", 1) &&
		   has(find(&f, "ssh.authorized_keys", 0), "alice (uid 1000)") &&
		   find(&f, "ssh.authorized_keys", 0)->severity == POLICY_SEV_MEDIUM,
	   "keys: AuthorizedKeysFile none, and a Match User alice block's own file: found, as alice's");
	dump(&f);
	policy_findings_free(&f);

	/* passes: no key in the files */
	put(r, "/etc/ssh/sshd_config", "PasswordAuthentication no\n");
	put(r, "/root/.ssh/authorized_keys", "# keys come from cloud-init\n\nssh-ed25519 AAAAbroken\n");
	put(r, "/home/alice/.ssh/authorized_keys2", "");
	ok(policy_check_authorized_keys(r, &f) == 0 && f.n == 0,
	   "keys: files without a key: no finding (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);
	free(outside);
	free(text);
	free(text2);
	free(r);
}

/* ------------------------------------------------------------------ host keys */

static void test_host_keys(void)
{
	struct policy_findings f = {0};
	char *r = new_root("hostkeys");
	const struct policy_finding *p;

	put(r, "/etc/ssh/sshd_config", "\n");
	put(r, "/etc/ssh/moduli", "\n");
	put(r, "/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA\n");
	ok(policy_check_host_keys(r, &f) == 0 && f.n == 0,
	   "host keys: none (a .pub alone is not a key): no finding");
	policy_findings_free(&f);

	/* an OpenSSH private key made here: magic, cipher none, kdf none, options, 1 key, its public blob */
	unsigned char blob[512], pub[64];
	size_t n = 0, pn = 0;
	unsigned char key_pub[32];
	memset(key_pub, 7, sizeof(key_pub));
#define PUT32(b, o, v)                                                                                       \
	((b)[(o)] = (unsigned char)((v) >> 24), (b)[(o) + 1] = (unsigned char)((v) >> 16),                   \
	 (b)[(o) + 2] = (unsigned char)((v) >> 8), (b)[(o) + 3] = (unsigned char)(v))
	PUT32(pub, pn, 11);
	memcpy(pub + pn + 4, "ssh-ed25519", 11);
	pn += 15;
	PUT32(pub, pn, 32);
	memcpy(pub + pn + 4, key_pub, 32);
	pn += 36;
	memcpy(blob, "openssh-key-v1", 15);
	n = 15;
	PUT32(blob, n, 4);
	memcpy(blob + n + 4, "none", 4);
	n += 8;
	PUT32(blob, n, 4);
	memcpy(blob + n + 4, "none", 4);
	n += 8;
	PUT32(blob, n, 0);
	n += 4;
	PUT32(blob, n, 1);
	n += 4;
	PUT32(blob, n, pn);
	memcpy(blob + n + 4, pub, pn);
	n += 4 + pn;
	PUT32(blob, n, 8);
	memcpy(blob + n + 4, "SECRETXX", 8);
	n += 12;
	unsigned char enc[1024];
	EVP_EncodeBlock(enc, blob, (int)n);
	char *pem = pib_asprintf(
		"-----BEGIN OPENSSH PRIVATE KEY-----\n%.70s\n%s\n-----END OPENSSH PRIVATE KEY-----\n",
		(char *)enc, strlen((char *)enc) > 70 ? (char *)enc + 70 : "");
	put(r, "/etc/ssh/ssh_host_ed25519_key", pem);
	put(r, "/etc/ssh/ssh_host_rsa_key",
	    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
	char fp[44];
	policy_ssh_fingerprint(pub, pn, fp);
	ok(policy_check_host_keys(r, &f) == 0 && count(&f, "ssh.host_keys") == 1,
	   "host keys: found, one finding");
	dump(&f);
	p = find(&f, "ssh.host_keys", 0);
	ok(p && p->severity == POLICY_SEV_HIGH && has(p, "2 host keys") &&
		   has(p, "/etc/ssh/ssh_host_ed25519_key (ssh-ed25519 SHA256:") && has(p, fp) &&
		   has(p, "/etc/ssh/ssh_host_rsa_key (ssh-rsa (PEM))"),
	   "host keys: high, the files with their types (and the public key's fingerprint)");
	ok(!has(p, "MIIB") && !has(p, "SECRET") && !has(p, ".pub"),
	   "host keys: nothing of the key's body; .pub files not listed");
	policy_findings_free(&f);

	/* a real key from ssh-keygen: the same fingerprint as ssh-keygen -lf */
	char *kf = pib_asprintf("%s/etc/ssh/ssh_host_ecdsa_key", r), out[512];
	const char *kg[] = {"/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", kf, NULL};
	if (access(kg[0], X_OK) == 0 && run(kg, out, sizeof(out)) == 0 &&
	    fingerprints_by_ssh_keygen(kf, out, sizeof(out))) {
		ok(policy_check_host_keys(r, &f) == 0 && has(find(&f, "ssh.host_keys", 0), out) &&
			   has(find(&f, "ssh.host_keys", 0), "ecdsa-sha2-nistp256"),
		   "host keys: a key made by ssh-keygen: its type and ssh-keygen's fingerprint (%s)", out);
		policy_findings_free(&f);
	} else {
		printf("ok %d - # SKIP no ssh-keygen\n", ++tap_n);
	}
	free(kf);
	free(pem);
	free(r);
}

/* ------------------------------------------------------------------ sudoers */

static void test_sudoers(void)
{
	struct policy_findings f = {0};
	char *r = new_root("sudoers");
	const struct policy_finding *p;

	put(r, "/etc/sudoers",
	    "Defaults env_reset\n"
	    "# a comment: app ALL=(ALL) NOPASSWD: ALL\n"
	    "root ALL=(ALL:ALL) ALL\n"
	    "%sudo ALL=(ALL:ALL) ALL\n"
	    "Cmnd_Alias NOPW = NOPASSWD: ALL\n"
	    "#include extra\n"
	    "@includedir /etc/sudoers.d\n");
	put(r, "/etc/extra", "ops ALL=(ALL) NOPASSWD: /bin/ls, PASSWD: ALL\n");
	put(r, "/etc/sudoers.d/README", "# files here are read\n");
	put(r, "/etc/sudoers.d/app", "\n\napp ALL=(ALL) NOPASSWD: ALL\n");
	put(r, "/etc/sudoers.d/svc",
	    "# svc\nsvc ALL=(root) NOPASSWD:SETENV: /usr/bin/systemctl restart svc, \\\n"
	    "    /usr/bin/journalctl -u svc\n"
	    "deploy ALL = (ALL) NOPASSWD: /bin/ls, \\\n  ALL\n"
	    "%wheel ALL=(ALL) ALL # NOPASSWD: ALL\n"
	    "chown ALL=(ALL) NOPASSWD: /bin/chown a\\:b /srv, ALL\n");
	/* sudo skips these */
	put(r, "/etc/sudoers.d/skip.conf", "x ALL=(ALL) NOPASSWD: ALL\n");
	put(r, "/etc/sudoers.d/app~", "x ALL=(ALL) NOPASSWD: ALL\n");
	/* a cycle */
	put(r, "/etc/sudoers.d/zloop", "@include /etc/sudoers\n");
	ok(policy_check_sudoers(r, &f) == 0, "sudo: checked, the cycle ended");
	dump(&f);
	ok(count(&f, "sudo.nopasswd_all") == 3 &&
		   at(find(&f, "sudo.nopasswd_all", 2), "/etc/sudoers.d/svc", 7),
	   "sudo: three NOPASSWD rules on ALL (an escaped ':' in a command's arguments is no separator)");
	p = find(&f, "sudo.nopasswd_all", 0);
	ok(at(p, "/etc/sudoers.d/app", 3) && p->severity == POLICY_SEV_HIGH &&
		   has(p, "app ALL=(ALL) NOPASSWD: ALL"),
	   "sudo: the drop-in's NOPASSWD: ALL: high, its file and line");
	p = find(&f, "sudo.nopasswd_all", 1);
	ok(at(p, "/etc/sudoers.d/svc", 4),
	   "sudo: NOPASSWD: /bin/ls, ALL over a continuation: ALL too, the rule's first line");
	ok(count(&f, "sudo.nopasswd") == 2, "sudo: two NOPASSWD rules on some commands");
	ok(at(find(&f, "sudo.nopasswd", 0), "/etc/extra", 1),
	   "sudo: #include of a relative path: from the including file's folder; PASSWD: resets the tag");
	p = find(&f, "sudo.nopasswd", 1);
	ok(at(p, "/etc/sudoers.d/svc", 2) && p->severity == POLICY_SEV_MEDIUM && has(p, "journalctl"),
	   "sudo: NOPASSWD:SETENV: on two commands: medium, the continuation joined");
	ok(count(&f, "policy.unread") == 1 && has(find(&f, "policy.unread", 0), "cycle"),
	   "sudo: the include cycle is said");
	ok(f.n == 6, "sudo: comments, aliases, skip.conf and app~ make nothing (%zu findings)", f.n);
	policy_findings_free(&f);

	/* passes */
	put(r, "/etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n");
	ok(policy_check_sudoers(r, &f) == 0 && f.n == 0, "sudo: no NOPASSWD: no finding");
	policy_findings_free(&f);
	put(r, "/etc/sudoers", "@includedir /etc/sudoers.d\n");
	put(r, "/etc/sudoers.d/app", "app ALL=(ALL) ALL\n");
	put(r, "/etc/sudoers.d/svc", "svc ALL=(root) /usr/bin/systemctl\n");
	put(r, "/etc/sudoers.d/zloop", "\n");
	ok(policy_check_sudoers(r, &f) == 0 && f.n == 0, "sudo: drop-ins without NOPASSWD: no finding (%zu)",
	   f.n);
	dump(&f);
	policy_findings_free(&f);
	free(r);
}

static void test_all(void)
{
	struct policy_findings f = {0};
	char *r = new_root("empty");

	ok(policy_check_accounts(r, &f) == 0 && f.n == 0, "all: an empty root: no finding");
	policy_findings_free(&f);
	free(r);
}

int main(void)
{
	if (pib_mkdtemp("pib-test-policy-accounts", &tmp) < 0) {
		printf("Bail out! no temp dir\n");
		return 1;
	}
	test_sshd_dropin();
	test_sshd_values();
	test_sshd_match();
	test_sshd_hostile();
	test_sshd_T();
	test_shadow();
	test_authorized_keys();
	test_host_keys();
	test_sudoers();
	test_all();
	pib_rm_rf(tmp);
	free(tmp);
	return tap_done();
}
