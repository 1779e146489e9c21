/* SPDX-License-Identifier: MIT */
/* Deb signatures: debsig-verify against policies and keyrings built from a target's `keys`. */
#include "debsig.h"
#include "proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define DEBSIG_MAX_KEY_FILES 256         /* as the bundle schema allows */
#define DEBSIG_MAX_KEY_BYTES (1u << 20)  /* one key member */
#define DEBSIG_MAX_PRIMARY 256           /* primary keys, over all key members */
#define DEBSIG_MAX_SUBKEYS 256           /* remembered only to explain a subkey signature */
#define DEBSIG_GPG_TIMEOUT 60            /* seconds */
#define DEBSIG_VERIFY_TIMEOUT 900        /* seconds: it hashes the whole package */
#define DEBSIG_MAX_OUTPUT (64u << 10)
#define DEBSIG_MAX_AR_MEMBERS 10000      /* a .deb has three, four with a signature */

/* debsig-verify's exit codes (debsig-verify(1)). */
enum {
	DS_OK = 0,
	DS_NO_SIG = 10,        /* no origin signature */
	DS_NO_POLICY_DIR = 11, /* signed by a key we have no policy for */
	DS_NO_POLICY = 12,     /* no policy passed the selection */
	DS_BAD_SIG = 13,       /* verification failed */
	DS_INTERNAL = 14,
};

struct ds_key {
	char keyid[17]; /* long key id of the primary key: names its policy and keyring dirs */
	char fpr[41];
	const char *member;
};

struct ds_sub {
	char fpr[41];
	const char *primary_fpr;
	const char *member;
};

struct ds_state {
	struct inst_ctx *c;
	char *gpg, *debsig_verify;
	char *dir, *home, *pols, *rings;
	char *env[8];
	struct ds_key keys[DEBSIG_MAX_PRIMARY];
	size_t n_keys;
	struct ds_sub subs[DEBSIG_MAX_SUBKEYS];
	size_t n_subs;
};

static bool is_upper_hex(const char *s, size_t n)
{
	return strlen(s) == n && pib_str_all_in(s, "0123456789ABCDEF");
}

static void ds_free(struct ds_state *s)
{
	if (s->dir)
		(void)pib_rm_rf(s->dir);
	free(s->dir);
	free(s->home);
	free(s->pols);
	free(s->rings);
	free(s->gpg);
	free(s->debsig_verify);
	for (size_t i = 0; i < sizeof(s->env) / sizeof(s->env[0]); i++)
		free(s->env[i]);
}

/* Runs argv (argv[0] absolute) in the scrubbed environment; the result is the caller's. */
static int ds_run(struct ds_state *s, char *const argv[], double timeout,
		  struct pib_spawn_result *res)
{
	struct pib_spawn_opts so = {.env = s->env,
				    .cwd = s->dir,
				    .timeout = timeout,
				    .max_output = DEBSIG_MAX_OUTPUT,
				    .stdin_fd = -1,
				    .merge_output = true};
	int r = pib_spawn(argv, &so, res);

	if (r < 0)
		return pib_fail(s->c->err, r, PIB_ERR_ENV, "tool.missing", "%s cannot be started: %s",
				argv[0], strerror(-r));
	return 0;
}

static int ds_setup(struct ds_state *s)
{
	struct inst_ctx *c = s->c;
	int r;

	s->gpg = pib_find_tool("gpg");
	s->debsig_verify = pib_find_tool("debsig-verify");
	if (!s->gpg || !s->debsig_verify)
		return pib_fail(c->err, -ENOENT, PIB_ERR_ENV, "tool.missing",
				"%s is not installed on this machine (needed to check the signatures of target \"%s\", which has keys; Debian package %s)",
				!s->debsig_verify ? "debsig-verify" : "gpg", c->target->name,
				!s->debsig_verify ? "debsig-verify" : "gpg");
	if ((r = pib_mkdtemp("pib-debsig", &s->dir)) < 0)
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir",
				"cannot create a private temporary directory: %s", strerror(-r));
	s->home = pib_asprintf("%s/gnupg", s->dir);
	s->pols = pib_asprintf("%s/policies", s->dir);
	s->rings = pib_asprintf("%s/keyrings", s->dir);
	s->env[0] = pib_strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	s->env[1] = pib_strdup("LC_ALL=C.UTF-8");
	s->env[2] = pib_asprintf("HOME=%s", s->dir);
	s->env[3] = pib_asprintf("GNUPGHOME=%s/gnupg", s->dir);
	s->env[4] = pib_asprintf("TMPDIR=%s", s->dir);
	/* debsig-verify runs this gpg, not whatever is first on PATH */
	s->env[5] = pib_asprintf("DEBSIG_GNUPG_PROGRAM=%s", s->gpg);
	for (int i = 0; i < 6; i++)
		if (!s->env[i])
			return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (!s->home || !s->pols || !s->rings)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (mkdir(s->home, 0700) < 0 || mkdir(s->pols, 0700) < 0 || mkdir(s->rings, 0700) < 0) {
		r = -errno;
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", s->dir, strerror(-r));
	}
	return 0;
}

