#ifndef TETHER_CCRYPTO_SHIM_H
#define TETHER_CCRYPTO_SHIM_H
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

/* SHA-1 of `count` bytes into `digest` (20 bytes). The low-level calls (deprecated since 3.0, in
 * every 3.x) run OpenSSL's SHA-NI code without EVP's provider machinery: a fetch per one-shot
 * call, about 2 MB mapped on first fetch, and 40 ns more a hash even when fetched once. */
static inline void tether_sha1(const void *message, size_t count, unsigned char *digest) {
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
    SHA_CTX context;
    SHA1_Init(&context);
    SHA1_Update(&context, message, count);
    SHA1_Final(digest, &context);
#pragma clang diagnostic pop
}
#endif
