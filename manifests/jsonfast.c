/* SPDX-License-Identifier: MIT */
/* The arena parser of jsonfast.h: strict JSON's common subset into cJSON nodes. */
#include "jsonfast.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JF_DEPTH_MAX 512 /* below cJSON's own limit (CJSON_NESTING_LIMIT) */

struct jf_chunk {
	struct jf_chunk *next;
	size_t cap, used;
	max_align_t data[];
};

void jf_arena_reset(struct jf_arena *a)
{
	for (struct jf_chunk *c = a->head; c; c = c->next)
		c->used = 0;
	a->cur = a->head;
}

void jf_arena_free(struct jf_arena *a)
{
	struct jf_chunk *c = a->head;
	while (c) {
		struct jf_chunk *n = c->next;
		free(c);
		c = n;
	}
	*a = (struct jf_arena){0};
}

static void *jf_alloc(struct jf_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	for (;;) {
		struct jf_chunk *c = a->cur;
		if (c && c->cap - c->used >= size) {
			void *p = (char *)c->data + c->used;
			c->used += size;
			return p;
		}
		if (c && c->next) { /* a chunk kept from before the reset */
			a->cur = c->next;
			continue;
		}
		size_t cap = a->bytes < (64u << 10) ? (64u << 10) : a->bytes; /* doubles the arena */
		if (cap < size)
			cap = size;
		struct jf_chunk *n = malloc(sizeof(*n) + cap);
		if (!n)
			return NULL;
		n->next = NULL;
		n->cap = cap;
		n->used = 0;
		a->bytes += cap;
		if (c)
			c->next = n;
		else
			a->head = n;
		a->cur = n;
	}
}

struct jf {
	struct jf_arena *a;
	const unsigned char *p, *end;
	int depth;
	bool oom;
};

static void skip_ws(struct jf *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

static cJSON *node(struct jf *f, int type)
{
	cJSON *n = jf_alloc(f->a, sizeof(*n));
	if (!n) {
		f->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/* A string at f->p (the opening quote): its bytes unescaped, NUL-terminated, in the arena. */
static char *string(struct jf *f)
{
	const unsigned char *s = ++f->p, *q = s;
	size_t escapes = 0;

	/* the extent first: the copy is then exact */
	for (;;) {
		if (q >= f->end || *q < 0x20)
			return NULL; /* unterminated, or a control character (and NUL) */
		if (*q == '"')
			break;
		if (*q == '\\') {
			if (q + 1 >= f->end)
				return NULL;
			switch (q[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				break;
			default:
				return NULL; /* \u and anything else: cJSON's own parse decides */
			}
			escapes++;
			q += 2;
			continue;
		}
		q++;
	}
	size_t n = (size_t)(q - s) - escapes;
	char *out = jf_alloc(f->a, n + 1);
	if (!out) {
		f->oom = true;
		return NULL;
	}
	if (!escapes) {
		memcpy(out, s, n);
	} else {
		char *o = out;
		for (const unsigned char *r = s; r < q; r++) {
			if (*r != '\\') {
				*o++ = (char)*r;
				continue;
			}
			r++;
			switch (*r) {
			case 'b': *o++ = '\b'; break;
			case 'f': *o++ = '\f'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			case 't': *o++ = '\t'; break;
			default: *o++ = (char)*r; break; /* " \ / */
			}
		}
	}
	out[n] = '\0';
	f->p = q + 1;
	return out;
}

static bool digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A number in JSON's grammar, valued as cJSON values it (strtod; valueint saturated). */
static cJSON *number(struct jf *f)
{
	const unsigned char *s = f->p, *q = s;
	char buf[64];

	if (q < f->end && *q == '-')
		q++;
	if (q >= f->end || !digit(*q))
		return NULL;
	if (*q == '0')
		q++;
	else
		while (q < f->end && digit(*q))
			q++;
	if (q < f->end && *q == '.') {
		q++;
		if (q >= f->end || !digit(*q))
			return NULL;
		while (q < f->end && digit(*q))
			q++;
	}
	if (q < f->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < f->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= f->end || !digit(*q))
			return NULL;
		while (q < f->end && digit(*q))
			q++;
	}
	/* cJSON reads on while it sees number characters: leave such text to it */
	if (q < f->end && (digit(*q) || *q == '+' || *q == '-' || *q == '.' || *q == 'e' || *q == 'E'))
		return NULL;
	size_t n = (size_t)(q - s);
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *endp = NULL;
	double d = strtod(buf, &endp);
	if (endp != buf + n)
		return NULL;
	cJSON *j = node(f, cJSON_Number);
	if (!j)
		return NULL;
	j->valuedouble = d;
	j->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
	f->p = q;
	return j;
}

static bool literal(struct jf *f, const char *word, size_t n)
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n))
		return false;
	f->p += n;
	return true;
}

static cJSON *value(struct jf *f);

/* Items of an array or members of an object, linked as cJSON links them (first->prev: last). */
static cJSON *container(struct jf *f, bool object)
{
	cJSON *c = node(f, object ? cJSON_Object : cJSON_Array), *last = NULL;
	unsigned char close = object ? '}' : ']';

	if (!c || ++f->depth > JF_DEPTH_MAX)
		return NULL;
	f->p++;
	skip_ws(f);
	if (f->p < f->end && *f->p == close) {
		f->p++;
		f->depth--;
		return c;
	}
	for (;;) {
		char *key = NULL;
		if (object) {
			if (f->p >= f->end || *f->p != '"' || !(key = string(f)))
				return NULL;
			skip_ws(f);
			if (f->p >= f->end || *f->p != ':')
				return NULL;
			f->p++;
			skip_ws(f);
		}
		cJSON *v = value(f);
		if (!v)
			return NULL;
		v->string = key;
		if (last) {
			last->next = v;
			v->prev = last;
		} else {
			c->child = v;
		}
		last = v;
		c->child->prev = last;
		skip_ws(f);
		if (f->p >= f->end)
			return NULL;
		if (*f->p == ',') {
			f->p++;
			skip_ws(f);
			continue;
		}
		if (*f->p != close)
			return NULL;
		f->p++;
		f->depth--;
		return c;
	}
}

static cJSON *value(struct jf *f)
{
	if (f->p >= f->end)
		return NULL;
	switch (*f->p) {
	case '{':
		return container(f, true);
	case '[':
		return container(f, false);
	case '"': {
		char *s = string(f);
		cJSON *j = s ? node(f, cJSON_String) : NULL;
		if (j)
			j->valuestring = s;
		return j;
	}
	case 't':
		return literal(f, "true", 4) ? node(f, cJSON_True) : NULL;
	case 'f':
		return literal(f, "false", 5) ? node(f, cJSON_False) : NULL;
	case 'n':
		return literal(f, "null", 4) ? node(f, cJSON_NULL) : NULL;
	default:
		return number(f);
	}
}

int jf_parse(struct jf_arena *a, const char *text, size_t len, cJSON **ret)
{
	struct jf f = {.a = a, .p = (const unsigned char *)text, .end = (const unsigned char *)text + len};

	*ret = NULL;
	skip_ws(&f);
	cJSON *j = value(&f);
	if (f.oom)
		return -ENOMEM;
	if (!j)
		return 0;
	skip_ws(&f);
	if (f.p != f.end)
		return 0; /* trailing data: jr_parse names it */
	*ret = j;
	return 1;
}