/* The colon-separated field i (0-based) of line, copied into out (size n). */
static void colon_field(const char *line, int i, char *out, size_t n)
{
	const char *p = line;

	for (; i > 0 && p; i--) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	out[0] = '\0';
	if (!p)
		return;
	size_t len = strcspn(p, ":\n");
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

/*
 * Reads the key ids of one key member with `gpg --show-keys`, then imports it into the
 * throwaway GNUPGHOME.
 */
static int ds_add_key_file(struct ds_state *s, const char *member)
{
	struct inst_ctx *c = s->c;
	const struct bundle_member *m = bundle_find(c->bundle, member);
	struct pib_spawn_result res = {0};
	size_t n_primary = 0;
	int r;

	if (!m)
		return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
				"manifest.json: target \"%s\": keys: \"%s\" is not in the bundle",
				c->target->name, member);
	if (m->size > DEBSIG_MAX_KEY_BYTES)
		return pib_fail(c->err, -EFBIG, PIB_ERR_FAILED, "bundle.bad_key",
				"%s: %llu bytes: larger than an OpenPGP public key can reasonably be (at most %u)",
				member, (unsigned long long)m->size, DEBSIG_MAX_KEY_BYTES);

	char *show[] = {s->gpg,
			(char *)"--batch",
			(char *)"--no-tty",
			(char *)"--no-autostart",
			(char *)"--homedir",
			s->home,
			(char *)"--with-colons",
			(char *)"--fixed-list-mode",
			(char *)"--show-keys",
			m->path,
			NULL};
	if ((r = ds_run(s, show, DEBSIG_GPG_TIMEOUT, &res)) < 0)
		goto out;
	struct ds_key *cur = NULL; /* the primary key being read */
	const char *prev = NULL;   /* "pub" or "sub": what the next fpr line belongs to */
	char *save = NULL;
	for (char *l = strtok_r(res.output.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char f[64];
		if (!strncmp(l, "sec:", 4) || !strncmp(l, "ssb:", 4)) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
				     "%s: holds a secret key: a bundle must carry only public keys (and this secret key should be considered leaked)",
				     member);
			goto out;
		}
		if (!strncmp(l, "pub:", 4)) {
			colon_field(l, 4, f, sizeof(f));
			prev = NULL;
			cur = NULL;
			if (!is_upper_hex(f, 16))
				continue;
			n_primary++;
			for (size_t i = 0; i < s->n_keys; i++)
				if (!strcmp(s->keys[i].keyid, f))
					cur = &s->keys[i];
			if (cur) /* the same key in two members: one policy */
				continue;
			if (s->n_keys >= DEBSIG_MAX_PRIMARY) {
				r = pib_fail(c->err, -E2BIG, PIB_ERR_FAILED, "bundle.bad_key",
					     "%s: too many public keys in the target's keys (at most %d)",
					     member, DEBSIG_MAX_PRIMARY);
				goto out;
			}
			cur = &s->keys[s->n_keys++];
			memset(cur, 0, sizeof(*cur));
			memcpy(cur->keyid, f, 17);
			cur->member = member;
			prev = "pub";
		} else if (!strncmp(l, "sub:", 4)) {
			/* past the cap a subkey is not remembered: only its message gets vaguer */
			prev = s->n_subs < DEBSIG_MAX_SUBKEYS && cur ? "sub" : NULL;
		} else if (!strncmp(l, "fpr:", 4) && prev) {
			colon_field(l, 9, f, sizeof(f));
			if (is_upper_hex(f, 40)) {
				if (!strcmp(prev, "pub")) {
					memcpy(cur->fpr, f, 41);
				} else {
					struct ds_sub *sb = &s->subs[s->n_subs++];
					memcpy(sb->fpr, f, 41);
					sb->primary_fpr = cur->fpr;
					sb->member = cur->member;
				}
			}
			prev = NULL;
		}
	}
	if (res.status != 0 || n_primary == 0) {
		r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
			     "%s: not an OpenPGP public key (ASCII-armored or binary): gpg --show-keys %s",
			     member,
			     res.timed_out ? "timed out" : res.status ? "failed" : "found no public key");
		pib_err_detail(c->err, res.output.data, res.output.len);
		goto out;
	}
	for (size_t i = 0; i < s->n_keys; i++)
		if (!s->keys[i].fpr[0]) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
				     "%s: gpg gave no fingerprint for key %s", member, s->keys[i].keyid);
			goto out;
		}

	/* into the throwaway home, from where each key is exported alone (ds_write_policies) */
	pib_spawn_result_free(&res);
	char *import[] = {s->gpg,           (char *)"--batch",    (char *)"--no-tty",
			  (char *)"--no-autostart", (char *)"--homedir", s->home,
			  (char *)"--import", m->path,           NULL};
	if ((r = ds_run(s, import, DEBSIG_GPG_TIMEOUT, &res)) < 0)
		goto out;
	if (res.status != 0) {
		r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
			     "%s: gpg --import %s", member, res.timed_out ? "timed out" : "failed");
		pib_err_detail(c->err, res.output.data, res.output.len);
	}
