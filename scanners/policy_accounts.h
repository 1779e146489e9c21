/* SPDX-License-Identifier: MIT */
/*
 * Image policy checks of logins: sshd's effective configuration, password hashes in shadow,
 * authorized_keys, SSH host keys and sudoers NOPASSWD rules, each read from a root (an image's
 * tree, not this machine unless root is "/").
 *
 * Every byte of the root is hostile: paths are resolved inside the root (pib_path_in_root: an
 * absolute link target restarts at the root, ".." stops at it), so a link never reaches a file of
 * the host; a file must be regular before it is opened (a device node of the image is one of the
 * host's devices, a fifo would hang), is opened O_NOFOLLOW|O_NONBLOCK after that resolution and
 * read up to POLICY_ACCOUNTS_MAX_FILE bytes (a bigger file is skipped and said so); a NUL ends a
 * line, never the file; includes (sshd and sudoers) are bounded in depth, at most 1024 files per
 * configuration, and a file already being read is not read again (a cycle). What was skipped
 * becomes a finding of its own (policy.unread, info) naming the file and the reason, so that a
 * silent gap never passes for a clean root. Paths in findings (their path and evidence) went
 * through pib_text_clean: a file name with control characters or bad UTF-8 shows them as \xNN.
 *
 * Only the ssh.* configuration findings depend on sshd being in the root; the others judge the
 * files whether or not sshd or sudo is installed (the keys, hashes and rules are in the image).
 *
 * Findings (scanners/policy.h), by id:
 *   ssh.password_auth      high      PasswordAuthentication yes (also when unset: OpenSSH's default)
 *                                    The four ssh.* configuration rules also give one finding per
 *                                    Match block that sets the keyword to the failing value (same
 *                                    id and severity, the Match line in the evidence).
 *   ssh.root_login         critical  PermitRootLogin yes (prohibit-password, without-password,
 *                                    forced-commands-only and no are fine)
 *   ssh.empty_passwords    critical  PermitEmptyPasswords yes
 *   ssh.kbd_interactive    medium    KbdInteractiveAuthentication (ChallengeResponseAuthentication) yes,
 *                                    also when unset
 *   ssh.host_keys          high      /etc/ssh/ssh_host_*_key present (an image must not ship them)
 *   ssh.authorized_keys    high for root's keys, medium for other users': a file with keys
 *   account.empty_password critical for root, high otherwise: an empty password hash
 *   account.root_password  high      root has a usable (unlocked) password hash
 *   account.password_set   low       another user with a login shell has a usable password hash
 *   sudo.nopasswd_all      high      a rule with NOPASSWD: ... ALL
 *   sudo.nopasswd          medium    any other NOPASSWD rule
 *   policy.unread          info      a file these checks should have read and did not (size cap,
 *                                    include cycle or depth, not a regular file, unreadable)
 * A secret is never shown: a password hash by its scheme only ("sha512crypt"), a key by its type,
 * SHA256 fingerprint and the length of its comment.
 */
#pragma once

#include "policy.h"

#include <stdbool.h>

/* The size cap of every file read by these checks. */
#define POLICY_ACCOUNTS_MAX_FILE (1u << 20)
/* OpenSSH's own limit of nested Include (SERVCONF_MAX_DEPTH). */
#define POLICY_SSHD_MAX_DEPTH 16

/* The keywords judged, in the order of struct policy_sshd's `kw`. */
enum policy_sshd_kw {
	POLICY_SSHD_PASSWORD_AUTH,     /* PasswordAuthentication */
	POLICY_SSHD_KBD_INTERACTIVE,   /* KbdInteractiveAuthentication, ChallengeResponseAuthentication */
	POLICY_SSHD_PERMIT_ROOT_LOGIN, /* PermitRootLogin */
	POLICY_SSHD_PERMIT_EMPTY,      /* PermitEmptyPasswords */
	POLICY_SSHD_AUTHORIZED_KEYS,   /* AuthorizedKeysFile (all its words, space separated) */
	POLICY_SSHD_N_KW,
};
/* "PasswordAuthentication", ... (the modern name) */
const char *policy_sshd_kw_name(enum policy_sshd_kw kw);

/* Where a value came from: a file inside the root and its 1-based line; path NULL = OpenSSH's default. */
struct policy_sshd_value {
	char *value; /* lowercased but for AuthorizedKeysFile, without-password given as prohibit-password */
	char *path;
	unsigned line;
};

/* A keyword a Match block sets (first value in that block), whichever the value. */
struct policy_sshd_match_set {
	enum policy_sshd_kw kw;
	struct policy_sshd_value v;
	char *match;      /* the Match line's criteria, e.g. "User alice" (cleaned for display) */
	char *match_path; /* the Match line's file and line */
	unsigned match_line;
	unsigned block; /* tells Match blocks apart: the same number for the lines of one block */
};

struct policy_sshd {
	bool has_binary; /* /usr/sbin/sshd is a regular file in the root */
	bool has_config; /* /etc/ssh/sshd_config is in the root (when not a readable file: in `unread`) */
	/* The effective value for a connection no Match block is satisfied by ("Match all" is). */
	struct policy_sshd_value kw[POLICY_SSHD_N_KW];
	struct policy_sshd_match_set *matches;
	size_t n_matches;
	/* Files not read, "PATH: reason" each (also made policy.unread findings by policy_check_sshd). */
	char **unread;
};

/*
 * Reads sshd's effective configuration from root as sshd would: /etc/ssh/sshd_config, its Include
 * lines (each word a glob, relative ones under /etc/ssh, matches in glob(3) order i.e. sorted,
 * nested up to POLICY_SSHD_MAX_DEPTH, inside Match blocks too: the included lines belong to that
 * block, and a Match in an included file ends with that file), case-insensitive keywords, the
 * first obtained value of a keyword wins, a Match block runs to the next Match or the end of its
 * file. Unset keywords take OpenSSH 9's defaults. Returns 0 (a root without sshd_config gives the
 * defaults and has_config false) or a negative errno (out of memory).
 */
