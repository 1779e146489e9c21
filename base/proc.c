/* SPDX-License-Identifier: MIT */
/* Running a child process: absolute path, fixed argv, scrubbed environment, captured output, timeout. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const tool_dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin",
					"/usr/local/bin", NULL};

char *pib_find_tool(const char *name)
{
	for (int i = 0; tool_dirs[i]; i++) {
		char *p = pib_asprintf("%s/%s", tool_dirs[i], name);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

char *pib_find_tool_in_root(const char *root, const char *name)
{
	for (int i = 0; tool_dirs[i]; i++) {
		char *inside = pib_asprintf("%s/%s", tool_dirs[i], name);
		char *host = NULL;
		if (!inside)
			return NULL;
		if (pib_path_in_root(root, inside, true, &host) == 0 && access(host, X_OK) == 0) {
			free(host);
			return inside;
		}
		free(host);
		free(inside);
	}
	return NULL;
}

static char *const default_env[] = {(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				    (char *)"LANG=C.UTF-8", (char *)"LC_ALL=C.UTF-8", NULL};

static void keep_output(struct pib_spawn_result *res, const char *p, size_t n, size_t max)
{
	if (res->output.len + n > max) {
		/* keep the end: drop the oldest half of what we have */
		size_t drop = res->output.len / 2;
		if (drop < n)
			drop = res->output.len < n ? res->output.len : n;
		memmove(res->output.data, res->output.data + drop, res->output.len - drop);
		res->output.len -= drop;
		res->output.data[res->output.len] = '\0';
		res->output_dropped += drop;
		if (n > max) {
			res->output_dropped += n - max;
			p += n - max;
			n = max;
		}
	}
	if (pib_buf_append(&res->output, p, n) < 0)
		res->output_dropped += n;
}

int pib_spawn(char *const argv[], const struct pib_spawn_opts *opts, struct pib_spawn_result *res)
{
	struct pib_spawn_opts o = {.stdin_fd = -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipefd[2];
	pid_t pid;
	int r;

	memset(res, 0, sizeof(*res));
	if (opts)
		o = *opts;
	if (o.timeout <= 0)
		o.timeout = 3600;
	if (o.max_output == 0)
		o.max_output = 4u << 20;
	if (!argv || !argv[0] || argv[0][0] != '/')
		return -EINVAL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;

	posix_spawn_file_actions_init(&fa);
	if (o.stdin_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, o.stdin_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	if (o.cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o.cwd);
	posix_spawnattr_init(&attr);
	/* own process group, so that a timeout kills the whole tree; default signals */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);

	r = posix_spawn(&pid, argv[0], &fa, &attr, argv, o.env ? o.env : default_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return -r;
	}
	pib_spawn_collect(pid, pipefd[0], &o, res);
	return 0;
}

volatile sig_atomic_t pib_interrupted;
void (*pib_child_hook)(pid_t pid, bool started);

static void on_interrupt(int sig)
{
	pib_interrupted = sig;
}

void pib_catch_interrupts(void)
{
	struct sigaction sa = {.sa_handler = on_interrupt};

	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocking poll or wait returns EINTR and sees the flag */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void pib_spawn_collect(pid_t pid, int outfd, const struct pib_spawn_opts *opts,
		       struct pib_spawn_result *res)
{
	double timeout = opts && opts->timeout > 0 ? opts->timeout : 3600;
	size_t max_output = opts && opts->max_output ? opts->max_output : 4u << 20;
	double deadline = pib_now_mono() + timeout;
	char buf[8192];
	bool open_pipe = true, killed = false;

	if (pib_child_hook)
		pib_child_hook(pid, true);

	while (open_pipe) {
		double left = deadline - pib_now_mono();
		if (left <= 0 || pib_interrupted) {
			if (pib_interrupted)
				res->interrupted = true;
			else
				res->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		struct pollfd pfd = {.fd = outfd, .events = POLLIN};
		int pr = poll(&pfd, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		ssize_t n = read(outfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			open_pipe = false;
		else
			keep_output(res, buf, (size_t)n, max_output);
	}
	close(outfd);

	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, killed ? 0 : WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (w == 0) {
			/* pipe closed but the child lives on (a daemon kept it?): wait bounded */
			if (pib_now_mono() > deadline || pib_interrupted) {
				if (pib_interrupted)
					res->interrupted = true;
				else
					res->timed_out = true;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				killed = true;
			} else {
				usleep(20000);
			}
		}
	}
	if (pib_child_hook)
		pib_child_hook(pid, false);
	if (res->timed_out || res->interrupted)
		res->status = -1;
	else if (WIFEXITED(st))
		res->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->status = 128 + WTERMSIG(st);
	if (!res->output.data)
		(void)pib_buf_append(&res->output, "", 0);
}

void pib_spawn_result_free(struct pib_spawn_result *res)
{
	pib_buf_free(&res->output);
}