out:
	pib_spawn_result_free(&res);
	return r;
}

/* KEYRINGS/<KEYID>/debsig.gpg: the key k alone, exported from the throwaway home. */
static int ds_export_key(struct ds_state *s, const struct ds_key *k, const char *kf)
{
	struct inst_ctx *c = s->c;
	struct pib_spawn_result res = {0};
	struct stat st;
	int r;

	char *argv[] = {s->gpg,           (char *)"--batch",    (char *)"--no-tty",
			(char *)"--no-autostart", (char *)"--homedir", s->home,
			(char *)"--output", (char *)kf,        (char *)"--export",
			(char *)k->fpr,   NULL};
	if ((r = ds_run(s, argv, DEBSIG_GPG_TIMEOUT, &res)) < 0)
		goto out;
	if (res.status != 0 || stat(kf, &st) < 0 || st.st_size == 0) {
		r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
			     "%s: gpg cannot export key %s from it (%s)", k->member, k->fpr,
			     res.timed_out ? "timed out" : "gpg --import accepted nothing of it?");
		pib_err_detail(c->err, res.output.data, res.output.len);
	}
out:
	pib_spawn_result_free(&res);
	return r;
}

/*
 * POLICIES/<KEYID>/pib.pol and KEYRINGS/<KEYID>/debsig.gpg for every primary key (each
 * keyring holds that key alone: debsig-verify 0.28 looks only at a keyring's first key). The policy
 * holds only fixed text and hex ids: nothing of the bundle's own words goes into the XML. The
 * description is the fingerprint, so that debsig-verify's "Verified package from '…'" names it.
 */
