/* SPDX-License-Identifier: MIT */
/* Unit tests of the manifest parser: good manifests, and every error naming its field. */
#include "manifest.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static const char good[] =
	"{\"schema\":\"pib-agent/bundle/v1\",\"product\":{\"name\":\"jq-suite\",\"version\":\"1.6\",\"seller\":\"S\"},"
	"\"targets\":[{\"name\":\"rhel\",\"os\":[{\"id\":\"rhel\",\"versions\":[\">=8\"]}],\"arch\":[\"x86_64\"],"
	"\"installer\":\"rpm\",\"packages\":[{\"file\":\"./rpms/a.rpm\",\"sha256\":\"%s\"}],\"allow_unsigned\":true},"
	"{\"name\":\"debian\",\"os\":[{\"id\":\"debian\",\"versions\":[\"12\"]},{\"id\":\"ubuntu\",\"versions\":[\">=22.04,<25\"]}],"
	"\"arch\":[\"x86_64\",\"aarch64\"],\"installer\":\"deb\",\"packages\":[{\"file\":\"debs/jq.deb\",\"sha256\":\"%s\"}],"
	"\"keys\":[\"keys/seller.asc\"],\"checks\":[{\"name\":\"jq runs\",\"run\":[\"/usr/bin/jq\",\"--version\"],\"timeout\":30,\"user\":\"nobody\"}]}]}";

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parses text; returns the error message ("" when it parsed). */
static const char *parse(const char *text, struct mf_manifest **ret)
{
	static struct pib_err e;
	struct mf_manifest *m = NULL;

	pib_err_clear(&e);
	if (mf_manifest_parse("manifest.json", text, strlen(text), &m, &e) == 0) {
		if (ret)
			*ret = m;
		else
			mf_manifest_free(m);
		return "";
	}
	return e.msg;
}

static char *fmt_good(const char *h1, const char *h2)
{
	char *s = malloc(sizeof(good) + 256);
	snprintf(s, sizeof(good) + 256, good, h1, h2);
	return s;
}

/* Replaces the first occurrence of a by b in a copy of s. */
static char *subst(const char *s, const char *a, const char *b)
{
	const char *p = strstr(s, a);
	if (!p)
		return strdup(s);
	char *out = malloc(strlen(s) + strlen(b) + 1);
	sprintf(out, "%.*s%s%s", (int)(p - s), s, b, p + strlen(a));
	return out;
}

static void expect_error(const char *text, const char *want, const char *name)
{
	const char *msg = parse(text, NULL);
	ok(strstr(msg, want) != NULL, "%s: got \"%s\"", name, msg);
}

