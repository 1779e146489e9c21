/* SPDX-License-Identifier: MIT */
/* Strict reading of a JSON document (the manifest, the job): the parse, the key check and the messages. */
#pragma once

#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Who reads and how it fails. Give the members in this order, cls then code, as in
 * {PIB_ERR_USAGE, "job.invalid", source, err}: tests/docs/check-docs.sh finds the error
 * codes by the class before them.
 */
struct jr {
	enum pib_class cls;
	const char *code;   /* the error code of every message */
	const char *source; /* the file, or "user-data": first in every message */
	struct pib_err *err;
	bool clean_keys;    /* name a stray key by a printable form of it, at most 64 bytes */
};

/* Fails with -EINVAL: "SOURCE: PATH: what", or "SOURCE: what" when path is "". */
int jr_bad(const struct jr *p, const char *path, const char *fmt, ...) PIB_PRINTF(3, 4);
int jr_vbad(const struct jr *p, const char *path, const char *fmt, va_list ap) PIB_PRINTF(3, 0);

/*
 * A name (a key, a zip member) fit for a message: printable ASCII, bytes outside it as '?', at
 * most max bytes then '~'; out holds max + 2 bytes.
 */
void jr_printable(const char *k, size_t max, char *out);

/* "a string", "an object"...: what a message says j is ("nothing" for NULL). */
const char *jr_type_name(const cJSON *j);

/*
 * Parses text: at most max bytes, no NUL byte (nor a \u0000 escape with refuse_nul_escape),
 * valid JSON with the line and column of the error, nothing but white space after it.
 * *ret is the tree or NULL, on failure too: the caller deletes it.
 */
int jr_parse(const struct jr *p, const char *text, size_t len, unsigned max, bool refuse_nul_escape,
	     cJSON **ret);

/* obj is an object with only the allowed keys (each once) and the required ones (NULL: none). */
int jr_check_keys(const struct jr *p, const char *path, const cJSON *obj, const char *const *allowed,
		  const char *const *required);
