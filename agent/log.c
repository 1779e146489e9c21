/* SPDX-License-Identifier: MIT */
/* The agent's log on stderr: text lines for people, or JSON lines for log collectors (log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static bool json;
static const char *command;

int agent_log_set_format(const char *name)
{
	if (!strcmp(name, "text"))
		json = false;
	else if (!strcmp(name, "json"))
		json = true;
	else
		return -1;
	return 0;
}

bool agent_log_is_json(void)
{
	return json;
}

void agent_log_set_command(const char *c)
{
	command = c;
}

static const char *level_name(enum agent_log_level level)
{
	return level == AGENT_LOG_ERROR ? "error" : level == AGENT_LOG_WARN ? "warning" : "info";
}

static void print_json(enum agent_log_level level, const char *msg)
{
	char when[40];

	pib_now_rfc3339(when); /* as the report's own times */

	cJSON *o = cJSON_CreateObject();
	char *line = NULL;
	if (o && cJSON_AddStringToObject(o, "time", when) && cJSON_AddStringToObject(o, "level", level_name(level)) &&
	    (!command || cJSON_AddStringToObject(o, "command", command)) &&
	    cJSON_AddStringToObject(o, "message", msg ? msg : "(out of memory)"))
		line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* one write per line, so that lines from several threads never interleave */
	fprintf(stderr, "%s\n", line ? line : "{\"level\":\"error\",\"message\":\"(out of memory)\"}");
	free(line);
}

void agent_log_at(enum agent_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *raw = pib_vasprintf(fmt, ap);
	va_end(ap);
	char *msg = pib_text_clean(raw, true);
	free(raw);
	if (json)
		print_json(level, msg);
	else
		fprintf(stderr, "pib-agent: %s%s\n", level == AGENT_LOG_ERROR ? "error: " : level == AGENT_LOG_WARN ? "warning: " : "",
			msg ? msg : "(out of memory)");
	free(msg);
}
