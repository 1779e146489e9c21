/* SPDX-License-Identifier: MIT */
/* Image policy findings: the list every check adds to (policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *policy_severity_name(enum policy_severity s)
{
	return (unsigned)s < sizeof(sev_names) / sizeof(sev_names[0]) ? sev_names[s] : "unknown";
}

int policy_severity_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(sev_names) / sizeof(sev_names[0]); i++)
		if (strcmp(name, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

static void finding_free(struct policy_finding *p)
{
	free(p->id);
	free(p->title);
	free(p->path);
	free(p->evidence);
	free(p->remediation);
}

int policy_add(struct policy_findings *f, const char *id, enum policy_severity sev, const char *title,
	       const char *path, unsigned line, const char *remediation, const char *evidence_fmt, ...)
{
	struct policy_finding p = {.severity = sev, .line = line};
	va_list ap;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct policy_finding *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	va_start(ap, evidence_fmt);
	p.evidence = pib_vasprintf(evidence_fmt, ap);
	va_end(ap);
	p.id = pib_strdup(id);
	p.title = pib_strdup(title);
	p.path = path ? pib_strdup(path) : NULL;
	p.remediation = remediation ? pib_strdup(remediation) : NULL;
	if (!p.evidence || !p.id || !p.title || (path && !p.path) || (remediation && !p.remediation)) {
		finding_free(&p);
		return -ENOMEM;
	}
	f->v[f->n++] = p;
	return 0;
}

void policy_findings_free(struct policy_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_free(&f->v[i]);
	free(f->v);
	*f = (struct policy_findings){0};
}