static int ds_write_policies(struct ds_state *s)
{
	struct inst_ctx *c = s->c;
	int r = 0;

	for (size_t i = 0; i < s->n_keys && r == 0; i++) {
		const struct ds_key *k = &s->keys[i];
		char *pd = pib_asprintf("%s/%s", s->pols, k->keyid);
		char *kd = pib_asprintf("%s/%s", s->rings, k->keyid);
		char *pf = pd ? pib_asprintf("%s/pib.pol", pd) : NULL;
		char *kf = kd ? pib_asprintf("%s/debsig.gpg", kd) : NULL;
		char *pol = pib_asprintf(
			"<?xml version=\"1.0\"?>\n"
			"<!DOCTYPE Policy SYSTEM \"https://www.debian.org/debsig/1.0/policy.dtd\">\n"
			"<Policy xmlns=\"https://www.debian.org/debsig/1.0/\">\n"
			"  <Origin Name=\"pib-agent\" id=\"%s\" Description=\"%s\"/>\n"
			"  <Selection>\n"
			"    <Required Type=\"origin\" File=\"debsig.gpg\" id=\"%s\"/>\n"
			"  </Selection>\n"
			"  <Verification MinOptional=\"0\">\n"
			"    <Required Type=\"origin\" File=\"debsig.gpg\" id=\"%s\"/>\n"
			"  </Verification>\n"
			"</Policy>\n",
			k->keyid, k->fpr, k->keyid, k->keyid);

		if (!pd || !kd || !pf || !kf || !pol) {
			r = pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		} else if (mkdir(pd, 0700) < 0 || mkdir(kd, 0700) < 0) {
			r = -errno;
			r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", pd, strerror(-r));
		} else if ((r = pib_write_file(pf, pol, strlen(pol), 0600)) < 0) {
			r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", pf, strerror(-r));
		} else {
			r = ds_export_key(s, k, kf);
		}
		free(pd);
		free(kd);
		free(pf);
		free(kf);
		free(pol);
	}
	return r;
}

/* The 40-hex fingerprint after `prefix` in text, or "" (out has 41 bytes). */
static void find_fpr(const char *text, const char *prefix, char out[41])
{
	const char *p = text ? strstr(text, prefix) : NULL;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(prefix);
	if (strspn(p, "0123456789ABCDEF") >= 40) {
		memcpy(out, p, 40);
		out[40] = '\0';
	}
}

static const char *ds_key_of(const struct ds_state *s, const char *fpr)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (!strcmp(s->keys[i].fpr, fpr))
			return s->keys[i].member;
	return NULL;
}

static int ds_record(struct inst_ctx *c, const char *member, const char *signer)
{
	struct inst_sig *n = realloc(c->sigs, (c->n_sigs + 1) * sizeof(*n));

	if (!n)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	c->sigs = n;
	memset(&n[c->n_sigs], 0, sizeof(*n)); /* the fields other backends fill too */
	n[c->n_sigs].member = pib_strdup(member);
	n[c->n_sigs].signer = signer ? pib_strdup(signer) : NULL;
	if (!n[c->n_sigs].member || (signer && !n[c->n_sigs].signer)) {
		free(n[c->n_sigs].member);
		free(n[c->n_sigs].signer);
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	c->n_sigs++;
	return 0;
}

/*
 * Whether the .deb at path has an origin signature member (_gpgorigin), from its ar member list
 * read by us: debsig-verify's "no origin signature" also comes out of a member it cannot parse.
 * 1 present, 0 absent, or package.signature_invalid when the list cannot be read to its end.
 */
static int ds_has_origin_member(struct inst_ctx *c, const char *member, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	int found = 0, ar;

	if (!a)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		ar = ARCHIVE_FATAL;
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK && ++n <= DEBSIG_MAX_AR_MEMBERS) {
		const char *name = archive_entry_pathname(e);
		/* GNU ar ends names with '/'; libarchive strips it, a stray one is the same member */
		if (name && (!strcmp(name, "_gpgorigin") || !strcmp(name, "_gpgorigin/")))
			found = 1;
	}
out:
	if (ar != ARCHIVE_EOF) {
		int r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				 "%s: its ar member list cannot be read to the end (%s), so whether it carries a signature is not known",
				 member, n > DEBSIG_MAX_AR_MEMBERS ? "too many members"
				 : archive_error_string(a) ? archive_error_string(a) : "not an ar archive");
		archive_read_free(a);
		return r;
	}
	archive_read_free(a);
	return found;
}

/*
 * debsig-verify on one package; its verdict recorded, or package.signature_invalid. Only a
 * package without any _gpgorigin member is unsigned (accepted with allow_unsigned): one that
 * has it must verify, whatever debsig-verify makes of its bytes.
 */
