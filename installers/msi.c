/* SPDX-License-Identifier: MIT */
/*
 * The msi installer. verify: the target's properties (public names, values msiexec can take),
 * the digests, then each MSI's Authenticode signature against the target's keys
 * (authenticode.c). resolve: no dependencies; the transaction is the MSIs themselves, each read
 * by its tables (scanners/msi_tables.c, in a child process: libmsi is not safe on hostile
 * input), its product, files, services, registry writes and custom actions given to the report.
 * install, on Linux: Wine's msiexec in a throwaway prefix made for the run (wineboot first, the
 * prefix's Z: drive, Wine's view of /, removed), the real result taken from msiexec's verbose log
 * since Wine cuts exit codes to 8 bits. files_installed: each File row's install path as the log's
 * directory properties say, found under the prefix.
 */
#include "installer.h"
#include "msi.h"
#include "authenticode.h"
#include "msi_tables.h"
#include "proc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSI_LIST_MAX	     1000u /* entries of each list of the report's msi object */
#define MSI_TEXT_MAX	     512u  /* bytes of a registry value or custom action target shown */
#define MSI_PROPERTY_MAX     4096u /* bytes of a property value */
#define MSI_LOG_MAX	     (32u << 20) /* bytes of msiexec's log read (the end when longer) */
#define MSI_WINEBOOT_TIMEOUT 300.0	 /* seconds for wineboot -i */
#define MSI_BUSY_TRIES	     4	 /* msiexec runs at most while another install runs (1618) */
#define MSI_EXCERPT_BEFORE   15u /* log lines shown before the failed action's end */
#define MSI_EXCERPT_AFTER    5u

static const char *const msi_families[] = {"windows", NULL};

struct msi_priv {
	char *wine;	  /* the wine64 loader, or NULL */
	char *wineserver; /* its wineserver (to end the prefix's processes), or NULL */
	char *no_wine;	  /* why there is no Wine */
	char *tmp;	  /* private: home/, io/ (the MSIs and logs: drive P:), prefix/ */
	char *prefix;
	char *io;
	char **env;
	struct msi_tables *tables; /* of each package of the transaction (c->pkgs order) */
	size_t n_tables;
	char **logs; /* the verbose log of each package's install (host paths), NULL until run */
};

static int oom(struct inst_ctx *c)
{
	return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
}

static struct msi_priv *priv(struct inst_ctx *c)
{
	if (!c->priv)
		c->priv = calloc(1, sizeof(struct msi_priv));
	return c->priv;
}

/* ------------------------------------------------------------------------------- probe */

static bool executable(const char *p)
{
	struct stat st;
	return p[0] == '/' && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/*
 * Wine's 64-bit loader: $PIB_WINE when set ("none": no Wine), else wine64 on $PATH, else
 * /usr/lib/wine/wine64 (Debian's wine64 package puts it there only).
 */
static int find_wine(struct msi_priv *pv)
{
	const char *env = getenv("PIB_WINE"), *path = getenv("PATH");

	if (env && *env) {
		if (!strcmp(env, "none"))
			pv->no_wine = pib_strdup("PIB_WINE=none: Wine is not used");
		else if (!executable(env))
			pv->no_wine = pib_asprintf(
			    "PIB_WINE=%s: not an executable file (an absolute path is needed)",
			    env);
		else
			pv->wine = pib_strdup(env);
		return pv->wine || pv->no_wine ? 0 : -ENOMEM;
	}
	char *copy = pib_strdup(path ? path : "");
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !pv->wine;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = d[0] == '/' ? pib_asprintf("%s/wine64", d) : NULL;
		if (p && executable(p))
			pv->wine = p;
		else
			free(p);
	}
	free(copy);
	if (!pv->wine && executable("/usr/lib/wine/wine64"))
		pv->wine = pib_strdup("/usr/lib/wine/wine64");
	if (!pv->wine)
		pv->no_wine = pib_strdup(
		    "Wine is not installed (no wine64 on PATH nor /usr/lib/wine/wine64; "
		    "Debian: apt-get install wine64): an msi target installs on Linux only "
		    "through Wine's msiexec");
	return pv->wine || pv->no_wine ? 0 : -ENOMEM;
}

static int msi_probe(struct inst_ctx *c)
{
	struct msi_priv *pv = priv(c);

	if (!pv || (!pv->wine && !pv->no_wine && find_wine(pv) < 0))
		return oom(c);
	if (pv->wine && !pv->wineserver) {
		/* the wineserver beside the loader (its real folder), else one on PATH */
		char *real = realpath(pv->wine, NULL), *slash = real ? strrchr(real, '/') : NULL;
		if (slash) {
			*slash = '\0';
			char *ws = pib_asprintf("%s/wineserver", real);
			if (ws && executable(ws))
				pv->wineserver = ws;
			else
				free(ws);
		}
		free(real);
		if (!pv->wineserver)
			pv->wineserver = pib_find_tool("wineserver");
	}
	return 0;
}

static const char *msi_cannot_install(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;
	return pv && !pv->wine ? (pv->no_wine ? pv->no_wine : "Wine is not installed") : NULL;
}

/* ------------------------------------------------------------------------------ verify */

static size_t target_index(const struct inst_ctx *c)
{
	for (size_t i = 0; i < c->bundle->manifest->n_targets; i++)
		if (&c->bundle->manifest->targets[i] == c->target)
			return i;
	return 0;
}

/*
 * The target's properties, checked again here (the schema checks the names too): a public
 * property (no lower-case letter: Windows Installer passes only those from the command line to
 * the install's server side), a value without '"' and control characters (it is given to
 * msiexec as NAME="value", where a quote would end it and more properties could follow).
 */
