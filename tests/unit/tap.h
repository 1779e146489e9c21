/* SPDX-License-Identifier: MIT */
/* A tiny TAP writer for the unit tests: ok(cond, name), then tap_done() as main's return value. */
#pragma once

#include <stdint.h>
#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                                  \
	do {                                                                                           \
		int tap_ok_ = !!(cond);                                                                \
		tap_n++;                                                                               \
		if (tap_ok_) {                                                                            \
			printf("ok %d - ", tap_n);                                                     \
		} else {                                                                               \
			tap_failed++;                                                                  \
			printf("not ok %d - ", tap_n);                                                 \
		}                                                                                      \
		printf(__VA_ARGS__);                                                                   \
		printf("\n");                                                                          \
		if (!tap_ok_)                                                                          \
			printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* The tests' deterministic random numbers: xorshift64 over the caller's state (never 0). */
static inline uint64_t tap_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}
