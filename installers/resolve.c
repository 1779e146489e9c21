/* SPDX-License-Identifier: MIT */
/* Resolving a bundle's packages with libsolv against the root's database and repositories. */
#include "resolve.h"
#include "pkgmeta.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/repo_rpmdb.h>
#include <solv/repo_rpmmd.h>
#include <solv/solver.h>
#include <solv/solverdebug.h>
#include <solv/transaction.h>
#include <archive.h>
#include <archive_entry.h>
#include <solv/chksum.h>
#include <solv/solv_xfopen.h>
#include <solv/evr.h>
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
	if (!member && s->repo && s->repo->appdata) {
		/* a package of a local repository: where it is inside the root */
		const char *loc = solvable_lookup_location(s, NULL);
		if (loc && !strstr(loc, "..") && loc[0] != '/')
			k->path = pib_asprintf("%s/%s", (const char *)s->repo->appdata, loc);
	}
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

/*
 * The image's packages are protected: a transaction package that upgrades, downgrades or
 * reinstalls one of them, obsoletes it, or names it in Replaces (and so may take its files),
 * is refused unless the target's may_upgrade names the image's package; Essential, Protected
 * and Priority: required packages never. libsolv keeps neither these fields of dpkg's status
 * nor a deb's Replaces (it folds Replaces into obsoletes only together with Conflicts), so
 * they are read here: the status file, each bundle .deb's control file, the repository index.
 */

#define MAX_STATUS (256u << 20)

/* A package of the image that must never be replaced, and why. */
struct never_pkg {
	char *name;
	const char *why;
};

/* The next stanza of a deb822 text at *pos: [*ret_start, *ret_end); false at the end. */
static bool next_stanza(const char *data, size_t len, size_t *pos, const char **ret_start,
			const char **ret_end)
{
	const char *end = data + len, *p = data + *pos;

	while (p < end && (*p == '\n' || *p == '\r'))
		p++;
	if (p >= end)
		return false;
	const char *q = p;
	for (;;) {
		const char *le = memchr(q, '\n', (size_t)(end - q));
		if (!le) {
			q = end;
			break;
		}
		q = le + 1;
		if (q >= end || *q == '\n' || (*q == '\r' && q + 1 < end && q[1] == '\n'))
			break;
	}
	*ret_start = p;
	*ret_end = q;
	*pos = (size_t)(q - data);
	return true;
}

/*
 * The value of field name in the stanza [p, end), continuation lines joined by one space.
 * Returns 1 with *ret (owned) when present, 0 when absent, -ENOMEM.
 */
static int stanza_field(const char *p, const char *end, const char *name, char **ret)
{
	size_t nl = strlen(name);

	*ret = NULL;
	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (!le)
			le = end;
		if ((size_t)(le - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			struct pib_buf b = {0};
			const char *v = p + nl + 1;
			for (;;) {
				const char *ve = le;
				while (v < ve && (*v == ' ' || *v == '\t'))
					v++;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
					ve--;
				if (ve > v && ((b.len && pib_buf_append(&b, " ", 1) < 0) ||
					       pib_buf_append(&b, v, (size_t)(ve - v)) < 0)) {
					pib_buf_free(&b);
					return -ENOMEM;
				}
				if (le + 1 >= end || (le[1] != ' ' && le[1] != '\t'))
					break;
				v = le + 1;
				le = memchr(v, '\n', (size_t)(end - v));
				if (!le)
					le = end;
			}
			*ret = b.data ? b.data : strdup("");
			return *ret ? 1 : -ENOMEM;
		}
		p = le + 1;
	}
	return 0;
}