static int check_properties(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	size_t ti = target_index(c);

	for (size_t i = 0; i < t->n_properties; i++) {
		const char *n = t->properties[i].name, *v = t->properties[i].value;
		bool name_ok = n && *n && ((n[0] >= 'A' && n[0] <= 'Z') || n[0] == '_') &&
			       strlen(n) <= 72 &&
			       pib_str_all_in(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
		if (!name_ok)
			return pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "msi.property_invalid",
					"manifest.json: targets[%zu].properties.%s: not a public "
					"property name (upper-case letters, digits, '_' and '.', "
					"starting with a letter or '_', at most 72): msiexec "
					"passes only public properties to the install",
					ti, n ? n : "");
		if (!v || strlen(v) > MSI_PROPERTY_MAX)
			return pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "msi.property_invalid",
					"manifest.json: targets[%zu].properties.%s: the value is "
					"longer than %u bytes",
					ti, n, MSI_PROPERTY_MAX);
		for (const unsigned char *s = (const unsigned char *)v; *s; s++)
			if (*s == '"' || *s < 0x20 || *s == 0x7f)
				return pib_fail(
				    c->err, -EINVAL, PIB_ERR_FAILED, "msi.property_invalid",
				    "manifest.json: targets[%zu].properties.%s: the value holds %s "
				    "at byte %zu: msiexec takes it as %s=\"value\", where %s",
				    ti, n,
				    *s == '"' ? "a double quote (\")" : "a control character",
				    (size_t)((const char *)s - v), n,
				    *s == '"' ? "a quote would end the value and let the rest be "
						"read as more options"
					      : "a control character has no place");
	}
	return 0;
}

static int add_sig(struct inst_ctx *c, const char *member, const struct authenticode_result *ar,
		   bool refused)
{
	struct inst_sig *n = realloc(c->sigs, (c->n_sigs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->sigs = n;
	struct inst_sig *s = &n[c->n_sigs++];
	memset(s, 0, sizeof(*s));
	s->member = pib_strdup(member);
	s->refused = refused;
	/* the signer is named by its certificate's SHA-256: unique, where a subject is not */
	if (!refused && ar->is_signed && ar->verified && ar->cert_sha256[0])
		s->signer = pib_strdup(ar->cert_sha256);
	if (ar->subject)
		s->subject = pib_strdup(ar->subject);
	if (ar->cert_sha256[0])
		s->cert_sha256 = pib_strdup(ar->cert_sha256);
	return s->member && (!ar->subject || s->subject) ? 0 : -ENOMEM;
}

static int msi_verify(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	struct authenticode_key *keys = NULL;
	size_t n_keys = 0;
	int r;

	if ((r = check_properties(c)) < 0 || (r = inst_verify_digests(c)) < 0)
		return r;
	for (size_t k = 0; t->keys && t->keys[k]; k++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->keys[k]);
		if (!m) {
			free(keys);
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					"%s: not in the bundle (a key of target \"%s\")",
					t->keys[k], t->name);
		}
		struct authenticode_key *nk = realloc(keys, (n_keys + 1) * sizeof(*nk));
		if (!nk) {
			free(keys);
			return oom(c);
		}
		keys = nk;
		keys[n_keys++] = (struct authenticode_key){.path = m->path, .label = t->keys[k]};
	}
	for (size_t i = 0; i < t->n_packages && r == 0; i++) {
		const char *file = t->packages[i].file;
		const struct bundle_member *m = bundle_find(c->bundle, file);
		struct authenticode_result ar = {0};
		if (!m) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
				     "%s: not in the bundle", file);
			break;
		}
		r = authenticode_verify_msi(m->path, file, keys, n_keys, t->allow_unsigned, &ar,
					    c->err);
		/* the signer is reported either way: accepted, or refused */
		if ((r == 0 || ar.subject || ar.cert_sha256[0]) &&
		    add_sig(c, file, &ar, r < 0) < 0 && r == 0)
			r = oom(c);
		authenticode_result_free(&ar);
	}
	free(keys);
	return r;
}

/* ----------------------------------------------------------------------------- resolve */

/* The platform of a summary information Template ("x64;1033") as an arch, or NULL. */
static const char *template_arch(const char *tp)
{
	if (!tp)
		return NULL;
	size_t n = strcspn(tp, ";");
	static const struct {
		const char *platform, *arch;
	} map[] = {{"x64", "x86_64"},	 {"AMD64", "x86_64"}, {"Intel", "i686"}, {"", "i686"},
		   {"Arm64", "aarch64"}, {"Intel64", "ia64"}, {"Arm", "arm"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].platform) == n && !strncasecmp(tp, map[i].platform, n))
			return map[i].arch;
	return NULL;
}

static cJSON *str_or_null(const char *s, size_t max)
{
	if (!s)
		return cJSON_CreateNull();
	char *cut = NULL;
	if (strlen(s) > max) {
		size_t n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		cut = pib_asprintf("%.*s...", (int)n, s);
	}
	char *clean = pib_text_clean(cut ? cut : s, false);
	free(cut);
	cJSON *j = clean ? cJSON_CreateString(clean) : NULL;
	free(clean);
	return j;
}

static const char *reg_root_word(int32_t root)
{
	const char *w = msi_registry_root_word(root); /* HKMU: HKLM per machine, HKCU per user (ALLUSERS) */
	return w ? w : "unknown";
}

/* A list of the report, cut at MSI_LIST_MAX entries: NAME[] and NAME_total. */
static cJSON *list_add(cJSON *o, const char *name, size_t total)
{
	char key[64];
	snprintf(key, sizeof(key), "%s_total", name);
	cJSON_AddNumberToObject(o, key, (double)total);
	return cJSON_AddArrayToObject(o, name);
}

