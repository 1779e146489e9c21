/* SPDX-License-Identifier: MIT */
/* The installer registry and the choice of a manifest target for an OS. */
#include "installer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct installer inst_deb;
extern const struct installer inst_rpm;
extern const struct installer inst_msi;

static const struct installer *const installers[] = {
	&inst_deb,
	&inst_rpm,
	&inst_msi,
	NULL,
};

const struct installer *const *inst_all(void)
{
	return installers;
}

const struct installer *inst_find(const char *name)
{
	for (int i = 0; installers[i]; i++)
		if (!strcmp(installers[i]->name, name))
			return installers[i];
	return NULL;
}

static bool id_matches(const struct osinfo *os, const char *id)
{
	if (!strcmp(os->id, id))
		return true;
	for (size_t i = 0; os->id_like && os->id_like[i]; i++)
		if (!strcmp(os->id_like[i], id))
			return true;
	return false;
}

int inst_choose_target(const struct mf_manifest *m, const struct osinfo *os, size_t *ret_index,
		       struct pib_err *err)
{
	struct pib_buf offer = {0};
	int r;

	for (size_t t = 0; t < m->n_targets; t++) {
		const struct mf_target *tg = &m->targets[t];
		bool arch_ok = false;
		for (size_t a = 0; tg->arch[a]; a++)
			if (!strcmp(tg->arch[a], os->arch))
				arch_ok = true;
		for (size_t o = 0; o < tg->n_os; o++) {
			const struct mf_os *mo = &tg->os[o];
			bool ver_ok = false;
			for (size_t v = 0; mo->versions[v]; v++)
				if (os_version_matches(os->version_id, mo->versions[v]))
					ver_ok = true;
			if (id_matches(os, mo->id) && ver_ok && arch_ok) {
				if (!inst_find(tg->installer)) {
					pib_buf_free(&offer);
					return pib_fail(err, -ENOTSUP, PIB_ERR_FAILED, "target.unsupported",
							"target \"%s\" matches %s %s %s, but its installer \"%s\" is not supported yet",
							tg->name, os->id, os->version_id, os->arch,
							tg->installer);
				}
				pib_buf_free(&offer);
				*ret_index = t;
				return 0;
			}
			for (size_t v = 0; mo->versions[v]; v++) {
				for (size_t a = 0; tg->arch[a]; a++)
					if (pib_buf_printf(&offer, "%s%s %s %s", offer.len ? ", " : "",
							   mo->id, mo->versions[v], tg->arch[a]) < 0)
						break;
			}
		}
	}
	r = pib_fail(err, -ENOENT, PIB_ERR_FAILED, "target.none",
		     "no target for %s %s %s; the bundle has: %s", os->id, os->version_id, os->arch,
		     offer.data ? offer.data : "nothing");
	pib_buf_free(&offer);
	return r;
}

void inst_log_command(struct inst_ctx *c, char *const argv[], const struct pib_buf *output)
{
	if (c->log.len)
		(void)pib_buf_append(&c->log, "\n", 1);
	(void)pib_buf_printf(&c->log, "$");
	for (int i = 0; argv[i]; i++)
		(void)pib_buf_printf(&c->log, " %s", argv[i]);
	(void)pib_buf_printf(&c->log, "\n");
	(void)pib_buf_append(&c->log, output->data, output->len);
}

void inst_ctx_free(struct inst_ctx *c)
{
	for (size_t i = 0; i < c->n_pkgs; i++) {
		struct inst_pkg *p = &c->pkgs[i];
		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->member);
		free(p->path);
		free(p->repo);
		pib_strv_free(p->files);
		for (size_t k = 0; k < p->n_replaced; k++) {
			free(p->replaced[k].name);
			free(p->replaced[k].version);
			free(p->replaced[k].arch);
		}
		free(p->replaced);
		cJSON_Delete(p->detail);
	}
	free(c->pkgs);
	c->pkgs = NULL;
	c->n_pkgs = 0;
	free(c->problems);
	free(c->tool);
	free(c->tool_why);
	pib_strv_free(c->unfinished);
	for (size_t i = 0; i < c->n_sigs; i++) {
		free(c->sigs[i].member);
		free(c->sigs[i].signer);
		free(c->sigs[i].subject);
		free(c->sigs[i].cert_sha256);
	}
	free(c->sigs);
	c->sigs = NULL;
	c->n_sigs = 0;
	pib_buf_free(&c->log);
}

int inst_verify_digests(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	size_t ti = 0;

	for (size_t i = 0; i < c->bundle->manifest->n_targets; i++)
		if (&c->bundle->manifest->targets[i] == t)
			ti = i;
	for (size_t i = 0; i < t->n_packages; i++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
		if (!m)
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					"manifest.json: targets[%zu].packages[%zu].file: \"%s\" is not in the bundle",
					ti, i, t->packages[i].file);
		/*
		 * m->sha256 was computed from the bytes as they were written into the bundle's
		 * private 0700 directory, the very file that is later installed: no second read.
		 */
		if (strcmp(m->sha256, t->packages[i].sha256))
			return pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.digest_mismatch",
					"manifest.json: targets[%zu].packages[%zu].sha256: \"%s\" has SHA-256 %s, the manifest says %s",
					ti, i, t->packages[i].file, m->sha256, t->packages[i].sha256);
	}
	return 0;
}
