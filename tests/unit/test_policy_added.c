/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the checks of what an install added (scanners/policy_added.c), on small roots
 * made in a temporary folder: accounts with their password states (never a hash shown), groups and
 * privileged membership, systemd units enabled by wants/requires links (a merged /usr read once,
 * templates, drop-ins, masks, continuations, a link out of the root never followed, the size cap,
 * the entry cap of a folder), the ports of enabled sockets, cron jobs of every kind of crontab
 * (commands cut at 80 characters and cleaned), and that every finding is only_new and carries no
 * line number in its evidence (a line inserted above leaves a finding's key alone).
 */
#include "policy_accounts.h"
#include "policy_added.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void put_mode(const char *root, const char *rel, const char *text, int mode)
{
	char *p = pib_asprintf("%s%s", root, rel), *d = pib_strdup(p);
	int fd;

	*strrchr(d, '/') = '\0';
	mkdir_p(d);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || pib_write_all(fd, text, strlen(text)) < 0)
		printf("# cannot write %s\n", p);
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
	free(p);
	free(d);
}

static void put(const char *root, const char *rel, const char *text)
{
	put_mode(root, rel, text, 0644);
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

/* The finding with id whose evidence holds needle (NULL: the first with id). */
static const struct policy_finding *find(const struct policy_findings *f, const char *id, const char *needle)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].id, id) && (!needle || strstr(f->v[i].evidence, needle)))
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

static bool anywhere(const struct policy_findings *f, const char *needle)
{
	for (size_t i = 0; i < f->n; i++)
		if (strstr(f->v[i].evidence, needle) || (f->v[i].path && strstr(f->v[i].path, needle)) ||
		    strstr(f->v[i].title, needle))
			return true;
	return false;
}

/* Every finding but policy.unread is only_new. */
static bool all_only_new(const struct policy_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].only_new != !!strcmp(f->v[i].id, "policy.unread"))
			return false;
	return true;
}

static void dump(const struct policy_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		printf("#   %s [%s]%s %s:%u: %s\n", f->v[i].id, policy_severity_name(f->v[i].severity),
		       f->v[i].only_new ? " new" : "", f->v[i].path ? f->v[i].path : "-", f->v[i].line,
		       f->v[i].evidence);
}

/* ------------------------------------------------------------------ accounts and groups */