/* The report's msi object of one MSI's tables. NULL when out of memory. */
static cJSON *tables_json(const struct msi_tables *t)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	cJSON_AddItemToObject(o, "product_code", str_or_null(t->product_code, 64));
	cJSON_AddItemToObject(o, "product_name", str_or_null(t->product_name, 256));
	cJSON_AddItemToObject(o, "product_version", str_or_null(t->product_version, 64));
	cJSON_AddItemToObject(o, "manufacturer", str_or_null(t->manufacturer, 256));
	cJSON_AddItemToObject(o, "upgrade_code", str_or_null(t->upgrade_code, 64));
	cJSON_AddItemToObject(o, "template", str_or_null(t->template_, 256));
	a = list_add(o, "files", t->n_files);
	for (size_t i = 0; a && i < t->n_files && i < MSI_LIST_MAX; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddItemToObject(f, "path", str_or_null(t->files[i].path, 1024));
		cJSON_AddItemToObject(f, "component", str_or_null(t->files[i].component, 256));
		cJSON_AddNumberToObject(f, "size",
					t->files[i].size == MSI_NULL_INT ? 0 : t->files[i].size);
		cJSON_AddItemToArray(a, f);
	}
	a = list_add(o, "services", t->n_services);
	for (size_t i = 0; a && i < t->n_services && i < MSI_LIST_MAX; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToObject(s, "name", str_or_null(t->services[i].name, 256));
		cJSON_AddItemToObject(
		    s, "account", str_or_null(msi_service_account(t->services[i].start_name), 256));
		cJSON_AddStringToObject(s, "start",
					msi_service_start_word(t->services[i].start_type));
		cJSON_AddItemToArray(a, s);
	}
	a = list_add(o, "registry", t->n_regs);
	for (size_t i = 0; a && i < t->n_regs && i < MSI_LIST_MAX; i++) {
		cJSON *g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "root", reg_root_word(t->regs[i].root));
		cJSON_AddItemToObject(g, "key", str_or_null(t->regs[i].reg_key, 1024));
		cJSON_AddItemToObject(g, "name", str_or_null(t->regs[i].name, 256));
		cJSON_AddItemToObject(g, "value", str_or_null(t->regs[i].value, MSI_TEXT_MAX));
		cJSON_AddItemToArray(a, g);
	}
	a = list_add(o, "custom_actions", t->n_actions);
	for (size_t i = 0; a && i < t->n_actions && i < MSI_LIST_MAX; i++) {
		const struct msi_action *ca = &t->actions[i];
		struct pib_buf w = {0};
		cJSON *j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "action", str_or_null(ca->action, 256));
		cJSON_AddNumberToObject(j, "type", ca->type);
		if (msi_ca_describe(ca->type, &w) == 0 && w.data)
			cJSON_AddStringToObject(j, "type_words", w.data);
		else
			cJSON_AddStringToObject(j, "type_words", "");
		pib_buf_free(&w);
		cJSON_AddItemToObject(j, "source", str_or_null(ca->source, 256));
		if (ca->type & MSI_CA_HIDE_TARGET)
			cJSON_AddStringToObject(j, "target",
						"hidden by the MSI (HideTarget): not shown");
		else
			cJSON_AddItemToObject(j, "target", str_or_null(ca->target, MSI_TEXT_MAX));
		cJSON_AddBoolToObject(j, "sequenced", ca->sequenced);
		cJSON_AddItemToArray(a, j);
	}
	return o;
}

static int msi_resolve(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	struct msi_priv *pv = priv(c);
	int r = 0;

	if (!pv)
		return oom(c);
	if (!(c->pkgs = calloc(t->n_packages + 1, sizeof(*c->pkgs))) ||
	    !(pv->tables = calloc(t->n_packages + 1, sizeof(*pv->tables))))
		return oom(c);
	for (size_t i = 0; i < t->n_packages && r == 0; i++) {
		const char *file = t->packages[i].file;
		const struct bundle_member *m = bundle_find(c->bundle, file);
		struct msi_tables *tb = &pv->tables[i];
		if (!m)
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					"%s: not in the bundle", file);
		/* in a child process: a crash of libmsi on a damaged MSI is msi.invalid, not the
		 * agent's */
		if ((r = msi_tables_read(m->path, file, tb, c->err)) < 0)
			break;
		pv->n_tables = i + 1;
		if (!tb->product_name || !*tb->product_name || !tb->product_version ||
		    !*tb->product_version) {
			r = pib_fail(
			    c->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			    "%s: table Property: no %s row (the product's name and version are "
			    "what the report and the image's package list name it by)",
			    file,
			    !tb->product_name || !*tb->product_name ? "ProductName"
								    : "ProductVersion");
			break;
		}
		const char *arch = template_arch(tb->template_);
		if (arch && strcmp(arch, c->os->arch) &&
		    !(!strcmp(c->os->arch, "x86_64") && !strcmp(arch, "i686"))) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.wrong_arch",
				     "%s: built for %s (summary information Template \"%s\"), "
				     "which this %s system cannot run",
				     file, arch, tb->template_, c->os->arch);
			break;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(pv->tables[k].product_code, tb->product_code)) {
				r = pib_fail(c->err, -EEXIST, PIB_ERR_FAILED,
					     "bundle.duplicate_package",
					     "%s and %s: both are the product %s: a target lists "
					     "each MSI once",
					     t->packages[k].file, file, tb->product_code);
				break;
			}
		if (r < 0)
			break;
		struct inst_pkg *p = &c->pkgs[i];
		c->n_pkgs = i + 1;
		p->name = pib_text_clean(tb->product_name, false);
		p->version = pib_text_clean(tb->product_version, false);
		p->arch = pib_strdup(arch ? arch : c->os->arch);
		p->member = pib_strdup(file);
		p->path = pib_strdup(m->path);
		p->repo = pib_strdup("bundle");
		memcpy(p->sha256, m->sha256, sizeof(p->sha256));
		p->detail = tables_json(tb);
		if (!p->name || !p->version || !p->arch || !p->member || !p->path || !p->repo ||
		    !p->detail)
			r = oom(c);
	}
	return r;
}

/* ----------------------------------------------------------------------------- install */