static int ds_verify_one(struct ds_state *s, const char *member, const char *path)
{
	struct inst_ctx *c = s->c;
	struct pib_spawn_result res = {0};
	char fpr[41];
	int r, present = ds_has_origin_member(c, member, path);

	if (present < 0)
		return present;
	char *argv[] = {s->debsig_verify, (char *)"--policies-dir", s->pols, (char *)"--keyrings-dir",
			s->rings, (char *)path, NULL};
	if ((r = ds_run(s, argv, DEBSIG_VERIFY_TIMEOUT, &res)) < 0)
		goto out;
	const char *text = res.output.data ? res.output.data : "";
	if (res.timed_out) {
		r = pib_fail(c->err, -ETIMEDOUT, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: debsig-verify did not finish within %d s", member,
			     DEBSIG_VERIFY_TIMEOUT);
		goto detail;
	}
	switch (res.status) {
	case DS_OK:
		if (!present) {
			/* verified, though we saw no signature: our reading and debsig-verify's differ */
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				     "%s: debsig-verify verified a signature that is not in its ar member list as read by pib-agent: refused as malformed",
				     member);
			break;
		}
		find_fpr(text, "Verified package from '", fpr);
		r = ds_record(c, member, fpr[0] && ds_key_of(s, fpr) ? fpr : "(debsig-verify did not name the key)");
		goto out;
	case DS_NO_SIG:
		if (present) {
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				     "%s: its _gpgorigin member is not a valid signature (debsig-verify: no origin signature in it); a signature that is there must verify, even with allow_unsigned",
				     member);
			break;
		}
		if (c->target->allow_unsigned) {
			r = ds_record(c, member, NULL);
			goto out;
		}
		r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: not signed (debsig-verify: no origin signature); the target \"%s\" has keys, so every package must be signed by one of them (debsigs --sign=origin), or allow_unsigned must be true",
			     member, c->target->name);
		break;
	case DS_NO_POLICY_DIR: {
		find_fpr(text, "Origin directory for ", fpr);
		const struct ds_sub *sub = NULL;
		for (size_t i = 0; i < s->n_subs && fpr[0]; i++)
			if (!strcmp(s->subs[i].fpr, fpr))
				sub = &s->subs[i];
		if (sub)
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				     "%s: signed by subkey %s of key %s (%s); debsig-verify accepts only signatures made by a primary key: sign with the primary key (debsigs --default-key=%s!)",
				     member, fpr, sub->primary_fpr, sub->member, sub->primary_fpr);
		else
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				     "%s: signed by key %s, which is not one of the keys of target \"%s\"",
				     member, fpr[0] ? fpr : "(not named)", c->target->name);
		break;
	}
	case DS_NO_POLICY:
		r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: debsig-verify found no policy for its signature: signed by a key (or subkey) that is not one of the keys of target \"%s\"",
			     member, c->target->name);
		break;
	case DS_BAD_SIG:
		r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: the signature does not verify: the package was changed after it was signed, or the signature is bad%s",
			     member,
			     strstr(text, "SHA1") ? " (gpg rejects SHA-1 signatures: sign with `digest-algo SHA512` in gpg.conf)" : "");
		break;
	case DS_INTERNAL:
		r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: debsig-verify could not check it (internal error: a corrupt package, or gpg failed)",
			     member);
		break;
	default:
		r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: debsig-verify failed (exit status %d)", member, res.status);
		break;
	}
detail:
	pib_err_detail(c->err, text, strlen(text));
out:
	pib_spawn_result_free(&res);
	return r;
}

int inst_deb_debsig_verify(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	size_t n_files = pib_strv_len(t->keys);
	struct ds_state *s;
	int r;

	if (!t->keys || !t->keys[0])
		return 0;
	if (n_files > DEBSIG_MAX_KEY_FILES)
		return pib_fail(c->err, -E2BIG, PIB_ERR_FAILED, "bundle.bad_key",
				"manifest.json: target \"%s\": keys: %zu files, at most %d", t->name,
				n_files, DEBSIG_MAX_KEY_FILES);
	if (!(s = calloc(1, sizeof(*s))))
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	s->c = c;
	if ((r = ds_setup(s)) < 0)
		goto out;
	for (size_t i = 0; t->keys[i]; i++)
		if ((r = ds_add_key_file(s, t->keys[i])) < 0)
			goto out;
	if ((r = ds_write_policies(s)) < 0)
		goto out;
	for (size_t i = 0; i < t->n_packages; i++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
		if (!m) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
				     "manifest.json: target \"%s\": \"%s\" is not in the bundle", t->name,
				     t->packages[i].file);
			goto out;
		}
		if ((r = ds_verify_one(s, t->packages[i].file, m->path)) < 0)
			goto out;
	}
out:
	ds_free(s);
	free(s);
	return r;
}
