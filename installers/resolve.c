/* SPDX-License-Identifier: MIT */
/* Resolving a bundle's packages with libsolv against the root's database and repositories. */
#include "resolve.h"
#include "pkgmeta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/repo_rpmdb.h>
#include <solv/repo_rpmmd.h>
#include <solv/solver.h>
#include <solv/solverdebug.h>
#include <solv/transaction.h>
#include <solv/chksum.h>
#include <solv/knownid.h>

static int add_pkg(struct inst_ctx *c, Pool *pool, Id p, const char *member, const char *path,
		   const char *sha, bool reinstall)
{
	Solvable *s = pool_id2solvable(pool, p);
	/* names and versions become dpkg's and apt's arguments and paths: policy's syntax first */
	char *where = member ? pib_strdup(member)
			     : pib_asprintf("the image's repository index %s",
					    s->repo && s->repo->name ? s->repo->name : "?");
	if (!where)
		return -ENOMEM;
	int r = inst_pkgmeta_check(c->err, pool->disttype == DISTTYPE_DEB, where,
				   pool_id2str(pool, s->name), pool_id2str(pool, s->evr),
				   pool_id2str(pool, s->arch));
	free(where);
	if (r < 0)
		return r;
	struct inst_pkg *np = realloc(c->pkgs, (c->n_pkgs + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	c->pkgs = np;
	struct inst_pkg *k = &np[c->n_pkgs++];
	memset(k, 0, sizeof(*k));
	k->name = strdup(pool_id2str(pool, s->name));
	k->version = strdup(pool_id2str(pool, s->evr));
	k->arch = strdup(pool_id2str(pool, s->arch));
	k->member = pib_strdup(member);
	k->path = pib_strdup(path);
	k->repo = strdup(s->repo && s->repo->name ? s->repo->name : "?");
	k->reinstall = reinstall;
	if (sha) {
		snprintf(k->sha256, sizeof(k->sha256), "%s", sha);
	} else {
		Id type = 0;
		const char *cs = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
		if (cs && type == REPOKEY_TYPE_SHA256)
			snprintf(k->sha256, sizeof(k->sha256), "%s", cs);
	}
	return (k->name && k->version && k->arch && k->repo) ? 0 : -ENOMEM;
}

static void explain(Solver *solv, struct pib_buf *out)
{
	int count = solver_problem_count(solv);
	Queue rq;

	queue_init(&rq);
	for (Id pi = 1; pi <= count; pi++) {
		(void)pib_buf_printf(out, "problem %d: %s\n", pi, solver_problem2str(solv, pi));
		queue_empty(&rq);
		solver_findallproblemrules(solv, pi, &rq);
		for (int i = 0; i < rq.count; i++) {
			Id source, target, dep;
			SolverRuleinfo type = solver_ruleinfo(solv, rq.elements[i], &source, &target, &dep);
			if (type == SOLVER_RULE_JOB)
				continue; /* "conflicting requests" says nothing more */
			(void)pib_buf_printf(out, "  - %s\n",
					     solver_problemruleinfo2str(solv, type, source, target, dep));
		}
		int sc = solver_solution_count(solv, pi);
		for (Id si = 1; si <= sc; si++) {
			Id p, rp, e = 0;
			(void)pib_buf_printf(out, "  solution %d:", si);
			while ((e = solver_next_solutionelement(solv, pi, si, e, &p, &rp)) != 0)
				(void)pib_buf_printf(out, " %s;", solver_solutionelement2str(solv, p, rp));
			(void)pib_buf_printf(out, "\n");
		}
	}
	queue_free(&rq);
}

/* Names every dependency of the bundle's packages that nothing at all provides. */
static void missing_deps(Pool *pool, const Id *ids, size_t n, struct pib_buf *out)
{
	Queue q;

	queue_init(&q);
	for (size_t i = 0; i < n; i++) {
		Solvable *s = pool_id2solvable(pool, ids[i]);
		struct pib_buf miss = {0};
		queue_empty(&q);
		solvable_lookup_deparray(s, SOLVABLE_REQUIRES, &q, -1);
		for (int k = 0; k < q.count; k++) {
			Id dep = q.elements[k];
			if (dep == SOLVABLE_PREREQMARKER)
				continue;
			Id *pp = pool_whatprovides_ptr(pool, dep);
			if (pp && *pp)
				continue;
			pib_buf_printf(&miss, "%s%s", miss.len ? ", " : "", pool_dep2str(pool, dep));
		}
		if (miss.len)
			pib_buf_printf(out, "%s needs %s: nothing installed, in the bundle or in the image's repositories provides %s\n",
				       pool_solvable2str(pool, s), miss.data,
				       strchr(miss.data, ',') ? "them" : "it");
		pib_buf_free(&miss);
	}
	queue_free(&q);
}

int resolve_run(struct inst_ctx *c, const struct resolve_input *in)
{
	const struct mf_target *t = c->target;
	Pool *pool = pool_create();
	Solver *solv = NULL;
	Transaction *trans = NULL;
	Queue job;
	Id *bundle_ids = NULL;
	int r = 0;

	queue_init(&job);
	if (pool_setdisttype(pool, in->dist == RESOLVE_DEB ? DISTTYPE_DEB : DISTTYPE_RPM) < 0) {
		r = pib_fail(c->err, -ENOTSUP, PIB_ERR_ENV, "resolve.error",
			     "this libsolv cannot switch package semantics");
		goto out;
	}
	pool_setarch(pool, in->arch);
	pool_set_rootdir(pool, c->root);
	pool_set_flag(pool, POOL_FLAG_ADDFILEPROVIDESFILTERED, 1);

	Repo *sys = repo_create(pool, "@System");
	if (in->dist == RESOLVE_DEB) {
		if (repo_add_debdb(sys, REPO_USE_ROOTDIR | REPO_NO_INTERNALIZE) != 0) {
			r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "resolve.error",
				     "%s/var/lib/dpkg/status: %s", strcmp(c->root, "/") ? c->root : "",
				     pool_errstr(pool));
			goto out;
		}
	} else {
		if (repo_add_rpmdb(sys, NULL, REPO_USE_ROOTDIR | REPO_NO_INTERNALIZE) != 0) {
			r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "resolve.error",
				     "the rpm database of %s: %s", c->root, pool_errstr(pool));
			goto out;
		}
	}
	repo_internalize(sys);
	if (in->installed_filter) {
		/* only packages really installed may satisfy a dependency */
		for (Id p = sys->start; p < sys->end; p++) {
			Solvable *s = pool->solvables + p;
			if (s->repo != sys)
				continue;
			const char *st = solvable_lookup_str(s, SOLVABLE_INSTALLSTATUS);
			if (!in->installed_filter(st))
				repo_free_solvable(sys, p, 1);
		}
	}
	pool_set_installed(pool, sys);

	for (size_t i = 0; i < in->n_repos; i++) {
		Repo *rr = repo_create(pool, in->repos[i].name);
		FILE *fp = fmemopen(in->repos[i].data, in->repos[i].len ? in->repos[i].len : 1, "r");
		if (!fp) {
			r = pib_fail(c->err, -errno, PIB_ERR_ENV, "resolve.error", "fmemopen: %s",
				     strerror(errno));
			goto out;
		}
		int ar = in->repos[i].len == 0 ? 0
			 : in->dist == RESOLVE_DEB ? repo_add_debpackages(rr, fp, 0)
						   : repo_add_rpmmd(rr, fp, NULL, 0);
		fclose(fp);
		if (ar != 0) {
			r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "resolve.error",
				     "repository index %s: %s", in->repos[i].name, pool_errstr(pool));
			goto out;
		}
	}

	Repo *brepo = repo_create(pool, "bundle");
	bundle_ids = calloc(t->n_packages + 1, sizeof(Id));
	if (!bundle_ids) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n_packages; i++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
		Id p;
		if (!m) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
				     "%s: not in the bundle", t->packages[i].file);
			goto out;
		}
		p = in->dist == RESOLVE_DEB
			    ? repo_add_deb(brepo, m->path, REPO_NO_INTERNALIZE)
			    : repo_add_rpm(brepo, m->path,
					   REPO_NO_INTERNALIZE | RPM_ADD_WITH_PKGID | RPM_ADD_WITH_HDRID);
		if (!p) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
				     "%s: not a readable %s package: %s", t->packages[i].file,
				     in->dist == RESOLVE_DEB ? "deb" : "rpm", pool_errstr(pool));
			goto out;
		}
		bundle_ids[i] = p;
	}
	repo_internalize(brepo);
	for (size_t i = 0; i < t->n_packages; i++) {
		Solvable *s = pool_id2solvable(pool, bundle_ids[i]);
		const char *arch = pool_id2str(pool, s->arch);
		bool ok = !strcmp(arch, in->arch) || !strcmp(arch, "all") || !strcmp(arch, "noarch");
		for (size_t k = 0; !ok && in->foreign_arches && in->foreign_arches[k]; k++)
			ok = !strcmp(arch, in->foreign_arches[k]);
		if (in->dist == RESOLVE_RPM && !ok)
			ok = pool_arch2score(pool, s->arch) != 0; /* multilib: i686 on x86_64 */
		if (!ok) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.wrong_arch",
				     "%s: architecture %s cannot be installed on this %s image",
				     t->packages[i].file, arch, in->arch);
			goto out;
		}
		queue_push2(&job, SOLVER_INSTALL | SOLVER_SOLVABLE, bundle_ids[i]);
	}

	pool_addfileprovides(pool);
	pool_createwhatprovides(pool);
	solv = solver_create(pool);
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	if (solver_solve(solv, &job) != 0) {
		struct pib_buf why = {0};
		missing_deps(pool, bundle_ids, t->n_packages, &why);
		explain(solv, &why);
		c->problems = why.data;
		/* the message: the problems on one line each, already in words */
		r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "resolve.unsatisfiable",
			     "the packages of target \"%s\" cannot be installed on this image:\n%s",
			     t->name, why.data ? why.data : "");
		goto out;
	}
	trans = solver_create_transaction(solv);
	transaction_order(trans, 0);
	for (int k = 0; k < trans->steps.count; k++) {
		Id p = trans->steps.elements[k];
		Solvable *s = pool_id2solvable(pool, p);
		Id type = transaction_type(trans, p, SOLVER_TRANSACTION_SHOW_ACTIVE |
							    SOLVER_TRANSACTION_SHOW_ALL);
		if (s->repo == sys) {
			if (type == SOLVER_TRANSACTION_ERASE) {
				r = pib_fail(c->err, -EPERM, PIB_ERR_FAILED, "resolve.unsatisfiable",
					     "installing target \"%s\" would remove %s from the image",
					     t->name, pool_solvable2str(pool, s));
				goto out;
			}
			continue; /* replaced by a bundle or repository package */
		}
		const char *member = NULL, *path = NULL, *sha = NULL;
		for (size_t i = 0; i < t->n_packages; i++)
			if (bundle_ids[i] == p) {
				const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
				member = t->packages[i].file;
				path = m->path;
				sha = t->packages[i].sha256;
			}
		if ((r = add_pkg(c, pool, p, member, path, sha, type == SOLVER_TRANSACTION_REINSTALL)) < 0)
			goto out;
	}
out:
	if (r == -ENOMEM)
		pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (trans)
		transaction_free(trans);
	if (solv)
		solver_free(solv);
	queue_free(&job);
	free(bundle_ids);
	pool_free(pool);
	return r;
}