static int wine_env(struct msi_priv *pv)
{
	const char *vars[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "WINEDEBUG=-all",
			      /* no Mono or Gecko download prompt: .NET and HTML engines stay off */
			      "WINEDLLOVERRIDES=mscoree,mshtml=", NULL};
	char *home = pib_asprintf("HOME=%s/home", pv->tmp),
	     *pfx = pib_asprintf("WINEPREFIX=%s", pv->prefix);
	int r = home && pfx ? 0 : -ENOMEM;

	for (int i = 0; vars[i] && r == 0; i++)
		r = pib_strv_push(&pv->env, vars[i]);
	if (r == 0)
		r = pib_strv_push(&pv->env, home);
	if (r == 0)
		r = pib_strv_push(&pv->env, pfx);
	free(home);
	free(pfx);
	return r;
}

/* Ends every process of the prefix (services an MSI started, wineboot's helpers). */
static void wine_stop(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;
	if (!pv || !pv->wineserver || !pv->env)
		return;
	char *argv[] = {pv->wineserver, (char *)"-k", NULL};
	struct pib_spawn_opts so = {.env = pv->env, .timeout = 30, .stdin_fd = -1};
	struct pib_spawn_result res = {0};
	/*
	 * Also after SIGTERM: the prefix's processes (wineserver, services an MSI started) live in
	 * a session of their own, which the install's process group kill does not reach; a second
	 * signal during these 30 s stops this too.
	 */
	sig_atomic_t interrupted = pib_interrupted;
	pib_interrupted = 0;
	if (pib_spawn(argv, &so, &res) == 0)
		pib_spawn_result_free(&res);
	if (!pib_interrupted)
		pib_interrupted = interrupted;
}

static int msi_prepare(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;
	struct pib_spawn_result res = {0};
	int r;

	if (!pv || !pv->wine)
		return pib_fail(c->err, -ENOENT, PIB_ERR_ENV, "tool.missing", "%s",
				msi_cannot_install(c));
	if ((r = pib_mkdtemp("pib-wine", &pv->tmp)) < 0)
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir",
				"a private folder for the Wine prefix: %s", strerror(-r));
	char *home = pib_asprintf("%s/home", pv->tmp);
	pv->prefix = pib_asprintf("%s/prefix", pv->tmp);
	pv->io = pib_asprintf("%s/io", pv->tmp);
	if (!home || !pv->prefix || !pv->io || wine_env(pv) < 0) {
		free(home);
		return oom(c);
	}
	if (mkdir(home, 0700) < 0 || mkdir(pv->io, 0700) < 0) {
		r = -errno;
		free(home);
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", pv->tmp,
				strerror(-r));
	}
	free(home);
	c->tool = pib_strdup("msiexec (Wine)");
	c->tool_why = pib_asprintf("an msi target on Linux installs through Wine's msiexec (%s) "
				   "into a throwaway prefix made for this run and removed after it",
				   pv->wine);
	/* the prefix made and booted now, so that the snapshot before the install holds Wine's own
	 * files */
	char *argv[] = {pv->wine, (char *)"wineboot", (char *)"-i", NULL};
	struct pib_spawn_opts so = {
	    .env = pv->env, .cwd = pv->tmp, .timeout = MSI_WINEBOOT_TIMEOUT, .stdin_fd = -1};
	double t0 = pib_now_mono();
	if ((r = pib_spawn(argv, &so, &res)) < 0)
		return pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				pv->wine, strerror(-r));
	inst_log_command(c, argv, &res.output);
	(void)pib_buf_printf(&c->log, "(wineboot took %.1f s)\n", pib_now_mono() - t0);
	char *drive_c = pib_asprintf("%s/drive_c", pv->prefix);
	struct stat st;
	bool booted = drive_c && stat(drive_c, &st) == 0 && S_ISDIR(st.st_mode);
	free(drive_c);
	if (res.status != 0 || !booted) {
		if (res.interrupted)
			r = pib_fail(c->err, -EINTR, PIB_ERR_FAILED, "install.interrupted",
				     "the agent was interrupted while wineboot made the Wine prefix: nothing was installed");
		else if (res.timed_out)
			r = pib_fail(c->err, -ETIMEDOUT, PIB_ERR_ENV, "install.wine_failed",
				     "wine64 wineboot -i took longer than %.0f s: the Wine prefix "
				     "could not be made",
				     MSI_WINEBOOT_TIMEOUT);
		else
			r = pib_fail(c->err, -EIO, PIB_ERR_ENV, "install.wine_failed",
				     "wine64 wineboot -i exited with status %d%s: the Wine prefix "
				     "could not be made",
				     res.status, booted ? "" : " and made no drive_c");
		pib_err_detail(c->err, res.output.data, res.output.len);
		pib_spawn_result_free(&res);
		wine_stop(c);
		return r;
	}
	pib_spawn_result_free(&res);
	/*
	 * Z: is Wine's view of this machine's /: removed, so that no Windows path of the install
	 * reaches the host's files; P: is the folder of the MSIs and logs. (Wine is no sandbox: a
	 * custom action's native code could still reach the host. See README.)
	 */
	char *z = pib_asprintf("%s/dosdevices/z:", pv->prefix),
	     *p = pib_asprintf("%s/dosdevices/p:", pv->prefix);
	if (!z || !p) {
		free(z);
		free(p);
		return oom(c);
	}
	if ((unlink(z) < 0 && errno != ENOENT) || symlink(pv->io, p) < 0) {
		r = -errno;
		free(z);
		free(p);
		return pib_fail(c->err, r, PIB_ERR_ENV, "install.wine_failed",
				"%s: cannot set the prefix's drives: %s", pv->prefix, strerror(-r));
	}
	free(z);
	free(p);
	c->install_root = pv->prefix;
	return 0;
}

