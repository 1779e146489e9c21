/* SPDX-License-Identifier: MIT */
/*
 * Image policy checks of what an install adds to a root: accounts and groups, systemd units it
 * enables (and the ports their sockets would listen on), cron jobs. These list every such thing
 * of a root, so each finding is marked only_new (policy.h): the policy step drops the ones the
 * gold image already had (origin image) and reports those the install brought or changed. A
 * finding's evidence holds what identifies it and what matters of it, never a line number (a line
 * moves when a file is edited above it, and the evidence is part of a finding's key), so that an
 * account, unit or job the install changed (a shell, a password state, a member, a User=, a
 * schedule, a script's bytes) is new, and one it left alone is the image's.
 *
 * Every byte of the root is hostile, as in policy_accounts.h: paths resolved inside the root
 * (pib_path_in_root), files regular, read O_NOFOLLOW|O_NONBLOCK up to POLICY_ACCOUNTS_MAX_FILE
 * (policy_root_read), at most POLICY_ADDED_MAX_DIR entries of a folder (the rest are a
 * policy.unread finding), names and values cleaned with pib_text_clean before they are shown.
 *
 * Findings, by id (severity):
 *   account.added        info; medium with a login shell; high for uid 0 under another name than root
 *                        (a second root). Each user
 *                        of /etc/passwd: uid, gid and its group, home, shell, password state
 *                        (locked, usable with its scheme, empty, no shadow entry; the hash is
 *                        never shown, and account.empty_password / account.password_set judge it)
 *   group.added          info; medium for a privileged group (root, sudo, wheel, adm, docker,
 *                        disk, shadow, or gid 0) with members. Each group of /etc/group: gid,
 *                        members (for a privileged group also the users whose primary group it is)
 *   systemd.unit_enabled low; medium for a .service running as root (no User=, or User=root, and
 *                        no DynamicUser=yes); info when masked. Each link in a *.wants/ or
 *                        *.requires/ folder of /etc/systemd/system, /usr/local/lib/systemd/system,
 *                        /usr/lib/systemd/system, /lib/systemd/system (timers and sockets too):
 *                        the unit, its target, its file, ExecStart's program and User= (a timer:
 *                        its schedule and the unit it runs)
 *   systemd.listen       medium for an IP port on all or other addresses; low on loopback only;
 *                        info for a unix socket, netlink, vsock or a FIFO. Each ListenStream=,
 *                        ListenDatagram=, ListenSequentialPacket= (also ListenFIFO=, ListenNetlink=,
 *                        ListenSpecial=, ListenUSBFunction=, ListenMessageQueue=) of an enabled
 *                        .socket unit
 *   cron.job_added       low; medium when it runs as root. Each job of /etc/crontab,
 *                        /etc/cron.d/ *, /var/spool/cron/crontabs/ * and /var/spool/cron/ * (user =
 *                        the file's name): schedule, user, the command's first 80 characters;
 *                        each executable of /etc/cron.{hourly,daily,weekly,monthly}/ (root, with
 *                        its SHA-256)
 *   policy.unread        info (not only_new): a file or folder these checks should read and did not
 * A unit file is looked up as systemd does: /etc/systemd/system, /usr/local/lib/systemd/system,
 * /usr/lib/systemd/system, /lib/systemd/system (/run is not part of an image), an instance
 * (a@b.service) by its template (a@.service) when it has no file of its own, then its drop-ins
 * (NAME.d/ *.conf in each of these folders, the first of a file name wins, applied in name order).
 */
#pragma once

#include "policy.h"

/* At most this many entries of one folder are looked at (wants folders, cron.d, drop-ins, ...). */
#define POLICY_ADDED_MAX_DIR 4096
/* Of a cron job's command, at most this many characters are shown. */
#define POLICY_ADDED_CMD_SHOWN 80

/* account.added and group.added. 0 or -ENOMEM. */
int policy_check_accounts_added(const char *root, struct policy_findings *f) PIB_MUST_CHECK;
/* systemd.unit_enabled and systemd.listen. 0 or -ENOMEM. */
int policy_check_systemd_added(const char *root, struct policy_findings *f) PIB_MUST_CHECK;
/* cron.job_added. 0 or -ENOMEM. */
int policy_check_cron_added(const char *root, struct policy_findings *f) PIB_MUST_CHECK;
/* All three. 0 or -ENOMEM. */
int policy_check_added(const char *root, struct policy_findings *f) PIB_MUST_CHECK;