int policy_sshd_read(const char *root, struct policy_sshd *ret) PIB_MUST_CHECK;
void policy_sshd_free(struct policy_sshd *s);

/*
 * The ssh.* configuration findings (password_auth, root_login, empty_passwords, kbd_interactive),
 * for the plain connection and for each Match block that enables one (its Match line in the
 * evidence). Only when sshd is in the root: /usr/sbin/sshd is a regular file there or
 * /etc/ssh/sshd_config exists (a root with neither gets none, not even for defaults).
 * Returns 0 or a negative errno.
 */
int policy_check_sshd(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/*
 * account.* from /etc/passwd and /etc/shadow: a user's hash is shadow's (its first line for the
 * name, as getspnam) when passwd's field is "x", else passwd's own field (pam_unix's rule). Locked:
 * '!' or '*' first, or nothing crypt(3) could match ("x", "!!"). "root" is uid 0 (toor too). A
 * login shell is any but nologin and false (an empty field is /bin/sh).
 */
int policy_check_shadow(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/*
 * ssh.authorized_keys: for every user of /etc/passwd with an absolute home, the files of
 * AuthorizedKeysFile (sshd's effective value for the plain connection, default
 * ".ssh/authorized_keys .ssh/authorized_keys2", and each value a Match block sets, for the users a
 * "Match User LIST" names or for everyone under other criteria; %h %u %U %% expanded, relative
 * paths under the home, "none" reads nothing) that hold at least one key: one finding per file
 * (a file two users share once), up to 32 keys listed by line, type, SHA256 fingerprint and
 * comment length. Whether or not sshd is installed: the keys are in the image.
 */
int policy_check_authorized_keys(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/* ssh.host_keys: /etc/ssh/ssh_host_*_key files, one finding listing them with their key types. */
int policy_check_host_keys(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/*
 * sudo.*: /etc/sudoers and what it includes (@include, @includedir, #include, #includedir; a
 * relative include is taken from the including file's folder; includedir skips names holding a
 * '.' or ending in '~', as sudo does), backslash continuations joined, the rule's first line cited.
 */
int policy_check_sudoers(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/*
 * The users of /etc/passwd with their password state, for policy_check_shadow and the checks of
 * what an install added (policy_added.c): a user's hash is shadow's (its first line for the name,
 * as getspnam) when passwd's field is "x", else passwd's own field (pam_unix's rule). Nothing of a
 * hash is kept but its scheme's name.
 */
enum policy_pw_state {
	POLICY_PW_NO_ENTRY, /* passwd says "x" and shadow has no line for the name: no password login */
	POLICY_PW_LOCKED,   /* '!' or '*' first, or nothing crypt(3) could match ("x", "!!") */
	POLICY_PW_EMPTY,    /* an empty hash: a login with no password at all */
	POLICY_PW_USABLE,   /* a hash crypt(3) can match */
};
/* "no shadow entry", "locked", "empty", "usable" */
const char *policy_pw_state_name(enum policy_pw_state s);

struct policy_user {
	char *name, *home, *shell; /* as /etc/passwd has them: not cleaned for display */
	unsigned uid, gid, line;   /* line: 1-based, of /etc/passwd */
	enum policy_pw_state pw;
	const char *pw_file; /* where the hash is: "/etc/shadow" or "/etc/passwd" (static) */
	unsigned pw_line;    /* its line there, 0 when none */
	char scheme[40];     /* POLICY_PW_USABLE: "sha512crypt", "yescrypt", ...; else "" */
};

/*
 * /etc/passwd's users (at most 65536, in file order) and their password states from /etc/shadow.
 * A root without passwd has none; a passwd or shadow that cannot be read is a policy.unread
 * finding added to f. Returns 0 (*ret NULL when there are none) or -ENOMEM.
 */
int policy_users_read(const char *root, struct policy_findings *f, struct policy_user **ret, size_t *ret_n)
	PIB_MUST_CHECK;
void policy_users_free(struct policy_user *u, size_t n);
/* A shell that lets a user log in: any but nologin and false (an empty field is /bin/sh). */
bool policy_login_shell(const char *shell);

/*
 * How every check here reads a file of the root, for the checks beside them: path resolved inside
 * the root, a regular file opened O_NOFOLLOW|O_NONBLOCK, at most POLICY_ACCOUNTS_MAX_FILE bytes,
 * NUL-terminated. 0, -ENOENT/-ENOTDIR (absent), -EFBIG (too big), -EINVAL (not a regular file),
 * -EISDIR, -ENOMEM, or another negative errno.
 */
int policy_root_read(const char *root, const char *path, char **ret, size_t *ret_len) PIB_MUST_CHECK;
/* The next line of [*cur, end), its '\n' made a NUL (a NUL inside ends the line, not the file); NULL at the end. */
char *policy_next_line(char **cur, char *end);
/* "PATH: why" for an error of policy_root_read, the path cleaned for display; NULL when out of memory. */
char *policy_unread_reason(const char *path, int r);

/* All of the above. */
int policy_check_accounts(const char *root, struct policy_findings *f) PIB_MUST_CHECK;

/*
 * The SHA256 fingerprint of an SSH public key blob as ssh-keygen -l prints it after "SHA256:":
 * unpadded base64 of the SHA-256 of the blob. out must hold 44 bytes.
 */
void policy_ssh_fingerprint(const unsigned char *blob, size_t len, char out[44]);