/* The MSI copied into io/ as pkgN.msi: a name of ours, on drive P:. */
static int stage_msi(const char *from, const char *to)
{
	if (link(from, to) == 0)
		return 0;
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, r = 0;
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	char buf[65536];
	ssize_t n;
	while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		r = pib_write_all(out, buf, (size_t)n);
	}
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

/* msiexec's and Windows Installer's documented results (learn.microsoft.com: MsiExec.exe error
 * messages). */
static const struct {
	int code;
	const char *name;
} msi_codes[] = {
    {0, "ERROR_SUCCESS"},
    {13, "ERROR_INVALID_DATA"},
    {87, "ERROR_INVALID_PARAMETER"},
    {120, "ERROR_CALL_NOT_IMPLEMENTED"},
    {1259, "ERROR_APPHELP_BLOCK"},
    {1601, "ERROR_INSTALL_SERVICE_FAILURE"},
    {1602, "ERROR_INSTALL_USEREXIT"},
    {1603, "ERROR_INSTALL_FAILURE"},
    {1604, "ERROR_INSTALL_SUSPEND"},
    {1605, "ERROR_UNKNOWN_PRODUCT"},
    {1606, "ERROR_UNKNOWN_FEATURE"},
    {1607, "ERROR_UNKNOWN_COMPONENT"},
    {1608, "ERROR_UNKNOWN_PROPERTY"},
    {1609, "ERROR_INVALID_HANDLE_STATE"},
    {1610, "ERROR_BAD_CONFIGURATION"},
    {1611, "ERROR_INDEX_ABSENT"},
    {1612, "ERROR_INSTALL_SOURCE_ABSENT"},
    {1613, "ERROR_INSTALL_PACKAGE_VERSION"},
    {1614, "ERROR_PRODUCT_UNINSTALLED"},
    {1615, "ERROR_BAD_QUERY_SYNTAX"},
    {1616, "ERROR_INVALID_FIELD"},
    {1618, "ERROR_INSTALL_ALREADY_RUNNING"},
    {1619, "ERROR_INSTALL_PACKAGE_OPEN_FAILED"},
    {1620, "ERROR_INSTALL_PACKAGE_INVALID"},
    {1621, "ERROR_INSTALL_UI_FAILURE"},
    {1622, "ERROR_INSTALL_LOG_FAILURE"},
    {1623, "ERROR_INSTALL_LANGUAGE_UNSUPPORTED"},
    {1624, "ERROR_INSTALL_TRANSFORM_FAILURE"},
    {1625, "ERROR_INSTALL_PACKAGE_REJECTED"},
    {1626, "ERROR_FUNCTION_NOT_CALLED"},
    {1627, "ERROR_FUNCTION_FAILED"},
    {1628, "ERROR_INVALID_TABLE"},
    {1629, "ERROR_DATATYPE_MISMATCH"},
    {1630, "ERROR_UNSUPPORTED_TYPE"},
    {1631, "ERROR_CREATE_FAILED"},
    {1632, "ERROR_INSTALL_TEMP_UNWRITABLE"},
    {1633, "ERROR_INSTALL_PLATFORM_UNSUPPORTED"},
    {1634, "ERROR_INSTALL_NOTUSED"},
    {1635, "ERROR_PATCH_PACKAGE_OPEN_FAILED"},
    {1636, "ERROR_PATCH_PACKAGE_INVALID"},
    {1637, "ERROR_PATCH_PACKAGE_UNSUPPORTED"},
    {1638, "ERROR_PRODUCT_VERSION"},
    {1639, "ERROR_INVALID_COMMAND_LINE"},
    {1640, "ERROR_INSTALL_REMOTE_DISALLOWED"},
    {1641, "ERROR_SUCCESS_REBOOT_INITIATED"},
    {1642, "ERROR_PATCH_TARGET_NOT_FOUND"},
    {1643, "ERROR_PATCH_PACKAGE_REJECTED"},
    {1644, "ERROR_INSTALL_TRANSFORM_REJECTED"},
    {1645, "ERROR_INSTALL_REMOTE_PROHIBITED"},
    {1646, "ERROR_PATCH_REMOVAL_UNSUPPORTED"},
    {1647, "ERROR_UNKNOWN_PATCH"},
    {1648, "ERROR_PATCH_NO_SEQUENCE"},
    {1649, "ERROR_PATCH_REMOVAL_DISALLOWED"},
    {1650, "ERROR_INVALID_PATCH_XML"},
    {1651, "ERROR_PATCH_MANAGED_ADVERTISED_PRODUCT"},
    {3010, "ERROR_SUCCESS_REBOOT_REQUIRED"},
    {3011, "ERROR_SUCCESS_RESTART_REQUIRED"},
};

const char *msi_code_name(int code)
{
	for (size_t i = 0; i < sizeof(msi_codes) / sizeof(msi_codes[0]); i++)
		if (msi_codes[i].code == code)
			return msi_codes[i].name;
	return "not a documented msiexec result";
}

/*
 * The documented result whose low 8 bits are status (Wine's exit status), or -1 when none is,
 * -2 when several are (their codes in *alts).
 */
int msi_code_from_status(int status, struct pib_buf *alts)
{
	int found = -1, n = 0;
	for (size_t i = 0; i < sizeof(msi_codes) / sizeof(msi_codes[0]); i++)
		if ((msi_codes[i].code & 0xff) == status) {
			found = msi_codes[i].code;
			(void)pib_buf_printf(alts, "%s%d (%s)", n++ ? " or " : "", found,
					     msi_codes[i].name);
		}
	return n > 1 ? -2 : found;
}

void msi_log_free(struct msi_log *l)
{
	free(l->text);
	free(l->fail_action);
	memset(l, 0, sizeof(*l));
}

