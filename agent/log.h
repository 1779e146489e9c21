/* SPDX-License-Identifier: MIT */
/* The agent's log: one line (or a block of lines) on stderr, prefixed, with control characters made harmless. */
#pragma once

#include "util.h"

/*
 * Prints "pib-agent: MESSAGE" on stderr. Control characters (which can come from a bundle or a
 * report) become '?', except newlines and tabs: a multi-line message stays readable.
 */
void agent_log(const char *fmt, ...) PIB_PRINTF(1, 2);