int main(void)
{
	struct mf_manifest *m = NULL;
	char *g = fmt_good(H64, H64);

	ok(!strcmp(parse(g, &m), ""), "the design's example parses");
	if (m) {
		ok(m->n_targets == 2, "two targets");
		ok(!strcmp(m->targets[0].packages[0].file, "rpms/a.rpm"), "member names are normalised");
		ok(m->targets[0].allow_unsigned, "allow_unsigned read");
		ok(!strcmp(m->targets[1].os[1].versions[0], ">=22.04,<25"), "version range kept");
		ok(m->targets[1].n_checks == 1 && m->targets[1].checks[0].timeout == 30 &&
		   m->targets[1].checks[0].user && !strcmp(m->targets[1].checks[0].user, "nobody"),
		   "checks read, with their user");
		ok(!strcmp(m->targets[1].keys[0], "keys/seller.asc"), "keys read");
		mf_manifest_free(m);
	}

	char *t;
	expect_error("{\"schema\": ", "manifest.json: not valid JSON (line 1", "malformed JSON");
	t = fmt_good("12345", H64);
	expect_error(t, "manifest.json: targets[0].packages[0].sha256: expected 64 hex digits", "short digest");
	free(t);
	t = subst(g, "\"allow_unsigned\":true", "\"allow_unsigned\":\"yes\"");
	expect_error(t, "manifest.json: targets[0].allow_unsigned: expected a boolean, got a string", "wrong type");
	free(t);
	t = subst(g, "\"seller\":\"S\"", "\"seller\":\"S\",\"colour\":\"red\"");
	expect_error(t, "manifest.json: product.colour: unknown key", "unknown key");
	free(t);
	t = subst(g, "\"installer\":\"rpm\"", "\"installer\":\"deb\"");
	expect_error(t, "manifest.json: targets[0].installer: \"deb\" does not fit os \"rhel\"", "installer/OS family mismatch");
	free(t);
	t = subst(g, "./rpms/a.rpm", "../a.rpm");
	expect_error(t, "manifest.json: targets[0].packages[0].file: not a safe relative path", "package outside the bundle");
	free(t);
	t = subst(g, "\"x86_64\"]", "\"sparc\"]");
	expect_error(t, "manifest.json: targets[0].arch[0]: expected \"x86_64\" or \"aarch64\"", "unknown arch");
	free(t);
	t = subst(g, "pib-agent/bundle/v1", "pib-agent/bundle/v9");
	expect_error(t, "manifest.json: schema: expected \"pib-agent/bundle/v1\"", "wrong schema");
	free(t);
	t = subst(g, "\"name\":\"debian\"", "\"name\":\"rhel\"");
	expect_error(t, "manifest.json: targets[1].name: \"rhel\" is already the name", "duplicate target name");
	free(t);
	t = subst(g, "\"run\":[\"/usr/bin/jq\"", "\"run\":[\"jq\"");
	expect_error(t, "targets[1].checks[0].run: the command must be an absolute path", "relative check command");
	free(t);
	t = subst(g, ",\"allow_unsigned\":true}", ",\"allow_unsigned\":true,\"properties\":{\"A\":\"b\"}}");
	expect_error(t, "targets[0].properties: only msi targets take properties", "properties on a non-msi target");
	free(t);

	/* may_upgrade: names of the image's packages a target may upgrade */
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"openssl\",\"libc6\",\"g++-12\"],\"keys\":[");
	m = NULL;
	ok(!strcmp(parse(t, &m), ""), "may_upgrade parses");
	if (m) {
		ok(m->targets[0].may_upgrade == NULL, "no may_upgrade: NULL");
		char **mu = m->targets[1].may_upgrade;
		ok(mu && !strcmp(mu[0], "openssl") && !strcmp(mu[1], "libc6") &&
			   !strcmp(mu[2], "g++-12") && !mu[3],
		   "may_upgrade read in order");
		mf_manifest_free(m);
	}
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[],\"keys\":[");
	ok(!strcmp(parse(t, NULL), ""), "an empty may_upgrade parses");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":\"openssl\",\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade: expected an array, got a string", "may_upgrade not an array");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"openssl\",7],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[1]: expected a string, got a number", "may_upgrade entry not a string");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[0]: must not be empty", "empty name");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"dpkg\",\"OpenSSL\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[1]: not a valid deb package name: \"OpenSSL\"", "upper case deb name");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"../../etc/passwd\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[0]: not a valid deb package name", "path as a name");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"a\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[0]: not a valid deb package name: \"a\"", "one-letter deb name");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrade\":[\"dpkg\",\"apt\",\"dpkg\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrade[2]: \"dpkg\" is already may_upgrade[0]", "duplicate name");
	free(t);
	t = subst(g, "\"allow_unsigned\":true", "\"allow_unsigned\":true,\"may_upgrade\":[\"Foo_Bar\",\"perl-Net-SSLeay\"]");
	ok(!strcmp(parse(t, NULL), ""), "rpm names may have upper case and _");
	free(t);
	t = subst(g, "\"allow_unsigned\":true", "\"allow_unsigned\":true,\"may_upgrade\":[\"-rf\"]");
	expect_error(t, "manifest.json: targets[0].may_upgrade[0]: not a valid rpm package name: \"-rf\"", "rpm name starting with -");
	free(t);
	t = subst(g, "\"keys\":[", "\"may_upgrad\":[\"dpkg\"],\"keys\":[");
	expect_error(t, "manifest.json: targets[1].may_upgrad: unknown key", "misspelt may_upgrade is an unknown key");
	free(t);
	t = subst(g, "\"installer\":\"rpm\"", "\"installer\":\"msi\"");
	{
		char *t2 = subst(t, "\"id\":\"rhel\"", "\"id\":\"windows\"");
		char *t3 = subst(t2, "\"allow_unsigned\":true", "\"may_upgrade\":[\"x\"]");
		expect_error(t3, "manifest.json: targets[0].may_upgrade: only deb and rpm targets take may_upgrade", "may_upgrade on msi");
		free(t2);
		free(t3);
	}
	free(t);

	expect_error("{\"schema\":\"pib-agent/bundle/v1\",\"schema\":\"x\",\"product\":{},\"targets\":[]}",
		     "manifest.json: schema: duplicate key", "duplicate key");
	expect_error("[1,2]", "manifest.json: expected an object, got an array", "top level not an object");
	free(g);

	/* member names */
	char *n = mf_normalise_member("./debs//x.deb", NULL, NULL);
	ok(n && !strcmp(n, "debs/x.deb"), "./debs//x.deb is debs/x.deb");
	free(n);
	bool abs = false, dd = false;
	ok(!mf_normalise_member("/etc/x", &abs, &dd) && abs, "absolute names refused");
	ok(!mf_normalise_member("a/../../x", &abs, &dd) && dd, "\"..\" refused");
	ok(!mf_normalise_member("./", NULL, NULL), "empty name refused");
	return tap_done();
}