static int read_log(const char *path, struct msi_log *l)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int r = 0;

	memset(l, 0, sizeof(*l));
	l->engine = l->install_rv = -1;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	size_t n = (uint64_t)st.st_size > MSI_LOG_MAX ? MSI_LOG_MAX : (size_t)st.st_size;
	off_t off = (off_t)st.st_size - (off_t)n; /* the end of a longer log: the result is there */
	unsigned char *raw = malloc(n + 1);
	if (!raw || (n && (r = pib_read_full(fd, raw, n, off)) < 0)) {
		free(raw);
		close(fd);
		return raw ? r : -ENOMEM;
	}
	close(fd);
	/* Windows writes it in UTF-16LE (a BOM first), Wine in ASCII: narrowed to ASCII, others '?'
	 */
	bool wide = n >= 2 && raw[0] == 0xff && raw[1] == 0xfe;
	size_t k = 0;
	for (size_t i = wide ? 2 : 0; i < n; i += wide ? 2 : 1) {
		unsigned ch = raw[i] | (wide && i + 1 < n ? raw[i + 1] << 8 : 0);
		raw[k++] = ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? (unsigned char)ch
			   : ch == '\r'						 ? '\n'
										 : '?';
	}
	raw[k] = '\0';
	l->text = (char *)raw;
	l->len = k;
	return 0;
}

static void parse_log(struct msi_log *l)
{
	size_t line = 0, first_fail = 0;
	char *fail_action = NULL;
	for (char *s = l->text; s && *s;) {
		char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char save = s[len];
		s[len] = '\0';
		line++;
		const char *m;
		if ((m = strstr(s, "MainEngineThread is returning ")))
			l->engine = atoi(m + strlen("MainEngineThread is returning "));
		else if ((m = strstr(s, "Installation success or error status: ")))
			l->engine = atoi(m + strlen("Installation success or error status: "));
		if (strstr(s, "Installation completed successfully") ||
		    strstr(s, "Installation operation completed successfully"))
			l->said_ok = true;
		if (strstr(s, "Installation failed") || strstr(s, "Installation operation failed"))
			l->said_failed = true;
		/* "Action ended 1:58:08: NAME. Return value N." */
		if (!strncmp(s, "Action ended ", 13) && (m = strstr(s, ". Return value "))) {
			int rv = atoi(m + strlen(". Return value "));
			const char *nm = strstr(s + 13, ": ");
			bool install =
			    nm && (size_t)(m - (nm + 2)) == 7 && !strncmp(nm + 2, "INSTALL", 7);
			if (install)
				l->install_rv = rv;
			/* Windows: 3 is a failed action; Wine writes 0 for one */
			else if (nm && !first_fail && (rv == 3 || rv == 0)) {
				first_fail = line;
				fail_action = pib_strndup(nm + 2, (size_t)(m - (nm + 2)));
			}
		}
		s[len] = save;
		s = e ? e + 1 : s + len;
	}
	l->fail_line = first_fail;
	l->fail_action = fail_action;
}

int msi_log_read(const char *path, struct msi_log *l)
{
	int r = read_log(path, l);
	if (r == 0)
		parse_log(l);
	return r;
}

/* The log's lines around the failed action (or its last lines), for the error's detail. */
char *msi_log_excerpt(const struct msi_log *l)
{
	size_t total = 0;
	for (const char *s = l->text; s && *s; s++)
		total += *s == '\n';
	total++;
	size_t at = l->fail_line ? l->fail_line : total;
	size_t from = at > MSI_EXCERPT_BEFORE ? at - MSI_EXCERPT_BEFORE : 1,
	       to = at + MSI_EXCERPT_AFTER;
	struct pib_buf b = {0};
	size_t line = 1;
	for (const char *s = l->text; s && *s && line <= to;) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		/* Windows Installer's own property dump is long and says nothing of the failure */
		if (line >= from && strncmp(s, "Property(", 9))
			(void)pib_buf_printf(&b, "%.*s%s\n", (int)(len > 300 ? 300 : len), s,
					     len > 300 ? "..." : "");
		line++;
		s = e ? e + 1 : s + len;
	}
	return b.data;
}

