#ifndef TETHER_CCRYPTO_SHIM_H
#define TETHER_CCRYPTO_SHIM_H
#include <openssl/sha.h>
#include <openssl/evp.h>
#endif
