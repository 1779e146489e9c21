/* SPDX-License-Identifier: MIT */
/* Running a package tool inside a root: pivot_root in private mount, PID, IPC, UTS and network namespaces. */
#include "contain.h"

#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The child may not allocate (it is a copy of a threaded process), so the parent writes the
 * whole setup as a list of operations on host paths, and the child only runs them.
 */
enum op_kind { OP_MOUNT, OP_MKDIR, OP_MKFILE, OP_SYMLINK, OP_WRITE, OP_PIVOT };

struct op {
	enum op_kind kind;
	char *src;            /* mount source, symlink target, or the bytes to write */
	char *dst;            /* host path acted on */
	const char *fstype;
	unsigned long flags;
	const char *data;     /* mount options */
	mode_t mode;
	const char *what;     /* for the error message */
};

struct plan {
	struct op *ops;
	size_t n;
	int oom;
};

struct child {
	const struct plan *plan;
	const struct contain_opts *co;
	char *const *argv;
	char *const *envp;
	int out_w;  /* the output pipe's write end */
	int err_w;  /* setup failures: {op index, errno}; closed by exec */
};

static const char policy_script[] =
	"#!/bin/sh\n# pib-agent: no service starts during a contained install\nexit 101\n";

static void plan_add(struct plan *p, enum op_kind kind, char *src, char *dst, const char *fstype,
		     unsigned long flags, const char *data, mode_t mode, const char *what)
{
	struct op *n;

	if (p->oom || (kind != OP_PIVOT && !dst) || ((kind == OP_SYMLINK || kind == OP_WRITE) && !src)) {
		free(src);
		free(dst);
		p->oom = 1;
		return;
	}
	n = realloc(p->ops, (p->n + 1) * sizeof(*n));
	if (!n) {
		free(src);
		free(dst);
		p->oom = 1;
		return;
	}
	p->ops = n;
	p->ops[p->n++] = (struct op){kind, src, dst, fstype, flags, data, mode, what};
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->ops[i].src);
		free(p->ops[i].dst);
	}
	free(p->ops);
}

