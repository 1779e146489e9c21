/* SPDX-License-Identifier: MIT */
/* The agent's log on stderr: text lines for people, or JSON lines for log collectors (--log-format). */
#pragma once

#include "util.h"

enum agent_log_level { AGENT_LOG_INFO, AGENT_LOG_WARN, AGENT_LOG_ERROR };

/*
 * text (the default): "pib-agent: MESSAGE", a warning "pib-agent: warning: MESSAGE", an error
 * "pib-agent: error: MESSAGE"; a multi-line message stays a block of lines.
 * json: one object a line, {"time": "2026-11-26T12:00:00.123Z", "level": "info"|"warning"|
 * "error", "command": "validate", "message": "..."}; newlines stay inside the message.
 * Either way invalid UTF-8 and control characters (which can come from a bundle or a report)
 * become \xNN, except newlines and tabs.
 */
int agent_log_set_format(const char *name); /* "text" or "json"; -1 for anything else */
bool agent_log_is_json(void);
void agent_log_set_command(const char *command);

void agent_log_at(enum agent_log_level level, const char *fmt, ...) PIB_PRINTF(2, 3);
#define agent_log(...) agent_log_at(AGENT_LOG_INFO, __VA_ARGS__)
#define agent_warn(...) agent_log_at(AGENT_LOG_WARN, __VA_ARGS__)
#define agent_error(...) agent_log_at(AGENT_LOG_ERROR, __VA_ARGS__)
