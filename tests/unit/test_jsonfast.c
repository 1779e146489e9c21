/* SPDX-License-Identifier: MIT */
/*
 * The arena parser (manifests/jsonfast.c) against cJSON: whatever it accepts, cJSON accepts with
 * the same tree (types, keys, strings, numbers and valueint), and it gives up (0) rather than
 * accept what cJSON refuses. Hand-written edge cases, every JSON file of the source tree, and
 * 200,000 deterministic mutations of an OSV record.
 */
#include "jsonfast.h"
#include "tap.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool same_tree(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)))
		return false;
	if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring))
		return false;
	if (cJSON_IsNumber(a) && (a->valuedouble != b->valuedouble || a->valueint != b->valueint))
		return false;
	const cJSON *x = a->child, *y = b->child;
	if (x && y && (x->prev == NULL) != (y->prev == NULL))
		return false;
	for (; x && y; x = x->next, y = y->next)
		if (!same_tree(x, y))
			return false;
	return x == NULL && y == NULL;
}

/* 1: fast gave a tree equal to cJSON's; 0: fast gave up; -1: they disagree. */
static int compare(struct jf_arena *ar, const char *text, size_t len)
{
	cJSON *f = NULL;
	jf_arena_reset(ar);
	int r = jf_parse(ar, text, len, &f);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	const char *end = NULL;
	cJSON *c = cJSON_ParseWithLengthOpts(text, len, &end, false);
	bool trailing = false;
	for (const char *q = end; c && q && q < text + len; q++)
		trailing |= !(*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t');
	int ok = c && !trailing && same_tree(f, c) ? 1 : -1;
	cJSON_Delete(c);
	return ok;
}

static const char record[] =
	"{\"id\":\"DEBIAN-CVE-2024-0001\",\"modified\":\"2024-05-01T12:00:00Z\",\"aliases\":[\"CVE-2024-0001\"],"
	"\"summary\":\"a \\\"quoted\\\" flaw\\n\\tin x\\/y\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
	"\"name\":\"libonig\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	"\"1:6.9.8-1~rc1\"}]}],\"versions\":[],\"ecosystem_specific\":{\"urgency\":\"low\"},\"n\":[0,-1,1.5,2e3,"
	"-0.25E-2,2147483648,-2147483649,true,false,null]}],\"database_specific\":{}}";

static void edge_cases(struct jf_arena *ar)
{
	static const struct {
		const char *text;
		int want; /* 1 accepted and equal, 0 left to cJSON */
	} c[] = {
		{"{}", 1}, {"[]", 1}, {" [ 1 , 2 ] \n", 1}, {"\"x\"", 1}, {"0", 1}, {"-0", 1}, {"1e5", 1},
		{"true", 1}, {"null", 1}, {"{\"a\":{\"b\":[[],{}]}}", 1}, {"\"\\b\\f\\n\\r\\t\\\\\\/\\\"\"", 1},
		{"\"\xc3\xa9\xe2\x82\xac\"", 1}, /* UTF-8 is copied as is, as cJSON does */
		{"\"\\u00e9\"", 0}, {"\"\\u0000\"", 0}, {"\"a\x01\"", 0}, {"01", 0}, {"+1", 0}, {"1.", 0},
		{".5", 0}, {"1e", 0}, {"[1,]", 0}, {"{\"a\":1,}", 0}, {"{\"a\" 1}", 0}, {"[1] x", 0}, {"", 0},
		{"   ", 0}, {"tru", 0}, {"nul", 0}, {"[", 0}, {"{\"a\":", 0}, {"\"abc", 0}, {"\"\\x\"", 0},
		{"\xef\xbb\xbf{}", 0}, {"{'a':1}", 0}, {"[1 2]", 0}, {"NaN", 0}, {"Infinity", 0}, {"-", 0},
		{"1.5e+308", 1}, {"1e999", 1},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int r = compare(ar, c[i].text, strlen(c[i].text));
		char shown[64]; /* control characters as ?: a test name is one TAP line */
		snprintf(shown, sizeof(shown), "%s", c[i].text);
		for (char *p = shown; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
		ok(r == c[i].want, "edge case %zu (%s): %s", i, shown,
		   r == 1 ? "accepted, same tree" : r == 0 ? "left to cJSON" : "DISAGREES");
	}
	char deep[2100];
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	ok(compare(ar, deep, 2000) == 0, "1000 nested arrays: left to cJSON (its own depth limit decides)");
	char nul[] = "[\"a\"]\0";
	ok(compare(ar, nul, sizeof(nul) - 1) == 0, "a NUL byte after the document: left to jr_parse");
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = malloc(1 << 22);
	*len = b ? fread(b, 1, (1 << 22) - 1, f) : 0;
	fclose(f);
	return b;
}

/* Every *.json under dir (the source tree's manifests, schemas, fixtures): never a disagreement. */
static void tree_files(struct jf_arena *ar, const char *dir, size_t *n, size_t *accepted, size_t *bad, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d || depth > 6) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		char p[4096];
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "build") || !strcmp(de->d_name, "node_modules"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			tree_files(ar, p, n, accepted, bad, depth + 1);
			continue;
		}
		size_t l = strlen(de->d_name), len = 0;
		if (l < 6 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		char *t = slurp(p, &len);
		if (!t)
			continue;
		int r = compare(ar, t, len);
		(*n)++;
		*accepted += r == 1;
		if (r < 0) {
			(*bad)++;
			printf("# disagrees: %s\n", p);
		}
		free(t);
	}
	closedir(d);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
	return tap_next(&rng);
}

static void mutations(struct jf_arena *ar)
{
	static const char alphabet[] = "{}[]\":,\\ \t\n0123456789-+.eEtrufalsn/bu\x01\x7f\xc3";
	size_t len = sizeof(record) - 1, accepted = 0, bad = 0;
	char *buf = malloc(len + 16);
	for (int i = 0; i < 200000; i++) {
		memcpy(buf, record, len);
		size_t n = len;
		int edits = 1 + (int)(next() % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = next() % n;
			switch (next() % 3) {
			case 0: buf[at] = alphabet[next() % (sizeof(alphabet) - 1)]; break;
			case 1: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
			default:
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = alphabet[next() % (sizeof(alphabet) - 1)];
				n++;
			}
		}
		int r = compare(ar, buf, n);
		accepted += r == 1;
		if (r < 0 && bad++ < 5)
			printf("# disagrees on mutation %d: %.*s\n", i, (int)n, buf);
	}
	free(buf);
	ok(bad == 0, "200000 mutations of a record: %zu accepted with cJSON's tree, %zu disagreements", accepted, bad);
	ok(accepted > 1000, "the mutations exercise the fast path (%zu accepted)", accepted);
}

int main(int argc, char **argv)
{
	struct jf_arena ar = {0};
	size_t n = 0, accepted = 0, bad = 0;

	ok(compare(&ar, record, sizeof(record) - 1) == 1, "an OSV record: the same tree as cJSON's");
	edge_cases(&ar);
	if (argc > 1) {
		tree_files(&ar, argv[1], &n, &accepted, &bad, 0);
		ok(n > 10 && bad == 0, "%zu JSON files of the source tree: %zu accepted, %zu disagreements", n, accepted,
		   bad);
	}
	mutations(&ar);
	jf_arena_free(&ar);
	return tap_done();
}
