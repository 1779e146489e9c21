/* SPDX-License-Identifier: MIT */
/* The Windows policy checks, judged from an MSI's tables (policy_msi.h). */
#include "policy_msi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOWN_MAX 80u /* bytes of a registry value or a custom action's target shown */

static const char *const inside_roots[] = {
    "[ProgramFilesFolder]",  "[ProgramFiles64Folder]", "[CommonFilesFolder]",
    "[CommonFiles64Folder]", "[CommonAppDataFolder]",
};

bool policy_msi_path_inside(const char *path)
{
	for (size_t i = 0; path && i < sizeof(inside_roots) / sizeof(inside_roots[0]); i++) {
		size_t l = strlen(inside_roots[i]);
		if (!strncmp(path, inside_roots[i], l)) {
			const char *slash = strchr(path + l, '/');
			return slash &&
			       slash > path + l; /* a named folder below the root, then more */
		}
	}
	return false;
}

static bool ci_prefix(const char **s, const char *prefix)
{
	size_t l = strlen(prefix);
	if (strncasecmp(*s, prefix, l))
		return false;
	*s += l;
	return true;
}

bool policy_msi_is_run_key(int32_t root, const char *key)
{
	static const char *const runs[] = {"Run", "RunOnce", "RunServices", "RunServicesOnce"};
	const char *k = key;

	if (!k || root < -1 || root > 3 || root == 0) /* HKCR holds no Run key */
		return false;
	while (*k == '\\')
		k++;
	if (root == 3) { /* HKU\SID\Software\...: the user's SID or .DEFAULT first */
		const char *bs = strchr(k, '\\');
		if (!bs)
			return false;
		k = bs + 1;
	}
	if (!ci_prefix(&k, "Software\\"))
		return false;
	ci_prefix(&k, "Wow6432Node\\");
	if (!ci_prefix(&k, "Microsoft\\Windows\\CurrentVersion\\"))
		return false;
	if (ci_prefix(&k, "Policies\\Explorer\\Run"))
		return !*k || !strcmp(k, "\\");
	if (ci_prefix(&k, "RunOnceEx"))
		return !*k || *k == '\\';
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		if (!strcasecmp(k, runs[i]) || (!strncasecmp(k, runs[i], strlen(runs[i])) &&
						!strcmp(k + strlen(runs[i]), "\\")))
			return true;
	return false;
}

/* The first SHOWN_MAX bytes of s (cut on a character's start, "..." added), cleaned for the report.
 * NULL on OOM. */
static char *shown(const char *s)
{
	if (!s)
		return pib_strdup("(null)");
	size_t n = strlen(s);
	if (n <= SHOWN_MAX)
		return pib_text_clean(s, false);
	n = SHOWN_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	char *cut = pib_asprintf("%.*s...", (int)n, s);
	char *r = cut ? pib_text_clean(cut, false) : NULL;
	free(cut);
	return r;
}

static const struct msi_file *file_by_key(const struct msi_tables *t, const char *key)
{
	for (size_t i = 0; key && i < t->n_files; i++)
		if (!strcmp(t->files[i].key, key))
			return &t->files[i];
	return NULL;
}

static const struct msi_dir *dir_by_id(const struct msi_tables *t, const char *id)
{
	for (size_t i = 0; id && i < t->n_dirs; i++)
		if (!strcmp(t->dirs[i].id, id))
			return &t->dirs[i];
	return NULL;
}

static int oom(struct pib_err *err)
{
	return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
}