static const char hash_alice[] = "$6$0123456789abcdef$Q1w2e3r4t5y6u7i8o9p0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static void test_accounts(void)
{
	struct policy_findings f = {0};
	char *r = new_root("accounts");
	const struct policy_finding *p;

	/* a root with none of the files: nothing */
	ok(policy_check_accounts_added(r, &f) == 0 && f.n == 0, "accounts: an empty root: no finding (%zu)", f.n);
	policy_findings_free(&f);

	put(r, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
	    "bob:x:1001:27::/home/bob:/bin/sh\n"
	    "toor:x:0:0::/root:/bin/sh\n"
	    "carol:x:1002:100::/home/carol:\n"
	    "dave:x:1003:100::/home/dave:/bin/false\n"
	    "esc\x1b[31m:x:1004:100::/home/e:/usr/sbin/nologin\n");
	/* a name of 100000 bytes: appended to passwd */
	{
		char *pw = pib_asprintf("%s/etc/passwd", r);
		FILE *fp = fopen(pw, "a");
		for (int i = 0; fp && i < 100000; i++)
			fputc('a', fp);
		if (fp) {
			fputs(":x:1006:100::/home/long:/usr/sbin/nologin\n", fp);
			fclose(fp);
		}
		free(pw);
	}
	char *shadow = pib_asprintf("root:*:19000:0:99999:7:::\n"
				    "daemon:*:19000:0:99999:7:::\n"
				    "alice:%s:19000:0:99999:7:::\n"
				    "bob:!%s:19000:0:99999:7:::\n"
				    "toor:!:19000::::::\n"
				    "carol::19000::::::\n",
				    hash_alice, hash_alice);
	put(r, "/etc/shadow", shadow);
	free(shadow);
	put(r, "/etc/group",
	    "root:x:0:\n"
	    "daemon:x:1:\n"
	    "sudo:x:27:alice,dave\n"
	    "users:x:100:\n"
	    "docker:x:999:\n"
	    "alice:x:1000:\n");
	ok(policy_check_accounts_added(r, &f) == 0, "accounts: checked");
	dump(&f);
	ok(count(&f, "account.added") == 9, "accounts: one account.added per user (%zu)", count(&f, "account.added"));
	ok(count(&f, "group.added") == 6, "accounts: one group.added per group (%zu)", count(&f, "group.added"));
	ok(all_only_new(&f), "accounts: every finding is only_new");
	p = find(&f, "account.added", "alice:");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "uid 1000, gid 1000 (alice)") && has(p, "home /home/alice") &&
		   has(p, "shell /bin/bash (login shell)") && has(p, "password usable (sha512crypt hash in /etc/shadow, not shown)"),
	   "accounts: alice: medium (login shell), uid, gid, group, home, shell, password usable by scheme");
	ok(p && !strcmp(p->path, "/etc/passwd") && p->line == 3, "accounts: alice: /etc/passwd line 3");
	ok(!anywhere(&f, "0123456789abcdef") && !anywhere(&f, "Q1w2e3"), "accounts: no part of a hash is shown");
	p = find(&f, "account.added", "bob:");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "gid 27 (sudo)") && has(p, "password locked"),
	   "accounts: bob: locked, primary group sudo named");
	p = find(&f, "account.added", "root:");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "password locked"),
	   "accounts: root itself is judged as any account (medium: a login shell)");
	p = find(&f, "account.added", "toor:");
	ok(p && p->severity == POLICY_SEV_HIGH && !strcmp(p->title, "An account with uid 0 (a second root)"),
	   "accounts: toor, uid 0 under another name: high");
	p = find(&f, "account.added", "carol:");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "/bin/sh (empty field)") && has(p, "password empty"),
	   "accounts: carol: an empty shell field is /bin/sh, an empty hash said");
	p = find(&f, "account.added", "dave:");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "no login") && has(p, "password no shadow entry"),
	   "accounts: dave: /bin/false is no login (info), no shadow entry said");
	ok(find(&f, "account.added", "esc\\x1b[31m:") && !anywhere(&f, "\x1b"),
	   "accounts: a name with an escape sequence is shown cleaned");
	p = find(&f, "account.added", "aaaaaaaa");
	ok(p && strlen(p->evidence) < 1000 && has(p, "..."), "accounts: a name of 100000 bytes is shown cut (%zu bytes)",
	   p ? strlen(p->evidence) : 0);
	p = find(&f, "account.added", "daemon:");
	ok(p && p->severity == POLICY_SEV_INFO, "accounts: daemon (nologin): info");
	p = find(&f, "group.added", "sudo (");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "sudo (gid 27, privileged): members alice, dave") &&
		   has(p, "primary group of bob") && p->line == 3,
	   "accounts: sudo: medium, its members and the users it is the primary group of");
	p = find(&f, "group.added", "docker (");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "no members"), "accounts: docker with no members: info");
	p = find(&f, "group.added", "root (");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "primary group of root, toor"),
	   "accounts: root's group: root and toor by their primary group");
	p = find(&f, "group.added", "users (");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "no members") && !has(p, "primary"),
	   "accounts: users, not privileged: the primary users are not listed");
	/* the key: a line inserted above leaves the evidence as it was */
	char *ev = pib_strdup(find(&f, "account.added", "alice:")->evidence);
	policy_findings_free(&f);
	put(r, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "newbie:x:1005:100::/home/n:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
	ok(policy_check_accounts_added(r, &f) == 0, "accounts: a user added above alice: checked");
	p = find(&f, "account.added", "alice:");
	ok(p && p->line == 4 && !strcmp(p->evidence, ev), "accounts: alice's line moved, her evidence did not");
	free(ev);
	policy_findings_free(&f);

	/* policy_check_shadow reads through the same parser: the password findings as before */
	ok(policy_check_shadow(r, &f) == 0 && find(&f, "account.password_set", "alice (uid 1000") &&
		   count(&f, "account.empty_password") == 0,
	   "accounts: policy_check_shadow still finds alice's password");
	policy_findings_free(&f);

	/* unreadable files: /etc/group a folder, /etc/passwd too big (said by policy_check_shadow) */
	char *g = pib_asprintf("%s/etc/group", r);
	unlink(g);
	mkdir(g, 0755);
	free(g);
	ok(policy_check_accounts_added(r, &f) == 0 && find(&f, "policy.unread", "a directory") &&
		   count(&f, "group.added") == 0 && count(&f, "account.added") == 4,
	   "accounts: /etc/group a folder: policy.unread, the users still listed");
	policy_findings_free(&f);
	free(r);
}

