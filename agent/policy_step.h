/* SPDX-License-Identifier: MIT */
/* What the policy step (validate, run) and pib-agent policy (an audit) share: a finding as the report's policy[] holds it. */
#pragma once

#include "policy.h"
#include "policyfile.h"

#include <cjson/cJSON.h>

/* One finding as the report's policy[] holds it; NULL when out of memory. */
cJSON *agent_policy_finding_json(const struct policy_finding *v, const char *origin, const char *status);

/* What the policy said of it: check_severity when it changed the severity, allow_reason, allow_expired. */
void agent_policy_verdict_json(cJSON *j, const struct policy_verdict *pv, enum policy_severity check_sev);
