/* SPDX-License-Identifier: MIT */
/*
 * A fast parser for the common shape of large JSON feeds (OSV records): it builds cJSON nodes in
 * an arena, with no malloc per node and no free, in one pass. It only accepts what cJSON accepts
 * and gives the same tree; anything it is not sure of (a \u escape, a control character, a number
 * outside JSON's grammar, a NUL byte, deep nesting, trailing data) makes it give up, and the
 * caller parses the same text with jr_parse, which gives the tree or the exact error. The tree
 * lives until the arena is reset: never cJSON_Delete it.
 */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

struct jf_chunk;

struct jf_arena {
	struct jf_chunk *head, *cur;
	size_t bytes; /* allocated in all chunks */
};

/* Makes everything the arena gave free for reuse (keeps its memory). */
void jf_arena_reset(struct jf_arena *a);
/* Frees the arena's memory. */
void jf_arena_free(struct jf_arena *a);

/*
 * Parses text[0..len) into *ret (in a). Returns 1 with the tree, 0 when the text is outside
 * what this parser handles (parse it with jr_parse), -ENOMEM.
 */
int jf_parse(struct jf_arena *a, const char *text, size_t len, cJSON **ret);
