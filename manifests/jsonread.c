/* SPDX-License-Identifier: MIT */
/* Strict reading of a JSON document (the manifest, the job): the parse, the key check and the messages. */
#include "jsonread.h"

#include <errno.h>
#include <string.h>

int jr_vbad(const struct jr *p, const char *path, const char *fmt, va_list ap)
{
	char what[1024];

	vsnprintf(what, sizeof(what), fmt, ap);
	return pib_fail(p->err, -EINVAL, p->cls, p->code, "%s: %s%s%s", p->source, path, *path ? ": " : "",
			what);
}

int jr_bad(const struct jr *p, const char *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = jr_vbad(p, path, fmt, ap);
	va_end(ap);
	return r;
}

const char *jr_type_name(const cJSON *j)
{
	if (!j)
		return "nothing";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsObject(j))
		return "an object";
	return "something else";
}

/* A \u0000 escape: cJSON would cut the string there, and a schema would see more than the parser. */
static bool has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
			return true;
		i++; /* the escaped character */
	}
	return false;
}

int jr_parse(const struct jr *p, const char *text, size_t len, unsigned max, bool refuse_nul_escape,
	     cJSON **ret)
{
	const char *end = NULL;

	*ret = NULL;
	if (len > max)
		return jr_bad(p, "", "larger than %u bytes", max);
	if (memchr(text, '\0', len) || (refuse_nul_escape && has_nul_escape(text, len)))
		return jr_bad(p, "", "contains a NUL byte");
	*ret = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!*ret) {
		/* line and column of the error */
		size_t off = end ? (size_t)(end - text) : 0, line = 1, col = 1;
		for (size_t k = 0; k < off && k < len; k++) {
			if (text[k] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		return jr_bad(p, "", "not valid JSON (line %zu, column %zu)", line, col);
	}
	/* nothing but white space after the document */
	if (end)
		for (const char *q = end; q < text + len; q++)
			if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t')
				return jr_bad(p, "", "trailing data after the JSON document");
	return 0;
}

void jr_printable(const char *k, size_t max, char *out)
{
	size_t n = 0;
	for (; k[n] && n < max; n++)
		out[n] = (k[n] > 0x20 && k[n] < 0x7f) ? k[n] : '?';
	if (k[n])
		out[n++] = '~';
	out[n] = '\0';
}

int jr_check_keys(const struct jr *p, const char *path, const cJSON *obj, const char *const *allowed,
		  const char *const *required)
{
	const cJSON *it;
	char sub[512], k[80];

	if (!cJSON_IsObject(obj))
		return jr_bad(p, path, "expected an object, got %s", jr_type_name(obj));
	cJSON_ArrayForEach(it, obj)
	{
		bool known = false;
		for (int i = 0; allowed[i]; i++)
			if (!strcmp(it->string, allowed[i]))
				known = true;
		if (p->clean_keys)
			jr_printable(it->string, 64, k);
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", p->clean_keys ? k : it->string);
		if (!known)
			return jr_bad(p, sub, "unknown key");
		/* duplicate keys: cJSON keeps both; refuse */
		for (const cJSON *o = it->next; o; o = o->next)
			if (!strcmp(o->string, it->string))
				return jr_bad(p, sub, "duplicate key");
	}
	for (int i = 0; required && required[i]; i++)
		if (!cJSON_GetObjectItemCaseSensitive(obj, required[i])) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", required[i]);
			return jr_bad(p, sub, "missing");
		}
	return 0;
}