static void sleep_s(double s)
{
	double end = pib_now_mono() + s;
	while (!pib_interrupted && pib_now_mono() < end) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* msiexec /i for package i; 0, or the failure in c->err. */
static int install_one(struct inst_ctx *c, size_t i)
{
	struct msi_priv *pv = c->priv;
	const struct inst_pkg *p = &c->pkgs[i];
	const struct mf_target *t = c->target;
	char *staged = pib_asprintf("%s/pkg%zu.msi", pv->io, i + 1);
	char *win_pkg = pib_asprintf("P:\\pkg%zu.msi", i + 1);
	char **argv = NULL;
	int r = staged && win_pkg ? 0 : -ENOMEM;

	if (r == 0 && (r = stage_msi(p->path, staged)) < 0) {
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.io",
			     "%s: cannot put it where Wine's msiexec reads it: %s", p->member,
			     strerror(-r));
		goto out;
	}
	for (int attempt = 1; r == 0 && attempt <= MSI_BUSY_TRIES; attempt++) {
		char *log = pib_asprintf("%s/pkg%zu-%d.log", pv->io, i + 1, attempt);
		char *win_log = pib_asprintf("P:\\pkg%zu-%d.log", i + 1, attempt);
		const char *fixed[] = {pv->wine,     "msiexec", "/i",	 win_pkg, "/qn",
				       "/norestart", "/l*v",	win_log, NULL};
		pib_strv_free(argv);
		argv = NULL;
		for (int k = 0; fixed[k] && r == 0 && log && win_log; k++)
			r = pib_strv_push(&argv, fixed[k]);
		/*
		 * NAME=value as one argument: Wine's loader quotes it into the command line msiexec
		 * reads ("NAME=value with spaces"), as NAME="value" would be on Windows.
		 */
		for (size_t k = 0; k < t->n_properties && r == 0 && log && win_log; k++) {
			char *a =
			    pib_asprintf("%s=%s", t->properties[k].name, t->properties[k].value);
			r = a ? pib_strv_push(&argv, a) : -ENOMEM;
			free(a);
		}
		if (!log || !win_log || r < 0) {
			free(log);
			free(win_log);
			r = oom(c);
			break;
		}
		char *cwd = pib_asprintf("%s/drive_c", pv->prefix);
		struct pib_spawn_opts so = {
		    .env = pv->env, .cwd = cwd, .timeout = c->install_timeout, .stdin_fd = -1};
		struct pib_spawn_result res = {0};
		c->tool_ran = true;
		r = pib_spawn(argv, &so, &res);
		free(cwd);
		if (r < 0) {
			r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing",
				     "%s: cannot start it: %s", pv->wine, strerror(-r));
			free(log);
			free(win_log);
			break;
		}
		inst_log_command(c, argv, &res.output);
		if (pib_strv_push(&pv->logs, log) < 0) {
			free(log);
			free(win_log);
			pib_spawn_result_free(&res);
			r = oom(c);
			break;
		}
		if (res.interrupted || res.timed_out) {
			r = pib_fail(c->err, res.interrupted ? -EINTR : -ETIMEDOUT, PIB_ERR_FAILED,
				     res.interrupted ? "install.interrupted" : "install.timeout",
				     "%s: msiexec %s", p->member,
				     res.interrupted ? "was stopped: the agent was interrupted"
						     : "took longer than the install timeout");
			free(log);
			free(win_log);
			pib_spawn_result_free(&res);
			break;
		}
		struct msi_log ml;
		struct pib_buf alts = {0};
		bool have_log = msi_log_read(log, &ml) == 0;
		if (!have_log)
			ml.engine = ml.install_rv = -1;
		/* the real result: the log's (Windows), else the documented code with these low 8
		 * bits (Wine) */
		int code = ml.engine >= 0 ? ml.engine : msi_code_from_status(res.status, &alts);
		bool log_ok = have_log && (ml.said_ok || ml.install_rv == 1) && !ml.said_failed &&
			      (ml.install_rv == -1 || ml.install_rv == 1);
		bool code_ok = code == 0 || code == 3010 || code == 1641;
		c->exit_code = code >= 0 ? code : res.status;
		if (code >= 0)
			(void)pib_buf_printf(&c->log, "%s: msiexec's result %d (%s; %s %d)\n",
					     p->member, code, msi_code_name(code),
					     ml.engine >= 0 ? "from its log, exit status"
							    : "Wine's exit status",
					     res.status);
		else
			(void)pib_buf_printf(&c->log,
					     "%s: msiexec's result unknown (Wine's exit status %d: "
					     "the low 8 bits of %s)\n",
					     p->member, res.status,
					     alts.data ? alts.data : "no documented result");
		if (code == 1618 && attempt < MSI_BUSY_TRIES) {
			/* another install runs: again, after 5, 10, 20 s */
			(void)pib_buf_printf(
			    &c->log,
			    "(1618: another installation is in progress; trying again in %d s)\n",
			    5 << (attempt - 1));
			msi_log_free(&ml);
			pib_buf_free(&alts);
			pib_spawn_result_free(&res);
			free(log);
			free(win_log);
			sleep_s(5 << (attempt - 1));
			continue;
		}
		if (code_ok && log_ok) {
			if (code != 0)
				c->reboot_required = true;
		} else {
			char *ex = have_log ? msi_log_excerpt(&ml) : NULL;
			char codes[160];
			if (code >= 0)
				snprintf(codes, sizeof(codes), "%d (%s)", code,
					 msi_code_name(code));
			else
				snprintf(codes, sizeof(codes),
					 "unknown: exit status %d is the low 8 bits of %s",
					 res.status,
					 alts.data ? alts.data : "no documented result");
			if (code == 1618)
				r = pib_fail(c->err, -EBUSY, PIB_ERR_FAILED, "install.lock_timeout",
					     "%s: another installation was in progress each of %d "
					     "times (msiexec 1618, ERROR_INSTALL_ALREADY_RUNNING)",
					     p->member, MSI_BUSY_TRIES);
			else if (code_ok)
				r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
					     "%s: msiexec's result is %s, but its log %s: not "
					     "taken for a success",
					     p->member, codes,
					     !have_log
						 ? "cannot be read"
						 : "does not say that the installation succeeded");
			else
				r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
					     "%s: msiexec failed: result %s%s%s%s (Wine's exit "
					     "status %d, the low 8 bits); the lines of its log "
					     "around the failure are in the detail",
					     p->member, codes,
					     ml.fail_action ? ", at action \"" : "",
					     ml.fail_action ? ml.fail_action : "",
					     ml.fail_action ? "\"" : "", res.status);
			if (ex)
				pib_err_detail(c->err, ex, strlen(ex));
			free(ex);
		}
		msi_log_free(&ml);
		pib_buf_free(&alts);
		pib_spawn_result_free(&res);
		free(log);
		free(win_log);
		break;
	}
out:
	pib_strv_free(argv);
	free(staged);
	free(win_pkg);
	return r;
}

static int msi_install(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;
	int r = 0;

	if (!pv || !pv->prefix)
		return pib_fail(c->err, -EINVAL, PIB_ERR_ENV, "install.wine_failed",
				"no Wine prefix was made");
	for (size_t i = 0; i < c->n_pkgs && r == 0; i++)
		r = install_one(c, i);
	/* nothing of the prefix runs on: services an MSI started end with it */
	wine_stop(c);
	if (r < 0 && c->tool_ran) {
		for (size_t i = 0; i < c->n_pkgs; i++) {
			char *u = pib_asprintf(
			    "%s %s %s: %s", c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch,
			    i < pib_strv_len(pv->logs) ? "msiexec ran" : "not installed");
			if (!u || pib_strv_push(&c->unfinished, u) < 0) {
				free(u);
				break;
			}
			free(u);
		}
	}
	return r;
}