static void never_free(struct never_pkg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Every package of ROOT/var/lib/dpkg/status that is Essential, Protected or Priority: required. */
static int read_never(struct inst_ctx *c, struct never_pkg **ret, size_t *ret_n)
{
	char *path = pib_asprintf("%s/var/lib/dpkg/status", strcmp(c->root, "/") ? c->root : "");
	char *data = NULL;
	size_t len = 0, pos = 0, n = 0;
	struct never_pkg *v = NULL;
	const char *s, *e;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!path)
		return -ENOMEM;
	r = pib_read_file(path, MAX_STATUS, &data, &len);
	if (r < 0) {
		r = pib_fail(c->err, r, PIB_ERR_FAILED, "resolve.error", "%s: %s", path, strerror(-r));
		free(path);
		return r;
	}
	free(path);
	while (r >= 0 && next_stanza(data, len, &pos, &s, &e)) {
		char *name = NULL, *ess = NULL, *prot = NULL, *prio = NULL;
		const char *why = NULL;
		if ((r = stanza_field(s, e, "Package", &name)) < 0 ||
		    (r = stanza_field(s, e, "Essential", &ess)) < 0 ||
		    (r = stanza_field(s, e, "Protected", &prot)) < 0 ||
		    (r = stanza_field(s, e, "Priority", &prio)) < 0) {
			r = -ENOMEM;
		} else if (name) {
			if (ess && !strcasecmp(ess, "yes"))
				why = "Essential: yes";
			else if (prot && !strcasecmp(prot, "yes"))
				why = "Protected: yes";
			else if (prio && !strcasecmp(prio, "required"))
				why = "Priority: required";
		}
		if (r >= 0 && why) {
			struct never_pkg *nv = realloc(v, (n + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
			} else {
				v = nv;
				v[n].name = name;
				v[n++].why = why;
				name = NULL;
			}
		}
		free(name);
		free(ess);
		free(prot);
		free(prio);
	}
	free(data);
	if (r < 0) {
		never_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * The packages dnf and yum protect on an rpm image (ROOT/etc/dnf/protected.d/\*.conf and
 * ROOT/etc/yum/protected.d/\*.conf: one name a line, # comments): never changed by a bundle.
 */
static int read_never_rpm(struct inst_ctx *c, struct never_pkg **ret, size_t *ret_n)
{
	static const char *const dirs[] = {"/etc/dnf/protected.d", "/etc/yum/protected.d", NULL};
	struct never_pkg *v = NULL;
	size_t n = 0;
	int r = 0;

	for (int d = 0; dirs[d] && r >= 0; d++) {
		char *host = NULL;
		DIR *dp = pib_path_in_root(c->root, dirs[d], true, &host) == 0 ? opendir(host) : NULL;
		struct dirent *de;
		while (dp && r >= 0 && (de = readdir(dp))) {
			if (!pib_str_has_suffix(de->d_name, ".conf"))
				continue;
			char *inside = pib_asprintf("%s/%s", dirs[d], de->d_name), *p = NULL, *text = NULL;
			size_t len;
			if (inside && pib_path_in_root(c->root, inside, true, &p) == 0 &&
			    pib_read_file(p, 1u << 20, &text, &len) == 0) {
				for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && r >= 0;
				     l = strtok_r(NULL, "\n", &save)) {
					l += strspn(l, " \t");
					l[strcspn(l, " \t\r#")] = '\0';
					if (!*l)
						continue;
					struct never_pkg *nv = realloc(v, (n + 1) * sizeof(*nv));
					if (!nv || !(nv[n].name = strdup(l))) {
						if (nv)
							v = nv;
						r = -ENOMEM;
						break;
					}
					v = nv;
					v[n++].why = d == 0 ? "protected by dnf (/etc/dnf/protected.d)"
							    : "protected by yum (/etc/yum/protected.d)";
				}
			}
			free(inside);
			free(p);
			free(text);
		}
		if (dp)
			closedir(dp);
		free(host);
	}
	if (r < 0) {
		never_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static const char *never_why(const struct never_pkg *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return v[i].why;
	return NULL;
}

/* True when the installed version ver satisfies "op want" (dpkg's relations; << <= = >= >>). */
static bool rel_holds(Pool *pool, const char *ver, const char *op, const char *want)
{
	int cmp = pool_evrcmp_str(pool, ver, want, EVRCMP_COMPARE);

	if (!strcmp(op, "<<"))
		return cmp < 0;
	if (!strcmp(op, "<=") || !strcmp(op, "<"))
		return cmp <= 0;
	if (!strcmp(op, "="))
		return cmp == 0;
	if (!strcmp(op, ">=") || !strcmp(op, ">"))
		return cmp >= 0;
	if (!strcmp(op, ">>"))
		return cmp > 0;
	return true; /* an unknown relation: assume it applies */
}

/* One package of the image that transaction package k would replace. */
struct hit {
	size_t k;  /* index in c->pkgs */
	Id q;      /* the installed solvable */
	const char *how;
};

static int hit_add(struct hit **v, size_t *n, size_t k, Id q, const char *how)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].k == k && (*v)[i].q == q)
			return 0; /* an upgrade that also Replaces its older self is one upgrade */
	struct hit *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = (struct hit){.k = k, .q = q, .how = how};
	return 0;
}

/* The installed packages a Replaces field names (name[:arch] [(op version)], comma-separated). */
static int replaces_hits(Pool *pool, Repo *sys, const char *field, size_t k, struct hit **v,
			 size_t *n)
{
	char *copy = strdup(field), *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *ent = strtok_r(copy, ",|", &save); ent && r >= 0; ent = strtok_r(NULL, ",|", &save)) {
		char name[256], op[3] = "", ver[256] = "";
		while (*ent == ' ' || *ent == '\t')
			ent++;
		size_t nl = strcspn(ent, " \t(:");
		if (nl == 0 || nl >= sizeof(name))
			continue;
		memcpy(name, ent, nl);
		name[nl] = '\0';
		const char *paren = strchr(ent, '(');
		if (paren) {
			const char *o = paren + 1;
			while (*o == ' ')
				o++;
			size_t ol = strspn(o, "<>=");
			if (ol > 2)
				ol = 2;
			memcpy(op, o, ol);
			op[ol] = '\0';
			o += ol;
			while (*o == ' ')
				o++;
			size_t vl = strcspn(o, " )");
			if (vl >= sizeof(ver))
				vl = sizeof(ver) - 1;
			memcpy(ver, o, vl);
			ver[vl] = '\0';
		}
		Id nid = pool_str2id(pool, name, 0);
		if (!nid)
			continue; /* nothing of that name anywhere */
		Solvable *q;
		Id qp;
		FOR_REPO_SOLVABLES(sys, qp, q)
		{
			if (q->name != nid)
				continue;
			if (op[0] && ver[0] && !rel_holds(pool, pool_id2str(pool, q->evr), op, ver))
				continue;
			if ((r = hit_add(v, n, k, qp, "replaces")) < 0)
				break;
		}
	}
	free(copy);
	return r;
}

/* The Replaces of each repository package of the transaction, from its repository's index. */
static int repo_replaces(Pool *pool, const struct resolve_input *in, const Id *ids, size_t n_ids,
			 char **out)
{
	for (size_t i = 0; i < in->n_repos; i++) {
		bool wanted = false;
		for (size_t k = 0; k < n_ids; k++) {
			Solvable *s = pool_id2solvable(pool, ids[k]);
			wanted |= !out[k] && s->repo && s->repo->name &&
				  !strcmp(s->repo->name, in->repos[i].name);
		}
		if (!wanted)
			continue;
		size_t pos = 0;
		const char *st, *en;
		while (next_stanza(in->repos[i].data, in->repos[i].len, &pos, &st, &en)) {
			char *name = NULL;
			int r = stanza_field(st, en, "Package", &name);
			if (r < 0)
				return r;
			if (!name)
				continue;
			for (size_t k = 0; k < n_ids && r >= 0; k++) {
				Solvable *s = pool_id2solvable(pool, ids[k]);
				if (out[k] || !s->repo || !s->repo->name ||
				    strcmp(s->repo->name, in->repos[i].name) ||
				    strcmp(pool_id2str(pool, s->name), name))
					continue;
				char *ver = NULL, *arch = NULL;
				if ((r = stanza_field(st, en, "Version", &ver)) >= 0 &&
				    (r = stanza_field(st, en, "Architecture", &arch)) >= 0 && ver &&
				    !strcmp(ver, pool_id2str(pool, s->evr)) &&
				    (!arch || !strcmp(arch, pool_id2str(pool, s->arch)))) {
					r = stanza_field(st, en, "Replaces", &out[k]);
					if (r == 0)
						out[k] = strdup(""); /* found, no Replaces */
					if (!out[k])
						r = -ENOMEM;
				}
				free(ver);
				free(arch);
			}
			free(name);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool may_upgrade(const struct mf_target *t, const char *name)
{
	for (size_t i = 0; t->may_upgrade && t->may_upgrade[i]; i++)
		if (!strcmp(t->may_upgrade[i], name))
			return true;
	return false;
}

/*
 * Checks the transaction c->pkgs (solvables ids[]) against the image's packages: refuses
 * (resolve.image_package, every case in c->problems) or records what is allowed in
 * c->pkgs[].replaced.
 */
static int protect_image(struct inst_ctx *c, Pool *pool, Repo *sys, Transaction *trans,
			 const struct resolve_input *in, const Id *ids)
{
	const struct mf_target *t = c->target;
	struct never_pkg *never = NULL;
	size_t n_never = 0, n_hits = 0;
	struct hit *hits = NULL;
	char **repl = calloc(c->n_pkgs + 1, sizeof(char *));
	struct pib_buf why = {0};
	Queue obs;
	int r = 0;

	queue_init(&obs);
	if (!repl)
		return -ENOMEM;
	if ((r = in->dist == RESOLVE_DEB ? read_never(c, &never, &n_never)
					 : read_never_rpm(c, &never, &n_never)) < 0)
		goto out;

	/* what libsolv replaces: same name (upgrade, downgrade, reinstall), or obsoleted */
	for (size_t k = 0; k < c->n_pkgs && r >= 0; k++) {
		Solvable *s = pool_id2solvable(pool, ids[k]);
		queue_empty(&obs);
		transaction_all_obs_pkgs(trans, ids[k], &obs);
		for (int i = 0; i < obs.count && r >= 0; i++) {
			Solvable *q = pool_id2solvable(pool, obs.elements[i]);
			const char *how = "obsoletes";
			if (q->name == s->name) {
				int cmp = pool_evrcmp(pool, s->evr, q->evr, EVRCMP_COMPARE);
				how = cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : "reinstall";
			}
			r = hit_add(&hits, &n_hits, k, obs.elements[i], how);
		}
	}
	/* what dpkg lets it take files from: Replaces */
	if (r >= 0 && in->dist == RESOLVE_DEB) {
		for (size_t k = 0; k < c->n_pkgs && r >= 0; k++) {
			if (!c->pkgs[k].path)
				continue;
			size_t len = 0;
			char *ctl = NULL;
			/* read once already at verify: an error here is package.invalid (or agent.oom) */
			if ((r = inst_deb_read_control(c->pkgs[k].path, c->pkgs[k].member, &ctl, &len,
							c->err)) < 0)
				break;
			if (stanza_field(ctl, ctl + len, "Replaces", &repl[k]) < 0)
				r = -ENOMEM;
			free(ctl);
		}
		if (r >= 0)
			r = repo_replaces(pool, in, ids, c->n_pkgs, repl);
		for (size_t k = 0; k < c->n_pkgs && r >= 0; k++)
			if (repl[k] && *repl[k])
				r = replaces_hits(pool, sys, repl[k], k, &hits, &n_hits);
	}
	if (r < 0)
		goto out;

	/* the verdict on each */
	for (size_t i = 0; i < n_hits; i++) {
		struct inst_pkg *p = &c->pkgs[hits[i].k];
		Solvable *q = pool_id2solvable(pool, hits[i].q);
		const char *qn = pool_id2str(pool, q->name), *qv = pool_id2str(pool, q->evr);
		const char *qa = pool_id2str(pool, q->arch);
		const char *nw = never_why(never, n_never, qn);
		const char *from = p->member ? p->member : p->repo;
		if (!nw && may_upgrade(t, qn)) {
			struct inst_replaced *nr = realloc(p->replaced, (p->n_replaced + 1) * sizeof(*nr));
			if (!nr) {
				r = -ENOMEM;
				goto out;
			}
			p->replaced = nr;
			nr = &nr[p->n_replaced++];
			nr->name = strdup(qn);
			nr->version = strdup(qv);
			nr->arch = strdup(qa);
			nr->how = hits[i].how;
			if (!nr->name || !nr->version || !nr->arch) {
				r = -ENOMEM;
				goto out;
			}
			continue;
		}
		if (!strcmp(hits[i].how, "replaces"))
			(void)pib_buf_printf(&why, "%s %s (%s, from %s) would take files of the image's %s %s (%s) (Replaces: %s)",
					     p->name, p->version, p->arch, from, qn, qv, qa, repl[hits[i].k]);
		else if (!strcmp(hits[i].how, "reinstall"))
			(void)pib_buf_printf(&why, "%s %s (%s, from %s) would reinstall the image's %s %s (%s) with other contents",
					     p->name, p->version, p->arch, from, qn, qv, qa);
		else
			(void)pib_buf_printf(&why, "%s %s (%s, from %s) would %s the image's %s %s (%s)",
					     p->name, p->version, p->arch, from,
					     !strcmp(hits[i].how, "obsoletes") ? "obsolete and replace" : hits[i].how,
					     qn, qv, qa);
		if (nw)
			(void)pib_buf_printf(&why, "; %s is %s in the image: never allowed\n", qn, nw);
		else
			(void)pib_buf_printf(&why, "; the target's may_upgrade does not name %s\n", qn);
	}
	if (why.len) {
		c->problems = why.data;
		why.data = NULL;
		r = pib_fail(c->err, -EPERM, PIB_ERR_FAILED, "resolve.image_package",
			     "installing target \"%s\" would change packages of the image, which are protected unless the target's may_upgrade names them:\n%s",
			     t->name, c->problems);
	}
out:
	queue_free(&obs);
	free(hits);
	never_free(never, n_never);
	for (size_t k = 0; k < c->n_pkgs; k++)
		free(repl[k]);
	free(repl);
	pib_buf_free(&why);
	return r;
}

#define MAX_INDEX_BYTES (1024u << 20)

int resolve_read_index(const char *path, char **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct pib_buf b = {0};
	char buf[1 << 16];
	int r = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		r = -EINVAL;
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			r = -EIO;
			goto out;
		}
		if (b.len + (size_t)n > MAX_INDEX_BYTES) {
			r = -EFBIG;
			goto out;
		}
		if ((r = pib_buf_append(&b, buf, (size_t)n)) < 0)
			goto out;
	}
	if (!b.data && (r = pib_buf_append(&b, "", 0)) < 0)
		goto out;
	*ret = b.data;
	*ret_len = b.len;
	b.data = NULL;
out:
	pib_buf_free(&b);
	archive_read_free(a);
	return r;
}

/* A stream that ends in an error past MAX_INDEX_BYTES: a decompression bomb in a root's index stops there. */
struct bounded {
	FILE *in;
	size_t seen;
	bool over;
};

static ssize_t bounded_read(void *cookie, char *buf, size_t size)
{
	struct bounded *b = cookie;
	size_t n = fread(buf, 1, size, b->in);
	if (n == 0 && ferror(b->in))
		return -1;
	b->seen += n;
	if (b->seen > MAX_INDEX_BYTES) {
		b->over = true;
		errno = EFBIG;
		return -1;
	}
	return (ssize_t)n;
}

static int bounded_close(void *cookie)
{
	struct bounded *b = cookie;
	int r = fclose(b->in);
	free(b);
	return r;
}

int resolve_run(struct inst_ctx *c, const struct resolve_input *in)
{
	const struct mf_target *t = c->target;
	Pool *pool = pool_create();
	Solver *solv = NULL;
	Transaction *trans = NULL;
	Queue job;
	Id *bundle_ids = NULL, *pkg_ids = NULL;
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
		rr->appdata = in->repos[i].base;
		FILE *fp = NULL;
		struct bounded *bounded = NULL;
		if (in->repos[i].path) {
			/* streamed and decompressed by libsolv: no copy of a large index in memory */
			int fd = open(in->repos[i].path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			FILE *raw = fd >= 0 ? solv_xfopen_fd(in->repos[i].path, fd, "r") : NULL;
			bounded = raw ? calloc(1, sizeof(*bounded)) : NULL;
			if (bounded) {
				bounded->in = raw;
				fp = fopencookie(bounded, "r",
						 (cookie_io_functions_t){.read = bounded_read, .close = bounded_close});
			}
			if (!fp && bounded) {
				free(bounded);
				bounded = NULL;
			}
			if (!fp && raw) {
				fclose(raw);
				fd = -1;
			}
			if (!fp) {
				int e = fd < 0 ? errno : EINVAL;
				if (fd >= 0)
					close(fd);
				r = pib_fail(c->err, -e, PIB_ERR_FAILED, "resolve.error",
					     "%s: the index of repository %s cannot be read: %s", in->repos[i].path,
					     in->repos[i].name, strerror(e));
				goto out;
			}
		} else if (!(fp = fmemopen(in->repos[i].data, in->repos[i].len ? in->repos[i].len : 1, "r"))) {
			r = pib_fail(c->err, -errno, PIB_ERR_ENV, "resolve.error", "fmemopen: %s",
				     strerror(errno));
			goto out;
		}
		int ar = in->repos[i].len == 0 && !in->repos[i].path ? 0
			 : in->dist == RESOLVE_DEB ? repo_add_debpackages(rr, fp, 0)
						   : repo_add_rpmmd(rr, fp, NULL, 0);
		bool over = bounded && bounded->over;
		fclose(fp); /* frees bounded */
		bounded = NULL;
		if (over) {
			r = pib_fail(c->err, -EFBIG, PIB_ERR_FAILED, "resolve.error",
				     "%s: the index of repository %s is over %u MiB uncompressed: not read further",
				     in->repos[i].path, in->repos[i].name, MAX_INDEX_BYTES >> 20);
			goto out;
		}
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
			/* an image package that a new one obsoletes is replaced, not removed: protect_image
			 * judges it (may_upgrade) */
			if (type == SOLVER_TRANSACTION_ERASE && !transaction_obs_pkg(trans, p)) {
				r = pib_fail(c->err, -EPERM, PIB_ERR_FAILED, "resolve.unsatisfiable",
					     "installing target \"%s\" would remove %s from the image",
					     t->name, pool_solvable2str(pool, s));
				goto out;
			}
			continue; /* replaced by a bundle or repository package */
		}
		/*
		 * The same name, version, architecture and dependencies as a package of the image
		 * (libsolv's "identical"): the image's stays and the bundle's copy is not installed,
		 * as apt does. A same version that differs (CHANGE) is a reinstall over the image's
		 * package, which protect_image refuses unless may_upgrade allows it.
		 */
		if (type == SOLVER_TRANSACTION_REINSTALL)
			continue;
		const char *member = NULL, *path = NULL, *sha = NULL;
		for (size_t i = 0; i < t->n_packages; i++)
			if (bundle_ids[i] == p) {
				const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
				member = t->packages[i].file;
				path = m->path;
				sha = t->packages[i].sha256;
			}
		Id *ni = realloc(pkg_ids, (c->n_pkgs + 1) * sizeof(*ni));
		if (!ni) {
			r = -ENOMEM;
			goto out;
		}
		pkg_ids = ni;
		if ((r = add_pkg(c, pool, p, member, path, sha, type == SOLVER_TRANSACTION_CHANGE)) < 0)
			goto out;
		pkg_ids[c->n_pkgs - 1] = p;
	}
	r = protect_image(c, pool, sys, trans, in, pkg_ids);
out:
	if (r == -ENOMEM)
		pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (trans)
		transaction_free(trans);
	if (solv)
		solver_free(solv);
	queue_free(&job);
	free(bundle_ids);
	free(pkg_ids);
	pool_free(pool);
	return r;
}