/* ------------------------------------------------------------------ systemd */

static void test_systemd(void)
{
	struct policy_findings f = {0};
	char *r = new_root("systemd");
	const struct policy_finding *p;

	ok(policy_check_systemd_added(r, &f) == 0 && f.n == 0, "systemd: an empty root: no finding");
	policy_findings_free(&f);

	/* a merged /usr: /lib is a link to usr/lib */
	char *usrlib = pib_asprintf("%s/usr/lib", r);
	mkdir_p(usrlib);
	free(usrlib);
	link_to(r, "/lib", "usr/lib");
	put(r, "/usr/lib/systemd/system/demo.service",
	    "[Unit]\nDescription=demo\n\n[Service]\n# ExecStart=/not/this\nExecStart=-/usr/bin/demo --serve\n"
	    "ExecStart=/usr/bin/second\n[Install]\nWantedBy=multi-user.target\n");
	link_to(r, "/etc/systemd/system/multi-user.target.wants/demo.service", "/lib/systemd/system/demo.service");
	/* User= from a drop-in; ExecStart reset by another and set again on a continued line */
	put(r, "/usr/lib/systemd/system/svc.service", "[Service]\nExecStart=/usr/bin/old\n");
	put(r, "/etc/systemd/system/svc.service.d/10-user.conf", "[Service]\nUser=svc\n");
	put(r, "/usr/lib/systemd/system/svc.service.d/20-exec.conf", "[Service]\nExecStart=\nExecStart=@/usr/bin/new \\\n  --flag\n");
	put(r, "/usr/lib/systemd/system/svc.service.d/10-user.conf", "[Service]\nUser=root\n"); /* hidden by /etc's */
	link_to(r, "/etc/systemd/system/multi-user.target.wants/svc.service", "/lib/systemd/system/svc.service");
	/* a socket: ports, loopback, a unix path */
	put(r, "/usr/lib/systemd/system/demo.socket",
	    "[Socket]\nListenStream=8080\nListenStream=127.0.0.1:9090\nListenDatagram=[::]:5353\n"
	    "ListenStream=/run/demo.sock\n[Install]\nWantedBy=sockets.target\n");
	link_to(r, "/etc/systemd/system/sockets.target.wants/demo.socket", "/lib/systemd/system/demo.socket");
	/* the same socket required by another target: judged for its ports once */
	link_to(r, "/etc/systemd/system/other.target.requires/demo.socket", "/lib/systemd/system/demo.socket");
	/* a timer */
	put(r, "/usr/lib/systemd/system/tick.timer", "[Timer]\nOnCalendar=daily\nOnBootSec=5min\n");
	link_to(r, "/etc/systemd/system/timers.target.wants/tick.timer", "/lib/systemd/system/tick.timer");
	/* a template's instance */
	put(r, "/usr/lib/systemd/system/getty@.service", "[Service]\nExecStart=/sbin/agetty %I\n");
	link_to(r, "/etc/systemd/system/getty.target.wants/getty@tty1.service", "/lib/systemd/system/getty@.service");
	/* masked in /etc */
	put(r, "/usr/lib/systemd/system/masked.service", "[Service]\nExecStart=/usr/bin/masked\n");
	link_to(r, "/etc/systemd/system/masked.service", "/dev/null");
	link_to(r, "/etc/systemd/system/multi-user.target.wants/masked.service", "/lib/systemd/system/masked.service");
	/* masked by a relative link, and by an empty file */
	put(r, "/usr/lib/systemd/system/masked2.service", "[Service]\nExecStart=/usr/bin/masked2\n");
	link_to(r, "/etc/systemd/system/masked2.service", "../../../dev/null");
	link_to(r, "/etc/systemd/system/multi-user.target.wants/masked2.service", "/lib/systemd/system/masked2.service");
	put(r, "/etc/systemd/system/empty.service", "");
	link_to(r, "/etc/systemd/system/multi-user.target.wants/empty.service", "/etc/systemd/system/empty.service");
	/* a unit shipped enabled in /usr/lib (merged: seen once, not again through /lib) */
	put(r, "/usr/lib/systemd/system/static.service", "[Service]\nExecStart=/usr/bin/static\nDynamicUser=yes\n");
	link_to(r, "/usr/lib/systemd/system/sysinit.target.wants/static.service", "../static.service");
	/* not a unit name, and a plain file: left alone */
	put(r, "/etc/systemd/system/multi-user.target.wants/README", "x\n");
	/* a link out of the root: resolved inside it (no such unit there), never this machine's file */
	char *host = pib_asprintf("%s/host-units", tmp);
	put(tmp, "/host-units/evil.service", "[Service]\nExecStart=/HOSTSECRET\n");
	char *evil = pib_asprintf("%s/evil.service", host);
	link_to(r, "/etc/systemd/system/multi-user.target.wants/evil.service", evil);
	/* a unit file too big */
	char *big = malloc(POLICY_ACCOUNTS_MAX_FILE + 10);
	memset(big, '#', POLICY_ACCOUNTS_MAX_FILE + 9);
	big[POLICY_ACCOUNTS_MAX_FILE + 9] = '\0';
	put(r, "/usr/lib/systemd/system/big.service", big);
	free(big);
	link_to(r, "/etc/systemd/system/multi-user.target.wants/big.service", "/lib/systemd/system/big.service");

	ok(policy_check_systemd_added(r, &f) == 0, "systemd: checked");
	dump(&f);
	ok(all_only_new(&f), "systemd: every finding but policy.unread is only_new");
	p = find(&f, "systemd.unit_enabled", "demo.service wanted by multi-user.target");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "file /etc/systemd/system/demo.service") == false &&
		   has(p, "file /usr/lib/systemd/system/demo.service") && has(p, "ExecStart=/usr/bin/demo;") &&
		   has(p, "no User= (runs as root)") &&
		   !strcmp(p->path, "/etc/systemd/system/multi-user.target.wants/demo.service"),
	   "systemd: demo.service: medium (root), its file, ExecStart's program (the first), no User=");
	p = find(&f, "systemd.unit_enabled", "svc.service");
	ok(p && p->severity == POLICY_SEV_LOW && has(p, "User=svc") && has(p, "ExecStart=/usr/bin/new;"),
	   "systemd: svc.service: User= of /etc's drop-in wins over /usr/lib's same name; ExecStart reset and continued");
	ok(count(&f, "systemd.unit_enabled") == 12, "systemd: 12 links judged (%zu)", count(&f, "systemd.unit_enabled"));
	p = find(&f, "systemd.unit_enabled", "demo.socket wanted by sockets.target");
	ok(p && p->severity == POLICY_SEV_LOW && has(p, "listens on 8080, 127.0.0.1:9090, [::]:5353, /run/demo.sock"),
	   "systemd: demo.socket: low, what it listens on");
	ok(find(&f, "systemd.unit_enabled", "demo.socket required by other.target"),
	   "systemd: a requires link is judged too");
	ok(count(&f, "systemd.listen") == 4, "systemd: four listen findings, once for a socket linked twice (%zu)",
	   count(&f, "systemd.listen"));
	p = find(&f, "systemd.listen", "ListenStream=8080");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "tcp port 8080 on all addresses") &&
		   !strcmp(p->path, "/usr/lib/systemd/system/demo.socket") && p->line == 2,
	   "systemd: ListenStream=8080: medium, tcp on all addresses, the socket file and line");
	p = find(&f, "systemd.listen", "127.0.0.1:9090");
	ok(p && p->severity == POLICY_SEV_LOW && has(p, "loopback only"), "systemd: loopback: low");
	p = find(&f, "systemd.listen", "[::]:5353");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "udp port 5353 on all addresses"), "systemd: udp on [::]: medium");
	p = find(&f, "systemd.listen", "/run/demo.sock");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "unix socket"), "systemd: a unix socket: info");
	p = find(&f, "systemd.unit_enabled", "tick.timer");
	ok(p && p->severity == POLICY_SEV_LOW && has(p, "OnCalendar=daily, OnBootSec=5min; runs tick.service"),
	   "systemd: a timer: its schedule and the unit it runs");
	p = find(&f, "systemd.unit_enabled", "getty@tty1.service");
	ok(p && has(p, "file /usr/lib/systemd/system/getty@.service") && has(p, "ExecStart=/sbin/agetty"),
	   "systemd: an instance read from its template");
	p = find(&f, "systemd.unit_enabled", "masked.service");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "masked (/etc/systemd/system/masked.service)"),
	   "systemd: masked in /etc: info, never started");
	p = find(&f, "systemd.unit_enabled", "masked2.service");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "masked (/etc/systemd/system/masked2.service)"),
	   "systemd: masked by a relative link to /dev/null");
	p = find(&f, "systemd.unit_enabled", "empty.service");
	ok(p && p->severity == POLICY_SEV_INFO && has(p, "masked (/etc/systemd/system/empty.service)"),
	   "systemd: an empty unit file is masked");
	p = find(&f, "systemd.unit_enabled", "static.service wanted by sysinit.target");
	ok(p && p->severity == POLICY_SEV_LOW && has(p, "DynamicUser=yes") &&
		   !strcmp(p->path, "/usr/lib/systemd/system/sysinit.target.wants/static.service"),
	   "systemd: a unit /usr/lib enables: DynamicUser=yes is not root (low)");
	size_t n_static = 0;
	for (size_t i = 0; i < f.n; i++)
		n_static += has(&f.v[i], "static.service");
	ok(n_static == 1, "systemd: /lib and /usr/lib are one folder in a merged root: static.service once (%zu)", n_static);
	p = find(&f, "systemd.unit_enabled", "evil.service");
	ok(p && has(p, "no unit file") && !anywhere(&f, "HOSTSECRET"),
	   "systemd: a link out of the root is resolved inside it: this machine's file is not read");
	p = find(&f, "systemd.unit_enabled", "big.service");
	ok(p && has(p, "larger than") && has(p, "ExecStart=(none)"), "systemd: a unit file over the cap: said, not read");
	ok(!anywhere(&f, "README"), "systemd: a name that is no unit is left alone");
	policy_findings_free(&f);

	/* the entry cap of a folder */
	for (int i = 0; i <= POLICY_ADDED_MAX_DIR; i++) {
		char name[128];
		snprintf(name, sizeof(name), "/etc/systemd/system/many.target.wants/u%05d.service", i);
		link_to(r, name, "/lib/systemd/system/demo.service");
	}
	ok(policy_check_systemd_added(r, &f) == 0, "systemd: 4097 links in a folder: checked");
	size_t many = 0;
	for (size_t i = 0; i < f.n; i++)
		many += has(&f.v[i], "by many.target");
	ok(many == POLICY_ADDED_MAX_DIR, "systemd: %d of them judged (%zu)", POLICY_ADDED_MAX_DIR, many);
	ok(find(&f, "policy.unread", "more than 4096 entries"), "systemd: the rest said in a policy.unread finding");
	policy_findings_free(&f);
	free(host);
	free(evil);
	free(r);
}