/* ----------------------------------------------------------------------- files installed */

/* "C:\Program Files\Acme\" as a path inside the prefix: "/drive_c/Program Files/Acme", or NULL. */
static char *win_to_prefix(const char *w)
{
	if (!w || (w[0] != 'C' && w[0] != 'c') || w[1] != ':' || w[2] != '\\')
		return NULL;
	struct pib_buf b = {0};
	if (pib_buf_printf(&b, "/drive_c") < 0)
		return NULL;
	for (const char *s = w + 2; *s;) {
		while (*s == '\\')
			s++;
		size_t n = strcspn(s, "\\");
		if (!n)
			break;
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.') ||
		    memchr(s, '/', n) || pib_buf_printf(&b, "/%.*s", (int)n, s) < 0) {
			pib_buf_free(&b);
			return NULL;
		}
		s += n;
	}
	return b.data;
}

/* The log's last "Property(S): ID = VALUE" of a directory id, or NULL. */
static char *log_property(const struct msi_log *l, const char *id)
{
	char *key = pib_asprintf("\nProperty(S): %s = ", id), *val = NULL;
	const char *last = NULL;
	for (const char *s = key && l->text ? strstr(l->text, key) : NULL; s;
	     s = strstr(s + 1, key))
		last = s;
	if (last) {
		last += strlen(key);
		val = pib_strndup(last, strcspn(last, "\n"));
	}
	free(key);
	return val;
}

/* Where Wine's Windows Installer puts its standard folders, when the log does not say. */
static char *folder_fallback(const char *table_path)
{
	static const struct {
		const char *folder, *dir;
	} map[] = {
	    {"[ProgramFiles64Folder]", "/drive_c/Program Files"},
	    {"[ProgramFilesFolder]", "/drive_c/Program Files (x86)"},
	    {"[CommonFiles64Folder]", "/drive_c/Program Files/Common Files"},
	    {"[CommonFilesFolder]", "/drive_c/Program Files (x86)/Common Files"},
	    {"[System64Folder]", "/drive_c/windows/system32"},
	    {"[SystemFolder]",
	     "/drive_c/windows/syswow64"}, /* a 64-bit prefix's 32-bit system folder */
	    {"[WindowsFolder]", "/drive_c/windows"},
	    {"[CommonAppDataFolder]", "/drive_c/ProgramData"},
	    {"[WindowsVolume]", "/drive_c"},
	    {"[TARGETDIR]", "/drive_c"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t l = strlen(map[i].folder);
		if (!strncmp(table_path, map[i].folder, l)) {
			const char *rest = table_path + l;
			while (*rest == '/')
				rest++;
			return pib_asprintf("%s/%s", map[i].dir, rest);
		}
	}
	return NULL;
}

static int msi_files_installed(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;

	if (!pv || !pv->prefix)
		return 0;
	for (size_t i = 0; i < c->n_pkgs && i < pv->n_tables; i++) {
		struct inst_pkg *p = &c->pkgs[i];
		const struct msi_tables *t = &pv->tables[i];
		struct msi_log ml = {0};
		/* the log of its last msiexec run: Windows Installer writes every directory's path
		 * there */
		const char *logpath = NULL;
		for (size_t k = 0; pv->logs && pv->logs[k]; k++) {
			char *want = pib_asprintf("%s/pkg%zu-", pv->io, i + 1);
			if (want && pib_str_has_prefix(pv->logs[k], want))
				logpath = pv->logs[k];
			free(want);
		}
		bool have_log = logpath && msi_log_read(logpath, &ml) == 0;
		pib_strv_free(p->files);
		if (!(p->files = calloc(1, sizeof(char *)))) {
			msi_log_free(&ml);
			return oom(c);
		}
		for (size_t k = 0; k < t->n_files; k++) {
			const struct msi_file *f = &t->files[k];
			char *dirval =
			    have_log && f->c && f->c->dir ? log_property(&ml, f->c->dir) : NULL;
			char *dir = win_to_prefix(dirval), *path = NULL, *host = NULL;
			if (dir)
				path = pib_asprintf("%s/%s", dir, f->name);
			else if (f->path)
				path = folder_fallback(f->path);
			struct stat st;
			/* listed when it is there: a file of a component not installed (a
			 * condition) is not */
			if (path && pib_path_in_root(pv->prefix, path, false, &host) == 0 &&
			    lstat(host, &st) == 0 && S_ISREG(st.st_mode) &&
			    pib_strv_push(&p->files, path) < 0) {
				free(dirval);
				free(dir);
				free(path);
				free(host);
				msi_log_free(&ml);
				return oom(c);
			}
			free(dirval);
			free(dir);
			free(path);
			free(host);
		}
		msi_log_free(&ml);
	}
	return 0;
}

static void msi_cleanup(struct inst_ctx *c)
{
	struct msi_priv *pv = c->priv;

	if (!pv)
		return;
	if (pv->tmp) {
		wine_stop(c);
		(void)pib_rm_rf(pv->tmp);
	}
	for (size_t i = 0; i < pv->n_tables; i++)
		msi_tables_free(&pv->tables[i]);
	free(pv->tables);
	pib_strv_free(pv->logs);
	pib_strv_free(pv->env);
	free(pv->wine);
	free(pv->wineserver);
	free(pv->no_wine);
	free(pv->tmp);
	free(pv->prefix);
	free(pv->io);
	free(pv);
	c->priv = NULL;
	c->install_root = NULL;
}

const struct installer inst_msi = {
    .name = "msi",
    .families = msi_families,
    .probe = msi_probe,
    .verify = msi_verify,
    .resolve = msi_resolve,
    .install = msi_install,
    .files_installed = msi_files_installed,
    .cleanup = msi_cleanup,
    .cannot_install = msi_cannot_install,
    .prepare = msi_prepare,
};
