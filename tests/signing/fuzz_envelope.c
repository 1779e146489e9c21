/* SPDX-License-Identifier: MIT */
/* Fuzz target of report reading: envelope parsing, verification, and show's terminal and HTML views
 * of whatever parses. */
#include "cli.h"
#include "sign.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8032 test 1 key: the corpus envelopes are signed with it, so mutations reach past the
 * signature check. */
static const char rfc_key[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			      "-----END PRIVATE KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sign_key *k;
	struct pib_err e = {0};
	struct sign_verified v;
	struct pib_buf term = {0}, html = {0};
	const char *text = (const char *)data;

	if (!k && sign_key_from_pem(rfc_key, strlen(rfc_key), "rfc", &k, &e) < 0)
		abort();
	if (sign_verify(text, size, k, &v, &e) == 0)
		sign_verified_free(&v);
	pib_err_clear(&e);
	if (sign_open_unverified(text, size, &v, &e) == 0)
		sign_verified_free(&v);
	pib_err_clear(&e);
	(void)agent_show_render(text, size, k, &term, &html);
	(void)agent_show_render(text, size, NULL, &term, NULL);
	/* the input as a Statement: wrapped in an unsigned envelope, so that mutated predicates
	 * reach show */
	char *env = NULL;
	if (sign_envelope(data, size, SIGN_PAYLOAD_TYPE, NULL, &env, &e) == 0)
		(void)agent_show_render(env, strlen(env), NULL, &term, &html);
	pib_err_clear(&e);
	free(env);
	pib_buf_free(&term);
	pib_buf_free(&html);
	/* the base64 decoder on raw bytes */
	unsigned char *d = NULL;
	size_t n = 0;
	if (sign_b64_decode(text, size, &d, &n) == 0)
		free(d);
	return 0;
}