/* ------------------------------------------------------------------ cron */

static void test_cron(void)
{
	struct policy_findings f = {0};
	char *r = new_root("cron");
	const struct policy_finding *p;

	ok(policy_check_cron_added(r, &f) == 0 && f.n == 0, "cron: an empty root: no finding");
	policy_findings_free(&f);

	put(r, "/etc/crontab",
	    "SHELL=/bin/sh\n"
	    "PATH = /usr/bin:/bin\n"
	    "# m h dom mon dow user command\n"
	    "17 *\t* * * root cd / && run-parts --report /etc/cron.hourly\n"
	    "@reboot  www-data /usr/bin/warm-cache\n"
	    "* * * * *\n");
	put(r, "/etc/cron.d/x",
	    "MAILTO=\"\"\n"
	    "*/5 * * * * root /usr/bin/pib-demo --tick --a-long-option-name=with-a-long-value "
	    "--another=value-past-eighty TOKEN=s3cr3t-after-80\n"
	    "0 1 * * * nobody /bin/echo \x1b]0;title\x07 done\n");
	put(r, "/etc/cron.d/x.dpkg-old", "* * * * * root /usr/bin/old\n");
	put(r, "/etc/cron.d/.hidden", "* * * * * root /usr/bin/hidden\n");
	put_mode(r, "/etc/cron.daily/backup", "#!/bin/sh\necho hi\n", 0755);
	put_mode(r, "/etc/cron.daily/not-executable", "#!/bin/sh\n", 0644);
	put_mode(r, "/etc/cron.weekly/.placeholder", "", 0755);
	put(r, "/var/spool/cron/crontabs/alice", "# DO NOT EDIT\n30 2 * * 1 /home/alice/bin/report\n");
	put(r, "/var/spool/cron/bob", "@hourly /home/bob/sync\n"); /* the rpm family's spool */
	/* a link out of the root: read inside the root (absent there), never this machine's file */
	put(tmp, "/host-cron/evil", "* * * * * root /HOSTSECRET\n");
	char *evil = pib_asprintf("%s/host-cron/evil", tmp);
	link_to(r, "/etc/cron.d/evil", evil);
	free(evil);

	ok(policy_check_cron_added(r, &f) == 0, "cron: checked");
	dump(&f);
	ok(all_only_new(&f), "cron: every finding is only_new");
	ok(count(&f, "cron.job_added") == 7, "cron: 7 jobs (%zu)", count(&f, "cron.job_added"));
	p = find(&f, "cron.job_added", "17 * * * * as root: cd / && run-parts");
	ok(p && p->severity == POLICY_SEV_MEDIUM && !strcmp(p->path, "/etc/crontab") && p->line == 4,
	   "cron: /etc/crontab's root job: medium, file and line; environment lines are no jobs");
	p = find(&f, "cron.job_added", "@reboot as www-data: /usr/bin/warm-cache");
	ok(p && p->severity == POLICY_SEV_LOW, "cron: @reboot as www-data: low");
	p = find(&f, "cron.job_added", "*/5 * * * * as root: /usr/bin/pib-demo");
	ok(p && p->severity == POLICY_SEV_MEDIUM && has(p, "...") && !has(p, "s3cr3t") &&
		   strlen(strstr(p->evidence, ": /usr") + 2) == POLICY_ADDED_CMD_SHOWN + 3,
	   "cron: a long command: its first 80 characters and '...', nothing after");
	p = find(&f, "cron.job_added", "as nobody");
	ok(p && !anywhere(&f, "\x1b") && !anywhere(&f, "\x07") && has(p, "\\x1b]0;title\\x07"),
	   "cron: control characters of a command are shown as \\xNN");
	ok(!anywhere(&f, "/usr/bin/old") && !anywhere(&f, "/usr/bin/hidden"),
	   "cron: a package's leftover and a hidden file of cron.d are no crontabs");
	p = find(&f, "cron.job_added", "/etc/cron.daily/backup: run daily as root by run-parts (mode 0755, sha256 ");
	ok(p && p->severity == POLICY_SEV_MEDIUM, "cron: an executable of cron.daily: root, its mode and digest");
	ok(!anywhere(&f, "not-executable") && !anywhere(&f, "placeholder"),
	   "cron: run-parts' rules: not executable or hidden: not run");
	p = find(&f, "cron.job_added", "30 2 * * 1 as alice: /home/alice/bin/report");
	ok(p && p->severity == POLICY_SEV_LOW && !strcmp(p->path, "/var/spool/cron/crontabs/alice"),
	   "cron: a user's crontab in the spool: the user is the file's name");
	ok(find(&f, "cron.job_added", "@hourly as bob: /home/bob/sync"), "cron: the rpm family's spool too");
	ok(!anywhere(&f, "HOSTSECRET"), "cron: a link out of the root is not followed out");
	policy_findings_free(&f);

	/* a changed script is a new finding (its digest), an untouched one the same */
	ok(policy_check_cron_added(r, &f) == 0, "cron: again");
	char *before = pib_strdup(find(&f, "cron.job_added", "cron.daily/backup")->evidence);
	policy_findings_free(&f);
	put_mode(r, "/etc/cron.daily/backup", "#!/bin/sh\necho changed\n", 0755);
	ok(policy_check_cron_added(r, &f) == 0 && strcmp(find(&f, "cron.job_added", "cron.daily/backup")->evidence, before),
	   "cron: a script the install changed has other evidence (a new finding)");
	free(before);
	policy_findings_free(&f);
	free(r);
}

static void test_all(void)
{
	struct policy_findings f = {0};
	char *r = new_root("all");

	put(r, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	put(r, "/etc/group", "root:x:0:\n");
	put(r, "/etc/cron.d/a", "@daily root /bin/true\n");
	put(r, "/usr/lib/systemd/system/a.service", "[Service]\nExecStart=/bin/true\nUser=nobody\n");
	link_to(r, "/etc/systemd/system/multi-user.target.wants/a.service", "/usr/lib/systemd/system/a.service");
	ok(policy_check_added(r, &f) == 0 && f.n == 4 && f.v[0].only_new,
	   "all: accounts, groups, units and jobs in one call (%zu)", f.n);
	dump(&f);
	policy_findings_free(&f);
	free(r);
}

int main(void)
{
	if (pib_mkdtemp("pib-test-policy-added", &tmp) < 0) {
		printf("Bail out! no temp dir\n");
		return 1;
	}
	test_accounts();
	test_systemd();
	test_cron();
	test_all();
	pib_rm_rf(tmp);
	free(tmp);
	return tap_done();
}
