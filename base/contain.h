/* SPDX-License-Identifier: MIT */
/* Running a package tool inside a root: pivot_root in private mount, PID, IPC, UTS and network namespaces. */
#pragma once

#include "proc.h"

#include <sys/types.h>

/* A host file offered read-only inside the root as /run/pib-agent/NAME. */
struct contain_file {
	const char *source; /* host path of a regular file */
	const char *name;   /* a plain file name chosen by the caller (no '/') */
};

struct contain_opts {
	const char *root;                 /* canonical absolute host path of the root, not "/" */
	const struct contain_file *files; /* offered under /run/pib-agent/ */
	size_t n_files;
	/*
	 * Host path of an existing regular file of the root (resolved inside it) over which a
	 * policy-rc.d that exits 101 is bind-mounted for the child's lifetime, or NULL.
	 */
	const char *policy_rc_d;
	bool share_network; /* keep the host's network (a download that runs no package code) */
	/*
	 * This machine's tool working on the root from outside it (rpm --root, which chroots its
	 * scriptlets): the same namespaces, a new /proc, the capabilities cut, but no pivot_root
	 * and none of the root's mounts; files and policy_rc_d are not offered.
	 */
	bool host_tool;
	/*
	 * Run the tool as this user (a seller's check): supplementary groups dropped, then the
	 * group and the user set, after the capabilities are cut; with a uid other than 0 none is left.
	 */
	bool set_user;
	uid_t uid;
	gid_t gid;
};

/*
 * Runs argv (argv[0] an absolute path inside the root) as the only process of a fresh PID
 * namespace whose init ends it all: everything the child starts dies with it, and every mount
 * it or the agent made vanishes with the namespace. Inside: the root as "/" (the host's tree
 * unmounted, nothing to escape to), a new /proc, a read-only /sys, a minimal /dev with
 * /dev/pts and /dev/shm, a tmpfs /run, no network unless share_network. The agent dying
 * (even by SIGKILL) kills it all. Returns 0 when the child ran (see res->status), or a
 * negative errno with contain.unavailable (the kernel refused a namespace or a mount; the
 * message says which) in err. root may be "/" only with host_tool (the running system itself:
 * the same namespaces and a new /proc, nothing pivoted).
 */
int contain_spawn(char *const argv[], const struct contain_opts *co, const struct pib_spawn_opts *so,
		  struct pib_spawn_result *res, struct pib_err *err) PIB_MUST_CHECK;