static int check_services(const struct msi_tables *t, const char *name, struct policy_findings *f,
			  struct pib_err *err)
{
	for (size_t i = 0; i < t->n_services; i++) {
		const struct msi_service *s = &t->services[i];
		const char *account = msi_service_account(s->start_name);
		const char *start = msi_service_start_word(s->start_type);
		bool at_boot = s->start_type >= 0 && s->start_type <= 2;
		bool system = !strcmp(account, "LocalSystem");
		const struct msi_file *bin = file_by_key(t, s->c ? s->c->key_path : NULL);
		char *key = pib_text_clean(s->key, false), *sname = pib_text_clean(s->name, false);
		char *acc = pib_text_clean(account, false),
		     *binary = bin ? pib_text_clean(bin->path, false) : NULL;
		char *comp = pib_text_clean(s->component, false),
		     *args = s->arguments ? shown(s->arguments) : NULL;
		int r = -ENOMEM;
		if (key && sname && acc && comp && (bin ? !!binary : true) &&
		    (s->arguments ? !!args : true))
			r = policy_add(
			    f, "msi.service",
			    at_boot && system ? POLICY_SEV_HIGH : POLICY_SEV_MEDIUM,
			    at_boot && system
				? "the MSI installs a service that starts by itself as LocalSystem"
				: "the MSI installs a Windows service",
			    name, 0,
			    "run the service as a least-privileged account (NT "
			    "AUTHORITY\\LocalService, "
			    "NetworkService or a virtual account) and start it on demand unless it "
			    "must run at boot",
			    "ServiceInstall %s: service %s, start %s (StartType %d), account %s, "
			    "binary %s%s%s%s",
			    key, sname, start, (int)s->start_type, acc,
			    binary ? binary : "unknown (its component has no key file)",
			    args ? ", arguments \"" : "", args ? args : "", args ? "\"" : "");
		free(key);
		free(sname);
		free(acc);
		free(binary);
		free(comp);
		free(args);
		if (r < 0)
			return oom(err);
	}
	return 0;
}

static const char *root_word(int32_t root)
{
	const char *w = msi_registry_root_word(root);
	return root == -1 ? "HKLM or HKCU (by ALLUSERS)" : w ? w : "unknown root";
}

static int check_run_keys(const struct msi_tables *t, const char *name, struct policy_findings *f,
			  struct pib_err *err)
{
	for (size_t i = 0; i < t->n_regs; i++) {
		const struct msi_registry *g = &t->regs[i];
		if (!g->value || !policy_msi_is_run_key(g->root, g->reg_key))
			continue;
		/* "+", "-" and "*" with no value make or delete the key itself: not a value written
		 */
		if (g->name &&
		    (!strcmp(g->name, "+") || !strcmp(g->name, "-") || !strcmp(g->name, "*")))
			continue;
		char *key = pib_text_clean(g->key, false), *rk = shown(g->reg_key);
		char *vname = g->name ? shown(g->name) : pib_strdup("(default)"),
		     *val = shown(g->value);
		char *comp = pib_text_clean(g->component, false);
		int r = -ENOMEM;
		if (key && rk && vname && val && comp)
			r = policy_add(
			    f, "msi.run_key", POLICY_SEV_MEDIUM,
			    "the MSI makes a program start at every logon (a Run registry key)",
			    name, 0,
			    "start the program as a service or a scheduled task the customer can "
			    "see and turn "
			    "off, or leave starting it to the customer",
			    "Registry %s: %s\\%s, value %s = \"%s\" (component %s)", key,
			    root_word(g->root), rk, vname, val, comp);
		free(key);
		free(rk);
		free(vname);
		free(val);
		free(comp);
		if (r < 0)
			return oom(err);
	}
	return 0;
}

/* Where a custom action's code comes from, in words: the installed file's path, the Binary row, ...
 */
static char *action_source(const struct msi_tables *t, const struct msi_action *a)
{
	const char *w = msi_ca_source_word(a->type);
	char *src = a->source ? pib_text_clean(a->source, false) : pib_strdup("(none)");
	char *r = NULL;
	if (!src)
		return NULL;
	if (!strcmp(w, "file")) {
		const struct msi_file *fl = file_by_key(t, a->source);
		char *p = fl ? pib_text_clean(fl->path, false) : NULL;
		r = fl ? (p ? pib_asprintf("File %s (%s)", src, p) : NULL)
		       : pib_asprintf("File %s (no such File row)", src);
		free(p);
	} else if (!strcmp(w, "directory")) {
		const struct msi_dir *d = dir_by_id(t, a->source);
		char *p = d && d->path ? pib_text_clean(d->path, false) : NULL;
		r = p ? pib_asprintf("working directory %s (%s)", src, p)
		      : pib_asprintf("working directory %s", src);
		free(p);
	} else if (!strcmp(w, "binary")) {
		r = pib_asprintf("Binary table row %s", src);
	} else if (!strcmp(w, "property")) {
		r = pib_asprintf("property %s", src);
	} else {
		r = pib_asprintf("%s", src);
	}
	free(src);
	return r;
}

