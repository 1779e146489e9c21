/* SPDX-License-Identifier: MIT */
/* The OS of a root: os-release (ID, ID_LIKE, VERSION_ID), family and architecture. */
#include "osinfo.h"
#include "manifest.h"

#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Unquotes an os-release value (shell-like: "..." or '...' with \-escapes in "..."). */
static char *unquote(const char *v)
{
	size_t n = strlen(v);
	struct pib_buf b = {0};

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		char q = v[0];
		for (size_t i = 1; i + 1 < n; i++) {
			if (q == '"' && v[i] == '\\' && i + 2 < n)
				i++;
			if (pib_buf_append(&b, &v[i], 1) < 0)
				break;
		}
		if (!b.data)
			return strdup("");
		return b.data;
	}
	return strdup(v);
}

static const char *elf_arch(const char *root)
{
	char *host = NULL;
	unsigned char hdr[64];
	const char *res = NULL;

	if (pib_path_in_root(root, "/bin/sh", true, &host) == 0) {
		int fd = open(host, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, hdr, sizeof(hdr));
			if (n >= 20 && !memcmp(hdr, ELFMAG, SELFMAG)) {
				uint16_t mach = hdr[EI_DATA] == ELFDATA2MSB
							? (uint16_t)(hdr[18] << 8 | hdr[19])
							: (uint16_t)(hdr[19] << 8 | hdr[18]);
				if (mach == EM_X86_64)
					res = "x86_64";
				else if (mach == EM_AARCH64)
					res = "aarch64";
				else if (mach == EM_386)
					res = "i686";
				else
					res = "unknown";
			}
			close(fd);
		}
	}
	free(host);
	if (!res) {
		static struct utsname u;
		if (uname(&u) == 0)
			res = u.machine;
		else
			res = "unknown";
	}
	return res;
}

int os_detect(const char *root, const char *override, struct osinfo *ret, struct pib_err *err)
{
	struct osinfo os = {0};
	char *data = NULL;
	size_t len = 0;
	int r = 0;

	if (override) {
		const char *colon = strchr(override, ':');
		if (!colon || colon == override || !colon[1])
			return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "usage.invalid",
					"--os: expected ID:VERSION (e.g. debian:12), got \"%s\"", override);
		os.id = strndup(override, (size_t)(colon - override));
		os.version_id = strdup(colon + 1);
		os.overridden = true;
		os.source = strdup("--os");
	} else {
		static const char *const candidates[] = {"/etc/os-release", "/usr/lib/os-release", NULL};
		for (int i = 0; candidates[i] && !data; i++) {
			char *host = NULL;
			if (pib_path_in_root(root, candidates[i], true, &host) < 0)
				continue;
			if (pib_read_file(host, 64 * 1024, &data, &len) == 0)
				os.source = host;
			else
				free(host);
		}
		if (!data) {
			return pib_fail(err, -ENOENT, PIB_ERR_FAILED, "os.unknown",
					"%s/etc/os-release: cannot read it (and no %s/usr/lib/os-release); give --os ID:VERSION",
					strcmp(root, "/") ? root : "", strcmp(root, "/") ? root : "");
		}
		char *save = NULL;
		for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *eq = strchr(line, '=');
			if (!eq || line[0] == '#')
				continue;
			*eq = '\0';
			char *val = unquote(eq + 1);
			if (!val)
				continue;
			if (!strcmp(line, "ID") && !os.id)
				os.id = val;
			else if (!strcmp(line, "VERSION_ID") && !os.version_id)
				os.version_id = val;
			else if (!strcmp(line, "PRETTY_NAME") && !os.pretty_name)
				os.pretty_name = val;
			else if (!strcmp(line, "VERSION_CODENAME") && !os.version_codename)
				os.version_codename = val;
			else if (!strcmp(line, "ID_LIKE") && !os.id_like) {
				char *s2 = NULL;
				os.id_like = calloc(1, sizeof(char *));
				for (char *w = strtok_r(val, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2))
					if (pib_strv_push(&os.id_like, w) < 0)
						break;
				free(val);
			} else
				free(val);
		}
		free(data);
		if (!os.id) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "os.unknown", "%s: no ID field",
				     os.source);
			os_free(&os);
			return r;
		}
		if (!os.version_id) {
			/* Debian testing/sid have none; use the codename so that a range fails clearly */
			os.version_id = strdup(os.version_codename ? os.version_codename : "");
		}
	}
	for (char *p = os.id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	os.family = mf_family_of_id(os.id);
	for (size_t i = 0; !os.family && os.id_like && os.id_like[i]; i++)
		os.family = mf_family_of_id(os.id_like[i]);
	os.arch = strdup(elf_arch(root));
	*ret = os;
	return 0;
}

void os_free(struct osinfo *os)
{
	free(os->id);
	pib_strv_free(os->id_like);
	free(os->version_id);
	free(os->pretty_name);
	free(os->version_codename);
	free(os->arch);
	free(os->source);
	memset(os, 0, sizeof(*os));
}

int os_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c < 0 ? -1 : 1;
			a += la;
			b += lb;
		} else if (*a == '.' && *b == '.') {
			a++;
			b++;
		} else if (!*a) {
			return -1; /* "8" < "8.9" */
		} else if (!*b) {
			return 1;
		} else if (*a == '.') {
			return 1;
		} else if (*b == '.') {
			return -1;
		} else {
			if (*a != *b)
				return *a < *b ? -1 : 1;
			a++;
			b++;
		}
	}
	return 0;
}

static bool one_cmp(const char *version, const char *c)
{
	const char *ops[] = {">=", "<=", "!=", "==", ">", "<", "=", NULL};

	while (*c == ' ')
		c++;
	for (int i = 0; ops[i]; i++) {
		size_t n = strlen(ops[i]);
		if (!strncmp(c, ops[i], n)) {
			int r = os_version_cmp(version, c + n);
			if (!strcmp(ops[i], ">="))
				return r >= 0;
			if (!strcmp(ops[i], "<="))
				return r <= 0;
			if (!strcmp(ops[i], "!="))
				return r != 0;
			if (!strcmp(ops[i], ">"))
				return r > 0;
			if (!strcmp(ops[i], "<"))
				return r < 0;
			return r == 0;
		}
	}
	return os_version_cmp(version, c) == 0;
}

bool os_version_matches(const char *version, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	bool ok = copy != NULL;

	for (char *c = copy ? strtok_r(copy, ",", &save) : NULL; c && ok; c = strtok_r(NULL, ",", &save))
		ok = one_cmp(version, c);
	free(copy);
	return ok;
}

const char *os_deb_arch(const char *arch)
{
	if (!strcmp(arch, "x86_64"))
		return "amd64";
	if (!strcmp(arch, "aarch64"))
		return "arm64";
	if (!strcmp(arch, "i686"))
		return "i386";
	return arch;
}