/* A directory of the root, resolved inside it, that must exist for a mount on it. */
static int root_dir(const char *root, const char *inside, char **ret, struct pib_err *err)
{
	struct stat st;
	int r = pib_path_in_root(root, inside, true, ret);

	if (r < 0)
		return pib_fail(err, r, PIB_ERR_ENV, "contain.unavailable", "%s%s: %s", root, inside,
				strerror(-r));
	if (lstat(*ret, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = pib_fail(err, -ENOTDIR, PIB_ERR_FAILED, "contain.unavailable",
			     "%s: the root has no %s directory to mount on (a Debian root has one)",
			     *ret, inside);
		free(*ret);
		*ret = NULL;
	}
	return r;
}

static int make_plan(const struct contain_opts *co, struct plan *p, struct pib_err *err)
{
	static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"},
					       {"ptmx", "pts/ptmx"},
					       {NULL, NULL}};
	char *proc = NULL, *sys = NULL, *dev = NULL, *run = NULL;
	const unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
	int r = 0;

	if (co->host_tool) {
		plan_add(p, OP_MOUNT, NULL, strdup("/"), NULL, MS_REC | MS_PRIVATE, NULL, 0,
			 "make every mount private");
		plan_add(p, OP_MOUNT, strdup("proc"), strdup("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			 NULL, 0, "mount the new PID namespace's /proc");
		return p->oom ? pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory") : 0;
	}

	if ((r = root_dir(co->root, "/proc", &proc, err)) < 0 ||
	    (r = root_dir(co->root, "/sys", &sys, err)) < 0 ||
	    (r = root_dir(co->root, "/dev", &dev, err)) < 0 ||
	    (r = root_dir(co->root, "/run", &run, err)) < 0)
		goto out;

	plan_add(p, OP_MOUNT, NULL, strdup("/"), NULL, MS_REC | MS_PRIVATE, NULL, 0,
		 "make every mount private");
	plan_add(p, OP_MOUNT, strdup(co->root), strdup(co->root), NULL, MS_BIND | MS_REC, NULL, 0,
		 "bind the root on itself");
	plan_add(p, OP_MOUNT, strdup("proc"), strdup(proc), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		 NULL, 0, "mount /proc");
	plan_add(p, OP_MOUNT, strdup("sysfs"), strdup(sys), "sysfs",
		 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, "mount /sys");
	plan_add(p, OP_MOUNT, strdup("tmpfs"), strdup(dev), "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME,
		 "mode=0755,size=1m", 0, "mount a private /dev");
	for (int i = 0; devs[i]; i++) {
		plan_add(p, OP_MKFILE, NULL, pib_asprintf("%s/%s", dev, devs[i]), NULL, 0, NULL, 0644,
			 "make a device node's mount point");
		plan_add(p, OP_MOUNT, pib_asprintf("/dev/%s", devs[i]), pib_asprintf("%s/%s", dev, devs[i]),
			 NULL, MS_BIND, NULL, 0, "bind a device node");
	}
	plan_add(p, OP_MKDIR, NULL, pib_asprintf("%s/pts", dev), NULL, 0, NULL, 0755, "mkdir /dev/pts");
	plan_add(p, OP_MKDIR, NULL, pib_asprintf("%s/shm", dev), NULL, 0, NULL, 01777, "mkdir /dev/shm");
	for (int i = 0; links[i][0]; i++)
		plan_add(p, OP_SYMLINK, strdup(links[i][1]), pib_asprintf("%s/%s", dev, links[i][0]), NULL,
			 0, NULL, 0, "symlink in /dev");
	plan_add(p, OP_MOUNT, strdup("devpts"), pib_asprintf("%s/pts", dev), "devpts",
		 MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0, "mount /dev/pts");
	plan_add(p, OP_MOUNT, strdup("tmpfs"), pib_asprintf("%s/shm", dev), "tmpfs",
		 MS_NOSUID | MS_NODEV, "mode=1777", 0, "mount /dev/shm");
	plan_add(p, OP_MOUNT, strdup("tmpfs"), strdup(run), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755",
		 0, "mount a private /run");
	plan_add(p, OP_MKDIR, NULL, pib_asprintf("%s/lock", run), NULL, 0, NULL, 01777, "mkdir /run/lock");
	plan_add(p, OP_MKDIR, NULL, pib_asprintf("%s/pib-agent", run), NULL, 0, NULL, 0755,
		 "mkdir /run/pib-agent");
	for (size_t i = 0; i < co->n_files; i++) {
		if (strchr(co->files[i].name, '/') || co->files[i].name[0] == '.') {
			r = pib_fail(err, -EINVAL, PIB_ERR_ENV, "contain.unavailable",
				     "%s: not a plain file name", co->files[i].name);
			goto out;
		}
		char *at = pib_asprintf("%s/pib-agent/%s", run, co->files[i].name);
		plan_add(p, OP_MKFILE, NULL, pib_strdup(at), NULL, 0, NULL, 0644,
			 "make a package's mount point");
		plan_add(p, OP_MOUNT, strdup(co->files[i].source), pib_strdup(at), NULL, MS_BIND, NULL, 0,
			 "offer a bundle package inside the root");
		plan_add(p, OP_MOUNT, NULL, at, NULL, ro, NULL, 0, "make a bundle package read-only");
	}
	if (co->policy_rc_d) {
		char *script = pib_asprintf("%s/pib-agent/policy-rc.d", run);
		plan_add(p, OP_WRITE, strdup(policy_script), pib_strdup(script), NULL, 0, NULL, 0755,
			 "write policy-rc.d");
		plan_add(p, OP_MOUNT, script, strdup(co->policy_rc_d), NULL, MS_BIND, NULL, 0,
			 "bind policy-rc.d over /usr/sbin/policy-rc.d");
		plan_add(p, OP_MOUNT, NULL, strdup(co->policy_rc_d), NULL, ro, NULL, 0,
			 "make policy-rc.d read-only");
	}
	plan_add(p, OP_PIVOT, NULL, strdup(co->root), NULL, 0, NULL, 0,
		 "pivot_root into the root and unmount the host's tree");
	if (p->oom)
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
out:
	free(proc);
	free(sys);
	free(dev);
	free(run);
	return r;
}

static int run_op(const struct op *o)
{
	int fd;

	switch (o->kind) {
	case OP_MOUNT:
		return mount(o->src, o->dst, o->fstype, o->flags, o->data);
	case OP_MKDIR:
		if (mkdir(o->dst, 0700) < 0)
			return -1;
		return chmod(o->dst, o->mode);
	case OP_MKFILE:
		fd = open(o->dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o->mode);
		return fd < 0 ? -1 : close(fd);
	case OP_SYMLINK:
		return symlink(o->src, o->dst);
	case OP_WRITE: {
		size_t len = strlen(o->src);
		fd = open(o->dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
		if (fd < 0)
			return -1;
		if (write(fd, o->src, len) != (ssize_t)len || fchmod(fd, o->mode) < 0) {
			close(fd);
			return -1;
		}
		return close(fd);
	}
	case OP_PIVOT:
		/* pivot_root(".", "."): the old root lands on top of the new one; then detach it */
		if (chdir(o->dst) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
		    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
			return -1;
		return 0;
	}
	return -1;
}

static void report_failure(int fd, int index, int e)
{
	int msg[2] = {index, e};

	(void)!write(fd, msg, sizeof(msg));
}

/*
 * What package code keeps of root's powers inside the namespaces: what dpkg, apt and maintainer
 * scripts need (owners, modes, setuid tools such as useradd, setcap, chroot), and nothing that
 * reaches past the root: no mount or other CAP_SYS_ADMIN work, no device nodes (CAP_MKNOD,
 * with which a script could make and mount the host's disk), no open_by_handle_at
 * (CAP_DAC_READ_SEARCH), no modules, raw I/O, clock, ptrace or BPF.
 */
static const int kept_caps[] = {CAP_CHOWN,	  CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
				CAP_KILL,	  CAP_SETGID,	    CAP_SETUID, CAP_SETPCAP,
				CAP_NET_BIND_SERVICE, CAP_NET_RAW,  CAP_SYS_CHROOT, CAP_SETFCAP,
				CAP_AUDIT_WRITE};

static bool cap_kept(int cap)
{
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		if (kept_caps[i] == cap)
			return true;
	return false;
}

/* Drops every other capability from the bounding set and the effective, permitted and inheritable sets. */
static int drop_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	for (int cap = 0; cap <= 63; cap++) {
		if (cap_kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		uint32_t keep = 0;
		for (int b = 0; b < 32; b++)
			if (cap_kept(i * 32 + b))
				keep |= 1u << b;
		data[i].effective &= keep;
		data[i].permitted &= keep;
		data[i].inheritable &= keep;
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? -1 : 0;
}

/* The namespace's init: sets the root up, starts the tool, and ends (killing all) when it ends. */
static int child_init(void *arg)
{
	const struct child *c = arg;
	int status = 0;
	pid_t worker;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	umask(022);
	for (size_t i = 0; i < c->plan->n; i++)
		if (run_op(&c->plan->ops[i]) < 0) {
			report_failure(c->err_w, (int)i, errno);
			_exit(127);
		}
	(void)!sethostname("pib-agent-install", strlen("pib-agent-install"));

	worker = fork();
	if (worker < 0) {
		report_failure(c->err_w, -1, errno);
		_exit(127);
	}
	if (worker == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in < 0 || dup2(in, 0) < 0 || dup2(c->out_w, 1) < 0 || dup2(c->out_w, 2) < 0) {
			report_failure(c->err_w, -2, errno);
			_exit(127);
		}
		if (drop_caps() < 0) {
			report_failure(c->err_w, -4, errno);
			_exit(127);
		}
		if (c->co->set_user &&
		    (setgroups(0, NULL) < 0 || setresgid(c->co->gid, c->co->gid, c->co->gid) < 0 ||
		     setresuid(c->co->uid, c->co->uid, c->co->uid) < 0)) {
			report_failure(c->err_w, -5, errno);
			_exit(127);
		}
		if (c->co->set_user && chdir("/") < 0) {
			report_failure(c->err_w, -5, errno);
			_exit(127);
		}
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		execve(c->argv[0], c->argv, c->envp);
		report_failure(c->err_w, -3, errno);
		_exit(127);
	}
	close(c->err_w);
	close(c->out_w);
	for (;;) {
		int st;
		pid_t w = wait(&st);
		if (w == worker) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
	}
	/* init ends: the kernel kills whatever the tool left running in the namespace */
	_exit(status);
}

int contain_spawn(char *const argv[], const struct contain_opts *co, const struct pib_spawn_opts *so,
		  struct pib_spawn_result *res, struct pib_err *err)
{
	static char *const default_env[] = {
		(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		(char *)"LANG=C.UTF-8", NULL};
	struct plan plan = {0};
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, r;
	const size_t stack_size = 256 * 1024;
	char *stack = NULL;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (!argv || !argv[0] || argv[0][0] != '/' || !co->root || co->root[0] != '/' ||
	    (!strcmp(co->root, "/") && !co->host_tool))
		return pib_fail(err, -EINVAL, PIB_ERR_ENV, "contain.unavailable",
				"a contained run (install or seller check) needs a root other than / and an absolute tool path");
	if ((r = make_plan(co, &plan, err)) < 0)
		goto out;
	stack = malloc(stack_size);
	if (!stack || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "contain.unavailable", "pipe: %s", strerror(errno));
		goto out;
	}
	struct child c = {.plan = &plan, .co = co, .argv = argv, .envp = so && so->env ? so->env : default_env,
			  .out_w = outp[1], .err_w = errp[1]};
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	if (!co->share_network)
		flags |= CLONE_NEWNET;
	pid = clone(child_init, stack + stack_size, flags, &c);
	if (pid < 0) {
		r = pib_fail(err, -errno, PIB_ERR_ENV, "contain.unavailable",
			     "the kernel refused new mount, PID, IPC, UTS or network namespaces "
			     "(clone: %s): refusing to install into %s uncontained",
			     strerror(errno), co->root);
		goto out;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	/* the error pipe closes when the tool has been exec'd (or says why the setup failed) */
	int msg[2];
	ssize_t n;
	do
		n = read(errp[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(msg)) {
		const char *what = msg[0] >= 0 && (size_t)msg[0] < plan.n ? plan.ops[msg[0]].what
				   : msg[0] == -3 ? "start the tool"
				   : msg[0] == -4 ? "drop the capabilities package code must not have"
				   : msg[0] == -5 ? "take the user's identity"
						  : "start the tool's process";
		const char *where = msg[0] >= 0 && (size_t)msg[0] < plan.n ? plan.ops[msg[0]].dst : argv[0];
		r = pib_fail(err, -msg[1], msg[0] == -3 ? PIB_ERR_FAILED : PIB_ERR_ENV,
			     msg[0] == -3 ? "tool.missing" : "contain.unavailable",
			     "contained %s in %s: cannot %s (%s): %s%s", co->set_user ? "check" : "install", co->root, what,
			     where ? where : "", strerror(msg[1]),
			     msg[1] == EPERM ? " (the kernel or a container refused it; the agent needs "
					       "root with CAP_SYS_ADMIN)"
					     : "");
		kill(pid, SIGKILL);
		close(outp[0]);
		outp[0] = -1;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	pib_spawn_collect(pid, outp[0], so, res);
	outp[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(stack);
	plan_free(&plan);
	return r;
}
