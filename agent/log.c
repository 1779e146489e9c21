/* SPDX-License-Identifier: MIT */
/* The agent's log: one line (or a block of lines) on stderr, prefixed, with control characters made harmless. */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>

void agent_log(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	for (unsigned char *p = (unsigned char *)s; p && *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			*p = '?';
	fprintf(stderr, "pib-agent: %s\n", s ? s : "(out of memory)");
	free(s);
}