static int check_actions(const struct msi_tables *t, const char *name, struct policy_findings *f,
			 struct pib_err *err)
{
	for (size_t i = 0; i < t->n_actions; i++) {
		const struct msi_action *a = &t->actions[i];
		if (!msi_ca_runs_as_system(a->type) || !msi_ca_runs_code(a->type))
			continue;
		struct pib_buf words = {0};
		char *act = pib_text_clean(a->action, false), *src = action_source(t, a);
		char *target = (a->type & MSI_CA_HIDE_TARGET)
				   ? pib_strdup("hidden by the MSI (HideTarget): not shown")
			       : a->target ? shown(a->target)
					   : pib_strdup("(none)");
		char *cond = a->condition ? shown(a->condition) : NULL;
		char *seq =
		    !a->sequenced ? pib_strdup("not in InstallExecuteSequence (another sequence or "
					       "a DoAction may run it)")
		    : a->sequence == MSI_NULL_INT
			? pib_asprintf(
			      "in InstallExecuteSequence with no Sequence number, condition %s",
			      cond ? cond : "none")
			: pib_asprintf("in InstallExecuteSequence at %d, condition %s",
				       (int)a->sequence, cond ? cond : "none");
		int r = -ENOMEM;
		if (act && src && target && seq && (a->condition ? !!cond : true) &&
		    msi_ca_describe(a->type, &words) == 0)
			r = policy_add(
			    f, "msi.custom_action_system", POLICY_SEV_HIGH,
			    "the MSI runs code as LocalSystem (a deferred custom action without "
			    "impersonation)",
			    name, 0,
			    "impersonate the installing user (Impersonate=\"yes\"), or do the work "
			    "with the MSI's "
			    "standard tables; if LocalSystem is needed, say what the action does "
			    "and why",
			    "CustomAction %s: type %d (%s), source %s, target \"%s\"; %s", act,
			    (int)a->type, words.data, src, target, seq);
		pib_buf_free(&words);
		free(act);
		free(src);
		free(target);
		free(cond);
		free(seq);
		if (r < 0)
			return oom(err);
	}
	return 0;
}

static int check_files(const struct msi_tables *t, const char *name, struct policy_findings *f,
		       struct pib_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_files; i++) {
		const struct msi_file *fl = &t->files[i];
		if (policy_msi_path_inside(fl->path))
			continue;
		if (n++ >= POLICY_MSI_OUTSIDE_MAX)
			continue;
		char *key = pib_text_clean(fl->key, false), *p = pib_text_clean(fl->path, false);
		char *comp = pib_text_clean(fl->component, false),
		     *dir = fl->c ? pib_text_clean(fl->c->dir, false) : NULL;
		int r = -ENOMEM;
		if (key && p && comp && dir)
			r = policy_add(
			    f, "msi.file_outside_installdir", POLICY_SEV_MEDIUM,
			    "the MSI puts a file outside the product's own folders", name, 0,
			    "install the product's files under a folder of its own in Program "
			    "Files, Common "
			    "Files or ProgramData",
			    "File %s (component %s, directory %s): %s, not below a named folder of "
			    "[ProgramFilesFolder], [ProgramFiles64Folder], [CommonFilesFolder], "
			    "[CommonFiles64Folder] or [CommonAppDataFolder]",
			    key, comp, dir, p);
		free(key);
		free(p);
		free(comp);
		free(dir);
		if (r < 0)
			return oom(err);
	}
	if (n > POLICY_MSI_OUTSIDE_MAX &&
	    policy_add(f, "msi.file_outside_installdir", POLICY_SEV_MEDIUM,
		       "the MSI puts more files outside the product's own folders", name, 0,
		       "install the product's files under a folder of its own in Program Files, "
		       "Common Files or ProgramData",
		       "%zu more files outside the product's folders, not listed one by one (the "
		       "first %u are)",
		       n - POLICY_MSI_OUTSIDE_MAX, POLICY_MSI_OUTSIDE_MAX) < 0)
		return oom(err);
	return 0;
}

int policy_check_msi_tables(const struct msi_tables *t, const char *name, struct policy_findings *f,
			    struct pib_err *err)
{
	int r;
	if ((r = check_services(t, name, f, err)) < 0 ||
	    (r = check_run_keys(t, name, f, err)) < 0 || (r = check_actions(t, name, f, err)) < 0 ||
	    (r = check_files(t, name, f, err)) < 0)
		return r;
	return 0;
}

int policy_check_msi(const char *msi_path, struct policy_findings *f, struct pib_err *err)
{
	struct msi_tables t;
	int r = msi_tables_read(msi_path, msi_path, &t, err);
	if (r < 0)
		return r;
	r = policy_check_msi_tables(&t, msi_path, f, err);
	msi_tables_free(&t);
	return r;
}
