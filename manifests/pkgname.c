/* SPDX-License-Identifier: MIT */
/* Package names, versions and architectures checked as strings against Debian policy and rpm's rules. */
#include "pkgname.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EPOCH 9 /* digits: an epoch fits an int, as dpkg wants */

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
	return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* True when s[0..n) is 1..MF_PKGNAME_MAX bytes, all alphanumerics or in extra. */
static bool span_ok(const char *s, size_t n, const char *extra)
{
	if (n == 0 || n > MF_PKGNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

bool mf_deb_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > MF_PKGNAME_MAX || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && !strchr("+-.", s[i]))
			return false;
	return true;
}

bool mf_deb_version_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > MF_PKGNAME_MAX)
		return false;
	const char *up = s, *end = s + n;
	const char *colon = strchr(s, ':');
	if (colon) {
		size_t en = (size_t)(colon - s);
		if (en == 0 || en > MAX_EPOCH)
			return false;
		for (size_t i = 0; i < en; i++)
			if (!is_digit(s[i]))
				return false;
		up = colon + 1;
	}
	const char *dash = strrchr(up, '-');
	if (dash) {
		/* the revision: after the last hyphen, not empty */
		if (!span_ok(dash + 1, (size_t)(end - dash - 1), ".+~"))
			return false;
		end = dash;
	}
	if (end == up || !is_digit(up[0]))
		return false;
	/* '-' only when there is a revision (then end is before the last one), ':' only after an epoch */
	char extra[8] = ".+~";
	if (dash)
		strcat(extra, "-");
	if (colon)
		strcat(extra, ":");
	return span_ok(up, (size_t)(end - up), extra);
}

bool mf_deb_arch_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64 || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool mf_rpm_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && (is_alnum(s[0]) || s[0] == '_') && span_ok(s, n, "._+-%{}") &&
	       !strstr(s, "..");
}

bool mf_rpm_version_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && (is_alnum(s[0]) || strchr("_%{}", s[0])) && span_ok(s, n, "._+~^%{}") &&
	       !strstr(s, "..");
}

bool mf_rpm_release_valid(const char *s)
{
	return mf_rpm_version_valid(s);
}

bool mf_rpm_arch_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 64 && span_ok(s, n, "_");
}

bool mf_rpm_evr_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bool ok = true;

	if (n == 0 || n > 2 * MF_PKGNAME_MAX + MAX_EPOCH + 2)
		return false;
	char *copy = strdup(s);
	if (!copy)
		return false;
	char *v = copy, *colon = strchr(copy, ':');
	if (colon) {
		*colon = '\0';
		ok = colon > copy && (size_t)(colon - copy) <= MAX_EPOCH &&
		     strspn(copy, "0123456789") == (size_t)(colon - copy);
		v = colon + 1;
	}
	char *dash = strrchr(v, '-');
	if (dash) {
		*dash = '\0';
		ok = ok && mf_rpm_release_valid(dash + 1);
	}
	ok = ok && mf_rpm_version_valid(v);
	free(copy);
	return ok;
}

bool mf_package_name_valid(const char *installer, const char *name)
{
	if (!strcmp(installer, "deb"))
		return mf_deb_name_valid(name);
	if (!strcmp(installer, "rpm"))
		return mf_rpm_name_valid(name);
	return false;
}
