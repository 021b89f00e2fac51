#ifndef TETHER_CSSL_SHIM_H
#define TETHER_CSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#endif
